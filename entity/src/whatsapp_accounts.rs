//! One paired WhatsApp session belonging to an operator.

use domain::status::{AccountStatus, Provider};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "whatsapp_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub operator_id: i64,
    /// Unique per operator.
    pub label: String,
    pub provider: Provider,
    pub status: AccountStatus,
    #[sea_orm(column_type = "Text")]
    pub status_reason: Option<String>,
    pub session_generation: i64,
    pub phone_number: Option<String>,
    pub last_connected_at: Option<DateTimeUtc>,
    pub last_seen_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Blob")]
    pub last_qr_png: Option<Vec<u8>>,
    pub last_qr_at: Option<DateTimeUtc>,
    /// The text the current QR encodes, for drawing it in a terminal.
    #[sea_orm(column_type = "Text")]
    pub last_qr_code: Option<String>,
    /// The code to type on the phone when pairing by phone number (`ABCD-EFGH`).
    #[sea_orm(column_type = "Text")]
    pub last_pair_code: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::operators::Entity",
        from = "Column::OperatorId",
        to = "super::operators::Column::Id",
        on_delete = "Cascade"
    )]
    Operators,
    #[sea_orm(has_many = "super::whatsapp_groups::Entity")]
    WhatsappGroups,
    #[sea_orm(has_many = "super::reminders::Entity")]
    Reminders,
    #[sea_orm(has_many = "super::reminder_runs::Entity")]
    ReminderRuns,
}

impl Related<super::operators::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operators.def()
    }
}

impl Related<super::whatsapp_groups::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappGroups.def()
    }
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl Related<super::reminder_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRuns.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
