//! The client's address for the sign-in brake and the audit log: the connection's, or, when the
//! connection comes from a trusted reverse proxy (`TRUSTED_PROXIES`), the one it forwarded.

use std::net::{IpAddr, SocketAddr};

use app::state::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{StatusCode, header::HeaderName, request::Parts},
};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            tracing::error!("the server runs without connection info");
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        Ok(Self(
            state
                .config
                .trusted_proxies
                .client_ip(peer.ip(), &forwarded),
        ))
    }
}
