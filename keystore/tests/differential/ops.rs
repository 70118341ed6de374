//! Every trait operation as a value, with arguments drawn by a seeded generator from small key
//! spaces.

use std::fmt::Debug;

use wacore::appstate::hash::HashState;
use wacore::store::traits::{
    AppStateSyncKey, DeviceInfo, DeviceListRecord, LidPnMappingEntry, MsgSecretEntry, TcTokenEntry,
};

use crate::DEVICE_POOL;

/// splitmix64: deterministic, and good enough to shuffle test arguments.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn flip(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn small(&mut self, below: i64) -> i64 {
        (self.next() % below as u64) as i64
    }

    /// 0-3 bytes from a 3-letter alphabet: values often repeat (and are sometimes empty).
    fn bytes(&mut self) -> Vec<u8> {
        (0..self.below(4)).map(|_| self.below(3) as u8).collect()
    }

    fn many<T>(&mut self, max: usize, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        (0..self.below(max + 1)).map(|_| item(self)).collect()
    }
}

// Small key spaces. Some are prefixes of others ("11" of "111") and some concatenate alike
// ("a"+"bc" = "ab"+"c"), to catch key encodings and prefix queries that confuse them.
pub(crate) const ADDRESSES: &[&str] = &[
    "111@s.whatsapp.net",
    "111:2@s.whatsapp.net",
    "1111@s.whatsapp.net",
    "11@lid",
    "11:7@lid",
    "222@lid",
    "",
];
pub(crate) const USERS: &[&str] = &["1", "11", "111", "1111", "222", "22", ""];
pub(crate) const PREKEY_IDS: &[u32] = &[0, 1, 2, 255, 256, 65_536, 1 << 31, u32::MAX];
pub(crate) const SYNC_KEY_IDS: &[&[u8]] = &[b"", b"\x00", b"\x00\x01", b"\xff", b"k1"];
pub(crate) const COLLECTIONS: &[&str] = &["regular", "regular_low", "a", "ab", ""];
pub(crate) const INDEX_MAC_BYTES: &[u8] = &[0, 1, 0xff];
pub(crate) const GROUPS: &[&str] = &["g1@g.us", "g2@g.us", "g1@g.usx", ""];
const DEVICES: &[&str] = &["1@s.whatsapp.net", "1:2@s.whatsapp.net", "2@lid", ""];
pub(crate) const LIDS: &[&str] = &["L1", "L2", "L3"];
pub(crate) const PHONES: &[&str] = &["P1", "P2", "P3"];
pub(crate) const PARTS: &[&str] = &["a", "ab", "bc", "c", ""];
pub(crate) const JIDS: &[&str] = &["a@lid", "b@lid", "c@s.whatsapp.net"];
pub(crate) const DEVICE_USERS: &[&str] = &["u1", "u2", "u3"];
/// Cutoffs for the store-clock expiries: before or after everything (the boundary itself is
/// tested in `expiry_cutoffs_compare_with_the_store_time`, where the clock is pinned).
const CLOCK_CUTOFFS: &[i64] = &[i64::MIN, 0, i64::MAX];

fn index_mac(rng: &mut Rng) -> [u8; 32] {
    let mut mac = [rng.pick(INDEX_MAC_BYTES); 32];
    mac[31] = rng.pick(INDEX_MAC_BYTES);
    mac
}

/// Index MACs as `put/delete_mutation_macs` take them: any length, usually 32.
fn index_mac_vec(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => rng.bytes(),
        _ => index_mac(rng).to_vec(),
    }
}

fn hash_state(rng: &mut Rng) -> HashState {
    HashState {
        version: rng.next() % 4,
        hash: [rng.below(3) as u8; 128],
        index_value_map: rng
            .many(3, |r| (r.pick(PARTS).to_string(), r.bytes()))
            .into_iter()
            .collect(),
        mac_mismatch_fatal: rng.flip(),
    }
}

fn lid_entry(rng: &mut Rng) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: rng.pick(LIDS).into(),
        phone_number: rng.pick(PHONES).into(),
        created_at: rng.small(5),
        updated_at: rng.small(5),
        learning_source: rng.pick(&["usync", "peer_pn_message"]).into(),
    }
}

