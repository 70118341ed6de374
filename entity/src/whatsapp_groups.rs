//! A WhatsApp group an account belongs to, as last synced from the phone.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "whatsapp_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// Unique per account.
    pub jid: String,
    pub name: String,
    pub participant_count: i32,
    pub archived_at: Option<DateTimeUtc>,
    pub last_synced_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::whatsapp_accounts::Entity",
        from = "Column::AccountId",
        to = "super::whatsapp_accounts::Column::Id",
        on_delete = "Cascade"
    )]
    WhatsappAccounts,
    #[sea_orm(has_many = "super::reminder_targets::Entity")]
    ReminderTargets,
    #[sea_orm(has_many = "super::reminder_run_targets::Entity")]
    ReminderRunTargets,
}

impl Related<super::whatsapp_accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappAccounts.def()
    }
}

impl Related<super::reminder_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderTargets.def()
    }
}

impl Related<super::reminder_run_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRunTargets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
