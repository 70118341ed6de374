//! fang's job queue. It opens its own connection pool (it cannot share SeaORM's), on the same
//! database, against the `fang_tasks` table our migrations create.

use fang::asynk::{async_queue::AsyncQueue, async_worker_pool::AsyncWorkerPool};
use service::config::{Backend, DatabaseUrl};

/// Connects the queue and starts its worker pool. fang claims a task with two statements and no
/// transaction, so on SQLite (no row locks) a single worker is the only safe choice.
pub async fn start(url: &DatabaseUrl) -> anyhow::Result<()> {
    let (pool_size, workers) = match url.backend() {
        Backend::Sqlite => (1u32, 1u32),
        Backend::Postgres => (4, 2),
    };
    let mut queue = AsyncQueue::builder()
        .uri(url.expose())
        .max_pool_size(pool_size)
        .build();
    queue.connect().await?;
    let mut pool = AsyncWorkerPool::<AsyncQueue>::builder()
        .queue(queue.clone())
        .number_of_workers(workers)
        .build();
    pool.start().await;
    tracing::info!(workers, "job queue started");
    Ok(())
}
