//! The session manager's rules (docs/architecture.md, "Sessions"), each a regression test for a bug
//! the previous system shipped. A scripted provider stands in for WhatsApp: the test decides
//! exactly which event arrives, from which session generation, and when — so races are reproduced,
//! not hoped for.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chrono::Utc;
use domain::{
    bus::{Command, Event},
    status::{AccountStatus, Provider as ProviderKind},
};
use entity::{operators, wa_devices, whatsapp_accounts};
use runtime::config::SimConfig;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use testkit::TestDb;
use worker::{
    keys::KeyStore,
    provider::{
        EventSender, GroupInfo, MediaFile, MessageId, OutgoingMessage, Provider, ProviderError,
        ProviderEvent, SendError, SentMessage, Session, SessionEvent, SessionKey, StartMode,
        UploadedMedia, sim::SimProvider,
    },
    sessions::{Manager, Providers, SessionsHandle, Settings},
};

/// What the scripted provider saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Start(SessionKey, StartMode),
    /// `had_keys`: the account's key store still held credentials when logout was called.
    Logout {
        generation: i64,
        had_keys: bool,
    },
    Stop {
        generation: i64,
    },
}

#[derive(Clone, Default)]
struct Script {
    calls: Arc<Mutex<Vec<Call>>>,
    /// The event channel of each started session, newest last.
    senders: Arc<Mutex<Vec<(SessionKey, EventSender)>>>,
    /// When set, a started Resume session reports Connected with this phone at once.
    auto_connect: Arc<Mutex<Option<String>>>,
}

impl Script {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn starts(&self) -> Vec<(SessionKey, StartMode)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Start(key, mode) => Some((key, mode)),
                _ => None,
            })
            .collect()
    }

    /// The newest session of `account_id`.
    fn latest(&self, account_id: i64) -> (SessionKey, EventSender) {
        self.senders
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(k, _)| k.account_id == account_id)
            .cloned()
            .expect("a session was started")
    }

    /// Reports `event` as coming from `key`'s session.
    fn emit(&self, key: SessionKey, event: SessionEvent) {
        let senders = self.senders.lock().unwrap();
        let (_, tx) = senders
            .iter()
            .find(|(k, _)| *k == key)
            .expect("known session");
        tx.send(ProviderEvent { key, event }).unwrap();
    }
}

#[async_trait]
impl Provider for Script {
    async fn start(
        &self,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
        events: EventSender,
    ) -> Result<Box<dyn Session>, ProviderError> {
        let resume = mode == StartMode::Resume;
        self.calls.lock().unwrap().push(Call::Start(key, mode));
        self.senders.lock().unwrap().push((key, events.clone()));
        if resume && let Some(phone) = self.auto_connect.lock().unwrap().clone() {
            events
                .send(ProviderEvent {
                    key,
                    event: SessionEvent::Connected { phone },
                })
                .unwrap();
        }
        Ok(Box::new(ScriptedSession {
            key,
            keys,
            events,
            calls: self.calls.clone(),
        }))
    }
}

struct ScriptedSession {
    key: SessionKey,
    keys: KeyStore,
    events: EventSender,
    calls: Arc<Mutex<Vec<Call>>>,
}

#[async_trait]
impl Session for ScriptedSession {
    async fn send(
        &self,
        _: &str,
        _: &OutgoingMessage,
        _: &MessageId,
    ) -> Result<SentMessage, SendError> {
        Ok(SentMessage {
            wa_message_id: "SCRIPTED".into(),
        })
    }

    async fn upload(&self, _file: MediaFile) -> Result<UploadedMedia, SendError> {
        Err(SendError::Permanent(
            "the scripted provider has no media".into(),
        ))
    }

    async fn groups(&self) -> Result<Vec<GroupInfo>, ProviderError> {
        Ok(vec![GroupInfo {
            jid: "120363000000000001@g.us".into(),
            name: "Morning class".into(),
            participants: 12,
        }])
    }

