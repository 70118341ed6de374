//! An uploaded file attached to reminder messages, stored once per operator and content hash.

use domain::status::MessageKind;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "media_files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub operator_id: i64,
    /// Hex SHA-256 of the content; unique per operator.
    pub sha256: String,
    pub kind: MessageKind,
    pub mime_type: String,
    pub original_name: String,
    /// Relative to DATA_DIR.
    pub storage_path: String,
    pub size_bytes: i64,
    pub created_at: DateTimeUtc,
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
    #[sea_orm(has_many = "super::reminder_messages::Entity")]
    ReminderMessages,
}

impl Related<super::operators::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operators.def()
    }
}

impl Related<super::reminder_messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderMessages.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
