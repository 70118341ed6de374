//! `GET /calendar/<token>.ics`: an operator's sends to come, for their calendar app. Public, as
//! calendar apps send no cookies: the unguessable token in the path is the credential, and an
//! unknown or revoked one reads as no such file.

use app::state::AppState;
use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{Duration, Utc};
use service::calendar::{self, FEED_DAYS};

pub async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let operator_id = match calendar::reader(&state.db, &file).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                [(header::CACHE_CONTROL, "no-store")],
                "No such calendar feed",
            )
                .into_response();
        }
        Err(e) => return failed(&e),
    };
    let now = Utc::now();
    let sends = match service::agenda::upcoming(
        &state.db,
        operator_id,
        now,
        now + Duration::days(FEED_DAYS),
        &state.config.delivery.pacing(),
    )
    .await
    {
        Ok(sends) => sends,
        Err(e) => return failed(&e),
    };
    let public_url = &state.config.public_url;
    let host = public_url.url().host_str().unwrap_or("herald");
    let body = calendar::ics::document(&sends, now, &public_url.join(""), host);
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            // The link is a secret: no shared cache keeps a copy.
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

fn failed(error: &dyn std::error::Error) -> Response {
    tracing::error!(error = %error, "serving a calendar feed failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The calendar feed could not be read",
    )
        .into_response()
}
