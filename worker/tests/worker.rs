//! The worker in-process and as a binary, on the test database engine.

use std::process::Command;

use chrono::Utc;
use domain::status::{AccountStatus, Provider};
use entity::{operators, whatsapp_accounts};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::Value;
use testkit::TestDb;
use tokio::sync::oneshot;

async fn start_worker(db: &TestDb) -> (String, oneshot::Sender<()>) {
    let config = testkit::config(&[
        ("DATABASE_URL", db.url.expose()),
        ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
        ("RUST_LOG", "warn"),
    ]);
    let worker = worker::Worker::start(config).await.expect("worker starts");
    let base = format!("http://{}", worker.health_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(worker.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn add_account(db: &TestDb, operator: i64, label: &str, status: AccountStatus) {
    let now = Utc::now();
    whatsapp_accounts::ActiveModel {
        operator_id: Set(operator),
        label: Set(label.to_owned()),
        provider: Set(Provider::Sim),
        status: Set(status),
        session_generation: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db.db)
    .await
    .expect("account inserted");
}

#[tokio::test]
async fn health_reports_the_database_and_sessions_by_status() {
    let db = TestDb::new().await;
    let (base, _stop) = start_worker(&db).await;

    let body: Value = reqwest::get(format!("{base}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    for status in AccountStatus::ALL {
        assert_eq!(
            body["sessions"][status.as_str()],
            0,
            "{status} listed with zero: {body}"
        );
    }

    let now = Utc::now();
    let operator = operators::ActiveModel {
        display_name: Set("Ops".to_owned()),
        timezone: Set("Europe/London".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db.db)
    .await
    .unwrap();
    add_account(&db, operator.id, "bakery", AccountStatus::Connected).await;
    add_account(&db, operator.id, "gym", AccountStatus::Connected).await;
    add_account(&db, operator.id, "shop", AccountStatus::LoggedOut).await;

    let response = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sessions"]["connected"], 2, "{body}");
    assert_eq!(body["sessions"]["logged_out"], 1, "{body}");
    assert_eq!(body["sessions"]["unpaired"], 0, "{body}");
}

#[tokio::test]
async fn metrics_are_served_on_the_internal_listener() {
    let db = TestDb::new().await;
    let (base, _stop) = start_worker(&db).await;
    let operator = testkit::seed::operator(&db.db, 1, "UTC").await.id;
    add_account(&db, operator, "bakery", AccountStatus::Connected).await;
    add_account(&db, operator, "shop", AccountStatus::Banned).await;

    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    for line in [
        "herald_database_up 1",
        "herald_sessions{status=\"connected\"} 1",
        "herald_sessions{status=\"banned\"} 1",
        "herald_sends_total{outcome=\"sent\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
    }
    assert!(
        text.contains("herald_build_info{process=\"worker\","),
        "{text}"
    );
}

#[tokio::test]
async fn the_healthcheck_command_probes_the_running_worker() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    // Bound to every interface, as in a container; the probe goes over loopback.
    let addr = format!("0.0.0.0:{port}");
    let healthcheck = || {
        Command::new(env!("CARGO_BIN_EXE_herald-worker"))
            .arg("healthcheck")
            .env_clear()
            .current_dir(dir.path())
            .env("DATABASE_URL", db.url.expose())
            .env("WORKER_HEALTH_ADDR", &addr)
            .output()
            .unwrap()
    };
    let down = healthcheck();
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.starts_with(&format!(
            "herald-worker healthcheck: http://127.0.0.1:{port}/health: "
        )),
        "{stderr}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_herald-worker"))
        .env_clear()
        .current_dir(dir.path())
        .env("DATABASE_URL", db.url.expose())
        .env("WORKER_HEALTH_ADDR", &addr)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    testkit::expect_up(&format!("http://127.0.0.1:{port}/health"), "worker").await;
    let up = healthcheck();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    testkit::expect_clean_stop(&mut child, "TERM").await;
}

#[tokio::test]
async fn only_one_worker_runs_on_a_sqlite_database() {
    // PostgreSQL deployments coordinate several workers through the database instead.
    let db = TestDb::sqlite().await;
    let (_base, _stop) = start_worker(&db).await;
    let config = testkit::config(&[
        ("DATABASE_URL", db.url.expose()),
        ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
    ]);
    let err = worker::Worker::start(config)
        .await
        .err()
        .expect("a second worker is refused");
    assert!(err.to_string().contains("another herald-worker"), "{err:#}");
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm_and_sigint() {
    for signal in ["TERM", "INT"] {
        let db = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let port = testkit::free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald-worker"))
            .env_clear()
            .current_dir(dir.path())
            .env("DATABASE_URL", db.url.expose())
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap();
        let health = format!("http://127.0.0.1:{port}/health");
        testkit::expect_up(&health, "worker").await;
        testkit::expect_clean_stop(&mut child, signal).await;
    }
}

#[test]
fn bad_settings_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_herald-worker"))
        .env_clear()
        .current_dir(dir.path())
        .env("DATABASE_URL", "nope://x")
        .env("WORKER_HEALTH_ADDR", "everywhere")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("WORKER_HEALTH_ADDR"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}
