//! The server's command line, for the host's shell. With no command it serves; the commands are
//! for a box without a browser at hand:
//! - `login-link`: the way in when no Telegram bot is configured (and what `make run` prints);
//! - `pair <label>`: pairs an account from the terminal ([`pair`]);
//! - `accounts`, `reminders`: read-only listings ([`listings`]);
//! - `healthcheck`, `config check`, `completions`: shared with the worker (`runtime::cli`).
//!
//! They read the operators the server synced from its whitelist and never change them: their
//! own environment may not be the server's.

mod listings;
mod pair;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use entity::operators::Model as Operator;
use runtime::{
    cli::{ConfigCommand, Shell},
    config::Config,
};
use sea_orm::DatabaseConnection;
use service::{audit::Actor, database, login_links, operators};

pub use self::{
    listings::{ListArgs, accounts, reminders},
    pair::{PairArgs, pair},
};

/// Serve Herald's dashboard, its API and sign-in until stopped (the default command)
///
/// With no command, herald-server applies pending database migrations, syncs the operators
/// from TELEGRAM_ALLOWED_USER_IDS and serves the dashboard on LEPTOS_SITE_ADDR until SIGTERM or
/// Ctrl-C. Every setting is validated first: with any problem it lists them all and exits 2.
/// The commands below act on the same database for the operator at the host's shell.
#[derive(Debug, Parser)]
#[command(name = "herald-server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a one-time sign-in link to the dashboard, valid for 10 minutes
    ///
    /// Prints a link to stdout that signs one operator in once, within 10 minutes; only its
    /// SHA-256 is stored. It reads the operators the running server synced from its whitelist
    /// (start the server once first) and never changes them. With several operators, choose
    /// one with --telegram-id.
    #[command(after_help = "Examples:\n  herald-server login-link\n  \
                            herald-server login-link --telegram-id 12345")]
    LoginLink {
        /// The operator to sign in, by Telegram user id (needed when several are whitelisted)
        #[arg(long, value_name = "id")]
        telegram_id: Option<i64>,
    },
    /// Pair a WhatsApp account from the terminal, by QR code or by phone number
    ///
    /// Adds the account if it is new, asks the worker to pair it and draws each QR code in the
    /// terminal as it rotates; scan it on the phone under WhatsApp → Settings → Linked devices →
    /// Link a device. With --phone it prints the eight-character code to type on that phone
    /// instead. Exits 0 once connected, 1 on timeout, failure or a number it cannot read. The
    /// worker must be running.
    #[command(after_help = "Examples:\n  herald-server pair \"Front desk\"\n  \
                            herald-server pair \"Front desk\" --phone +447700900123\n  \
                            herald-server pair Gym --telegram-id 12345 --timeout 300")]
    Pair(PairArgs),
    /// Exit 0 if the running server's /api/health answers 200, for container health checks
    ///
    /// Asks the server listening on LEPTOS_SITE_ADDR (over loopback when it is bound to every
    /// interface) for /api/health: exit 0 on HTTP 200, that is, when the server runs and its
    /// database answers; otherwise exit 1, saying why.
    #[command(after_help = "Example:\n  docker compose exec server herald-server healthcheck")]
    Healthcheck,
    // Described in runtime::cli, as the worker shares it.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// List the WhatsApp accounts: label, operator, status, phone and when last seen
    ///
    /// Reads every active operator's accounts (or one operator's, with --telegram-id) and prints
    /// them as aligned text, or JSON with --json. Reads only: it changes nothing, and needs no
    /// running server.
    #[command(after_help = "Examples:\n  herald-server accounts\n  \
                            herald-server accounts --telegram-id 12345 --json")]
    Accounts(ListArgs),
    /// List the reminders: account, status, next fire (in the reminder's zone and UTC), groups
    ///
    /// Reads every active operator's reminders (or one operator's, with --telegram-id) and
    /// prints them as aligned text, or JSON with --json. Reads only: it changes nothing, and
    /// needs no running server.
    #[command(
        after_help = "Examples:\n  herald-server reminders\n  herald-server reminders --json"
    )]
    Reminders(ListArgs),
    // Described in runtime::cli, as the worker shares it.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// Prints a fresh login link for the operator `wanted` names, or the only one.
pub async fn login_link(config: &Config, wanted: Option<i64>) -> anyhow::Result<()> {
    let db = database::connect_and_migrate(&config.database_url)
        .await
        .context("preparing the database")?;
    let operator = choose_operator(&db, wanted).await?;
    let link = login_links::issue(&db, operator.id, &config.public_url, Actor::Cli).await?;
    println!("{}", link.url);
    eprintln!(
        "Login link for {} — single use, valid until {} UTC.",
        operator.display_name,
        link.expires_at.format("%H:%M")
    );
    Ok(())
}

/// The operator a command acts for: the only one, or the one `wanted` names.
async fn choose_operator(db: &DatabaseConnection, wanted: Option<i64>) -> anyhow::Result<Operator> {
    let active = operators::active(db).await?;
    let operator = match (wanted, active.as_slice()) {
        (_, []) => bail!(
            "no operator yet: start herald-server once, it creates them from TELEGRAM_ALLOWED_USER_IDS"
        ),
        (None, [only]) => only,
        (None, _) => bail!(
            "several operators are whitelisted; choose one with --telegram-id ({})",
            active
                .iter()
                .filter_map(|o| o.telegram_user_id)
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Some(id), _) => find_operator(&active, id)?,
    };
    Ok(operator.clone())
}

/// The active operator with Telegram id `id`.
fn find_operator(active: &[Operator], id: i64) -> anyhow::Result<&Operator> {
    active
        .iter()
        .find(|o| o.telegram_user_id == Some(id))
        .with_context(|| {
            format!("Telegram user {id} is not an active operator (TELEGRAM_ALLOWED_USER_IDS)")
        })
}
