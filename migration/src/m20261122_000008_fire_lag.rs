//! How late each run fired: from its occurrence's due time to the run starting, for the
//! `herald_fire_lag_seconds` histogram. Empty for runs that never fired (missed, skipped) and for
//! runs recorded before this column existed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("reminder_runs")
                    .add_column(big_integer_null("fire_lag_ms"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("reminder_runs")
                    .drop_column("fire_lag_ms")
                    .take(),
            )
            .await
    }
}
