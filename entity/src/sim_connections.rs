//! The simulated WhatsApp's view of who is connected as each account: one connection at a time,
//! as WhatsApp allows (a second replaces the first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sim_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: i64,
    /// Unique to one session's connection.
    pub connection: String,
    /// The worker process that opened it.
    pub holder: String,
    pub since: DateTimeUtc,
    /// Renewed while the connection lives; a process killed outright stops renewing it.
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
