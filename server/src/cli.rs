//! The server's command line, for the host's shell:
//! - `login-link`: the way in when no Telegram bot is configured (and what `make run` prints);
//! - `pair <label>`: pairs an account from the terminal, drawing its QR codes there — or, with
//!   `--phone <number>`, printing the code to type on that phone.
//!
//! Both read the operators the server synced from its whitelist and never change them: their
//! own environment may not be the server's.

use std::{io::IsTerminal, time::Duration};

use anyhow::{Context, bail};
use domain::{
    account::{AccountLabel, PhoneNumber},
    bus::Command,
    pairing::Phase,
    status::AccountStatus,
};
use entity::operators::Model as Operator;
use runtime::config::Config;
use sea_orm::DatabaseConnection;
use service::{
    accounts,
    audit::Actor,
    bus::{
        events,
        wake::{Topic, Waker},
    },
    database, login_links, operators,
};

/// Prints a fresh login link. With several operators, `--telegram-id <id>` picks one.
pub async fn login_link(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let wanted = match args {
        [] => None,
        [flag, id] if flag == "--telegram-id" => Some(parse_telegram_id(id)?),
        _ => bail!("usage: herald-server login-link [--telegram-id <id>]"),
    };
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

fn parse_telegram_id(raw: &str) -> anyhow::Result<i64> {
    raw.parse::<i64>()
        .with_context(|| format!("--telegram-id expects a number, got {raw:?}"))
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
        (Some(id), _) => match active.iter().find(|o| o.telegram_user_id == Some(id)) {
            Some(operator) => operator,
            None => {
                bail!("Telegram user {id} is not an active operator (TELEGRAM_ALLOWED_USER_IDS)")
            }
        },
    };
    Ok(operator.clone())
}

/// How long `pair` waits for the worker to start the pairing before saying so.
const WORKER_HINT_AFTER: Duration = Duration::from_secs(10);

/// Pairs an account from the terminal: adds it when new, asks the worker to pair it, draws each
/// QR code as it rotates — or, with `--phone`, prints the code to type on that phone — and exits
/// 0 once connected (non-zero on timeout or failure).
pub async fn pair(config: &Config, args: &[String]) -> anyhow::Result<()> {
    const USAGE: &str = "usage: herald-server pair <label> [--phone <number>] \
                         [--telegram-id <id>] [--timeout <seconds>]";
    let mut label = None;
    let mut phone = None;
    let mut wanted = None;
    let mut limit = Duration::from_secs(600);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--telegram-id" => {
                let raw = rest.next().context(USAGE)?;
                wanted = Some(parse_telegram_id(raw)?);
            }
            "--phone" => {
                let raw = rest.next().context(USAGE)?;
                phone = Some(
                    PhoneNumber::parse(raw).map_err(|e| anyhow::anyhow!("--phone {raw:?}: {e}"))?,
                );
            }
            "--timeout" => {
                let raw = rest.next().context(USAGE)?;
                let secs: u64 = raw
                    .parse()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .with_context(|| format!("--timeout expects 1 to 3600 seconds, got {raw:?}"))?;
                limit = Duration::from_secs(secs);
            }
            _ if label.is_none() && !arg.starts_with("--") => label = Some(arg.clone()),
            _ => bail!(USAGE),
        }
    }
    let label = AccountLabel::parse(label.as_deref().context(USAGE)?)
        .map_err(|e| anyhow::anyhow!("account name: {e}"))?;
    let db = database::connect_and_migrate(&config.database_url)
        .await
        .context("preparing the database")?;
    let operator = choose_operator(&db, wanted).await?;
    let account = match accounts::find_by_label(&db, operator.id, &label).await? {
        Some(account) => account,
        None => {
            let account =
                accounts::add(&db, Actor::Cli, operator.id, &label, config.wa_provider).await?;
            eprintln!("Added the account “{label}”.");
            account
        }
    };
    if account.status == AccountStatus::Connected {
        bail!("“{label}” is already connected — unpair it first");
    }
    // Read the cursor before asking, so none of this pairing's events can be missed.
    let mut cursor = events::latest_id(&db).await?;
    accounts::request(
        &db,
        Actor::Cli,
        operator.id,
        &Command::Pair {
            account_id: account.id,
            phone: phone.clone(),
        },
    )
    .await?
    .context("the account disappeared")?;
    match &phone {
        Some(phone) => {
            eprintln!("Pairing “{label}” by phone number {phone}: waiting for the worker…");
        }
        None => eprintln!("Pairing “{label}”: waiting for the worker…"),
    }
    let mut waker = Waker::start(&db, Topic::Events).await?;
    let mut phase = Phase::Idle;
    let deadline = tokio::time::Instant::now() + limit;
    let hint_at = tokio::time::Instant::now() + WORKER_HINT_AFTER;
    let mut hinted = false;
    let redraw = std::io::stdout().is_terminal();
    loop {
        for stored in events::after(&db, operator.id, cursor, 100).await? {
            cursor = stored.id;
            if stored.event.account_id() != account.id {
                continue;
            }
            phase = phase.apply(&stored.event);
            match &phase {
                // Pairing by phone number: the code is what matters, not the QR codes beside it.
                Phase::Qr { .. } if phone.is_some() => {}
                Phase::Qr { seq, expires_at } => {
                    let Some(code) = accounts::find(&db, operator.id, account.id)
                        .await?
                        .and_then(|a| a.last_qr_code)
                    else {
                        continue; // already replaced or scanned; the next event says which
                    };
                    let secs = (*expires_at - chrono::Utc::now()).num_seconds().max(0);
                    if redraw {
                        print!("\x1b[2J\x1b[H");
                    }
                    println!("{}", qr::terminal(&code)?);
                    println!(
                        "Scan with WhatsApp on the phone for “{label}”: Settings → Linked devices → \
                         Link a device. Code {seq}, expires in {secs} s."
                    );
                }
                Phase::PairCode { code, expires_at } => {
                    let secs = (*expires_at - chrono::Utc::now()).num_seconds().max(0);
                    let on = phone
                        .as_ref()
                        .map_or_else(|| "the phone".to_owned(), |p| format!("the phone {p}"));
                    println!("Pairing code for “{label}”: {code}");
                    println!(
                        "On {on}: WhatsApp → Settings → Linked devices → Link a device → Link with \
                         phone number instead, then enter the code. It expires in {secs} s \
                         (at {} UTC).",
                        expires_at.format("%H:%M:%S")
                    );
                }
                Phase::Linking if phone.is_some() => println!("Code entered — linking…"),
                Phase::Linking => println!("Scanned — linking…"),
                Phase::Connected { phone } => {
                    println!("✅ “{label}” connected as +{phone}");
                    return Ok(());
                }
                Phase::TimedOut => bail!("pairing timed out: no code was scanned — run pair again"),
                Phase::Duplicate { existing_label } => {
                    bail!("this phone is already linked to the account “{existing_label}”")
                }
                // The worker's message is already a sentence for the operator.
                Phase::Failed { message } => bail!("{message}"),
                Phase::Idle => bail!("the pairing was cancelled (the account was unpaired)"),
                Phase::Waiting => {}
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            bail!("gave up after {} s", limit.as_secs());
        }
        if !hinted && phase == Phase::Idle && now >= hint_at {
            hinted = true;
            eprintln!("Still waiting: is herald-worker running against this database?");
        }
        tokio::select! {
            _ = waker.wait() => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
