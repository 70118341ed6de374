//! `reminder_trash`: a deleted reminder, kept a short while as a snapshot of its rows so the
//! operator's Undo puts it back as it was (`service::reminders::trash`). One per reminder id;
//! pruned once too old to undo.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "reminder_trash";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("operator_id"))
                    .col(big_integer("reminder_id").unique_key())
                    .col(text("snapshot"))
                    .col(timestamp_with_time_zone("deleted_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_trash_operator_id")
                            .from(TABLE, "operator_id")
                            .to("operators", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TABLE).take()).await
    }
}
