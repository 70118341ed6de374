use std::{fmt::Display, process::ExitCode};

use runtime::{
    cli::{self as shared, ConfigCommand},
    config::{Config, Process},
    healthcheck, shutdown, telemetry,
};
use server::cli::{self, Cli, Command};

/// Each runtime thread's stack. Rendering a page walks Leptos's deeply nested view types, and an
/// unoptimised build's frames for the deepest pages outgrow tokio's 2 MiB default.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("herald-server: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    // Arguments first: --help, --version and argument errors need no configuration.
    let cli: Cli = shared::parse(Process::Server);
    match cli.command {
        None => with_config(serve).await,
        Some(Command::Completions { shell }) => shared::completions::<Cli>(Process::Server, shell),
        Some(Command::Config {
            command: ConfigCommand::Check,
        }) => shared::config_check(Process::Server),
        Some(Command::Healthcheck) => {
            with_config(|config| async move {
                report(
                    "healthcheck",
                    healthcheck::probe(config.server_addr, "/api/health").await,
                )
            })
            .await
        }
        Some(Command::LoginLink { telegram_id }) => {
            with_config(|config| async move {
                report("login-link", cli::login_link(&config, telegram_id).await)
            })
            .await
        }
        Some(Command::Pair(args)) => {
            with_config(|config| async move { report("pair", cli::pair(&config, args).await) })
                .await
        }
        Some(Command::Accounts(args)) => {
            with_config(
                |config| async move { report("accounts", cli::accounts(&config, &args).await) },
            )
            .await
        }
        Some(Command::Reminders(args)) => {
            with_config(|config| async move {
                report("reminders", cli::reminders(&config, &args).await)
            })
            .await
        }
    }
}

/// Runs `command` with the configuration; an invalid one lists every problem and exits 2 before
/// anything is touched.
async fn with_config<F: Future<Output = ExitCode>>(command: impl FnOnce(Config) -> F) -> ExitCode {
    match Config::load() {
        Ok(config) => command(config).await,
        Err(e) => {
            eprintln!("herald-server: {e}");
            ExitCode::from(2)
        }
    }
}

/// A command's outcome as its exit status, saying why it failed.
fn report<E: Display>(command: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald-server {command}: {e:#}");
            ExitCode::FAILURE
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