    async fn logout(&self) -> Result<(), ProviderError> {
        let had_keys = self.keys.exists().await.unwrap();
        self.calls.lock().unwrap().push(Call::Logout {
            generation: self.key.generation,
            had_keys,
        });
        // Like whatsapp-rust: logging out reports LoggedOut, and the socket's close follows.
        for event in [
            SessionEvent::LoggedOut {
                reason: "logged out".into(),
            },
            SessionEvent::Disconnected {
                reason: "stream closed".into(),
            },
        ] {
            let _ = self.events.send(ProviderEvent {
                key: self.key,
                event,
            });
        }
        Ok(())
    }

    async fn stop(&self) {
        self.calls.lock().unwrap().push(Call::Stop {
            generation: self.key.generation,
        });
    }
}

struct Harness {
    db: TestDb,
    script: Script,
    sessions: SessionsHandle,
    operator_id: i64,
}

fn fast() -> Settings {
    Settings {
        reconnect_base: Duration::from_millis(100),
        reconnect_max: Duration::from_millis(400),
        down_alert_after: Duration::from_millis(600),
        group_sync_every: Duration::from_secs(3600),
        pair_window: Duration::from_secs(60),
        logout_connect_timeout: Duration::from_secs(2),
        tick: Duration::from_millis(50),
    }
}

