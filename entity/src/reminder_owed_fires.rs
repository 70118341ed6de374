//! An occurrence that came due while its reminder was active and had not fired when the
//! operator changed the reminder. Written by the change, consumed by the worker when it records
//! the occurrence's run (fired late or missed).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_owed_fires")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reminder_id: i64,
    /// Unique per reminder.
    pub occurrence_at: DateTimeUtc,
    /// Why it is recorded as not sent, decided by the change (a pause, a new schedule); `None`
    /// when it still fires, late, within the grace window.
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::reminders::Entity",
        from = "Column::ReminderId",
        to = "super::reminders::Column::Id",
        on_delete = "Cascade"
    )]
    Reminders,
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
