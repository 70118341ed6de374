//! The worker's internal health endpoint: is the database reachable, and how many WhatsApp
//! sessions are in each state. Bound to loopback by default; not for the public internet.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use domain::status::AccountStatus;
use entity::whatsapp_accounts;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QuerySelect};
use serde::{Deserialize, Serialize};
use service::{build_info, config::Config, database};

#[derive(Clone)]
pub struct HealthState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub started_at: Instant,
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
        .with_state(state)
}

async fn health(State(state): State<HealthState>) -> impl IntoResponse {
    let counts = match database::ping(&state.db).await {
        Ok(()) => sessions_by_status(&state.db).await,
        Err(e) => Err(e),
    };
    let (code, database, sessions) = match counts {
        Ok(sessions) => (StatusCode::OK, "ok", sessions),
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

async fn sessions_by_status(db: &DatabaseConnection) -> Result<BTreeMap<String, u64>, DbErr> {
    let rows: Vec<(AccountStatus, i64)> = whatsapp_accounts::Entity::find()
        .select_only()
        .column(whatsapp_accounts::Column::Status)
        .column_as(whatsapp_accounts::Column::Id.count(), "count")
        .group_by(whatsapp_accounts::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: BTreeMap<String, u64> = AccountStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for (status, count) in rows {
        counts.insert(
            status.as_str().to_owned(),
            u64::try_from(count).unwrap_or(0),
        );
    }
    Ok(counts)
}
