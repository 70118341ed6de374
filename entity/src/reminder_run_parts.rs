//! One part of the message a run sends: a copy of the reminder's part taken when the run fired,
//! so an edit never changes a run under way and the run page shows what it sent.

use domain::status::MessageKind;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_run_parts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    /// Unique per run; a target's `parts_sent` counts these in order.
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
        belongs_to = "super::reminder_runs::Entity",
        from = "Column::RunId",
        to = "super::reminder_runs::Column::Id",
        on_delete = "Cascade"
    )]
    ReminderRuns,
    #[sea_orm(
        belongs_to = "super::media_files::Entity",
        from = "Column::MediaFileId",
        to = "super::media_files::Column::Id",
        on_delete = "NoAction"
    )]
    MediaFiles,
}

impl Related<super::reminder_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRuns.def()
    }
}

impl Related<super::media_files::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MediaFiles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
