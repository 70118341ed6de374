//! fang's queue interface on Herald's own connection pool and clock, over the `fang_tasks` table
//! the migrations create.
//!
//! fang's bundled queue opens a second pool (a second SQLite writer that fails with "database is
//! locked"), claims a task with a SELECT and an UPDATE that two workers can both win, and reads
//! the system clock. Here a claim is one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), "due" means due on the delivery clock, and an idle worker sleeps until the next
//! task is due instead of polling. Rows are encoded by `service::jobs`, which the dashboard reads
//! the table through too (on SQLite: timestamps as unix milliseconds).
//!
//! fang ends a worker for good when a queue call it makes after running a task returns an
//! error, so those calls retry until the database answers instead.

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fang::{
    AsyncQueueError, AsyncQueueable, AsyncRunnable, CronError, FangTaskState, Scheduled, Task,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, Value,
};
use service::{
    bus::wake::{self, Topic, Waker},
    jobs::{self as table, DecodeError, StoredTask},
};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::SharedClock;

/// The longest an idle worker waits before looking again (tasks another process inserted).
const IDLE_RECHECK: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    clock: SharedClock,
    inserted: Notify,
    waker: Waker,
    /// Set at shutdown: nothing more is claimed.
    closed: AtomicBool,
}

impl JobQueue {
    pub async fn new(db: DatabaseConnection, clock: SharedClock) -> Result<Self, DbErr> {
        let waker = Waker::start(&db, Topic::Jobs).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                clock,
                inserted: Notify::new(),
                waker,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// Schedules `task`; a uniq task already waiting is returned instead.
    pub async fn schedule(&self, task: &dyn AsyncRunnable) -> Result<Task, AsyncQueueError> {
        let at = self.scheduled_at(task)?;
        let task = self.insert(&self.inner.db, task, at).await?;
        self.inner.inserted.notify_waiters();
        Ok(task)
    }

    /// The hash a uniq task is known by: its JSON, as fang computes it.
    fn uniq_hash(task: &dyn AsyncRunnable) -> Result<String, serde_json::Error> {
        let metadata = serde_json::to_value(task)?;
        let digest = Sha256::digest(metadata.to_string().as_bytes());
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Stops handing out tasks, for a graceful shutdown; what is queued waits for the next start.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.inserted.notify_waiters();
    }

    /// Hands out tasks again after [`JobQueue::close`].
    pub fn reopen(&self) {
        self.inner.closed.store(false, Ordering::SeqCst);
        self.inner.inserted.notify_waiters();
    }

    /// Puts tasks left `in_progress` since before `before` (their worker died) back in line;
    /// every task Herald runs tolerates running twice.
    pub async fn reap_stuck(&self, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let now = self.now();
        let done = self
            .execute(
                "UPDATE fang_tasks SET state = 'retried', scheduled_at = $1, updated_at = $1 \
                 WHERE state = 'in_progress' AND updated_at < $2",
                [self.ts(now), self.ts(before)],
            )
            .await?;
        if done > 0 {
            self.inner.inserted.notify_waiters();
        }
        Ok(done)
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn backend(&self) -> DbBackend {
        self.inner.db.get_database_backend()
    }

    fn ts(&self, at: DateTime<Utc>) -> Value {
        table::timestamp(self.backend(), at)
    }

    fn id(&self, id: &Uuid) -> Value {
        table::task_id(self.backend(), id)
    }

    fn statement(&self, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
        table::statement(self.backend(), sql, values)
    }

    async fn execute(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<u64, DbErr> {
        let done = self
            .inner
            .db
            .execute_raw(self.statement(sql, values))
            .await?;
        Ok(done.rows_affected())
    }

    async fn one(
        &self,
        conn: &impl ConnectionTrait,
        sql: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Option<Task>, AsyncQueueError> {
        let sql = sql.replace("{cols}", table::columns(self.backend()));
        let row = conn
            .query_one_raw(self.statement(&sql, values))
            .await
            .map_err(db_error)?;
        row.map(|row| self.decode(&row)).transpose()
    }

    fn decode(&self, row: &QueryResult) -> Result<Task, AsyncQueueError> {
        let task = StoredTask::decode(self.backend(), row).map_err(|e| match e {
            DecodeError::Db(e) => db_error(e),
            DecodeError::Metadata(e) => e.into(),
        })?;
        Ok(Task::builder()
            .id(task.id)
            .metadata(task.metadata)
            .error_message(task.error_message)
            .state(FangTaskState::from(task.state.as_str()))
            .task_type(task.task_type)
            .uniq_hash(task.uniq_hash)
            .retries(task.retries)
            .scheduled_at(task.scheduled_at)
            .created_at(task.created_at)
            .updated_at(task.updated_at)
            .build())
    }

    fn scheduled_at(&self, task: &dyn AsyncRunnable) -> Result<DateTime<Utc>, AsyncQueueError> {
        match task.cron() {
            Some(Scheduled::ScheduleOnce(at)) => Ok(at),
            Some(Scheduled::CronPattern(pattern)) => cron::Schedule::from_str(&pattern)?
                .after(&self.now())
                .next()
                .ok_or(AsyncQueueError::CronError(CronError::NoTimestampsError)),
            None => Err(AsyncQueueError::CronError(
                CronError::TaskNotSchedulableError,
            )),
        }
    }

    async fn insert(
        &self,
        conn: &impl ConnectionTrait,
        task: &dyn AsyncRunnable,
        at: DateTime<Utc>,
    ) -> Result<Task, AsyncQueueError> {
        let metadata = serde_json::to_value(task)?;
        let uniq_hash = task.uniq().then(|| Self::uniq_hash(task)).transpose()?;
        if let Some(hash) = &uniq_hash {
            let waiting = self
                .one(
                    conn,
                    "SELECT {cols} FROM fang_tasks WHERE uniq_hash = $1 \
                     AND state IN ('new', 'retried') LIMIT 1",
                    [hash.clone().into()],
                )
                .await?;
            if let Some(waiting) = waiting {
                return Ok(waiting);
            }
        }
        let now = self.now();
        let metadata_value = table::metadata(self.backend(), metadata);
        let sql = "INSERT INTO fang_tasks (id, metadata, state, task_type, uniq_hash, retries, \
                   scheduled_at, created_at, updated_at) \
                   VALUES ($1, $2, 'new', $3, $4, 0, $5, $6, $6) RETURNING {cols}";
        let inserted = self
            .one(
                conn,
                sql,
                [
                    self.id(&Uuid::new_v4()),
                    metadata_value,
                    task.task_type().into(),
                    uniq_hash.into(),
                    self.ts(at),
                    self.ts(now),
                ],
            )
            .await?;
        if conn.get_database_backend() == DbBackend::Postgres {
            wake::notify(conn, Topic::Jobs).await.map_err(db_error)?;
        }
        inserted.ok_or(AsyncQueueError::ResultError {
            expected: 1,
            found: 0,
        })
    }

    /// Claims the task of `task_type` due first, in one statement.
    async fn claim(&self, task_type: &str) -> Result<Option<Task>, AsyncQueueError> {
        let now = self.now();
        let lock = match self.backend() {
            DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let sql = format!(
            "UPDATE fang_tasks SET state = 'in_progress', updated_at = $1 \
             WHERE id = (SELECT id FROM fang_tasks WHERE task_type = $2 \
                         AND state IN ('new', 'retried') AND scheduled_at <= $1 \
                         ORDER BY scheduled_at, created_at LIMIT 1 {lock}) \
             AND state IN ('new', 'retried') RETURNING {{cols}}"
        );
        self.one(
            &self.inner.db,
            &sql,
            [self.ts(now), task_type.to_owned().into()],
        )
        .await
    }

    /// Waits until the next task of `task_type` is due, something is inserted, or a while.
    /// When the first waiting task of `task_type` is due, if any waits.
    async fn next_due(&self, task_type: &str) -> Result<Option<DateTime<Utc>>, DbErr> {
        let row = self
            .inner
            .db
            .query_one_raw(self.statement(
                "SELECT MIN(scheduled_at) AS next FROM fang_tasks \
                 WHERE task_type = $1 AND state IN ('new', 'retried')",
                [task_type.to_owned().into()],
            ))
            .await?;
        let Some(row) = row else { return Ok(None) };
        table::read_timestamp(self.backend(), &row, "next")
    }

    /// Waits until `next` is due on the clock, something is inserted, another process
    /// notifies, or a while has passed.
    async fn idle(&self, next: Option<DateTime<Utc>>) {
        let inserted = self.inner.inserted.notified();
        let mut waker = self.inner.waker.clone();
        let due = async {
            match next {
                Some(at) => self.inner.clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = due => {}
            _ = inserted => {}
            _ = waker.wait() => {}
            _ = tokio::time::sleep(IDLE_RECHECK) => {}
        }
    }

    /// Runs a write fang depends on until the database takes it.
    async fn persist<T, F, Fut>(&self, what: &str, op: F) -> Result<T, AsyncQueueError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, AsyncQueueError>>,
    {
        let mut delay = Duration::from_millis(200);
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(AsyncQueueError::SqlXError(e)) => {
                    tracing::warn!(error = %e, what, "job queue write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                // Nothing a retry changes (a bad pattern, a task that does not serialize).
                Err(e) => return Err(e),
            }
        }
    }

    async fn set_state(
        &self,
        task: &Task,
        state: &str,
        error: Option<&str>,
    ) -> Result<Task, AsyncQueueError> {
        let cast = match self.backend() {
            DbBackend::Postgres => "::fang_task_state",
            _ => "",
        };
        let sql = format!(
            "UPDATE fang_tasks SET state = $1{cast}, error_message = COALESCE($2, error_message), \
             updated_at = $3 WHERE id = $4 RETURNING {{cols}}"
        );
        self.one(
            &self.inner.db,
            &sql,
            [
                state.to_owned().into(),
                error.map(str::to_owned).into(),
                self.ts(self.now()),
                self.id(&task.id),
            ],
        )
        .await
        // Gone: another worker ran it to the end after it was put back in line. Nothing to do.
        .map(|row| row.unwrap_or_else(|| task.clone()))
    }
}

/// fang's error type names its own sqlx version; the message is what matters.
fn db_error(e: DbErr) -> AsyncQueueError {
    AsyncQueueError::SqlXError(fang_sqlx::Error::Protocol(e.to_string()))
}

#[async_trait]
impl AsyncQueueable for JobQueue {
    async fn fetch_and_touch_task(
        &self,
        task_type: Option<String>,
    ) -> Result<Option<Task>, AsyncQueueError> {
        let task_type = task_type.unwrap_or_else(|| fang::DEFAULT_TASK_TYPE.to_owned());
        loop {
            if self.inner.closed.load(Ordering::SeqCst) {
                tokio::time::sleep(IDLE_RECHECK).await;
                return Ok(None);
            }
            // Looked up first, so an idle worker does not take SQLite's write lock to find out.
            let next = self.next_due(&task_type).await.map_err(db_error)?;
            if next.is_none_or(|at| at > self.now()) {
                self.idle(next).await;
                return Ok(None);
            }
            let Some(task) = self.claim(&task_type).await? else {
                continue;
            };
            // fang would end the worker on a task it cannot decode; fail that task instead.
            if let Err(e) = serde_json::from_value::<Box<dyn AsyncRunnable>>(task.metadata.clone())
            {
                tracing::error!(task = %task.id, error = %e, "a queued task does not decode");
                self.set_state(&task, "failed", Some(&format!("does not decode: {e}")))
                    .await?;
                continue;
            }
            return Ok(Some(task));
        }
    }

    async fn insert_task(&self, task: &dyn AsyncRunnable) -> Result<Task, AsyncQueueError> {
        let task = self.insert(&self.inner.db, task, self.now()).await?;
        self.inner.inserted.notify_waiters();
        Ok(task)
    }

    async fn schedule_task(&self, task: &dyn AsyncRunnable) -> Result<Task, AsyncQueueError> {
        self.persist("schedule", || self.schedule(task)).await
    }

    async fn remove_all_tasks(&self) -> Result<u64, AsyncQueueError> {
        self.execute("DELETE FROM fang_tasks", [])
            .await
            .map_err(db_error)
    }

    async fn remove_all_scheduled_tasks(&self) -> Result<u64, AsyncQueueError> {
        self.execute(
            "DELETE FROM fang_tasks WHERE scheduled_at > $1",
            [self.ts(self.now())],
        )
        .await
        .map_err(db_error)
    }

    async fn remove_task(&self, id: &Uuid) -> Result<u64, AsyncQueueError> {
        self.persist("remove", || async {
            self.execute("DELETE FROM fang_tasks WHERE id = $1", [self.id(id)])
                .await
                .map_err(db_error)
        })
        .await
    }

    async fn remove_task_by_metadata(
        &self,
        task: &dyn AsyncRunnable,
    ) -> Result<u64, AsyncQueueError> {
        if !task.uniq() {
            return Err(AsyncQueueError::TaskNotUniqError);
        }
        let hash = Self::uniq_hash(task)?;
        self.execute("DELETE FROM fang_tasks WHERE uniq_hash = $1", [hash.into()])
            .await
            .map_err(db_error)
    }

    async fn remove_tasks_type(&self, task_type: &str) -> Result<u64, AsyncQueueError> {
        self.execute(
            "DELETE FROM fang_tasks WHERE task_type = $1",
            [task_type.to_owned().into()],
        )
        .await
        .map_err(db_error)
    }

    async fn find_task_by_id(&self, id: &Uuid) -> Result<Task, AsyncQueueError> {
        self.one(
            &self.inner.db,
            "SELECT {cols} FROM fang_tasks WHERE id = $1",
            [self.id(id)],
        )
        .await?
        .ok_or(AsyncQueueError::ResultError {
            expected: 1,
            found: 0,
        })
    }

    async fn update_task_state(
        &self,
        task: &Task,
        state: FangTaskState,
    ) -> Result<Task, AsyncQueueError> {
        let state: &str = state.into();
        self.persist("update state", || self.set_state(task, state, None))
            .await
    }

    async fn fail_task(&self, task: &Task, error_message: &str) -> Result<Task, AsyncQueueError> {
        self.persist("fail", || {
            self.set_state(task, "failed", Some(error_message))
        })
        .await
    }

    async fn schedule_retry(
        &self,
        task: &Task,
        backoff_seconds: u32,
        error: &str,
    ) -> Result<Task, AsyncQueueError> {
        let at = self.now() + chrono::Duration::seconds(backoff_seconds.into());
        self.persist("retry", || async {
            let sql = "UPDATE fang_tasks SET state = 'retried', error_message = $1, \
                       retries = retries + 1, scheduled_at = $2, updated_at = $3 \
                       WHERE id = $4 RETURNING {cols}";
            let task = self
                .one(
                    &self.inner.db,
                    sql,
                    [
                        error.to_owned().into(),
                        self.ts(at),
                        self.ts(self.now()),
                        self.id(&task.id),
                    ],
                )
                .await?
                .unwrap_or_else(|| task.clone());
            Ok(task)
        })
        .await
    }
}
