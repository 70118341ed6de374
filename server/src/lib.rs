//! Herald's web server as a library, so tests start the real thing on a free port
//! (`Application::build` with `LEPTOS_SITE_ADDR=127.0.0.1:0`).

// Leptos views are deeply nested types; rendering the whole app needs more than the default.
#![recursion_limit = "256"]

pub mod auth;
mod bundle;
mod calendar;
pub mod cli;
mod live;
mod media;
mod metrics;
mod qr_image;
mod transport;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use app::{App, shell, state::AppState};
use axum::{
    Json, Router,
    extract::State,
    http::{Method, StatusCode},
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::{MethodRouter, get, post},
};
use bundle::Bundle;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use runtime::config::Config;
use service::bus::wake::{Topic, Waker};
use service::{database, operators, web_sessions::DbSessionStore};
use tokio::{net::TcpListener, sync::watch};
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// Sessions slide: each visit extends them by this much.
const SESSION_IDLE_LIFETIME: time::Duration = time::Duration::days(30);

pub struct Application {
    listener: TcpListener,
    /// Tells `herald-backup restore` the server runs (SQLite).
    in_use: database::InUse,
    router: Router,
    /// Tells long-lived responses (event streams) to end, so graceful shutdown can finish.
    stopping: watch::Sender<bool>,
}

impl Application {
    /// Binds `LEPTOS_SITE_ADDR`, then builds as [`Application::build_with_listener`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.server_addr)
            .await
            .with_context(|| format!("binding {}", config.server_addr))?;
        Self::build_with_listener(config, listener).await
    }

    /// Connects to the database, applies migrations and syncs the whitelist; serves on
    /// `listener` (tests bind port 0 first, so the address is known before the config is).
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let in_use = database::hold_in_use(&config.database_url)?;
        let db = database::connect_and_migrate(&config.database_url)
            .await
            .context("preparing the database")?;
        let report =
            operators::sync_whitelist(&db, &config.allowed_user_ids, config.default_timezone)
                .await
                .context("syncing the operator whitelist")?;
        tracing::info!(?report, "operators synced with the whitelist");
        spawn_session_sweeper(DbSessionStore::new(db.clone()));
        let leptos_options = LeptosOptions::builder()
            .output_name("herald")
            .site_root(config.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(listener.local_addr()?)
            .build();
        let event_waker = Waker::start(&db, Topic::Events)
            .await
            .context("listening for events")?;
        let (stopping, stopping_rx) = watch::channel(false);
        let state = AppState {
            leptos_options,
            db,
            config: Arc::new(config),
            started_at: Instant::now(),
            event_waker,
            stopping: stopping_rx,
        };
        Ok(Self {
            listener,
            in_use,
            router: router(state),
            stopping,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Client addresses feed the login rate limit and the audit log.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let stopping = self.stopping;
        let _in_use = self.in_use;
        axum::serve(transport::without_nagle(self.listener), service)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stopping.send(true);
            })
            .await
    }
}

/// Every route the server answers: JSON and form endpoints first, then the Leptos pages and
/// server functions, then static files from the site root. Requests pass, outermost first: the
/// trace span, the Origin check, the session, the operator guard.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("herald_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.public_url.is_https())
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE_LIFETIME));
    let mut router = Router::new();
    for (_, path, route) in endpoints() {
        router = router.route(path, route);
    }
    let bundle = Bundle::new(&state.leptos_options);
    // Hashed now, at start, rather than by the first page's request.
    bundle.hash();
    let page_shell = {
        let bundle = bundle.clone();
        move |options: LeptosOptions| shell(bundle.page_options(&options))
    };
    router
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            let page_shell = page_shell.clone();
            move || page_shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            page_shell,
        ))
        .layer(transport::compression())
        // After the compression: the bundle is compressed when it is built, not per request.
        .route(
            "/pkg/{*path}",
            get(move |request: axum::extract::Request| bundle.clone().serve(request)),
        )
        .layer(from_fn(transport::revalidate_service_worker))
        .layer(from_fn_with_state(state.clone(), auth::require_operator))
        .layer(auth::failed_logins())
        .layer(sessions)
        .layer(from_fn_with_state(
            state.clone(),
            auth::origin::check_origin,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span each request is traced in: method and path, with a login link's or calendar feed's
/// token redacted and the query string left out.
fn request_span(request: &axum::extract::Request) -> tracing::Span {
    let path = request.uri().path();
    let path = if path.starts_with(service::login_links::LINK_PATH) {
        "/login/[redacted]"
    } else if path.starts_with(service::calendar::FEED_PATH) {
        "/calendar/[redacted]"
    } else {
        path
    };
    tracing::debug_span!("request", method = %request.method(), path)
}

/// The routes the server adds beside Leptos's pages and server functions. The router is built
/// from this table, so [`endpoint_list`] (which the access tests walk) cannot miss one.
fn endpoints() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/api/health", get(health)),
        (Method::GET, "/metrics", get(metrics::scrape)),
        (Method::POST, "/auth/login", post(auth::login)),
        (Method::POST, "/auth/logout", post(auth::logout)),
        (Method::GET, "/api/events", get(live::stream_events)),
        (
            Method::GET,
            "/api/accounts/{id}/qr.png",
            get(qr_image::qr_png),
        ),
        (Method::POST, "/api/media", media::upload_route()),
        (Method::GET, "/api/media/{id}", get(media::download)),
        (Method::GET, "/calendar/{file}", get(calendar::feed)),
    ]
}

/// Method and path of every route in [`endpoints`].
pub fn endpoint_list() -> Vec<(Method, &'static str)> {
    endpoints()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// Deletes expired sessions hourly, so the table holds only live ones.
fn spawn_session_sweeper(store: DbSessionStore) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            match store.delete_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
            }
        }
    });
}

/// For load balancers and the operator: 200 when the database answers, 503 when it does not.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = app::functions::system::ssr::health_report(&state).await;
    let status = match report.status {
        app::wire::HealthStatus::Ok => StatusCode::OK,
        app::wire::HealthStatus::Degraded => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(report))
}
