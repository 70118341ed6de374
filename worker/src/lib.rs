//! Herald's worker as a library, so tests run the real thing in-process on a free port.
//!
//! It owns the WhatsApp sessions (the session manager, fed by the command bus), the job queue's
//! worker pool and an internal listener with `/health` and the simulator's control routes.

pub mod health;
pub mod keys;
pub mod provider;
mod queue;
pub mod sessions;
mod single_instance;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use service::{
    bus::{
        commands,
        wake::{Topic, Waker},
    },
    config::Config,
    database,
};
use tokio::net::TcpListener;

use crate::{
    provider::sim::{self, SimProvider},
    sessions::{Manager, Providers, SessionsHandle, Settings},
};

pub struct Worker {
    listener: TcpListener,
    health: health::HealthState,
    sim: Arc<SimProvider>,
    sessions: SessionsHandle,
    _instance: single_instance::InstanceGuard,
}

impl Worker {
    /// As [`Worker::start_with`], with production timings.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with(config, Settings::default()).await
    }

    /// Connects, migrates, resumes sessions, starts the command consumer and the job queue, and
    /// binds the internal listener.
    pub async fn start_with(config: Config, settings: Settings) -> anyhow::Result<Self> {
        let instance = single_instance::acquire(&config.database_url)?;
        let db = database::connect_and_migrate(&config.database_url)
            .await
            .context("preparing the database")?;
        let listener = TcpListener::bind(config.worker_health_addr)
            .await
            .with_context(|| {
                format!(
                    "binding the health listener on {}",
                    config.worker_health_addr
                )
            })?;
        let released = commands::release_abandoned(&db)
            .await
            .context("releasing commands a previous run left claimed")?;
        if released > 0 {
            tracing::warn!(
                commands = released,
                "re-queued commands left running by a previous run"
            );
        }
        let sim = SimProvider::new(db.clone(), config.sim.clone());
        let providers = Providers {
            sim: sim.clone(),
            web: None,
        };
        let (sessions, _) = Manager::spawn(db.clone(), providers, settings)
            .await
            .context("resuming WhatsApp sessions")?;
        let waker = Waker::start(&db, Topic::Commands)
            .await
            .context("listening for commands")?;
        let claimer = format!("worker-{}", std::process::id());
        tokio::spawn(sessions::consumer::run(
            db.clone(),
            sessions.clone(),
            waker,
            claimer,
        ));
        queue::start(&config.database_url)
            .await
            .context("starting the job queue")?;
        Ok(Self {
            listener,
            health: health::HealthState {
                db,
                config: Arc::new(config),
                started_at: Instant::now(),
            },
            sim,
            sessions,
            _instance: instance,
        })
    }

    pub fn health_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The simulator, for tests that drive simulated phones directly.
    pub fn sim(&self) -> Arc<SimProvider> {
        self.sim.clone()
    }

    /// Runs until `shutdown` resolves, then stops every session (without marking any account
    /// disconnected: the next start resumes them).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = health::router(self.health).merge(sim::control_router(self.sim));
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.sessions.shutdown().await;
        served
    }
}
