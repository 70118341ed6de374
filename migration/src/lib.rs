//! Herald's schema: one migration set for SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_one_local_operator;
mod m20261122_000003_sessions;
mod m20261122_000004_delivery;
mod m20261122_000005_dashboard;
mod m20261122_000006_wa_keys;
mod m20261122_000007_pair_code;
mod m20261122_000008_fire_lag;
mod m20261206_000009_run_messages;
mod m20261206_000010_alert_cursor;
mod m20261206_000011_command_claims;
mod m20261206_000012_due_from_rows;
mod m20261207_000013_leases;
mod m20261207_000014_alert_in_flight;
mod m20261207_000015_skip_dates;
mod m20261208_000016_calendar_feeds;
mod m20261209_000017_folded_labels;
mod m20261210_000018_claim_numbers;
mod m20261210_000019_reminder_trash;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_one_local_operator::Migration),
            Box::new(m20261122_000003_sessions::Migration),
            Box::new(m20261122_000004_delivery::Migration),
            Box::new(m20261122_000005_dashboard::Migration),
            Box::new(m20261122_000006_wa_keys::Migration),
            Box::new(m20261122_000007_pair_code::Migration),
            Box::new(m20261122_000008_fire_lag::Migration),
            Box::new(m20261206_000009_run_messages::Migration),
            Box::new(m20261206_000010_alert_cursor::Migration),
            Box::new(m20261206_000011_command_claims::Migration),
            Box::new(m20261206_000012_due_from_rows::Migration),
            Box::new(m20261207_000013_leases::Migration),
            Box::new(m20261207_000014_alert_in_flight::Migration),
            Box::new(m20261207_000015_skip_dates::Migration),
            Box::new(m20261208_000016_calendar_feeds::Migration),
            Box::new(m20261209_000017_folded_labels::Migration),
            Box::new(m20261210_000018_claim_numbers::Migration),
            Box::new(m20261210_000019_reminder_trash::Migration),
        ]
    }
}
