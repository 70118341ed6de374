//! Leases: which worker process runs each WhatsApp account, and each job that must run once (the
//! Telegram bot, maintenance). The one writer of `leases` and `workers`.
//!
//! A lease is taken by a conditional UPDATE (free, or expired), renewed while its holder lives
//! and expires [`Timing::ttl`] after the last renewal. Every take-over increments its `epoch`,
//! the fencing token: a claim a holder makes (a target, a command, an account's status) is a
//! conditional write that lands only while `holder` and `epoch` are still its own and the lease
//! has not expired, so a worker that lost its lease — paused, cut off, a zombie — can claim or
//! change nothing once a successor took over. Expiry is read on the database's clock on
//! PostgreSQL, so peers' clocks never decide who holds what. (SQLite has one worker, whose
//! clock is the database's.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{leases, whatsapp_accounts, workers};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, UpdateMany,
    sea_query::{Expr, ExprTrait, IntoIden, Query, SelectStatement, SimpleExpr},
};

/// The lease of the job that runs the Telegram bot.
pub const TELEGRAM: &str = "telegram";
/// The lease of the installation's maintenance: the media sweep and the bus's pruning.
pub const MAINTENANCE: &str = "maintenance";

/// The lease name of an account.
pub fn account(account_id: i64) -> String {
    format!("account:{account_id}")
}

/// How long a lease lives without renewal, and how often its holder renews it.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub ttl: Duration,
    pub renew_every: Duration,
}

impl Timing {
    /// A renewal every fifth of the lifetime: four may be missed (a slow database) before the
    /// lease is lost.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            renew_every: ttl / 5,
        }
    }
}

/// What a holder's conditional writes carry: they land only while the lease is still this
/// holder's, at this epoch, unexpired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub epoch: i64,
}

impl Fence {
    /// `EXISTS` the lease as this fence knows it, on the database's clock.
    pub fn holds(&self, backend: DatabaseBackend) -> SimpleExpr {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(leases::Entity)
                .and_where(Expr::col((leases::Entity, leases::Column::Name)).eq(&self.lease))
                .and_where(Expr::col((leases::Entity, leases::Column::Holder)).eq(&self.holder))
                .and_where(Expr::col((leases::Entity, leases::Column::Epoch)).eq(self.epoch))
                .and_where(Expr::col((leases::Entity, leases::Column::ExpiresAt)).gt(now(backend)))
                .take(),
        )
    }
}

/// `EXISTS` an unexpired lease of `holder` on the account in `account_column` (a column of the
/// outer query's table): for claiming rows of the accounts one holds.
pub fn held_by(
    holder: &str,
    account_column: impl IntoIden + Copy,
    table: impl IntoIden + Copy,
    backend: DatabaseBackend,
) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(leases::Entity)
            .and_where(
                Expr::col((leases::Entity, leases::Column::AccountId))
                    .equals((table, account_column)),
            )
            .and_where(Expr::col((leases::Entity, leases::Column::Holder)).eq(holder))
            .and_where(Expr::col((leases::Entity, leases::Column::ExpiresAt)).gt(now(backend)))
            .take(),
    )
}

/// The database's clock on PostgreSQL — the moment of reading, not the transaction's start,
/// which a long transaction would leave behind; this process's on SQLite (the one worker's
/// clock).
fn now(backend: DatabaseBackend) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust("clock_timestamp()"),
        _ => Expr::val(Utc::now()),
    }
}

/// [`now`] moved by `by` (a lifetime ahead, or back).
fn now_shifted(backend: DatabaseBackend, by: chrono::Duration) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust(format!(
            "clock_timestamp() + INTERVAL '{} milliseconds'",
            by.num_milliseconds()
        )),
        _ => Expr::val(Utc::now() + by),
    }
}

fn lifetime(timing: Timing) -> chrono::Duration {
    chrono::Duration::from_std(timing.ttl).unwrap_or(chrono::Duration::MAX)
}

