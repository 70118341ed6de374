//! Herald's worker as a library, so tests run the real thing in-process on a free port.
//!
//! It owns the WhatsApp sessions (the session manager), delivery (its due loop and one sender
//! per account), the command router that feeds both from the bus, the maintenance queue (fang),
//! the Telegram bot (when a token is configured) and an internal listener with `/health` and,
//! when the simulator is the configured provider, its control routes. With several workers on
//! PostgreSQL each runs the accounts it holds the lease of, and one of them the bot and the
//! maintenance (`leases`).

pub mod clock;
mod commands;
pub mod delivery;
pub mod health;
pub mod jobs;
pub mod leases;
pub mod provider;
pub mod sessions;
mod single_instance;
mod singletons;
pub mod telegram;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use domain::status::Provider;
use runtime::config::Config;
use service::{
    bus::wake::{Topic, Waker},
    database,
};
use tokio::net::TcpListener;

use crate::{
    clock::{SharedClock, SystemClock},
    delivery::Delivery,
    leases::Leases,
    provider::{
        sim::{self, SimProvider},
        web::WebProvider,
    },
    sessions::{Manager, Providers, SessionsHandle, Settings},
    singletons::{MaintenanceJob, TelegramJob},
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
    leases: Leases,
    /// Stops the command router, and its task.
    router: (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ),
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

    /// Connects, migrates, starts the session manager, delivery and the command router, takes
    /// this worker's share of the leases (each account taken starts its session and sends; the
    /// Telegram bot and maintenance start where their lease is taken), and binds the internal
    /// listener.
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
        let alone = config.database_url.sqlite_path().is_some();
        commands::release_left(&db, alone)
            .await
            .context("releasing commands a previous run left claimed")?;
        if alone {
            service::leases::release_everything(&db)
                .await
                .context("releasing leases a previous run left")?;
        }
        let name = config
            .worker_id
            .clone()
            .unwrap_or_else(leases::default_name);
        let leases = Leases::new(db.clone(), &name, leases::timing(config.lease_ttl_secs));
        let sim = SimProvider::with_clock(db.clone(), config.sim.clone(), options.clock.clone());
        sim.set_holder(leases.instance().to_owned());
        sim.set_mandate(Arc::new(leases.clone()));
        let providers = Providers {
            sim: sim.clone(),
            web: Arc::new(
                WebProvider::new(config.wa_web_url.clone()).with_mandate(Arc::new(leases.clone())),
            ),
        };
        let (sessions, _) = Manager::spawn(db.clone(), providers, options.sessions, leases.clone());
        let delivery = Delivery::start(
            db.clone(),
            options.clock.clone(),
            sessions.clone(),
            options.delivery,
            config.data_dir.clone(),
            leases.clone(),
        )
        .await
        .context("resuming delivery")?;
        let waker = Waker::start(&db, Topic::Commands)
            .await
            .context("listening for commands")?;
        let telegram = TelegramJob::new(db.clone(), config.clone(), leases.clone());
        let maintenance =
            MaintenanceJob::new(db.clone(), options.clock.clone(), config.data_dir.clone());
        leases.run_accounts_with(vec![Arc::new(sessions.clone()), Arc::new(delivery.clone())]);
        // No bot configured, no lease for it: the System page shows who really runs one.
        if config.telegram.is_some() {
            leases.run_singleton_with(service::leases::TELEGRAM, telegram);
        }
        leases.run_singleton_with(service::leases::MAINTENANCE, maintenance);
        leases.keep().await;
        tracing::info!(worker = %leases.instance(), accounts = leases.accounts().len(), "worker started");
        let (stop_router, stop) = tokio::sync::watch::channel(false);
        let router = tokio::spawn(commands::run(
            db.clone(),
            sessions.clone(),
            delivery.clone(),
            waker,
            leases.clone(),
            stop,
        ));
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
                leases: leases.clone(),
            },
            sim,
            sessions,
            delivery,
            leases,
            router: (stop_router, router),
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

    /// Runs until `shutdown` resolves, then stops the Telegram bot, lets sends under way finish,
    /// stops every session (without marking any account disconnected: the next holder resumes
    /// them and their runs) and releases the leases at once, so a peer takes the accounts over
    /// in seconds rather than after the leases' expiry.
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
        // From here no lease is taken or given; those held are renewed while what they run
        // stops, then released. The Telegram bot and maintenance stop and go first.
        self.leases.drain().await;
        // Commands first (one in hand finishes), then sends, then the sessions they use.
        let (stop_router, router) = self.router;
        stop_router.send_replace(true);
        if let Err(e) = router.await {
            tracing::error!(error = %e, "the command router failed");
        }
        self.delivery.shutdown().await;
        self.sessions.shutdown().await;
        self.leases.release_all().await;
        served
    }
}
