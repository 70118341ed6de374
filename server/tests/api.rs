//! The real server on a free port, over real HTTP, on the test database engine
//! (SQLite by default, PostgreSQL with TEST_DATABASE_URL).

use reqwest::StatusCode;
use serde_json::Value;
use service::config::Backend;
use testkit::TestDb;
use tokio::sync::oneshot;

struct TestServer {
    base: String,
    backend: Backend,
    _db: TestDb,
    _stop: oneshot::Sender<()>,
}

async fn spawn_server() -> TestServer {
    let db = TestDb::new().await;
    let config = testkit::config(&[
        ("DATABASE_URL", db.url.expose()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("RUST_LOG", "warn"),
    ]);
    let app = server::Application::build(config)
        .await
        .expect("server builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestServer {
        base,
        backend: db.backend(),
        _db: db,
        _stop: stop,
    }
}

#[tokio::test]
async fn health_reports_database_version_and_commit() {
    let server = spawn_server().await;
    let response = reqwest::get(format!("{}/api/health", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let backend = match server.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database_backend"], backend);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(body["uptime_secs"].is_u64());
}

#[tokio::test]
async fn dashboard_is_rendered_on_the_server_with_hydration_scripts() {
    let server = spawn_server().await;
    let response = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Dashboard</h1>"), "{html}");
    assert!(html.contains("Dashboard · Herald"), "{html}");
    assert!(
        html.contains("/pkg/herald.js"),
        "the page must load the wasm bundle: {html}"
    );
    assert!(
        html.contains(r#"href="/system""#),
        "navigation is rendered: {html}"
    );
}

#[tokio::test]
async fn unknown_pages_are_404_inside_the_layout() {
    let server = spawn_server().await;
    let response = reqwest::get(format!("{}/no-such-page", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn the_system_server_function_answers() {
    let server = spawn_server().await;
    // Server functions are POSTed, form-encoded, under /api/ by default.
    let response = reqwest::Client::new()
        .post(format!("{}/api/system_status", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["database"], "ok");
}
