//! Who may see what. Every request passes the guard; only the paths in [`is_public`] are
//! reachable without a signed-in operator. Login is by one-time link: the link's page posts its
//! token to `/auth/login`, which starts a session.

mod client_ip;
pub mod origin;
mod rate_limit;

use std::{sync::Arc, time::Duration};

use app::state::{AppState, CurrentOperator};
use axum::{
    Extension, Form, Json,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::json;
use service::{
    audit::{self, Actor},
    login_links::{self, RedeemError},
    operators, web_sessions,
};
use tower_sessions::Session;

pub use self::rate_limit::FailedLogins;
use self::{client_ip::ClientIp, rate_limit::Verdict};

/// Failed redemptions one client may make per window before it is refused.
const MAX_FAILED_LOGINS: usize = 10;
const FAILED_LOGIN_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Files every page needs before anyone signs in. Browsers fetch the web app manifest and the
/// icons it names without cookies.
const PUBLIC_FILES: [&str; 7] = [
    "/favicon.svg",
    "/manifest.webmanifest",
    "/sw.js",
    "/icons/icon-192.png",
    "/icons/icon-512.png",
    "/icons/maskable-512.png",
    "/icons/apple-touch-icon.png",
];

/// Reachable without a session: the login pages and their form, health, metrics (which checks
/// its own token), calendar feeds (whose path holds their secret), and static assets.
/// Everything else — pages, server functions, API, media, QR images — needs an operator.
pub fn is_public(method: &Method, path: &str) -> bool {
    let read = matches!(*method, Method::GET | Method::HEAD);
    (read && (path == "/login" || path.starts_with("/login/")))
        || (*method == Method::POST && path == "/auth/login")
        || (read && path == "/api/health")
        // Guarded by its own bearer token (METRICS_TOKEN), for scrapers that have no session.
        || (read && path == "/metrics")
        // Calendar apps send no cookies; the feed's path carries its own secret token.
        || (read && is_feed_path(path))
        || (read && (path.starts_with("/pkg/") || PUBLIC_FILES.contains(&path)))
}

/// `/calendar/<one segment>.ics`, and nothing deeper: the calendar feed's route only.
fn is_feed_path(path: &str) -> bool {
    path.strip_prefix(service::calendar::FEED_PATH)
        .and_then(|file| file.strip_suffix(".ics"))
        .is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

/// How often a visit rewrites its session, sliding the 30-day expiry forward.
const TOUCH_INTERVAL_SECS: i64 = 3600;

/// Refuses paths with dot segments or backslashes (see [`is_plain_path`]), lets public paths
/// through, and otherwise resolves the session's operator (refusing disabled ones) and hands it
/// to the handlers as a request extension.
pub async fn require_operator(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if !is_plain_path(request.uri().path()) {
        return (StatusCode::BAD_REQUEST, "malformed path").into_response();
    }
    if is_public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match current_operator(&state, &session).await {
        Ok(Some(operator)) => {
            request.extensions_mut().insert(operator);
            next.run(request).await
        }
        Ok(None) => unauthenticated(&request),
        Err(e) => {
            tracing::error!(error = %e, "resolving the session's operator failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// No `.` or `..` segment, percent-encoded or not, and no backslash. The page renderer resolves
/// dot segments, so `/login/../settings` would otherwise pass as public yet render Settings.
pub fn is_plain_path(path: &str) -> bool {
    !path.contains('\\')
        && path.split('/').all(|segment| {
            let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
            decoded != "." && decoded != ".."
        })
}

async fn current_operator(
    state: &AppState,
    session: &Session,
) -> anyhow::Result<Option<CurrentOperator>> {
    let Some(operator_id) = session.get::<i64>(web_sessions::OPERATOR_KEY).await? else {
        return Ok(None);
    };
    match operators::find_active(&state.db, operator_id).await? {
        Some(operator) => {
            let now = chrono::Utc::now().timestamp();
            let touched = session
                .get::<i64>(web_sessions::TOUCHED_KEY)
                .await?
                .unwrap_or(0);
            if now - touched >= TOUCH_INTERVAL_SECS {
                session.insert(web_sessions::TOUCHED_KEY, now).await?;
            }
            Ok(Some(CurrentOperator {
                id: operator.id,
                display_name: operator.display_name,
                session_key: session.id().as_ref().map(web_sessions::row_key),
            }))
        }
        None => {
            // Removed from the whitelist: this session ends now.
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Pages send the browser to the login page; API calls and server functions get a plain 401.
fn unauthenticated(request: &Request) -> Response {
    let path = request.uri().path();
    if request.method() == Method::GET && !path.starts_with("/api/") {
        Redirect::to("/login").into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "sign in required" })),
        )
            .into_response()
    }
}

/// The limiter the login handler consults; installed once as a request extension.
pub fn failed_logins() -> Extension<Arc<FailedLogins>> {
    Extension(Arc::new(FailedLogins::new(
        MAX_FAILED_LOGINS,
        FAILED_LOGIN_WINDOW,
    )))
}

/// What the link page's form posts.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /auth/login`: spends a link's token and starts a session.
pub async fn login(
    State(state): State<AppState>,
    Extension(failed_logins): Extension<Arc<FailedLogins>>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let db = &state.db;
    let now = std::time::Instant::now();
    if let Verdict::Refused { first } = failed_logins.check(ip, now) {
        if first {
            let entry = audit::Entry::new(Actor::Anonymous, "login.rate_limited").client_ip(ip);
            if let Err(e) = audit::record(db, entry).await {
                tracing::error!(error = %e, "auditing a rate-limited login failed");
            }
        }
        return Redirect::to("/login?link=too_many_attempts").into_response();
    }
    match login_links::redeem(db, &form.token).await {
        Ok(operator) => {
            let user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            // A new id on login: a session id planted before login is worthless afterwards.
            let started = async {
                session.cycle_id().await?;
                session
                    .insert(web_sessions::OPERATOR_KEY, operator.id)
                    .await?;
                session
                    .insert(web_sessions::USER_AGENT_KEY, user_agent)
                    .await?;
                session
                    .insert(web_sessions::TOUCHED_KEY, chrono::Utc::now().timestamp())
                    .await?;
                anyhow::Ok(())
            };
            if let Err(e) = started.await {
                tracing::error!(error = %e, "starting a session failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let entry = audit::Entry::new(Actor::Operator, "login")
                .operator(operator.id)
                .client_ip(ip);
            if let Err(e) = audit::record(db, entry).await {
                tracing::error!(error = %e, "auditing a login failed");
            }
            tracing::info!(operator = operator.id, "operator signed in");
            Redirect::to("/").into_response()
        }
        Err(RedeemError::Refused(reason)) => {
            failed_logins.record_failure(ip, now);
            let entry = audit::Entry::new(Actor::Anonymous, "login.failed")
                .detail(json!({ "reason": reason.as_str() }))
                .client_ip(ip);
            if let Err(e) = audit::record(db, entry).await {
                tracing::error!(error = %e, "auditing a failed login failed");
            }
            Redirect::to("/login?link=invalid").into_response()
        }
        Err(RedeemError::Db(e)) => {
            tracing::error!(error = %e, "redeeming a login link failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `POST /auth/logout`: ends this session.
pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
) -> Response {
    let operator = session
        .get::<i64>(web_sessions::OPERATOR_KEY)
        .await
        .ok()
        .flatten();
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "ending a session failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if let Some(operator) = operator {
        let entry = audit::Entry::new(Actor::Operator, "logout")
            .operator(operator)
            .client_ip(ip);
        if let Err(e) = audit::record(&state.db, entry).await {
            tracing::error!(error = %e, "auditing a logout failed");
        }
    }
    Redirect::to("/login").into_response()
}
