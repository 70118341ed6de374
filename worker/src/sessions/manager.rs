//! The session manager: the one owner of every account's WhatsApp session in this worker.
//!
//! It runs the accounts this worker holds the lease of (`crate::leases`): an account taken starts
//! (resumed, or a pairing a dead holder left reset), an account let go stops without a write,
//! and what a session of an account no longer held reports is ignored. Its row writes carry the
//! lease's fence, so a worker that lost an account never changes its status.
//!
//! Commands, provider events and timers all arrive on channels and are handled one at a time, so no
//! two of them race over an account. Every session start gets a new generation, and an event whose
//! generation is not the account's live one is dropped: that is what makes a late close from a
//! replaced socket, or "Back then Pair again", harmless by construction (docs/architecture.md,
//! "Sessions").
//!
//! The manager's handlers live by concern in its submodules, all methods of the one actor:
//! `pairing` (linking and unlinking a device), `lifecycle` (starting, resuming, reconnecting with
//! backoff after a drop, stopping) and `events` (what a session reports).

mod events;
mod lifecycle;
mod pairing;

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::{
    bus::{Command, Event},
    status::Provider as ProviderKind,
};
use keystore::KeyStore;
use sea_orm::DatabaseConnection;
use tokio::{
    sync::{mpsc, oneshot, watch},
    time::Instant,
};

use service::accounts::session_state::AccountRows;

use super::groups;
use crate::{
    leases::{Leases, Work},
    provider::{
        MessageId, OutgoingMessage, Provider, ProviderEvent, Session, SessionKey, sim::SimProvider,
    },
};

/// Timings of the session rules; the defaults are production's.
#[derive(Clone, Debug)]
pub struct Settings {
    /// First reconnect delay after a drop; doubles per failed attempt up to `reconnect_max`.
    pub reconnect_base: Duration,
    pub reconnect_max: Duration,
    /// A connected account down this long raises an alert.
    pub down_alert_after: Duration,
    pub group_sync_every: Duration,
    /// A pairing that has neither succeeded nor been reported exhausted by then is abandoned.
    pub pair_window: Duration,
    /// How long an unpair may wait to reconnect an offline account in order to unlink it.
    pub logout_connect_timeout: Duration,
    /// How often timers (alerts, periodic sync, last-seen) are checked.
    pub tick: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reconnect_base: Duration::from_secs(2),
            reconnect_max: Duration::from_secs(300),
            down_alert_after: Duration::from_secs(300),
            group_sync_every: Duration::from_secs(3 * 3600),
            pair_window: Duration::from_secs(300),
            logout_connect_timeout: Duration::from_secs(20),
            tick: Duration::from_secs(5),
        }
    }
}

/// The WhatsApp implementations this worker can run.
#[derive(Clone)]
pub struct Providers {
    pub sim: Arc<SimProvider>,
    pub web: Arc<dyn Provider>,
}

impl Providers {
    fn get(&self, kind: ProviderKind) -> Arc<dyn Provider> {
        match kind {
            ProviderKind::Sim => self.sim.clone(),
            ProviderKind::Web => self.web.clone(),
        }
    }
}

/// How the rest of the worker talks to the manager.
#[derive(Clone)]
pub struct SessionsHandle {
    tx: mpsc::UnboundedSender<Input>,
    online: Online,
    connects: watch::Receiver<u64>,
}

/// The sessions that are connected now, for senders that must not queue behind the manager.
type Online = Arc<RwLock<HashMap<i64, Arc<dyn Session>>>>;

impl SessionsHandle {
    /// Changes each time a session connects, so runs waiting for their account go on at once.
    pub fn connects(&self) -> watch::Receiver<u64> {
        self.connects.clone()
    }

