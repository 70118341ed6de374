//! One account's whatsapp-rust client behind the `Session` seam, and the task that watches its
//! connection loop.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, atomic::Ordering};

use async_trait::async_trait;
use whatsapp_rust::{
    ClientError,
    bot::BotHandle,
    download::MediaType,
    prelude::{Client, IqError, Jid, MessageBuilderExt, SendError as WaSendError, SendOptions, wa},
    socket::error::EncryptSendErrorKind,
    upload::UploadOptions,
    wacore::types::events::{Event, EventHandler},
};

use super::{
    events::{AfterRun, EventMapper},
    media::{Details, Upload},
    reach::Reach,
};
use crate::provider::{
    EventSender, GroupInfo, MediaFile, MessageId, OutgoingMessage, ProviderError, ProviderEvent,
    SendError, SentMessage, Session, SessionKey, UploadedMedia,
};
use domain::status::MessageKind;

pub type Mapper = Arc<Mutex<EventMapper>>;

pub fn lock(mapper: &Mapper) -> MutexGuard<'_, EventMapper> {
    mapper.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps each event as the library dispatches it: inline, so events and the end of the
/// connection loop are seen in the order they happened.
pub struct Forwarder {
    pub key: SessionKey,
    pub mapper: Mapper,
    pub events: EventSender,
}

impl EventHandler for Forwarder {
    fn handle_event(&self, event: Arc<Event>) {
        if let Some(event) = lock(&self.mapper).map(&event) {
            let _ = self.events.send(ProviderEvent {
                key: self.key,
                event,
            });
        }
    }
}

/// Runs until the session is over: reruns the connection loop after the 515 that follows a
/// pairing, and reports a loop that ended without saying why.
pub async fn supervise(
    bot: BotHandle,
    client: Arc<Client>,
    watch: Watch,
    key: SessionKey,
    events: EventSender,
) {
    bot.await;
    loop {
        let failure = watch.reach.failure(&watch.server);
        match lock(&watch.mapper).after_run(failure) {
            AfterRun::Relink => {
                tracing::info!(
                    account_id = key.account_id,
                    "paired; reconnecting with the new credentials"
                );
            }
            AfterRun::Report(event) => {
                let _ = events.send(ProviderEvent { key, event });
                return;
            }
            AfterRun::Done => return,
        }
        client.run().await;
    }
}

/// What the supervisor needs to explain a loop's end.
pub struct Watch {
    pub mapper: Mapper,
    pub reach: Reach,
    /// Where the socket goes, for messages.
    pub server: String,
}

pub struct WebSession {
    pub client: Arc<Client>,
    pub mapper: Mapper,
}

impl WebSession {
    /// Ends the session without reporting it: the manager asked.
    async fn halt(&self, log_out: bool) {
        lock(&self.mapper).stop();
        self.client
            .enable_auto_reconnect
            .store(false, Ordering::Relaxed);
        if log_out {
            self.client.logout().await;
        } else {
            self.client.disconnect().await;
        }
    }
}

#[async_trait]
impl Session for WebSession {
    async fn send(
        &self,
        group_jid: &str,
        message: &OutgoingMessage,
        id: &MessageId,
    ) -> Result<SentMessage, SendError> {
        let to: Jid = group_jid.parse().map_err(|_| {
            SendError::Permanent(format!("{group_jid:?} is not a WhatsApp address"))
        })?;
        let message = match message {
            OutgoingMessage::Text(text) => wa::Message::text(text.clone()),
            OutgoingMessage::Media { media, caption } => {
                let upload = Upload::from_handle(&media.handle).ok_or_else(|| {
                    SendError::Permanent("the uploaded file's details are unreadable".into())
                })?;
                upload.message(Details {
                    kind: media.kind,
                    mime_type: &media.mime_type,
                    file_name: &media.file_name,
                    caption: caption.clone(),
                })
            }
        };
        // Keyed by the device's identity key: unique to this pairing, stable across restarts.
        let device = self.client.persistence_manager().get_device_snapshot();
        let id = id.keyed(device.identity_key.public_key.public_key_bytes());
        let options = SendOptions::default().with_message_id(id.as_str());
        self.client
            .send_message_with_options(to, message, options)
            .await
            .map(|sent| SentMessage {
                wa_message_id: sent.message_id,
            })
            .map_err(send_error)
    }

