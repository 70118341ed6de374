//! Pairing by phone number: the code WhatsApp gives for typing on the phone, beside the QR code,
//! so the terminal and a refreshed page can show it again. Cleared with the QR fields.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("whatsapp_accounts")
                    .add_column(text_null("last_pair_code"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("whatsapp_accounts")
                    .drop_column("last_pair_code")
                    .take(),
            )
            .await
    }
}
