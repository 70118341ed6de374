//! The session manager's rules (docs/architecture.md, "Sessions"), each a regression test for a bug
//! the previous system shipped. A scripted provider stands in for WhatsApp: the test decides
//! exactly which event arrives, from which session generation, and when — so races are reproduced,
//! not hoped for.

mod connection;
mod deletion;
mod pairing;

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
use keystore::KeyStore;
use runtime::config::SimConfig;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use service::leases::Timing;
use testkit::TestDb;
use worker::{
    leases::Leases,
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
    /// The leases the manager runs accounts by: this one worker takes them all.
    leases: Leases,
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
        let leases = Leases::new(
            db.db.clone(),
            "sessions-test",
            Timing::with_ttl(Duration::from_secs(20)),
        );
        let (sessions, _) = Manager::spawn(db.db.clone(), providers, fast(), leases.clone());
        leases.run_accounts_with(vec![Arc::new(sessions.clone())]);
        leases.keep().await;
        Self {
            db,
            script,
            sessions,
            operator_id,
            leases,
        }
    }

    async fn start() -> Self {
        Self::start_after(|_, _| async {}).await
    }

    /// A new unpaired account, once this worker holds its lease (as the command router would
    /// wait for before running its commands).
    async fn account(&self, label: &str) -> i64 {
        let id = account(
            &self.db.db,
            self.operator_id,
            label,
            AccountStatus::Unpaired,
            None,
        )
        .await;
        self.leases.wake();
        testkit::eventually("the account's lease", || async {
            self.leases.holds(id).then_some(())
        })
        .await;
        id
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
