//! Cross-site request forgery defence: a mutating request must come from Herald's own pages,
//! which browsers prove with the `Origin` header.

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use runtime::config::PublicUrl;
use url::Url;

use app::state::AppState;

/// Refuses POST/PUT/PATCH/DELETE whose Origin is missing or foreign.
pub async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    match origin {
        Some(origin) if is_allowed(&state.config.public_url, origin) => next.run(request).await,
        _ => {
            tracing::warn!(
                origin,
                path = request.uri().path(),
                "refused a cross-origin request"
            );
            (StatusCode::FORBIDDEN, "cross-origin request refused").into_response()
        }
    }
}

/// The public URL's own origin; and when Herald is served on a loopback name, any loopback name
/// on the same port (`localhost` and `127.0.0.1` are the same machine to an operator).
pub fn is_allowed(public_url: &PublicUrl, origin: &str) -> bool {
    let Ok(origin) = Url::parse(origin) else {
        return false;
    };
    let public = public_url.url();
    if origin.origin() == public.origin() {
        return true;
    }
    let loopback = |url: &Url| {
        matches!(url.host(), Some(url::Host::Domain("localhost")))
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    };
    loopback(public)
        && loopback(&origin)
        && origin.scheme() == public.scheme()
        && origin.port_or_known_default() == public.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let public = PublicUrl::parse("https://herald.example.com").unwrap();
        assert!(is_allowed(&public, "https://herald.example.com"));
        assert!(
            !is_allowed(&public, "http://herald.example.com"),
            "scheme matters"
        );
        assert!(!is_allowed(&public, "https://evil.example.com"));
        assert!(!is_allowed(&public, "https://herald.example.com.evil.io"));
        assert!(!is_allowed(&public, "null"));

        let local = PublicUrl::parse("http://localhost:3000").unwrap();
        assert!(is_allowed(&local, "http://localhost:3000"));
        assert!(is_allowed(&local, "http://127.0.0.1:3000"));
        assert!(is_allowed(&local, "http://[::1]:3000"));
        assert!(
            !is_allowed(&local, "http://127.0.0.1:3001"),
            "another local port is another site"
        );
        assert!(!is_allowed(&local, "http://192.168.1.5:3000"));
    }
}
