//! Operator access: only whitelisted operators, signed in by one-time link, reach anything
//! beyond the login pages, health and static assets.

mod common;

use common::{TestServer, client};
use entity::{audit_log, auth_sessions, login_tokens, operators as operator_rows};
use reqwest::{Method, StatusCode};
use runtime::config::TelegramUserId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use serde_json::Value;
use service::operators;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
};

/// Every route the server registers: its own endpoints, Leptos's pages, server functions.
fn every_route() -> Vec<(Method, String)> {
    let mut routes: Vec<(Method, String)> = server::endpoint_list()
        .into_iter()
        .map(|(method, path)| (method, path.to_owned()))
        .collect();
    for listing in leptos_axum::generate_route_list(app::App) {
        routes.push((Method::GET, listing.path().to_owned()));
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        routes.push((method, path.to_owned()));
    }
    routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    routes.dedup();
    routes
}

/// The only routes anyone may reach without signing in. Widening this list is a decision, made
/// here, in review — not a side effect of adding a route.
const PUBLIC_ROUTES: [(&str, &str); 5] = [
    ("GET", "/api/health"),
    ("GET", "/metrics"),
    ("POST", "/auth/login"),
    ("GET", "/login"),
    ("GET", "/login/{token}"),
];

/// Fills `{param}` segments with a sample value.
fn sample_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') || segment.starts_with(':') {
                "sample"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn audit_actions(server: &TestServer) -> Vec<(String, Option<Value>)> {
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&server.db.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.detail))
        .collect()
}

