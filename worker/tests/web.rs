//! The real WhatsApp provider where WhatsApp cannot be reached — as on a machine without
//! internet, here a closed local port named by `WA_WEB_URL` — run as a real worker process: the
//! account says why, the log has one line per attempt with a growing delay, and the rest of
//! Herald carries on.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command as Process, Stdio},
    sync::{Arc, Mutex},
};

use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, Provider},
};
use entity::whatsapp_accounts;
use keystore::KeyStore;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::Value;
use service::{accounts, audit::Actor};
use testkit::{TestDb, eventually, seed};
use whatsapp_rust::wacore::store::{Device, traits::DeviceStore};
use worker::provider::{Provider as _, SessionKey, StartMode, web::WebProvider};

struct WorkerProcess {
    child: Child,
    control: String,
    /// Every JSON log line so far.
    log: Arc<Mutex<Vec<Value>>>,
}

impl WorkerProcess {
    async fn start(test: &TestDb, whatsapp_url: &str) -> Self {
        let port = testkit::free_port();
        let data_dir = tempfile::tempdir().expect("a data dir");
        let mut child = Process::new(env!("CARGO_BIN_EXE_herald-worker"))
            .env("DATABASE_URL", test.url.expose())
            .env("DATA_DIR", data_dir.path())
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("WA_WEB_URL", whatsapp_url)
            // The simulated account scans through the simulator's controls, served only when it
            // is the configured provider; the account on real WhatsApp keeps its own provider.
            .env("WA_PROVIDER", "sim")
            .env("SIM_TIME_SCALE", "0.05")
            .env("LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .spawn()
            .expect("herald-worker starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let parsed =
                    serde_json::from_str(&line).unwrap_or_else(|_| Value::String(line.clone()));
                lines.lock().unwrap().push(parsed);
            }
        });
        let control = format!("http://127.0.0.1:{port}");
        testkit::expect_up(&format!("{control}/health"), "herald-worker").await;
        Self {
            child,
            control,
            log,
        }
    }

    fn lines(&self) -> Vec<Value> {
        self.log.lock().unwrap().clone()
    }

    async fn scan(&self, account_id: i64) -> bool {
        reqwest::Client::new()
            .post(format!("{}/sim/accounts/{account_id}/scan", self.control))
            .json(&serde_json::json!({}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WhatsApp URL where nothing listens.
fn closed_port_url() -> String {
    format!("ws://127.0.0.1:{}/ws/chat", testkit::free_port())
}

async fn web_account(db: &DatabaseConnection, operator_id: i64, status: AccountStatus) -> i64 {
    let row = seed::account(db, operator_id, "Shop", status).await;
    let mut row: whatsapp_accounts::ActiveModel = row.into();
    row.provider = Set(Provider::Web);
    row.update(db).await.expect("a web account").id
}

async fn account(db: &DatabaseConnection, id: i64) -> whatsapp_accounts::Model {
    whatsapp_accounts::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .expect("the account")
}

#[tokio::test]
async fn a_linked_account_that_cannot_reach_whatsapp_says_why_and_retries_with_backoff() {
    let test = TestDb::new().await;
    let db = &test.db;
    let operator_id = seed::operator(db, 1001, "UTC").await.id;
    let shop = web_account(db, operator_id, AccountStatus::Connected).await;
    // A device linked earlier: the worker resumes it at start.
    let mut device = Device::new();
    device.pn = Some("15551234567@s.whatsapp.net".parse().unwrap());
    keystore::DbBackend::new(db.clone(), shop)
        .save(&device)
        .await
        .expect("the device is stored");

    let url = closed_port_url();
    let worker = WorkerProcess::start(&test, &url).await;

    let down = eventually("the account to show why it is down", || async {
        let row = account(db, shop).await;
        (row.status == AccountStatus::Disconnected).then_some(row)
    })
    .await;
    let reason = down.status_reason.unwrap_or_default();
    assert!(
        reason.starts_with(&format!("cannot reach WhatsApp at {url}")),
        "{reason}"
    );

    // Meanwhile a simulated account pairs and connects on the same worker.
    let bakery = accounts::add(
        db,
        Actor::Operator,
        operator_id,
        &AccountLabel::parse("Bakery").unwrap(),
        Provider::Sim,
    )
    .await
    .unwrap()
    .id;
    accounts::request(
        db,
        Actor::Operator,
        operator_id,
        &Command::Pair {
            account_id: bakery,
            phone: None,
        },
    )
    .await
    .unwrap();
    eventually("a QR code to scan", || async {
        worker.scan(bakery).await.then_some(())
    })
    .await;
    eventually("the simulated account to connect", || async {
        (account(db, bakery).await.status == AccountStatus::Connected).then_some(())
    })
    .await;

    // Three attempts: one line each, each delay about twice the last.
    let attempts = eventually("three logged attempts", || async {
        let attempts: Vec<Value> = worker
            .lines()
            .into_iter()
            .filter(|line| line["message"] == "connection dropped" && line["account_id"] == shop)
            .collect();
        (attempts.len() >= 3).then_some(attempts)
    })
    .await;
    for (n, line) in attempts.iter().take(3).enumerate() {
        assert_eq!(line["attempt"], n as u64 + 1, "{line}");
        assert!(
            line["reason"].as_str().unwrap_or_default().contains(&url),
            "{line}"
        );
        let delay = line["retry_in_ms"].as_u64().expect("a delay");
        let nominal = 2000 * (1 << n);
        assert!(
            delay >= nominal * 8 / 10 && delay <= nominal * 12 / 10,
            "attempt {}: {delay} ms, nominal {nominal} ms",
            n + 1
        );
    }
    // The library's own connect-failure lines stay out: one line per attempt is Herald's.
    let library_lines: Vec<Value> = worker
        .lines()
        .into_iter()
        .filter(|line| {
            line["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("whatsapp_rust::client::lifecycle"))
        })
        .collect();
    assert!(library_lines.is_empty(), "{library_lines:?}");
    let health = reqwest::get(format!("{}/health", worker.control))
        .await
        .unwrap();
    assert!(health.status().is_success());
}

#[tokio::test]
async fn pairing_while_whatsapp_cannot_be_reached_fails_with_the_reason_and_keeps_no_keys() {
    let test = TestDb::new().await;
    let db = &test.db;
    let operator_id = seed::operator(db, 1001, "UTC").await.id;
    let shop = web_account(db, operator_id, AccountStatus::Unpaired).await;
    let url = closed_port_url();
    let _worker = WorkerProcess::start(&test, &url).await;

    accounts::request(
        db,
        Actor::Operator,
        operator_id,
        &Command::Pair {
            account_id: shop,
            phone: None,
        },
    )
    .await
    .unwrap();
    let row = eventually("the pairing to fail", || async {
        let row = account(db, shop).await;
        (row.status == AccountStatus::Unpaired && row.status_reason.is_some()).then_some(row)
    })
    .await;
    let reason = row.status_reason.unwrap();
    assert!(
        reason.starts_with(&format!("Pairing failed: cannot reach WhatsApp at {url}")),
        "{reason}"
    );
    assert!(
        !KeyStore::new(db.clone(), shop).exists().await.unwrap(),
        "the half-made device is wiped"
    );
}

/// The library saves a fresh device from a background task that can still be writing when a
/// failed pairing's session is stopped; once the session manager has closed the session's key
/// store (as `stop_live` does), the wipe that follows is the last word.
#[tokio::test]
async fn a_stopped_session_writes_nothing_after_its_keys_are_wiped() {
    let test = TestDb::new().await;
    let db = &test.db;
    let operator_id = seed::operator(db, 1001, "UTC").await.id;
    let shop = web_account(db, operator_id, AccountStatus::Unpaired).await;
    let provider = WebProvider::new(Some(closed_port_url().parse().unwrap()));
    for generation in 1..=20 {
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let key = SessionKey {
            account_id: shop,
            generation,
        };
        let keys = KeyStore::new(db.clone(), shop);
        let session = provider
            .start(key, StartMode::Pair { phone: None }, keys.clone(), events)
            .await
            .expect("the client starts");
        received.recv().await.expect("the connection fails");
        session.stop().await;
        keys.close().await;
        KeyStore::new(db.clone(), shop).wipe().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !keys.exists().await.unwrap(),
            "attempt {generation}: the wiped device is back"
        );
    }
}