fn device_list(rng: &mut Rng) -> DeviceListRecord {
    DeviceListRecord {
        user: rng.pick(DEVICE_USERS).into(),
        devices: rng.many(3, |r| {
            DeviceInfo::new(r.below(3) as u32, r.flip().then(|| r.below(3) as u32))
                .with_hosting(r.flip())
        }),
        timestamp: rng.small(5),
        phash: rng.flip().then(|| rng.pick(PARTS).to_string()),
        raw_id: rng.flip().then(|| rng.below(3) as u32),
    }
}

fn tc_entry(rng: &mut Rng) -> TcTokenEntry {
    TcTokenEntry {
        token: rng.bytes(),
        token_timestamp: rng.small(10),
        sender_timestamp: rng.flip().then(|| rng.small(10)),
    }
}

fn msg_secret(rng: &mut Rng) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: rng.pick(PARTS).into(),
        sender: rng.pick(PARTS).into(),
        msg_id: rng.pick(PARTS).into(),
        secret: [rng.below(3) as u8; 32],
        expires_at: rng.small(6),
        message_ts: rng.small(6),
    }
}

type Triple = (String, String, String);

fn triple(rng: &mut Rng) -> Triple {
    (
        rng.pick(PARTS).into(),
        rng.pick(PARTS).into(),
        rng.pick(PARTS).into(),
    )
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    // SignalStore
    PutIdentity(String, [u8; 32]),
    PutIdentitiesBatch(Vec<(String, [u8; 32])>),
    LoadIdentity(String),
    DeleteIdentity(String),
    GetSession(String),
    PutSession(String, Vec<u8>),
    PutSessionsBatch(Vec<(String, Vec<u8>)>),
    DeleteSession(String),
    HasSession(String),
    HasSignalStateForUser(String),
    StorePrekey(u32, Vec<u8>, bool),
    StorePrekeysBatch(Vec<(u32, Vec<u8>)>, bool),
    LoadPrekey(u32),
    LoadPrekeysBatch(Vec<u32>),
    MarkPrekeysUploaded(Vec<u32>),
    RemovePrekey(u32),
    GetMaxPrekeyId,
    StoreSignedPrekey(u32, Vec<u8>),
    LoadSignedPrekey(u32),
    LoadAllSignedPrekeys,
    RemoveSignedPrekey(u32),
    PutSenderKey(String, Vec<u8>),
    PutSenderKeysBatch(Vec<(String, Vec<u8>)>),
    GetSenderKey(String),
    DeleteSenderKey(String),
    // AppSyncStore
    GetSyncKey(Vec<u8>),
    SetSyncKey(Vec<u8>, AppStateSyncKey),
    GetVersion(String),
    SetVersion(String, HashState),
    PutMutationMacs(String, u64, Vec<(Vec<u8>, Vec<u8>)>),
    GetMutationMac(String, Vec<u8>),
    GetMutationMacs(String, Vec<[u8; 32]>),
    DeleteMutationMacs(String, Vec<Vec<u8>>),
    ClearMutationMacs(String),
    GetLatestSyncKeyId,
    // ProtocolStore
    GetSenderKeyDevices(String),
    SetSenderKeyStatus(String, Vec<(String, bool)>),
    ClearSenderKeyDevices(String),
    DeleteSenderKeyDeviceRows(Vec<String>),
    ClearAllSenderKeyDevices,
    GetLidMapping(String),
    GetPnMapping(String),
    PutLidMapping(LidPnMappingEntry),
    PutLidMappings(Vec<LidPnMappingEntry>),
    GetAllLidMappings,
    SaveBaseKey(String, String, Vec<u8>),
    HasSameBaseKey(String, String, Vec<u8>),
    DeleteBaseKey(String, String),
    UpdateDeviceList(DeviceListRecord),
    UpdateDeviceLists(Vec<DeviceListRecord>),
    GetDevices(String),
    DeleteDevices(String),
    GetGroupMetadata(String),
    PutGroupMetadata(String, Vec<u8>),
    DeleteGroupMetadata(String),
    GetTcToken(String),
    PutTcToken(String, TcTokenEntry),
    DeleteTcToken(String),
    GetAllTcTokenJids,
    DeleteExpiredTcTokens(i64, i64),
    TouchTcTokenSenderTimestamp(String, i64),
    StoreReceivedTcToken(String, Vec<u8>, i64),
    StoreSentMessage(String, String, Vec<u8>),
    TakeSentMessage(String, String),
    DeleteExpiredSentMessages(i64),
    StorePendingInbound(Triple, Vec<u8>),
    GetPendingInbound(Triple),
    DeletePendingInbound(Triple),
    DeleteExpiredPendingInbound(i64),
    StorePendingInboundBatch(Vec<(Triple, Vec<u8>)>),
    DeletePendingInboundBatch(Vec<Triple>),
    // MsgSecretStore
    PutMsgSecret(Triple, [u8; 32]),
    PutMsgSecrets(Vec<MsgSecretEntry>),
    GetMsgSecret(Triple),
    GetMsgSecretWithTs(Triple),
    DeleteExpiredMsgSecrets(i64),
    // DeviceStore
    Save(usize),
    Load,
    Exists,
    Create,
}

