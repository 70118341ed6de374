//! The migration set on the test engine (SQLite by default, PostgreSQL with TEST_DATABASE_URL):
//! it applies to an empty database, re-applying is a no-op, concurrent starts are safe, the
//! entities agree with it, fang's own insert fits its table, and it rolls back cleanly.

mod common;

use chrono::{DateTime, Utc};
use migration::{Migrator, MigratorTrait};
use runtime::config::Backend;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, prelude::Uuid};
use serde_json::json;
use service::database;
use testkit::TestDb;

const TABLES: [&str; 29] = [
    "audit_log",
    "auth_sessions",
    "calendar_feeds",
    "commands",
    "events",
    "fang_tasks",
    "installation",
    "leases",
    "login_tokens",
    "media_files",
    "operators",
    "reminder_drafts",
    "reminder_messages",
    "reminder_owed_fires",
    "reminder_run_parts",
    "reminder_run_targets",
    "reminder_runs",
    "reminder_targets",
    "reminder_trash",
    "reminders",
    "sim_connections",
    "sim_messages",
    "sim_overlaps",
    "telegram_alert_cursors",
    "wa_devices",
    "wa_keys",
    "whatsapp_accounts",
    "whatsapp_groups",
    "workers",
];

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// Herald's tables, without the migration bookkeeping.
async fn tables(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name"
        }
    };
    strings(db, sql).await
}

async fn applied(db: &DatabaseConnection) -> Vec<String> {
    strings(db, "SELECT version FROM seaql_migrations ORDER BY version").await
}

#[tokio::test]
async fn applies_to_an_empty_database_and_again_as_a_no_op() {
    let test = TestDb::empty().await;
    assert!(tables(&test.db).await.is_empty());

    database::migrate(&test.db, &test.url).await.unwrap();
    assert_eq!(tables(&test.db).await, TABLES);
    let versions = applied(&test.db).await;
    assert_eq!(
        versions,
        [
            "m20261122_000001_initial",
            "m20261122_000002_one_local_operator",
            "m20261122_000003_sessions",
            "m20261122_000004_delivery",
            "m20261122_000005_dashboard",
            "m20261122_000006_wa_keys",
            "m20261122_000007_pair_code",
            "m20261122_000008_fire_lag",
            "m20261206_000009_run_messages",
            "m20261206_000010_alert_cursor",
            "m20261206_000011_command_claims",
            "m20261206_000012_due_from_rows",
            "m20261207_000013_leases",
            "m20261207_000014_alert_in_flight",
            "m20261207_000015_skip_dates",
            "m20261208_000016_calendar_feeds",
            "m20261209_000017_folded_labels",
            "m20261210_000018_claim_numbers",
            "m20261210_000019_reminder_trash",
        ]
    );

    database::migrate(&test.db, &test.url).await.unwrap();
    assert_eq!(tables(&test.db).await, TABLES);
    assert_eq!(applied(&test.db).await, versions, "nothing re-applied");
}

#[tokio::test]
async fn server_and_worker_starting_together_both_migrate_safely() {
    let test = TestDb::empty().await;
    // Separate connection pools, as two processes would have.
    let (a, b) = tokio::join!(
        database::connect_and_migrate(&test.url),
        database::connect_and_migrate(&test.url)
    );
    a.expect("first starter migrates");
    b.expect("second starter migrates");
    assert_eq!(tables(&test.db).await, TABLES);
    assert_eq!(applied(&test.db).await.len(), Migrator::migrations().len());
}

#[tokio::test]
async fn entities_agree_with_the_schema() {
    let test = TestDb::new().await;
    common::exercise_entities(&test.db).await;
}

#[tokio::test]
async fn auto_increment_keys_are_native() {
    let test = TestDb::new().await;
    match test.backend() {
        // SQLite's rowid alias: cheap, monotonic ids (events rely on that for SSE resume).
        Backend::Sqlite => {
            let sql = strings(
                &test.db,
                "SELECT sql FROM sqlite_master WHERE name = 'events'",
            )
            .await;
            assert!(
                sql[0].contains(r#""id" integer NOT NULL PRIMARY KEY AUTOINCREMENT"#),
                "{sql:?}"
            );
        }
        Backend::Postgres => {
            let identity = strings(
                &test.db,
                "SELECT is_identity::text FROM information_schema.columns \
                 WHERE table_name = 'events' AND column_name = 'id'",
            )
            .await;
            assert_eq!(identity, ["YES"]);
        }
    }
}

#[tokio::test]
async fn fang_tasks_accepts_fangs_own_insert() {
    let test = TestDb::new().await;
    let t = common::now();
    let task_id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let metadata = json!({ "type": "FireReminder", "reminder_id": 1 });
    // Each engine's statement as fang 0.11 issues it (queries_<engine>/insert_task.sql).
    let sql = match test.backend() {
        Backend::Sqlite => {
            r#"INSERT INTO "fang_tasks" ("id", "metadata", "task_type", "scheduled_at") VALUES ($1, $2, $3, $4) RETURNING id, metadata, state, retries, scheduled_at"#
        }
        Backend::Postgres => {
            r#"INSERT INTO "fang_tasks" ("id", "metadata", "task_type", "scheduled_at") VALUES ($1, $2::jsonb, $3, $4 ) RETURNING id, metadata, state::text, retries, scheduled_at"#
        }
    };
    let row = test
        .db
        .query_one_raw(Statement::from_sql_and_values(
            test.db.get_database_backend(),
            sql,
            [
                task_id.into(),
                metadata.clone().into(),
                "reminders".into(),
                t.into(),
            ],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<Uuid>("", "id").unwrap(), task_id);
    assert_eq!(
        row.try_get::<serde_json::Value>("", "metadata").unwrap(),
        metadata
    );
    assert_eq!(row.try_get::<String>("", "state").unwrap(), "new");
    assert_eq!(row.try_get::<i32>("", "retries").unwrap(), 0);
    assert_eq!(row.try_get::<DateTime<Utc>>("", "scheduled_at").unwrap(), t);
}

#[tokio::test]
async fn rolls_back_to_nothing_and_reapplies() {
    let test = TestDb::new().await;
    Migrator::down(&test.db, None).await.unwrap();
    assert!(tables(&test.db).await.is_empty());
    if test.backend() == Backend::Postgres {
        let fang_enum = "SELECT typname::text FROM pg_type WHERE typname = 'fang_task_state'";
        assert!(
            strings(&test.db, fang_enum).await.is_empty(),
            "fang's enum type is dropped too"
        );
    }
    Migrator::up(&test.db, None).await.unwrap();
    assert_eq!(tables(&test.db).await, TABLES);
}
