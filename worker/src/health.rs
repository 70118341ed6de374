//! The worker's internal listener: `/health` (is the database reachable, how many WhatsApp
//! sessions are in each state) and `/metrics` (Prometheus). Bound to loopback by default; in a
//! container, reachable only on the internal network — never published.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use chrono::Utc;
use runtime::{build_info, config::Config};
use serde::{Deserialize, Serialize};
use service::{database, metrics};

#[derive(Clone)]
pub struct HealthState {
    pub db: sea_orm::DatabaseConnection,
    pub config: Arc<Config>,
    pub started_at: Instant,
    pub process: metrics::Process,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerHealth {
    /// `ok` or `degraded`.
    pub status: String,
    /// `ok` or `unavailable`.
    pub database: String,
    /// Accounts per session status; every status is listed, zeros included.
    pub sessions: BTreeMap<String, u64>,
    pub uptime_secs: u64,
    pub version: String,
    pub commit: String,
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn health(State(state): State<HealthState>) -> impl IntoResponse {
    let counts = match database::ping(&state.db).await {
        Ok(()) => metrics::sessions_by_status(&state.db).await,
        Err(e) => Err(e),
    };
    let (code, database, sessions) = match counts {
        Ok(sessions) => (
            StatusCode::OK,
            "ok",
            sessions
                .into_iter()
                .map(|(status, n)| (status.as_str().to_owned(), n))
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                BTreeMap::new(),
            )
        }
    };
    let body = WorkerHealth {
        status: if code == StatusCode::OK {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        database: database.to_owned(),
        sessions,
        uptime_secs: state.started_at.elapsed().as_secs(),
        version: build_info::VERSION.to_owned(),
        commit: build_info::COMMIT.to_owned(),
    };
    (code, Json(body))
}

async fn scrape(State(state): State<HealthState>) -> impl IntoResponse {
    let text = metrics::scrape(&state.db, &state.process, Utc::now()).await;
    (
        [(header::CONTENT_TYPE, metrics::exposition::CONTENT_TYPE)],
        text,
    )
}
