//! Test support shared by every crate's tests: a fresh, migrated database per test, the rows
//! tests start from ([`seed`]), helpers for running the real binaries, and (feature
//! `fake-bot-api`) a fake Telegram Bot API.
//!
//! By default each test gets its own SQLite file. With `TEST_DATABASE_URL` naming a PostgreSQL
//! server, each test gets its own database on it, dropped afterwards — so one suite runs against
//! both engines unchanged (`make test` runs it twice).

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

#[cfg(feature = "fake-bot-api")]
pub mod fake_bot_api;
pub mod readme;
pub mod seed;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use runtime::config::{Backend, Config, DatabaseUrl};
use service::database;

pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    /// Server URL and database name to drop when the test ends (PostgreSQL only).
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh database with Herald's schema applied.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        database::migrate(&db.db, &db.url)
            .await
            .expect("migrations apply");
        db
    }

    /// A fresh database with no schema at all.
    pub async fn empty() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(server) => Self::postgres(server).await,
            None => Self::empty_sqlite().await,
        }
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// A fresh SQLite database whatever `TEST_DATABASE_URL` says, for behaviour only SQLite has.
    pub async fn sqlite() -> Self {
        let db = Self::empty_sqlite().await;
        database::migrate(&db.db, &db.url)
            .await
            .expect("migrations apply");
        db
    }

    async fn empty_sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}/herald.db", dir.path().display()))
            .expect("sqlite url");
        let db = database::connect(&url).await.expect("sqlite connects");
        Self {
            db,
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    async fn postgres(server: String) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "herald_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = Database::connect(&server)
            .await
            .expect("TEST_DATABASE_URL connects");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        let url = DatabaseUrl::parse(url.as_str()).expect("postgres url");
        let db = database::connect(&url)
            .await
            .expect("test database connects");
        Self {
            db,
            url,
            _dir: None,
            pg: Some((server, name)),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside async context; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let admin = Database::connect(&server).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

/// A configuration from exactly these variables (nothing from the process environment).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|key| vars.get(key).cloned().map(Ok)).expect("test configuration is valid")
}

/// Polls `url` until it answers 200, for up to `timeout`.
async fn wait_until_up(url: &str, timeout: std::time::Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Panics unless `url` answers 200 within 30 seconds; `what` names the process for the message.
pub async fn expect_up(url: &str, what: &str) {
    assert!(
        wait_until_up(url, std::time::Duration::from_secs(30)).await,
        "{what} did not come up at {url}"
    );
}

/// Sends `signal` and panics unless the child then exits successfully within 15 seconds.
pub async fn expect_clean_stop(child: &mut std::process::Child, signal: &str) {
    send_signal(child, signal);
    let status = wait_exit(child, std::time::Duration::from_secs(15)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "after SIG{signal}: exited with {status:?}"
    );
}

/// Sends `signal` (e.g. "TERM", "INT") to a child process.
fn send_signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits up to `timeout` for a child to exit; kills it and returns `None` if it does not.
async fn wait_exit(
    child: &mut std::process::Child,
    timeout: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Polls `check` every 20 ms until it gives `Some`, for up to 60 seconds; panics naming `what`.
pub async fn eventually<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    check: impl Fn() -> Fut,
) -> T {
    for _ in 0..3000 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A port that was free a moment ago, for binaries that must be told where to listen.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
