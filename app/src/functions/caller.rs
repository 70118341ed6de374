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
