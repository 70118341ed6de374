//! One simulated session: its state machine, the task that drives it through pairing or
//! resuming, and its [`Session`] face.
//!
//! Every event is sent while holding the session's lock and only if the session has not
//! ended, so nothing follows a stop, a fault or an exhaustion except what is meant to: the late
//! "stream closed" after `stop()` and the `LoggedOut` after `logout()`, both for a generation
//! the manager has already let go of.

use keystore::KeyStore;
use std::{
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use domain::status::Provider as ProviderKind;
use tokio::{
    sync::{Notify, watch},
    time::{Instant, Sleep, sleep},
};

use super::{
    Sim, SimOp,
    connection::{self, Connection, Kept},
    credentials, groups, pair_code, qr_code,
};
use crate::provider::{
    EventSender, GroupInfo, MediaFile, MessageId, OutgoingMessage, ProviderError, ProviderEvent,
    SendError, SentMessage, Session, SessionEvent, SessionKey, UploadedMedia,
};

/// QR codes per pairing attempt, as WhatsApp hands out refs.
const QR_CODES: usize = 6;
const FIRST_QR: Duration = Duration::from_secs(60);
const NEXT_QR: Duration = Duration::from_secs(20);
/// How long a code for pairing by phone number lasts, as WhatsApp's does. One code per
/// pairing; the QR codes rotate beside it, and the pairing lasts until both have run out.
const PAIR_CODE: Duration = Duration::from_secs(180);
/// The silent 515 reconnect after a scan.
const RESTART_DELAY: Duration = Duration::from_millis(1500);
const CONNECT_DELAY: Duration = Duration::from_millis(500);
/// How late a stopped session's socket reports closing.
pub(super) const LATE_CLOSE: Duration = Duration::from_millis(50);

/// Where a session is.
pub(super) enum Phase {
    /// Pairing, before the first code is out.
    Starting,
    ShowingQr,
    /// A code was scanned; the task has yet to pick the phone up.
    Scanned {
        phone: String,
    },
    /// Credentials in hand, connecting (a resume, or the reconnect after a scan).
    Connecting {
        phone: String,
    },
    Connected {
        phone: String,
    },
    /// Stopped, logged out, dropped, banned or out of codes: reports nothing more.
    Ended,
}

struct Status {
    phase: Phase,
    stop_called: bool,
    logout_called: bool,
}

/// What a session's task, its `Session` handle and the provider share.
pub(super) struct SessionState {
    pub(super) key: SessionKey,
    connection: Connection,
    /// Pairing by phone number: the phone a code is shown for, which is then the phone that
    /// "enters" it (a scan without a phone of its own).
    pair_phone: Option<String>,
    events: EventSender,
    status: Mutex<Status>,
    /// Wakes the pairing loop when a code is scanned.
    scanned: Notify,
    /// Set once the session ends; the task stops at once.
    halt: watch::Sender<bool>,
    /// Set once the task is over, its connection let go.
    done: watch::Sender<bool>,
}

impl SessionState {
    pub(super) fn new(
        sim: &Sim,
        key: SessionKey,
        pair_phone: Option<String>,
        events: EventSender,
        phase: Phase,
    ) -> Self {
        Self {
            key,
            connection: Connection::new(sim, key.account_id),
            pair_phone,
            events,
            status: Mutex::new(Status {
                phase,
                stop_called: false,
                logout_called: false,
            }),
            scanned: Notify::new(),
            halt: watch::Sender::new(false),
            done: watch::Sender::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends regardless of phase: only for the deliberate late events of an ended session.
    fn send(&self, event: SessionEvent) {
        // The manager may have dropped its receiver (shutting down); nothing to tell then.
        let _ = self.events.send(ProviderEvent {
            key: self.key,
            event,
        });
    }

    /// Ends the session: no more events, and the task stops.
    fn end(&self, status: &mut Status) {
        status.phase = Phase::Ended;
        self.halt.send_replace(true);
    }

    pub(super) fn is_live(&self) -> bool {
        let status = self.lock();
        !status.stop_called && !matches!(status.phase, Phase::Ended)
    }

    /// Shows a code unless the session has moved on (scanned or ended).
    fn show_qr(&self, code: String, valid_for: Duration) -> bool {
        let mut status = self.lock();
        if !matches!(status.phase, Phase::Starting | Phase::ShowingQr) {
            return false;
        }
        status.phase = Phase::ShowingQr;
        self.send(SessionEvent::Qr { code, valid_for });
        true
    }

    /// Shows the code to type on the phone while codes are on show (not after a scan).
    fn show_pair_code(&self, code: String, valid_for: Duration) -> bool {
        let status = self.lock();
        if !matches!(status.phase, Phase::ShowingQr) {
            return false;
        }
        self.send(SessionEvent::PairCode { code, valid_for });
        true
    }

    /// The phone a scan comes from unless it names one: the phone the pairing code is for,
    /// else the account's deterministic number.
    pub(super) fn scanning_phone(&self) -> String {
        self.pair_phone
            .clone()
            .unwrap_or_else(|| super::default_phone(self.key.account_id))
    }

    /// Scans the code on show, if one is.
    pub(super) fn try_scan(&self, phone: &str) -> bool {
        let mut status = self.lock();
        if !matches!(status.phase, Phase::ShowingQr) {
            return false;
        }
        status.phase = Phase::Scanned {
            phone: phone.to_owned(),
        };
        self.scanned.notify_one();
        true
    }

    /// The phone that scanned, once: the session moves on to connecting.
    fn take_scanned(&self) -> Option<String> {
        let mut status = self.lock();
        let Phase::Scanned { phone } = &status.phase else {
            return None;
        };
        let phone = phone.clone();
        status.phase = Phase::Connecting {
            phone: phone.clone(),
        };
        Some(phone)
    }

    /// The last code expired: reports exhaustion, unless a scan got in first (then its phone).
    fn exhaust(&self) -> Option<String> {
        {
            let mut status = self.lock();
            if matches!(status.phase, Phase::ShowingQr) {
                self.send(SessionEvent::QrExhausted);
                self.end(&mut status);
                return None;
            }
        }
        self.take_scanned()
    }

    /// Reports `event` unless the session has ended.
    fn emit_live(&self, event: SessionEvent) -> bool {
        let status = self.lock();
        if matches!(status.phase, Phase::Ended) {
            return false;
        }
        self.send(event);
        true
    }

    /// Reports the connection; false if the session has ended meanwhile.
    fn connect(&self) -> bool {
        let mut status = self.lock();
        let Phase::Connecting { phone } = &status.phase else {
            return false;
        };
        let phone = phone.clone();
        tracing::info!(
            account_id = self.key.account_id,
            generation = self.key.generation,
            "simulated WhatsApp session connected"
        );
        status.phase = Phase::Connected {
            phone: phone.clone(),
        };
        self.send(SessionEvent::Connected { phone });
        true
    }

    /// Ends a live session with `event` (a fault, a failure); false if it had already ended.
    pub(super) fn end_with(&self, event: SessionEvent) -> bool {
        let mut status = self.lock();
        if status.stop_called || matches!(status.phase, Phase::Ended) {
            return false;
        }
        tracing::info!(
            account_id = self.key.account_id,
            generation = self.key.generation,
            ?event,
            "simulated session ends"
        );
        self.send(event);
        self.end(&mut status);
        true
    }

    fn connected_phone(&self) -> Option<String> {
        match &self.lock().phase {
            Phase::Connected { phone } => Some(phone.clone()),
            _ => None,
        }
    }

    /// The first stop: ends the session and says whether its connection was still open.
    /// `None` when stop already ran.
    pub(super) fn stop(&self) -> Option<bool> {
        let mut status = self.lock();
        if status.stop_called {
            return None;
        }
        status.stop_called = true;
        let was_open = !matches!(status.phase, Phase::Ended);
        self.end(&mut status);
        Some(was_open)
    }

    /// Like a real socket, a stopped session reports its close a little late.
    pub(super) fn close_late(self: &Arc<Self>, after: Duration) {
        let state = self.clone();
        tokio::spawn(async move {
            sleep(after).await;
            state.send(SessionEvent::Disconnected {
                reason: "stream closed".to_owned(),
            });
        });
    }

    /// The first logout ends the session; false when logout already ran.
    fn begin_logout(&self) -> bool {
        let mut status = self.lock();
        if status.logout_called {
            return false;
        }
        status.logout_called = true;
        self.end(&mut status);
        true
    }

    fn logout_called(&self) -> bool {
        self.lock().logout_called
    }

    /// Resolves once the session has ended.
    async fn halted(&self) {
        let mut halt = self.halt.subscribe();
        // An error means the sender is gone, which cannot outlive `self`; stop either way.
        let _ = halt.wait_for(|halted| *halted).await;
    }
}

/// The session's task: pairs or resumes, connects, and ends as soon as the session does.
pub(super) async fn run(sim: Arc<Sim>, state: Arc<SessionState>, keys: KeyStore) {
    let ready = tokio::select! {
        () = state.halted() => false,
        ready = drive(&sim, &state, &keys) => ready,
    };
    // Outside the select: a claim cut short could leave its connection behind.
    if ready {
        hold(&state).await;
    }
    state.done.send_replace(true);
}

/// Pairs or resumes; true once the session has credentials and may connect.
async fn drive(sim: &Sim, state: &SessionState, keys: &KeyStore) -> bool {
    let resuming = matches!(state.lock().phase, Phase::Connecting { .. });
    if resuming {
        sleep(sim.scaled(CONNECT_DELAY)).await;
        return true;
    }
    match show_codes(sim, state).await {
        Some(phone) => complete_pairing(sim, state, keys, phone).await,
        None => false,
    }
}

/// Connects, replacing whatever connection held the account, and keeps the connection until
/// the session ends or another connection replaces it; then lets it go.
async fn hold(state: &SessionState) {
    let connection = &state.connection;
    if !connection.may_connect() {
        state.end_with(SessionEvent::Disconnected {
            reason: crate::provider::NOT_MINE.to_owned(),
        });
        return;
    }
    match connection.claim().await {
        Ok(()) => {
            if state.connect() {
                let reason = match connection.keep(state.halted()).await {
                    Kept::Ended => None,
                    Kept::Replaced => Some(connection::REPLACED),
                    Kept::Silent => Some(connection::SILENT),
                };
                if let Some(reason) = reason {
                    state.end_with(SessionEvent::Disconnected {
                        reason: reason.to_owned(),
                    });
                }
            }
        }
        Err(e) => {
            state.end_with(SessionEvent::Disconnected {
                reason: format!("could not reach the simulated WhatsApp: {e}"),
            });
        }
    }
    connection.release().await;
}

/// Rotates the codes until one is scanned (its phone) or the last expires (`None`). Pairing by
/// phone number, the code to type comes right after the first QR code, as whatsapp-rust asks
/// for it once connected, and the pairing lasts until it has expired too.
async fn show_codes(sim: &Sim, state: &SessionState) -> Option<String> {
    let mut auto_scan = sim
        .config
        .auto_scan_secs
        .map(|secs| Box::pin(sleep(Duration::from_secs(secs.into()))));
    let mut code_expires = None;
    for index in 0..QR_CODES {
        let valid_for = sim.scaled(if index == 0 { FIRST_QR } else { NEXT_QR });
        if !state.show_qr(qr_code(), valid_for) {
            // Scanned between two codes, or ended.
            return state.take_scanned();
        }
        if index == 0 && state.pair_phone.is_some() {
            let code_for = sim.scaled(PAIR_CODE);
            if state.show_pair_code(pair_code(state.key), code_for) {
                code_expires = Some(Instant::now() + code_for);
            }
        }
        tracing::debug!(
            account_id = state.key.account_id,
            generation = state.key.generation,
            code = index + 1,
            of = QR_CODES,
            ?valid_for,
            "showing a simulated QR code"
        );
        if let Some(phone) = wait_for_scan(sim, state, valid_for, &mut auto_scan).await {
            return Some(phone);
        }
    }
    // The code to type outlasts the QR codes: it can still be entered until it expires.
    if let Some(left) = code_expires
        .map(|at| at.saturating_duration_since(Instant::now()))
        .filter(|left| !left.is_zero())
        && let Some(phone) = wait_for_scan(sim, state, left, &mut auto_scan).await
    {
        return Some(phone);
    }
    state.exhaust()
}

/// Waits out one code; the scanning phone if it is scanned meanwhile.
async fn wait_for_scan(
    sim: &Sim,
    state: &SessionState,
    valid_for: Duration,
    auto_scan: &mut Option<Pin<Box<Sleep>>>,
) -> Option<String> {
    let expiry = sleep(valid_for);
    tokio::pin!(expiry);
    loop {
        if let Some(phone) = state.take_scanned() {
            return Some(phone);
        }
        tokio::select! {
            () = &mut expiry => return state.take_scanned(),
            () = state.scanned.notified() => {}
            () = until_auto_scan(auto_scan) => {
                *auto_scan = None;
                sim.auto_scan(state);
            }
        }
    }
}

async fn until_auto_scan(auto_scan: &mut Option<Pin<Box<Sleep>>>) {
    match auto_scan {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}

/// Stores the credentials, reports the pairing, then reconnects the way WhatsApp's 515
/// "restart required" makes the real client do: silently. True once ready to connect.
async fn complete_pairing(sim: &Sim, state: &SessionState, keys: &KeyStore, phone: String) -> bool {
    tracing::info!(
        account_id = state.key.account_id,
        generation = state.key.generation,
        "simulated QR code scanned"
    );
    if let Err(e) = keys.save(ProviderKind::Sim, credentials(&phone)).await {
        state.end_with(SessionEvent::Failed {
            reason: format!("could not store the new credentials: {e}"),
        });
        return false;
    }
    if !state.emit_live(SessionEvent::PairSuccess { phone }) {
        return false;
    }
    sleep(sim.scaled(RESTART_DELAY)).await;
    true
}

/// The manager's handle on a simulated session.
pub(super) struct SimSession {
    sim: Arc<Sim>,
    state: Arc<SessionState>,
    keys: KeyStore,
}

impl SimSession {
    pub(super) fn new(sim: Arc<Sim>, state: Arc<SessionState>, keys: KeyStore) -> Self {
        Self { sim, state, keys }
    }
}

#[async_trait]
impl Session for SimSession {
    async fn send(
        &self,
        group_jid: &str,
        message: &OutgoingMessage,
        id: &MessageId,
    ) -> Result<SentMessage, SendError> {
        if self.state.connected_phone().is_none() {
            return Err(SendError::NotConnected);
        }
        // Stamped when the send is made, as the pacing that allowed it saw the clock.
        let sent_at = self.sim.clock.now();
        sleep(self.sim.scaled(Duration::from_millis(
            self.sim.config.send_latency_ms.into(),
        )))
        .await;
        // The connection may have dropped while the message was on its way.
        let phone = self
            .state
            .connected_phone()
            .ok_or(SendError::NotConnected)?;
        self.state.connection.check().await?;
        let account_id = self.state.key.account_id;
        self.sim.check_send(account_id, &phone, group_jid)?;
        let wa_message_id = self
            .sim
            .record_message(account_id, group_jid, message, id, sent_at)
            .await
            .map_err(|e| {
                SendError::Transient(format!("could not record the simulated message: {e}"))
            })?;
        if let Some(failure) = self.sim.take_failure_after_sending(account_id) {
            return Err(failure);
        }
        Ok(SentMessage { wa_message_id })
    }

    async fn upload(&self, file: MediaFile) -> Result<UploadedMedia, SendError> {
        if self.state.connected_phone().is_none() {
            return Err(SendError::NotConnected);
        }
        self.state.connection.check().await?;
        if self.sim.take_upload_hang(self.state.key.account_id) {
            std::future::pending::<()>().await;
        }
        self.sim.record(
            self.state.key.account_id,
            SimOp::Uploaded {
                sha256: file.sha256.clone(),
            },
        );
        Ok(UploadedMedia {
            kind: file.kind,
            handle: format!("sim-media-{}", file.sha256),
            mime_type: file.mime_type,
            file_name: file.file_name,
            sha256: file.sha256,
        })
    }

    async fn groups(&self) -> Result<Vec<GroupInfo>, ProviderError> {
        let phone = self
            .state
            .connected_phone()
            .ok_or_else(|| ProviderError("the account is not connected".to_owned()))?;
        let count = self.sim.group_count(self.state.key.account_id);
        Ok(groups::group_set(&phone, count))
    }

    /// Succeeds whatever the connection's state: the simulated phone always hears about it.
    async fn logout(&self) -> Result<(), ProviderError> {
        if self.state.logout_called() {
            return Ok(());
        }
        // Read before anything changes: the manager must log out before wiping the keys.
        let had_credentials = self
            .keys
            .exists()
            .await
            .map_err(|e| ProviderError(format!("could not read the key store: {e}")))?;
        if !self.state.begin_logout() {
            return Ok(());
        }
        let key = self.state.key;
        tracing::info!(
            account_id = key.account_id,
            generation = key.generation,
            "simulated device logged out"
        );
        self.sim
            .record(key.account_id, SimOp::LoggedOut { had_credentials });
        // As whatsapp-rust's `client.logout()` does, for a generation now stale.
        self.state.send(SessionEvent::LoggedOut {
            reason: "logged out by Herald".to_owned(),
        });
        Ok(())
    }

    async fn stop(&self) {
        let Some(was_open) = self.state.stop() else {
            return;
        };
        // Once stop returns the connection is gone: a worker may hand the account over then.
        let _ = self.state.done.subscribe().wait_for(|done| *done).await;
        let key = self.state.key;
        tracing::debug!(
            account_id = key.account_id,
            generation = key.generation,
            "simulated session stopped"
        );
        self.sim.record(
            key.account_id,
            SimOp::Stopped {
                generation: key.generation,
            },
        );
        if was_open {
            self.state.close_late(self.sim.scaled(LATE_CLOSE));
        }
    }
}
