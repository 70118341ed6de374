use std::process::ExitCode;

use runtime::{config::Config, healthcheck, shutdown, telemetry};

const USAGE: &str = "usage: herald-server [login-link [--telegram-id <id>] | pair <label> [--phone <number>] [--telegram-id <id>] [--timeout <seconds>] | healthcheck]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("herald-server: {e}");
            return ExitCode::from(2);
        }
    };
    match args.split_first() {
        None => serve(config).await,
        Some((command, rest)) if command == "login-link" => {
            match server::cli::login_link(&config, rest).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("herald-server login-link: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some((command, rest)) if command == "pair" => {
            match server::cli::pair(&config, rest).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("herald-server pair: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some((command, [])) if command == "healthcheck" => {
            match healthcheck::probe(config.server_addr, "/api/health").await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("herald-server healthcheck: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(_) => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
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
