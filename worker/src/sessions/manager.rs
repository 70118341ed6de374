//! The session manager: the one owner of every account's WhatsApp session in this worker.
//!
//! Commands, provider events and timers all arrive on channels and are handled one at a time, so no
//! two of them race over an account. Every session start gets a new generation, and an event whose
//! generation is not the account's live one is dropped: that is what makes a late close from a
//! replaced socket, or "Back then Pair again", harmless by construction (docs/architecture.md,
//! "Sessions").

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::{
    account::PhoneNumber,
    bus::{Command, Event},
    pairing::display_pair_code,
    status::{AccountStatus, Provider as ProviderKind},
};
use sea_orm::{DatabaseConnection, Set};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, timeout},
};

use super::{
    accounts::{AccountRows, PhoneHolder, clear_qr, reset_unpaired},
    groups,
};
use crate::{
    keys::{self, KeyStore},
    provider::{
        MessageId, OutgoingMessage, Provider, ProviderEvent, Session, SessionEvent, SessionKey,
        StartMode, sim::SimProvider,
    },
};

/// Why pairing stopped when the phone is already another operator's link; a sentence to show,
/// without a final period so it can be embedded.
const LINKED_BY_ANOTHER_OPERATOR: &str =
    "This phone is already linked to another operator's account";

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
}

/// The sessions that are connected now, for senders that must not queue behind the manager.
type Online = Arc<RwLock<HashMap<i64, Arc<dyn Session>>>>;

