//! The job queue's table, `fang_tasks`, outside the worker: how its rows are encoded on each
//! engine, and the operator's view of it — the tasks that failed for good, and putting one back
//! in line. The worker's queue (`worker::jobs::queue`) owns claiming and running; it reads and
//! writes rows through the same encoding, so the two never disagree.
//!
//! SQLite has no uuid, json or timestamp types: there the id is 16 bytes, the metadata is JSON
//! text and every timestamp is unix milliseconds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{reminder_runs, reminders};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryResult, Statement, Value,
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
/// to the task's own fields (the worker's `jobs::tasks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Fire one occurrence of a reminder.
    Fire {
        reminder_id: i64,
        occurrence_at: DateTime<Utc>,
    },
    /// Send a run's targets that are due.
    Deliver { run_id: i64 },
    /// The daily removal of unused media: the installation's, not one operator's.
    SweepMedia,
    /// A task this version does not know; `None` when its metadata names no type at all.
    Other { task_type: Option<String> },
}

impl Job {
    pub fn from_metadata(metadata: &serde_json::Value) -> Self {
        let number = |field: &str| metadata.get(field).and_then(serde_json::Value::as_i64);
        let task_type = metadata.get("type").and_then(serde_json::Value::as_str);
        let occurrence_at = metadata
            .get("occurrence_at")
            .and_then(|at| serde_json::from_value::<DateTime<Utc>>(at.clone()).ok());
        let known = match task_type {
            Some("Fire") => {
                number("reminder_id")
                    .zip(occurrence_at)
                    .map(|(reminder_id, occurrence_at)| Job::Fire {
                        reminder_id,
                        occurrence_at,
                    })
            }
            Some("Deliver") => number("run_id").map(|run_id| Job::Deliver { run_id }),
            Some("SweepMedia") => Some(Job::SweepMedia),
            _ => None,
        };
        known.unwrap_or_else(|| Job::Other {
            task_type: task_type.map(str::to_owned),
        })
    }

