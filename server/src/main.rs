use std::process::ExitCode;

use service::{config::Config, shutdown, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("herald-server: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    let public_url = config.public_url.url().clone();
    let app = match server::Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "herald-server cannot start");
            return ExitCode::FAILURE;
        }
    };
    match app.local_addr() {
        Ok(addr) => tracing::info!(%addr, dashboard = %public_url, "herald-server listening"),
        Err(e) => tracing::warn!(error = %e, "listening on an unknown address"),
    }
    match app.run_until_stopped(shutdown::signal()).await {
        Ok(()) => {
            tracing::info!("herald-server stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "herald-server failed");
            ExitCode::FAILURE
        }
    }
}
