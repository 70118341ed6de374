//! One occurrence of a reminder being sent. History: names are snapshots so a run outlives its
//! reminder and account (their ids become `None`).

use domain::status::RunStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reminder_id: Option<i64>,
    pub reminder_name: String,
    pub account_id: Option<i64>,
    /// Unique per reminder (`ux_reminder_runs_occurrence`).
    pub occurrence_at: DateTimeUtc,
    pub status: RunStatus,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// Scopes history to its operator after the reminder and account are gone.
    pub operator_id: Option<i64>,
    /// Set when the operator resumed the run past its send window.
    pub resumed_at: Option<DateTimeUtc>,
    /// Milliseconds from `occurrence_at` to the run starting; only for runs that fired.
    pub fire_lag_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::reminders::Entity",
        from = "Column::ReminderId",
        to = "super::reminders::Column::Id",
        on_delete = "SetNull"
    )]
    Reminders,
    #[sea_orm(
        belongs_to = "super::whatsapp_accounts::Entity",
        from = "Column::AccountId",
        to = "super::whatsapp_accounts::Column::Id",
        on_delete = "SetNull"
    )]
    WhatsappAccounts,
    #[sea_orm(has_many = "super::reminder_run_targets::Entity")]
    ReminderRunTargets,
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl Related<super::whatsapp_accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappAccounts.def()
    }
}

impl Related<super::reminder_run_targets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRunTargets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