/// Every kind of operation, uniformly: reads and writes alike.
pub(crate) fn random_op(rng: &mut Rng) -> Op {
    use Op::*;
    let address = |r: &mut Rng| r.pick(ADDRESSES).to_string();
    let prekey = |r: &mut Rng| r.pick(PREKEY_IDS);
    let collection = |r: &mut Rng| r.pick(COLLECTIONS).to_string();
    let group = |r: &mut Rng| r.pick(GROUPS).to_string();
    let part = |r: &mut Rng| r.pick(PARTS).to_string();
    let jid = |r: &mut Rng| r.pick(JIDS).to_string();
    let identity = |r: &mut Rng| [r.below(3) as u8; 32];
    match rng.below(80) {
        0 => PutIdentity(address(rng), identity(rng)),
        1 => PutIdentitiesBatch(rng.many(4, |r| (address(r), identity(r)))),
        2 | 3 => LoadIdentity(address(rng)),
        4 => DeleteIdentity(address(rng)),
        5 => GetSession(address(rng)),
        6 => PutSession(address(rng), rng.bytes()),
        7 => PutSessionsBatch(rng.many(4, |r| (address(r), r.bytes()))),
        8 => DeleteSession(address(rng)),
        9 => HasSession(address(rng)),
        10 | 11 => HasSignalStateForUser(rng.pick(USERS).into()),
        12 => StorePrekey(prekey(rng), rng.bytes(), rng.flip()),
        13 => StorePrekeysBatch(rng.many(4, |r| (prekey(r), r.bytes())), rng.flip()),
        14 => LoadPrekey(prekey(rng)),
        15 => LoadPrekeysBatch(rng.many(4, prekey)),
        16 => MarkPrekeysUploaded(rng.many(3, prekey)),
        17 => RemovePrekey(prekey(rng)),
        18 => GetMaxPrekeyId,
        19 => StoreSignedPrekey(prekey(rng), rng.bytes()),
        20 => LoadSignedPrekey(prekey(rng)),
        21 => LoadAllSignedPrekeys,
        22 => RemoveSignedPrekey(prekey(rng)),
        23 => PutSenderKey(address(rng), rng.bytes()),
        24 => PutSenderKeysBatch(rng.many(4, |r| (address(r), r.bytes()))),
        25 => GetSenderKey(address(rng)),
        26 => DeleteSenderKey(address(rng)),
        27 => GetSyncKey(rng.pick(SYNC_KEY_IDS).to_vec()),
        28 => SetSyncKey(
            rng.pick(SYNC_KEY_IDS).to_vec(),
            AppStateSyncKey {
                key_data: rng.bytes(),
                fingerprint: rng.bytes(),
                timestamp: rng.small(5),
            },
        ),
        29 => GetVersion(collection(rng)),
        30 => SetVersion(collection(rng), hash_state(rng)),
        31 | 32 => PutMutationMacs(
            collection(rng),
            rng.next() % 3,
            rng.many(4, |r| (index_mac_vec(r), r.bytes())),
        ),
        33 => GetMutationMac(collection(rng), index_mac_vec(rng)),
        34 => GetMutationMacs(collection(rng), rng.many(4, index_mac)),
        35 => DeleteMutationMacs(collection(rng), rng.many(3, index_mac_vec)),
        36 => ClearMutationMacs(collection(rng)),
        37 => GetLatestSyncKeyId,
        38 => GetSenderKeyDevices(group(rng)),
        39 | 40 => SetSenderKeyStatus(
            group(rng),
            rng.many(4, |r| (r.pick(DEVICES).to_string(), r.flip())),
        ),
        41 => ClearSenderKeyDevices(group(rng)),
        42 => DeleteSenderKeyDeviceRows(rng.many(2, |r| r.pick(DEVICES).to_string())),
        43 => match rng.below(4) {
            0 => ClearAllSenderKeyDevices,
            _ => GetSenderKeyDevices(group(rng)),
        },
        44 => GetLidMapping(rng.pick(LIDS).into()),
        45 | 46 => GetPnMapping(rng.pick(PHONES).into()),
        47 => PutLidMapping(lid_entry(rng)),
        48 => PutLidMappings(rng.many(4, lid_entry)),
        49 => GetAllLidMappings,
        50 => SaveBaseKey(part(rng), part(rng), rng.bytes()),
        51 => HasSameBaseKey(part(rng), part(rng), rng.bytes()),
        52 => DeleteBaseKey(part(rng), part(rng)),
        53 => UpdateDeviceList(device_list(rng)),
        54 => UpdateDeviceLists(rng.many(3, device_list)),
        55 => GetDevices(rng.pick(DEVICE_USERS).into()),
        56 => DeleteDevices(rng.pick(DEVICE_USERS).into()),
        57 => GetGroupMetadata(jid(rng)),
        58 => PutGroupMetadata(jid(rng), rng.bytes()),
        59 => DeleteGroupMetadata(jid(rng)),
        60 => GetTcToken(jid(rng)),
        61 => PutTcToken(jid(rng), tc_entry(rng)),
        62 => DeleteTcToken(jid(rng)),
        63 => GetAllTcTokenJids,
        64 => DeleteExpiredTcTokens(rng.small(11), rng.small(11)),
        65 => TouchTcTokenSenderTimestamp(jid(rng), rng.small(10)),
        66 => StoreReceivedTcToken(jid(rng), rng.bytes(), rng.small(10)),
        67 => StoreSentMessage(part(rng), part(rng), rng.bytes()),
        68 => TakeSentMessage(part(rng), part(rng)),
        69 => DeleteExpiredSentMessages(rng.pick(CLOCK_CUTOFFS)),
        70 => match rng.below(3) {
            0 => StorePendingInbound(triple(rng), rng.bytes()),
            1 => GetPendingInbound(triple(rng)),
            _ => DeletePendingInbound(triple(rng)),
        },
        71 => match rng.below(3) {
            0 => DeleteExpiredPendingInbound(rng.pick(CLOCK_CUTOFFS)),
            1 => StorePendingInboundBatch(rng.many(4, |r| (triple(r), r.bytes()))),
            _ => DeletePendingInboundBatch(rng.many(3, triple)),
        },
        72 => PutMsgSecret(triple(rng), [rng.below(3) as u8; 32]),
        73 | 74 => PutMsgSecrets(rng.many(4, msg_secret)),
        75 => GetMsgSecret(triple(rng)),
        76 => GetMsgSecretWithTs(triple(rng)),
        77 => DeleteExpiredMsgSecrets(rng.small(7)),
        _ => match rng.below(8) {
            0 | 1 => Save(rng.below(DEVICE_POOL)),
            2 | 3 => Load,
            4 | 5 => Exists,
            _ => Create,
        },
    }
}
