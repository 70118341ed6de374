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

/// The `<hash>` of the `/pkg/<hash>/herald.js` a page loads.
fn bundle_hash(html: &str) -> String {
    let at = html.find("/herald.js").expect("the page loads the script");
    let address = &html[..at];
    let hash = &address[address.rfind("/pkg/").expect("under /pkg/") + 5..];
    assert_eq!(hash.len(), 16, "{hash}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
    hash.to_owned()
}

#[tokio::test]
async fn pages_load_the_bundle_from_hashed_addresses_kept_for_good() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("herald.wasm"), vec![0u8; 64 * 1024]).unwrap();
    std::fs::write(pkg.join("herald.wasm.br"), b"precompressed br").unwrap();
    std::fs::write(pkg.join("herald.js"), "export function hydrate() {}\n").unwrap();
    std::fs::write(pkg.join("herald.css"), "body { color: black }\n").unwrap();
    let server =
        TestServer::start_with(&[("LEPTOS_SITE_ROOT", site.path().to_str().unwrap())]).await;
    let anonymous = client();
    let page = || async {
        anonymous
            .get(server.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let get = |path: String| {
        anonymous
            .get(server.url(&path))
            .header(ACCEPT_ENCODING, "br")
            .send()
    };

    let html = page().await;
    let hash = bundle_hash(&html);
    for file in ["herald.wasm", "herald.css"] {
        assert!(
            html.contains(&format!("/pkg/{hash}/{file}")),
            "{file} in {html}"
        );
    }
    let response = get(format!("/pkg/{hash}/herald.wasm")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        encoding(&response).as_deref(),
        Some("br"),
        "still from the precompressed copy"
    );
    assert_eq!(&response.bytes().await.unwrap()[..], b"precompressed br");
    let response = get(format!("/pkg/{hash}/herald.css")).await.unwrap();
    assert_eq!(
        response.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.text().await.unwrap(), "body { color: black }\n");
    for wrong in [
        format!("/pkg/{hash}/herald.txt"),
        "/pkg/0123456789abcdef/herald.wasm".to_owned(),
    ] {
        assert_eq!(
            get(wrong.clone()).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{wrong}"
        );
    }

    // A rebuild under the running server (cargo leptos watch, a deploy's new files): new pages
    // name the new bundle, and the old address is gone rather than serving other bytes.
    std::fs::write(
        pkg.join("herald.css"),
        "body { color: teal; background: white }\n",
    )
    .unwrap();
    let rebuilt = bundle_hash(&page().await);
    assert_ne!(rebuilt, hash);
    assert_eq!(
        get(format!("/pkg/{hash}/herald.css"))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = get(format!("/pkg/{rebuilt}/herald.css")).await.unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "body { color: teal; background: white }\n"
    );
}
