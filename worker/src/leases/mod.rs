//! This worker's leases (`service::leases`): which accounts it runs, and whether it runs the
//! Telegram bot and maintenance.
//!
//! Two tasks keep them, so that nothing slow can delay a renewal:
//! - the **renewer** renews exactly what this worker runs, every fifth of the lease lifetime,
//!   and drops from it at once what was not renewed (lapsed, maybe taken over). Should the
//!   database not answer until the leases could lapse under it, it drops everything: from then
//!   on this worker claims nothing on their strength, and the balancer stops what they ran.
//! - the **balancer** stops what a dropped lease ran, takes a fair share of the accounts nobody
//!   holds, gives up what is beyond its share so a new peer gets some, releases any lease the
//!   rows give this worker that it does not run, and (re)starts the singleton jobs it holds.
//!
//! A lease also lapses by this process's own clock ([`Deadlines`]): a worker paused past its
//! leases (SIGSTOP, a frozen VM) wakes up holding nothing, before its renewer has even asked the
//! database, so a session that was about to connect when it froze does not connect in a
//! successor's place.
//!
//! What a lease runs is handed over in an order that never lets two workers run one account:
//! a worker gives an account up by dropping it (no new claim), letting the send under way
//! finish, stopping its session, and only then releasing the lease; a peer starts the account
//! only once the lease is its own.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

mod deadlines;

use async_trait::async_trait;
use futures_util::future::join_all;
use sea_orm::{DatabaseConnection, DbErr};
use service::leases::{self as rows, Fence, Timing};

use self::deadlines::Deadlines;
use tokio::{
    sync::{Notify, watch},
    time::{Instant, timeout},
};

/// Something a lease runs: an account's session or sends, or a singleton job. `take` starts
/// it (again, if it stopped: it must do nothing when it runs); `let_go` stops it and returns
/// once it has stopped.
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

impl Held {
    fn pairs(&self) -> Vec<(String, i64)> {
        let accounts = self.accounts.iter().map(|(&a, &e)| (rows::account(a), e));
        let singletons = self.singletons.iter().map(|(&s, &e)| (s.to_owned(), e));
        accounts.chain(singletons).collect()
    }
}

