//! How responses travel: pages compressed by the browser's `Accept-Encoding`, the live event
//! stream never, the bundle only as its build precompressed it; the bundle revalidated so a
//! deploy takes over at once.

mod common;

use std::io::Read;

use common::{TestServer, client};
use reqwest::{
    Response, StatusCode,
    header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, IF_MODIFIED_SINCE, LAST_MODIFIED},
};

fn encoding(response: &Response) -> Option<String> {
    response
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn unbrotli(bytes: &[u8]) -> String {
    let mut text = String::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_string(&mut text)
        .expect("a valid br body");
    text
}

fn ungzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a valid gzip body");
    text
}

#[tokio::test]
async fn pages_are_compressed_as_the_browser_asks() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let page = |encodings: &'static str| {
        let request = operator.get(server.url("/"));
        async move {
            let request = match encodings {
                "" => request,
                accepted => request.header(ACCEPT_ENCODING, accepted),
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let encoding = encoding(&response);
            (encoding, response.bytes().await.unwrap())
        }
    };

    let (encoding, plain) = page("").await;
    assert_eq!(encoding, None, "nothing accepted, nothing compressed");
    let plain = String::from_utf8(plain.to_vec()).unwrap();
    assert!(plain.contains("<html"), "{plain}");

    let (encoding, br) = page("gzip, deflate, br").await;
    assert_eq!(encoding.as_deref(), Some("br"), "br is preferred");
    assert!(
        br.len() < plain.len() / 2,
        "{} of {}",
        br.len(),
        plain.len()
    );
    assert!(unbrotli(&br).contains("<html"));

    let (encoding, gzip) = page("gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(ungzip(&gzip).contains("<html"));
}

#[tokio::test]
async fn the_live_event_stream_is_never_compressed() {
    let server = TestServer::start().await;
    let operator = server.signed_in(None).await;
    let response = operator
        .get(server.url("/api/events?after=0"))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{:?}",
        response.headers()
    );
    assert_eq!(encoding(&response), None);
}

#[tokio::test]
async fn the_bundle_comes_only_from_its_precompressed_copies_and_is_revalidated() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let wasm = vec![0u8; 64 * 1024];
    std::fs::write(pkg.join("herald.wasm"), &wasm).unwrap();
    // Not what a compressor would make of it: the body shows which file was served.
    std::fs::write(pkg.join("herald.wasm.br"), b"precompressed br").unwrap();
    let js = "export function hydrate() {}\n".repeat(200);
    std::fs::write(pkg.join("herald.js"), &js).unwrap();
    let server =
        TestServer::start_with(&[("LEPTOS_SITE_ROOT", site.path().to_str().unwrap())]).await;
    let anonymous = client();
    let get = |path: &str, accepted: &'static str| {
        anonymous
            .get(server.url(path))
            .header(ACCEPT_ENCODING, accepted)
            .send()
    };

    let response = get("/pkg/herald.wasm", "gzip, br").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(encoding(&response).as_deref(), Some("br"));
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    let last_modified = response.headers()[LAST_MODIFIED].clone();
    assert_eq!(&response.bytes().await.unwrap()[..], b"precompressed br");

    // No gzip copy, and nothing of the bundle is compressed per request: served as it is.
    let response = get("/pkg/herald.wasm", "gzip").await.unwrap();
    assert_eq!(encoding(&response), None);
    assert_eq!(&response.bytes().await.unwrap()[..], &wasm[..]);
    let response = get("/pkg/herald.js", "br").await.unwrap();
    assert_eq!(encoding(&response), None);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(response.text().await.unwrap(), js);

    // Unchanged since the browser's copy: nothing but the answer that it still holds.
    let response = anonymous
        .get(server.url("/pkg/herald.wasm"))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_MODIFIED_SINCE, last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.bytes().await.unwrap().is_empty());
}
