//! A browser session stored for tower-sessions.
//!
//! No serde derives: session data never leaves the server.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    /// The tower-sessions session id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `None` until the session logs in.
    pub operator_id: Option<i64>,
    #[sea_orm(column_type = "Blob")]
    pub data: Vec<u8>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub user_agent: Option<String>,
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
