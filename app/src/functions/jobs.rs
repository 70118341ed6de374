//! Queued work that failed for good, and Retry. An operator sees and retries only their own
//! fires and deliveries, plus the installation's system tasks; a task that is missing or
//! someone else's answers "No such failed job." either way.

use leptos::prelude::*;

use crate::models::FailedJobsView;

#[server(endpoint = "failed_jobs")]
pub async fn failed_jobs() -> Result<FailedJobsView, ServerFnError> {
    let (state, me) = super::caller::context().await?;
    let zone = super::account::ssr::operator_zone(&state, &me).await?;
    let tasks = service::jobs::failed(&state.db, me.id)
        .await
        .map_err(super::caller::internal)?;
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
pub async fn retry_job(id: String) -> Result<String, ServerFnError> {
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
    use leptos::prelude::ServerFnError;
    use service::jobs::{FailedTask, Job};

    use crate::{
        functions::{account::ssr::local_time, caller::refuse},
        models::FailedJobView,
    };

    pub fn no_such_job() -> ServerFnError {
        refuse("No such failed job.")
    }

    /// What the task does, in words.
    pub fn title(task: &FailedTask) -> String {
        let name = task.name.as_deref().unwrap_or("?");
        match &task.job {
            Job::Fire { .. } => format!("Fire reminder “{name}”"),
            Job::Deliver { run_id } => format!("Deliver run #{run_id}"),
            Job::SweepMedia => "Daily media clean-up".to_owned(),
            Job::Other {
                task_type: Some(task_type),
            } => format!("Unknown task “{task_type}”"),
            Job::Other { task_type: None } => "Unreadable task".to_owned(),
        }
    }

    pub fn job_view(task: FailedTask, zone: TimeZone) -> FailedJobView {
        let minute = "%Y-%m-%d %H:%M";
        let (href, detail) = match &task.job {
            Job::Fire {
                reminder_id,
                occurrence_at,
            } => (
                Some(format!("/reminders/{reminder_id}")),
                Some(format!(
                    "The occurrence of {}",
                    local_time(occurrence_at, zone, minute)
                )),
            ),
            Job::Deliver { run_id } => (
                Some(format!("/reminders/runs/{run_id}")),
                task.name.as_ref().map(|name| format!("A run of “{name}”")),
            ),
            Job::SweepMedia => (
                None,
                Some("Removes uploaded files no reminder uses any more.".to_owned()),
            ),
            Job::Other { .. } => (
                None,
                Some("This version of Herald cannot run it.".to_owned()),
            ),
        };
        FailedJobView {
            id: task.id.to_string(),
            title: title(&task),
            href,
            detail,
            system: task.operator_id.is_none(),
            error: task.error.clone(),
            retries: task.retries,
            failed_at: local_time(&task.failed_at, zone, minute),
        }
    }
}
