//! The maintenance queue's failed tasks on the test engine: the list every operator sees, and
//! retrying one — back in line, due now, retries reset, audited — refused for a task that is not
//! failed or does not exist.

use chrono::{DateTime, TimeZone as _, Utc};
use entity::audit_log;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use service::{
    audit::Actor,
    jobs::{self, FailedTask, Job, RetryError, StoredTask},
};
use testkit::{TestDb, seed};
use uuid::Uuid;

const QUEUE: &str = "herald:test";

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 3, 10, minute, 0).unwrap()
}

async fn operator(db: &DatabaseConnection, n: i64) -> i64 {
    seed::operator(db, 1000 + n, "UTC").await.id
}

fn sweep() -> Value {
    json!({ "type": "SweepMedia", "queue": QUEUE })
}

/// A task row as the worker's queue leaves it after 20 retries: in `state`, last updated at
/// `updated`.
async fn task(
    db: &DatabaseConnection,
    state: &str,
    metadata: Value,
    updated: DateTime<Utc>,
) -> Uuid {
    let backend = db.get_database_backend();
    let id = Uuid::new_v4();
    let cast = if backend == sea_orm::DbBackend::Postgres {
        "::fang_task_state"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO fang_tasks (id, metadata, error_message, state, task_type, retries, \
         scheduled_at, created_at, updated_at) VALUES ($1, $2, $3, $4{cast}, $5, 20, $6, $6, $7)"
    );
    db.execute_raw(jobs::statement(
        backend,
        &sql,
        [
            jobs::task_id(backend, &id),
            jobs::metadata(backend, metadata),
            format!("boom at {updated}").into(),
            state.to_owned().into(),
            QUEUE.to_owned().into(),
            jobs::timestamp(backend, t(0)),
            jobs::timestamp(backend, updated),
        ],
    ))
    .await
    .unwrap();
    id
}

async fn stored(db: &DatabaseConnection, id: Uuid) -> StoredTask {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT {} FROM fang_tasks WHERE id = $1",
        jobs::columns(backend)
    );
    let row = db
        .query_one_raw(jobs::statement(
            backend,
            &sql,
            [jobs::task_id(backend, &id)],
        ))
        .await
        .unwrap()
        .expect("the task row");
    StoredTask::decode(backend, &row).unwrap()
}

fn ids(list: &[FailedTask]) -> Vec<Uuid> {
    list.iter().map(|task| task.id).collect()
}

#[tokio::test]
async fn the_list_holds_the_failed_tasks_newest_first() {
    let test = TestDb::new().await;
    let db = &test.db;
    let older = task(db, "failed", sweep(), t(5)).await;
    let unknown = task(db, "failed", json!({ "type": "Retired" }), t(1)).await;
    let newest = task(db, "failed", sweep(), t(9)).await;
    // Not failed: waiting, retrying, running.
    task(db, "new", sweep(), t(10)).await;
    task(db, "retried", sweep(), t(11)).await;
    task(db, "in_progress", sweep(), t(12)).await;

    let failed = jobs::failed(db).await.unwrap();
    assert_eq!(ids(&failed), [newest, older, unknown]);
    assert_eq!(
        failed[1],
        FailedTask {
            id: older,
            job: Job::SweepMedia,
            error: Some(format!("boom at {}", t(5))),
            retries: 20,
            failed_at: t(5),
        }
    );
    assert_eq!(
        failed[2].job,
        Job::Other {
            task_type: Some("Retired".into())
        }
    );
}

#[tokio::test]
async fn the_queue_depth_counts_what_waits_and_what_failed() {
    let test = TestDb::new().await;
    let db = &test.db;
    assert_eq!(
        jobs::queue_depth(db).await.unwrap(),
        jobs::QueueDepth::default()
    );
    for state in ["new", "new", "retried", "in_progress", "failed", "finished"] {
        task(db, state, sweep(), t(1)).await;
    }
    assert_eq!(
        jobs::queue_depth(db).await.unwrap(),
        jobs::QueueDepth {
            waiting: 4,
            failed: 1
        }
    );
}

#[tokio::test]
async fn a_retry_puts_the_task_back_in_line_due_now_with_its_retries_reset() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    let id = task(db, "failed", sweep(), t(5)).await;

    let retried = jobs::retry(db, Actor::Operator, me, id, t(30))
        .await
        .unwrap();
    assert_eq!(retried.id, id);
    assert_eq!(retried.job, Job::SweepMedia);

    let row = stored(db, id).await;
    assert_eq!(row.state, "new");
    assert_eq!(row.retries, 0);
    assert_eq!(row.scheduled_at, t(30));
    assert_eq!(row.updated_at, t(30));
    assert_eq!(row.error_message, None);
    assert_eq!(row.metadata, sweep(), "the task itself is unchanged");
    assert!(jobs::failed(db).await.unwrap().is_empty());

    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.retried"))
        .all(db)
        .await
        .unwrap();
    let [entry] = audit.as_slice() else {
        panic!("one audit entry, got {audit:?}");
    };
    assert_eq!(entry.operator_id, Some(me));
    assert_eq!(
        (entry.target_type.as_deref(), entry.target_id.clone()),
        (Some("job"), Some(id.to_string()))
    );
    assert_eq!(
        entry.detail,
        Some(json!({ "task": "SweepMedia", "retries": 20 }))
    );
}

#[tokio::test]
async fn a_retry_is_refused_for_a_task_not_failed_or_missing() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    let waiting = task(db, "new", sweep(), t(5)).await;
    let running = task(db, "in_progress", sweep(), t(5)).await;
    let failed = task(db, "failed", sweep(), t(5)).await;

    for id in [waiting, running] {
        let refused = jobs::retry(db, Actor::Operator, me, id, t(30)).await;
        assert!(
            matches!(refused, Err(RetryError::NotFailed(_))),
            "{refused:?}"
        );
    }
    assert_eq!(stored(db, running).await.state, "in_progress");
    let refused = jobs::retry(db, Actor::Operator, me, Uuid::new_v4(), t(30)).await;
    assert!(matches!(refused, Err(RetryError::NotFound)), "{refused:?}");

    // Of two operators retrying the same task, the second finds it no longer failed.
    jobs::retry(db, Actor::Operator, me, failed, t(30))
        .await
        .unwrap();
    let again = jobs::retry(db, Actor::Operator, other, failed, t(31)).await;
    assert!(matches!(again, Err(RetryError::NotFailed(_))), "{again:?}");
    assert_eq!(stored(db, failed).await.scheduled_at, t(30));

    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.retried"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1, "only the retry that happened");
}
