//! The simulator seen through the seam, as the session manager sees it.
//!
//! A paused tokio clock and SQLite do not mix (while a query runs on SQLite's thread the clock
//! jumps ahead and the pool times out), so timing tests create the database first, then
//! `pause()`, and `resume()` before anything touches the database again.

use std::{collections::HashSet, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use testkit::TestDb;
use tokio::{
    sync::mpsc::{self, UnboundedReceiver, error::TryRecvError},
    time::{Instant, sleep},
};
use tower::ServiceExt;

use super::{
    Fault, PAIR_CODE_ALPHABET, SimError, SimOp, SimProvider, base64, control_router, default_phone,
    groups, pair_code, qr_code,
};
use crate::{
    keys::KeyStore,
    provider::{
        MessageId, OutgoingMessage, Provider, ProviderError, ProviderEvent, SendError, Session,
        SessionEvent, SessionKey, StartMode,
    },
};
use service::config::SimConfig;

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

#[tokio::test]
async fn qr_codes_rotate_at_whatsapps_pace_then_run_out() {
    let fixture = Fixture::new(config(0.5)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let started = Instant::now();
    let mut codes = HashSet::new();
    let mut due = Duration::ZERO;
    for index in 0..6 {
        let (code, valid_for) = pairing.next_qr().await;
        assert_about(
            started.elapsed(),
            due,
            "each code arrives as the last expires",
        );
        let expected = if index == 0 { 30 } else { 10 };
        assert_eq!(valid_for, Duration::from_secs(expected), "code {index}");
        assert!(code.starts_with("2@"), "{code}");
        assert_eq!(code.matches(',').count(), 3, "{code}");
        codes.insert(code);
        due += valid_for;
    }
    assert_eq!(codes.len(), 6, "every code differs");
    assert_eq!(pairing.next().await, SessionEvent::QrExhausted);
    assert_about(
        started.elapsed(),
        Duration::from_secs(80),
        "exhausted as the last expires",
    );
    pairing.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.scan(1, None),
        Err(SimError::NotPairing(1)),
        "nothing to scan once exhausted"
    );
    assert_eq!(
        fixture.sim.ops(1),
        vec![SimOp::Started {
            generation: 1,
            mode: "pair"
        }]
    );
}

#[tokio::test]
async fn a_scan_stores_credentials_then_reconnects_without_a_disconnect() {
    let fixture = Fixture::new(config(0.01)).await;
    assert_eq!(fixture.sim.scan(1, None), Err(SimError::NotPairing(1)));
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    pairing.next_qr().await;
    fixture.sim.scan(1, None).expect("the code on show scans");
    assert_eq!(
        fixture.sim.scan(1, None),
        Err(SimError::NotPairing(1)),
        "a code scans once"
    );

    let phone = default_phone(1);
    assert_eq!(phone, "15550100001");
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    let stored = fixture.keys(1).load().await.expect("key store readable");
    assert_eq!(
        stored.map(|data| serde_json::from_slice::<Value>(&data).expect("json")),
        Some(json!({ "phone": phone })),
        "credentials are stored before PairSuccess is reported"
    );
    let restart = Instant::now();
    assert_eq!(
        pairing.next().await,
        SessionEvent::Connected {
            phone: phone.clone()
        },
        "the 515 restart is silent"
    );
    assert!(restart.elapsed() >= Duration::from_millis(10));
    pairing.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "pair"
            },
            SimOp::Scanned { phone }
        ]
    );
}

#[tokio::test]
async fn a_scan_with_a_given_phone_uses_it() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut one = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let mut two = fixture.start(2, 1, StartMode::Pair { phone: None }).await;
    one.next_qr().await;
    two.next_qr().await;
    assert!(matches!(
        fixture.sim.scan(1, Some("12ab".to_owned())),
        Err(SimError::Invalid(_))
    ));
    for (account, running) in [(1, &mut one), (2, &mut two)] {
        fixture
            .sim
            .scan(account, Some("+4915112345678".to_owned()))
            .expect("scans");
        let phone = "4915112345678".to_owned();
        assert_eq!(
            running.next().await,
            SessionEvent::PairSuccess {
                phone: phone.clone()
            }
        );
        assert_eq!(running.next().await, SessionEvent::Connected { phone });
    }
}

