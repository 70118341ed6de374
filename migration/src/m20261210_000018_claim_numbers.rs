//! `reminder_run_targets.claim_no`: which claim of a target a sender holds. Every claim
//! (`pending → sending`) adds one, and a renewal or an outcome lands only while the number is
//! still the sender's, so a sender frozen mid-send can never write over a later claim of the
//! same target (one a retry reopened and another sender took). `attempts` cannot tell claims
//! apart: a send handed back unsent gives its attempt back.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "reminder_run_targets";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(big_integer("claim_no").default(0))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(TABLE).drop_column("claim_no").take())
            .await
    }
}
