//! The Telegram alert cursors' start: an installation upgrading starts every existing operator at
//! its newest event (its history is not news), while operators without a cursor start at the
//! beginning.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Statement};
use service::database;
use testkit::TestDb;

const MIGRATION: &str = "m20261206_000010_alert_cursor";

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

/// Everything before the cursors' migration, on an empty database.
async fn migrated_before_cursors(test: &TestDb) {
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == MIGRATION)
        .expect("the migration is registered");
    Migrator::up(&test.db, Some(before.try_into().unwrap()))
        .await
        .unwrap();
}

async fn single(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

async fn cursors(db: &DatabaseConnection) -> Vec<(i64, i64)> {
    entity::telegram_alert_cursors::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.operator_id, c.last_event_id))
        .collect()
}

#[tokio::test]
async fn an_upgrade_starts_existing_operators_at_the_newest_event() {
    let test = TestDb::empty().await;
    migrated_before_cursors(&test).await;
    // Plain SQL: the entities describe the schema after every migration.
    for telegram_user_id in [42, 43] {
        execute(
            &test.db,
            &format!(
                "INSERT INTO operators (telegram_user_id, display_name, timezone, created_at, \
                 updated_at) VALUES ({telegram_user_id}, 'Ana', 'UTC', '2026-01-01T00:00:00Z', \
                 '2026-01-01T00:00:00Z')"
            ),
        )
        .await;
    }
    for telegram_user_id in [42, 42, 43] {
        execute(
            &test.db,
            &format!(
                "INSERT INTO events (kind, operator_id, account_id, payload, created_at) \
                 SELECT 'session.logged_out', id, 1, '{{}}', '2026-01-01T00:00:00Z' \
                 FROM operators WHERE telegram_user_id = {telegram_user_id}"
            ),
        )
        .await;
    }
    let newest = single(&test.db, "SELECT MAX(id) FROM events").await;
    let first = single(&test.db, "SELECT MIN(id) FROM operators").await;
    let second = single(&test.db, "SELECT MAX(id) FROM operators").await;

    database::migrate(&test.db, &test.url).await.unwrap();
    assert_eq!(cursors(&test.db).await, [(first, newest), (second, newest)]);
}

#[tokio::test]
async fn a_fresh_install_has_no_cursor() {
    let test = TestDb::new().await;
    assert!(cursors(&test.db).await.is_empty());
}
