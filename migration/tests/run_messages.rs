//! Upgrading to runs that keep their own message: a run still open at the upgrade gets a copy of
//! its reminder's current message (so it can carry on sending), while a finished run gets none
//! (what it sent was not recorded, and the page must not pretend otherwise).

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use service::database;
use testkit::TestDb;

const MIGRATION: &str = "m20261206_000009_run_messages";
const AT: &str = "'2026-01-01T00:00:00Z'";

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

#[tokio::test]
async fn open_runs_get_their_reminders_message_and_finished_runs_none() {
    let test = TestDb::empty().await;
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == MIGRATION)
        .expect("the migration is registered");
    Migrator::up(&test.db, Some(before.try_into().unwrap()))
        .await
        .unwrap();
    // Plain SQL: the entities describe the schema after every migration.
    for sql in [
        format!(
            "INSERT INTO operators (id, telegram_user_id, display_name, timezone, created_at, \
             updated_at) VALUES (1, 42, 'Ana', 'UTC', {AT}, {AT})"
        ),
        format!(
            "INSERT INTO whatsapp_accounts (id, operator_id, label, provider, status, \
             session_generation, created_at, updated_at) \
             VALUES (1, 1, 'Bakery', 'sim', 'connected', 0, {AT}, {AT})"
        ),
        format!(
            "INSERT INTO reminders (id, operator_id, account_id, name, timezone, status, dtstart, \
             created_at, updated_at) VALUES (1, 1, 1, 'Daily', 'UTC', 'active', {AT}, {AT}, {AT})"
        ),
        "INSERT INTO reminder_messages (reminder_id, position, kind, body) \
         VALUES (1, 0, 'text', 'first'), (1, 1, 'text', 'second')"
            .to_owned(),
        format!(
            "INSERT INTO reminder_runs (id, reminder_id, reminder_name, account_id, \
             occurrence_at, status, created_at) VALUES \
             (1, 1, 'Daily', 1, {AT}, 'success', {AT}), \
             (2, 1, 'Daily', 1, '2026-01-02T00:00:00Z', 'running', {AT}), \
             (3, 1, 'Daily', 1, '2026-01-03T00:00:00Z', 'paused', {AT})"
        ),
    ] {
        execute(&test.db, &sql).await;
    }

    database::migrate(&test.db, &test.url).await.unwrap();
    let parts: Vec<_> = entity::reminder_run_parts::Entity::find()
        .order_by_asc(entity::reminder_run_parts::Column::RunId)
        .order_by_asc(entity::reminder_run_parts::Column::Position)
        .all(&test.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.run_id, p.position, p.body.unwrap_or_default()))
        .collect();
    assert_eq!(
        parts,
        [
            (2, 0, "first".to_owned()),
            (2, 1, "second".to_owned()),
            (3, 0, "first".to_owned()),
            (3, 1, "second".to_owned()),
        ]
    );
}