#[tokio::test]
async fn a_scan_just_before_the_last_code_expires_still_connects() {
    let fixture = Fixture::new(config(0.01)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let mut last = Duration::ZERO;
    for _ in 0..6 {
        last = pairing.next_qr().await.1;
    }
    sleep(last - Duration::from_micros(100)).await;
    fixture
        .sim
        .scan(1, None)
        .expect("the last code is still on show");
    // Saving the credentials needs the database, which needs a running clock; the 15 ms
    // restart outlasts the 0.1 ms the code had left.
    tokio::time::resume();
    let phone = default_phone(1);
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
    pairing.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn auto_scan_waits_real_seconds_not_scaled_ones() {
    let fixture = Fixture::new(SimConfig {
        auto_scan_secs: Some(5),
        ..config(0.1)
    })
    .await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let (_, valid_for) = pairing.next_qr().await;
    assert_eq!(valid_for, Duration::from_secs(6));
    sleep(Duration::from_millis(4990)).await;
    assert_eq!(fixture.sim.ops(1).len(), 1, "not scanned before 5 s");
    tokio::time::resume();
    let phone = default_phone(1);
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
    assert!(matches!(
        fixture.sim.ops(1).as_slice(),
        [SimOp::Started { .. }, SimOp::Scanned { .. }]
    ));
}

fn by_phone(raw: &str) -> StartMode {
    StartMode::Pair {
        phone: Some(domain::account::PhoneNumber::parse(raw).expect("a phone number")),
    }
}

fn key(account_id: i64, generation: i64) -> SessionKey {
    SessionKey {
        account_id,
        generation,
    }
}

#[test]
fn pairing_codes_look_like_whatsapps_and_are_predictable() {
    let code = pair_code(key(1, 1));
    assert_eq!(code.len(), 8, "{code}");
    assert!(
        code.bytes().all(|b| PAIR_CODE_ALPHABET.contains(&b)),
        "{code}"
    );
    assert_eq!(code, pair_code(key(1, 1)), "the same for the same session");
    let others: HashSet<String> = [key(1, 2), key(2, 1), key(2, 2), key(1_000_001, 1)]
        .into_iter()
        .map(pair_code)
        .chain([code.clone()])
        .collect();
    assert_eq!(others.len(), 5, "differs by account and generation");
    assert_eq!(
        domain::pairing::display_pair_code(&code),
        format!("{}-{}", &code[..4], &code[4..])
    );
}

#[tokio::test]
async fn a_pairing_by_phone_shows_a_code_that_links_that_phone() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut pairing = fixture.start(1, 3, by_phone("+44 7700 900123")).await;
    pairing.next_qr().await;
    let (code, valid_for) = pairing.next_pair_code().await;
    assert_eq!(code, pair_code(key(1, 3)));
    assert_eq!(valid_for, Duration::from_millis(1800), "180 s × 0.01");
    // Entering the code on the phone is the simulator's scan; the phone is the one asked for.
    fixture.sim.scan(1, None).expect("the code is on show");
    let phone = "447700900123".to_owned();
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(
        pairing.next().await,
        SessionEvent::Connected {
            phone: phone.clone()
        }
    );
    pairing.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 3,
                mode: "pair"
            },
            SimOp::Scanned { phone }
        ]
    );
}

#[tokio::test]
async fn a_code_outlasts_the_qr_codes_then_the_pairing_runs_out() {
    let fixture = Fixture::new(config(0.5)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, by_phone("447700900123")).await;
    let started = Instant::now();
    pairing.next_qr().await;
    let (_, valid_for) = pairing.next_pair_code().await;
    assert_eq!(valid_for, Duration::from_secs(90));
    assert_about(started.elapsed(), Duration::ZERO, "with the first QR code");
    for _ in 1..6 {
        pairing.next_qr().await;
    }
    assert_about(
        started.elapsed(),
        Duration::from_secs(70),
        "the last QR code",
    );
    assert_eq!(pairing.next().await, SessionEvent::QrExhausted);
    assert_about(
        started.elapsed(),
        Duration::from_secs(90),
        "over once the code has expired too",
    );
    pairing.assert_quiet(Duration::from_secs(600)).await;
}