    async fn upload(&self, file: MediaFile) -> Result<UploadedMedia, SendError> {
        let media_type = match file.kind {
            MessageKind::Video => MediaType::Video,
            MessageKind::Document => MediaType::Document,
            MessageKind::Image | MessageKind::Text => MediaType::Image,
        };
        let uploaded = self
            .client
            .upload(file.bytes, media_type, UploadOptions::default())
            .await
            .map_err(|e| SendError::Transient(format!("uploading the file failed: {e:#}")))?;
        Ok(UploadedMedia {
            kind: file.kind,
            mime_type: file.mime_type,
            file_name: file.file_name,
            sha256: file.sha256,
            handle: Upload::from(&uploaded).to_handle(),
        })
    }

    async fn groups(&self) -> Result<Vec<GroupInfo>, ProviderError> {
        let groups = self
            .client
            .groups()
            .get_participating()
            .await
            .map_err(|e| ProviderError(format!("listing the account's groups failed: {e}")))?;
        Ok(groups
            .into_values()
            .map(|group| GroupInfo {
                jid: group.id.to_string(),
                participants: group
                    .size
                    .unwrap_or_else(|| u32::try_from(group.participants.len()).unwrap_or(u32::MAX)),
                name: group.subject,
            })
            .collect())
    }

    async fn logout(&self) -> Result<(), ProviderError> {
        // whatsapp-rust's logout skips the unlink request when offline and reports nothing.
        let connected = self.client.is_connected();
        self.halt(true).await;
        if connected {
            Ok(())
        } else {
            Err(ProviderError(
                "not connected to WhatsApp, so the linked device could not be removed; remove \
                 it on the phone (Settings → Linked devices)"
                    .into(),
            ))
        }
    }

    async fn stop(&self) {
        self.halt(false).await;
    }
}

/// Only what certainly never reached WhatsApp may be retried; anything that may have gone out is
/// `Ambiguous`. whatsapp-rust prepares a send completely (group metadata and device-list IQs,
/// Signal encryption, persisting the advanced Signal state) before it writes the stanza, so only
/// the write itself can fail after the message left.
pub(super) fn send_error(error: WaSendError) -> SendError {
    match error {
        WaSendError::NotLoggedIn
        | WaSendError::Client(ClientError::NotConnected | ClientError::NotLoggedIn) => {
            SendError::NotConnected
        }
        WaSendError::Client(ClientError::EncryptSend(e)) => match e.kind {
            // Refused before a byte of the frame was written.
            EncryptSendErrorKind::Crypto
            | EncryptSendErrorKind::Framing
            | EncryptSendErrorKind::Poisoned => SendError::Transient(format!(
                "the connection to WhatsApp refused the message ({}: {:#})",
                e.kind, e.source
            )),
            // The write failed part-way, or its outcome was lost with the sender task.
            _ => SendError::Ambiguous(format!(
                "the connection to WhatsApp broke while sending ({}: {:#}), so WhatsApp may have \
                 the message",
                e.kind, e.source
            )),
        },
        WaSendError::Iq(IqError::ServerError { code: 429, .. }) => SendError::RateLimited,
        WaSendError::Iq(IqError::ServerError { code, text, .. })
            if matches!(code, 401 | 403 | 404 | 406) =>
        {
            SendError::Permanent(format!("WhatsApp refused the send ({code} {text})"))
        }
        WaSendError::InvalidRequest(e) => SendError::Permanent(e),
        // Marshalling (the only socket error before the write), the preparing IQs, encryption.
        e @ (WaSendError::Client(
            ClientError::Socket(_) | ClientError::Iq(_) | ClientError::Internal(_),
        )
        | WaSendError::Iq(_)
        | WaSendError::Internal(_)) => SendError::Transient(e.to_string()),
        // A failure this version does not know: it may have come after the write.
        other => SendError::Ambiguous(format!(
            "sending failed in a way that leaves open whether WhatsApp has the message: {other}"
        )),
    }
}
