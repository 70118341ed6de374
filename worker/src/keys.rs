//! Each account's linked-device credentials, in the database (`wa_devices`, and for the web
//! provider its keys in `wa_keys`), so sessions survive restarts and a re-pair starts from nothing.

use chrono::Utc;
use domain::status::Provider;
use entity::wa_devices;
use sea_orm::{
    DatabaseConnection, DbErr, EntityTrait, Set, TransactionTrait, sea_query::OnConflict,
};

/// One account's slice of the key store.
#[derive(Clone)]
pub struct KeyStore {
    db: DatabaseConnection,
    account_id: i64,
}

impl KeyStore {
    pub fn new(db: DatabaseConnection, account_id: i64) -> Self {
        Self { db, account_id }
    }

    pub async fn load(&self) -> Result<Option<Vec<u8>>, DbErr> {
        Ok(wa_devices::Entity::find_by_id(self.account_id)
            .one(&self.db)
            .await?
            .map(|row| row.data))
    }

    /// Saves durably: the write has committed when this returns.
    pub async fn save(&self, provider: Provider, data: Vec<u8>) -> Result<(), DbErr> {
        let now = Utc::now();
        wa_devices::Entity::insert(wa_devices::ActiveModel {
            account_id: Set(self.account_id),
            provider: Set(provider),
            data: Set(data),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(wa_devices::Column::AccountId)
                .update_columns([
                    wa_devices::Column::Provider,
                    wa_devices::Column::Data,
                    wa_devices::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&self.db)
        .await
        .map(|_| ())
    }

    /// Removes the device and every key whatsapp-rust stored for it, together.
    pub async fn wipe(&self) -> Result<(), DbErr> {
        let txn = self.db.begin().await?;
        keystore::wipe(&txn, self.account_id).await?;
        txn.commit().await
    }

    pub async fn exists(&self) -> Result<bool, DbErr> {
        Ok(self.load().await?.is_some())
    }

    /// Which provider wrote the stored credentials (they outlive a deleted account's row).
    pub async fn provider(&self) -> Result<Option<Provider>, DbErr> {
        Ok(wa_devices::Entity::find_by_id(self.account_id)
            .one(&self.db)
            .await?
            .map(|row| row.provider))
    }
}

/// Accounts that have credentials stored (for resuming at start).
pub async fn accounts_with_credentials(db: &DatabaseConnection) -> Result<Vec<i64>, DbErr> {
    Ok(wa_devices::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.account_id)
        .collect())
}
