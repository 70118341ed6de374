//! At most one local operator (the one without a Telegram id) may exist: server start-up and the
//! login-link command may both create it, and this index makes the loser of that race fail
//! cleanly instead of leaving two.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A partial index on a constant expression: the same SQL works on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_operators_one_local \
                 ON operators ((telegram_user_id IS NULL)) WHERE telegram_user_id IS NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ux_operators_one_local")
            .await
            .map(|_| ())
    }
}
