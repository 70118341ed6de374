//! Herald's worker as a library, so tests run the real thing in-process on a free port.
//!
//! Today it owns the job queue's worker pool and its health endpoint; WhatsApp sessions, delivery
//! and the Telegram bot join it as they are built.

pub mod health;
pub mod keys;
pub mod provider;
mod queue;
mod single_instance;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use service::{config::Config, database};
use tokio::net::TcpListener;

pub struct Worker {
    health_listener: TcpListener,
    health: health::HealthState,
    _instance: single_instance::InstanceGuard,
}

impl Worker {
    /// Connects, migrates, starts the job queue and binds the health listener.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let instance = single_instance::acquire(&config.database_url)?;
        let db = database::connect_and_migrate(&config.database_url)
            .await
            .context("preparing the database")?;
        queue::start(&config.database_url)
            .await
            .context("starting the job queue")?;
        let health_listener = TcpListener::bind(config.worker_health_addr)
            .await
            .with_context(|| {
                format!(
                    "binding the health listener on {}",
                    config.worker_health_addr
                )
            })?;
        Ok(Self {
            health_listener,
            health: health::HealthState {
                db,
                config: Arc::new(config),
                started_at: Instant::now(),
            },
            _instance: instance,
        })
    }

    pub fn health_addr(&self) -> std::io::Result<SocketAddr> {
        self.health_listener.local_addr()
    }

    /// Runs until `shutdown` resolves.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.health_listener, health::router(self.health))
            .with_graceful_shutdown(shutdown)
            .await
    }
}
