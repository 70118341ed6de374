//! What a worker lets out: the simulator's unauthenticated controls only when the simulator is
//! the configured provider, and never another operator's account through the duplicate-phone
//! check.

use std::time::Duration;

use domain::{
    account::AccountLabel,
    bus::{Command, Event},
    status::{AccountStatus, Provider},
};
use runtime::config::TelegramUserId;
use sea_orm::DatabaseConnection;
use serde_json::json;
use service::{accounts, audit::Actor, bus::events};
use testkit::TestDb;
use tokio::sync::oneshot;

struct Running {
    control: String,
    _stop: oneshot::Sender<()>,
}

impl Running {
    async fn start(db: &TestDb, provider: Option<&str>) -> Self {
        let mut vars = vec![
            ("DATABASE_URL", db.url.expose()),
            ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
            ("SIM_TIME_SCALE", "0.02"),
            ("RUST_LOG", "warn"),
        ];
        if let Some(provider) = provider {
            vars.push(("WA_PROVIDER", provider));
        }
        let worker = worker::Worker::start(testkit::config(&vars))
            .await
            .expect("worker starts");
        let control = format!("http://{}", worker.health_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(worker.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            control,
            _stop: stop,
        }
    }

    async fn get(&self, path: &str) -> reqwest::StatusCode {
        reqwest::get(format!("{}{path}", self.control))
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn a_worker_on_real_whatsapp_serves_no_simulator_controls() {
    let mut running = Vec::new();
    for provider in [None, Some("web")] {
        // One worker per database.
        let db = TestDb::new().await;
        let worker = Running::start(&db, provider).await;
        assert_eq!(worker.get("/health").await, 200, "{provider:?}");
        assert_eq!(
            worker.get("/sim/accounts/1/ops").await,
            404,
            "{provider:?}: the simulator's controls are not mounted"
        );
        let scan = reqwest::Client::new()
            .post(format!("{}/sim/accounts/1/scan", worker.control))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(scan, 404, "{provider:?}");
        running.push((worker, db));
    }
}

#[tokio::test]
async fn a_worker_on_the_simulator_serves_its_controls() {
    let db = TestDb::new().await;
    let worker = Running::start(&db, Some("sim")).await;
    assert_eq!(worker.get("/health").await, 200);
    assert_eq!(worker.get("/sim/accounts/1/ops").await, 200);
}

/// Waits (bounded) for the account's pairing outcome in its operator's event stream.
async fn outcome(db: &DatabaseConnection, operator_id: i64, after: i64, account_id: i64) -> Event {
    for _ in 0..400 {
        for stored in events::after(db, operator_id, after, 1000).await.unwrap() {
            if stored.event.account_id() == account_id
                && matches!(
                    stored.event,
                    Event::Connected { .. } | Event::Duplicate { .. } | Event::Error { .. }
                )
            {
                return stored.event;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no pairing outcome for account {account_id}");
}

async fn add(db: &DatabaseConnection, operator_id: i64, label: &str) -> i64 {
    accounts::add(
        db,
        Actor::Operator,
        operator_id,
        &AccountLabel::parse(label).unwrap(),
        Provider::Sim,
    )
    .await
    .unwrap()
    .id
}

/// Pairs through the bus and a simulated scan with `phone`; returns the outcome event.
async fn pair(
    db: &DatabaseConnection,
    worker: &Running,
    operator_id: i64,
    account_id: i64,
    phone: &str,
) -> Event {
    let cursor = events::latest_id(db).await.unwrap();
    accounts::request(
        db,
        Actor::Operator,
        operator_id,
        &Command::Pair {
            account_id,
            phone: None,
        },
    )
    .await
    .unwrap()
    .expect("the operator's account");
    let scanned = reqwest::Client::new();
    for _ in 0..400 {
        let status = scanned
            .post(format!("{}/sim/accounts/{account_id}/scan", worker.control))
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap()
            .status();
        if status == 204 {
            return outcome(db, operator_id, cursor, account_id).await;
        }
        // 409 until the QR code is showing.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("account {account_id} never showed a code to scan");
}

#[tokio::test]
async fn a_phone_linked_by_another_operator_is_refused_without_naming_their_account() {
    let db = TestDb::new().await;
    let worker = Running::start(&db, Some("sim")).await;
    service::operators::sync_whitelist(
        &db.db,
        &[TelegramUserId(42), TelegramUserId(43)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    let ops = service::operators::active(&db.db).await.unwrap();
    let (holder, newcomer) = (ops[0].id, ops[1].id);
    let theirs = add(&db.db, holder, "Secret bakery").await;
    let phone = "447700900123";
    let connected = pair(&db.db, &worker, holder, theirs, phone).await;
    assert!(
        matches!(connected, Event::Connected { .. }),
        "{connected:?}"
    );

    let mine = add(&db.db, newcomer, "Corner shop").await;
    let refused = pair(&db.db, &worker, newcomer, mine, phone).await;
    assert_eq!(
        refused,
        Event::Error {
            account_id: mine,
            message: "This phone is already linked to another operator's account".into(),
        }
    );
    let row = accounts::find(&db.db, newcomer, mine)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, AccountStatus::Unpaired);
    assert_eq!(row.phone_number, None);
    assert_eq!(
        row.status_reason.as_deref(),
        Some("This phone is already linked to another operator's account.")
    );
    // Nothing the newcomer can read names the holder's account.
    for stored in events::after(&db.db, newcomer, 0, 10_000).await.unwrap() {
        let seen = serde_json::to_string(&stored.event).unwrap();
        assert!(!seen.contains("Secret bakery"), "{seen}");
        assert!(
            !matches!(stored.event, Event::Duplicate { .. }),
            "{seen}: no other operator's account id"
        );
    }
    // The holder keeps the link.
    let kept = accounts::find(&db.db, holder, theirs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, AccountStatus::Connected);
}
