//! The worker's internal listener: `/health` (is the database reachable, how many WhatsApp
//! sessions are in each state, which worker this is and what it holds the leases of) and
//! `/metrics` (Prometheus, with this worker's leases). Bound to loopback by default; in a
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

use crate::leases::Leases;

#[derive(Clone)]
pub struct HealthState {
    pub db: sea_orm::DatabaseConnection,
    pub config: Arc<Config>,
    pub started_at: Instant,
    pub process: metrics::Process,
    pub leases: Leases,
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
    /// `WORKER_ID`, and the process instance its leases and claims are held by.
    pub worker: String,
    pub instance: String,
    /// The accounts whose lease this worker holds, and the singleton jobs it runs.
    pub accounts: Vec<i64>,
    pub singletons: Vec<String>,
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
        worker: state.leases.name().to_owned(),
        instance: state.leases.instance().to_owned(),
        accounts: state.leases.accounts(),
        singletons: held_singletons(&state.leases),
    };
    (code, Json(body))
}

fn held_singletons(leases: &Leases) -> Vec<String> {
    leases
        .held()
        .singletons
        .keys()
        .map(|s| (*s).to_owned())
        .collect()
}

async fn scrape(State(state): State<HealthState>) -> impl IntoResponse {
    let mut text = metrics::scrape(&state.db, &state.process, Utc::now()).await;
    text.push_str(&lease_metrics(&state.leases));
    (
        [(header::CONTENT_TYPE, metrics::exposition::CONTENT_TYPE)],
        text,
    )
}

/// This worker's leases: how many accounts it runs, and which singleton jobs (the worker named
/// by `WORKER_ID`; names are letters, digits, `.`, `_`, `-` and `/`, nothing to escape).
fn lease_metrics(leases: &Leases) -> String {
    let worker = leases.name();
    let mut text = format!(
        "# HELP herald_worker_leases Leases this worker holds, by kind.\n\
         # TYPE herald_worker_leases gauge\n\
         herald_worker_leases{{worker=\"{worker}\",kind=\"account\"}} {}\n",
        leases.accounts().len()
    );
    for lease in [service::leases::TELEGRAM, service::leases::MAINTENANCE] {
        let held = u8::from(leases.held().singletons.contains_key(lease));
        text.push_str(&format!(
            "herald_worker_leases{{worker=\"{worker}\",kind=\"{lease}\"}} {held}\n"
        ));
    }
    text
}