/// For a write that must land only while `fence` holds, inside its transaction `txn`: whether
/// the lease is still the holder's, locking it against a take-over until `txn` ends, so the
/// write cannot commit after a successor took the lease. On PostgreSQL a transaction left idle
/// (its process paused or cut off) is ended by the server after a few seconds
/// (`crate::database::connect`), so it never blocks the successor for long.
pub async fn lock_for_write(txn: &DatabaseTransaction, fence: &Fence) -> Result<bool, DbErr> {
    let backend = txn.get_database_backend();
    let mut query = fence_query(fence, backend);
    if backend == DatabaseBackend::Postgres {
        query.lock_shared();
    }
    Ok(txn.query_one(&query).await?.is_some())
}

/// Whether `fence` still holds now: for a holder about to act outside the database (send a
/// Telegram message), where no conditional write can carry the fence.
pub async fn still_held(db: &impl ConnectionTrait, fence: &Fence) -> Result<bool, DbErr> {
    let query = fence_query(fence, db.get_database_backend());
    Ok(db.query_one(&query).await?.is_some())
}

/// `SELECT 1 FROM leases` where `fence` holds.
fn fence_query(fence: &Fence, backend: DatabaseBackend) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(leases::Entity)
        .and_where(fence.holds(backend))
        .take()
}

/// Gives every account (and every account a queued command names, so a deleted account's
/// last command still finds a holder) a lease row; removes the rows of accounts that are gone
/// and have nothing queued. (The singletons' rows come with the schema.)
pub async fn keep_rows(db: &DatabaseConnection) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let queued = "SELECT account_id FROM commands \
                  WHERE status IN ('pending', 'running') AND account_id IS NOT NULL";
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO leases (name, account_id, epoch) \
             SELECT 'account:' || x.id, x.id, 0 \
             FROM (SELECT id FROM whatsapp_accounts UNION {queued}) x \
             WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.account_id = x.id) \
             ON CONFLICT DO NOTHING"
        ),
    ))
    .await?;
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "DELETE FROM leases WHERE account_id IS NOT NULL \
             AND account_id NOT IN (SELECT id FROM whatsapp_accounts) \
             AND account_id NOT IN ({queued})"
        ),
    ))
    .await?;
    Ok(())
}

/// Takes `name` for `holder` if it is free or expired; returns the new epoch.
pub async fn acquire(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    timing: Timing,
) -> Result<Option<i64>, DbErr> {
    let backend = db.get_database_backend();
    let taken = leases::Entity::update_many()
        .col_expr(leases::Column::Holder, Expr::value(holder))
        .col_expr(
            leases::Column::Epoch,
            Expr::col(leases::Column::Epoch).add(1),
        )
        .col_expr(
            leases::Column::ExpiresAt,
            now_shifted(backend, lifetime(timing)),
        )
        .col_expr(leases::Column::AcquiredAt, now(backend))
        .filter(leases::Column::Name.eq(name))
        .filter(
            Condition::any()
                .add(leases::Column::Holder.is_null())
                .add(Expr::col(leases::Column::ExpiresAt).lte(now(backend))),
        )
        .exec_with_returning(db)
        .await?;
    Ok(taken.into_iter().next().map(|lease| lease.epoch))
}

