//! Maintenance tasks that failed for good, and Retry. They are the installation's, so every
//! operator sees and may retry them.

use leptos::prelude::*;

use super::AppError;
use crate::wire::FailedJobsView;

#[server(endpoint = "failed_jobs")]
pub async fn failed_jobs() -> Result<FailedJobsView, AppError> {
    let (state, me) = super::caller::context().await?;
    let zone = super::operator::ssr::operator_zone(&state, &me).await?;
    let tasks = service::jobs::failed(&state.db).await?;
    Ok(FailedJobsView {
        jobs: tasks
            .into_iter()
            .map(|task| ssr::job_view(task, zone))
            .collect(),
        timezone: zone.name().to_owned(),
    })
}

/// Puts a failed job back in line, due now, and wakes the worker. Returns what the job does, in
/// words, for the confirmation.
#[server(endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<String, AppError> {
    use service::jobs::RetryError;

    use super::caller::{internal, refuse};

    let (state, me) = super::caller::context().await?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| ssr::no_such_job())?;
    let retried = service::jobs::retry(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await;
    match retried {
        Ok(task) => Ok(ssr::title(&task)),
        Err(RetryError::NotFound) => Err(ssr::no_such_job()),
        Err(RetryError::NotFailed(_)) => Err(refuse(
            "This job is not failed any more: it was retried already, or has run since. There is nothing to retry.",
        )),
        Err(RetryError::Db(e)) => Err(internal(e)),
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use domain::timezone::TimeZone;
    use service::jobs::{FailedTask, Job};

    use crate::{
        functions::{AppError, caller::refuse, operator::ssr::local_time},
        wire::FailedJobView,
    };

    pub fn no_such_job() -> AppError {
        refuse("No such failed job.")
    }

    /// What the task does, in words.
    pub fn title(task: &FailedTask) -> String {
        match &task.job {
            Job::SweepMedia => "Daily media clean-up".to_owned(),
            Job::Other {
                task_type: Some(task_type),
            } => format!("Unknown task “{task_type}”"),
            Job::Other { task_type: None } => "Unreadable task".to_owned(),
        }
    }

    pub fn job_view(task: FailedTask, zone: TimeZone) -> FailedJobView {
        let minute = "%Y-%m-%d %H:%M";
        let detail = match &task.job {
            Job::SweepMedia => "Removes uploaded files no reminder uses any more.",
            Job::Other { .. } => "This version of Herald cannot run it.",
        };
        FailedJobView {
            id: task.id.to_string(),
            title: title(&task),
            detail: detail.to_owned(),
            error: task.error.clone(),
            retries: task.retries,
            failed_at: local_time(&task.failed_at, zone, minute),
        }
    }
}
