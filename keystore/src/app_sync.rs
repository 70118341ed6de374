//! App-state sync: sync keys (and which was stored last), collection versions, mutation MACs
//! keyed by (collection, index MAC) so a collection's MACs are one key range.

use std::collections::HashMap;

use async_trait::async_trait;
use sea_orm::TransactionTrait;
use wacore::{
    appstate::{hash::HashState, processor::AppStateMutationMAC},
    store::{
        error::Result,
        traits::{AppStateSyncKey, AppSyncStore},
    },
};

use crate::{
    DbBackend,
    codec::{array, composite, from_json, prefix, to_json},
    table::{Entry, Rows, Space, db_err, starts_with},
};

#[async_trait]
impl AppSyncStore for DbBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let row = self.rows(Space::SyncKey).get(key_id).await?;
        row.map(|row| from_json(&row.value)).transpose()
    }

    /// The key and the "latest" marker land together.
    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let _open = self.fence.enter().await?;
        let txn = self.db.begin().await.map_err(db_err)?;
        Rows::new(&txn, self.account_id, Space::SyncKey)
            .put(Entry::new(key_id.to_vec(), to_json(&key)?))
            .await?;
        Rows::new(&txn, self.account_id, Space::LatestSyncKey)
            .put(Entry::new(Vec::new(), key_id.to_vec()))
            .await?;
        txn.commit().await.map_err(db_err)
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        match self
            .rows(Space::AppStateVersion)
            .get(name.as_bytes())
            .await?
        {
            Some(row) => from_json(&row.value),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.rows(Space::AppStateVersion)
            .put(Entry::new(name.into(), to_json(&state)?))
            .await
    }

    /// `version` is not kept: nothing reads it back (the reference store drops it too).
    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let entries = mutations.iter().map(|m| {
            Entry::new(
                composite(&[name.as_bytes(), &m.index_mac]),
                m.value_mac.clone(),
            )
        });
        self.rows(Space::MutationMac)
            .put_all(entries.collect())
            .await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = composite(&[name.as_bytes(), index_mac]);
        let row = self.rows(Space::MutationMac).get(&key).await?;
        Ok(row.map(|row| row.value))
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let keys = index_macs
            .iter()
            .map(|index_mac| composite(&[name.as_bytes(), index_mac]));
        let rows = self
            .rows(Space::MutationMac)
            .get_many(keys.collect())
            .await?;
        let name_len = prefix(name.as_bytes()).len();
        rows.into_iter()
            .map(|row| {
                let index_mac = row.key.get(name_len..).unwrap_or_default();
                Ok((array(index_mac, "index MAC")?, row.value))
            })
            .collect()
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = index_macs
            .iter()
            .map(|index_mac| composite(&[name.as_bytes(), index_mac]))
            .collect();
        self.rows(Space::MutationMac).delete_many(&keys).await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.rows(Space::MutationMac)
            .delete_where(starts_with(&prefix(name.as_bytes())))
            .await
            .map(|_| ())
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        let row = self.rows(Space::LatestSyncKey).get(&[]).await?;
        Ok(row.map(|row| row.value))
    }
}
