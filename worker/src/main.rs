use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runtime::{
    cli::{self as shared, ConfigCommand, Shell},
    config::{Config, Process},
    healthcheck, shutdown, telemetry,
};

/// Run Herald's worker: WhatsApp sessions, reminder sends, the Telegram bot (the default command)
///
/// With no command, herald-worker applies pending database migrations, resumes every linked
/// WhatsApp account, sends reminders as they come due, runs the Telegram bot when
/// TELEGRAM_BOT_TOKEN is set, and serves /health and /metrics on WORKER_HEALTH_ADDR until
/// SIGTERM or Ctrl-C, letting the sends under way finish. Every setting is validated first:
/// with any problem it lists them all and exits 2. On SQLite only one worker may run.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exit 0 if the running worker's /health answers 200, for container health checks
    ///
    /// Asks the worker listening on WORKER_HEALTH_ADDR (over loopback when it is bound to every
    /// interface) for /health: exit 0 on HTTP 200, that is, when the worker runs and its
    /// database answers; otherwise exit 1, saying why.
    #[command(after_help = "Example:\n  docker compose exec worker herald-worker healthcheck")]
    Healthcheck,
    // Described in runtime::cli, as the server shares it.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    // Described in runtime::cli, as the server shares it.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // Arguments first: --help, --version and argument errors need no configuration.
    let cli: Cli = shared::parse(Process::Worker);
    match cli.command {
        Some(Command::Completions { shell }) => {
            return shared::completions::<Cli>(Process::Worker, shell);
        }
        Some(Command::Config {
            command: ConfigCommand::Check,
        }) => return shared::config_check(Process::Worker),
        Some(Command::Healthcheck) | None => {}
    }
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("herald-worker: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Healthcheck) = cli.command {
        return match healthcheck::probe(config.worker_health_addr, "/health").await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("herald-worker healthcheck: {e}");
                ExitCode::FAILURE
            }
        };
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