#[tokio::test]
async fn a_code_entered_after_the_last_qr_code_still_links() {
    let fixture = Fixture::new(config(0.01)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, by_phone("447700900123")).await;
    pairing.next_qr().await;
    pairing.next_pair_code().await;
    let mut last = Duration::ZERO;
    for _ in 1..6 {
        last = pairing.next_qr().await.1;
    }
    // The QR codes are gone (1.6 s in all); the code lasts 1.8 s.
    sleep(last + Duration::from_millis(100)).await;
    fixture
        .sim
        .scan(1, None)
        .expect("the code can still be entered");
    tokio::time::resume();
    let phone = "447700900123".to_owned();
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
}

#[tokio::test]
async fn resume_connects_with_the_stored_phone() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(3, "15557654321").await;
    assert_eq!(
        fixture.sim.ops(3),
        vec![SimOp::Started {
            generation: 1,
            mode: "resume"
        }]
    );
    assert_eq!(running.session.groups().await.map(|g| g.len()), Ok(12));
}

#[tokio::test]
async fn resume_without_credentials_is_refused() {
    let fixture = Fixture::new(config(0.01)).await;
    let result = fixture.try_start(4, 1, StartMode::Resume).await;
    assert_eq!(
        result.err(),
        Some(ProviderError(
            "no stored credentials to resume with".to_owned()
        ))
    );
    assert_eq!(fixture.sim.ops(4), vec![]);
}

#[tokio::test]
async fn sends_are_recorded_after_the_simulated_latency() {
    let fixture = Fixture::new(config(0.1)).await;
    let running = fixture.connected(1, "15550100001").await;
    let groups = running.session.groups().await.expect("groups");
    let sent_at = Instant::now();
    let message_id = next_id();
    let sent = running
        .session
        .send(&groups[3].jid, &text("Choir at 7!"), &message_id)
        .await
        .expect("sent");
    assert!(
        sent_at.elapsed() >= Duration::from_millis(40),
        "400 ms × 0.1"
    );
    let id = &sent.wa_message_id;
    assert_eq!(id, message_id.as_str(), "the id it was sent as");

    let rows = fixture.sim.sent(1).await.expect("outbox readable");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].group_jid, groups[3].jid);
    assert_eq!(rows[0].body, "Choir at 7!");
    assert_eq!(rows[0].kind, domain::status::MessageKind::Text);
    assert_eq!(&rows[0].wa_message_id, id);
    assert_eq!(fixture.sim.sent(2).await.map(|rows| rows.len()), Ok(0));
}

#[tokio::test]
async fn send_faults_apply_in_order() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let jid = running.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    fixture
        .sim
        .inject(1, Fault::RateLimit { count: 1 })
        .expect("injected");
    fixture
        .sim
        .inject(1, Fault::FailSends { count: 2 })
        .expect("injected");
    let failure = Err(SendError::Transient("simulated send failure".to_owned()));
    assert_eq!(
        running.session.send(&jid, &text("a"), &next_id()).await,
        failure
    );
    assert_eq!(
        running.session.send(&jid, &text("b"), &next_id()).await,
        failure
    );
    assert_eq!(
        running.session.send(&jid, &text("c"), &next_id()).await,
        Err(SendError::RateLimited)
    );
    assert!(
        running
            .session
            .send(&jid, &text("d"), &next_id())
            .await
            .is_ok()
    );
    assert_eq!(
        running
            .session
            .send("120363000000000000@g.us", &text("e"), &next_id())
            .await,
        Err(SendError::Permanent(
            "this account is not a participant of that group".to_owned()
        ))
    );
    let bodies: Vec<_> = fixture
        .sim
        .sent(1)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| row.body)
        .collect();
    assert_eq!(bodies, ["d"]);
}