/// A lease dropped from [`Held`] whose work has not been stopped yet.
enum Dropped {
    Account(i64),
    Singleton(&'static str),
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
    /// Unique to this process: the holder of its leases and claims.
    instance: String,
    started_at: chrono::DateTime<chrono::Utc>,
    timing: Timing,
    held: watch::Sender<Held>,
    deadlines: Mutex<Deadlines>,
    /// Dropped by the renewer, for the balancer to stop.
    dropped: Mutex<Vec<Dropped>>,
    wake: Notify,
    /// Set while shutting down: leases are still renewed, none is taken or given.
    draining: watch::Sender<bool>,
    /// Held through each of the balancer's looks, so a drain starts between two.
    looking: tokio::sync::Mutex<()>,
    /// Ends both tasks.
    stopped: watch::Sender<bool>,
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
                deadlines: Mutex::new(Deadlines::new(timing)),
                dropped: Mutex::default(),
                wake: Notify::new(),
                draining: watch::Sender::new(false),
                looking: tokio::sync::Mutex::default(),
                stopped: watch::Sender::new(false),
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

    /// Whether this worker holds the account's lease, and it has not lapsed by this process's
    /// clock.
    pub fn holds(&self, account_id: i64) -> bool {
        self.inner.held.borrow().accounts.contains_key(&account_id)
            && self.current(&rows::account(account_id))
    }

    fn current(&self, lease: &str) -> bool {
        self.inner
            .deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current(lease, Instant::now())
    }

    fn kept(&self, leases: impl IntoIterator<Item = String>, asked: Instant) {
        let mut deadlines = self
            .inner
            .deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for lease in leases {
            deadlines.kept(lease, asked);
        }
    }

    pub fn accounts(&self) -> Vec<i64> {
        self.inner.held.borrow().accounts.keys().copied().collect()
    }

    /// The fence this worker's writes for `account_id` carry, while it holds the account.
    pub fn fence(&self, account_id: i64) -> Option<Fence> {
        let epoch = *self.inner.held.borrow().accounts.get(&account_id)?;
        let lease = rows::account(account_id);
        self.current(&lease).then_some(Fence {
            lease,
            holder: self.inner.instance.clone(),
            epoch,
        })
    }

    /// The fence of a singleton lease, while this worker holds it.
    pub fn singleton_fence(&self, lease: &'static str) -> Option<Fence> {
        let epoch = *self.inner.held.borrow().singletons.get(lease)?;
        self.current(lease).then_some(Fence {
            lease: lease.to_owned(),
            holder: self.inner.instance.clone(),
            epoch,
        })
    }

    /// Looks at the leases soon rather than at the next renewal (a command names an account
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

    /// One look, awaited (so a single worker starts with its accounts in hand), then the
    /// renewer and the balancer in the background until [`Leases::release_all`].
    pub async fn keep(&self) {
        let balancer = Balancer {
            leases: self.clone(),
        };
        if let Err(e) = balancer.look().await {
            tracing::warn!(error = %e, "looking at the leases failed");
        }
        tokio::spawn(self.clone().renew_until_stopped());
        tokio::spawn(balancer.run());
    }

    /// Shutting down: the leases are still renewed while what they run stops, but none is
    /// taken or given up any more. The singleton jobs stop and their leases go at once, so a
    /// peer takes them over in moments.
    pub async fn drain(&self) {
        let _between_looks = self.inner.looking.lock().await;
        self.inner.draining.send_replace(true);
        let singletons = self.held().singletons;
        for (lease, epoch) in singletons {
            self.drop_singleton(lease);
            if let Some(work) = self.singleton_work(lease) {
                work.let_go(0).await;
            }
            if let Err(e) = rows::release(&self.inner.db, lease, self.instance(), epoch).await {
                tracing::warn!(lease, error = %e, "releasing a singleton lease failed");
            }
        }
    }

    /// This worker stops: renewals end, every lease is released and its row goes. Call once
    /// what the leases ran has stopped.
    pub async fn release_all(&self) {
        self.inner.stopped.send_replace(true);
        if let Err(e) = rows::worker_stopped(&self.inner.db, &self.inner.instance).await {
            tracing::warn!(error = %e, "releasing the leases failed; they lapse on their own");
        }
        self.inner.held.send_replace(Held::default());
    }

    /// Renews what this worker runs; drops what was not renewed, or everything once the
    /// leases could have lapsed without a renewal.
    async fn renew_until_stopped(self) {
        let timing = self.inner.timing;
        let mut stopped = self.inner.stopped.subscribe();
        let mut renewed_at = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(timing.renew_every) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let held = self.held().pairs();
            let asked = Instant::now();
            let renewal = rows::renew(&self.inner.db, &self.inner.instance, &held, timing);
            match timeout(timing.renew_every, renewal).await {
                Ok(Ok(renewed)) => {
                    renewed_at = asked;
                    self.kept(renewed.iter().map(|(lease, _)| lease.clone()), asked);
                    let lost: Vec<(String, i64)> =
                        held.into_iter().filter(|p| !renewed.contains(p)).collect();
                    for (lease, _) in lost {
                        tracing::warn!(lease, "lost a lease");
                        self.drop_named(&lease);
                    }
                }
                failed => {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "no answer in time".to_owned(),
                    };
                    tracing::warn!(%error, "renewing the leases failed");
                    // Stop before a peer could take them: two renewals' margin.
                    let deadline = timing.ttl.saturating_sub(timing.renew_every * 2);
                    if renewed_at.elapsed() >= deadline && !held.is_empty() {
                        tracing::error!("cannot renew the leases; stopping what they ran");
                        for (lease, _) in held {
                            self.drop_named(&lease);
                        }
                    }
                }
            }
        }
    }

    fn drop_named(&self, lease: &str) {
        match lease
            .strip_prefix("account:")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(account_id) => self.drop_account(account_id),
            None => {
                let known = self.held().singletons.keys().copied().find(|s| *s == lease);
                if let Some(singleton) = known {
                    self.drop_singleton(singleton);
                }
            }
        }
    }

    /// No longer this worker's: nothing claims on its strength from now; the balancer stops
    /// what it ran.
    fn drop_account(&self, account_id: i64) {
        let removed = self
            .inner
            .held
            .send_if_modified(|h| h.accounts.remove(&account_id).is_some());
        if removed {
            self.dropped().push(Dropped::Account(account_id));
            self.wake();
        }
    }

    fn drop_singleton(&self, lease: &'static str) {
        let removed = self
            .inner
            .held
            .send_if_modified(|h| h.singletons.remove(lease).is_some());
        if removed {
            self.dropped().push(Dropped::Singleton(lease));
            self.wake();
        }
    }

    fn dropped(&self) -> std::sync::MutexGuard<'_, Vec<Dropped>> {
        self.inner
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    fn singleton_names(&self) -> Vec<&'static str> {
        self.inner
            .singletons
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, _)| *name)
            .collect()
    }
}

