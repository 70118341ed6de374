//! `herald-server login-link`: the way in when no Telegram bot is configured (and what
//! `make run` prints at start). It reads the operators the server synced from its whitelist and
//! never changes them: its own environment may not be the server's.

use anyhow::{Context, bail};
use service::{audit::Actor, config::Config, database, login_links, operators};

/// Prints a fresh login link. With several operators, `--telegram-id <id>` picks one.
pub async fn login_link(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let wanted = match args {
        [] => None,
        [flag, id] if flag == "--telegram-id" => Some(
            id.parse::<i64>()
                .with_context(|| format!("--telegram-id expects a number, got {id:?}"))?,
        ),
        _ => bail!("usage: herald-server login-link [--telegram-id <id>]"),
    };
    let db = database::connect_and_migrate(&config.database_url)
        .await
        .context("preparing the database")?;
    let active = operators::active(&db).await?;
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
        (Some(id), _) => match active.iter().find(|o| o.telegram_user_id == Some(id)) {
            Some(operator) => operator,
            None => {
                bail!("Telegram user {id} is not an active operator (TELEGRAM_ALLOWED_USER_IDS)")
            }
        },
    };
    let link = login_links::issue(&db, operator.id, &config.public_url, Actor::Cli).await?;
    println!("{}", link.url);
    eprintln!(
        "Login link for {} — single use, valid until {} UTC.",
        operator.display_name,
        link.expires_at.format("%H:%M")
    );
    Ok(())
}
