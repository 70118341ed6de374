//! Herald's worker as a library, so tests run the real thing in-process on a free port.
//!
//! It owns the WhatsApp sessions (the session manager, fed by the command bus), delivery (on
//! the job queue), the Telegram bot (when a token is configured) and an internal listener with
//! `/health` and, when the simulator is the configured provider, its control routes.

pub mod clock;
pub mod delivery;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod provider;
pub mod sessions;
mod single_instance;
pub mod telegram;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use domain::status::Provider;
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
    clock::{SharedClock, SystemClock},
    delivery::Delivery,
    provider::{
        sim::{self, SimProvider},
        web::WebProvider,
    },
    sessions::{Manager, Providers, SessionsHandle, Settings},
    telegram::TelegramBot,
};

/// The worker's rules and clock; production's come from the configuration.
#[derive(Clone)]
pub struct Options {
    pub sessions: Settings,
    pub delivery: delivery::Settings,
    pub clock: SharedClock,
}

impl Options {
    pub fn from_config(config: &Config) -> Self {
        Self {
            sessions: Settings::default(),
            delivery: delivery::Settings::from_config(&config.delivery),
            clock: Arc::new(SystemClock),
        }
    }
}

pub struct Worker {
    listener: TcpListener,
    health: health::HealthState,
    sim: Arc<SimProvider>,
    sessions: SessionsHandle,
    delivery: Arc<Delivery>,
    /// Stops the command consumer, and its task.
    consumer: (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ),
    telegram: Option<TelegramBot>,
    _instance: single_instance::InstanceGuard,
    /// Tells `herald-backup restore` the worker runs (SQLite).
    _in_use: database::InUse,
}

impl Worker {
    /// As [`Worker::start_with`], with production timings.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let options = Options::from_config(&config);
        Self::start_with(config, options).await
    }

    /// Connects, migrates, resumes sessions and delivery, starts the command consumer and the
    /// job queue, and binds the internal listener.
    pub async fn start_with(config: Config, options: Options) -> anyhow::Result<Self> {
        let instance = single_instance::acquire(&config.database_url)?;
        let in_use = database::hold_in_use(&config.database_url)?;
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
        // On SQLite this worker holds the database's lock: nobody else's claim can be alive.
        let orphaned_after = match config.database_url.sqlite_path() {
            Some(_) => std::time::Duration::ZERO,
            None => commands::ORPHANED_AFTER,
        };
        let released = commands::release_abandoned(&db, orphaned_after)
            .await
            .context("releasing commands a previous run left claimed")?;
        if released > 0 {
            tracing::warn!(
                commands = released,
                "re-queued commands left running by a previous run"
            );
        }
        let sim = SimProvider::with_clock(db.clone(), config.sim.clone(), options.clock.clone());
        let providers = Providers {
            sim: sim.clone(),
            web: Arc::new(WebProvider::new(db.clone(), config.wa_web_url.clone())),
        };
        let (sessions, _) = Manager::spawn(db.clone(), providers, options.sessions)
            .await
            .context("resuming WhatsApp sessions")?;
        let delivery = Delivery::start(
            db.clone(),
            options.clock,
            sessions.clone(),
            options.delivery,
            config.data_dir.clone(),
        )
        .await
        .context("resuming delivery")?;
        let waker = Waker::start(&db, Topic::Commands)
            .await
            .context("listening for commands")?;
        let claimer = format!("worker-{}", std::process::id());
        let (stop_consumer, stop) = tokio::sync::watch::channel(false);
        let consumer = tokio::spawn(sessions::consumer::run(
            db.clone(),
            sessions.clone(),
            delivery.clone(),
            waker,
            claimer,
            stop,
        ));
        let telegram = match &config.telegram {
            Some(telegram) => Some(
                TelegramBot::start(db.clone(), telegram, &config)
                    .await
                    .context("starting the Telegram bot")?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            health: health::HealthState {
                db,
                config: Arc::new(config),
                started_at: Instant::now(),
                process: service::metrics::Process {
                    name: "worker",
                    started_at: chrono::Utc::now(),
                },
            },
            sim,
            sessions,
            delivery,
            consumer: (stop_consumer, consumer),
            telegram,
            _instance: instance,
            _in_use: in_use,
        })
    }

    pub fn health_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Delivery, for tests and benchmarks that drive it directly.
    pub fn delivery(&self) -> Arc<Delivery> {
        self.delivery.clone()
    }

    /// The simulator, for tests that drive simulated phones directly.
    pub fn sim(&self) -> Arc<SimProvider> {
        self.sim.clone()
    }

    /// Runs until `shutdown` resolves, then stops the Telegram bot, lets sends under way finish
    /// and stops every session (without marking any account disconnected: the next start
    /// resumes them and their runs).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The simulator's controls answer anyone who reaches the listener: development only.
        let simulated = self.health.config.wa_provider == Provider::Sim;
        let mut router = health::router(self.health);
        if simulated {
            router = router.merge(sim::control_router(self.sim));
        }
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(telegram) = self.telegram {
            telegram.stop().await;
        }
        // Commands first (one in hand finishes), then sends, then the sessions they use.
        let (stop_consumer, consumer) = self.consumer;
        stop_consumer.send_replace(true);
        if let Err(e) = consumer.await {
            tracing::error!(error = %e, "the command consumer failed");
        }
        self.delivery.shutdown().await;
        self.sessions.shutdown().await;
        served
    }
}
