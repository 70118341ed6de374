//! Upgrading to the due loop: fire and delivery tasks an older worker queued are removed (the
//! rows still say what is due), and the maintenance tasks stay.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use service::jobs;
use testkit::TestDb;
use uuid::Uuid;

const MIGRATION: &str = "m20261206_000012_due_from_rows";

async fn queue(db: &DatabaseConnection, metadata: serde_json::Value) {
    let backend = db.get_database_backend();
    let at = chrono::Utc::now();
    db.execute_raw(jobs::statement(
        backend,
        "INSERT INTO fang_tasks (id, metadata, task_type, retries, scheduled_at, created_at, \
         updated_at) VALUES ($1, $2, 'herald:x', 0, $3, $3, $3)",
        [
            jobs::task_id(backend, &Uuid::new_v4()),
            jobs::metadata(backend, metadata),
            jobs::timestamp(backend, at),
        ],
    ))
    .await
    .unwrap();
}

async fn types(db: &DatabaseConnection) -> Vec<jobs::Job> {
    let backend = db.get_database_backend();
    let sql = format!("SELECT {} FROM fang_tasks", jobs::columns(backend));
    db.query_all_raw(jobs::statement(backend, &sql, []))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            jobs::Job::from_metadata(&jobs::StoredTask::decode(backend, row).unwrap().metadata)
        })
        .collect()
}

#[tokio::test]
async fn queued_fires_and_deliveries_go_and_maintenance_stays() {
    let test = TestDb::empty().await;
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == MIGRATION)
        .expect("the migration is registered");
    Migrator::up(&test.db, Some(before.try_into().unwrap()))
        .await
        .unwrap();
    let at = "2027-01-04T08:00:00Z";
    queue(
        &test.db,
        json!({ "type": "Fire", "queue": "herald:x", "reminder_id": 1, "occurrence_at": at }),
    )
    .await;
    queue(
        &test.db,
        json!({ "type": "Deliver", "queue": "herald:x", "run_id": 1, "at": at }),
    )
    .await;
    queue(
        &test.db,
        json!({ "type": "SweepMedia", "queue": "herald:x" }),
    )
    .await;

    Migrator::up(&test.db, None).await.unwrap();

    assert_eq!(types(&test.db).await, vec![jobs::Job::SweepMedia]);
}
