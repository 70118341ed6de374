//! The WhatsApp seam (docs/architecture.md, "The WhatsApp seam"): what the session manager needs
//! from a WhatsApp implementation, and nothing more. The manager cannot tell the providers apart;
//! each maps its own library's events onto [`SessionEvent`] and tags them with the session's
//! generation.

pub mod sim;
pub mod web;

use std::{fmt, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{account::PhoneNumber, status::MessageKind};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use keystore::KeyStore;

/// Whether this process may connect as an account now. A worker answers from its leases: a
/// session asks right before it opens a connection, so a process that froze while connecting
/// (SIGSTOP, a frozen VM) and woke up after a successor took the account over does not connect
/// in the successor's place. A provider without one connects any account.
pub trait Mandate: Send + Sync {
    fn may_connect(&self, account_id: i64) -> bool;
}

/// What a provider asks before connecting: `mandate`'s answer, or yes without one.
pub fn may_connect(mandate: Option<&std::sync::Arc<dyn Mandate>>, account_id: i64) -> bool {
    mandate.is_none_or(|mandate| mandate.may_connect(account_id))
}

/// How a session ends that was about to connect when its worker lost the account.
pub const NOT_MINE: &str =
    "not connected: this worker no longer holds the account's lease; another worker runs it";

/// One run of one account's session. Every start gets a new generation, so anything a stopped
/// session still reports is recognisably stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub account_id: i64,
    pub generation: i64,
}

/// Why a session is being started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartMode {
    /// A fresh pairing: the key store is empty; show QR codes until one is scanned. With a
    /// phone number, also ask WhatsApp for a code to type on that phone (whichever completes
    /// first wins).
    Pair { phone: Option<PhoneNumber> },
    /// Connect with the credentials in the key store.
    Resume,
}

/// What a session reports, in whatsapp-rust's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A QR code to show; the next one replaces it after `valid_for`.
    Qr { code: String, valid_for: Duration },
    /// A code to type on the phone (pairing by phone number); the next one replaces it after
    /// `valid_for`.
    PairCode { code: String, valid_for: Duration },
    /// Every code expired unscanned.
    QrExhausted,
    /// The phone scanned a code. WhatsApp now restarts the stream (515) — silently, without a
    /// `Disconnected` — and the session reconnects with its new credentials.
    PairSuccess { phone: String },
    /// Logged in; `phone` is the account's number (digits).
    Connected { phone: String },
    /// An unexpected drop. Providers do not reconnect by themselves: the manager decides.
    Disconnected { reason: String },
    /// WhatsApp ended the link (401, 516, device removed on the phone).
    LoggedOut { reason: String },
    /// 402 / 403: temporarily banned or locked.
    Banned {
        reason: String,
        until: Option<DateTime<Utc>>,
    },
    /// Connecting failed in a way retrying will not fix (client outdated, bad credentials).
    Failed { reason: String },
}

/// A session event with the session it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderEvent {
    pub key: SessionKey,
    pub event: SessionEvent,
}

pub type EventSender = mpsc::UnboundedSender<ProviderEvent>;

/// A WhatsApp group the account participates in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    /// Opaque, as the library gives it (`…@g.us`); never built by hand.
    pub jid: String,
    pub name: String,
    pub participants: u32,
}

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingMessage {
    Text(String),
    /// Media uploaded once with [`Session::upload`], sent to any number of groups.
    Media {
        media: UploadedMedia,
        caption: Option<String>,
    },
}

/// A file to upload: image, video or document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFile {
    pub kind: MessageKind,
    pub mime_type: String,
    pub file_name: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// What the provider needs to send an uploaded file again; opaque to everyone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedMedia {
    pub kind: MessageKind,
    pub mime_type: String,
    pub file_name: String,
    pub sha256: String,
    pub handle: String,
}

