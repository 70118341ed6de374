//! A claimed command carries its claimer's heartbeat: a running command whose claimer stopped
//! renewing `heartbeat_at` is orphaned and goes back to pending, while one a live worker is
//! running (a peer on PostgreSQL) is left alone. Commands claimed before this column existed
//! have none and count as orphaned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("commands")
                    .add_column(timestamp_with_time_zone_null("heartbeat_at"))
                    .take(),
            )
            .await
    }

    /// SQLite too: a crash half-way must not leave a half-applied migration to re-run.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("commands")
                    .drop_column("heartbeat_at")
                    .take(),
            )
            .await
    }
}
