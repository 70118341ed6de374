//! A scheduled message: when to send (dtstart + rrule) and from which account.

use domain::status::ReminderStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub operator_id: i64,
    pub account_id: i64,
    pub name: String,
    /// IANA time zone the recurrence is expanded in.
    pub timezone: String,
    pub status: ReminderStatus,
    /// First occurrence as a UTC instant.
    pub dtstart: DateTimeUtc,
    /// RRULE body without DTSTART; `None` for a one-off.
    #[sea_orm(column_type = "Text")]
    pub rrule: Option<String>,
    pub send_window_end_hour: Option<i16>,
    pub next_fire_at: Option<DateTimeUtc>,
    /// The wall time, in `timezone`, the schedule starts from (as entered). `dtstart` is the
    /// first occurrence as an instant, which after a DST gap is not the same wall time.
    pub start_local: Option<DateTime>,
    /// Local dates the rule matches but the reminder does not fire on, as
    /// `domain::recurrence::skip_dates` writes them; `None` when there are none.
    #[sea_orm(column_type = "Text")]
    pub skip_dates: Option<String>,
    /// Why the reminder is paused, ended or failed, in words.
    #[sea_orm(column_type = "Text")]
    pub status_reason: Option<String>,
    pub last_fired_at: Option<DateTimeUtc>,
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
    #[sea_orm(
        belongs_to = "super::whatsapp_accounts::Entity",
        from = "Column::AccountId",
        to = "super::whatsapp_accounts::Column::Id",
        on_delete = "Cascade"
    )]
    WhatsappAccounts,
    #[sea_orm(has_many = "super::reminder_targets::Entity")]
    ReminderTargets,
    #[sea_orm(has_many = "super::reminder_messages::Entity")]
    ReminderMessages,
    #[sea_orm(has_many = "super::reminder_runs::Entity")]
    ReminderRuns,
}

impl Related<super::operators::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operators.def()
    }
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

impl Related<super::reminder_messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderMessages.def()
    }
}

impl Related<super::reminder_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRuns.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
