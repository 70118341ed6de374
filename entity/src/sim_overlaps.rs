//! A connection the simulated WhatsApp replaced while it was still live: two processes were
//! connected as one account at once (WhatsApp's 409 "stream replaced").

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sim_overlaps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// The holder of the live connection that was replaced.
    pub replaced: String,
    /// The holder of the connection that replaced it.
    pub by: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
