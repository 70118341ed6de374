//! Server→worker outbox. `account_id` has no foreign key: a delete command outlives its account.

use domain::status::CommandStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "commands")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub account_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub status: CommandStatus,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// The claiming worker process, unique to it.
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
    /// When the claimer last showed it is alive; a running command whose claimer stopped
    /// renewing it is orphaned.
    pub heartbeat_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
