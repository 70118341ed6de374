//! What the dashboard needs: reminder drafts (the wizard's state between its steps, kept on the
//! server so a refresh, the Back button or another device carries on where the operator was)
//! and where the operator last cleared the dashboard's activity feed (the runs stay).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("operators")
                    .add_column(timestamp_with_time_zone_null("activity_cleared_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reminder_drafts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("operator_id"))
                    // Set when the draft edits an existing reminder; one draft per reminder.
                    .col(big_integer_null("reminder_id"))
                    // The wizard's state as JSON; only the web app reads it.
                    .col(text("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_drafts_operator")
                            .from("reminder_drafts", "operator_id")
                            .to("operators", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_drafts_reminder")
                            .from("reminder_drafts", "reminder_id")
                            .to("reminders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reminder_drafts_reminder")
                    .table("reminder_drafts")
                    .col("reminder_id")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("reminder_drafts").if_exists().take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("operators")
                    .drop_column("activity_cleared_at")
                    .take(),
            )
            .await
    }
}
