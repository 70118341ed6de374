//! The job queue: fang's worker pool running Herald's tasks on [`queue::JobQueue`].
//!
//! A fang task is rebuilt from its JSON and handed nothing but the queue, so each task names its
//! queue — `herald:<installation key>` — and finds the delivery it belongs to through
//! [`register`]. Two workers on one database share the key and so share the work; two
//! installations in one process (as tests run them) never mix.

pub mod queue;
pub mod tasks;

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, Weak},
    time::Duration,
};

use fang::{AsyncWorkerPool, FangError, RetentionMode, SleepParams};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::delivery::Delivery;
use queue::JobQueue;

static DELIVERIES: LazyLock<Mutex<HashMap<String, Weak<Delivery>>>> =
    LazyLock::new(Default::default);

/// Makes `delivery` the one that tasks of `queue` run against.
pub fn register(queue: &str, delivery: &Arc<Delivery>) {
    let mut map = DELIVERIES.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, d| d.strong_count() > 0);
    map.insert(queue.to_owned(), Arc::downgrade(delivery));
}

pub(crate) fn delivery(queue: &str) -> Result<Arc<Delivery>, FangError> {
    DELIVERIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(queue)
        .and_then(Weak::upgrade)
        .ok_or_else(|| FangError {
            description: format!("no delivery runs queue {queue} in this process"),
        })
}

/// This installation's queue name, created with the first worker start.
pub async fn queue_name(db: &DatabaseConnection) -> Result<String, DbErr> {
    let backend = db.get_database_backend();
    let key = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    let insert = match backend {
        DbBackend::Postgres => {
            "INSERT INTO installation (id, queue_key, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING"
        }
        _ => {
            "INSERT INTO installation (id, queue_key, created_at) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO NOTHING"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [key.into(), chrono::Utc::now().into()],
    ))
    .await?;
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT queue_key FROM installation WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("installation".into()))?;
    Ok(format!(
        "herald:{}",
        row.try_get::<String>("", "queue_key")?
    ))
}

/// Starts `workers` fang workers on `queue` for tasks of `task_type`. Their idle wait is the
/// queue's own (until the next task is due), so fang's sleep between polls is nil.
pub async fn start_pool(queue: JobQueue, task_type: &str, workers: u32) {
    let nap = Duration::from_millis(1);
    let mut pool = AsyncWorkerPool::<JobQueue>::builder()
        .queue(queue)
        .number_of_workers(workers)
        .task_type(task_type.to_owned())
        .retention_mode(RetentionMode::RemoveFinished)
        .sleep_params(SleepParams {
            sleep_period: nap,
            max_sleep_period: nap,
            min_sleep_period: nap,
            sleep_step: Duration::ZERO,
        })
        .build();
    pool.start().await;
}
