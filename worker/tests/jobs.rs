//! The job queue fang runs on: claims that two workers cannot both win, due times on the
//! delivery clock, uniq tasks, cron tasks, and tasks a dead worker left in progress.

use std::{collections::HashSet, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use fang::{AsyncQueueable, AsyncRunnable, FangError, FangTaskState, Scheduled, typetag};
use serde::{Deserialize, Serialize};
use testkit::TestDb;
use worker::{
    clock::{Clock, ManualClock},
    jobs::queue::JobQueue,
};

/// A task that does nothing: these tests are about the queue, not the work.
#[derive(Debug, Serialize, Deserialize)]
struct Probe {
    n: u32,
    at: Option<chrono::DateTime<Utc>>,
    cron: Option<String>,
}

#[typetag::serde]
#[async_trait]
impl AsyncRunnable for Probe {
    async fn run(&self, _: &dyn AsyncQueueable) -> Result<(), FangError> {
        Ok(())
    }

    fn task_type(&self) -> String {
        "probe".to_owned()
    }

    fn uniq(&self) -> bool {
        true
    }

    fn cron(&self) -> Option<Scheduled> {
        match (&self.cron, self.at) {
            (Some(pattern), _) => Some(Scheduled::CronPattern(pattern.clone())),
            (None, Some(at)) => Some(Scheduled::ScheduleOnce(at)),
            (None, None) => None,
        }
    }
}

fn probe(n: u32, at: chrono::DateTime<Utc>) -> Probe {
    Probe {
        n,
        at: Some(at),
        cron: None,
    }
}

async fn queue(test: &TestDb, clock: &Arc<ManualClock>) -> JobQueue {
    JobQueue::new(test.db.clone(), clock.clone()).await.unwrap()
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap()
}

#[tokio::test]
async fn a_task_is_claimed_only_once_it_is_due_on_the_delivery_clock() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let queue = queue(&test, &clock).await;
    let due = t0() + chrono::Duration::minutes(10);
    let task = queue.schedule_task(&probe(1, due)).await.unwrap();
    assert_eq!(task.scheduled_at, due);

    clock.set(due - chrono::Duration::seconds(1));
    let none = tokio::time::timeout(
        Duration::from_secs(5),
        queue.fetch_and_touch_task(Some("probe".into())),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(none.is_none(), "not due yet");

    clock.set(due);
    let claimed = queue
        .fetch_and_touch_task(Some("probe".into()))
        .await
        .unwrap()
        .expect("due now");
    assert_eq!(claimed.id, task.id);
    assert_eq!(claimed.state, FangTaskState::InProgress);
}

#[tokio::test]
async fn an_idle_worker_wakes_when_the_clock_reaches_the_next_task() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let queue = queue(&test, &clock).await;
    let due = t0() + chrono::Duration::hours(3);
    queue.schedule_task(&probe(1, due)).await.unwrap();
    let waiting = {
        let queue = queue.clone();
        tokio::spawn(async move {
            loop {
                if let Some(task) = queue
                    .fetch_and_touch_task(Some("probe".into()))
                    .await
                    .unwrap()
                {
                    return task;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    clock.set(due);
    let task = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken by the clock")
        .unwrap();
    assert_eq!(task.scheduled_at, due);
}

#[tokio::test]
async fn two_workers_claiming_together_take_each_task_once() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let a = queue(&test, &clock).await;
    // A second pool, as a second process would have.
    let other = service::database::connect(&test.url).await.unwrap();
    let b = JobQueue::new(other, clock.clone()).await.unwrap();
    for n in 0..60 {
        a.schedule_task(&probe(n, t0())).await.unwrap();
    }
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let drain = |queue: JobQueue| {
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let mut ids = Vec::new();
            while let Some(task) = queue
                .fetch_and_touch_task(Some("probe".into()))
                .await
                .unwrap()
            {
                ids.push(task.id);
            }
            ids
        })
    };
    let (mine, theirs) = tokio::join!(drain(a), drain(b));
    let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
    let all: HashSet<_> = mine.iter().chain(&theirs).collect();
    assert_eq!(mine.len() + theirs.len(), 60, "no task claimed twice");
    assert_eq!(all.len(), 60, "every task claimed");
    assert!(
        !mine.is_empty() && !theirs.is_empty(),
        "both claimed: {} and {}",
        mine.len(),
        theirs.len()
    );
}

#[tokio::test]
async fn a_uniq_task_waiting_is_not_queued_twice() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let queue = queue(&test, &clock).await;
    let first = queue.schedule_task(&probe(7, t0())).await.unwrap();
    let again = queue.schedule_task(&probe(7, t0())).await.unwrap();
    assert_eq!(first.id, again.id);
    let other = queue.schedule_task(&probe(8, t0())).await.unwrap();
    assert_ne!(first.id, other.id);
}

#[tokio::test]
async fn a_cron_task_is_scheduled_at_the_patterns_next_time_on_the_clock() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let queue = queue(&test, &clock).await;
    let task = queue
        .schedule_task(&Probe {
            n: 1,
            at: None,
            cron: Some("0 30 3 * * *".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        task.scheduled_at,
        Utc.with_ymd_and_hms(2027, 1, 5, 3, 30, 0).unwrap()
    );
}

#[tokio::test]
async fn tasks_a_dead_worker_left_in_progress_go_back_in_line() {
    let test = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let queue = queue(&test, &clock).await;
    queue.schedule_task(&probe(1, t0())).await.unwrap();
    let lost = queue
        .fetch_and_touch_task(Some("probe".into()))
        .await
        .unwrap()
        .unwrap();
    // Its worker died; nothing finishes it.
    clock.advance(chrono::Duration::minutes(11));
    assert_eq!(
        queue
            .reap_stuck(clock.now() - chrono::Duration::minutes(20))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        queue
            .reap_stuck(clock.now() - chrono::Duration::minutes(10))
            .await
            .unwrap(),
        1
    );
    let again = queue
        .fetch_and_touch_task(Some("probe".into()))
        .await
        .unwrap()
        .expect("re-queued");
    assert_eq!(again.id, lost.id);
}
