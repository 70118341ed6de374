//! What every request handler, SSR render and server function can reach. leptos_axum provides
//! it as context to SSR and server functions (`expect_context::<AppState>()`).

use std::{sync::Arc, time::Instant};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use runtime::config::Config;
use sea_orm::DatabaseConnection;
use service::bus::wake::Waker;
use tokio::sync::watch;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub started_at: Instant,
    /// Wakes event-stream readers when the worker publishes.
    pub event_waker: Waker,
    /// Becomes `true` when the server begins shutting down.
    pub stopping: watch::Receiver<bool>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The signed-in operator, put into each request's extensions by the server's guard. Server
/// functions read it with `leptos_axum::extract::<axum::Extension<CurrentOperator>>()`.
#[derive(Clone, Debug)]
pub struct CurrentOperator {
    pub id: i64,
    pub display_name: String,
    /// The `auth_sessions` key of the request's session, to tell it apart in the session list.
    pub session_key: Option<String>,
}
