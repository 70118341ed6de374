//! A message the simulated WhatsApp provider "sent": the simulator's outbox, kept so tests and
//! the operator can see exactly what would have reached a group.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sim_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub group_jid: String,
    pub kind: domain::status::MessageKind,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Unique per account and group: WhatsApp keeps one message per id.
    pub wa_message_id: String,
    pub sent_at: DateTimeUtc,
    /// SHA-256 of the media a media part carried.
    pub media_sha256: Option<String>,
    /// Sends that repeated this id after it was delivered (and were dropped, as WhatsApp does).
    pub repeats: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
