//! `GET /api/accounts/{id}/qr.png`: the account's current pairing QR code, for its operator only.

use app::state::{AppState, CurrentOperator};
use axum::{
    Extension,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

pub async fn qr_png(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentOperator>,
    Path(account_id): Path<i64>,
) -> Response {
    match service::accounts::find(&state.db, me.id, account_id).await {
        Ok(Some(account)) => match account.last_qr_png {
            Some(png) => (
                [
                    (header::CONTENT_TYPE, "image/png"),
                    // A pairing code is a credential for a minute: never cached anywhere.
                    (header::CACHE_CONTROL, "no-store"),
                ],
                png,
            )
                .into_response(),
            None => (
                StatusCode::NOT_FOUND,
                "no QR code is showing for this account",
            )
                .into_response(),
        },
        // Another operator's account is indistinguishable from a missing one.
        Ok(None) => (StatusCode::NOT_FOUND, "no such account").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a QR code failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
