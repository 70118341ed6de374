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

use super::{Fault, SimError, SimOp, SimProvider};

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

/// An error answer: a status and `{"error": message}`.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        (self.status, body).into_response()
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        let status = match e {
            SimError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SimError::NotPairing(_) | SimError::NoLiveSession(_) => StatusCode::CONFLICT,
        };
        Self::new(status, e.to_string())
    }
}

type Answer<T> = Result<T, ApiError>;

async fn scan(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Answer<StatusCode> {
    let account_id = account_id(path)?;
    // No body at all means "scan with the account's default phone".
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        ScanRequest::default()
    } else {
        parse::<ScanRequest>(&body, "scan request")?
    };
    sim.scan(account_id, request.phone)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn inject(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Answer<StatusCode> {
    let account_id = account_id(path)?;
    sim.inject(account_id, parse::<Fault>(&body, "fault")?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn messages(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
) -> Answer<Json<Vec<MessageView>>> {
    let account_id = account_id(path)?;
    let rows = sim.sent(account_id).await.map_err(|e| {
        tracing::warn!(account_id, error = %e, "listing simulated messages failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not read the simulated messages",
        )
    })?;
    Ok(Json(
        rows.into_iter()
            .map(|row| MessageView {
                group_jid: row.group_jid,
                kind: row.kind,
                body: row.body,
                wa_message_id: row.wa_message_id,
                sent_at: row.sent_at,
            })
            .collect(),
    ))
}

async fn ops(
    State(sim): State<Arc<SimProvider>>,
    path: Result<Path<i64>, PathRejection>,
) -> Answer<Json<Vec<SimOp>>> {
    Ok(Json(sim.ops(account_id(path)?)))
}

fn account_id(path: Result<Path<i64>, PathRejection>) -> Answer<i64> {
    path.map(|Path(id)| id).map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the account id must be a number: {rejection}"),
        )
    })
}

fn parse<T: DeserializeOwned>(body: &[u8], what: &str) -> Answer<T> {
    serde_json::from_slice(body).map_err(|e| {
        // Well-formed JSON of the wrong shape is unprocessable; anything else is a bad request.
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, format!("invalid {what}: {e}"))
    })
}
