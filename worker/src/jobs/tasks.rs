//! The tasks Herald queues. Each tolerates running twice (fang may run a task again after a
//! crash or a race): the database decides what actually happens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fang::{AsyncQueueable, AsyncRunnable, FangError, Scheduled, typetag};
use serde::{Deserialize, Serialize};

use super::delivery;

/// Fires and delivery passes outlast a database failover: retried for about three hours.
const RETRIES: i32 = 20;

/// 30 s, doubling, at most 10 minutes between tries.
fn backoff(attempt: u32) -> u32 {
    30u32.saturating_mul(2u32.saturating_pow(attempt)).min(600)
}

fn failed(e: impl std::fmt::Display) -> FangError {
    FangError {
        description: e.to_string(),
    }
}

/// Fire one occurrence of a reminder. Scheduled for the occurrence itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fire {
    pub queue: String,
    pub reminder_id: i64,
    pub occurrence_at: DateTime<Utc>,
}

#[typetag::serde]
#[async_trait]
impl AsyncRunnable for Fire {
    async fn run(&self, _: &dyn AsyncQueueable) -> Result<(), FangError> {
        delivery(&self.queue)?
            .fire(self.reminder_id, self.occurrence_at)
            .await
            .map_err(failed)
    }

    fn task_type(&self) -> String {
        self.queue.clone()
    }

    fn uniq(&self) -> bool {
        true
    }

    fn cron(&self) -> Option<Scheduled> {
        Some(Scheduled::ScheduleOnce(self.occurrence_at))
    }

    fn max_retries(&self) -> i32 {
        RETRIES
    }

    fn backoff(&self, attempt: u32) -> u32 {
        backoff(attempt)
    }
}

/// Send a run's targets that are due (after a retry delay, a resume, or a restart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    pub queue: String,
    pub run_id: i64,
    pub at: DateTime<Utc>,
}

#[typetag::serde]
#[async_trait]
impl AsyncRunnable for Deliver {
    async fn run(&self, _: &dyn AsyncQueueable) -> Result<(), FangError> {
        delivery(&self.queue)?
            .dispatch(self.run_id)
            .await
            .map_err(failed)
    }

    fn task_type(&self) -> String {
        self.queue.clone()
    }

    fn uniq(&self) -> bool {
        true
    }

    fn cron(&self) -> Option<Scheduled> {
        Some(Scheduled::ScheduleOnce(self.at))
    }

    fn max_retries(&self) -> i32 {
        RETRIES
    }

    fn backoff(&self, attempt: u32) -> u32 {
        backoff(attempt)
    }
}

/// Daily: remove media no reminder uses any more, past its retention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMedia {
    pub queue: String,
}

#[typetag::serde]
#[async_trait]
impl AsyncRunnable for SweepMedia {
    async fn run(&self, _: &dyn AsyncQueueable) -> Result<(), FangError> {
        delivery(&self.queue)?.sweep_media().await.map_err(failed)
    }

    fn task_type(&self) -> String {
        self.queue.clone()
    }

    fn uniq(&self) -> bool {
        true
    }

    fn cron(&self) -> Option<Scheduled> {
        // 03:30 UTC every day (sec min hour day-of-month month day-of-week).
        Some(Scheduled::CronPattern("0 30 3 * * *".to_owned()))
    }
}
