//! The due loop reads what is due from the rows alone: a reminder fires on time whether or not
//! this worker heard of the change that scheduled it, and the job queue holds no copy of when.

use domain::status::RunStatus;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use service::audit::Actor;
use testkit::TestDb;
use worker::clock::Clock;

use super::harness::*;

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

#[tokio::test]
async fn a_reminder_whose_command_another_worker_took_fires_from_its_row_alone() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let (clock, operator_id) = (h.clock.clone(), h.operator_id);
    let input = h.input("Standup", local(8, 10), &[0, 1]);
    h.stop().await;

    // Saved while this worker is down; a peer took its command and stopped.
    let reminder =
        service::reminders::create(&test.db, Actor::Operator, operator_id, &input, clock.now())
            .await
            .unwrap();
    test.db
        .execute_unprepared("UPDATE commands SET status = 'done'")
        .await
        .unwrap();

    let h = Harness::restart_from(&test, data.path(), clock, pacing_off()).await;
    let tasks = "SELECT COUNT(*) FROM fang_tasks";
    assert_eq!(
        count(&h.db, tasks).await,
        1,
        "the queue holds only the daily sweep"
    );

    h.clock.set(at(8, 10, 0));
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.sim.sent(h.account_id).await.unwrap().len(), 2);
    assert_eq!(count(&h.db, tasks).await, 1, "firing queued nothing");
    assert_eq!(
        h.runs(reminder.id).await.len(),
        1,
        "one run for one occurrence"
    );
    h.stop().await;
}
