//! WhatsApp Web protocol state: per-device sender-key status, LID-PN mappings ([`crate::lid`]),
//! base keys, device lists, group metadata, tc tokens ([`crate::tc_token`]), sent messages kept
//! for retries and the pending-inbound durability buffer.

use async_trait::async_trait;
use entity::wa_keys::Column;
use sea_orm::{ColumnTrait, Condition};
use wacore::{
    store::{
        error::Result,
        traits::{
            DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow,
            ProtocolStore, TcTokenEntry,
        },
    },
    time::now_secs,
};

use crate::{
    DbBackend,
    codec::{composite, from_json, prefix, required, string, to_json},
    table::{Entry, Space, starts_with},
};

fn pending_key(chat: &str, sender: &str, id: &str) -> Vec<u8> {
    composite(&[chat.as_bytes(), sender.as_bytes(), id.as_bytes()])
}

#[async_trait]
impl ProtocolStore for DbBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let of_group = starts_with(&prefix(group_jid.as_bytes()));
        let rows = self.rows(Space::SenderKeyDevice).list(of_group).await?;
        rows.into_iter()
            .map(|row| {
                Ok((
                    string(row.value)?,
                    required(row.num, "sender key status")? != 0,
                ))
            })
            .collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let entries = entries.iter().map(|(device, has_key)| {
            let key = composite(&[group_jid.as_bytes(), device.as_bytes()]);
            Entry::new(key, device.as_bytes().to_vec()).num((*has_key).into())
        });
        self.rows(Space::SenderKeyDevice)
            .put_all(entries.collect())
            .await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.rows(Space::SenderKeyDevice)
            .delete_where(starts_with(&prefix(group_jid.as_bytes())))
            .await
            .map(|_| ())
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let devices = device_jids.iter().map(|d| d.as_bytes().to_vec());
        self.rows(Space::SenderKeyDevice)
            .delete_where(Condition::all().add(Column::Value.is_in(devices)))
            .await
            .map(|_| ())
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.rows(Space::SenderKeyDevice)
            .delete_where(Condition::all())
            .await
            .map(|_| ())
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.lid_mapping(lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        self.pn_mapping(phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.write_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        self.write_lid_mappings(entries).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let rows = self.rows(Space::LidMapping).list(Condition::all()).await?;
        rows.iter().map(|row| from_json(&row.value)).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        let key = composite(&[address.as_bytes(), message_id.as_bytes()]);
        self.rows(Space::BaseKey)
            .put(Entry::new(key, base_key.to_vec()))
            .await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let key = composite(&[address.as_bytes(), message_id.as_bytes()]);
        let row = self.rows(Space::BaseKey).get(&key).await?;
        Ok(row.is_some_and(|row| row.value == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        let key = composite(&[address.as_bytes(), message_id.as_bytes()]);
        self.rows(Space::BaseKey).delete(&key).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let entries = records
            .iter()
            .map(|record| {
                Ok(Entry::new(
                    record.user.as_bytes().to_vec(),
                    to_json(record)?,
                ))
            })
            .collect::<Result<_>>()?;
        self.rows(Space::DeviceList).put_all(entries).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        let row = self.rows(Space::DeviceList).get(user.as_bytes()).await?;
        row.map(|row| from_json(&row.value)).transpose()
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.rows(Space::DeviceList).delete(user.as_bytes()).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        let row = self
            .rows(Space::GroupMetadata)
            .get(group_jid.as_bytes())
            .await?;
        Ok(row.map(|row| row.value))
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.rows(Space::GroupMetadata)
            .put(Entry::new(group_jid.into(), blob.to_vec()))
            .await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.rows(Space::GroupMetadata)
            .delete(group_jid.as_bytes())
            .await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.tc_token(jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.write_tc_token(jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.rows(Space::TcToken).delete(jid.as_bytes()).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        self.tc_token_jids().await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        self.expire_tc_tokens(token_cutoff, sender_cutoff).await
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        self.touch_tc_token_sender(jid, sender_timestamp).await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        self.merge_received_tc_token(jid, token, token_timestamp)
            .await
    }

    /// No count cap: the reference store's cap bounds its memory; on disk, the keepalive sweep
    /// (`delete_expired_sent_messages`) is the bound.
    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        let key = composite(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        self.rows(Space::SentMessage)
            .put(Entry::new(key, payload.to_vec()).num(now_secs()))
            .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let key = composite(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        let row = self.rows(Space::SentMessage).take(&key).await?;
        Ok(row.map(|row| row.value))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.rows(Space::SentMessage)
            .delete_where(Condition::all().add(Column::Num.lt(cutoff_timestamp)))
            .await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        let entry = Entry::new(pending_key(chat, sender, id), message.to_vec()).num(now_secs());
        self.rows(Space::PendingInbound).put(entry).await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let row = self
            .rows(Space::PendingInbound)
            .get(&pending_key(chat, sender, id))
            .await?;
        Ok(row.map(|row| row.value))
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.rows(Space::PendingInbound)
            .delete(&pending_key(chat, sender, id))
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.rows(Space::PendingInbound)
            .delete_where(Condition::all().add(Column::Num.lt(cutoff_timestamp)))
            .await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = now_secs();
        let entries = rows.iter().map(|row| {
            Entry::new(
                pending_key(row.chat, row.sender, row.id),
                row.message.to_vec(),
            )
            .num(now)
        });
        self.rows(Space::PendingInbound)
            .put_all(entries.collect())
            .await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = keys
            .iter()
            .map(|key| pending_key(key.chat, key.sender, key.id))
            .collect();
        self.rows(Space::PendingInbound).delete_many(&keys).await
    }
}
