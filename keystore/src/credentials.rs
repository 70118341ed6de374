//! One account's credentials whichever provider wrote them, as the stored bytes: what the
//! simulator keeps, whether an account has anything to resume with, and the wipe before a re-pair.
//! whatsapp-rust reads and writes its own device through [`DbBackend`] instead.

use domain::status::Provider;
use entity::wa_devices;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, TransactionTrait};

use crate::{DbBackend, Fence, device::write_row, wipe};

/// One account's slice of the key store, as one session uses it: its clones and backends share
/// one [`Fence`], so [`close`](Self::close) ends the writes of all of them.
#[derive(Clone)]
pub struct KeyStore {
    db: DatabaseConnection,
    account_id: i64,
    fence: Fence,
}

impl KeyStore {
    pub fn new(db: DatabaseConnection, account_id: i64) -> Self {
        Self {
            db,
            account_id,
            fence: Fence::default(),
        }
    }

    /// whatsapp-rust's backend on the same slice, closed with this store.
    pub fn backend(&self) -> DbBackend {
        DbBackend::fenced(self.db.clone(), self.account_id, self.fence.clone())
    }

    /// Waits for the writes under way, then refuses every later write through this store, its
    /// clones and its backends (reads still work). The session manager closes a session's store
    /// once the session is stopped, before anything wipes or replaces the keys.
    pub async fn close(&self) {
        self.fence.close().await;
    }

    pub async fn load(&self) -> Result<Option<Vec<u8>>, DbErr> {
        Ok(self.row().await?.map(|row| row.data))
    }

    /// Saves durably: the write has committed when this returns.
    pub async fn save(&self, provider: Provider, data: Vec<u8>) -> Result<(), DbErr> {
        let _open = self
            .fence
            .enter()
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        write_row(&self.db, self.account_id, provider, data, true).await
    }

    /// Removes the device and every key whatsapp-rust stored for it, together.
    pub async fn wipe(&self) -> Result<(), DbErr> {
        let txn = self.db.begin().await?;
        wipe(&txn, self.account_id).await?;
        txn.commit().await
    }

    pub async fn exists(&self) -> Result<bool, DbErr> {
        Ok(self.row().await?.is_some())
    }

    /// Which provider wrote the stored credentials (they outlive a deleted account's row).
    pub async fn provider(&self) -> Result<Option<Provider>, DbErr> {
        Ok(self.row().await?.map(|row| row.provider))
    }

    async fn row(&self) -> Result<Option<wa_devices::Model>, DbErr> {
        wa_devices::Entity::find_by_id(self.account_id)
            .one(&self.db)
            .await
    }
}

#[cfg(test)]
mod tests {
    use wacore::store::{
        Device,
        traits::{DeviceStore, SignalStore},
    };

    use super::*;

    #[tokio::test]
    async fn a_wipe_removes_the_device_and_every_key_of_that_account_only() {
        let test = testkit::TestDb::new().await;
        let db = &test.db;
        for account_id in [1, 2] {
            let backend = DbBackend::new(db.clone(), account_id);
            backend.save(&Device::new()).await.unwrap();
            backend
                .put_session("15551234567.0:1", b"session")
                .await
                .unwrap();
            backend.store_prekey(7, b"prekey", true).await.unwrap();
        }

        KeyStore::new(db.clone(), 1).wipe().await.unwrap();

        let wiped = DbBackend::new(db.clone(), 1);
        assert!(!wiped.exists().await.unwrap());
        assert_eq!(wiped.get_session("15551234567.0:1").await.unwrap(), None);
        assert_eq!(wiped.load_prekey(7).await.unwrap(), None);
        let kept = DbBackend::new(db.clone(), 2);
        assert!(kept.exists().await.unwrap());
        assert!(kept.get_session("15551234567.0:1").await.unwrap().is_some());
        assert!(kept.load_prekey(7).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_closed_store_refuses_writes_from_every_clone_and_backend_but_still_reads() {
        let test = testkit::TestDb::new().await;
        let db = &test.db;
        let keys = KeyStore::new(db.clone(), 1);
        let backend = keys.backend();
        backend.save(&Device::new()).await.unwrap();
        backend.put_session("a.0:1", b"session").await.unwrap();

        keys.clone().close().await;

        assert!(backend.save(&Device::new()).await.is_err());
        assert!(backend.put_session("a.0:1", b"later").await.is_err());
        assert!(backend.delete_session("a.0:1").await.is_err());
        assert!(
            keys.backend()
                .store_prekey(7, b"prekey", true)
                .await
                .is_err()
        );
        assert!(keys.save(Provider::Web, b"{}".to_vec()).await.is_err());
        assert_eq!(
            backend.get_session("a.0:1").await.unwrap().as_deref(),
            Some(&b"session"[..]),
            "reads still work"
        );
        assert!(keys.exists().await.unwrap());

        // The manager's own wipe uses a store of its own, open as ever.
        KeyStore::new(db.clone(), 1).wipe().await.unwrap();
        assert!(!keys.exists().await.unwrap());
    }
}
