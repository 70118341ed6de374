//! The server's `/metrics`: the same figures as the worker's internal listener, for a scraper
//! that reaches Herald only through its public address. Off (404) unless `METRICS_TOKEN` is set;
//! then only that bearer token is accepted.

use app::state::AppState;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use runtime::config::Secret;
use service::metrics;

pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer_matches(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"herald metrics\"")],
            "metrics need the bearer token set in METRICS_TOKEN",
        )
            .into_response();
    }
    let now = Utc::now();
    let process = metrics::Process {
        name: "server",
        started_at: now
            - chrono::Duration::from_std(state.started_at.elapsed()).unwrap_or_default(),
    };
    (
        [(header::CONTENT_TYPE, metrics::exposition::CONTENT_TYPE)],
        metrics::scrape(&state.db, &process, now).await,
    )
        .into_response()
}

fn bearer_matches(headers: &HeaderMap, token: &Secret) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| token.matches(given.trim()))
}