#[tokio::test]
async fn a_message_id_the_group_already_has_is_accepted_but_not_delivered_again() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let groups = running.session.groups().await.expect("groups");
    let id = next_id();
    let first = running
        .session
        .send(&groups[0].jid, &text("Choir at 7!"), &id)
        .await
        .expect("sent");
    let again = running
        .session
        .send(&groups[0].jid, &text("Choir at 7!"), &id)
        .await
        .expect("accepted");
    assert_eq!(again, first);
    // Another group is another chat: the id is new there.
    running
        .session
        .send(&groups[1].jid, &text("Choir at 7!"), &id)
        .await
        .expect("sent");
    let rows = fixture.sim.sent(1).await.expect("outbox");
    let jids: Vec<_> = rows.iter().map(|row| row.group_jid.as_str()).collect();
    assert_eq!(jids, [groups[0].jid.as_str(), groups[1].jid.as_str()]);
    assert!(rows.iter().all(|row| row.wa_message_id == id.as_str()));
    // The repeat is dropped but counted, for checks that look for repeats.
    let repeats: Vec<_> = rows.iter().map(|row| row.repeats).collect();
    assert_eq!(repeats, [1, 0]);
}

#[tokio::test]
async fn faults_after_sending_leave_the_message_delivered() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(1, "15550100001").await;
    let jid = running.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    fixture
        .sim
        .inject(1, Fault::LoseAnswers { count: 1 })
        .expect("injected");
    let lost = next_id();
    assert_eq!(
        running.session.send(&jid, &text("lost"), &lost).await,
        Err(SendError::Ambiguous(
            "simulated connection loss right after the write".to_owned()
        ))
    );
    fixture
        .sim
        .inject(1, Fault::FailAfterSending { count: 1 })
        .expect("injected");
    let failed = next_id();
    assert_eq!(
        running.session.send(&jid, &text("failed"), &failed).await,
        Err(SendError::Transient(
            "simulated failure after sending".to_owned()
        ))
    );
    // Sent again as the same id: acknowledged, and the group still has each once.
    assert!(
        running
            .session
            .send(&jid, &text("failed"), &failed)
            .await
            .is_ok()
    );
    let bodies: Vec<_> = fixture
        .sim
        .sent(1)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| row.body)
        .collect();
    assert_eq!(bodies, ["lost", "failed"]);
}

#[tokio::test]
async fn nothing_is_sent_or_listed_before_connecting() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    let jid = groups::group_set(&default_phone(1), 1)[0].jid.clone();
    assert_eq!(
        pairing.session.send(&jid, &text("hi"), &next_id()).await,
        Err(SendError::NotConnected)
    );
    assert!(pairing.session.groups().await.is_err());
}

