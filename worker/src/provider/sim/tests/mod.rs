//! The simulator seen through the seam, as the session manager sees it.
//!
//! A paused tokio clock and SQLite do not mix (while a query runs on SQLite's thread the clock
//! jumps ahead and the pool times out), so timing tests create the database first, then
//! `pause()`, and `resume()` before anything touches the database again.

mod connections;
mod control;
mod group_sets;
mod pairing;
mod sends;
mod sessions;

use keystore::KeyStore;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use testkit::TestDb;
use tokio::{
    sync::mpsc::{self, UnboundedReceiver, error::TryRecvError},
    time::sleep,
};

use super::{SimProvider, base64, default_phone, qr_code};
use crate::provider::{
    MessageId, OutgoingMessage, Provider, ProviderError, ProviderEvent, Session, SessionEvent,
    SessionKey, StartMode,
};
use runtime::config::SimConfig;

fn config(time_scale: f64) -> SimConfig {
    SimConfig {
        time_scale,
        auto_scan_secs: None,
        group_count: 12,
        send_latency_ms: 400,
    }
}

struct Fixture {
    _test_db: TestDb,
    db: DatabaseConnection,
    sim: std::sync::Arc<SimProvider>,
}

struct Running {
    key: SessionKey,
    session: Box<dyn Session>,
    events: UnboundedReceiver<ProviderEvent>,
}

impl Running {
    /// The next event, which must be this session's.
    async fn next(&mut self) -> SessionEvent {
        let event = tokio::time::timeout(Duration::from_secs(90), self.events.recv())
            .await
            .expect("an event within 90 s")
            .expect("the event channel is open");
        assert_eq!(event.key, self.key, "event from another session: {event:?}");
        event.event
    }

    /// Nothing more arrives for `quiet`.
    async fn assert_quiet(&mut self, quiet: Duration) {
        sleep(quiet).await;
        match self.events.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => panic!("expected no more events, got {other:?}"),
        }
    }

    async fn next_pair_code(&mut self) -> (String, Duration) {
        match self.next().await {
            SessionEvent::PairCode { code, valid_for } => (code, valid_for),
            other => panic!("expected a pairing code, got {other:?}"),
        }
    }

    async fn next_qr(&mut self) -> (String, Duration) {
        match self.next().await {
            SessionEvent::Qr { code, valid_for } => (code, valid_for),
            other => panic!("expected a QR code, got {other:?}"),
        }
    }
}

impl Fixture {
    async fn new(config: SimConfig) -> Self {
        let test_db = TestDb::new().await;
        let db = test_db.db.clone();
        Self {
            sim: SimProvider::new(db.clone(), config),
            db,
            _test_db: test_db,
        }
    }

    fn keys(&self, account_id: i64) -> KeyStore {
        KeyStore::new(self.db.clone(), account_id)
    }

    async fn try_start(
        &self,
        account_id: i64,
        generation: i64,
        mode: StartMode,
    ) -> Result<Running, ProviderError> {
        let key = SessionKey {
            account_id,
            generation,
        };
        let (tx, events) = mpsc::unbounded_channel();
        let session = self.sim.start(key, mode, self.keys(account_id), tx).await?;
        Ok(Running {
            key,
            session,
            events,
        })
    }

    async fn start(&self, account_id: i64, generation: i64, mode: StartMode) -> Running {
        self.try_start(account_id, generation, mode)
            .await
            .expect("the session starts")
    }

    /// A connected session: stored credentials for `phone`, then a resume.
    async fn connected(&self, account_id: i64, phone: &str) -> Running {
        self.keys(account_id)
            .save(domain::status::Provider::Sim, super::credentials(phone))
            .await
            .expect("credentials saved");
        let mut running = self.start(account_id, 1, StartMode::Resume).await;
        assert_eq!(
            running.next().await,
            SessionEvent::Connected {
                phone: phone.to_owned()
            }
        );
        running
    }
}

/// Equal up to tokio's timer granularity (deadlines round up to the next millisecond).
fn assert_about(actual: Duration, expected: Duration, what: &str) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(10),
        "{what}: expected {expected:?}, got {actual:?}"
    );
}

/// A message id no other send in the test binary uses.
fn next_id() -> MessageId {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    MessageId::for_command(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn text(body: &str) -> OutgoingMessage {
    OutgoingMessage::Text(body.to_owned())
}

#[test]
fn helpers_look_like_whatsapp() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_ne!(qr_code(), qr_code());
    assert_eq!(default_phone(1), "15550100001");
    assert_eq!(default_phone(0).len(), 11);
    assert_eq!(default_phone(i64::MAX).len(), 11);
    assert_eq!(default_phone(-5).len(), 11);
}
