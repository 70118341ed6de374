//! whatsapp-rust's key store: one generic table for every collection its `Backend` trait keeps
//! (Signal sessions and keys, app-state sync, protocol caches), keyed by account. No foreign key,
//! like `wa_devices`: the keys outlive a deleted account's row until the worker has logged out.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("wa_keys")
                    .if_not_exists()
                    .col(big_integer("account_id"))
                    // Which collection (the key store's `Space`); the numbers are persisted.
                    .col(small_integer("space"))
                    // The entry's key within its collection, bytes ordered as the engine compares
                    // them: prefix ranges on the primary key serve every "all of X" query.
                    .col(blob("key"))
                    .col(blob("value"))
                    // Numbers a query filters or merges on (timestamps, flags), per collection.
                    .col(big_integer_null("num"))
                    .col(big_integer_null("num2"))
                    .primary_key(Index::create().col("account_id").col("space").col("key"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("wa_keys").if_exists().take())
            .await
    }
}