#[tokio::test]
async fn faults_for_an_account_without_a_session() {
    let fixture = Fixture::new(config(0.01)).await;
    for fault in [
        Fault::Disconnect,
        Fault::LogOut,
        Fault::TempBan { secs: 60 },
    ] {
        assert_eq!(
            fixture.sim.inject(9, fault),
            Err(SimError::NoLiveSession(9))
        );
    }
    assert!(matches!(
        fixture.sim.inject(9, Fault::SetGroupCount { count: 1001 }),
        Err(SimError::Invalid(_))
    ));
    fixture
        .sim
        .inject(9, Fault::FailSends { count: 1 })
        .expect("remembered");
    fixture
        .sim
        .inject(9, Fault::SetGroupCount { count: 2 })
        .expect("remembered");

    let running = fixture.connected(9, "15550009999").await;
    let groups = running.session.groups().await.expect("groups");
    assert_eq!(groups.len(), 2, "the remembered group count applies");
    assert!(matches!(
        running
            .session
            .send(&groups[0].jid, &text("x"), &next_id())
            .await,
        Err(SendError::Transient(_))
    ));
    assert!(
        running
            .session
            .send(&groups[0].jid, &text("y"), &next_id())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn connection_faults_end_the_session() {
    let fixture = Fixture::new(config(0.01)).await;
    let cases = [
        (Fault::Disconnect, "simulated connection drop"),
        (Fault::LogOut, "401: the device was removed from the phone"),
        (
            Fault::TempBan { secs: 3600 },
            "402: temporarily banned by WhatsApp",
        ),
    ];
    for (account, (fault, expected)) in (1..).zip(cases) {
        let mut running = fixture.connected(account, &default_phone(account)).await;
        let jid = running.session.groups().await.expect("groups")[0]
            .jid
            .clone();
        let before = chrono::Utc::now();
        fixture
            .sim
            .inject(account, fault.clone())
            .expect("injected");
        match (running.next().await, &fault) {
            (SessionEvent::Disconnected { reason }, Fault::Disconnect)
            | (SessionEvent::LoggedOut { reason }, Fault::LogOut) => assert_eq!(reason, expected),
            (SessionEvent::Banned { reason, until }, Fault::TempBan { .. }) => {
                assert_eq!(reason, expected);
                let until = until.expect("a ban end");
                assert!(until >= before + chrono::Duration::seconds(3600));
                assert!(until <= chrono::Utc::now() + chrono::Duration::seconds(3600));
            }
            (other, _) => panic!("{fault:?} reported {other:?}"),
        }
        assert_eq!(
            running.session.send(&jid, &text("x"), &next_id()).await,
            Err(SendError::NotConnected)
        );
        assert_eq!(
            fixture.sim.inject(account, Fault::Disconnect),
            Err(SimError::NoLiveSession(account)),
            "the session has ended"
        );
        running.assert_quiet(Duration::from_millis(100)).await;
    }
}

#[test]
fn group_sets_are_deterministic_and_distinct() {
    let phone = "15550100001";
    let set = groups::group_set(phone, 300);
    assert_eq!(set.len(), 300);
    assert_eq!(set, groups::group_set(phone, 300), "stable per phone");
    let jids: HashSet<_> = set.iter().map(|g| g.jid.as_str()).collect();
    let names: HashSet<_> = set.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(jids.len(), 300);
    assert_eq!(names.len(), 300);
    for group in &set {
        let digits = group.jid.strip_suffix("@g.us").expect("a group jid");
        assert_eq!(digits.len(), 18, "{}", group.jid);
        assert!(digits.starts_with("120363"), "{}", group.jid);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{}", group.jid);
        assert!((2..=1024).contains(&group.participants), "{group:?}");
        assert!(!group.name.is_empty());
        assert!(groups::is_member(phone, 300, &group.jid));
        assert!(!groups::is_member(phone, 0, &group.jid));
    }
    assert!(set.iter().any(|g| g.participants >= 250), "some big groups");
    assert!(set.iter().filter(|g| g.participants < 50).count() > 150);

    let other = groups::group_set("15550100002", 300);
    assert!(other.iter().all(|g| !jids.contains(g.jid.as_str())));
    assert!(!groups::is_member(phone, 300, &other[0].jid));
    assert!(!groups::is_member(phone, 300, "not a jid"));
    assert_eq!(groups::group_set(phone, 5000).len(), 1000, "capped");
}

#[tokio::test]
async fn set_group_count_shrinks_the_group_set() {
    let fixture = Fixture::new(SimConfig {
        group_count: 300,
        ..config(0.01)
    })
    .await;
    let running = fixture.connected(1, "15550100001").await;
    let before = running.session.groups().await.expect("groups");
    assert_eq!(before.len(), 300);
    fixture
        .sim
        .inject(1, Fault::SetGroupCount { count: 5 })
        .expect("injected");
    let after = running.session.groups().await.expect("groups");
    assert_eq!(after, before[..5]);
    assert!(matches!(
        running
            .session
            .send(&before[10].jid, &text("gone"), &next_id())
            .await,
        Err(SendError::Permanent(_))
    ));
}

#[tokio::test]
async fn logout_records_whether_the_credentials_were_still_stored() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut first = fixture.connected(1, "15550100001").await;
    first.session.logout().await.expect("logged out");
    assert_eq!(
        first.next().await,
        SessionEvent::LoggedOut {
            reason: "logged out by Herald".to_owned()
        }
    );
    first.session.logout().await.expect("idempotent");
    first.assert_quiet(Duration::from_millis(100)).await;
    assert!(matches!(
        first.session.send("x@g.us", &text("x"), &next_id()).await,
        Err(SendError::NotConnected)
    ));
    assert_eq!(
        fixture.sim.ops(1).last(),
        Some(&SimOp::LoggedOut {
            had_credentials: true
        })
    );
    first.session.stop().await;
    first.assert_quiet(Duration::from_millis(100)).await;

    let second = fixture.connected(2, "15550100002").await;
    fixture.keys(2).wipe().await.expect("wiped");
    second.session.logout().await.expect("logged out");
    assert_eq!(
        fixture.sim.ops(2).last(),
        Some(&SimOp::LoggedOut {
            had_credentials: false
        })
    );
}

#[tokio::test]
async fn stop_reports_only_a_late_stream_close() {
    let fixture = Fixture::new(config(0.1)).await;
    let mut running = fixture.connected(1, "15550100001").await;
    tokio::time::pause();
    running.session.stop().await;
    let stopped = Instant::now();
    assert_eq!(
        running.next().await,
        SessionEvent::Disconnected {
            reason: "stream closed".to_owned()
        },
        "the stale generation's late close"
    );
    assert_about(stopped.elapsed(), Duration::from_millis(5), "50 ms × 0.1");
    running.session.stop().await;
    running.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "resume"
            },
            SimOp::Stopped { generation: 1 }
        ]
    );
}

