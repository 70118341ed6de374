//! `reminders.skip_dates`: local dates (ISO, comma-separated, earliest first) a recurring
//! reminder's rule matches but it does not fire on — holidays the operator listed, or an
//! occurrence skipped with "Skip next". Part of the schedule, so an edit keeps them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "reminders";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(text_null("skip_dates"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(TABLE).drop_column("skip_dates").take())
            .await
    }
}
