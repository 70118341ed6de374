//! `GET /api/events`: the operator's events as Server-Sent Events. Each message's `id:` is the
//! event row's id, so a browser that reconnects with `Last-Event-ID` (or a page that starts at
//! `?after=N`) receives exactly the events it has not seen, once each, in order.
//!
//! A stream lasts only as long as the session that opened it. Sessions end in the database
//! (logout, "sign out everywhere else", removal from the whitelist by whichever process syncs
//! it), so the stream re-reads its session before delivering and every `RECHECK` while idle.

use std::{convert::Infallible, time::Duration};

use app::state::{AppState, CurrentOperator};
use axum::{
    Extension,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::stream;
use serde::Deserialize;
use service::bus::events;
use tokio::{sync::mpsc, time::MissedTickBehavior};

/// Events read per query; a reader far behind catches up in pages of this size.
const PAGE: u64 = 200;

/// How long an idle stream may outlive its session.
const RECHECK: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
pub struct Start {
    after: Option<i64>,
}

pub async fn stream_events(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentOperator>,
    Query(start): Query<Start>,
    headers: HeaderMap,
) -> Response {
    // The browser's own resume point wins over the page's starting point.
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let cursor = match resume.or(start.after) {
        Some(id) => id.max(0),
        None => match events::latest_id(&state.db).await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "event stream: reading the cursor failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        },
    };
    let (tx, rx) = mpsc::channel::<SseEvent>(PAGE as usize);
    tokio::spawn(tail(state, me.id, me.session_key, cursor, tx));
    let messages = stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), rx))
    });
    Sse::new(messages)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Forwards the operator's events after `cursor` until the client goes away, the server stops
/// or the session ends.
async fn tail(
    state: AppState,
    operator_id: i64,
    session_key: Option<String>,
    mut cursor: i64,
    tx: mpsc::Sender<SseEvent>,
) {
    let mut waker = state.event_waker.clone();
    let mut stopping = state.stopping.clone();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The guard has just checked the session; the first re-check is due one period from now.
    recheck.reset();
    loop {
        if *stopping.borrow() {
            return;
        }
        let batch = match events::after(&state.db, operator_id, cursor, PAGE).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "event stream: reading events failed");
                Vec::new()
            }
        };
        if !batch.is_empty() && !still_signed_in(&state, operator_id, session_key.as_deref()).await
        {
            return;
        }
        let full = batch.len() as u64 == PAGE;
        for stored in batch {
            cursor = stored.id;
            let Ok(data) = serde_json::to_string(&stored.event) else {
                continue;
            };
            let message = SseEvent::default().id(stored.id.to_string()).data(data);
            if tx.send(message).await.is_err() {
                return; // the client went away
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = waker.wait() => {}
            _ = recheck.tick() => {
                if !still_signed_in(&state, operator_id, session_key.as_deref()).await {
                    return;
                }
            }
            _ = stopping.changed() => return,
            _ = tx.closed() => return,
        }
    }
}

/// Whether the session still exists, unexpired, for this operator, and the operator is still
/// active. A failed read keeps the stream: the database hiccuping is not a sign-out.
async fn still_signed_in(state: &AppState, operator_id: i64, session_key: Option<&str>) -> bool {
    let Some(key) = session_key else {
        return false;
    };
    match service::web_sessions::is_live(&state.db, key, operator_id).await {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!(error = %e, "event stream: checking the session failed");
            true
        }
    }
}
