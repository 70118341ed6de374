//! `herald-server accounts` and `herald-server reminders`: what the dashboard lists, for a box
//! without a browser. They only read: the database is opened without migrating, a SQLite file
//! that does not exist is not created, and nothing is written.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use domain::{
    status::{AccountStatus, ReminderStatus},
    timezone::TimeZone,
};
use entity::operators::Model as Operator;
use runtime::config::{Config, DatabaseUrl};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::{accounts as account_rows, database, operators, reminders as reminder_rows};

use super::find_operator;

// The options both listings take (a plain comment: a doc comment would become their help).
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this operator's, by Telegram user id
    #[arg(long, value_name = "id")]
    telegram_id: Option<i64>,
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct AccountRow {
    label: String,
    operator: String,
    status: AccountStatus,
    phone: Option<String>,
    last_seen: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct ReminderRow {
    name: String,
    account: String,
    operator: String,
    status: ReminderStatus,
    timezone: String,
    /// The next fire on the reminder's own clock, as the dashboard shows it.
    next_fire_local: Option<String>,
    next_fire_utc: Option<DateTime<Utc>>,
    groups: usize,
}

/// Every account of the chosen operators, in the order each operator added them.
pub async fn accounts(config: &Config, args: &ListArgs) -> anyhow::Result<()> {
    let db = open(&config.database_url).await?;
    let mut rows = Vec::new();
    for operator in chosen_operators(&db, args.telegram_id).await? {
        let accounts = account_rows::list(&db, operator.id)
            .await
            .context("reading the accounts")?;
        rows.extend(accounts.into_iter().map(|account| AccountRow {
            label: account.label,
            operator: operator_name(&operator),
            status: account.status,
            phone: account.phone_number.map(|digits| format!("+{digits}")),
            last_seen: account.last_seen_at,
        }));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("No accounts yet.");
    } else {
        let cells = rows.iter().map(|r| {
            vec![
                r.label.clone(),
                r.operator.clone(),
                r.status.to_string(),
                r.phone.clone().unwrap_or_else(|| "-".to_owned()),
                r.last_seen.map_or_else(|| "never".to_owned(), utc),
            ]
        });
        print_table(
            &["LABEL", "OPERATOR", "STATUS", "PHONE", "LAST SEEN"],
            cells,
        );
    }
    Ok(())
}

/// Every reminder of the chosen operators, in the order each operator made them.
pub async fn reminders(config: &Config, args: &ListArgs) -> anyhow::Result<()> {
    let db = open(&config.database_url).await?;
    let mut rows = Vec::new();
    for operator in chosen_operators(&db, args.telegram_id).await? {
        let overviews = reminder_rows::overview(&db, operator.id, None)
            .await
            .context("reading the reminders")?;
        rows.extend(overviews.into_iter().map(|overview| {
            let reminder = overview.reminder;
            ReminderRow {
                next_fire_local: reminder
                    .next_fire_at
                    .map(|at| local(at, &reminder.timezone)),
                next_fire_utc: reminder.next_fire_at,
                name: reminder.name,
                account: overview.account_label,
                operator: operator_name(&operator),
                status: reminder.status,
                timezone: reminder.timezone,
                groups: overview.groups,
            }
        }));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("No reminders yet.");
    } else {
        let cells = rows.iter().map(|r| {
            vec![
                r.name.clone(),
                r.account.clone(),
                r.operator.clone(),
                r.status.to_string(),
                r.next_fire_local.clone().unwrap_or_else(|| "-".to_owned()),
                r.next_fire_utc.map_or_else(|| "-".to_owned(), utc),
                r.groups.to_string(),
            ]
        });
        let headers = [
            "NAME",
            "ACCOUNT",
            "OPERATOR",
            "STATUS",
            "NEXT FIRE (REMINDER'S ZONE)",
            "NEXT FIRE (UTC)",
            "GROUPS",
        ];
        print_table(&headers, cells);
    }
    Ok(())
}

/// Opens the database as it is: no migration, and no SQLite file created where none exists.
async fn open(url: &DatabaseUrl) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.sqlite_path()
        && !path.exists()
    {
        bail!(
            "no database at {}: start herald-server once to create it",
            path.display()
        );
    }
    database::connect(url).await.context("opening the database")
}

/// Every active operator, or only the one `wanted` names.
async fn chosen_operators(
    db: &DatabaseConnection,
    wanted: Option<i64>,
) -> anyhow::Result<Vec<Operator>> {
    let active = operators::active(db)
        .await
        .context("reading the operators (has herald-server run on this database yet?)")?;
    match wanted {
        None => Ok(active),
        Some(id) => Ok(vec![find_operator(&active, id)?.clone()]),
    }
}

/// An operator as the whitelist names them; embedded mode's local operator by name.
fn operator_name(operator: &Operator) -> String {
    operator
        .telegram_user_id
        .map_or_else(|| operator.display_name.clone(), |id| id.to_string())
}

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `at` on the clock of the zone named `zone`, with the zone's name.
fn local(at: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<TimeZone>() {
        Ok(tz) => format!(
            "{} {}",
            at.with_timezone(&tz.tz()).format("%Y-%m-%d %H:%M"),
            tz.name()
        ),
        Err(_) => format!("{} (unknown zone {zone:?})", utc(at)),
    }
}

/// Left-aligned columns two spaces apart, under a header row.
fn print_table(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    println!("{}", line(headers.to_vec()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
