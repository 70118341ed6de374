//! Herald's Prometheus metrics. Every figure is read from the database when scraped, so the
//! worker's internal `/metrics` and the server's protected one report the same numbers, and the
//! counters survive restarts: runs and their targets are history that is never deleted.

pub mod exposition;

use std::{collections::HashMap, hash::Hash};

use chrono::{DateTime, Utc};
use domain::status::{AccountStatus, CommandStatus, ReminderStatus, TargetStatus};
use entity::{
    commands, events, reminder_owed_fires, reminder_run_targets, reminders, whatsapp_accounts,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TryGetable,
};

pub use self::exposition::render;
use crate::jobs;

/// The fire-lag histogram's upper bounds, in milliseconds: from the tens of milliseconds a
/// healthy queue takes up to the grace a missed occurrence still fires within.
pub const FIRE_LAG_BUCKETS_MS: [i64; 13] = [
    25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
];

/// The job queue's states, as fang names them.
const QUEUE_STATES: [&str; 5] = ["new", "in_progress", "retried", "failed", "finished"];

/// Cumulative bucket counts by upper bound, as a Prometheus histogram reports them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `(upper bound, observations <= bound)`, bounds ascending; `+Inf` is `count`.
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

/// Which binary answers the scrape, and since when.
#[derive(Clone, Debug)]
pub struct Process {
    pub name: &'static str,
    pub started_at: DateTime<Utc>,
}

/// One reading of everything the database tells.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Accounts per session status, every status listed.
    pub sessions: Vec<(AccountStatus, u64)>,
    /// Sends (one run to one group) per status, every status listed.
    pub sends: Vec<(TargetStatus, u64)>,
    /// From an occurrence's due time to its run starting, over every fired run.
    pub fire_lag: Histogram,
    /// Occurrences due and not yet fired: active reminders whose next occurrence has come, and
    /// occurrences a change left owed. Delivery's backlog; 0 while the worker keeps up.
    pub fires_due: u64,
    /// Maintenance-queue tasks per state.
    pub queue: Vec<(&'static str, u64)>,
    /// Maintenance tasks due now and not yet taken: the queue's depth.
    pub queue_due: u64,
    pub commands: Vec<(CommandStatus, u64)>,
    /// Age of the oldest command the worker has not picked up.
    pub oldest_pending_command_secs: f64,
    /// Events kept for the dashboards' streams (pruned after a day).
    pub events_retained: u64,
}

/// The scrape's text: the process's own figures always, the database's when it answers
/// (`herald_database_up` says which).
pub async fn scrape(db: &DatabaseConnection, process: &Process, now: DateTime<Utc>) -> String {
    let snapshot = gather(db, now).await;
    if let Err(e) = &snapshot {
        tracing::warn!(error = %e, "metrics: the database did not answer");
    }
    render(process, snapshot.as_ref().ok())
}

/// Accounts per session status, every status listed (also the worker's `/health`).
pub async fn sessions_by_status(
    db: &DatabaseConnection,
) -> Result<Vec<(AccountStatus, u64)>, DbErr> {
    let counts =
        count_by::<whatsapp_accounts::Entity, AccountStatus>(db, whatsapp_accounts::Column::Status)
            .await?;
    Ok(every(&AccountStatus::ALL, &counts))
}