impl SessionsHandle {
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

enum Input {
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
}

impl Manager {
    /// Recovers what a previous run left (docs/architecture.md, "Sessions"), then runs until shut
    /// down.
    pub async fn spawn(
        db: DatabaseConnection,
        providers: Providers,
        settings: Settings,
    ) -> anyhow::Result<(SessionsHandle, tokio::task::JoinHandle<()>)> {
        let (inputs, input_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let mut manager = Manager {
            rows: AccountRows::new(db.clone()),
            db,
            providers,
            settings,
            live: HashMap::new(),
            down: HashMap::new(),
            inputs: inputs.clone(),
            events,
            online: Online::default(),
        };
        manager.recover().await?;
        let online = manager.online.clone();
        let task = tokio::spawn(manager.run(input_rx, event_rx));
        Ok((SessionsHandle { tx: inputs, online }, task))
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

    /// Pending rows left by a crash become unpaired; accounts with credentials reconnect.
    async fn recover(&mut self) -> anyhow::Result<()> {
        for row in self.rows.with_status(AccountStatus::Pending).await? {
            KeyStore::new(self.db.clone(), row.id).wipe().await?;
            self.reset_with_error(
                row.id,
                "Pairing was interrupted by a restart; pair again.".into(),
            )
            .await?;
            tracing::info!(account_id = row.id, "interrupted pairing reset");
        }
        for account_id in keys::accounts_with_credentials(&self.db).await? {
            let Some(row) = self.rows.get(account_id).await? else {
                // Deleted while the worker was down: its delete command cleans up.
                continue;
            };
            if matches!(
                row.status,
                AccountStatus::Connected | AccountStatus::Disconnected
            ) {
                tracing::info!(account_id, "resuming session");
                self.resume(account_id).await?;
            }
        }
        Ok(())
    }

    async fn on_input(&mut self, input: Input) {
        match input {
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
                    && !self.live.contains_key(&account_id);
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
            | Command::CancelRun { .. } => {
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

    /// Pair / Re-pair: a fresh key store, a new generation, QR codes — and with `phone`, a code
    /// to type on that phone as well.
    async fn pair(&mut self, account_id: i64, phone: Option<PhoneNumber>) -> anyhow::Result<()> {
        let Some(row) = self.rows.get(account_id).await? else {
            return Ok(());
        };
        self.stop_live(account_id).await;
        self.down.remove(&account_id);
        let keys = KeyStore::new(self.db.clone(), account_id);
        keys.wipe().await?;
        let generation = row.session_generation + 1;
        self.rows
            .update(
                account_id,
                |a| {
                    reset_unpaired(a, None);
                    a.status = Set(AccountStatus::Pending);
                    a.session_generation = Set(generation);
                },
                Some(Event::Pending {
                    account_id,
                    generation,
                }),
            )
            .await?;
        let key = SessionKey {
            account_id,
            generation,
        };
        match self.start(&row, key, StartMode::Pair { phone }, keys).await {
            Ok(()) => {
                self.after(self.settings.pair_window, Input::PairDeadline(key));
            }
            Err(message) => {
                tracing::warn!(account_id, %message, "pairing could not start");
                self.reset_with_error(account_id, message).await?;
            }
        }
        Ok(())
    }

    /// Unpair: unlink the device on WhatsApp's side, wipe the keys, keep the row. Never writes
    /// `disconnected` and never schedules a reconnect.
    async fn unpair(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.down.remove(&account_id);
        let unlinked = self.log_out(account_id).await;
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        let reason = unlinked.err().map(|e| {
            format!(
                "Herald could not reach WhatsApp to unlink this device ({e}); \
                 remove it on the phone under Linked devices."
            )
        });
        self.rows
            .update(
                account_id,
                |a| reset_unpaired(a, reason),
                Some(Event::Unpaired { account_id }),
            )
            .await?;
        Ok(())
    }

    /// After a delete (the row is already gone): unlink the device, then wipe its keys.
    async fn forget(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.down.remove(&account_id);
        if let Err(e) = self.log_out(account_id).await {
            tracing::warn!(account_id, error = %e, "could not unlink a deleted account's device");
        }
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        Ok(())
    }

    /// Logs the account's device out on WhatsApp's side, before its keys are wiped: through the
    /// live session, or by briefly connecting with the stored credentials.
    async fn log_out(&mut self, account_id: i64) -> Result<(), String> {
        let limit = self.settings.logout_connect_timeout;
        self.set_online(account_id, None);
        if let Some(live) = self.live.remove(&account_id) {
            return match timeout(limit, live.session.logout()).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => {
                    live.session.stop().await;
                    Err("WhatsApp did not answer".into())
                }
            };
        }
        let keys = KeyStore::new(self.db.clone(), account_id);
        let Some(kind) = keys.provider().await.map_err(|e| e.to_string())? else {
            return Ok(()); // never linked: nothing to unlink
        };
        let provider = self.providers.get(kind);
        // A private channel: this session's events concern nobody else.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let key = SessionKey {
            account_id,
            generation: 0,
        };
        let session = provider
            .start(key, StartMode::Resume, keys, tx)
            .await
            .map_err(|e| e.to_string())?;
        let connected = timeout(limit, async {
            while let Some(event) = rx.recv().await {
                match event.event {
                    SessionEvent::Connected { .. } => return Ok(()),
                    SessionEvent::LoggedOut { .. } => return Err("already logged out"),
                    SessionEvent::Banned { .. } | SessionEvent::Failed { .. } => {
                        return Err("WhatsApp refused the connection");
                    }
                    _ => {}
                }
            }
            Err("the session ended")
        })
        .await;
        let result = match connected {
            Ok(Ok(())) => session.logout().await.map_err(|e| e.to_string()),
            // The phone already dropped the device: nothing left to unlink.
            Ok(Err("already logged out")) => Ok(()),
            Ok(Err(e)) => Err(e.to_owned()),
            Err(_) => Err("WhatsApp did not answer".to_owned()),
        };
        session.stop().await;
        result
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

    async fn on_event(
        &mut self,
        ProviderEvent { key, event }: ProviderEvent,
    ) -> anyhow::Result<()> {
        let account_id = key.account_id;
        let Some(live) = self
            .live
            .get_mut(&account_id)
            .filter(|l| l.generation == key.generation)
        else {
            tracing::debug!(
                account_id,
                generation = key.generation,
                ?event,
                "stale session event ignored"
            );
            return Ok(());
        };
        match event {
            // A code or an expiry racing with a scan must not undo it: once scanned, only the
            // login (or its failure) decides.
            SessionEvent::Qr { .. } | SessionEvent::PairCode { .. } | SessionEvent::QrExhausted
                if live.stage != Stage::Pairing =>
            {
                tracing::debug!(account_id, "code event after the scan ignored");
            }
            SessionEvent::Qr { code, valid_for } => {
                live.qr_seq += 1;
                let seq = live.qr_seq;
                let png = service::qr::png(&code)?;
                let expires_at = Utc::now() + valid_for;
                self.rows
                    .update(
                        account_id,
                        |a| {
                            a.last_qr_png = Set(Some(png));
                            a.last_qr_code = Set(Some(code));
                            a.last_qr_at = Set(Some(Utc::now()));
                        },
                        Some(Event::Qr {
                            account_id,
                            generation: key.generation,
                            seq,
                            expires_at,
                        }),
                    )
                    .await?;
            }
            SessionEvent::PairCode { code, valid_for } => {
                let code = display_pair_code(&code);
                let expires_at = Utc::now() + valid_for;
                tracing::info!(account_id, "pairing code to type on the phone issued");
                self.rows
                    .update(
                        account_id,
                        {
                            let code = code.clone();
                            move |a| a.last_pair_code = Set(Some(code))
                        },
                        Some(Event::PairCode {
                            account_id,
                            generation: key.generation,
                            code,
                            expires_at,
                        }),
                    )
                    .await?;
            }
            SessionEvent::QrExhausted => self.pairing_timed_out(account_id).await?,
            SessionEvent::PairSuccess { phone } => {
                live.stage = Stage::Linking;
                tracing::info!(account_id, "pairing scanned; waiting for the login");
                self.rows
                    .update(
                        account_id,
                        |a| {
                            clear_qr(a);
                            a.phone_number = Set(Some(phone));
                        },
                        Some(Event::Paired {
                            account_id,
                            generation: key.generation,
                        }),
                    )
                    .await?;
            }
            SessionEvent::Connected { phone } => self.connected(account_id, phone).await?,
            SessionEvent::Disconnected { reason } => self.dropped(account_id, reason).await?,
            SessionEvent::LoggedOut { reason } => {
                let stage = live.stage;
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                KeyStore::new(self.db.clone(), account_id).wipe().await?;
                if matches!(stage, Stage::Pairing | Stage::Linking) {
                    self.pairing_failed(account_id, reason).await?;
                } else {
                    tracing::warn!(account_id, %reason, "account logged out");
                    self.rows
                        .update(
                            account_id,
                            {
                                let reason = reason.clone();
                                move |a| {
                                    a.status = Set(AccountStatus::LoggedOut);
                                    a.status_reason = Set(Some(reason));
                                }
                            },
                            Some(Event::LoggedOut { account_id, reason }),
                        )
                        .await?;
                }
            }
            SessionEvent::Banned { reason, until } => {
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                tracing::error!(account_id, %reason, "account banned");
                self.rows
                    .update(
                        account_id,
                        {
                            let reason = reason.clone();
                            move |a| {
                                a.status = Set(AccountStatus::Banned);
                                a.status_reason = Set(Some(reason));
                                clear_qr(a);
                            }
                        },
                        Some(Event::Banned {
                            account_id,
                            reason,
                            until,
                        }),
                    )
                    .await?;
            }
            SessionEvent::Failed { reason } => {
                let stage = live.stage;
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                if matches!(stage, Stage::Pairing | Stage::Linking) {
                    KeyStore::new(self.db.clone(), account_id).wipe().await?;
                    self.pairing_failed(account_id, reason).await?;
                } else {
                    tracing::error!(account_id, %reason, "connecting failed; not retrying");
                    self.rows
                        .update(
                            account_id,
                            {
                                let reason = reason.clone();
                                move |a| {
                                    a.status = Set(AccountStatus::Disconnected);
                                    a.status_reason = Set(Some(reason));
                                }
                            },
                            Some(Event::Error {
                                account_id,
                                message: reason,
                            }),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn connected(&mut self, account_id: i64, phone: String) -> anyhow::Result<()> {
        if let Some(holder) = self.rows.holder_of_phone(&phone, account_id).await? {
            // The phone is someone else's link already: undo this one, keep theirs.
            let existing = match &holder {
                PhoneHolder::Own { account_id, .. } | PhoneHolder::OtherOperator { account_id } => {
                    *account_id
                }
            };
            tracing::warn!(
                account_id,
                existing,
                "phone already linked to another account"
            );
            if let Err(e) = self.log_out(account_id).await {
                tracing::warn!(account_id, error = %e, "could not unlink the duplicate device");
            }
            KeyStore::new(self.db.clone(), account_id).wipe().await?;
            let (reason, event) = match holder {
                PhoneHolder::Own { label, .. } => (
                    format!("This phone is already linked to “{label}”."),
                    Event::Duplicate {
                        account_id,
                        phone,
                        existing_account_id: existing,
                        existing_label: label,
                    },
                ),
                // Neither the label nor the id of another operator's account reaches this one.
                PhoneHolder::OtherOperator { .. } => (
                    format!("{LINKED_BY_ANOTHER_OPERATOR}."),
                    Event::Error {
                        account_id,
                        message: LINKED_BY_ANOTHER_OPERATOR.to_owned(),
                    },
                ),
            };
            self.rows
                .update(account_id, |a| reset_unpaired(a, Some(reason)), Some(event))
                .await?;
            return Ok(());
        }
        let Some(live) = self.live.get_mut(&account_id) else {
            return Ok(());
        };
        live.stage = Stage::Connected;
        live.last_sync = Some(Instant::now());
        let (operator_id, session) = (live.operator_id, live.session.clone());
        self.set_online(account_id, Some(session.clone()));
        if self.down.remove(&account_id).is_some() {
            tracing::info!(account_id, "reconnected");
        }
        let now = Utc::now();
        self.rows
            .update(
                account_id,
                |a| {
                    a.status = Set(AccountStatus::Connected);
                    a.status_reason = Set(None);
                    a.phone_number = Set(Some(phone.clone()));
                    a.last_connected_at = Set(Some(now));
                    a.last_seen_at = Set(Some(now));
                    clear_qr(a);
                },
                Some(Event::Connected {
                    account_id,
                    phone: phone.clone(),
                }),
            )
            .await?;
        self.spawn_sync(operator_id, account_id, session);
        Ok(())
    }

    /// An unexpected drop. During a first pairing it ends the pairing (no reconnect loop before
    /// the account ever worked); otherwise the account reconnects with backoff.
    async fn dropped(&mut self, account_id: i64, reason: String) -> anyhow::Result<()> {
        let Some(stage) = self.live.get(&account_id).map(|l| l.stage) else {
            return Ok(());
        };
        self.stop_live(account_id).await;
        if matches!(stage, Stage::Pairing | Stage::Linking) {
            KeyStore::new(self.db.clone(), account_id).wipe().await?;
            return self.pairing_failed(account_id, reason).await;
        }
        self.retry_later(account_id, reason).await
    }

    /// Marks the account disconnected and schedules the next reconnect attempt.
    async fn retry_later(&mut self, account_id: i64, reason: String) -> anyhow::Result<()> {
        let down = self.down.entry(account_id).or_insert(Down {
            since: Utc::now(),
            attempt: 0,
            alerted: false,
        });
        down.attempt += 1;
        let attempt = down.attempt;
        let delay = backoff(&self.settings, attempt);
        tracing::warn!(account_id, %reason, attempt, retry_in_ms = delay.as_millis() as u64, "connection dropped");
        self.rows
            .update(
                account_id,
                {
                    let reason = reason.clone();
                    move |a| {
                        a.status = Set(AccountStatus::Disconnected);
                        a.status_reason = Set(Some(reason));
                    }
                },
                Some(Event::Disconnected { account_id, reason }),
            )
            .await?;
        self.after(
            delay,
            Input::Reconnect {
                account_id,
                attempt,
            },
        );
        Ok(())
    }

    /// Starts `key`'s session on the account's provider and makes it the live one.
    async fn start(
        &mut self,
        row: &entity::whatsapp_accounts::Model,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
    ) -> Result<(), String> {
        let provider = self.providers.get(row.provider);
        let stage = match mode {
            StartMode::Pair { .. } => Stage::Pairing,
            StartMode::Resume => Stage::Resuming,
        };
        let session = provider
            .start(key, mode, keys, self.events.clone())
            .await
            .map_err(|e| e.to_string())?;
        self.live.insert(
            key.account_id,
            Live {
                generation: key.generation,
                operator_id: row.operator_id,
                label: row.label.clone(),
                session: Arc::from(session),
                stage,
                qr_seq: 0,
                last_sync: None,
            },
        );
        Ok(())
    }

    /// Connects with stored credentials under a new generation.
    async fn resume(&mut self, account_id: i64) -> anyhow::Result<()> {
        let Some(row) = self.rows.next_generation(account_id).await? else {
            self.down.remove(&account_id);
            return Ok(());
        };
        let key = SessionKey {
            account_id,
            generation: row.session_generation,
        };
        let keys = KeyStore::new(self.db.clone(), account_id);
        if let Err(message) = self.start(&row, key, StartMode::Resume, keys).await {
            // Counts as a failed attempt: the same backoff applies.
            self.retry_later(account_id, message).await?;
        }
        Ok(())
    }

    async fn pairing_timed_out(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.stop_live(account_id).await;
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        tracing::info!(account_id, "pairing timed out");
        self.rows
            .update(
                account_id,
                |a| reset_unpaired(a, Some("Pairing timed out: no QR code was scanned.".into())),
                Some(Event::Timeout { account_id }),
            )
            .await?;
        Ok(())
    }

    async fn pairing_failed(&mut self, account_id: i64, reason: String) -> anyhow::Result<()> {
        let message = format!("Pairing failed: {reason}");
        tracing::warn!(account_id, %message);
        self.reset_with_error(account_id, message).await
    }

    /// Back to `unpaired`, with `message` on the row and in a `session.error` event.
    async fn reset_with_error(&self, account_id: i64, message: String) -> anyhow::Result<()> {
        let reason = message.clone();
        self.rows
            .update(
                account_id,
                move |a| reset_unpaired(a, Some(reason)),
                Some(Event::Error {
                    account_id,
                    message,
                }),
            )
            .await?;
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

    /// Stops the account's live session, if any. Intentional: nothing is written.
    async fn stop_live(&mut self, account_id: i64) {
        self.set_online(account_id, None);
        if let Some(live) = self.live.remove(&account_id) {
            tracing::debug!(account_id, generation = live.generation, label = %live.label, "stopping session");
            live.session.stop().await;
        }
    }

    fn set_online(&self, account_id: i64, session: Option<Arc<dyn Session>>) {
        let mut online = self.online.write().unwrap_or_else(PoisonError::into_inner);
        match session {
            Some(session) => online.insert(account_id, session),
            None => online.remove(&account_id),
        };
    }

    async fn stop_all(&mut self) {
        self.online
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for (_, live) in self.live.drain() {
            live.session.stop().await;
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

/// `reconnect_base × 2^(attempt-1)`, capped, with ±20 % jitter so many accounts dropped together
/// do not reconnect in lockstep.
fn backoff(settings: &Settings, attempt: u32) -> Duration {
    let exp = settings
        .reconnect_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(settings.reconnect_max);
    let jitter = f64::from(getrandom::u32().unwrap_or(0) % 401) / 1000.0 + 0.8;
    exp.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let settings = Settings::default();
        for attempt in 1..=12 {
            let exp = (2u64 << (attempt - 1)).min(300) as f64;
            let d = backoff(&settings, attempt).as_secs_f64();
            assert!(
                d >= exp * 0.8 - 1e-9 && d <= exp * 1.2 + 1e-9,
                "attempt {attempt}: {d}"
            );
        }
    }
}
