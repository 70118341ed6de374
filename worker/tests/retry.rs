//! Retries as the worker sees them. The dashboard's Retry: a task that failed for good and is
//! retried (through `service::jobs`) is claimed and run again by fang's workers, and the
//! dashboard reads the worker's own task types for what they are. Delivery's retries: a part that
//! may have reached its group is never sent again on a guess, and one that is sent again carries
//! the same message id, so the group has it once.

#[allow(dead_code, unused_imports)]
#[path = "delivery/harness.rs"]
mod harness;

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use entity::operators;
use fang::{AsyncQueueable, AsyncRunnable, FangError, Scheduled, typetag};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use service::{
    audit::Actor,
    jobs::{self, FailedTask, Job},
};
use testkit::TestDb;
use worker::{
    clock::{Clock, ManualClock},
    jobs::{queue::JobQueue, start_pool, tasks::SweepMedia},
};

static RUNS: AtomicU32 = AtomicU32::new(0);

/// Fails its first run, with no retries left, and succeeds after.
#[derive(Debug, Serialize, Deserialize)]
struct Flaky {
    at: chrono::DateTime<Utc>,
}

#[typetag::serde]
#[async_trait]
impl AsyncRunnable for Flaky {
    async fn run(&self, _: &dyn AsyncQueueable) -> Result<(), FangError> {
        match RUNS.fetch_add(1, Ordering::SeqCst) {
            0 => Err(FangError {
                description: "the first run fails".into(),
            }),
            _ => Ok(()),
        }
    }

    fn task_type(&self) -> String {
        "flaky".to_owned()
    }

    fn cron(&self) -> Option<Scheduled> {
        Some(Scheduled::ScheduleOnce(self.at))
    }

    fn max_retries(&self) -> i32 {
        0
    }
}

/// Polls `check` for up to ten seconds.
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_retried_task_is_claimed_and_runs_again() {
    let test = TestDb::new().await;
    let db = &test.db;
    let now = Utc::now();
    let operator = operators::ActiveModel {
        telegram_user_id: Set(Some(1001)),
        display_name: Set("Operator".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap());
    let queue = JobQueue::new(db.clone(), clock.clone()).await.unwrap();
    let task = queue
        .schedule_task(&Flaky { at: clock.now() })
        .await
        .unwrap();
    start_pool(queue.clone(), "flaky", 1).await;

    let failed: FailedTask = eventually("the first run to fail", || async {
        jobs::failed(db).await.unwrap().into_iter().next()
    })
    .await;
    assert_eq!(failed.id, task.id);
    assert_eq!(failed.error.as_deref(), Some("the first run fails"));
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);

    clock.advance(chrono::Duration::hours(1));
    jobs::retry(db, Actor::Operator, operator, task.id, clock.now())
        .await
        .unwrap();
    // It succeeds this time, and fang removes a finished task.
    eventually("the retried task to run and finish", || async {
        let gone = queue.find_task_by_id(&task.id).await.is_err();
        (gone && RUNS.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    assert!(jobs::failed(db).await.unwrap().is_empty());
}

#[test]
fn the_dashboard_reads_the_workers_tasks_for_what_they_are() {
    let metadata = serde_json::to_value(&SweepMedia {
        queue: "herald:test".to_owned(),
    } as &dyn AsyncRunnable)
    .unwrap();
    assert_eq!(Job::from_metadata(&metadata), Job::SweepMedia);
}

#[tokio::test]
async fn a_part_whose_answer_was_lost_is_unknown_and_never_sent_again() {
    use domain::status::{RunStatus, TargetStatus};
    use harness::{Harness, at, local, pacing_off};
    use worker::provider::sim::Fault;

    let test = testkit::TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    h.sim
        .inject(h.account_id, Fault::LoseAnswers { count: 1 })
        .unwrap();
    let reminder = h.create(h.input("Lost", local(8, 5), &[0])).await;
    h.clock.set(at(8, 5, 0));
    h.sent_count(1).await;
    // Past every retry delay.
    h.tick_until(at(8, 20, 0), chrono::Duration::minutes(1))
        .await;
    let run = h.settled_run(reminder.id, at(8, 5, 0)).await;
    let sent = h.sim.sent(h.account_id).await.unwrap();
    assert_eq!(sent.len(), 1, "the group has the part once: {sent:?}");
    assert_eq!(run.status, RunStatus::Failed);
    let target = &h.targets(run.id).await[0];
    assert_eq!((target.status, target.attempts), (TargetStatus::Unknown, 1));
    assert!(
        target.reason.as_deref().unwrap().contains("not re-sent"),
        "{target:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_part_sent_again_after_it_reached_the_group_arrives_once() {
    use domain::status::{MessageKind, RunStatus, TargetStatus};
    use harness::{Harness, at, local, pacing_off};
    use service::reminders::PartInput;
    use worker::provider::sim::Fault;

    let test = testkit::TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    // The first send reaches the group yet reports a transient failure: the retry repeats it.
    h.sim
        .inject(h.account_id, Fault::FailAfterSending { count: 1 })
        .unwrap();
    let mut input = h.input("Twice", local(8, 5), &[0]);
    input.parts.push(PartInput {
        kind: MessageKind::Text,
        body: Some("Bring water".into()),
        media_file_id: None,
    });
    let reminder = h.create(input).await;
    h.clock.set(at(8, 5, 0));
    let run = h
        .tick_until_run(
            reminder.id,
            at(8, 5, 0),
            chrono::Duration::seconds(10),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(run.status, RunStatus::Success);
    let target = &h.targets(run.id).await[0];
    assert_eq!((target.status, target.attempts), (TargetStatus::Sent, 2));
    let sent = h.sim.sent(h.account_id).await.unwrap();
    let bodies: Vec<&str> = sent.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["Twice: see you there", "Bring water"],
        "each part once, in order"
    );
    assert_ne!(sent[0].wa_message_id, sent[1].wa_message_id);
    assert_eq!(target.wa_message_id.as_ref(), Some(&sent[1].wa_message_id));
    h.stop().await;
}