/// Renews the leases of `holder` among `held` (name and epoch: what the holder runs); returns
/// those renewed. A lease missing from the answer is no longer the holder's: a successor took
/// it over (or it is gone with its account). A lease the rows give the holder but `held` does not
/// name (taken by an answer that was lost, or kept through an outage) is not renewed: see
/// [`release_strays`].
pub async fn renew(
    db: &DatabaseConnection,
    holder: &str,
    held: &[(String, i64)],
    timing: Timing,
) -> Result<Vec<(String, i64)>, DbErr> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let named = held.iter().fold(Condition::any(), |any, (name, epoch)| {
        any.add(
            Condition::all()
                .add(leases::Column::Name.eq(name.as_str()))
                .add(leases::Column::Epoch.eq(*epoch)),
        )
    });
    // A lease that lapsed but that nobody took since (the same holder, the same epoch) is
    // still safe to keep: no successor ran anything under it.
    let renewed = leases::Entity::update_many()
        .col_expr(
            leases::Column::ExpiresAt,
            now_shifted(backend, lifetime(timing)),
        )
        .filter(leases::Column::Holder.eq(holder))
        .filter(named)
        .exec_with_returning(db)
        .await?;
    Ok(renewed.into_iter().map(|l| (l.name, l.epoch)).collect())
}

