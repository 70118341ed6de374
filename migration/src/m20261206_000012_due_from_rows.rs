//! What is due lives in the rows (`reminders.next_fire_at`, owed occurrences, running runs), and
//! the worker's due loop reads them; the job queue keeps only maintenance. Fire and delivery
//! tasks queued by an older version are removed: each duplicates a row that still says the
//! same, so nothing due is lost, and left behind they would fail to decode.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "DELETE FROM fang_tasks WHERE metadata->>'type' IN ('Fire', 'Deliver')"
            }
            _ => {
                "DELETE FROM fang_tasks \
                 WHERE json_extract(metadata, '$.type') IN ('Fire', 'Deliver')"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    /// SQLite too: a crash half-way must not leave a half-applied migration to re-run.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    /// The rows still say what is due; an older worker re-queues its tasks from them at start.
    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
