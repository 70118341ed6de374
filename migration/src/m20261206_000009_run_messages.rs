//! Each run keeps the message it fired with, and an occurrence that came due is never erased.
//!
//! - `reminder_run_parts`: a copy of the reminder's message parts taken when the run fires. The
//!   run sends this copy, so an edit made mid-run changes the next occurrence only, a retry
//!   resumes at the same part, and the run page shows what was actually sent. Runs still open at
//!   upgrade get a copy of the reminder's current message; finished runs stay without one (what
//!   they sent was not recorded).
//! - `reminder_owed_fires`: an occurrence that came due while its reminder was active but had not
//!   fired yet when the operator changed the reminder (edit, pause). The change moves the
//!   schedule on; the worker still records the owed occurrence — fired late within the grace
//!   window, or not sent with its alert (`reason`, decided by the change: a pause or a new
//!   schedule replaces it) — and deletes the row in the same transaction.
//! - `sim_messages.repeats`: the simulator keeps a message id once per group, as WhatsApp does,
//!   and counts the sends that repeated it (unique `account_id, group_jid, wa_message_id`), so a
//!   repeat is dropped across processes and still visible to the chaos checks.

use sea_orm_migration::{prelude::*, schema::*};

use ForeignKeyAction::{Cascade, NoAction};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COPY_OPEN_RUNS: &str = "INSERT INTO reminder_run_parts (run_id, position, kind, body, media_file_id) \
     SELECT r.id, m.position, m.kind, m.body, m.media_file_id \
     FROM reminder_runs r JOIN reminder_messages m ON m.reminder_id = r.reminder_id \
     WHERE r.status IN ('running', 'paused')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reminder_run_parts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("run_id"))
                    .col(integer("position"))
                    .col(string_len("kind", 16))
                    .col(text_null("body"))
                    .col(big_integer_null("media_file_id"))
                    .foreign_key(&mut fk(
                        "reminder_run_parts",
                        "run_id",
                        "reminder_runs",
                        Cascade,
                    ))
                    // The file stays while a run refers to it (the media sweep skips it).
                    .foreign_key(&mut fk(
                        "reminder_run_parts",
                        "media_file_id",
                        "media_files",
                        NoAction,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reminder_run_parts_position")
                    .table("reminder_run_parts")
                    .col("run_id")
                    .col("position")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reminder_run_parts_media")
                    .table("reminder_run_parts")
                    .col("media_file_id")
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(COPY_OPEN_RUNS)
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reminder_owed_fires")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("reminder_id"))
                    .col(timestamp_with_time_zone("occurrence_at"))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(
                        "reminder_owed_fires",
                        "reminder_id",
                        "reminders",
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reminder_owed_fires_occurrence")
                    .table("reminder_owed_fires")
                    .col("reminder_id")
                    .col("occurrence_at")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sim_messages")
                    .add_column(integer("repeats").default(0))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sim_messages_id")
                    .table("sim_messages")
                    .col("account_id")
                    .col("group_jid")
                    .col("wa_message_id")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    /// SQLite too: a crash half-way must not leave copied rows that a re-run would collide with.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_sim_messages_id")
                    .table("sim_messages")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sim_messages")
                    .drop_column("repeats")
                    .take(),
            )
            .await?;
        for table in ["reminder_owed_fires", "reminder_run_parts"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

fn fk(
    table: &'static str,
    col: &'static str,
    parent: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table, col)
        .to(parent, "id")
        .on_delete(on_delete)
        .take()
}
