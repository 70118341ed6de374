//! Signal protocol state: identities, sessions, prekeys, signed prekeys, sender keys. Addresses
//! are the keys as given; prekey ids are big-endian so the highest id is the highest key.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use bytes::Bytes;
use sea_orm::Condition;
use wacore::store::{error::Result, traits::SignalStore};

use crate::{
    DbBackend,
    codec::{array, id_from_key, id_key},
    table::{Entry, Space, starts_with},
};

#[async_trait]
impl SignalStore for DbBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.rows(Space::Identity)
            .put(Entry::new(address.into(), key.to_vec()))
            .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let entries = identities
            .iter()
            .map(|(address, key)| Entry::new(address.as_bytes().to_vec(), key.to_vec()));
        self.rows(Space::Identity).put_all(entries.collect()).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        self.rows(Space::Identity)
            .get(address.as_bytes())
            .await?
            .map(|row| array(&row.value, "identity key"))
            .transpose()
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.rows(Space::Identity).delete(address.as_bytes()).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        let row = self.rows(Space::Session).get(address.as_bytes()).await?;
        Ok(row.map(|row| Bytes::from(row.value)))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.rows(Space::Session)
            .put(Entry::new(address.into(), session.to_vec()))
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let entries = sessions
            .iter()
            .map(|(address, session)| Entry::new(address.as_bytes().to_vec(), session.to_vec()));
        self.rows(Space::Session).put_all(entries.collect()).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.rows(Space::Session).delete(address.as_bytes()).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        self.rows(Space::Session).contains(address.as_bytes()).await
    }

    /// Addresses are `user@server` (device 0) or `user:device@server`: two key ranges.
    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let of_user = Condition::any()
            .add(starts_with(format!("{user}@").as_bytes()))
            .add(starts_with(format!("{user}:").as_bytes()));
        Ok(self.rows(Space::Session).any(of_user.clone()).await?
            || self.rows(Space::Identity).any(of_user).await?)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.rows(Space::PreKey)
            .put(Entry::new(id_key(id), record.to_vec()).num(uploaded.into()))
            .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let entries = keys
            .iter()
            .map(|(id, record)| Entry::new(id_key(*id), record.to_vec()).num(uploaded.into()));
        self.rows(Space::PreKey).put_all(entries.collect()).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        let row = self.rows(Space::PreKey).get(&id_key(id)).await?;
        Ok(row.map(|row| Bytes::from(row.value)))
    }

    /// In the order asked (repeats included), skipping ids not stored.
    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let rows = self
            .rows(Space::PreKey)
            .get_many(ids.iter().map(|id| id_key(*id)).collect())
            .await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            found.insert(id_from_key(&row.key)?, Bytes::from(row.value));
        }
        Ok(ids
            .iter()
            .filter_map(|id| Some((*id, found.get(id)?.clone())))
            .collect())
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| id_key(*id)).collect();
        self.rows(Space::PreKey).set_num(&keys, 1).await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.rows(Space::PreKey).delete(&id_key(id)).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        match self.rows(Space::PreKey).last().await? {
            Some(row) => id_from_key(&row.key),
            None => Ok(0),
        }
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.rows(Space::SignedPreKey)
            .put(Entry::new(id_key(id), record.to_vec()))
            .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        let row = self.rows(Space::SignedPreKey).get(&id_key(id)).await?;
        Ok(row.map(|row| row.value))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let rows = self
            .rows(Space::SignedPreKey)
            .list(Condition::all())
            .await?;
        rows.into_iter()
            .map(|row| Ok((id_from_key(&row.key)?, row.value)))
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.rows(Space::SignedPreKey).delete(&id_key(id)).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.rows(Space::SenderKey)
            .put(Entry::new(address.into(), record.to_vec()))
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let entries = sender_keys
            .iter()
            .map(|(address, record)| Entry::new(address.as_bytes().to_vec(), record.to_vec()));
        self.rows(Space::SenderKey).put_all(entries.collect()).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        let row = self.rows(Space::SenderKey).get(address.as_bytes()).await?;
        Ok(row.map(|row| row.value))
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.rows(Space::SenderKey).delete(address.as_bytes()).await
    }
}
