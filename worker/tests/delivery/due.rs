//! The due loop reads what is due from the rows alone: a reminder fires on time whether or not
//! this worker heard of the change that scheduled it, and the job queue holds no copy of when.

use domain::{
    bus::Event,
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets, reminder_runs, reminders};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Set, Statement,
};
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

#[tokio::test]
async fn a_run_whose_last_group_is_being_sent_elsewhere_is_looked_at_again_later_not_at_once() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let now = h.clock.now();
    // A run with one group sent and one claimed a moment ago by a peer still sending it.
    let run = reminder_runs::ActiveModel {
        reminder_name: Set("Standup".to_owned()),
        account_id: Set(Some(h.account_id)),
        operator_id: Set(Some(h.operator_id)),
        occurrence_at: Set(now),
        status: Set(RunStatus::Running),
        started_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&h.db)
    .await
    .unwrap();
    for (group, status) in [(0, TargetStatus::Sent), (1, TargetStatus::Sending)] {
        reminder_run_targets::ActiveModel {
            run_id: Set(run.id),
            group_id: Set(Some(h.groups[group].id)),
            group_jid: Set(h.groups[group].jid.clone()),
            group_name: Set(h.groups[group].name.clone()),
            status: Set(status),
            attempts: Set(1),
            parts_sent: Set(0),
            claimed_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&h.db)
        .await
        .unwrap();
    }

    // The pass finds nothing to send and the run still open: it asks to look again in a few
    // seconds of the delivery clock (which stands still here) rather than at once, forever.
    let next = h
        .wait("the run to wait for its next pass", || async {
            h.delivery.next_pass(run.id)
        })
        .await;
    assert!(next > now, "{next} after {now}");
    let run = reminder_runs::Entity::find_by_id(run.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        run.status,
        RunStatus::Running,
        "not finished while a group is being sent"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_fire_that_keeps_failing_past_the_grace_window_is_recorded_not_sent_with_an_alert() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let reminder = h.create(h.input("Standup", local(8, 10), &[0, 1])).await;
    // Every fire of it fails: the database refuses its groups.
    let refuse = match h.db.get_database_backend() {
        DbBackend::Postgres => {
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END \
             $$ LANGUAGE plpgsql; CREATE TRIGGER refuse BEFORE INSERT ON reminder_run_targets \
             FOR EACH ROW EXECUTE FUNCTION refuse();"
        }
        _ => {
            "CREATE TRIGGER refuse BEFORE INSERT ON reminder_run_targets \
             BEGIN SELECT RAISE(FAIL, 'refused'); END;"
        }
    };
    h.db.execute_unprepared(refuse).await.unwrap();

    h.clock.set(at(8, 10, 0));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        h.runs(reminder.id).await.is_empty(),
        "nothing recorded yet: it is retried"
    );

    // Past the grace window it can no longer go out: recorded, with the error, and reported.
    h.clock.set(at(8, 21, 0));
    let run = h.settled_run(reminder.id, at(8, 10, 0)).await;
    assert_eq!(run.status, RunStatus::Skipped);
    let reason = run.reason.unwrap();
    assert!(
        reason.starts_with("not sent: it could not be fired"),
        "{reason}"
    );
    assert!(reason.contains("refused"), "{reason}");
    assert!(h.events().await.iter().any(|e| matches!(
        e,
        Event::RunAlert { run_id, status: RunStatus::Skipped, .. } if *run_id == run.id
    )));
    let reminder = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reminder.status,
        ReminderStatus::Ended,
        "a one-off with nothing left"
    );
    assert!(h.sim.sent(h.account_id).await.unwrap().is_empty());
    h.stop().await;
}