async fn operator(db: &DatabaseConnection) -> i64 {
    let now = Utc::now();
    operators::ActiveModel {
        display_name: Set("Ops".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn account(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
    status: AccountStatus,
    phone: Option<&str>,
) -> i64 {
    let now = Utc::now();
    whatsapp_accounts::ActiveModel {
        operator_id: Set(operator_id),
        label: Set(label.into()),
        provider: Set(ProviderKind::Web),
        status: Set(status),
        session_generation: Set(0),
        phone_number: Set(phone.map(str::to_owned)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn give_keys(db: &DatabaseConnection, account_id: i64) {
    KeyStore::new(db.clone(), account_id)
        .save(ProviderKind::Web, b"device".to_vec())
        .await
        .unwrap();
}

impl Harness {
    /// A manager over a fresh database whose `web` provider is the script. `setup` runs before
    /// the manager starts (for what a previous run left behind).
    async fn start_after<F, Fut>(setup: F) -> Self
    where
        F: FnOnce(DatabaseConnection, i64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let db = TestDb::new().await;
        let operator_id = operator(&db.db).await;
        setup(db.db.clone(), operator_id).await;
        let script = Script::default();
        let providers = Providers {
            sim: SimProvider::new(db.db.clone(), SimConfig::default()),
            web: Arc::new(script.clone()),
        };
        let (sessions, _) = Manager::spawn(db.db.clone(), providers, fast())
            .await
            .unwrap();
        Self {
            db,
            script,
            sessions,
            operator_id,
        }
    }

    async fn start() -> Self {
        Self::start_after(|_, _| async {}).await
    }

    async fn account(&self, label: &str) -> i64 {
        account(
            &self.db.db,
            self.operator_id,
            label,
            AccountStatus::Unpaired,
            None,
        )
        .await
    }

    async fn run(&self, command: Command) {
        self.sessions.execute(0, command).await.unwrap();
    }

    async fn row(&self, account_id: i64) -> whatsapp_accounts::Model {
        whatsapp_accounts::Entity::find_by_id(account_id)
            .one(&self.db.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn keys(&self, account_id: i64) -> bool {
        wa_devices::Entity::find_by_id(account_id)
            .one(&self.db.db)
            .await
            .unwrap()
            .is_some()
    }

    /// Every event published for `account_id`, oldest first.
    async fn events(&self, account_id: i64) -> Vec<Event> {
        service::bus::events::after(&self.db.db, self.operator_id, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .filter(|e| e.account_id() == account_id)
            .collect()
    }

    /// Waits (bounded) until `check` holds for the account's row.
    async fn until(
        &self,
        account_id: i64,
        what: &str,
        check: impl Fn(&whatsapp_accounts::Model) -> bool,
    ) {
        for _ in 0..200 {
            if check(&self.row(account_id).await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{what}: account is {:?}", self.row(account_id).await);
    }

    /// Waits until the manager has handled everything sent so far (commands are serialised
    /// behind events already queued).
    async fn settle(&self) {
        // The manager drains provider events before it takes the next command, so a command's
        // answer means every event emitted before it has been handled. (This one fails: there
        // is no such simulated account.)
        let _ = self
            .sessions
            .execute(
                0,
                Command::SimScan {
                    account_id: -1,
                    phone: None,
                },
            )
            .await;
    }

    /// Pairs `account_id` through QR → scan → 515 → connected as `phone`.
    async fn pair_connected(&self, account_id: i64, phone: &str) -> SessionKey {
        self.run(Command::Pair {
            account_id,
            phone: None,
        })
        .await;
        let (key, _) = self.script.latest(account_id);
        self.script.emit(key, qr());
        // A provider stores the new credentials before it reports the scan.
        give_keys(&self.db.db, account_id).await;
        self.script.emit(
            key,
            SessionEvent::PairSuccess {
                phone: phone.into(),
            },
        );
        self.script.emit(
            key,
            SessionEvent::Connected {
                phone: phone.into(),
            },
        );
        self.until(account_id, "connected", |a| {
            a.status == AccountStatus::Connected
        })
        .await;
        key
    }
}

fn qr() -> SessionEvent {
    SessionEvent::Qr {
        code: "2@scripted,code,one".into(),
        valid_for: Duration::from_secs(60),
    }
}

fn has_kind(events: &[Event], kind: &str) -> bool {
    events
        .iter()
        .any(|e| domain::bus::stored::split(e).0 == kind)
}

#[tokio::test]
async fn a_close_event_from_an_older_generation_is_ignored() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let old = h.pair_connected(id, "15550000001").await;

    // Re-pair: generation 2 is showing codes when generation 1's socket finally reports closing.
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (new, _) = h.script.latest(id);
    assert!(new.generation > old.generation);
    h.script.emit(new, qr());
    h.script.emit(
        old,
        SessionEvent::Disconnected {
            reason: "stream closed".into(),
        },
    );
    h.script.emit(
        old,
        SessionEvent::LoggedOut {
            reason: "401".into(),
        },
    );
    h.settle().await;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Pending, "{row:?}");
    assert!(row.last_qr_png.is_some(), "the new code is still showing");
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.disconnected"), "{events:?}");
    assert!(!has_kind(&events, "session.logged_out"), "{events:?}");
    // Nothing reconnected the old session either.
    assert_eq!(
        h.script
            .starts()
            .iter()
            .filter(|(_, mode)| *mode == StartMode::Resume)
            .count(),
        0
    );
}

#[tokio::test]
async fn the_515_after_a_scan_ends_in_connected_not_timeout() {
    let h = Harness::start().await;
    let id = h.account("Gym").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(id);
    h.script.emit(key, qr());
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "15550000002".into(),
        },
    );
    // While WhatsApp restarts the stream (515), the scanned code's timer runs out and the
    // library reports its codes exhausted; then the login completes.
    h.script.emit(key, qr());
    h.script.emit(key, SessionEvent::QrExhausted);
    h.settle().await;
    assert_eq!(h.row(id).await.status, AccountStatus::Pending);
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000002".into(),
        },
    );
    h.until(id, "connected after the restart", |a| {
        a.status == AccountStatus::Connected
    })
    .await;
    let row = h.row(id).await;
    assert_eq!(row.phone_number.as_deref(), Some("15550000002"));
    assert!(row.last_qr_png.is_none() && row.last_qr_code.is_none());
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.timeout"), "{events:?}");
    assert!(has_kind(&events, "session.paired") && has_kind(&events, "session.connected"));
}

#[tokio::test]
async fn a_pairing_by_phone_number_stores_and_announces_its_code() {
    let h = Harness::start().await;
    let id = h.account("Florist").await;
    let phone = domain::account::PhoneNumber::parse("+44 7700 900123").unwrap();
    h.run(Command::Pair {
        account_id: id,
        phone: Some(phone.clone()),
    })
    .await;
    let (key, _) = h.script.latest(id);
    assert_eq!(
        h.script.starts().last().map(|(_, mode)| mode.clone()),
        Some(StartMode::Pair { phone: Some(phone) }),
        "the provider is asked for a code for that phone"
    );
    h.script.emit(key, qr());
    h.script.emit(
        key,
        SessionEvent::PairCode {
            code: "ab3defgh".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    h.until(id, "code stored", |a| a.last_pair_code.is_some())
        .await;
    let row = h.row(id).await;
    assert_eq!(
        row.last_pair_code.as_deref(),
        Some("AB3D-EFGH"),
        "as WhatsApp shows it"
    );
    assert_eq!(row.status, AccountStatus::Pending);
    let announced = h.events(id).await.into_iter().find_map(|e| match e {
        Event::PairCode {
            generation,
            code,
            expires_at,
            ..
        } => Some((generation, code, expires_at)),
        _ => None,
    });
    let (generation, code, expires_at) = announced.expect("a session.pair_code event");
    assert_eq!((generation, code.as_str()), (key.generation, "AB3D-EFGH"));
    let left = expires_at - Utc::now();
    assert!(left > chrono::Duration::seconds(170) && left <= chrono::Duration::seconds(180));

    // The code was typed on the phone: a late code must not undo that.
    give_keys(&h.db.db, id).await;
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "447700900123".into(),
        },
    );
    h.script.emit(
        key,
        SessionEvent::PairCode {
            code: "zzzzzzzz".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "447700900123".into(),
        },
    );
    h.until(id, "connected", |a| a.status == AccountStatus::Connected)
        .await;
    let row = h.row(id).await;
    assert_eq!(row.phone_number.as_deref(), Some("447700900123"));
    assert_eq!(row.last_pair_code, None, "cleared with the QR code");
    let codes = h
        .events(id)
        .await
        .iter()
        .filter(|e| matches!(e, Event::PairCode { .. }))
        .count();
    assert_eq!(codes, 1, "nothing announced after the code was entered");
}

#[tokio::test]
async fn unscanned_codes_running_out_is_a_timeout() {
    let h = Harness::start().await;
    let id = h.account("Shop").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(id);
    h.script.emit(key, qr());
    h.script.emit(key, SessionEvent::QrExhausted);
    h.until(id, "unpaired after timeout", |a| {
        a.status == AccountStatus::Unpaired
    })
    .await;
    let row = h.row(id).await;
    assert!(row.status_reason.unwrap().contains("timed out"));
    assert!(row.last_qr_png.is_none());
    assert!(has_kind(&h.events(id).await, "session.timeout"));
    assert!(h.script.calls().contains(&Call::Stop {
        generation: key.generation
    }));
}

#[tokio::test]
async fn back_then_pair_again_works_at_once() {
    let h = Harness::start().await;
    let id = h.account("Choir").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (first, _) = h.script.latest(id);
    h.script.emit(first, qr());
    // The operator closes the modal and presses Pair again straight away.
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (second, _) = h.script.latest(id);
    assert_eq!(second.generation, first.generation + 1);
    assert!(h.script.calls().contains(&Call::Stop {
        generation: first.generation
    }));
    // The first session's late expiry must not end the second pairing.
    h.script.emit(first, SessionEvent::QrExhausted);
    h.script.emit(second, qr());
    h.script.emit(
        second,
        SessionEvent::PairSuccess {
            phone: "15550000003".into(),
        },
    );
    h.script.emit(
        second,
        SessionEvent::Connected {
            phone: "15550000003".into(),
        },
    );
    h.until(id, "connected on the second try", |a| {
        a.status == AccountStatus::Connected
    })
    .await;
    assert!(!has_kind(&h.events(id).await, "session.timeout"));
    assert_eq!(h.row(id).await.session_generation, second.generation);
}

#[tokio::test]
async fn unpair_never_flips_to_disconnected_nor_reconnects() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let key = h.pair_connected(id, "15550000004").await;
    assert!(h.keys(id).await);

    h.run(Command::Unpair { account_id: id }).await;
    // The session's own LoggedOut and close arrive after the unpair: both must be ignored, and
    // no reconnect may follow (well past the reconnect backoff).
    tokio::time::sleep(Duration::from_millis(600)).await;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Unpaired, "{row:?}");
    assert_eq!(row.status_reason, None);
    assert_eq!(row.phone_number, None, "the row is kept, the link is not");
    assert!(!h.keys(id).await, "keys wiped");
    assert!(h.script.calls().contains(&Call::Logout {
        generation: key.generation,
        had_keys: true
    }));
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.disconnected"), "{events:?}");
    assert!(!has_kind(&events, "session.logged_out"), "{events:?}");
    assert!(has_kind(&events, "session.unpaired"));
    assert_eq!(h.script.starts().len(), 1, "no reconnect after an unpair");
}

#[tokio::test]
async fn a_duplicate_phone_resets_the_new_row_and_names_the_holder() {
    let h = Harness::start().await;
    let first = h.account("Bakery").await;
    h.pair_connected(first, "15550000005").await;
    let second = h.account("Bakery (new phone)").await;
    h.run(Command::Pair {
        account_id: second,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(second);
    h.script.emit(key, qr());
    give_keys(&h.db.db, second).await;
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "15550000005".into(),
        },
    );
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000005".into(),
        },
    );
    h.until(second, "reset to unpaired", |a| {
        a.status == AccountStatus::Unpaired && a.status_reason.is_some()
    })
    .await;

    let row = h.row(second).await;
    assert_eq!(row.phone_number, None);
    assert!(row.status_reason.unwrap().contains("Bakery"));
    assert!(!h.keys(second).await, "the new link's keys are wiped");
    assert!(
        h.script.calls().contains(&Call::Logout {
            generation: key.generation,
            had_keys: true
        }),
        "the duplicate device is unlinked from the phone"
    );
    let events = h.events(second).await;
    assert!(events.contains(&Event::Duplicate {
        account_id: second,
        phone: "15550000005".into(),
        existing_account_id: first,
        existing_label: "Bakery".into(),
    }));
    // The account that held the phone first is untouched.
    let holder = h.row(first).await;
    assert_eq!(holder.status, AccountStatus::Connected);
    assert!(h.keys(first).await);
}

#[tokio::test]
async fn delete_logs_out_before_wiping_keys() {
    let h = Harness::start().await;
    let id = h.account("Yoga").await;
    let key = h.pair_connected(id, "15550000006").await;

    assert!(
        service::accounts::delete(&h.db.db, service::audit::Actor::Operator, h.operator_id, id)
            .await
            .unwrap()
    );
    h.run(Command::Delete { account_id: id }).await;

    assert!(h.script.calls().contains(&Call::Logout {
        generation: key.generation,
        had_keys: true
    }));
    assert!(!h.keys(id).await);
}

#[tokio::test]
async fn delete_of_an_offline_account_connects_briefly_to_log_out() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(&db, operator_id, "Dormant", AccountStatus::LoggedOut, None).await;
        give_keys(&db, id).await;
    })
    .await;
    let id = service::accounts::list(&h.db.db, h.operator_id)
        .await
        .unwrap()[0]
        .id;
    *h.script.auto_connect.lock().unwrap() = Some("15550000007".into());
    assert!(
        h.script.starts().is_empty(),
        "a logged-out account is not resumed"
    );

    service::accounts::delete(&h.db.db, service::audit::Actor::Operator, h.operator_id, id)
        .await
        .unwrap();
    h.run(Command::Delete { account_id: id }).await;

    let calls = h.script.calls();
    assert!(
        matches!(calls[0], Call::Start(_, StartMode::Resume)),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, Call::Logout { had_keys: true, .. })),
        "{calls:?}"
    );
    assert!(!h.keys(id).await);
}

