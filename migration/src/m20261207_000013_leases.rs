//! Several workers on PostgreSQL: each WhatsApp account, and each job that must run once (the
//! Telegram bot, maintenance), is leased to one worker at a time.
//!
//! - `leases`: one row per account (`account:<id>`, with `account_id`) or singleton (`telegram`,
//!   `maintenance`). `holder` names the worker process holding it until `expires_at`; `epoch`
//!   grows with every take-over and is the fencing token a holder's claims carry.
//! - `workers`: the live worker processes (renewed with their leases), for the fair share and
//!   the System page.
//! - `reminder_run_targets.claimed_by`: the worker process that claimed a target.
//! - `sim_connections`, `sim_overlaps`: the simulator's view of connections per account, so a
//!   test sees two workers connected as one account at once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("leases")
                    .if_not_exists()
                    .col(string("name").primary_key())
                    .col(big_integer_null("account_id"))
                    .col(string_null("holder"))
                    .col(big_integer("epoch").default(0))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("acquired_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_leases_account_id")
                    .table("leases")
                    .col("account_id")
                    .unique()
                    .take(),
            )
            .await?;
        // The jobs that run in one worker at a time have their lease from the start.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO leases (name, epoch) VALUES ('telegram', 0), ('maintenance', 0)",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("workers")
                    .if_not_exists()
                    .col(string("instance").primary_key())
                    .col(string("name"))
                    .col(string("version"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone("seen_at"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("reminder_run_targets")
                    .add_column(string_null("claimed_by"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sim_connections")
                    .if_not_exists()
                    .col(big_integer("account_id").primary_key())
                    .col(string("connection"))
                    .col(string("holder"))
                    .col(timestamp_with_time_zone("since"))
                    .col(timestamp_with_time_zone("seen_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sim_overlaps")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(string("replaced"))
                    .col(string("by"))
                    .col(timestamp_with_time_zone("at"))
                    .take(),
            )
            .await
    }

    /// SQLite too: a crash half-way must not leave a half-applied migration to re-run.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["sim_overlaps", "sim_connections", "workers", "leases"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("reminder_run_targets")
                    .drop_column("claimed_by")
                    .take(),
            )
            .await
    }
}
