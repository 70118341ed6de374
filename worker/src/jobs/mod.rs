//! fang's job queue, running the installation's maintenance (the daily media sweep) on
//! [`queue::JobQueue`]. Nothing on a reminder's way from due to sent goes through it: the rows
//! are the truth of when a reminder or a run is due, and delivery's due loop reads them.
//!
//! A fang task is rebuilt from its JSON and handed nothing but the queue, so a maintenance task
//! names its queue — `herald:<installation key>` — and finds what it works on through
//! [`Maintenance::start`]'s registry: the worker's one process-global, off every delivery path.
//! Two workers on one database share the key and so the tasks; two installations in one process
//! (as tests run them) never mix.

pub mod queue;
pub mod tasks;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex, Weak},
    time::Duration,
};

use fang::{AsyncWorkerPool, FangError, RetentionMode, SleepParams};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::clock::SharedClock;
use queue::JobQueue;
use tasks::SweepMedia;

/// A maintenance task `in_progress` this long lost its worker and is run again.
const STUCK_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// How often tasks a dead worker left in progress are looked for.
const REAP_EVERY: Duration = Duration::from_secs(60);

static RUNNING: LazyLock<Mutex<HashMap<String, Weak<Maintenance>>>> =
    LazyLock::new(Default::default);

/// What the maintenance tasks of one installation work on.
pub struct Maintenance {
    db: DatabaseConnection,
    clock: SharedClock,
    data_dir: PathBuf,
    queue: JobQueue,
}

impl Maintenance {
    /// Registers this installation's maintenance, puts back what a dead worker left in
    /// progress, queues the daily sweep (once: it is a uniq task) and starts `workers` fang
    /// workers.
    pub async fn start(
        db: DatabaseConnection,
        clock: SharedClock,
        data_dir: PathBuf,
        workers: u32,
    ) -> anyhow::Result<Arc<Self>> {
        let name = queue_name(&db).await?;
        let queue = JobQueue::new(db.clone(), clock.clone()).await?;
        let maintenance = Arc::new(Self {
            db,
            clock,
            data_dir,
            queue: queue.clone(),
        });
        {
            let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            running.retain(|_, m| m.strong_count() > 0);
            running.insert(name.clone(), Arc::downgrade(&maintenance));
        }
        // On SQLite this worker holds the database: whatever is in progress is a dead worker's.
        let stuck = match maintenance.db.get_database_backend() {
            DbBackend::Postgres => STUCK_AFTER,
            _ => chrono::Duration::zero(),
        };
        maintenance.reap(stuck).await?;
        queue
            .schedule(&SweepMedia {
                queue: name.clone(),
            })
            .await?;
        start_pool(queue, &name, workers).await;
        tokio::spawn(Self::keep_reaping(Arc::downgrade(&maintenance)));
        Ok(maintenance)
    }

    /// Stops handing out tasks (a graceful shutdown, or the maintenance lease gone elsewhere);
    /// what is queued waits for [`Maintenance::reopen`] or the next start.
    pub fn close(&self) {
        self.queue.close();
    }

    /// Runs tasks again after [`Maintenance::close`] (the lease came back), with what another
    /// worker left in progress meanwhile put back in line.
    pub async fn reopen(&self) -> Result<(), DbErr> {
        self.reap(STUCK_AFTER).await?;
        self.queue.reopen();
        Ok(())
    }

    async fn reap(&self, stuck: chrono::Duration) -> Result<(), DbErr> {
        let requeued = self.queue.reap_stuck(self.clock.now() - stuck).await?;
        if requeued > 0 {
            tracing::warn!(
                tasks = requeued,
                "re-queued maintenance tasks a stopped worker left in progress"
            );
        }
        Ok(())
    }

    async fn keep_reaping(maintenance: Weak<Self>) {
        let mut every = tokio::time::interval(REAP_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(maintenance) = maintenance.upgrade() else {
                return;
            };
            if let Err(e) = maintenance.reap(STUCK_AFTER).await {
                tracing::warn!(error = %e, "looking for stuck maintenance tasks failed");
            }
        }
    }

    pub(crate) async fn sweep_media(&self) -> anyhow::Result<()> {
        let report = service::media::sweep(
            &self.db,
            &self.data_dir,
            self.clock.now(),
            service::media::RETENTION,
        )
        .await?;
        tracing::info!(?report, "media retention sweep");
        Ok(())
    }
}

/// The maintenance of the installation whose queue is `queue`, if it runs in this process.
pub(crate) fn running(queue: &str) -> Result<Arc<Maintenance>, FangError> {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(queue)
        .and_then(Weak::upgrade)
        .ok_or_else(|| FangError {
            description: format!("no maintenance runs queue {queue} in this process"),
        })
}

/// This installation's queue name, created with the first worker start.
async fn queue_name(db: &DatabaseConnection) -> Result<String, DbErr> {
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
