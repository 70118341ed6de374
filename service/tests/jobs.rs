//! The job queue's failed tasks on the test engine: which ones an operator sees (their own fires
//! and deliveries, and the installation's system tasks), and retrying one — back in line, due
//! now, retries reset, audited — refused for a task that is not failed or not theirs.

use chrono::{DateTime, TimeZone as _, Utc};
use domain::status::{AccountStatus, ReminderStatus, RunStatus};
use entity::{audit_log, reminder_runs};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
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

/// An operator with one reminder and one run of it.
struct Owner {
    id: i64,
    reminder: i64,
    run: i64,
}

async fn owner(db: &DatabaseConnection, n: i64) -> Owner {
    let now = t(0);
    let id = seed::operator(db, 1000 + n, "UTC").await.id;
    let account = seed::account(db, id, "office", AccountStatus::Connected)
        .await
        .id;
    let name = format!("Standup {n}");
    let reminder = seed::reminder(db, id, account, &name, ReminderStatus::Active, now)
        .await
        .id;
    let run = reminder_runs::ActiveModel {
        reminder_id: Set(Some(reminder)),
        reminder_name: Set(name),
        account_id: Set(Some(account)),
        occurrence_at: Set(now),
        status: Set(RunStatus::Running),
        created_at: Set(now),
        operator_id: Set(Some(id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    Owner { id, reminder, run }
}

fn fire(reminder_id: i64) -> Value {
    json!({ "type": "Fire", "queue": QUEUE, "reminder_id": reminder_id, "occurrence_at": t(0) })
}

fn deliver(run_id: i64) -> Value {
    json!({ "type": "Deliver", "queue": QUEUE, "run_id": run_id, "at": t(0) })
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
async fn the_list_holds_the_callers_failed_tasks_and_the_system_ones_newest_first() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (owner(db, 1).await, owner(db, 2).await);
    let my_fire = task(db, "failed", fire(me.reminder), t(5)).await;
    let my_delivery = task(db, "failed", deliver(me.run), t(9)).await;
    let system = task(db, "failed", sweep(), t(7)).await;
    let unknown = task(db, "failed", json!({ "type": "Retired" }), t(1)).await;
    let their_fire = task(db, "failed", fire(other.reminder), t(8)).await;
    let their_delivery = task(db, "failed", deliver(other.run), t(6)).await;
    // Not failed: waiting, retrying, running.
    task(db, "new", fire(me.reminder), t(10)).await;
    task(db, "retried", deliver(me.run), t(11)).await;
    task(db, "in_progress", sweep(), t(12)).await;
    // A fire whose reminder is gone belongs to nobody any more.
    task(db, "failed", fire(me.reminder + 1000), t(13)).await;

    let mine = jobs::failed(db, me.id).await.unwrap();
    assert_eq!(ids(&mine), [my_delivery, system, my_fire, unknown]);
    assert_eq!(
        mine[2],
        FailedTask {
            id: my_fire,
            job: Job::Fire {
                reminder_id: me.reminder,
                occurrence_at: t(0)
            },
            name: Some("Standup 1".into()),
            operator_id: Some(me.id),
            error: Some(format!("boom at {}", t(5))),
            retries: 20,
            failed_at: t(5),
        }
    );
    assert_eq!(mine[0].job, Job::Deliver { run_id: me.run });
    assert_eq!(mine[0].name.as_deref(), Some("Standup 1"));
    assert_eq!(
        (
            mine[1].job.clone(),
            mine[1].operator_id,
            mine[1].name.clone()
        ),
        (Job::SweepMedia, None, None)
    );
    assert_eq!(
        mine[3].job,
        Job::Other {
            task_type: Some("Retired".into())
        }
    );

    let theirs = jobs::failed(db, other.id).await.unwrap();
    assert_eq!(ids(&theirs), [their_fire, system, their_delivery, unknown]);
}

#[tokio::test]
async fn a_retry_puts_the_task_back_in_line_due_now_with_its_retries_reset() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = owner(db, 1).await;
    let id = task(db, "failed", fire(me.reminder), t(5)).await;

    let retried = jobs::retry(db, Actor::Operator, me.id, id, t(30))
        .await
        .unwrap();
    assert_eq!(retried.id, id);
    assert_eq!(retried.name.as_deref(), Some("Standup 1"));

    let row = stored(db, id).await;
    assert_eq!(row.state, "new");
    assert_eq!(row.retries, 0);
    assert_eq!(row.scheduled_at, t(30));
    assert_eq!(row.updated_at, t(30));
    assert_eq!(row.error_message, None);
    assert_eq!(
        row.metadata,
        fire(me.reminder),
        "the task itself is unchanged"
    );
    assert!(jobs::failed(db, me.id).await.unwrap().is_empty());

    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.retried"))
        .all(db)
        .await
        .unwrap();
    let [entry] = audit.as_slice() else {
        panic!("one audit entry, got {audit:?}");
    };
    assert_eq!(entry.operator_id, Some(me.id));
    assert_eq!(
        (entry.target_type.as_deref(), entry.target_id.clone()),
        (Some("job"), Some(id.to_string()))
    );
    assert_eq!(
        entry.detail,
        Some(json!({
            "task": "Fire",
            "reminder_id": me.reminder,
            "occurrence_at": t(0),
            "retries": 20,
        }))
    );
}

#[tokio::test]
async fn a_retry_is_refused_for_a_task_not_failed_or_not_the_callers() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (owner(db, 1).await, owner(db, 2).await);
    let waiting = task(db, "new", fire(me.reminder), t(5)).await;
    let running = task(db, "in_progress", deliver(me.run), t(5)).await;
    let theirs = task(db, "failed", deliver(other.run), t(5)).await;
    let failed = task(db, "failed", deliver(me.run), t(5)).await;
    let system = task(db, "failed", sweep(), t(5)).await;

    for id in [waiting, running] {
        let refused = jobs::retry(db, Actor::Operator, me.id, id, t(30)).await;
        assert!(
            matches!(refused, Err(RetryError::NotFailed(_))),
            "{refused:?}"
        );
    }
    assert_eq!(stored(db, running).await.state, "in_progress");

    // Another operator's failed task: as if it did not exist, and left as it is.
    for id in [theirs, Uuid::new_v4()] {
        let refused = jobs::retry(db, Actor::Operator, me.id, id, t(30)).await;
        assert!(matches!(refused, Err(RetryError::NotFound)), "{refused:?}");
    }
    assert_eq!(stored(db, theirs).await.state, "failed");

    // A second retry of the same task finds it no longer failed.
    jobs::retry(db, Actor::Operator, me.id, failed, t(30))
        .await
        .unwrap();
    let again = jobs::retry(db, Actor::Operator, me.id, failed, t(31)).await;
    assert!(matches!(again, Err(RetryError::NotFailed(_))), "{again:?}");
    assert_eq!(stored(db, failed).await.scheduled_at, t(30));

    // A system task is every operator's to retry.
    jobs::retry(db, Actor::Operator, other.id, system, t(30))
        .await
        .unwrap();
    assert_eq!(stored(db, system).await.state, "new");

    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.retried"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 2, "only the retries that happened");
}
