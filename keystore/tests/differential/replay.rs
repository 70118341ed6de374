//! Applying an operation to either backend, and the answer as text both must give alike.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use wacore::appstate::{hash::HashState, processor::AppStateMutationMAC};
use wacore::store::{
    Device,
    error::Result,
    traits::{Backend, PendingInboundKey, PendingInboundRow},
};

use crate::ops::{
    ADDRESSES, COLLECTIONS, DEVICE_USERS, GROUPS, INDEX_MAC_BYTES, JIDS, LIDS, Op, PARTS, PHONES,
    PREKEY_IDS, SYNC_KEY_IDS, USERS,
};

/// An answer both backends must give alike.
pub(crate) fn show<T: Debug>(result: Result<T>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(e) => format!("Err({e}: {e:?})"),
    }
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

/// `HashState` without its map's arbitrary iteration order.
fn state(s: HashState) -> impl Debug {
    let map: BTreeMap<String, Vec<u8>> = s.index_value_map.into_iter().collect();
    (s.version, s.hash.to_vec(), map, s.mac_mismatch_fatal)
}

fn device_json(device: Option<Device>) -> Option<String> {
    device.map(|d| serde_json::to_string(&d).expect("a device serialises"))
}

fn arcs<T: Clone>(items: &[(String, T)]) -> Vec<(Arc<str>, T)> {
    items
        .iter()
        .map(|(k, v)| (Arc::from(k.as_str()), v.clone()))
        .collect()
}

fn bytes_pairs(items: &[(String, Vec<u8>)]) -> Vec<(Arc<str>, Bytes)> {
    items
        .iter()
        .map(|(k, v)| (Arc::from(k.as_str()), Bytes::from(v.clone())))
        .collect()
}

