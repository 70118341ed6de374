//! How far the Telegram bot got with one operator's alerts: it is done with every event of theirs
//! up to `last_event_id` (sent, summarised, or raising no alert). No row: nothing done yet.
//! `in_flight`: the message handed to Telegram whose acceptance is not recorded yet (JSON, read
//! by the worker's alerts), kept until it is.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telegram_alert_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub operator_id: i64,
    pub last_event_id: i64,
    pub in_flight: Option<String>,
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
