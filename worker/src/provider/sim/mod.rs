//! The simulated WhatsApp provider (`WA_PROVIDER=sim`), for development, demos and tests.
//!
//! Seen through the seam it behaves like whatsapp-rust (docs/architecture.md, "The WhatsApp seam"):
//! QR codes rotate (60 s, then 20 s each, six in all) until one is scanned or they run out; a scan
//! stores the credentials, reports `PairSuccess`, then reconnects silently (WhatsApp's 515 "restart
//! required": no `Disconnected`) and reports `Connected`. Every delay is multiplied by
//! [`SimConfig::time_scale`].
//!
//! Pairing by phone number, the session also reports one code to type on the phone right after
//! the first QR code (eight characters derived from the account and generation, valid 180 s);
//! "entering" it is the same scan, by default with that phone, and the pairing lasts until the
//! QR codes and the code have all expired.
//!
//! Nothing real is behind it: "scanning" is [`SimProvider::scan`] (or `SIM_AUTO_SCAN_SECS`),
//! misbehaviour is [`SimProvider::inject`], and every "sent" message lands in `sim_messages`:
//! once per message id and group, as WhatsApp keeps only the first message with an id.
//! [`control_router`] exposes the same over HTTP for the development UI and end-to-end tests.
//!
//! One connection per account across every worker sharing the database: a session connecting in
//! another worker replaces the first, which ends with WhatsApp's 409 "stream replaced". A live
//! connection replaced by another worker is recorded in `sim_overlaps` ([`SimProvider::overlaps`]).
//!
//! A simulated phone number is `1555` followed by seven digits derived from the account id
//! (`1555` + `100000 + account_id mod 9900000`, zero-padded): account 1 is `15550100001`.

mod connection;
mod control;
mod groups;
mod session;
#[cfg(test)]
mod tests;

use std::{
    collections::{HashMap, hash_map::RandomState},
    hash::{BuildHasher, Hasher},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::status::MessageKind;
use entity::sim_messages;
use runtime::config::SimConfig;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};

use self::session::{Phase, SessionState, SimSession};
use super::{
    EventSender, MessageId, OutgoingMessage, Provider, ProviderError, SendError, Session,
    SessionKey, StartMode,
};
use crate::clock::{SharedClock, SystemClock};
use keystore::KeyStore;

pub use self::control::control_router;

/// The simulated WhatsApp. One per worker; sessions are keyed by account id.
pub struct SimProvider {
    sim: Arc<Sim>,
}

/// Something to make a simulated account do, as the control interface receives it
/// (`{"fault": "fail_sends", "count": 3}`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The next `count` sends fail with a transient error.
    FailSends { count: u32 },
    /// The next `after` sends go through, then `count` fail with a transient error.
    FailSendsAfter { after: u32, count: u32 },
    /// The next `count` sends are rate-limited.
    RateLimit { count: u32 },
    /// The next `count` sends reach the group, then report a transient failure anyway (as a
    /// library that misjudged where a send failed would): a retry repeats the message.
    FailAfterSending { count: u32 },
    /// The next `count` sends reach the group but their answer is lost (the connection breaks
    /// right after the write): the sender cannot know whether they went out.
    LoseAnswers { count: u32 },
    /// The connection drops (`Disconnected`).
    Disconnect,
    /// The phone removes the linked device (`LoggedOut`, 401).
    LogOut,
    /// WhatsApp bans the account for `secs` seconds (`Banned`, 402).
    TempBan { secs: u32 },
    /// The account is now in this many groups (the rest vanish).
    SetGroupCount { count: u32 },
    /// The next `count` media uploads never answer.
    HangUploads { count: u32 },
}

