//! A group a reminder is sent to, in sending order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reminder_id: i64,
    pub group_id: i64,
    pub position: i32,
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
    #[sea_orm(
        belongs_to = "super::whatsapp_groups::Entity",
        from = "Column::GroupId",
        to = "super::whatsapp_groups::Column::Id",
        on_delete = "Cascade"
    )]
    WhatsappGroups,
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl Related<super::whatsapp_groups::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappGroups.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
