//! `herald-server pair <label>`: pairs an account from the terminal, drawing its QR codes there —
//! or, with `--phone <number>`, printing the code to type on that phone.

use std::{io::IsTerminal, time::Duration};

use anyhow::{Context, bail};
use clap::Args;
use domain::{
    account::{AccountLabel, PhoneNumber},
    bus::Command,
    pairing::Phase,
    status::AccountStatus,
};
use runtime::config::Config;
use service::{
    accounts,
    audit::Actor,
    bus::{
        events,
        wake::{Topic, Waker},
    },
    database,
};

use super::choose_operator;

// What `pair` is told (a plain comment: a doc comment would become the command's help). The
// phone number and the label are checked by Herald's own rules afterwards, so a number it cannot
// read fails the pairing (exit 1) like any other refusal.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// The account's label (1–64 characters, unique per operator); the account is added when new
    label: String,
    /// Pair by phone number instead of QR code: that phone's number in international form, e.g.
    /// +44 7700 900123
    #[arg(long, value_name = "number")]
    phone: Option<String>,
    /// The operator the account belongs to, by Telegram user id (needed when several are
    /// whitelisted)
    #[arg(long, value_name = "id")]
    telegram_id: Option<i64>,
    /// Give up after this many seconds (1–3600)
    #[arg(
        long,
        value_name = "seconds",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    timeout: u64,
}

/// How long `pair` waits for the worker to start the pairing before saying so.
const WORKER_HINT_AFTER: Duration = Duration::from_secs(10);

/// Pairs an account from the terminal: adds it when new, asks the worker to pair it, draws each
/// QR code as it rotates — or, with `--phone`, prints the code to type on that phone — and exits
/// 0 once connected (non-zero on timeout or failure).
pub async fn pair(config: &Config, args: PairArgs) -> anyhow::Result<()> {
    let phone = args
        .phone
        .as_deref()
        .map(|raw| PhoneNumber::parse(raw).map_err(|e| anyhow::anyhow!("--phone {raw:?}: {e}")))
        .transpose()?;
    let wanted = args.telegram_id;
    let limit = Duration::from_secs(args.timeout);
    let label =
        AccountLabel::parse(&args.label).map_err(|e| anyhow::anyhow!("account name: {e}"))?;
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
