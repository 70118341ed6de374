use leptos::prelude::*;

use super::AppError;
use crate::wire::HealthReport;

/// The System page's view of the server: the same report `/api/health` serves.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<HealthReport, AppError> {
    let (state, _) = super::caller::context().await?;
    Ok(ssr::health_report(&state).await)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use runtime::{build_info, config::Backend};
    use service::database;

    use crate::{
        state::AppState,
        wire::{ComponentHealth, HealthReport, HealthStatus},
    };

    pub async fn health_report(state: &AppState) -> HealthReport {
        let database = match database::ping(&state.db).await {
            Ok(()) => ComponentHealth::Ok,
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unavailable");
                ComponentHealth::Unavailable
            }
        };
        HealthReport {
            status: match database {
                ComponentHealth::Ok => HealthStatus::Ok,
                ComponentHealth::Unavailable => HealthStatus::Degraded,
            },
            database,
            database_backend: match state.config.database_url.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
            .to_owned(),
            uptime_secs: state.started_at.elapsed().as_secs(),
            version: build_info::VERSION.to_owned(),
            commit: build_info::COMMIT.to_owned(),
        }
    }
}
