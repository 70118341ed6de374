//! This worker's leases (`service::leases`): which accounts it runs, and whether it runs the
//! Telegram bot and maintenance. The keeper renews them, takes a fair share of the accounts
//! nobody holds, gives up what is beyond its share so a new peer gets some, and stops what a
//! lost lease ran before anything else can go wrong.
//!
//! What a lease runs is handed over in an order that never lets two workers run one account:
//! a worker gives an account up by stopping its sends (the one under way finishes), then its
//! session, then releasing the lease; a peer starts the account only once the lease is its own.
//! A worker that can no longer renew (the database unreachable) stops everything before its
//! leases can expire under it.

use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use service::leases::{self as rows, Fence, Timing};
use tokio::{
    sync::{Notify, watch},
    time::Instant,
};

/// Something a lease runs: an account's session or sends, or a singleton job. `take` starts
/// it; `let_go` stops it and returns once it has stopped.
#[async_trait]
pub trait Work: Send + Sync {
    async fn take(&self, account_id: i64);
    async fn let_go(&self, account_id: i64);
}

/// What this worker holds now, with each lease's epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub accounts: BTreeMap<i64, i64>,
    pub singletons: BTreeMap<&'static str, i64>,
}

/// This worker's leases, shared by everything that claims on their strength.
#[derive(Clone)]
pub struct Leases {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    /// `WORKER_ID`, as the operator named this worker.
    name: String,
    /// Unique to this process: the holder of its leases.
    instance: String,
    started_at: chrono::DateTime<chrono::Utc>,
    timing: Timing,
    held: watch::Sender<Held>,
    wake: Notify,
    /// What each singleton lease runs, fixed at start.
    singletons: RwLock<Vec<(&'static str, Arc<dyn Work>)>>,
    accounts: RwLock<Vec<Arc<dyn Work>>>,
}

impl Leases {
    pub fn new(db: DatabaseConnection, name: &str, timing: Timing) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Self {
            inner: Arc::new(Inner {
                db,
                name: name.to_owned(),
                instance: format!("{name}/{}", &suffix[..8]),
                started_at: chrono::Utc::now(),
                timing,
                held: watch::Sender::new(Held::default()),
                wake: Notify::new(),
                singletons: RwLock::default(),
                accounts: RwLock::default(),
            }),
        }
    }

    /// The holder name of this process's leases and claims.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn held(&self) -> Held {
        self.inner.held.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Held> {
        self.inner.held.subscribe()
    }

    pub fn holds(&self, account_id: i64) -> bool {
        self.inner.held.borrow().accounts.contains_key(&account_id)
    }

    pub fn accounts(&self) -> Vec<i64> {
        self.inner.held.borrow().accounts.keys().copied().collect()
    }

    /// The fence this worker's writes for `account_id` carry, while it holds the account.
    pub fn fence(&self, account_id: i64) -> Option<Fence> {
        let epoch = *self.inner.held.borrow().accounts.get(&account_id)?;
        Some(Fence {
            lease: rows::account(account_id),
            holder: self.inner.instance.clone(),
            epoch,
        })
    }

    /// Looks at the leases now rather than at the next renewal (a command names an account
    /// nobody holds yet).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// What taking and letting go of an account starts and stops, in the order to start them
    /// (they stop in reverse).
    pub fn run_accounts_with(&self, work: Vec<Arc<dyn Work>>) {
        *self
            .inner
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner) = work;
    }

    pub fn run_singleton_with(&self, lease: &'static str, work: Arc<dyn Work>) {
        self.inner
            .singletons
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((lease, work));
    }

    /// One look, then the keeper in the background until `stop` turns true. The first look is
    /// awaited, so a single worker starts with its accounts in hand.
    pub async fn keep(&self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let mut keeper = Keeper {
            leases: self.clone(),
            renewed_at: None,
        };
        if let Err(e) = keeper.look().await {
            tracing::warn!(error = %e, "looking at the leases failed");
        }
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(keeper.leases.inner.timing.renew_every) => {}
                    _ = keeper.leases.inner.wake.notified() => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                if let Err(e) = keeper.look().await {
                    tracing::warn!(error = %e, "renewing or taking leases failed");
                    keeper.give_up_if_stale().await;
                }
            }
        })
    }

    /// This worker stops: every lease is released and its row goes. Call once what the leases
    /// ran has stopped.
    pub async fn release_all(&self) {
        if let Err(e) = rows::worker_stopped(&self.inner.db, &self.inner.instance).await {
            tracing::warn!(error = %e, "releasing the leases failed; they expire on their own");
        }
        self.inner.held.send_replace(Held::default());
    }

    fn account_work(&self) -> Vec<Arc<dyn Work>> {
        self.inner
            .accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn singleton_work(&self, lease: &str) -> Option<Arc<dyn Work>> {
        self.inner
            .singletons
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(name, _)| *name == lease)
            .map(|(_, work)| work.clone())
    }
}

