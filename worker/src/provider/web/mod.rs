//! The real WhatsApp provider (`WA_PROVIDER=web`): whatsapp-rust 0.7 with its keys in Herald's
//! database (the `keystore` crate), one client per account.
//!
//! The library's own reconnect loop is off: when a connection ends, the session says so once
//! (with the reason the transport saw) and the session manager's backoff decides when to try
//! again, exactly as for the simulator. The exception is the 515 restart right after pairing,
//! which the session follows by itself (see [`events`]).

mod events;
mod media;
mod reach;
mod session;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, atomic::Ordering};

use async_trait::async_trait;
use url::Url;
use whatsapp_rust::{
    http::UreqHttpClient,
    pair_code::PairCodeOptions,
    prelude::{Bot, TokioRuntime},
    transport::TokioWebSocketTransportFactory,
    wacore::store::{Device, traits::DeviceStore},
};

use self::{
    events::EventMapper,
    reach::Reach,
    session::{Forwarder, Watch, WebSession},
};
use super::{EventSender, Mandate, Provider, ProviderError, Session, SessionKey, StartMode};
use keystore::KeyStore;

/// Where whatsapp-rust connects unless told otherwise.
const WHATSAPP_SERVER: &str = "web.whatsapp.com";

pub struct WebProvider {
    /// Development override of WhatsApp's WebSocket URL (`WA_WEB_URL`).
    url: Option<Url>,
    mandate: Option<Arc<dyn Mandate>>,
}

impl WebProvider {
    /// The keys come with each session's [`KeyStore`].
    pub fn new(url: Option<Url>) -> Self {
        Self { url, mandate: None }
    }

    /// Whom each connection attempt asks first (the worker's leases).
    pub fn with_mandate(mut self, mandate: Arc<dyn Mandate>) -> Self {
        self.mandate = Some(mandate);
        self
    }
}

#[async_trait]
impl Provider for WebProvider {
    async fn start(
        &self,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
        events: EventSender,
    ) -> Result<Box<dyn Session>, ProviderError> {
        let backend = keys.backend();
        let phone = match &mode {
            StartMode::Resume => Some(linked_phone(&backend).await?),
            StartMode::Pair { .. } => None,
        };
        let mapper = Arc::new(Mutex::new(EventMapper::new(phone)));
        let reach = Reach::new(key.account_id, self.mandate.clone());
        let mut transport = TokioWebSocketTransportFactory::new();
        let mut server = WHATSAPP_SERVER.to_owned();
        if let Some(url) = &self.url {
            transport = transport.with_url(url.as_str());
            server = url.to_string();
        }
        let mut builder = Bot::builder()
            .with_backend(backend)
            .with_transport_factory(reach.watch(transport))
            .with_http_client(UreqHttpClient::new())
            .with_runtime(TokioRuntime)
            .with_event_handler(Forwarder {
                key,
                mapper: mapper.clone(),
                events: events.clone(),
            })
            // A reminder bot reads no chat history.
            .skip_history_sync();
        if self.url.is_some() {
            // A local endpoint cannot serve WhatsApp's sw.js, where the current version is read.
            let device = Device::new();
            builder = builder.with_version((
                device.app_version_primary,
                device.app_version_secondary,
                device.app_version_tertiary,
            ));
        }
        if let StartMode::Pair { phone: Some(phone) } = &mode {
            builder = builder.with_pair_code(PairCodeOptions {
                phone_number: phone.digits().to_owned(),
                ..PairCodeOptions::default()
            });
        }
        let bot = builder
            .build()
            .await
            .map_err(|e| ProviderError(format!("starting the WhatsApp client failed: {e}")))?;
        let client = bot.client();
        client.enable_auto_reconnect.store(false, Ordering::Relaxed);
        let handle = bot.spawn();
        tokio::spawn(session::supervise(
            handle,
            client.clone(),
            Watch {
                mapper: mapper.clone(),
                reach,
                server,
            },
            key,
            events,
        ));
        Ok(Box::new(WebSession { client, mapper }))
    }
}

/// The number of the device stored for the account; resuming without one would start a pairing.
async fn linked_phone(backend: &keystore::DbBackend) -> Result<String, ProviderError> {
    let device = backend
        .load()
        .await
        .map_err(|e| ProviderError(format!("reading the account's keys failed: {e}")))?;
    device
        .and_then(|device| device.pn)
        .map(|pn| pn.user.to_string())
        .ok_or_else(|| {
            ProviderError("no linked device is stored for this account; pair it again".into())
        })
}