#[tokio::test]
async fn every_route_refuses_anonymous_requests_except_the_public_ones() {
    let server = TestServer::start().await;
    let routes = every_route();
    for expected in [
        "/",
        "/settings",
        "/system",
        "/api/whoami",
        "/api/my_sessions",
        "/auth/logout",
    ] {
        assert!(
            routes.iter().any(|(_, p)| p == expected),
            "{expected} missing from {routes:?}"
        );
    }
    // An address nobody registered falls back to static files, which are guarded as well.
    let mut probes = routes.clone();
    probes.push((Method::GET, "/no-such-page".to_owned()));

    let anonymous = client();
    for (method, path) in probes {
        let url = server.url(&sample_path(&path));
        // The right Origin: these requests must be refused for lack of a session, nothing else.
        let response = anonymous
            .request(method.clone(), &url)
            .header("origin", server.origin())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let public = PUBLIC_ROUTES.contains(&(method.as_str(), path.as_str()));
        assert_eq!(
            server::auth::is_public(&method, &sample_path(&path)),
            public,
            "{method} {path}: the guard's allowlist disagrees with PUBLIC_ROUTES"
        );
        if public {
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is public"
            );
            assert_ne!(
                location.as_deref(),
                Some("/login"),
                "{method} {path} is public"
            );
        } else if method == Method::GET && !path.starts_with("/api/") {
            assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
            assert_eq!(location.as_deref(), Some("/login"), "{method} {path}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_link_signs_in_once_and_only_its_hash_is_stored() {
    let server = TestServer::start().await;
    let token = server.link_token(None).await;

    let rows = login_tokens::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash.len(), 64);
    assert!(
        !rows[0].token_hash.contains(&token),
        "the token itself is never stored"
    );

    let first = client();
    let response = server.redeem(&first, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let dashboard = first.get(server.url("/")).send().await.unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);

    let second = client();
    let response = server.redeem(&second, &token).await;
    assert_eq!(
        response.headers()["location"],
        "/login?link=invalid",
        "a link works once"
    );
    assert_eq!(
        second.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    let page = client()
        .get(server.url("/login?link=invalid"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("expired or was already used")
    );

    let actions = audit_actions(&server).await;
    assert!(actions.iter().any(|(a, _)| a == "login"), "{actions:?}");
    assert!(
        actions.iter().any(|(a, d)| a == "login.failed"
            && d.as_ref().is_some_and(|d| d["reason"] == "already_used")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn expired_unknown_and_malformed_links_are_refused_with_the_reason_audited() {
    let server = TestServer::start().await;
    let expired = server.link_token(None).await;
    login_tokens::Entity::update_many()
        .col_expr(
            login_tokens::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&server.db.db)
        .await
        .unwrap();
    let unknown = "A".repeat(43);

    for (token, reason) in [
        (expired.as_str(), "expired"),
        (unknown.as_str(), "unknown"),
        ("nope", "malformed"),
    ] {
        let response = server.redeem(&client(), token).await;
        assert_eq!(
            response.headers()["location"],
            "/login?link=invalid",
            "{reason}"
        );
        let actions = audit_actions(&server).await;
        assert!(
            actions
                .iter()
                .any(|(a, d)| a == "login.failed"
                    && d.as_ref().is_some_and(|d| d["reason"] == reason)),
            "{reason}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn repeated_bad_redemptions_are_rate_limited_even_with_a_good_link() {
    let server = TestServer::start().await;
    let guesser = client();
    for _ in 0..10 {
        let response = server.redeem(&guesser, &"B".repeat(43)).await;
        assert_eq!(response.headers()["location"], "/login?link=invalid");
    }
    let good = server.link_token(None).await;
    for _ in 0..2 {
        let response = server.redeem(&guesser, &good).await;
        assert_eq!(
            response.headers()["location"],
            "/login?link=too_many_attempts"
        );
    }
    assert_eq!(
        guesser.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    let row = login_tokens::Entity::find()
        .filter(login_tokens::Column::UsedAt.is_null())
        .one(&server.db.db)
        .await
        .unwrap();
    assert!(row.is_some(), "a refused attempt does not spend the link");
    let lockouts = audit_actions(&server)
        .await
        .into_iter()
        .filter(|(a, _)| a == "login.rate_limited")
        .count();
    assert_eq!(lockouts, 1, "one audit row per lockout, not per attempt");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_brake_counts_each_forwarded_client() {
    // The test client connects from 127.0.0.1, standing in for the reverse proxy.
    let server = TestServer::start_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let from = |client_ip: &'static str| {
        let server = &server;
        move |token: String| async move {
            client()
                .post(server.url("/auth/login"))
                .header("origin", server.origin())
                .header("x-forwarded-for", client_ip)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let guesser = from("203.0.113.7");
    for _ in 0..10 {
        let response = guesser("B".repeat(43)).await;
        assert_eq!(response.headers()["location"], "/login?link=invalid");
    }
    let good = server.link_token(None).await;
    let response = guesser(good.clone()).await;
    assert_eq!(
        response.headers()["location"],
        "/login?link=too_many_attempts"
    );
    // Another client behind the same proxy is not locked out with the guesser.
    let response = from("198.51.100.4")(good).await;
    assert_eq!(response.headers()["location"], "/");

    let ips: Vec<(String, Option<String>)> = audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&server.db.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.client_ip))
        .filter(|(action, _)| action.starts_with("login"))
        .collect();
    assert_eq!(ips.first().unwrap().1.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        ips.last().unwrap(),
        &("login".to_owned(), Some("198.51.100.4".to_owned()))
    );
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    let server = TestServer::start().await;
    for n in 0..11 {
        // A guesser cannot dodge the brake by naming a new address each time.
        let response = client()
            .post(server.url("/auth/login"))
            .header("origin", server.origin())
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .form(&[("token", "B".repeat(43))])
            .send()
            .await
            .unwrap();
        let expected = if n < 10 {
            "/login?link=invalid"
        } else {
            "/login?link=too_many_attempts"
        };
        assert_eq!(response.headers()["location"], expected, "attempt {n}");
    }
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("herald_session="))
        .expect("a session cookie is set")
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_behind_https() {
    let server = TestServer::start().await;
    let token = server.link_token(None).await;
    let cookie = session_cookie(&server.redeem(&client(), &token).await);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http cannot carry Secure cookies: {cookie}"
    );
    assert!(
        cookie.contains("Max-Age=2592000"),
        "30 days from the last visit: {cookie}"
    );

    // The database keys the session by a hash of the cookie's id, never the id itself.
    let cookie_id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("herald_session=");
    let rows = auth_sessions::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].id, cookie_id);
    assert_eq!(rows[0].id.len(), 64);

    let server = TestServer::start_with(&[("PUBLIC_URL", "https://herald.example.com")]).await;
    let token = server.link_token(None).await;
    let cookie = session_cookie(&server.redeem(&client(), &token).await);
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_visit_slides_the_expiry_of_a_session_last_written_over_an_hour_ago() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    // Age the session: written two hours ago, one day left.
    let row = auth_sessions::Entity::find()
        .one(&server.db.db)
        .await
        .unwrap()
        .unwrap();
    let mut data: serde_json::Map<String, Value> = serde_json::from_slice(&row.data).unwrap();
    let two_hours_ago = chrono::Utc::now().timestamp() - 7200;
    data.insert("touched_at".into(), two_hours_ago.into());
    let mut aged: auth_sessions::ActiveModel = row.into();
    aged.data = Set(serde_json::to_vec(&data).unwrap());
    aged.expires_at = Set(chrono::Utc::now() + chrono::Duration::days(1));
    aged.update(&server.db.db).await.unwrap();

    let visit = operator.get(server.url("/settings")).send().await.unwrap();
    assert_eq!(visit.status(), StatusCode::OK);
    assert!(
        session_cookie(&visit).contains("Max-Age=2592000"),
        "the cookie is re-issued"
    );
    let row = auth_sessions::Entity::find()
        .one(&server.db.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.expires_at > chrono::Utc::now() + chrono::Duration::days(29),
        "{:?}",
        row.expires_at
    );
    assert!(row.last_seen_at.timestamp() > two_hours_ago + 3600);

    // Within the hour, visits do not write at all.
    let again = operator.get(server.url("/settings")).send().await.unwrap();
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn an_ended_session_is_not_brought_back_by_a_late_save() {
    let server = TestServer::start().await;
    let store = service::web_sessions::DbSessionStore::new(server.db.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(30),
    };
    store.create(&mut record).await.unwrap();
    store.delete(&record.id).await.unwrap();
    // A request that loaded the session before it ended finishes and saves.
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());
    assert!(
        auth_sessions::Entity::find()
            .all(&server.db.db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn paths_with_dot_segments_are_refused_before_anything_renders() {
    let server = TestServer::start().await;
    let paths = [
        "/login/..",
        "/login/../settings",
        "/login/%2e%2e/settings",
        "/login/.%2E/system",
        "/pkg/../system",
        "/login/..\\settings",
    ];
    for path in paths {
        let (status, body) = raw_get(&server, path).await;
        let private = body.contains("Signed-in devices")
            || body.contains("<h1>Dashboard</h1>")
            || body.contains("Check again");
        assert!(!private, "{path} rendered a private page");
        assert_eq!(status, 400, "{path}");
    }
}

/// A GET sent byte for byte: HTTP clients normalise `..` away before sending.
async fn raw_get(server: &TestServer, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn mutations_from_another_origin_are_refused() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let logout = |origin: Option<&str>| {
        let mut request = operator.post(server.url("/auth/logout"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(
        logout(Some("https://evil.example")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(logout(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        operator.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::OK,
        "still signed in"
    );

    let response = logout(Some(&server.origin())).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    assert_eq!(
        operator.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert!(
        audit_actions(&server)
            .await
            .iter()
            .any(|(a, _)| a == "logout")
    );
}

#[tokio::test]
async fn an_operator_removed_from_the_whitelist_loses_access_at_once() {
    let server = TestServer::start_with(&[("TELEGRAM_ALLOWED_USER_IDS", "42,43")]).await;
    let ops = operator_rows::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap();
    let leaving = ops
        .iter()
        .find(|o| o.telegram_user_id == Some(42))
        .expect("operator 42 synced");
    let operator = server.signed_in(Some(leaving.id)).await;
    assert_eq!(
        operator.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );

    let report = operators::sync_whitelist(
        &server.db.db,
        &[TelegramUserId(43)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    assert_eq!(report.disabled, 1);

    let response = operator.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let left = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::OperatorId.eq(leaving.id))
        .all(&server.db.db)
        .await
        .unwrap();
    assert!(left.is_empty(), "their sessions are gone");
    assert!(
        audit_actions(&server)
            .await
            .iter()
            .any(|(a, _)| a == "operator.disabled")
    );
    // Nor can a link issued earlier be used now.
    let refused = service::login_links::issue(
        &server.db.db,
        leaving.id,
        &server.public_url,
        service::audit::Actor::Cli,
    )
    .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn settings_lists_sessions_and_signs_out_everywhere_else() {
    let server = TestServer::start().await;
    let phone = server.signed_in(None).await;
    let laptop = server.signed_in(None).await;
    let call = |client: &reqwest::Client, name: &str| {
        client
            .post(server.url(&format!("/api/{name}")))
            .header("origin", server.origin())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
    };

    let sessions: Value = call(&phone, "my_sessions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);

    let ended: Value = call(&phone, "end_other_sessions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(
        laptop.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        phone
            .get(server.url("/settings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
