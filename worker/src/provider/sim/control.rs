//! The simulator's development control interface: scan, inject faults, read the outbox and the
//! op log over HTTP. Merged into the worker's internal (loopback) listener when the `sim`
//! provider is in use; never meant for the public internet.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use domain::status::MessageKind;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Fault, SimError, SimProvider};

/// The control routes, state applied, ready to merge into another router.
pub fn control_router(sim: Arc<SimProvider>) -> Router {
    Router::new()
        .route("/sim/accounts/{id}/scan", post(scan))
        .route("/sim/accounts/{id}/faults", post(inject))
        .route("/sim/accounts/{id}/messages", get(messages))
        .route("/sim/accounts/{id}/ops", get(ops))
        .with_state(sim)
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanRequest {
    phone: Option<String>,
}

#[derive(Serialize)]
struct MessageView {
    group_jid: String,
    kind: MessageKind,
    body: String,
    wa_message_id: String,
    sent_at: DateTime<Utc>,
}

async fn scan(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Response {
    let account_id = match account_id(path) {
        Ok(id) => id,
        Err(response) => return response,
    };
    // No body at all means "scan with the account's default phone".
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        ScanRequest::default()
    } else {
        match parse::<ScanRequest>(&body, "scan request") {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    done(sim.scan(account_id, request.phone))
}

async fn inject(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Response {
    let account_id = match account_id(path) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match parse::<Fault>(&body, "fault") {
        Ok(fault) => done(sim.inject(account_id, fault)),
        Err(response) => response,
    }
}

async fn messages(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
) -> Response {
    let account_id = match account_id(path) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match sim.sent(account_id).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|row| MessageView {
                    group_jid: row.group_jid,
                    kind: row.kind,
                    body: row.body,
                    wa_message_id: row.wa_message_id,
                    sent_at: row.sent_at,
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => {
            tracing::warn!(account_id, error = %e, "listing simulated messages failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the simulated messages",
            )
        }
    }
}

async fn ops(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
) -> Response {
    match account_id(path) {
        Ok(account_id) => Json(sim.ops(account_id)).into_response(),
        Err(response) => response,
    }
}

fn account_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, Response> {
    path.map(|Path(id)| id).map_err(|rejection| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("the account id must be a number: {rejection}"),
        )
    })
}

fn parse<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        error(status, &format!("invalid {what}: {e}"))
    })
}

fn done(result: Result<(), SimError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e @ SimError::Invalid(_)) => error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        Err(e) => error(StatusCode::CONFLICT, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