/// What the manager did to a simulated account, in order (see [`SimProvider::ops`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SimOp {
    /// A session started; `mode` is `"pair"` or `"resume"`.
    Started { generation: i64, mode: &'static str },
    /// A QR code was scanned with this phone.
    Scanned { phone: String },
    /// `logout()` ran; whether the key store still held credentials then.
    LoggedOut { had_credentials: bool },
    /// `stop()` ran (recorded once per session), or a new start replaced a still-live session.
    Stopped { generation: i64 },
    /// A file went up to the media servers.
    Uploaded { sha256: String },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("account {0} has no session showing QR codes")]
    NotPairing(i64),
    #[error("account {0} has no live session")]
    NoLiveSession(i64),
    /// The request itself is wrong (a malformed phone number, too many groups).
    #[error("{0}")]
    Invalid(String),
}

/// State shared by the provider, its sessions and their tasks.
struct Sim {
    db: DatabaseConnection,
    config: SimConfig,
    clock: SharedClock,
    /// This process (see [`SimProvider::set_holder`], [`SimProvider::set_mandate`]).
    process: Mutex<connection::Process>,
    accounts: Mutex<HashMap<i64, Account>>,
}

/// Everything the simulator knows about one account, across its sessions.
#[derive(Default)]
struct Account {
    ops: Vec<SimOp>,
    /// The latest session started for the account (possibly stopped since).
    session: Option<Arc<SessionState>>,
    /// Kept per account, not per session, so they survive reconnects and apply to whatever
    /// session sends next.
    faults: PendingFaults,
}

#[derive(Default)]
struct PendingFaults {
    fail_sends: u32,
    /// Sends that go through before `fail_sends` take effect.
    pass_sends: u32,
    rate_limits: u32,
    fail_after_sending: u32,
    lost_answers: u32,
    group_count: Option<u32>,
    hang_uploads: u32,
}

/// What a simulated device stores in the key store.
#[derive(Deserialize, Serialize)]
struct Credentials {
    phone: String,
}

impl SimProvider {
    /// A simulator on the system clock.
    pub fn new(db: DatabaseConnection, config: SimConfig) -> Arc<SimProvider> {
        Self::with_clock(db, config, Arc::new(SystemClock))
    }

