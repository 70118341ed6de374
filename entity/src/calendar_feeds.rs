//! An operator's secret calendar link. Only the token's hash is stored.
//!
//! No serde derives: token hashes never leave the server.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique: one link per operator.
    pub operator_id: i64,
    /// Hex SHA-256 of the token; unique.
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    /// When a calendar app last fetched the feed.
    pub last_read_at: Option<DateTimeUtc>,
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