pub(crate) async fn apply(b: &dyn Backend, op: &Op, devices: &[Device]) -> String {
    use Op::*;
    match op {
        PutIdentity(a, k) => show(b.put_identity(a, *k).await),
        PutIdentitiesBatch(items) => show(b.put_identities_batch(&arcs(items)).await),
        LoadIdentity(a) => show(b.load_identity(a).await),
        DeleteIdentity(a) => show(b.delete_identity(a).await),
        GetSession(a) => show(b.get_session(a).await),
        PutSession(a, s) => show(b.put_session(a, s).await),
        PutSessionsBatch(items) => show(b.put_sessions_batch(&bytes_pairs(items)).await),
        DeleteSession(a) => show(b.delete_session(a).await),
        HasSession(a) => show(b.has_session(a).await),
        HasSignalStateForUser(u) => show(b.has_signal_state_for_user(u).await),
        StorePrekey(id, r, up) => show(b.store_prekey(*id, r, *up).await),
        StorePrekeysBatch(items, up) => {
            let items: Vec<(u32, Bytes)> = items
                .iter()
                .map(|(id, r)| (*id, Bytes::from(r.clone())))
                .collect();
            show(b.store_prekeys_batch(&items, *up).await)
        }
        LoadPrekey(id) => show(b.load_prekey(*id).await),
        LoadPrekeysBatch(ids) => show(b.load_prekeys_batch(ids).await),
        MarkPrekeysUploaded(ids) => show(b.mark_prekeys_uploaded(ids).await),
        RemovePrekey(id) => show(b.remove_prekey(*id).await),
        GetMaxPrekeyId => show(b.get_max_prekey_id().await),
        StoreSignedPrekey(id, r) => show(b.store_signed_prekey(*id, r).await),
        LoadSignedPrekey(id) => show(b.load_signed_prekey(*id).await),
        LoadAllSignedPrekeys => show(b.load_all_signed_prekeys().await.map(sorted)),
        RemoveSignedPrekey(id) => show(b.remove_signed_prekey(*id).await),
        PutSenderKey(a, r) => show(b.put_sender_key(a, r).await),
        PutSenderKeysBatch(items) => show(b.put_sender_keys_batch(&bytes_pairs(items)).await),
        GetSenderKey(a) => show(b.get_sender_key(a).await),
        DeleteSenderKey(a) => show(b.delete_sender_key(a).await),

        GetSyncKey(id) => show(b.get_sync_key(id).await),
        SetSyncKey(id, key) => show(b.set_sync_key(id, key.clone()).await),
        GetVersion(name) => show(b.get_version(name).await.map(state)),
        SetVersion(name, s) => show(b.set_version(name, s.clone()).await),
        PutMutationMacs(name, version, macs) => {
            let macs: Vec<AppStateMutationMAC> = macs
                .iter()
                .map(|(index_mac, value_mac)| AppStateMutationMAC {
                    index_mac: index_mac.clone(),
                    value_mac: value_mac.clone(),
                })
                .collect();
            show(b.put_mutation_macs(name, *version, &macs).await)
        }
        GetMutationMac(name, index_mac) => show(b.get_mutation_mac(name, index_mac).await),
        GetMutationMacs(name, index_macs) => show(
            b.get_mutation_macs(name, index_macs)
                .await
                .map(|m| m.into_iter().collect::<BTreeMap<_, _>>()),
        ),
        DeleteMutationMacs(name, index_macs) => {
            show(b.delete_mutation_macs(name, index_macs).await)
        }
        ClearMutationMacs(name) => show(b.clear_mutation_macs(name).await),
        GetLatestSyncKeyId => show(b.get_latest_sync_key_id().await),

        GetSenderKeyDevices(g) => show(b.get_sender_key_devices(g).await.map(sorted)),
        SetSenderKeyStatus(g, entries) => {
            let entries: Vec<(&str, bool)> =
                entries.iter().map(|(d, has)| (d.as_str(), *has)).collect();
            show(b.set_sender_key_status(g, &entries).await)
        }
        ClearSenderKeyDevices(g) => show(b.clear_sender_key_devices(g).await),
        DeleteSenderKeyDeviceRows(devices) => {
            let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
            show(b.delete_sender_key_device_rows(&devices).await)
        }
        ClearAllSenderKeyDevices => show(b.clear_all_sender_key_devices().await),
        GetLidMapping(lid) => show(b.get_lid_mapping(lid).await),
        GetPnMapping(phone) => show(b.get_pn_mapping(phone).await),
        PutLidMapping(entry) => show(b.put_lid_mapping(entry).await),
        PutLidMappings(entries) => show(b.put_lid_mappings(entries).await),
        GetAllLidMappings => show(
            b.get_all_lid_mappings()
                .await
                .map(|all| sorted(all.iter().map(|e| format!("{e:?}")).collect())),
        ),
        SaveBaseKey(a, m, k) => show(b.save_base_key(a, m, k).await),
        HasSameBaseKey(a, m, k) => show(b.has_same_base_key(a, m, k).await),
        DeleteBaseKey(a, m) => show(b.delete_base_key(a, m).await),
        UpdateDeviceList(record) => show(b.update_device_list(record.clone()).await),
        UpdateDeviceLists(records) => show(b.update_device_lists(records.clone()).await),
        GetDevices(user) => show(b.get_devices(user).await),
        DeleteDevices(user) => show(b.delete_devices(user).await),
        GetGroupMetadata(g) => show(b.get_group_metadata(g).await),
        PutGroupMetadata(g, blob) => show(b.put_group_metadata(g, blob).await),
        DeleteGroupMetadata(g) => show(b.delete_group_metadata(g).await),
        GetTcToken(jid) => show(b.get_tc_token(jid).await),
        PutTcToken(jid, entry) => show(b.put_tc_token(jid, entry).await),
        DeleteTcToken(jid) => show(b.delete_tc_token(jid).await),
        GetAllTcTokenJids => show(b.get_all_tc_token_jids().await.map(sorted)),
        DeleteExpiredTcTokens(token, sender) => {
            show(b.delete_expired_tc_tokens(*token, *sender).await)
        }
        TouchTcTokenSenderTimestamp(jid, ts) => {
            show(b.touch_tc_token_sender_timestamp(jid, *ts).await)
        }
        StoreReceivedTcToken(jid, token, ts) => {
            show(b.store_received_tc_token(jid, token, *ts).await)
        }
        StoreSentMessage(chat, id, payload) => show(b.store_sent_message(chat, id, payload).await),
        TakeSentMessage(chat, id) => show(b.take_sent_message(chat, id).await),
        DeleteExpiredSentMessages(cutoff) => show(b.delete_expired_sent_messages(*cutoff).await),
        StorePendingInbound((c, s, i), m) => show(b.store_pending_inbound(c, s, i, m).await),
        GetPendingInbound((c, s, i)) => show(b.get_pending_inbound(c, s, i).await),
        DeletePendingInbound((c, s, i)) => show(b.delete_pending_inbound(c, s, i).await),
        DeleteExpiredPendingInbound(cutoff) => {
            show(b.delete_expired_pending_inbound(*cutoff).await)
        }
        StorePendingInboundBatch(rows) => {
            let rows: Vec<PendingInboundRow<'_>> = rows
                .iter()
                .map(|((chat, sender, id), message)| PendingInboundRow {
                    chat,
                    sender,
                    id,
                    message,
                })
                .collect();
            show(b.store_pending_inbound_batch(&rows).await)
        }
        DeletePendingInboundBatch(keys) => {
            let keys: Vec<PendingInboundKey<'_>> = keys
                .iter()
                .map(|(chat, sender, id)| PendingInboundKey { chat, sender, id })
                .collect();
            show(b.delete_pending_inbound_batch(&keys).await)
        }

        PutMsgSecret((c, s, m), secret) => show(b.put_msg_secret(c, s, m, secret).await),
        PutMsgSecrets(entries) => show(b.put_msg_secrets(entries.clone()).await),
        GetMsgSecret((c, s, m)) => show(b.get_msg_secret(c, s, m).await),
        GetMsgSecretWithTs((c, s, m)) => show(b.get_msg_secret_with_ts(c, s, m).await),
        DeleteExpiredMsgSecrets(cutoff) => show(b.delete_expired_msg_secrets(*cutoff).await),

        Save(i) => show(b.save(&devices[*i]).await),
        Load => show(b.load().await.map(device_json)),
        Exists => show(b.exists().await),
        // The id is the store's own (a counter there, the account here): compare success only.
        Create => show(b.create().await.map(|_| ())),
    }
}

