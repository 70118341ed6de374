//! What makes Herald an installable app, as the server delivers it: the web app manifest, its
//! icons and the service worker, reachable without signing in, with the content types and
//! caching browsers need.

mod common;

use app::components::pwa::KEEP_EARLY_INSTALL_OFFER;
use common::{TestServer, client};
use reqwest::{Method, Response, StatusCode, header};
use serde_json::Value;

/// The committed assets, which cargo-leptos copies to the site root unchanged.
const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../public");

async fn start() -> TestServer {
    TestServer::start_with(&[("LEPTOS_SITE_ROOT", ASSETS)]).await
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Width and height from a PNG's header chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

/// Fetches `path` without a session and returns the PNG's size.
async fn anonymous_png(server: &TestServer, path: &str) -> (u32, u32) {
    let response = client().get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(content_type(&response), "image/png", "{path}");
    png_size(&response.bytes().await.unwrap())
}

#[tokio::test]
async fn the_manifest_and_its_icons_are_served_without_signing_in() {
    let server = start().await;
    let response = client()
        .get(server.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/manifest+json");
    let manifest: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(manifest["name"], "Herald");
    assert!(manifest["id"].is_string(), "{manifest}");
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["scope"], "/");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["theme_color"], "#0f766e");

    let mut icons = Vec::new();
    for icon in manifest["icons"].as_array().unwrap() {
        let src = icon["src"].as_str().unwrap();
        let (width, height) = anonymous_png(&server, src).await;
        assert_eq!(icon["sizes"], format!("{width}x{height}"), "{src}");
        assert_eq!(icon["type"], "image/png", "{src}");
        icons.push((icon["purpose"].as_str().unwrap().to_owned(), width));
    }
    for wanted in [("any", 192), ("any", 512), ("maskable", 512)] {
        assert!(
            icons.iter().any(|(p, w)| p == wanted.0 && *w == wanted.1),
            "no {wanted:?} icon in {icons:?}"
        );
    }
}

#[tokio::test]
async fn the_service_worker_is_public_javascript_that_is_always_revalidated() {
    let server = start().await;
    let response = client().get(server.url("/sw.js")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "text/javascript");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(response.text().await.unwrap().contains("addEventListener"));

    // The header is for the worker alone; other files keep the usual caching.
    let favicon = client()
        .get(server.url("/favicon.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(favicon.status(), StatusCode::OK);
    assert!(!favicon.headers().contains_key(header::CACHE_CONTROL));
}

#[tokio::test]
async fn every_page_links_the_manifest_and_keeps_an_early_install_offer() {
    let server = start().await;
    let operator = server.signed_in(None).await;
    for (who, path) in [(&operator, "/"), (&client(), "/login")] {
        let response = who.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"<link rel="manifest" href="/manifest.webmanifest""#),
            "{path}: {html}"
        );
        assert!(
            html.contains(r#"<link rel="apple-touch-icon" href="/icons/apple-touch-icon.png""#),
            "{path}: {html}"
        );
        // Verbatim, not HTML-escaped, or the browser could not run it.
        assert!(
            html.contains(&format!("<script>{KEEP_EARLY_INSTALL_OFFER}</script>")),
            "{path}: {html}"
        );
    }
    assert_eq!(
        anonymous_png(&server, "/icons/apple-touch-icon.png").await,
        (180, 180)
    );
}

/// The public list names files, not folders: anything else under /icons/ needs a session too.
#[tokio::test]
async fn only_the_named_files_are_public() {
    let server = start().await;
    let anonymous = client();
    let unlisted = anonymous
        .get(server.url("/icons/unlisted.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(unlisted.status(), StatusCode::SEE_OTHER);
    assert_eq!(unlisted.headers()[header::LOCATION], "/login");
    let post = anonymous
        .request(Method::POST, server.url("/sw.js"))
        .header("origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
}
