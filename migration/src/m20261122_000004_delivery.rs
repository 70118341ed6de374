//! What delivery needs beyond the initial schema: why a reminder stopped and the wall time its
//! schedule starts from (an instant cannot say "02:30" on a day 02:30 does not exist), which
//! operator a run
//! belongs to (history outlives the reminder), a run resumed past its send window, how far a
//! target's message parts got, when a target was claimed, the installation's queue key, and
//! the simulator's record of sent media.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A table and a column to add to it.
type NewColumn = (&'static str, fn() -> ColumnDef);

/// SQLite alters one column per statement.
const COLUMNS: &[NewColumn] = &[
    ("reminders", || text_null("status_reason")),
    ("reminders", || timestamp_null("start_local")),
    ("reminder_runs", || big_integer_null("operator_id")),
    ("reminder_runs", || {
        timestamp_with_time_zone_null("resumed_at")
    }),
    ("reminder_run_targets", || {
        integer("parts_sent").default(0).take()
    }),
    ("reminder_run_targets", || {
        timestamp_with_time_zone_null("claimed_at")
    }),
    ("sim_messages", || string_len_null("media_sha256", 64)),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in COLUMNS {
            manager
                .alter_table(Table::alter().table(*table).add_column(column()).take())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_reminder_runs_operator")
                    .table("reminder_runs")
                    .col("operator_id")
                    .col("created_at")
                    .if_not_exists()
                    .take(),
            )
            .await?;
        // One row: the key this installation's job queue runs under (see worker::jobs).
        manager
            .create_table(
                Table::create()
                    .table("installation")
                    .if_not_exists()
                    .col(integer("id").primary_key())
                    .col(string_len("queue_key", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("installation").if_exists().take())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_reminder_runs_operator")
                    .table("reminder_runs")
                    .to_owned(),
            )
            .await?;
        for (table, column) in COLUMNS.iter().rev() {
            let name = column().get_column_name();
            manager
                .alter_table(Table::alter().table(*table).drop_column(name).take())
                .await?;
        }
        Ok(())
    }
}