#[tokio::test]
async fn pending_rows_left_by_a_crash_become_unpaired() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(
            &db,
            operator_id,
            "Half-paired",
            AccountStatus::Pending,
            None,
        )
        .await;
        give_keys(&db, id).await;
    })
    .await;
    let id = service::accounts::list(&h.db.db, h.operator_id)
        .await
        .unwrap()[0]
        .id;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Unpaired);
    assert!(row.status_reason.unwrap().contains("restart"));
    assert!(!h.keys(id).await, "half-made keys are wiped");
    assert!(h.script.starts().is_empty(), "nothing is resumed for it");
    let events = h.events(id).await;
    assert!(
        has_kind(&events, "session.error"),
        "an open QR view learns why"
    );
}

#[tokio::test]
async fn accounts_with_credentials_resume_on_start() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(
            &db,
            operator_id,
            "Bakery",
            AccountStatus::Connected,
            Some("15550000008"),
        )
        .await;
        give_keys(&db, id).await;
        // Neither of these is resumed: one has no keys, one was logged out.
        account(&db, operator_id, "Gym", AccountStatus::Connected, None).await;
        let out = account(&db, operator_id, "Shop", AccountStatus::LoggedOut, None).await;
        give_keys(&db, out).await;
    })
    .await;
    let starts = h.script.starts();
    assert_eq!(starts.len(), 1, "{starts:?}");
    let (key, mode) = starts[0].clone();
    assert_eq!(mode, StartMode::Resume);
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000008".into(),
        },
    );
    h.until(key.account_id, "connected again", |a| {
        a.status == AccountStatus::Connected && a.last_connected_at.is_some()
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_reconnects_with_backoff_and_alerts_when_down_too_long() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let key = h.pair_connected(id, "15550000009").await;

    h.script.emit(
        key,
        SessionEvent::Disconnected {
            reason: "connection reset".into(),
        },
    );
    h.until(id, "disconnected", |a| {
        a.status == AccountStatus::Disconnected
    })
    .await;
    // The first retry comes after the backoff, as a resume under a new generation.
    let mut resumed = None;
    for _ in 0..100 {
        resumed = h
            .script
            .starts()
            .into_iter()
            .find(|(_, mode)| *mode == StartMode::Resume);
        if resumed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (retry, _) = resumed.expect("a reconnect attempt");
    assert!(retry.generation > key.generation);
    // It fails too; still down after the alert threshold → one alert.
    h.script.emit(
        retry,
        SessionEvent::Disconnected {
            reason: "connection refused".into(),
        },
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let alerts: Vec<Event> = h
        .events(id)
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::AccountDown { .. }))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(matches!(&alerts[0], Event::AccountDown { label, .. } if label == "Bakery"));

    // The next attempt succeeds.
    let (latest, _) = h.script.latest(id);
    assert!(latest.generation > retry.generation, "kept retrying");
    h.script.emit(
        latest,
        SessionEvent::Connected {
            phone: "15550000009".into(),
        },
    );
    h.until(id, "reconnected", |a| a.status == AccountStatus::Connected)
        .await;
}

#[tokio::test]
async fn logged_out_and_banned_accounts_stay_down() {
    let h = Harness::start().await;
    let out = h.account("Out").await;
    let banned = h.account("Banned").await;
    let out_key = h.pair_connected(out, "15550000010").await;
    let banned_key = h.pair_connected(banned, "15550000011").await;

    h.script.emit(
        out_key,
        SessionEvent::LoggedOut {
            reason: "401: the device was removed from the phone".into(),
        },
    );
    h.script.emit(
        banned_key,
        SessionEvent::Banned {
            reason: "402: temporarily banned".into(),
            until: None,
        },
    );
    h.until(out, "logged out", |a| a.status == AccountStatus::LoggedOut)
        .await;
    h.until(banned, "banned", |a| a.status == AccountStatus::Banned)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert!(!h.keys(out).await, "a logged-out link's keys are useless");
    assert!(h.keys(banned).await, "a temporary ban may lift: keys kept");
    assert!(h.row(out).await.status_reason.unwrap().contains("401"));
    assert_eq!(h.script.starts().len(), 2, "no reconnect for either");
    assert!(has_kind(&h.events(out).await, "session.logged_out"));
    assert!(has_kind(&h.events(banned).await, "session.banned"));
}

#[tokio::test]
async fn groups_sync_on_connect() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    h.pair_connected(id, "15550000012").await;
    for _ in 0..100 {
        if has_kind(&h.events(id).await, "groups.synced") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let groups = service::accounts::groups(&h.db.db, id).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Morning class");
    assert_eq!(groups[0].participant_count, 12);
}

#[tokio::test]
async fn commands_for_a_missing_account_do_nothing() {
    let h = Harness::start().await;
    h.run(Command::Pair {
        account_id: 999,
        phone: None,
    })
    .await;
    h.run(Command::Unpair { account_id: 999 }).await;
    assert!(h.script.starts().is_empty());
}
