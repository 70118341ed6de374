use std::process::ExitCode;

use runtime::{config::Config, healthcheck, shutdown, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("herald-worker: {e}");
            return ExitCode::from(2);
        }
    };
    match args.as_slice() {
        [] => {}
        [command] if command == "healthcheck" => {
            return match healthcheck::probe(config.worker_health_addr, "/health").await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("herald-worker healthcheck: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {
            eprintln!("usage: herald-worker [healthcheck]");
            return ExitCode::from(2);
        }
    }
    telemetry::init(&config.log);
    let worker = match worker::Worker::start(config).await {
        Ok(worker) => worker,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "herald-worker cannot start");
            return ExitCode::FAILURE;
        }
    };
    match worker.health_addr() {
        Ok(addr) => tracing::info!(%addr, "herald-worker running; health at /health"),
        Err(e) => tracing::warn!(error = %e, "health listener on an unknown address"),
    }
    match worker.run_until_stopped(shutdown::signal()).await {
        Ok(()) => {
            tracing::info!("herald-worker stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "herald-worker failed");
            ExitCode::FAILURE
        }
    }
}