    /// The account's session if it is connected.
    pub fn connected(&self, account_id: i64) -> Option<Arc<dyn Session>> {
        self.online
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&account_id)
            .cloned()
    }

    /// Runs `command`, row `id` of the bus, and reports how it went (`Err` holds the reason, for
    /// the command row). What it sends is named after `id`, so running it again (a replay after
    /// a crash) sends nothing new.
    pub async fn execute(&self, id: i64, command: Command) -> Result<(), String> {
        let (done, result) = oneshot::channel();
        self.tx
            .send(Input::Command { id, command, done })
            .map_err(|_| "the session manager has stopped".to_owned())?;
        result
            .await
            .map_err(|_| "the session manager has stopped".to_owned())?
    }

    /// Stops every session (without logging out or marking anything disconnected) and waits.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.tx.send(Input::Shutdown(done)).is_ok() {
            let _ = stopped.await;
        }
    }
}

#[async_trait::async_trait]
impl Work for SessionsHandle {
    /// Returns once the account is recovered and its session (if it has one) is starting.
    async fn take(&self, account_id: i64) {
        let (done, started) = oneshot::channel();
        if self.tx.send(Input::Take(account_id, done)).is_ok() {
            let _ = started.await;
        }
    }

    async fn let_go(&self, account_id: i64) {
        let (done, stopped) = oneshot::channel();
        if self.tx.send(Input::LetGo(account_id, done)).is_ok() {
            let _ = stopped.await;
        }
    }
}

enum Input {
    /// The account's lease is this worker's now.
    Take(i64, oneshot::Sender<()>),
    /// The account's lease is no longer this worker's: stop its session, write nothing.
    LetGo(i64, oneshot::Sender<()>),
    Command {
        id: i64,
        command: Command,
        done: oneshot::Sender<Result<(), String>>,
    },
    Reconnect {
        account_id: i64,
        attempt: u32,
    },
    PairDeadline(SessionKey),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Showing QR codes.
    Pairing,
    /// Scanned; waiting for the post-515 login.
    Linking,
    /// Connecting with stored credentials.
    Resuming,
    Connected,
}

struct Live {
    generation: i64,
    operator_id: i64,
    label: String,
    session: Arc<dyn Session>,
    /// The session's key store, closed once the session is stopped.
    keys: KeyStore,
    stage: Stage,
    qr_seq: u32,
    last_sync: Option<Instant>,
}

/// An account that was connected and dropped.
struct Down {
    since: DateTime<Utc>,
    attempt: u32,
    alerted: bool,
}

