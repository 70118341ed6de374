//! A lease on an account (`account:<id>`) or on a job that must run in one worker only
//! (`telegram`, `maintenance`). Written by `service::leases` only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Set for an account's lease. No foreign key: the lease outlives a deleted account until
    /// its holder has forgotten the account's session.
    pub account_id: Option<i64>,
    /// The worker process (`workers.instance`) holding it; `None` when released.
    pub holder: Option<String>,
    /// Grows with every take-over: the fencing token a holder's claims carry.
    pub epoch: i64,
    pub expires_at: Option<DateTimeUtc>,
    pub acquired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
