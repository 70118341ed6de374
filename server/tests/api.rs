//! The real server on a free port, over real HTTP, on the test database engine
//! (SQLite by default, PostgreSQL with TEST_DATABASE_URL).

mod common;

use common::{TestServer, client};
use reqwest::StatusCode;
use runtime::config::Backend;
use serde_json::Value;

#[tokio::test]
async fn health_reports_database_version_and_commit() {
    let server = TestServer::start().await;
    let response = client()
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let backend = match server.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database_backend"], backend);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(body["uptime_secs"].is_u64());
}

#[tokio::test]
async fn metrics_need_the_configured_bearer_token() {
    // Off unless a token is configured; a signed-in operator's session does not open it either.
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let response = operator.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let token = "scrape-0123456789abcdef";
    let server = TestServer::start_with(&[("METRICS_TOKEN", token)]).await;
    let scrape = |auth: Option<String>| {
        let mut request = client().get(server.url("/metrics"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    for refused in [
        None,
        Some("Bearer wrong-0123456789abcdef".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("Bearer {token}x")),
    ] {
        let response = scrape(refused.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{refused:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"herald metrics\""
        );
        assert!(!response.text().await.unwrap().contains("herald_"));
    }
    let response = scrape(Some(format!("Bearer {token}"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("herald_build_info{process=\"server\","),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "herald_database_up 1"), "{text}");
    assert!(
        text.contains("# TYPE herald_fire_lag_seconds histogram"),
        "{text}"
    );
}

#[tokio::test]
async fn dashboard_is_rendered_on_the_server_with_hydration_scripts() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let response = operator.get(server.url("/")).send().await.unwrap();
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
        html.contains("/pkg/") && html.contains("/herald.js"),
        "the page must load the wasm bundle: {html}"
    );
    assert!(
        html.contains(r#"href="/system""#),
        "navigation is rendered: {html}"
    );
}

#[tokio::test]
async fn unknown_pages_are_404_inside_the_layout() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let response = operator
        .get(server.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Page not found") && html.contains(r#"href="/settings""#),
        "{html}"
    );
}

#[tokio::test]
async fn the_system_server_function_answers() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    // Server functions are POSTed, form-encoded, under /api/.
    let response = operator
        .post(server.url("/api/system_status"))
        .header("origin", server.origin())
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
