//! A worker process, renewed with its leases while it lives. Written by `service::leases` only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workers")]
pub struct Model {
    /// Unique to the process (its `WORKER_ID` and a random suffix): a restarted worker with the
    /// same id is a new instance.
    #[sea_orm(primary_key, auto_increment = false)]
    pub instance: String,
    /// `WORKER_ID`, as the operator named it.
    pub name: String,
    pub version: String,
    pub started_at: DateTimeUtc,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
