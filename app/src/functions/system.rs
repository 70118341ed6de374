use leptos::prelude::*;

use super::AppError;
use crate::wire::{DeliveryReport, HealthReport, WorkersReport};

/// The System page's view of the server: the same report `/api/health` serves.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<HealthReport, AppError> {
    let (state, _) = super::caller::context().await?;
    Ok(ssr::health_report(&state).await)
}

/// The live workers and what each runs, with the caller's own accounts named.
#[server(endpoint = "system_workers")]
pub async fn system_workers() -> Result<WorkersReport, AppError> {
    use super::operator::ssr::operator_zone;

    let (state, me) = super::caller::context().await?;
    let zone = operator_zone(&state, &me).await?;
    let timing = service::leases::Timing::with_ttl(std::time::Duration::from_secs(
        state.config.lease_ttl_secs.into(),
    ));
    let (workers, unheld) = service::leases::coverage(&state.db, me.id, timing).await?;
    Ok(WorkersReport {
        workers: workers
            .into_iter()
            .map(|w| ssr::worker_row(w, zone))
            .collect(),
        unheld,
    })
}

/// The caller's accounts by status, the job queue, and their last fire.
#[server(endpoint = "system_delivery")]
pub async fn system_delivery() -> Result<DeliveryReport, AppError> {
    use super::operator::ssr::{local_time, operator_zone};
    use crate::components::status_badge::status_text;

    let (state, me) = super::caller::context().await?;
    let zone = operator_zone(&state, &me).await?;
    let mut accounts: Vec<(domain::status::AccountStatus, usize)> = Vec::new();
    for account in service::dashboard::account_health(&state.db, me.id).await? {
        match accounts
            .iter_mut()
            .find(|(status, _)| *status == account.status)
        {
            Some((_, n)) => *n += 1,
            None => accounts.push((account.status, 1)),
        }
    }
    let queue = service::jobs::queue_depth(&state.db).await?;
    let last_fire = service::dashboard::last_fire(&state.db, me.id).await?;
    Ok(DeliveryReport {
        accounts: accounts
            .into_iter()
            .map(|(status, n)| format!("{n} {}", status_text(status).to_lowercase()))
            .collect(),
        jobs_waiting: queue.waiting,
        jobs_failed: queue.failed,
        last_fire: last_fire
            .map(|(at, name)| format!("{}: {name}", local_time(&at, zone, "%a %-d %b %Y, %H:%M"))),
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use domain::timezone::TimeZone;
    use runtime::{build_info, config::Backend};
    use service::{database, leases};

    use crate::{
        functions::operator::ssr::local_time,
        state::AppState,
        wire::{ComponentHealth, HealthReport, HealthStatus, WorkerRow},
    };

    pub fn worker_row(worker: leases::WorkerView, zone: TimeZone) -> WorkerRow {
        WorkerRow {
            started_at: local_time(&worker.started_at, zone, "%Y-%m-%d %H:%M"),
            jobs: worker
                .jobs
                .iter()
                .map(|job| match job.as_str() {
                    leases::TELEGRAM => "Telegram bot".to_owned(),
                    leases::MAINTENANCE => "Maintenance".to_owned(),
                    other => other.to_owned(),
                })
                .collect(),
            name: worker.name,
            version: worker.version,
            accounts: worker.accounts,
            own_accounts: worker.own_accounts,
        }
    }

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
