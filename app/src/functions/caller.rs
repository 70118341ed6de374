//! Who is calling a server function, and how its failures are answered.

use axum::Extension;
use leptos::prelude::*;

use super::AppError;
use crate::state::{AppState, CurrentOperator};

/// The app state and the operator the server's guard resolved for this request.
pub async fn context() -> Result<(AppState, CurrentOperator), AppError> {
    let state = expect_context::<AppState>();
    let Extension(me) = leptos_axum::extract::<Extension<CurrentOperator>>()
        .await
        .map_err(|_| AppError::new("sign in required"))?;
    Ok((state, me))
}

/// Logs the cause; the browser only learns that something went wrong. Every server error a
/// server function meets ends here, most through `?` (see [`AppError`]'s `From` impls).
pub fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "server function failed");
    AppError::new("something went wrong on the server")
}

/// The caller asked for something that cannot be done; `message` tells them why, in words. The
/// response is a 422, not a 500: a mistake in the input is not a server failure.
pub fn refuse(message: impl Into<String>) -> AppError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    }
    AppError::new(message.into())
}
