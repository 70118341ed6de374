//! Herald's web server as a library, so tests start the real thing on a free port
//! (`Application::build` with `LEPTOS_SITE_ADDR=127.0.0.1:0`).

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use app::{App, shell, state::AppState};
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use service::{config::Config, database};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = database::connect_and_migrate(&config.database_url)
            .await
            .context("preparing the database")?;
        let listener = TcpListener::bind(config.server_addr)
            .await
            .with_context(|| format!("binding {}", config.server_addr))?;
        let leptos_options = LeptosOptions::builder()
            .output_name("herald")
            .site_root(config.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(listener.local_addr()?)
            .build();
        let state = AppState {
            leptos_options,
            db,
            config: Arc::new(config),
            started_at: Instant::now(),
        };
        Ok(Self {
            listener,
            router: router(state),
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Every route the server answers: JSON endpoints first, then the Leptos pages and server
/// functions, then static files from the site root.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/api/health", get(health))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// For load balancers and the operator: 200 when the database answers, 503 when it does not.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = app::functions::system::ssr::health_report(&state).await;
    let status = match report.status {
        app::models::HealthStatus::Ok => StatusCode::OK,
        app::models::HealthStatus::Degraded => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(report))
}