    /// The task's type and what it is about, for the audit row.
    fn audit_detail(&self) -> serde_json::Value {
        match self {
            Job::Fire {
                reminder_id,
                occurrence_at,
            } => {
                json!({ "task": "Fire", "reminder_id": reminder_id, "occurrence_at": occurrence_at })
            }
            Job::Deliver { run_id } => json!({ "task": "Deliver", "run_id": run_id }),
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
    /// The reminder's name (a fire) or the run's snapshot of it (a delivery); `None` for
    /// system tasks.
    pub name: Option<String>,
    /// Whose task it is; `None` for system tasks, which every operator sees.
    pub operator_id: Option<i64>,
    pub error: Option<String>,
    pub retries: i32,
    /// When it failed: the row's last update.
    pub failed_at: DateTime<Utc>,
}

/// Who a task belongs to.
enum Owner {
    System,
    Operator {
        id: i64,
        name: String,
    },
    /// Its reminder or run no longer exists (or never named an operator): nobody's to see.
    Gone,
}

/// The reminders and runs that failed tasks name, looked up in two queries.
struct Owners {
    reminders: HashMap<i64, (i64, String)>,
    runs: HashMap<i64, (Option<i64>, String)>,
}

impl Owners {
    async fn load(db: &impl ConnectionTrait, jobs: &[&Job]) -> Result<Self, DbErr> {
        let (mut reminder_ids, mut run_ids) = (Vec::new(), Vec::new());
        for job in jobs {
            match job {
                Job::Fire { reminder_id, .. } => reminder_ids.push(*reminder_id),
                Job::Deliver { run_id } => run_ids.push(*run_id),
                Job::SweepMedia | Job::Other { .. } => {}
            }
        }
        let reminders = if reminder_ids.is_empty() {
            HashMap::new()
        } else {
            reminders::Entity::find()
                .filter(reminders::Column::Id.is_in(reminder_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.id, (r.operator_id, r.name)))
                .collect()
        };
        let runs = if run_ids.is_empty() {
            HashMap::new()
        } else {
            reminder_runs::Entity::find()
                .filter(reminder_runs::Column::Id.is_in(run_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.id, (r.operator_id, r.reminder_name)))
                .collect()
        };
        Ok(Self { reminders, runs })
    }

    fn of(&self, job: &Job) -> Owner {
        let owner = match job {
            Job::SweepMedia | Job::Other { .. } => return Owner::System,
            Job::Fire { reminder_id, .. } => self
                .reminders
                .get(reminder_id)
                .map(|(id, name)| (Some(*id), name)),
            Job::Deliver { run_id } => self.runs.get(run_id).map(|(id, name)| (*id, name)),
        };
        match owner {
            Some((Some(id), name)) => Owner::Operator {
                id,
                name: name.clone(),
            },
            _ => Owner::Gone,
        }
    }

    /// The task as `operator_id` may see it; `None` when it is someone else's (or nobody's).
    fn visible(&self, task: StoredTask, operator_id: i64) -> Option<FailedTask> {
        let job = Job::from_metadata(&task.metadata);
        let (owner, name) = match self.of(&job) {
            Owner::System => (None, None),
            Owner::Operator { id, name } if id == operator_id => (Some(id), Some(name)),
            Owner::Operator { .. } | Owner::Gone => return None,
        };
        Some(FailedTask {
            id: task.id,
            job,
            name,
            operator_id: owner,
            error: task.error_message,
            retries: task.retries,
            failed_at: task.updated_at,
        })
    }
}

/// The failed tasks `operator_id` may see, most recently failed first: their own fires and
/// deliveries, and the installation's system tasks. Failed rows stay until retried, and are few.
pub async fn failed(db: &DatabaseConnection, operator_id: i64) -> Result<Vec<FailedTask>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT {} FROM fang_tasks WHERE state = 'failed' ORDER BY updated_at DESC, id",
        columns(backend)
    );
    let tasks = db
        .query_all_raw(statement(backend, &sql, []))
        .await?
        .iter()
        .map(|row| StoredTask::decode(backend, row))
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    let jobs: Vec<Job> = tasks
        .iter()
        .map(|t| Job::from_metadata(&t.metadata))
        .collect();
    let owners = Owners::load(db, &jobs.iter().collect::<Vec<_>>()).await?;
    Ok(tasks
        .into_iter()
        .filter_map(|task| owners.visible(task, operator_id))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// Missing, or another operator's: the two are never told apart.
    #[error("no such failed task")]
    NotFound,
    /// Retried already, or run since.
    #[error("the task is {0}, not failed")]
    NotFailed(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Puts a failed task back in line: state `new`, due at `now`, its retries reset, and the
/// worker woken. Audited as `job.retried`. Returns the task as it was.
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
    let job = Job::from_metadata(&task.metadata);
    let owners = Owners::load(&txn, &[&job]).await?;
    let failed = owners
        .visible(task, operator_id)
        .ok_or(RetryError::NotFound)?;
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
    let mut detail = job.audit_detail();
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
        let at = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let fire =
            json!({ "type": "Fire", "queue": "herald:x", "reminder_id": 7, "occurrence_at": at });
        assert_eq!(
            Job::from_metadata(&fire),
            Job::Fire {
                reminder_id: 7,
                occurrence_at: at
            }
        );
        let deliver = json!({ "type": "Deliver", "queue": "herald:x", "run_id": 5, "at": at });
        assert_eq!(Job::from_metadata(&deliver), Job::Deliver { run_id: 5 });
        let sweep = json!({ "type": "SweepMedia", "queue": "herald:x" });
        assert_eq!(Job::from_metadata(&sweep), Job::SweepMedia);
        assert_eq!(
            Job::from_metadata(&json!({ "type": "Retired", "x": 1 })),
            Job::Other {
                task_type: Some("Retired".into())
            }
        );
        assert_eq!(
            Job::from_metadata(&json!({ "type": "Fire" })),
            Job::Other {
                task_type: Some("Fire".into())
            }
        );
        assert_eq!(
            Job::from_metadata(&json!([1, 2])),
            Job::Other { task_type: None }
        );
    }
}
