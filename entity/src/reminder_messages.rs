//! One part of a reminder's message (text or media with optional caption), in sending order.

use domain::status::MessageKind;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reminder_id: i64,
    /// Unique per reminder.
    pub position: i32,
    pub kind: MessageKind,
    /// The text, or the caption of a media part.
    #[sea_orm(column_type = "Text")]
    pub body: Option<String>,
    pub media_file_id: Option<i64>,
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
        belongs_to = "super::media_files::Entity",
        from = "Column::MediaFileId",
        to = "super::media_files::Column::Id",
        on_delete = "NoAction"
    )]
    MediaFiles,
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl Related<super::media_files::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MediaFiles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
