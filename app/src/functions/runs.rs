//! What the operator does to a run only after confirming its risk.

use leptos::prelude::*;

use super::AppError;

/// Sends a finished run's own message to the groups it did not reach and also to those it may
/// have reached (`unknown`), once the operator confirmed they could get it twice.
#[server(endpoint = "retry_run_including_unknown")]
pub async fn retry_run_including_unknown(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    let actor = service::audit::Actor::Operator;
    service::runs::retry_including_unknown(&state.db, actor, me.id, id)
        .await
        .map(|_| ())
        .map_err(super::reminders::ssr::run_error)
}
