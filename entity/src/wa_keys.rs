//! whatsapp-rust's key store (Signal sessions and keys, app-state sync, protocol caches), one
//! generic row per entry: `space` names the collection, `key` is the entry's key within it. No
//! foreign key, like `wa_devices`: the keys outlive a deleted account's row until the worker has
//! logged out with them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wa_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub space: i16,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Blob")]
    pub key: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub value: Vec<u8>,
    /// A number some query filters, orders or merges on (a timestamp, a flag); per space.
    pub num: Option<i64>,
    /// A second such number, for the spaces whose upserts merge two (tc tokens, msg secrets).
    pub num2: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