/// Every read over every key of the small key spaces.
pub(crate) fn every_read() -> Vec<Op> {
    use Op::*;
    let mut reads = vec![
        GetMaxPrekeyId,
        LoadAllSignedPrekeys,
        GetLatestSyncKeyId,
        GetAllLidMappings,
        GetAllTcTokenJids,
        LoadPrekeysBatch(PREKEY_IDS.to_vec()),
        Load,
        Exists,
    ];
    for a in ADDRESSES {
        reads.extend([
            LoadIdentity(a.to_string()),
            GetSession(a.to_string()),
            GetSenderKey(a.to_string()),
        ]);
    }
    reads.extend(USERS.iter().map(|u| HasSignalStateForUser(u.to_string())));
    for id in PREKEY_IDS {
        reads.extend([LoadPrekey(*id), LoadSignedPrekey(*id)]);
    }
    reads.extend(SYNC_KEY_IDS.iter().map(|id| GetSyncKey(id.to_vec())));
    let all_macs: Vec<[u8; 32]> = INDEX_MAC_BYTES
        .iter()
        .flat_map(|a| INDEX_MAC_BYTES.iter().map(move |b| (*a, *b)))
        .map(|(a, b)| {
            let mut mac = [a; 32];
            mac[31] = b;
            mac
        })
        .collect();
    for c in COLLECTIONS {
        reads.push(GetVersion(c.to_string()));
        reads.push(GetMutationMacs(c.to_string(), all_macs.clone()));
    }
    reads.extend(GROUPS.iter().map(|g| GetSenderKeyDevices(g.to_string())));
    reads.extend(LIDS.iter().map(|l| GetLidMapping(l.to_string())));
    reads.extend(PHONES.iter().map(|p| GetPnMapping(p.to_string())));
    reads.extend(DEVICE_USERS.iter().map(|u| GetDevices(u.to_string())));
    for j in JIDS {
        reads.extend([GetGroupMetadata(j.to_string()), GetTcToken(j.to_string())]);
    }
    for a in PARTS {
        for b in PARTS {
            reads.push(HasSameBaseKey(a.to_string(), b.to_string(), Vec::new()));
            for c in PARTS {
                let t = (a.to_string(), b.to_string(), c.to_string());
                reads.extend([GetPendingInbound(t.clone()), GetMsgSecretWithTs(t)]);
            }
        }
    }
    reads
}
