//! What the session layer keeps: each account's linked-device credentials, the code behind the
//! current QR (the terminal draws it), and the simulator's record of what it "sent".

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign key: deleting an account must leave its credentials in place until the
        // worker has logged the device out with them, then wiped them.
        manager
            .create_table(
                Table::create()
                    .table("wa_devices")
                    .if_not_exists()
                    .col(big_integer("account_id").primary_key())
                    .col(string_len("provider", 16))
                    .col(blob("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("whatsapp_accounts")
                    .add_column(text_null("last_qr_code"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sim_messages")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(string_len("group_jid", 128))
                    .col(string_len("kind", 16))
                    .col(text("body"))
                    .col(string_len("wa_message_id", 64))
                    .col(timestamp_with_time_zone("sent_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sim_messages_account")
                    .table("sim_messages")
                    .col("account_id")
                    .col("id")
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sim_messages").if_exists().take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("whatsapp_accounts")
                    .drop_column("last_qr_code")
                    .take(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("wa_devices").if_exists().take())
            .await
    }
}