/// Releases the leases the rows give `holder` that it does not run (`held` names what it
/// runs): nothing may stay reserved for a worker that is not running it.
pub async fn release_strays(
    db: &DatabaseConnection,
    holder: &str,
    held: &[String],
) -> Result<u64, DbErr> {
    let released = freeing()
        .filter(leases::Column::Holder.eq(holder))
        .filter(leases::Column::Name.is_not_in(held.iter().map(String::as_str)))
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// Gives `name` up at once (its holder stopped what it ran): a peer may take it on its next
/// look, without waiting for the expiry.
pub async fn release(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    epoch: i64,
) -> Result<bool, DbErr> {
    let released = freeing()
        .filter(leases::Column::Name.eq(name))
        .filter(leases::Column::Holder.eq(holder))
        .filter(leases::Column::Epoch.eq(epoch))
        .exec(db)
        .await?;
    Ok(released.rows_affected == 1)
}

/// An UPDATE that frees the leases it is filtered to: no holder, no expiry.
fn freeing() -> UpdateMany<leases::Entity> {
    leases::Entity::update_many()
        .col_expr(leases::Column::Holder, Expr::value(Option::<String>::None))
        .col_expr(
            leases::Column::ExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
}

/// Account leases nobody holds (free or expired), by account, at most `limit`.
pub async fn free_accounts(db: &DatabaseConnection, limit: u64) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    leases::Entity::find()
        .select_only()
        .column(leases::Column::Name)
        .filter(leases::Column::AccountId.is_not_null())
        .filter(
            Condition::any()
                .add(leases::Column::Holder.is_null())
                .add(Expr::col(leases::Column::ExpiresAt).lte(now(backend))),
        )
        .order_by_asc(leases::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Every lease row, for the System page.
async fn all(db: &DatabaseConnection) -> Result<Vec<leases::Model>, DbErr> {
    leases::Entity::find()
        .order_by_asc(leases::Column::Name)
        .all(db)
        .await
}

/// The fair share of accounts per live worker: the accounts divided among the workers seen
/// within the lease lifetime, rounded up (so together they cover every account).
pub async fn fair_share(db: &DatabaseConnection, timing: Timing) -> Result<u64, DbErr> {
    let accounts = leases::Entity::find()
        .filter(leases::Column::AccountId.is_not_null())
        .count(db)
        .await?;
    let workers = live_workers(db, timing).await?.len().max(1) as u64;
    Ok(accounts.div_ceil(workers))
}

/// Records this worker process as alive (inserted at its first call).
pub async fn worker_seen(
    db: &DatabaseConnection,
    instance: &str,
    name: &str,
    version: &str,
    started_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let seen = workers::Entity::update_many()
        .col_expr(workers::Column::SeenAt, now(backend))
        .filter(workers::Column::Instance.eq(instance))
        .exec(db)
        .await?;
    if seen.rows_affected == 0 {
        let now = Utc::now();
        // Long-gone workers are forgotten as a new one arrives (a day on this clock: precision
        // does not matter here).
        workers::Entity::delete_many()
            .filter(workers::Column::SeenAt.lt(now - chrono::Duration::days(1)))
            .exec(db)
            .await?;
        workers::Entity::insert(workers::ActiveModel {
            instance: sea_orm::Set(instance.to_owned()),
            name: sea_orm::Set(name.to_owned()),
            version: sea_orm::Set(version.to_owned()),
            started_at: sea_orm::Set(started_at),
            seen_at: sea_orm::Set(now),
        })
        .exec(db)
        .await?;
    }
    Ok(())
}

/// The workers seen within the lease lifetime, oldest first.
pub async fn live_workers(
    db: &DatabaseConnection,
    timing: Timing,
) -> Result<Vec<workers::Model>, DbErr> {
    let since = now_shifted(db.get_database_backend(), -lifetime(timing));
    workers::Entity::find()
        .filter(Expr::col(workers::Column::SeenAt).gte(since))
        .order_by_asc(workers::Column::StartedAt)
        .all(db)
        .await
}

/// One live worker as the System page shows it to an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerView {
    pub name: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// Every account it runs, whoever's.
    pub accounts: usize,
    /// The labels of the operator's own accounts it runs.
    pub own_accounts: Vec<String>,
    /// The singleton jobs it runs (`telegram`, `maintenance`).
    pub jobs: Vec<String>,
}

/// Which worker runs what, as `operator_id` may see it: the live workers, and the labels of the
/// operator's accounts no live worker runs now.
pub async fn coverage(
    db: &DatabaseConnection,
    operator_id: i64,
    timing: Timing,
) -> Result<(Vec<WorkerView>, Vec<String>), DbErr> {
    let live = live_workers(db, timing).await?;
    let own: Vec<(i64, String)> = whatsapp_accounts::Entity::find()
        .select_only()
        .columns([
            whatsapp_accounts::Column::Id,
            whatsapp_accounts::Column::Label,
        ])
        .filter(whatsapp_accounts::Column::OperatorId.eq(operator_id))
        .order_by_asc(whatsapp_accounts::Column::Label)
        .into_tuple()
        .all(db)
        .await?;
    let now = Utc::now();
    let held: Vec<leases::Model> = all(db)
        .await?
        .into_iter()
        .filter(|l| l.expires_at.is_some_and(|at| at > now))
        .filter(|l| live.iter().any(|w| Some(&w.instance) == l.holder.as_ref()))
        .collect();
    let workers = live
        .into_iter()
        .map(|w| {
            let mine = |l: &&leases::Model| l.holder.as_ref() == Some(&w.instance);
            WorkerView {
                accounts: held
                    .iter()
                    .filter(mine)
                    .filter(|l| l.account_id.is_some())
                    .count(),
                own_accounts: own
                    .iter()
                    .filter(|(id, _)| held.iter().filter(mine).any(|l| l.account_id == Some(*id)))
                    .map(|(_, label)| label.clone())
                    .collect(),
                jobs: held
                    .iter()
                    .filter(mine)
                    .filter(|l| l.account_id.is_none())
                    .map(|l| l.name.clone())
                    .collect(),
                name: w.name,
                version: w.version,
                started_at: w.started_at,
                seen_at: w.seen_at,
            }
        })
        .collect();
    let unheld = own
        .into_iter()
        .filter(|(id, _)| !held.iter().any(|l| l.account_id == Some(*id)))
        .map(|(_, label)| label)
        .collect();
    Ok((workers, unheld))
}

/// Releases every lease, whoever held it: for a worker that knows it runs alone (on SQLite one
/// worker holds the database's lock), so every holder recorded is a predecessor that died.
pub async fn release_everything(db: &DatabaseConnection) -> Result<(), DbErr> {
    freeing().exec(db).await?;
    workers::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// A worker stopping: its row goes, and every lease it still holds is released.
pub async fn worker_stopped(db: &DatabaseConnection, instance: &str) -> Result<(), DbErr> {
    freeing()
        .filter(leases::Column::Holder.eq(instance))
        .exec(db)
        .await?;
    workers::Entity::delete_by_id(instance).exec(db).await?;
    Ok(())
}
