//! The maintenance tasks Herald queues. Each tolerates running twice (fang may run a task again
//! after a crash or a race).

use async_trait::async_trait;
use fang::{AsyncQueueable, AsyncRunnable, FangError, Scheduled, typetag};
use serde::{Deserialize, Serialize};

use super::running;

fn failed(e: impl std::fmt::Display) -> FangError {
    FangError {
        description: e.to_string(),
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
        running(&self.queue)?.sweep_media().await.map_err(failed)
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
