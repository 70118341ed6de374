//! A failed job for the failed-jobs page, in the queue's own encoding (`service::jobs`).

use anyhow::Context;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use service::jobs::{metadata, statement, task_id, timestamp};
use uuid::Uuid;

/// The daily media clean-up on this installation's queue, failed with `error` after its last
/// retry. Returns `{"id": …}`.
pub async fn failed(db: &DatabaseConnection, error: &str) -> anyhow::Result<serde_json::Value> {
    let backend = db.get_database_backend();
    let key = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT queue_key FROM installation WHERE id = 1",
        ))
        .await?
        .context("no installation row: start the worker once first")?
        .try_get::<String>("", "queue_key")?;
    let queue = format!("herald:{key}");
    let id = Uuid::new_v4();
    let now = Utc::now();
    db.execute_raw(statement(
        backend,
        "INSERT INTO fang_tasks (id, metadata, error_message, state, task_type, retries, \
         scheduled_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 'failed', $4, 20, $5, $5, $5)",
        [
            task_id(backend, &id),
            metadata(backend, json!({ "type": "SweepMedia", "queue": queue })),
            error.into(),
            queue.into(),
            timestamp(backend, now),
        ],
    ))
    .await?;
    Ok(json!({ "id": id }))
}

/// The task's state, or `gone` once the queue removed it after a successful run.
pub async fn state(db: &DatabaseConnection, id: &str) -> anyhow::Result<serde_json::Value> {
    let backend = db.get_database_backend();
    let id: Uuid = id.parse().context("a task id is a UUID")?;
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT state::text AS state FROM fang_tasks WHERE id = $1",
        _ => "SELECT state FROM fang_tasks WHERE id = $1",
    };
    let row = db
        .query_one_raw(statement(backend, sql, [task_id(backend, &id)]))
        .await?;
    let state = match row {
        Some(row) => row.try_get::<String>("", "state")?,
        None => "gone".to_owned(),
    };
    Ok(json!({ "state": state }))
}
