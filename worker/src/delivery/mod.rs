//! Delivery: the due loop ([`due`]) reads from the rows what came due and fires it — recording
//! the run and its targets — and each account's sender then sends them, paced, claiming each
//! target before sending so that nothing is ever sent twice. docs/architecture.md ("The life of
//! a reminder", "Invariants") states what this promises and which test guards each promise.
//!
//! - [`due`]: the one loop from a due moment to a fire or a send.
//! - [`fire`]: an occurrence comes due — a run, or a `missed` record — and the reminder moves on.
//! - [`sender`]: one task per account works through its runs, paced, with retries;
//!   [`sending`] sends one target, [`outcome`] rolls a run up, pauses it or reports on it.
//! - [`targets`]: the run and target rows: claims, outcomes, the roll-up.
//! - [`recovery`]: what a previous process left behind, at start and periodically.
//! - [`control`]: the operator's commands — a reminder changed, resume or cancel a paused run.

mod control;
mod due;
mod fire;
mod outcome;
mod recovery;
mod sender;
mod sending;
mod targets;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use domain::pacing::{HourlyCap, Rules};
use runtime::config::DeliveryConfig;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, mpsc, watch};

use crate::{
    clock::SharedClock,
    leases::{Leases, Work},
    sessions::SessionsHandle,
};

/// Delivery's rules; production's come from [`DeliveryConfig`].
#[derive(Clone, Debug)]
pub struct Settings {
    pub pacing: Rules,
    pub grace: chrono::Duration,
    /// The waits before the 2nd, 3rd and 4th attempt at a target after a transient error.
    pub retry_delays: Vec<chrono::Duration>,
    /// A send that has not answered by then counts as a transient failure.
    pub send_timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &DeliveryConfig) -> Self {
        Self {
            pacing: config.pacing(),
            grace: chrono::Duration::minutes(config.grace_minutes.into()),
            retry_delays: [30, 120, 600].map(chrono::Duration::seconds).to_vec(),
            send_timeout: Duration::from_secs(config.send_timeout_secs.into()),
        }
    }
}

pub struct Delivery {
    db: DatabaseConnection,
    clock: SharedClock,
    sessions: SessionsHandle,
    settings: Settings,
    data_dir: PathBuf,
    senders: Mutex<HashMap<i64, mpsc::UnboundedSender<i64>>>,
    hourly: Mutex<HourlyCap>,
    uploads: Mutex<HashMap<i64, sending::RunUploads>>,
    /// What the due loop remembers of runs between passes, and what wakes it.
    passes: Mutex<due::Passes>,
    due_changed: Arc<Notify>,
    /// When each run found its account without a session, for the grace window.
    away_since: Mutex<HashMap<i64, chrono::DateTime<chrono::Utc>>>,
    /// `true` once shutting down; `sending` holds the account of each send under way.
    stopping: watch::Sender<bool>,
    sending: watch::Sender<Vec<i64>>,
    /// Which accounts this worker runs: it fires, sends and claims only for those.
    leases: Leases,
}

impl Delivery {
    /// Recovers what a previous process left, then starts the due loop and the periodic sweep.
    pub async fn start(
        db: DatabaseConnection,
        clock: SharedClock,
        sessions: SessionsHandle,
        settings: Settings,
        data_dir: PathBuf,
        leases: Leases,
    ) -> anyhow::Result<Arc<Self>> {
        let delivery = Arc::new(Self {
            hourly: Mutex::new(HourlyCap::new(settings.pacing.per_hour_global)),
            db,
            clock,
            sessions,
            settings,
            data_dir,
            senders: Mutex::default(),
            uploads: Mutex::default(),
            passes: Mutex::default(),
            due_changed: Arc::new(Notify::new()),
            away_since: Mutex::default(),
            stopping: watch::Sender::new(false),
            sending: watch::Sender::new(Vec::new()),
            leases,
        });
        let since = delivery.clock.now() - chrono::Duration::hours(1);
        for at in targets::recent_sends(&delivery.db, None, since).await? {
            delivery
                .hourly
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(at);
        }
        delivery.recover().await?;
        tokio::spawn(Self::due_loop(Arc::downgrade(&delivery)));
        tokio::spawn(Self::maintain(Arc::downgrade(&delivery)));
        Ok(delivery)
    }

    /// A graceful stop: no new task is taken and no new send starts; sends under way finish
    /// (within the send timeout) so none of them is left `unknown`. Runs continue at the next
    /// start.
    pub async fn shutdown(&self) {
        self.stopping.send_replace(true);
        let mut sending = self.sending.subscribe();
        let drained =
            tokio::time::timeout(self.settings.send_timeout, sending.wait_for(Vec::is_empty));
        if drained.await.is_err() {
            tracing::warn!("sends still under way at shutdown will be reported unknown");
        }
        // Ends the sender tasks (each holds the delivery; the map holds their inboxes).
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// The sweep that keeps anything from staying stuck (see [`recovery`]): every minute, or as
    /// often as a send can be orphaned when the send timeout is short.
    async fn maintain(delivery: std::sync::Weak<Self>) {
        let period = match delivery.upgrade() {
            Some(delivery) => delivery
                .orphan_after()
                .to_std()
                .unwrap_or(Duration::from_secs(60))
                .clamp(Duration::from_secs(5), Duration::from_secs(60)),
            None => return,
        };
        let mut every = tokio::time::interval(period);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(delivery) = delivery.upgrade() else {
                return;
            };
            if delivery.stopping() {
                return;
            }
            if let Err(e) = delivery.sweep_periodically().await {
                tracing::warn!(error = %e, "the delivery sweep failed");
            }
        }
    }
}

/// An account taken is looked at at once; one let go stops sending (the send under way
/// finishes, within the send timeout) before its session may stop.
#[async_trait::async_trait]
impl Work for Arc<Delivery> {
    async fn take(&self, _account_id: i64) {
        self.wake();
    }

    async fn let_go(&self, account_id: i64) {
        let mut sending = self.sending.subscribe();
        let idle = sending.wait_for(|s| !s.contains(&account_id));
        if tokio::time::timeout(self.settings.send_timeout, idle)
            .await
            .is_err()
        {
            tracing::warn!(
                account_id,
                "a send still under way at hand-over will be reported unknown"
            );
        }
    }
}