impl crate::provider::Mandate for Leases {
    fn may_connect(&self, account_id: i64) -> bool {
        self.holds(account_id)
    }
}

/// Looks at most this often, however often it is woken.
const LOOK_AT_MOST_EVERY: Duration = Duration::from_millis(300);

struct Balancer {
    leases: Leases,
}

impl Balancer {
    async fn run(self) {
        let inner = &self.leases.inner;
        let mut stopped = inner.stopped.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(inner.timing.renew_every) => {}
                _ = inner.wake.notified() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if *stopped.borrow() {
                return;
            }
            if let Err(e) = self.look().await {
                tracing::warn!(error = %e, "taking or giving leases failed");
            }
            tokio::time::sleep(LOOK_AT_MOST_EVERY).await;
        }
    }

    async fn look(&self) -> Result<(), DbErr> {
        let _looking = self.leases.inner.looking.lock().await;
        self.stop_dropped().await;
        if *self.leases.inner.draining.borrow() {
            return Ok(());
        }
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
        let names: Vec<String> = self
            .leases
            .held()
            .pairs()
            .into_iter()
            .map(|p| p.0)
            .collect();
        let strays = rows::release_strays(db, &inner.instance, &names).await?;
        if strays > 0 {
            tracing::warn!(leases = strays, "released leases this worker does not run");
        }
        self.singletons().await?;
        self.fair_share().await
    }

    /// Stops what the leases the renewer dropped ran, all at once. A successor may run them
    /// already, so the session goes first here: the send under way, if any, is cut short (and
    /// recorded as such) rather than left to race the successor's connection.
    async fn stop_dropped(&self) {
        let dropped = std::mem::take(&mut *self.leases.dropped());
        let stops = dropped.into_iter().map(|d| async move {
            match d {
                Dropped::Account(account_id) => {
                    for work in self.leases.account_work() {
                        work.let_go(account_id).await;
                    }
                }
                Dropped::Singleton(lease) => {
                    if let Some(work) = self.leases.singleton_work(lease) {
                        work.let_go(0).await;
                    }
                }
            }
        });
        join_all(stops).await;
    }

    /// Takes each singleton that is free; (re)starts the ones held, should a start have failed.
    async fn singletons(&self) -> Result<(), DbErr> {
        let inner = &self.leases.inner;
        for lease in self.leases.singleton_names() {
            if !self.leases.held().singletons.contains_key(lease) {
                let asked = Instant::now();
                let Some(epoch) =
                    rows::acquire(&inner.db, lease, &inner.instance, inner.timing).await?
                else {
                    continue;
                };
                tracing::info!(lease, epoch, "took a singleton lease");
                self.leases.kept([lease.to_owned()], asked);
                inner.held.send_modify(|h| {
                    h.singletons.insert(lease, epoch);
                });
            }
            if let Some(work) = self.leases.singleton_work(lease) {
                work.take(0).await;
            }
        }
        Ok(())
    }

    async fn fair_share(&self) -> Result<(), DbErr> {
        let inner = &self.leases.inner;
        let db = &inner.db;
        let share = rows::fair_share(db, inner.timing).await? as usize;
        let held = self.leases.held().accounts;
        if held.len() < share {
            for name in rows::free_accounts(db, (share - held.len()) as u64).await? {
                let Some(account_id) = name
                    .strip_prefix("account:")
                    .and_then(|id| id.parse::<i64>().ok())
                else {
                    continue;
                };
                let asked = Instant::now();
                let Some(epoch) = rows::acquire(db, &name, &inner.instance, inner.timing).await?
                else {
                    continue;
                };
                tracing::info!(account_id, epoch, "took the account's lease");
                self.leases.kept([name], asked);
                inner.held.send_modify(|h| {
                    h.accounts.insert(account_id, epoch);
                });
                for work in self.leases.account_work() {
                    work.take(account_id).await;
                }
            }
        } else if held.len() > share {
            // Beyond the fair share (a peer joined): the oldest accounts go first, as the
            // newest may be being paired.
            let excess = held.len() - share;
            for (account_id, epoch) in held.into_iter().take(excess) {
                if !inner
                    .held
                    .send_if_modified(|h| h.accounts.remove(&account_id).is_some())
                {
                    continue;
                }
                self.let_go(account_id).await;
                rows::release(db, &rows::account(account_id), &inner.instance, epoch).await?;
                tracing::info!(account_id, "gave the account's lease up for a peer");
            }
        }
        Ok(())
    }

    /// Stops what the account ran, last started first.
    async fn let_go(&self, account_id: i64) {
        for work in self.leases.account_work().iter().rev() {
            work.let_go(account_id).await;
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
