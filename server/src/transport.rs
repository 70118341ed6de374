//! How responses travel to the browser: compressed where that pays, and revalidated where a
//! stale copy would do harm.
//!
//! - Pages, JSON, scripts, styles and SVG go out br- or gzip-compressed, by the browser's
//!   `Accept-Encoding`. Live event streams are never compressed (a compressor holds messages
//!   back until its buffer fills), nor is media, which is compressed already.
//! - The bundle (`/pkg/…`, [`crate::bundle`]) is compressed once, when it is built
//!   (`--precompress`), never per request: a file with a `.br` or `.gz` copy beside it is served
//!   from the copy the browser accepts, one without is served as it is (a development build).
//! - The service worker is `no-cache`: a browser keeps it but asks before each use, and gets a
//!   body-less 304 while it has not changed, so a deploy's worker takes over at once. The bundle
//!   is cached by its hashed addresses ([`crate::bundle`]).

use axum::{
    body::HttpBody,
    extract::Request,
    http::{HeaderValue, Response, StatusCode, header},
    middleware::Next,
    response::Response as AxumResponse,
    serve::{ListenerExt, TapIo},
};
use tokio::net::{TcpListener, TcpStream};
use tower_http::compression::{
    CompressionLayer, Predicate,
    predicate::{And, SizeAbove},
};

/// Below this, compressing saves less than its framing costs.
const MIN_COMPRESSED_SIZE: u16 = 256;

/// The compression every response passes through.
pub fn compression() -> CompressionLayer<And<SizeAbove, Compressible>> {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .compress_when(SizeAbove::new(MIN_COMPRESSED_SIZE).and(Compressible))
}

/// Text compresses well; images, video, audio, archives and live streams do not, or must not
/// be.
#[derive(Clone, Copy, Debug)]
pub struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B: HttpBody>(&self, response: &Response<B>) -> bool {
        let Some(content_type) = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.split_once('/') {
            Some(("text", subtype)) => subtype != "event-stream",
            _ => matches!(
                essence.as_str(),
                "application/json"
                    | "application/javascript"
                    | "application/manifest+json"
                    | "application/xml"
                    | "image/svg+xml"
            ),
        }
    }
}

/// Every accepted connection sends what it is given at once. With Nagle's algorithm on, a
/// response written in more than one piece (headers, then body chunks) waits for the client's
/// acknowledgement of the first, which the client delays by up to 40 ms: every page took 44 ms.
pub fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "could not turn Nagle's algorithm off for a connection");
        }
    })
}

/// Marks the service worker `no-cache` (see the module's comment).
pub async fn revalidate_service_worker(request: Request, next: Next) -> AxumResponse {
    let worker = request.uri().path() == "/sw.js";
    let mut response = next.run(request).await;
    let status = response.status();
    if worker && (status.is_success() || status == StatusCode::NOT_MODIFIED) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    fn compressible(content_type: &str) -> bool {
        let response = Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::empty())
            .unwrap();
        Compressible.should_compress(&response)
    }

    #[tokio::test]
    async fn accepted_connections_do_not_wait_to_fill_a_segment() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut listener = without_nagle(listener);
        let _client = TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap());
    }

    #[test]
    fn text_compresses_streams_media_and_the_wasm_do_not() {
        for yes in [
            "text/html; charset=utf-8",
            "text/css",
            "text/javascript",
            "application/json",
            "image/svg+xml",
            "Application/JSON",
        ] {
            assert!(compressible(yes), "{yes}");
        }
        for no in [
            "text/event-stream",
            "application/wasm",
            "image/png",
            "image/jpeg",
            "video/mp4",
            "application/pdf",
            "application/zip",
        ] {
            assert!(!compressible(no), "{no}");
        }
    }
}
