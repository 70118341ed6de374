//! The jobs that must run in one worker only, each started when this worker takes its lease
//! and stopped when it lets it go: the Telegram bot (two would send every alert twice and fight
//! over Telegram's updates) and the installation's maintenance queue.

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use runtime::config::Config;
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::{
    clock::SharedClock,
    jobs::Maintenance,
    leases::{Leases, Work},
    telegram::TelegramBot,
};

/// The bot runs under the `telegram` lease's fence; a lease taken again (under a new epoch)
/// restarts it under the new one.
pub struct TelegramJob {
    db: DatabaseConnection,
    config: Config,
    leases: Leases,
    bot: Mutex<Option<(TelegramBot, i64)>>,
}

impl TelegramJob {
    pub fn new(db: DatabaseConnection, config: Config, leases: Leases) -> Arc<Self> {
        Arc::new(Self {
            db,
            config,
            leases,
            bot: Mutex::default(),
        })
    }
}

#[async_trait]
impl Work for TelegramJob {
    async fn take(&self, _: i64) {
        let (Some(telegram), Some(fence)) = (
            &self.config.telegram,
            self.leases.singleton_fence(service::leases::TELEGRAM),
        ) else {
            return;
        };
        let mut bot = self.bot.lock().await;
        if bot.as_ref().is_some_and(|(_, epoch)| *epoch == fence.epoch) {
            return;
        }
        if let Some((old, _)) = bot.take() {
            old.stop().await;
        }
        let epoch = fence.epoch;
        match TelegramBot::start(self.db.clone(), telegram, &self.config, fence).await {
            Ok(started) => *bot = Some((started, epoch)),
            // Tried again at the balancer's next look; the alerts wait in the event stream.
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "starting the Telegram bot failed")
            }
        }
    }

    async fn let_go(&self, _: i64) {
        if let Some((bot, _)) = self.bot.lock().await.take() {
            bot.stop().await;
        }
    }
}

/// Started once, then closed and reopened as its lease goes and comes back, so its queue's
/// workers are never started twice in one process.
pub struct MaintenanceJob {
    db: DatabaseConnection,
    clock: SharedClock,
    data_dir: PathBuf,
    /// The maintenance once started, and whether it runs now.
    started: Mutex<Option<(Arc<Maintenance>, bool)>>,
}

impl MaintenanceJob {
    pub fn new(db: DatabaseConnection, clock: SharedClock, data_dir: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            db,
            clock,
            data_dir,
            started: Mutex::default(),
        })
    }
}

#[async_trait]
impl Work for MaintenanceJob {
    async fn take(&self, _: i64) {
        let mut started = self.started.lock().await;
        match &mut *started {
            Some((_, true)) => {}
            Some((maintenance, running)) => match maintenance.reopen().await {
                Ok(()) => *running = true,
                Err(e) => tracing::error!(error = %e, "resuming maintenance failed"),
            },
            None => {
                let (db, clock, dir) = (self.db.clone(), self.clock.clone(), self.data_dir.clone());
                match Maintenance::start(db, clock, dir, 1).await {
                    Ok(maintenance) => *started = Some((maintenance, true)),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "starting maintenance failed");
                    }
                }
            }
        }
    }

    async fn let_go(&self, _: i64) {
        if let Some((maintenance, running)) = &mut *self.started.lock().await {
            maintenance.close();
            *running = false;
        }
    }
}