struct Keeper {
    leases: Leases,
    /// When the last renewal that succeeded was asked for.
    renewed_at: Option<Instant>,
}

impl Keeper {
    async fn look(&mut self) -> Result<(), sea_orm::DbErr> {
        let inner = &self.leases.inner;
        let db = &inner.db;
        rows::worker_seen(
            db,
            &inner.instance,
            &inner.name,
            runtime::build_info::VERSION,
            inner.started_at,
        )
        .await?;
        rows::keep_rows(db).await?;
        let asked = Instant::now();
        let renewed: BTreeMap<String, i64> = rows::renew(db, &inner.instance, inner.timing)
            .await?
            .into_iter()
            .collect();
        self.renewed_at = Some(asked);
        self.lose_what_was_not_renewed(&renewed).await;

        for (lease, _) in self.singletons() {
            if self.leases.held().singletons.contains_key(lease) {
                continue;
            }
            if let Some(epoch) = rows::acquire(db, lease, &inner.instance, inner.timing).await? {
                tracing::info!(lease, epoch, "took a singleton lease");
                inner.held.send_modify(|h| {
                    h.singletons.insert(lease, epoch);
                });
                if let Some(work) = self.leases.singleton_work(lease) {
                    work.take(0).await;
                }
            }
        }

        let share = rows::fair_share(db, inner.timing).await? as usize;
        let held = self.leases.held().accounts.len();
        if held < share {
            for name in rows::free_accounts(db, (share - held) as u64).await? {
                let Some(account_id) = name
                    .strip_prefix("account:")
                    .and_then(|id| id.parse::<i64>().ok())
                else {
                    continue;
                };
                if let Some(epoch) = rows::acquire(db, &name, &inner.instance, inner.timing).await?
                {
                    tracing::info!(account_id, epoch, "took the account's lease");
                    inner.held.send_modify(|h| {
                        h.accounts.insert(account_id, epoch);
                    });
                    for work in self.leases.account_work() {
                        work.take(account_id).await;
                    }
                }
            }
        } else if held > share {
            // Beyond the fair share (a peer joined): the newest accounts go first.
            let excess: Vec<(i64, i64)> = self
                .leases
                .held()
                .accounts
                .iter()
                .rev()
                .take(held - share)
                .map(|(&a, &e)| (a, e))
                .collect();
            for (account_id, epoch) in excess {
                self.let_go(account_id).await;
                rows::release(db, &rows::account(account_id), &inner.instance, epoch).await?;
                tracing::info!(account_id, "gave the account's lease up for a peer");
            }
        }
        Ok(())
    }

    fn singletons(&self) -> Vec<(&'static str, Arc<dyn Work>)> {
        self.leases
            .inner
            .singletons
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops what each lease no longer renewed ran: it expired, and a peer may hold it now.
    async fn lose_what_was_not_renewed(&self, renewed: &BTreeMap<String, i64>) {
        let held = self.leases.held();
        for (&account_id, &epoch) in &held.accounts {
            if renewed.get(&rows::account(account_id)) != Some(&epoch) {
                tracing::warn!(account_id, "lost the account's lease");
                self.let_go(account_id).await;
            }
        }
        for (&lease, &epoch) in &held.singletons {
            if renewed.get(lease) != Some(&epoch) {
                tracing::warn!(lease, "lost a singleton lease");
                self.let_go_singleton(lease).await;
            }
        }
    }

    /// The database cannot be reached: once the leases may be about to expire, everything they
    /// ran stops, so a peer taking them over never finds this worker still at it.
    async fn give_up_if_stale(&self) {
        let timing = self.leases.inner.timing;
        let margin = timing.ttl.saturating_sub(timing.renew_every * 2);
        if self.renewed_at.is_some_and(|at| at.elapsed() < margin) {
            return;
        }
        let held = self.leases.held();
        if held == Held::default() {
            return;
        }
        tracing::error!("cannot renew the leases; stopping what they ran");
        for account_id in held.accounts.keys().copied() {
            self.let_go(account_id).await;
        }
        for lease in held.singletons.keys().copied() {
            self.let_go_singleton(lease).await;
        }
    }

    /// Not this worker's any more: nothing claims on its strength from now, then what it ran
    /// stops, last started first.
    async fn let_go(&self, account_id: i64) {
        self.leases.inner.held.send_modify(|h| {
            h.accounts.remove(&account_id);
        });
        for work in self.leases.account_work().iter().rev() {
            work.let_go(account_id).await;
        }
    }

    async fn let_go_singleton(&self, lease: &'static str) {
        self.leases.inner.held.send_modify(|h| {
            h.singletons.remove(lease);
        });
        if let Some(work) = self.leases.singleton_work(lease) {
            work.let_go(0).await;
        }
    }
}

/// The default `WORKER_ID`: this host and process.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Production's lease timing.
pub fn timing(ttl_secs: u32) -> Timing {
    Timing::with_ttl(Duration::from_secs(ttl_secs.into()))
}
