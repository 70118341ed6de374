//! Where each operator's Telegram alerts stand in the event stream, kept across restarts so that
//! alerts raised while the worker or its bot was down still go out, once.
//!
//! Operators that exist at upgrade start at the newest event: their history was either sent by
//! the bot before or is too old to be news. An operator without a row starts at the beginning,
//! which holds only their own events: on a fresh install, or for an operator added later, that is
//! nothing old.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "telegram_alert_cursors";

const START_AT_NEWEST: &str = "INSERT INTO telegram_alert_cursors (operator_id, last_event_id) \
     SELECT id, (SELECT COALESCE(MAX(id), 0) FROM events) FROM operators";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .if_not_exists()
                    .col(big_integer("operator_id").primary_key())
                    .col(big_integer("last_event_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_telegram_alert_cursors_operator_id")
                            .from(TABLE, "operator_id")
                            .to("operators", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(START_AT_NEWEST)
            .await
            .map(|_| ())
    }

    /// SQLite too: a crash half-way must not leave a half-applied migration to re-run.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).if_exists().take())
            .await
    }
}
