//! A deleted reminder, kept a short while as a snapshot of its rows for Undo.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminder_trash")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub operator_id: i64,
    /// The deleted reminder's id, which Undo gives back to it; unique.
    pub reminder_id: i64,
    /// JSON of its rows, in `service::reminders::trash`'s shape.
    #[sea_orm(column_type = "Text")]
    pub snapshot: String,
    pub deleted_at: DateTimeUtc,
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
}

impl Related<super::operators::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operators.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
