//! Who is calling a server function.

use axum::Extension;
use leptos::prelude::*;

use crate::state::{AppState, CurrentOperator};

/// The app state and the operator the server's guard resolved for this request.
pub async fn context() -> Result<(AppState, CurrentOperator), ServerFnError> {
    let state = expect_context::<AppState>();
    let Extension(me) = leptos_axum::extract::<Extension<CurrentOperator>>()
        .await
        .map_err(|_| ServerFnError::new("sign in required"))?;
    Ok((state, me))
}

/// Logs the cause; the browser only learns that something went wrong.
pub fn internal(e: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %e, "server function failed");
    ServerFnError::new("something went wrong on the server")
}

/// The caller asked for something that cannot be done; `message` tells them why, in words. The
/// response is a 422, not a 500: a mistake in the input is not a server failure.
pub fn refuse(message: impl Into<String>) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    }
    ServerFnError::new(message.into())
}
