//! The maintenance queue's table, `fang_tasks`, outside the worker: how its rows are encoded on
//! each engine, and the operator's view of it — the tasks that failed for good, and putting one
//! back in line. The worker's queue (`worker::jobs::queue`) owns claiming and running; it reads and
//! writes rows through the same encoding, so the two never disagree.
//!
//! SQLite has no uuid, json or timestamp types: there the id is 16 bytes, the metadata is JSON
//! text and every timestamp is unix milliseconds.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit,
    bus::wake::{self, Topic},
    database::begin_write,
};

const COLUMNS: &str = "id, metadata, error_message, state, task_type, uniq_hash, retries, \
                       scheduled_at, created_at, updated_at";
// PostgreSQL's state is an enum; as text it decodes the same on both engines.
const PG_COLUMNS: &str = "id, metadata, error_message, state::text AS state, task_type, \
                          uniq_hash, retries, scheduled_at, created_at, updated_at";

/// The column list a [`StoredTask`] is decoded from.
pub fn columns(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => PG_COLUMNS,
        _ => COLUMNS,
    }
}

/// A statement for `backend` from SQL written with PostgreSQL's `$1` parameters.
pub fn statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        // `?NNN` is SQLite's numbered parameter; a `$` not before a digit is left alone.
        _ => numbered_params(sql),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$1` → `?1`, leaving any other `$` (as in a JSON path `'$.type'`) as it is.
fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// A timestamp as the table stores it.
pub fn timestamp(backend: DbBackend, at: DateTime<Utc>) -> Value {
    match backend {
        DbBackend::Postgres => at.into(),
        _ => at.timestamp_millis().into(),
    }
}

/// A task id as the table stores it.
pub fn task_id(backend: DbBackend, id: &Uuid) -> Value {
    match backend {
        DbBackend::Postgres => (*id).into(),
        _ => id.as_bytes().to_vec().into(),
    }
}

/// A task's metadata as the table stores it.
pub fn metadata(backend: DbBackend, metadata: serde_json::Value) -> Value {
    match backend {
        DbBackend::Postgres => metadata.into(),
        _ => metadata.to_string().into(),
    }
}

/// A nullable timestamp column (or an aggregate such as `MIN(scheduled_at)`) of `row`.
pub fn read_timestamp(
    backend: DbBackend,
    row: &QueryResult,
    column: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    match backend {
        DbBackend::Postgres => row.try_get::<Option<DateTime<Utc>>>("", column),
        _ => row
            .try_get::<Option<i64>>("", column)?
            .map(|ms| {
                DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| DbErr::Custom(format!("fang_tasks.{column} out of range")))
            })
            .transpose(),
    }
}

/// One `fang_tasks` row, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTask {
    pub id: Uuid,
    pub metadata: serde_json::Value,
    pub error_message: Option<String>,
    /// `new`, `in_progress`, `failed`, `finished` or `retried`.
    pub state: String,
    pub task_type: String,
    pub uniq_hash: Option<String>,
    pub retries: i32,
    pub scheduled_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Db(#[from] DbErr),
    /// SQLite's metadata text is not JSON.
    #[error("fang_tasks.metadata: {0}")]
    Metadata(#[from] serde_json::Error),
}

impl StoredTask {
    /// Decodes a row selected with [`columns`].
    pub fn decode(backend: DbBackend, row: &QueryResult) -> Result<Self, DecodeError> {
        let required = |column: &str| -> Result<DateTime<Utc>, DbErr> {
            read_timestamp(backend, row, column)?
                .ok_or_else(|| DbErr::Custom(format!("fang_tasks.{column} is null")))
        };
        let (id, metadata) = match backend {
            DbBackend::Postgres => (
                row.try_get::<Uuid>("", "id")?,
                row.try_get::<serde_json::Value>("", "metadata")?,
            ),
            _ => {
                let bytes = row.try_get::<Vec<u8>>("", "id")?;
                let text = row.try_get::<String>("", "metadata")?;
                (
                    Uuid::from_slice(&bytes)
                        .map_err(|e| DbErr::Custom(format!("fang_tasks.id: {e}")))?,
                    serde_json::from_str(&text)?,
                )
            }
        };
        Ok(Self {
            id,
            metadata,
            error_message: row.try_get("", "error_message")?,
            state: row.try_get("", "state")?,
            task_type: row.try_get("", "task_type")?,
            uniq_hash: row.try_get("", "uniq_hash")?,
            retries: row.try_get("", "retries")?,
            scheduled_at: required("scheduled_at")?,
            created_at: required("created_at")?,
            updated_at: required("updated_at")?,
        })
    }
}

/// What a task does, read from its metadata: fang records the task's Rust type in `type`, next
/// to the task's own fields (the worker's `jobs::tasks`). Every task is the installation's
/// maintenance, not one operator's: every operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// The daily removal of unused media.
    SweepMedia,
    /// A task this version does not know; `None` when its metadata names no type at all.
    Other { task_type: Option<String> },
}

impl Job {
    pub fn from_metadata(metadata: &serde_json::Value) -> Self {
        match metadata.get("type").and_then(serde_json::Value::as_str) {
            Some("SweepMedia") => Job::SweepMedia,
            task_type => Job::Other {
                task_type: task_type.map(str::to_owned),
            },
        }
    }

    /// The task's type, for the audit row.
    fn audit_detail(&self) -> serde_json::Value {
        match self {
            Job::SweepMedia => json!({ "task": "SweepMedia" }),
            Job::Other { task_type } => json!({ "task": task_type }),
        }
    }
}

/// A task that ran out of retries (or could not be decoded) and waits for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedTask {
    pub id: Uuid,
    pub job: Job,
    pub error: Option<String>,
    pub retries: i32,
    /// When it failed: the row's last update.
    pub failed_at: DateTime<Utc>,
}

impl From<StoredTask> for FailedTask {
    fn from(task: StoredTask) -> Self {
        Self {
            id: task.id,
            job: Job::from_metadata(&task.metadata),
            error: task.error_message,
            retries: task.retries,
            failed_at: task.updated_at,
        }
    }
}

/// The failed tasks, most recently failed first. Failed rows stay until retried, and are few.
pub async fn failed(db: &DatabaseConnection) -> Result<Vec<FailedTask>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT {} FROM fang_tasks WHERE state = 'failed' ORDER BY updated_at DESC, id",
        columns(backend)
    );
    db.query_all_raw(statement(backend, &sql, []))
        .await?
        .iter()
        .map(|row| StoredTask::decode(backend, row).map(FailedTask::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)
}

/// The queue at a glance, for the System page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Due or due again (`new`, `retried`), or running (`in_progress`).
    pub waiting: u64,
    /// Out of retries, waiting for the operator.
    pub failed: u64,
}

pub async fn queue_depth(db: &DatabaseConnection) -> Result<QueueDepth, DbErr> {
    let backend = db.get_database_backend();
    // PostgreSQL's `state` is an enum: read as text on both engines.
    let sql = "SELECT CAST(state AS TEXT) AS state, COUNT(*) AS n FROM fang_tasks \
               WHERE state IN ('new', 'retried', 'in_progress', 'failed') GROUP BY state";
    let mut depth = QueueDepth::default();
    for row in db.query_all_raw(statement(backend, sql, [])).await? {
        let state: String = row.try_get("", "state")?;
        let n = u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or_default();
        match state.as_str() {
            "failed" => depth.failed += n,
            _ => depth.waiting += n,
        }
    }
    Ok(depth)
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no such failed task")]
    NotFound,
    /// Retried already, or run since.
    #[error("the task is {0}, not failed")]
    NotFailed(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Puts a failed task back in line: state `new`, due at `now`, its retries reset, and the
/// worker woken. Audited as `job.retried` by `operator_id`. Returns the task as it was.
pub async fn retry(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<FailedTask, RetryError> {
    let backend = db.get_database_backend();
    let txn = begin_write(db).await?;
    let sql = format!("SELECT {} FROM fang_tasks WHERE id = $1", columns(backend));
    let row = txn
        .query_one_raw(statement(backend, &sql, [task_id(backend, &id)]))
        .await?
        .ok_or(RetryError::NotFound)?;
    let task = StoredTask::decode(backend, &row).map_err(db_err)?;
    let state = task.state.clone();
    let failed = FailedTask::from(task);
    if state != "failed" {
        return Err(RetryError::NotFailed(state));
    }
    // Conditional: of two retries at once, one finds it failed and the other is refused.
    let reset = txn
        .execute_raw(statement(
            backend,
            "UPDATE fang_tasks SET state = 'new', error_message = NULL, retries = 0, \
             scheduled_at = $1, updated_at = $1 WHERE id = $2 AND state = 'failed'",
            [timestamp(backend, now), task_id(backend, &id)],
        ))
        .await?;
    if reset.rows_affected() == 0 {
        return Err(RetryError::NotFailed("no longer failed".to_owned()));
    }
    let mut detail = failed.job.audit_detail();
    detail["retries"] = failed.retries.into();
    audit::record(
        &txn,
        audit::Entry::new(actor, "job.retried")
            .operator(operator_id)
            .target("job", id)
            .detail(detail),
    )
    .await?;
    wake::notify(&txn, Topic::Jobs).await?;
    txn.commit().await?;
    Ok(failed)
}

fn db_err(e: DecodeError) -> DbErr {
    match e {
        DecodeError::Db(e) => e,
        DecodeError::Metadata(e) => DbErr::Json(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbered_parameters_change_for_sqlite() {
        assert_eq!(
            numbered_params("SELECT json_extract(m, '$.type') FROM t WHERE a = $1 AND b = $12"),
            "SELECT json_extract(m, '$.type') FROM t WHERE a = ?1 AND b = ?12"
        );
    }

    #[test]
    fn metadata_names_the_job() {
        let sweep = json!({ "type": "SweepMedia", "queue": "herald:x" });
        assert_eq!(Job::from_metadata(&sweep), Job::SweepMedia);
        assert_eq!(
            Job::from_metadata(&json!({ "type": "Retired", "x": 1 })),
            Job::Other {
                task_type: Some("Retired".into())
            }
        );
        assert_eq!(
            Job::from_metadata(&json!([1, 2])),
            Job::Other { task_type: None }
        );
    }
}
