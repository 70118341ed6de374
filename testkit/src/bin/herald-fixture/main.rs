//! Puts states into a running Herald's database that the browser tests cannot reach through the
//! UI in test time, written through Herald's own entities and encodings, as the worker leaves
//! them. Reads `DATABASE_URL` like the binaries; prints what it made as JSON.
//!
//! - `paused-run <account label>`: a run stopped by its send window (which closes only on the
//!   hour) with its first group sent and the rest waiting; its reminder paused. The account must
//!   be connected with synced groups.
//! - `skipped-run <account label>`: a run to two of the account's groups, skipped a minute ago
//!   because the account was logged out then, with its own copy of the message. The account
//!   must be connected with synced groups (paired again since).
//! - `unsure-run <account label>`: as `skipped-run`, but the second group's send was cut off by
//!   a stop and reported `unknown`, so the run failed.
//! - `daily-reminder <account label>`: a daily reminder at 17:30 UTC from tomorrow to two of
//!   the account's current groups.
//! - `finished-runs`: two runs that just ended — a partly sent one of an ended reminder, and a
//!   failed one whose reminder has since been deleted — on an account of their own.
//! - `failed-job <error>`: the daily media clean-up, out of retries. `job-state <id>` prints that
//!   task's state, or `gone` once it ran.

mod jobs;
mod runs;

use anyhow::{Context, bail};
use runtime::config::DatabaseUrl;
use sea_orm::DatabaseConnection;
use service::{database, operators};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = DatabaseUrl::parse(&std::env::var("DATABASE_URL").context("DATABASE_URL")?)
        .map_err(anyhow::Error::msg)?;
    let db = database::connect(&url).await?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let made = match args.as_slice() {
        ["paused-run", label] => runs::paused(&db, operator(&db).await?, label).await?,
        ["skipped-run", label] => runs::skipped(&db, operator(&db).await?, label, false).await?,
        ["unsure-run", label] => runs::skipped(&db, operator(&db).await?, label, true).await?,
        ["daily-reminder", label] => runs::daily(&db, operator(&db).await?, label).await?,
        ["finished-runs"] => runs::finished(&db, operator(&db).await?).await?,
        ["failed-job", error] => jobs::failed(&db, error).await?,
        ["job-state", id] => jobs::state(&db, id).await?,
        _ => bail!(
            "usage: herald-fixture paused-run <account label> | skipped-run <account label> | \
             unsure-run <account label> | daily-reminder <account label> | finished-runs | \
             failed-job <error> | job-state <id>"
        ),
    };
    println!("{made}");
    Ok(())
}

/// The operator the browser tests sign in as: embedded mode's single local one.
async fn operator(db: &DatabaseConnection) -> anyhow::Result<i64> {
    Ok(operators::active(db)
        .await?
        .first()
        .context("no operator: start the server once first")?
        .id)
}