    /// A simulator whose outbox stamps sends with `clock` — the worker's, so the pacing a test
    /// reads from the outbox is the pacing delivery applied.
    pub fn with_clock(
        db: DatabaseConnection,
        config: SimConfig,
        clock: SharedClock,
    ) -> Arc<SimProvider> {
        Arc::new(SimProvider {
            sim: Arc::new(Sim {
                db,
                config,
                clock,
                process: Mutex::default(),
                accounts: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Scans the code the account's session is showing — or, pairing by phone number, enters
    /// the code on that phone — with `phone` (digits) if given, else the phone the pairing code
    /// is for, else the account's default number.
    pub fn scan(&self, account_id: i64, phone: Option<String>) -> Result<(), SimError> {
        let phone = phone.map(validate_phone).transpose()?;
        let mut accounts = self.sim.lock();
        let Some(account) = accounts.get_mut(&account_id) else {
            return Err(SimError::NotPairing(account_id));
        };
        let Some(session) = &account.session else {
            return Err(SimError::NotPairing(account_id));
        };
        let phone = phone.unwrap_or_else(|| session.scanning_phone());
        if session.try_scan(&phone) {
            account.ops.push(SimOp::Scanned { phone });
            Ok(())
        } else {
            Err(SimError::NotPairing(account_id))
        }
    }

    /// Makes the account misbehave. Send and group faults are remembered for an account with
    /// no live session; connection faults need one.
    pub fn inject(&self, account_id: i64, fault: Fault) -> Result<(), SimError> {
        let mut accounts = self.sim.lock();
        let account = accounts.entry(account_id).or_default();
        let event = match fault {
            Fault::FailSends { count } => {
                (account.faults.pass_sends, account.faults.fail_sends) = (0, count);
                return Ok(());
            }
            Fault::FailSendsAfter { after, count } => {
                (account.faults.pass_sends, account.faults.fail_sends) = (after, count);
                return Ok(());
            }
            Fault::RateLimit { count } => {
                account.faults.rate_limits = count;
                return Ok(());
            }
            Fault::FailAfterSending { count } => {
                account.faults.fail_after_sending = count;
                return Ok(());
            }
            Fault::LoseAnswers { count } => {
                account.faults.lost_answers = count;
                return Ok(());
            }
            Fault::SetGroupCount { count } => {
                account.faults.group_count = Some(groups::validate_count(count)?);
                return Ok(());
            }
            Fault::HangUploads { count } => {
                account.faults.hang_uploads = count;
                return Ok(());
            }
            Fault::Disconnect => super::SessionEvent::Disconnected {
                reason: "simulated connection drop".to_owned(),
            },
            Fault::LogOut => super::SessionEvent::LoggedOut {
                reason: "401: the device was removed from the phone".to_owned(),
            },
            Fault::TempBan { secs } => super::SessionEvent::Banned {
                reason: "402: temporarily banned by WhatsApp".to_owned(),
                until: Utc::now().checked_add_signed(chrono::Duration::seconds(secs.into())),
            },
        };
        match &account.session {
            Some(session) if session.end_with(event) => Ok(()),
            _ => Err(SimError::NoLiveSession(account_id)),
        }
    }

    /// What the manager did to the account, oldest first.
    pub fn ops(&self, account_id: i64) -> Vec<SimOp> {
        self.sim
            .lock()
            .get(&account_id)
            .map(|account| account.ops.clone())
            .unwrap_or_default()
    }

    /// The messages the account "sent", oldest first.
    pub async fn sent(&self, account_id: i64) -> Result<Vec<sim_messages::Model>, DbErr> {
        sim_messages::Entity::find()
            .filter(sim_messages::Column::AccountId.eq(account_id))
            .order_by_asc(sim_messages::Column::Id)
            .all(&self.sim.db)
            .await
    }
}

#[async_trait]
impl Provider for SimProvider {
    async fn start(
        &self,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
        events: EventSender,
    ) -> Result<Box<dyn Session>, ProviderError> {
        let phase = match &mode {
            StartMode::Pair { .. } => Phase::Starting,
            StartMode::Resume => Phase::Connecting {
                phone: stored_phone(&keys).await?,
            },
        };
        let state = self.sim.register(key, mode, events, phase);
        tokio::spawn(session::run(self.sim.clone(), state.clone(), keys.clone()));
        Ok(Box::new(SimSession::new(self.sim.clone(), state, keys)))
    }
}

impl Sim {
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Account>> {
        // The map stays consistent even if a holder panicked: every update is a single step.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, account_id: i64, op: SimOp) {
        self.lock().entry(account_id).or_default().ops.push(op);
    }

    /// Makes `key`'s session the account's current one. A still-live predecessor is stopped
    /// first, as a new whatsapp-rust client would replace the old one's stream.
    fn register(
        &self,
        key: SessionKey,
        mode: StartMode,
        events: EventSender,
        phase: Phase,
    ) -> Arc<SessionState> {
        let pair_phone = match &mode {
            StartMode::Pair { phone } => phone.as_ref().map(|phone| phone.digits().to_owned()),
            StartMode::Resume => None,
        };
        let state = Arc::new(SessionState::new(self, key, pair_phone, events, phase));
        let mut accounts = self.lock();
        let account = accounts.entry(key.account_id).or_default();
        if let Some(old) = account.session.take().filter(|old| old.is_live()) {
            tracing::info!(
                account_id = key.account_id,
                generation = old.key.generation,
                "stopping the simulated session a new start replaces"
            );
            if let Some(was_open) = old.stop() {
                account.ops.push(SimOp::Stopped {
                    generation: old.key.generation,
                });
                if was_open {
                    old.close_late(self.scaled(session::LATE_CLOSE));
                }
            }
        }
        let mode = match mode {
            StartMode::Pair { .. } => "pair",
            StartMode::Resume => "resume",
        };
        account.ops.push(SimOp::Started {
            generation: key.generation,
            mode,
        });
        account.session = Some(state.clone());
        state
    }

    /// The automatic scan (`SIM_AUTO_SCAN_SECS`) of this very session.
    fn auto_scan(&self, state: &SessionState) {
        let account_id = state.key.account_id;
        let phone = state.scanning_phone();
        let mut accounts = self.lock();
        if state.try_scan(&phone) {
            tracing::info!(account_id, "auto-scanning the simulated QR code");
            accounts
                .entry(account_id)
                .or_default()
                .ops
                .push(SimOp::Scanned { phone });
        }
    }

    /// A simulated delay: `base` times the configured time scale.
    fn scaled(&self, base: Duration) -> Duration {
        let secs = base.as_secs_f64() * self.config.time_scale;
        match Duration::try_from_secs_f64(secs) {
            Ok(scaled) => scaled,
            Err(_) if secs > 0.0 => Duration::MAX,
            // A nonsensical (negative or NaN) scale: behave as if unscaled.
            Err(_) => base,
        }
    }

    /// Takes one injected hang for the account's next upload, if any is left.
    fn take_upload_hang(&self, account_id: i64) -> bool {
        let mut accounts = self.lock();
        let faults = &mut accounts.entry(account_id).or_default().faults;
        let hang = faults.hang_uploads > 0;
        faults.hang_uploads = faults.hang_uploads.saturating_sub(1);
        hang
    }

    fn group_count(&self, account_id: i64) -> u32 {
        let configured = self
            .lock()
            .get(&account_id)
            .and_then(|account| account.faults.group_count);
        configured.unwrap_or(self.config.group_count.min(groups::MAX_GROUPS))
    }

    /// The injected send faults, in order, then whether the account is in the group at all.
    fn check_send(&self, account_id: i64, phone: &str, group_jid: &str) -> Result<(), SendError> {
        {
            let mut accounts = self.lock();
            let faults = &mut accounts.entry(account_id).or_default().faults;
            if faults.pass_sends > 0 {
                faults.pass_sends -= 1;
            } else if faults.fail_sends > 0 {
                faults.fail_sends -= 1;
                return Err(SendError::Transient("simulated send failure".to_owned()));
            }
            if faults.rate_limits > 0 {
                faults.rate_limits -= 1;
                return Err(SendError::RateLimited);
            }
        }
        if groups::is_member(phone, self.group_count(account_id), group_jid) {
            Ok(())
        } else {
            Err(SendError::Permanent(
                "this account is not a participant of that group".to_owned(),
            ))
        }
    }

    /// The failure an injected fault reports for a send that did reach the group, if any.
    fn take_failure_after_sending(&self, account_id: i64) -> Option<SendError> {
        let mut accounts = self.lock();
        let faults = &mut accounts.entry(account_id).or_default().faults;
        if faults.lost_answers > 0 {
            faults.lost_answers -= 1;
            return Some(SendError::Ambiguous(
                "simulated connection loss right after the write".to_owned(),
            ));
        }
        if faults.fail_after_sending > 0 {
            faults.fail_after_sending -= 1;
            return Some(SendError::Transient(
                "simulated failure after sending".to_owned(),
            ));
        }
        None
    }

    /// Puts a "sent" message in the outbox and returns its message id. As WhatsApp keeps only
    /// the first message with an id in a chat, an id the group already has is acknowledged
    /// without delivering it again.
    async fn record_message(
        &self,
        account_id: i64,
        group_jid: &str,
        message: &OutgoingMessage,
        id: &MessageId,
        sent_at: DateTime<Utc>,
    ) -> Result<String, DbErr> {
        let wa_message_id = id.to_string();
        let (kind, body, media_sha256) = match message {
            OutgoingMessage::Text(text) => (MessageKind::Text, text.clone(), None),
            OutgoingMessage::Media { media, caption } => (
                media.kind,
                caption.clone().unwrap_or_default(),
                Some(media.sha256.clone()),
            ),
        };
        sim_messages::Entity::insert(sim_messages::ActiveModel {
            id: NotSet,
            account_id: Set(account_id),
            group_jid: Set(group_jid.to_owned()),
            kind: Set(kind),
            body: Set(body),
            wa_message_id: Set(wa_message_id.clone()),
            sent_at: Set(sent_at),
            media_sha256: Set(media_sha256),
            repeats: Set(0),
        })
        // An id the group already has is not delivered again, only counted: the unique key
        // decides, so this holds across processes too.
        .on_conflict(
            OnConflict::columns([
                sim_messages::Column::AccountId,
                sim_messages::Column::GroupJid,
                sim_messages::Column::WaMessageId,
            ])
            .value(
                sim_messages::Column::Repeats,
                // Qualified: PostgreSQL reads a bare name here as ambiguous with EXCLUDED's.
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col((sim_messages::Entity, sim_messages::Column::Repeats)),
                    1,
                ),
            )
            .to_owned(),
        )
        .exec(&self.db)
        .await?;
        Ok(wa_message_id)
    }
}

/// The phone a resumed session reconnects as.
async fn stored_phone(keys: &KeyStore) -> Result<String, ProviderError> {
    let data = keys
        .load()
        .await
        .map_err(|e| ProviderError(format!("could not read the key store: {e}")))?
        .ok_or_else(|| ProviderError("no stored credentials to resume with".to_owned()))?;
    serde_json::from_slice::<Credentials>(&data)
        .map(|credentials| credentials.phone)
        .map_err(|e| {
            ProviderError(format!(
                "the stored credentials are not the simulator's: {e}"
            ))
        })
}

fn credentials(phone: &str) -> Vec<u8> {
    serde_json::json!({ "phone": phone })
        .to_string()
        .into_bytes()
}

/// The phone number that scans for an account unless told otherwise (see the module docs).
pub fn default_phone(account_id: i64) -> String {
    format!("1555{:07}", 100_000 + account_id.rem_euclid(9_900_000))
}

fn validate_phone(phone: String) -> Result<String, SimError> {
    let phone = phone.trim().trim_start_matches('+').to_owned();
    if (5..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(phone)
    } else {
        Err(SimError::Invalid(format!(
            "a phone number is 5 to 15 digits, got {phone:?}"
        )))
    }
}

/// Looks like a whatsapp QR payload: `2@<ref>,<noise key>,<identity key>,<adv secret>`.
fn qr_code() -> String {
    format!(
        "2@{},{},{},{}",
        base64(&random_bytes(48)),
        base64(&random_bytes(32)),
        base64(&random_bytes(32)),
        base64(&random_bytes(32))
    )
}

/// The alphabet of WhatsApp's pairing codes (Crockford's base 32 without 0, I, O and U).
const PAIR_CODE_ALPHABET: &[u8; 32] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";

/// The code to type on the phone for a pairing by phone number: eight characters of
/// [`PAIR_CODE_ALPHABET`], bare as whatsapp-rust hands them out (the manager shows them as
/// `ABCD-EFGH`). Deterministic per account and generation, so tests and demos can predict it.
fn pair_code(key: SessionKey) -> String {
    // splitmix64 of the account and generation: stable across runs and platforms.
    let mut z = (key.account_id as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(key.generation as u64)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (0..8)
        .map(|i| char::from(PAIR_CODE_ALPHABET[(z >> (5 * i) & 31) as usize]))
        .collect()
}

/// Unpredictable bytes. The simulator needs variety, not secrecy: std's randomly keyed hasher
/// provides that without a fallible call (every `RandomState` gets fresh keys).
fn random_bytes(len: usize) -> Vec<u8> {
    let state = RandomState::new();
    let mut bytes = Vec::with_capacity(len + 8);
    let mut counter = 0u64;
    while bytes.len() < len {
        let mut hasher = state.build_hasher();
        hasher.write_u64(counter);
        bytes.extend_from_slice(&hasher.finish().to_le_bytes());
        counter += 1;
    }
    bytes.truncate(len);
    bytes
}

/// Standard, padded base64.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
