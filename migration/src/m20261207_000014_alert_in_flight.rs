//! `telegram_alert_cursors.in_flight`: the Telegram message (JSON: its text, buttons and the
//! event its acceptance moves the cursor to) handed to Telegram whose acceptance is not yet
//! recorded. A bot that stopped between the two leaves it behind, so the next bot knows that
//! message's fate is unknown and sends it again marked as a possible repeat, rather than sending
//! it blindly a second time or dropping it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "telegram_alert_cursors";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(text_null("in_flight"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(TABLE).drop_column("in_flight").take())
            .await
    }
}