/// The id a message carries on WhatsApp, chosen by Herald rather than the library: the same
/// message sent again (a retry, a replayed command) carries the same id, and WhatsApp keeps only
/// the first. Shaped like whatsapp-rust's own ids, `3EB0` and 18 uppercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// Part `position` (from 0) of a run's message, to the run's target `target_id`.
    pub fn for_part(run_id: i64, target_id: i64, position: i32) -> Self {
        Self::derive(b"part", &[run_id, target_id, i64::from(position)])
    }

    /// What the command with this row id sends (a test message).
    pub fn for_command(command_id: i64) -> Self {
        Self::derive(b"command", &[command_id])
    }

    /// The id keyed by `key`, a secret or identity of the sending device: ids derived from row
    /// ids alone repeat across installations (and a fresh database), and a group's phones drop a
    /// message whose id they have seen.
    pub fn keyed(&self, key: &[u8]) -> Self {
        let mut hasher = Self::hasher(b"keyed");
        hasher.update(self.0.as_bytes());
        hasher.update(key);
        Self::from_digest(&hasher.finalize())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hasher(kind: &[u8]) -> Sha256 {
        let mut hasher = Sha256::new();
        hasher.update(b"herald.message-id.");
        hasher.update(kind);
        hasher.update(b".");
        hasher
    }

    fn derive(kind: &[u8], values: &[i64]) -> Self {
        let mut hasher = Self::hasher(kind);
        for value in values {
            hasher.update(value.to_be_bytes());
        }
        Self::from_digest(&hasher.finalize())
    }

    /// As whatsapp-rust formats the 9 bytes of hash it takes for an id.
    fn from_digest(digest: &[u8]) -> Self {
        let mut id = String::with_capacity(22);
        id.push_str("3EB0");
        for byte in &digest[..9] {
            id.push_str(&format!("{byte:02X}"));
        }
        Self(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    pub wa_message_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the account is not connected")]
    NotConnected,
    /// Failed before the message left the device: worth retrying later.
    #[error("{0}")]
    Transient(String),
    /// Failed after the message may have left the device (the write to WhatsApp broke, its
    /// answer was lost): WhatsApp may have it, so it is never sent again on a guess.
    #[error("{0}")]
    Ambiguous(String),
    #[error("WhatsApp is rate-limiting this account")]
    RateLimited,
    /// Retrying will not help (not a participant, group gone, banned).
    #[error("{0}")]
    Permanent(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// A WhatsApp implementation.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Starts a session; its events go to `events`, tagged with `key`. Returns once the session
    /// is under way, not once it is connected.
    async fn start(
        &self,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
        events: EventSender,
    ) -> Result<Box<dyn Session>, ProviderError>;
}

/// One running session.
#[async_trait]
pub trait Session: Send + Sync {
    /// Sends `message` as `id`. Sending an id the group already has succeeds without
    /// delivering it again, as WhatsApp does.
    async fn send(
        &self,
        group_jid: &str,
        message: &OutgoingMessage,
        id: &MessageId,
    ) -> Result<SentMessage, SendError>;

    /// Uploads a file to WhatsApp's media servers once, for any number of sends.
    async fn upload(&self, file: MediaFile) -> Result<UploadedMedia, SendError>;

    /// Every group the account participates in, in one call.
    async fn groups(&self) -> Result<Vec<GroupInfo>, ProviderError>;

    /// Removes the linked device on WhatsApp's side. Does not wipe the key store (the manager
    /// does, after this returns) and stops the session.
    async fn logout(&self) -> Result<(), ProviderError>;

    /// Stops the session without logging out. Reports nothing afterwards that the manager
    /// should act on (anything late carries this session's, by then stale, generation).
    async fn stop(&self);
}

#[cfg(test)]
mod tests {
    use super::MessageId;

    #[test]
    fn message_ids_are_shaped_like_whatsapps_and_name_one_message_each() {
        let id = MessageId::for_part(7, 42, 0);
        assert_eq!(
            id,
            MessageId::for_part(7, 42, 0),
            "the same part, the same id"
        );
        assert_eq!(id.as_str().len(), 22);
        assert!(id.as_str().starts_with("3EB0"), "{id}");
        assert!(
            id.as_str()
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{id}"
        );
        let others = [
            MessageId::for_part(7, 42, 1),
            MessageId::for_part(7, 43, 0),
            MessageId::for_part(8, 42, 0),
            MessageId::for_command(7),
            id.keyed(b"one device"),
        ];
        for other in &others {
            assert_ne!(&id, other);
        }
        assert_eq!(id.keyed(b"one device"), id.keyed(b"one device"));
        assert_ne!(id.keyed(b"one device"), id.keyed(b"another device"));
    }
}