pub async fn gather(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Snapshot, DbErr> {
    let sends = count_by::<reminder_run_targets::Entity, TargetStatus>(
        db,
        reminder_run_targets::Column::Status,
    )
    .await?;
    let commands_by_status =
        count_by::<commands::Entity, CommandStatus>(db, commands::Column::Status).await?;
    let oldest_pending = commands::Entity::find()
        .filter(commands::Column::Status.eq(CommandStatus::Pending))
        .order_by_asc(commands::Column::CreatedAt)
        .one(db)
        .await?;
    let (queue, queue_due) = queue(db, now).await?;
    Ok(Snapshot {
        sessions: sessions_by_status(db).await?,
        sends: every(&TargetStatus::ALL, &sends),
        fire_lag: fire_lag(db).await?,
        fires_due: fires_due(db, now).await?,
        queue,
        queue_due,
        commands: every(&CommandStatus::ALL, &commands_by_status),
        oldest_pending_command_secs: oldest_pending.map_or(0.0, |c| {
            (now - c.created_at).num_milliseconds().max(0) as f64 / 1000.0
        }),
        events_retained: events::Entity::find().count(db).await?,
    })
}

/// Rows per value of a status column.
async fn count_by<E, S>(
    db: &DatabaseConnection,
    column: E::Column,
) -> Result<HashMap<S, u64>, DbErr>
where
    E: EntityTrait,
    S: TryGetable + Eq + Hash,
{
    let rows: Vec<(S, i64)> = E::find()
        .select_only()
        .column(column)
        .column_as(column.count(), "count")
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Every variant in order, zeros included, so a status that empties still reports.
fn every<S: Copy + Eq + Hash>(all: &[S], counts: &HashMap<S, u64>) -> Vec<(S, u64)> {
    all.iter()
        .map(|s| (*s, counts.get(s).copied().unwrap_or(0)))
        .collect()
}

async fn fire_lag(db: &DatabaseConnection) -> Result<Histogram, DbErr> {
    // One pass over the fired runs; the same SQL on SQLite and PostgreSQL (CAST because
    // PostgreSQL's SUM of a bigint is numeric).
    let buckets: Vec<String> = FIRE_LAG_BUCKETS_MS
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            format!("CAST(COALESCE(SUM(CASE WHEN fire_lag_ms <= {ms} THEN 1 ELSE 0 END), 0) AS BIGINT) AS b{i}")
        })
        .collect();
    let sql = format!(
        "SELECT COUNT(fire_lag_ms) AS n, CAST(COALESCE(SUM(fire_lag_ms), 0) AS BIGINT) AS total, {} \
         FROM reminder_runs WHERE fire_lag_ms IS NOT NULL",
        buckets.join(", ")
    );
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(jobs::statement(backend, &sql, []))
        .await?
        .ok_or_else(|| DbErr::Custom("an aggregate returned no row".to_owned()))?;
    let count = |column: &str| -> Result<u64, DbErr> {
        Ok(u64::try_from(row.try_get::<i64>("", column)?).unwrap_or(0))
    };
    let mut histogram = Histogram {
        buckets: Vec::with_capacity(FIRE_LAG_BUCKETS_MS.len()),
        sum: count("total")? as f64 / 1000.0,
        count: count("n")?,
    };
    for (i, ms) in FIRE_LAG_BUCKETS_MS.iter().enumerate() {
        histogram
            .buckets
            .push((*ms as f64 / 1000.0, count(&format!("b{i}"))?));
    }
    Ok(histogram)
}

/// Occurrences the worker's due loop has yet to fire.
async fn fires_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let next = reminders::Entity::find()
        .filter(reminders::Column::Status.eq(ReminderStatus::Active))
        .filter(reminders::Column::NextFireAt.lte(now))
        .count(db)
        .await?;
    let owed = reminder_owed_fires::Entity::find().count(db).await?;
    Ok(next + owed)
}

/// Maintenance tasks per state, and how many are due and waiting.
async fn queue(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<(Vec<(&'static str, u64)>, u64), DbErr> {
    let backend = db.get_database_backend();
    let state = match backend {
        sea_orm::DbBackend::Postgres => "state::text",
        _ => "state",
    };
    let rows = db
        .query_all_raw(jobs::statement(
            backend,
            &format!("SELECT {state} AS state, COUNT(*) AS n FROM fang_tasks GROUP BY state"),
            [],
        ))
        .await?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let n = row.try_get::<i64>("", "n")?;
        counts.insert(row.try_get("", "state")?, u64::try_from(n).unwrap_or(0));
    }
    let due = db
        .query_one_raw(jobs::statement(
            backend,
            "SELECT COUNT(*) AS n FROM fang_tasks \
             WHERE state IN ('new', 'retried') AND scheduled_at <= $1",
            [jobs::timestamp(backend, now)],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let by_state = QUEUE_STATES
        .iter()
        .map(|s| (*s, counts.get(*s).copied().unwrap_or(0)))
        .collect();
    Ok((by_state, u64::try_from(due).unwrap_or(0)))
}
