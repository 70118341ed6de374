//! `calendar_feeds`: each operator's secret calendar link (an `.ics` feed of the sends to come).
//! One per operator; only the token's SHA-256 is stored, so a leaked database yields no
//! usable link. Creating a new link replaces the old one; revoking deletes the row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "calendar_feeds";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("operator_id").unique_key())
                    .col(string_len("token_hash", 64).unique_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_read_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_feeds_operator_id")
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