#[tokio::test]
async fn stopping_a_pairing_session_stops_its_codes() {
    let fixture = Fixture::new(config(1.0)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    pairing.session.stop().await;
    assert!(matches!(
        pairing.next().await,
        SessionEvent::Disconnected { .. }
    ));
    pairing.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(fixture.sim.scan(1, None), Err(SimError::NotPairing(1)));
}

#[tokio::test]
async fn a_new_start_stops_a_still_live_session() {
    let fixture = Fixture::new(config(1.0)).await;
    tokio::time::pause();
    let mut old = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    old.next_qr().await;
    let mut new = fixture.start(1, 2, StartMode::Pair { phone: None }).await;
    new.next_qr().await;
    assert_eq!(
        old.next().await,
        SessionEvent::Disconnected {
            reason: "stream closed".to_owned()
        }
    );
    old.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "pair"
            },
            SimOp::Stopped { generation: 1 },
            SimOp::Started {
                generation: 2,
                mode: "pair"
            },
        ]
    );
    old.session.stop().await;
    assert_eq!(
        fixture.sim.ops(1).len(),
        3,
        "stopping it again changes nothing"
    );
}

async fn call(router: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a request");
    let response = router.clone().oneshot(request).await.expect("a response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON body")
    };
    (status, json)
}

#[tokio::test]
async fn the_control_router_scans_injects_and_lists() {
    let fixture = Fixture::new(config(0.01)).await;
    let router = control_router(fixture.sim.clone());

    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "account 1 has no session showing QR codes");

    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", r#"{"phone": "x"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].is_string());
    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", "{").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = call(&router, "POST", "/sim/accounts/1/scan", "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(matches!(
        pairing.next().await,
        SessionEvent::PairSuccess { .. }
    ));
    assert!(matches!(
        pairing.next().await,
        SessionEvent::Connected { .. }
    ));

    let (status, _) = call(
        &router,
        "POST",
        "/sim/accounts/1/faults",
        r#"{"fault": "fail_sends", "count": 1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&router, "POST", "/sim/accounts/1/faults", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid fault"))
    );
    let (status, _) = call(
        &router,
        "POST",
        "/sim/accounts/1/faults",
        r#"{"fault": "explode"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = call(
        &router,
        "POST",
        "/sim/accounts/2/faults",
        r#"{"fault": "disconnect"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "account 2 has no live session");

    let jid = pairing.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    assert!(
        pairing
            .session
            .send(&jid, &text("first"), &next_id())
            .await
            .is_err()
    );
    let sent = pairing
        .session
        .send(&jid, &text("second"), &next_id())
        .await
        .expect("sent");
    let (status, body) = call(&router, "GET", "/sim/accounts/1/messages", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    assert_eq!(body[0]["group_jid"], jid.as_str());
    assert_eq!(body[0]["kind"], "text");
    assert_eq!(body[0]["body"], "second");
    assert_eq!(body[0]["wa_message_id"], sent.wa_message_id.as_str());
    assert!(body[0]["sent_at"].is_string());

    let (status, body) = call(&router, "GET", "/sim/accounts/1/ops", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            { "op": "started", "generation": 1, "mode": "pair" },
            { "op": "scanned", "phone": default_phone(1) },
        ])
    );
    let (status, body) = call(&router, "GET", "/sim/accounts/abc/ops", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].is_string());
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