pub struct Manager {
    db: DatabaseConnection,
    rows: AccountRows,
    providers: Providers,
    settings: Settings,
    live: HashMap<i64, Live>,
    down: HashMap<i64, Down>,
    inputs: mpsc::UnboundedSender<Input>,
    events: mpsc::UnboundedSender<ProviderEvent>,
    online: Online,
    connects: watch::Sender<u64>,
    leases: Leases,
}
impl Manager {
    /// Runs until shut down. It starts with no account: each arrives as its lease is taken
    /// ([`Work::take`]), and what a previous run left is recovered then (docs/architecture.md,
    /// "Sessions").
    pub fn spawn(
        db: DatabaseConnection,
        providers: Providers,
        settings: Settings,
        leases: Leases,
    ) -> (SessionsHandle, tokio::task::JoinHandle<()>) {
        let (inputs, input_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let fences = {
            let leases = leases.clone();
            Arc::new(move |account_id| leases.fence(account_id))
        };
        let manager = Manager {
            rows: AccountRows::new(db.clone(), fences),
            leases,
            db,
            providers,
            settings,
            live: HashMap::new(),
            down: HashMap::new(),
            inputs: inputs.clone(),
            events,
            online: Online::default(),
            connects: watch::Sender::new(0),
        };
        let online = manager.online.clone();
        let connects = manager.connects.subscribe();
        let task = tokio::spawn(manager.run(input_rx, event_rx));
        let handle = SessionsHandle {
            tx: inputs,
            online,
            connects,
        };
        (handle, task)
    }

    async fn run(
        mut self,
        mut inputs: mpsc::UnboundedReceiver<Input>,
        mut events: mpsc::UnboundedReceiver<ProviderEvent>,
    ) {
        let mut tick = tokio::time::interval(self.settings.tick);
        let mut last_touch = Instant::now();
        loop {
            tokio::select! {
                // Provider events first: a command then sees every state change reported before it.
                biased;
                Some(event) = events.recv() => {
                    let account_id = event.key.account_id;
                    if let Err(e) = self.on_event(event).await {
                        tracing::error!(account_id, error = %e, "handling a session event failed");
                    }
                }
                input = inputs.recv() => match input {
                    Some(Input::Shutdown(done)) => {
                        self.stop_all().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(input) => self.on_input(input).await,
                    None => return,
                },
                _ = tick.tick() => {
                    self.on_tick(&mut last_touch).await;
                }
            }
        }
    }

    async fn on_input(&mut self, input: Input) {
        match input {
            Input::Take(account_id, done) => {
                if self.leases.holds(account_id)
                    && let Err(e) = self.recover(account_id).await
                {
                    tracing::error!(account_id, error = %e, "starting a taken account failed");
                }
                let _ = done.send(());
            }
            Input::LetGo(account_id, done) => {
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                let _ = done.send(());
            }
            Input::Command { id, command, done } => {
                let result = self.on_command(id, command).await;
                let _ = done.send(result);
            }
            Input::Reconnect {
                account_id,
                attempt,
            } => {
                let due = self
                    .down
                    .get(&account_id)
                    .is_some_and(|d| d.attempt == attempt)
                    && !self.live.contains_key(&account_id)
                    && self.leases.holds(account_id);
                if due && let Err(e) = self.resume(account_id).await {
                    tracing::error!(account_id, error = %e, "reconnecting failed");
                }
            }
            Input::PairDeadline(key) => {
                let pairing = self
                    .live
                    .get(&key.account_id)
                    .is_some_and(|l| l.generation == key.generation && l.stage == Stage::Pairing);
                if pairing && let Err(e) = self.pairing_timed_out(key.account_id).await {
                    tracing::error!(account_id = key.account_id, error = %e, "ending a pairing failed");
                }
            }
            Input::Shutdown(_) => unreachable!("handled by the loop"),
        }
    }

    async fn on_command(&mut self, id: i64, command: Command) -> Result<(), String> {
        let account_id = command.account_id();
        let outcome = match command {
            Command::Pair { phone, .. } => self.pair(account_id, phone).await,
            Command::Unpair { .. } => self.unpair(account_id).await,
            Command::Delete { .. } => self.forget(account_id).await,
            Command::SyncGroups { .. } => self.sync_groups(account_id).await,
            Command::SendTest {
                group_id,
                request_id,
                text,
                ..
            } => {
                let message_id = MessageId::for_command(id);
                self.send_test(account_id, group_id, request_id, text, message_id)
                    .await
            }
            Command::ReminderChanged { .. }
            | Command::ResumeRun { .. }
            | Command::CancelRun { .. }
            | Command::RetryRun { .. } => {
                return Err("delivery commands are not the session manager's".to_owned());
            }
            Command::SimScan { phone, .. } => {
                return self
                    .providers
                    .sim
                    .scan(account_id, phone)
                    .map_err(|e| e.to_string());
            }
        };
        outcome.map_err(|e| {
            tracing::error!(account_id, error = %e, "command failed");
            e.to_string()
        })
    }

    async fn sync_groups(&mut self, account_id: i64) -> anyhow::Result<()> {
        let Some(live) = self
            .live
            .get_mut(&account_id)
            .filter(|l| l.stage == Stage::Connected)
        else {
            anyhow::bail!("the account is not connected");
        };
        live.last_sync = Some(Instant::now());
        let listed = live.session.groups().await?;
        groups::store(&self.db, live.operator_id, account_id, listed).await?;
        Ok(())
    }

    /// Sends in the background as `message_id`; the outcome arrives as `send_test.done`.
    async fn send_test(
        &mut self,
        account_id: i64,
        group_id: i64,
        request_id: String,
        text: String,
        message_id: MessageId,
    ) -> anyhow::Result<()> {
        let Some(row) = self.rows.get(account_id).await? else {
            return Ok(());
        };
        let group = service::accounts::group(&self.db, account_id, group_id).await?;
        let session = self
            .live
            .get(&account_id)
            .filter(|l| l.stage == Stage::Connected)
            .map(|l| l.session.clone());
        let db = self.db.clone();
        tokio::spawn(async move {
            let error = match (group, session) {
                (None, _) => Some("That group is no longer listed for this account.".to_owned()),
                (_, None) => Some("The account is not connected.".to_owned()),
                (Some(group), Some(session)) => session
                    .send(&group.jid, &OutgoingMessage::Text(text), &message_id)
                    .await
                    .err()
                    .map(|e| e.to_string()),
            };
            let event = Event::SendTestDone {
                account_id,
                request_id,
                error,
            };
            if let Err(e) = service::bus::events::publish(&db, Some(row.operator_id), &event).await
            {
                tracing::error!(account_id, error = %e, "recording a test send failed");
            }
        });
        Ok(())
    }

    async fn on_tick(&mut self, last_touch: &mut Instant) {
        let now = Utc::now();
        let alert_after = chrono::Duration::from_std(self.settings.down_alert_after)
            .unwrap_or(chrono::Duration::MAX);
        let overdue: Vec<(i64, DateTime<Utc>)> = self
            .down
            .iter()
            .filter(|(_, d)| !d.alerted && now - d.since >= alert_after)
            .map(|(&id, d)| (id, d.since))
            .collect();
        for (account_id, since) in overdue {
            if let Err(e) = self.alert_down(account_id, since).await {
                tracing::error!(account_id, error = %e, "raising a down alert failed");
            }
        }
        let due: Vec<(i64, i64, Arc<dyn Session>)> = self
            .live
            .iter_mut()
            .filter(|(_, l)| {
                l.stage == Stage::Connected
                    && l.last_sync
                        .is_none_or(|t| t.elapsed() >= self.settings.group_sync_every)
            })
            .map(|(&id, l)| {
                l.last_sync = Some(Instant::now());
                (l.operator_id, id, l.session.clone())
            })
            .collect();
        for (operator_id, account_id, session) in due {
            self.spawn_sync(operator_id, account_id, session);
        }
        if last_touch.elapsed() >= Duration::from_secs(60) {
            *last_touch = Instant::now();
            let connected: Vec<i64> = self
                .live
                .iter()
                .filter(|(_, l)| l.stage == Stage::Connected)
                .map(|(&id, _)| id)
                .collect();
            if let Err(e) = self.rows.touch_seen(&connected).await {
                tracing::warn!(error = %e, "recording last-seen times failed");
            }
        }
    }

    async fn alert_down(&mut self, account_id: i64, since: DateTime<Utc>) -> anyhow::Result<()> {
        if let Some(down) = self.down.get_mut(&account_id) {
            down.alerted = true;
        }
        let Some(row) = self.rows.get(account_id).await? else {
            return Ok(());
        };
        tracing::error!(account_id, %since, "account down beyond the alert threshold");
        service::bus::events::publish(
            &self.db,
            Some(row.operator_id),
            &Event::AccountDown {
                account_id,
                label: row.label,
                since,
            },
        )
        .await?;
        Ok(())
    }

    fn spawn_sync(&self, operator_id: i64, account_id: i64, session: Arc<dyn Session>) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let result = match session.groups().await {
                Ok(listed) => groups::store(&db, operator_id, account_id, listed)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = result {
                tracing::warn!(account_id, error = %e, "group sync failed");
            }
        });
    }

    fn set_online(&self, account_id: i64, session: Option<Arc<dyn Session>>) {
        let mut online = self.online.write().unwrap_or_else(PoisonError::into_inner);
        let connected = session.is_some();
        match session {
            Some(session) => online.insert(account_id, session),
            None => online.remove(&account_id),
        };
        drop(online);
        if connected {
            self.connects.send_modify(|n| *n += 1);
        }
    }

    /// Delivers `input` to the manager after `delay`.
    fn after(&self, delay: Duration, input: Input) {
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = inputs.send(input);
        });
    }
}
