//! What answers without a session, and requests refused before anything renders: dot segments
//! and mutations from another origin.

use reqwest::{Method, StatusCode};

use crate::audit_actions;
use crate::common::{TestServer, client};

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
const PUBLIC_ROUTES: [(&str, &str); 6] = [
    ("GET", "/api/health"),
    ("GET", "/calendar/{file}"),
    ("GET", "/metrics"),
    ("POST", "/auth/login"),
    ("GET", "/login"),
    ("GET", "/login/{token}"),
];

/// Fills `{param}` segments with a sample value (a calendar feed's file is `<token>.ics`).
fn sample_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment == "{file}" {
                "sample.ics"
            } else if segment.starts_with('{') || segment.starts_with(':') {
                "sample"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

/// The feed's exemption covers its own route only: one file name ending in `.ics`.
#[test]
fn only_a_feed_file_under_calendar_is_public() {
    let get = Method::GET;
    assert!(server::auth::is_public(&get, "/calendar/abc.ics"));
    for path in [
        "/calendar/",
        "/calendar/.ics",
        "/calendar/abc",
        "/calendar/a/b.ics",
    ] {
        assert!(!server::auth::is_public(&get, path), "{path}");
    }
    assert!(!server::auth::is_public(&Method::POST, "/calendar/abc.ics"));
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
