//! The store survives a restart: a device and keys written through one connection load back
//! identical through a new one, and `wipe` removes one account's everything and nothing else.

use std::sync::Arc;

use bytes::Bytes;
use entity::{wa_devices, wa_keys};
use keystore::DbBackend;
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use testkit::TestDb;
use wacore::appstate::{hash::HashState, processor::AppStateMutationMAC};
use wacore::client_profile::ClientProfile;
use wacore::store::{
    CachedNoiseCert, CachedServerCertChain, Device,
    device::{DEVICE_PROPS, account_serde},
    traits::{
        AppStateSyncKey, AppSyncStore, DeviceInfo, DeviceListRecord, DeviceStore,
        LidPnMappingEntry, MsgSecretEntry, MsgSecretStore, ProtocolStore, SignalStore,
        TcTokenEntry,
    },
};

const ANA: i64 = 7;
const BEA: i64 = 8;

async fn connect(test: &TestDb) -> DatabaseConnection {
    Database::connect(test.url.expose())
        .await
        .expect("a second connection to the test database")
}

/// An `ADVSignedDeviceIdentity` as the phone sends it (protobuf: four length-delimited fields).
fn adv_identity_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    for (tag, value) in [
        (0x0a, b"details".to_vec()),
        (0x12, vec![1; 32]),
        (0x1a, vec![2; 64]),
        (0x22, vec![3; 64]),
    ] {
        bytes.extend([tag, value.len() as u8]);
        bytes.extend(value);
    }
    bytes
}

/// A paired device, every persisted field away from its default.
fn paired_device() -> Device {
    let mut d = Device::new();
    d.pn = Some("351910000001:7@s.whatsapp.net".parse().expect("a JID"));
    d.lid = Some("100000012345678:7@lid".parse().expect("a JID"));
    d.registration_id = 123_456;
    d.signed_pre_key_id = 9;
    d.account = Some(Arc::new(
        account_serde::from_bytes(&adv_identity_bytes()).expect("decodes"),
    ));
    d.push_name = "Herald ✓".into();
    d.app_version_primary = 3;
    d.app_version_secondary = 4;
    d.app_version_tertiary = u32::MAX;
    d.app_version_last_fetched_ms = 1_795_000_000_123;
    d.edge_routing_info = Some(vec![0, 1, 254, 255]);
    d.props_hash = Some("props-hash".into());
    d.next_pre_key_id = 813;
    d.first_unupload_pre_key_id = 801;
    d.server_has_prekeys = true;
    d.nct_salt = Some(vec![9; 16]);
    d.server_cert_chain = Some(CachedServerCertChain {
        intermediate: CachedNoiseCert {
            key: [0xaa; 32],
            not_before: 1,
            not_after: i64::MAX,
        },
        leaf: CachedNoiseCert {
            key: [0xbb; 32],
            not_before: -1,
            not_after: 2,
        },
    });
    d.login_counter = -42;
    d.lid_migrated = true;
    d.last_signed_pre_key_rotation_ms = 1;
    d.read_receipts_disabled = true;
    d
}

fn state() -> HashState {
    let mut state = HashState {
        version: 12,
        hash: [7; 128],
        ..HashState::default()
    };
    state.index_value_map.insert("index".into(), vec![1, 2, 3]);
    state
}

fn lid_entry(tag: &str) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: format!("{tag}-lid"),
        phone_number: format!("{tag}-pn"),
        created_at: 1,
        updated_at: 2,
        learning_source: "usync".into(),
    }
}

/// One entry of every collection, its values marked by `tag`.
async fn write_everything(store: &DbBackend, tag: &str) {
    let t = tag.as_bytes();
    store.put_identity(tag, [t[0]; 32]).await.unwrap();
    store.put_session(tag, t).await.unwrap();
    store.store_prekey(5, t, false).await.unwrap();
    store.store_signed_prekey(6, t).await.unwrap();
    store.put_sender_key(tag, t).await.unwrap();
    let sync_key = AppStateSyncKey {
        key_data: t.to_vec(),
        fingerprint: vec![1],
        timestamp: 3,
    };
    store.set_sync_key(t, sync_key).await.unwrap();
    store.set_version(tag, state()).await.unwrap();
    let mac = AppStateMutationMAC {
        index_mac: vec![4; 32],
        value_mac: t.to_vec(),
    };
    store.put_mutation_macs(tag, 1, &[mac]).await.unwrap();
    store
        .set_sender_key_status(tag, &[(tag, true)])
        .await
        .unwrap();
    store.put_lid_mapping(&lid_entry(tag)).await.unwrap();
    store.save_base_key(tag, "m", t).await.unwrap();
    let devices = DeviceListRecord {
        user: tag.into(),
        devices: vec![DeviceInfo::new(0, Some(1)).with_hosting(true)],
        timestamp: 5,
        phash: Some("2:abc".into()),
        raw_id: Some(9),
    };
    store.update_device_list(devices).await.unwrap();
    store.put_group_metadata(tag, t).await.unwrap();
    let token = TcTokenEntry {
        token: t.to_vec(),
        token_timestamp: 10,
        sender_timestamp: Some(11),
    };
    store.put_tc_token(tag, &token).await.unwrap();
    store.store_sent_message(tag, "m", t).await.unwrap();
    store.store_pending_inbound(tag, "s", "m", t).await.unwrap();
    let secret = MsgSecretEntry {
        chat: tag.into(),
        sender: "s".into(),
        msg_id: "m".into(),
        secret: [t[0]; 32],
        expires_at: 0,
        message_ts: 12,
    };
    store.put_msg_secrets(vec![secret]).await.unwrap();
}

/// Every entry `write_everything` wrote (read-only: the sent message stays).
async fn assert_everything(store: &DbBackend, tag: &str) {
    let t = tag.as_bytes();
    assert_eq!(store.load_identity(tag).await.unwrap(), Some([t[0]; 32]));
    assert_eq!(
        store.get_session(tag).await.unwrap(),
        Some(Bytes::copy_from_slice(t))
    );
    assert_eq!(
        store.load_prekey(5).await.unwrap(),
        Some(Bytes::copy_from_slice(t))
    );
    assert_eq!(store.get_max_prekey_id().await.unwrap(), 5);
    assert_eq!(
        store.load_all_signed_prekeys().await.unwrap(),
        [(6, t.to_vec())]
    );
    assert_eq!(store.get_sender_key(tag).await.unwrap(), Some(t.to_vec()));
    let sync_key = store.get_sync_key(t).await.unwrap().expect("a sync key");
    assert_eq!(
        (sync_key.key_data, sync_key.fingerprint, sync_key.timestamp),
        (t.to_vec(), vec![1], 3)
    );
    assert_eq!(
        store.get_latest_sync_key_id().await.unwrap(),
        Some(t.to_vec())
    );
    let version = store.get_version(tag).await.unwrap();
    assert_eq!(
        (version.version, version.hash, version.index_value_map),
        (state().version, state().hash, state().index_value_map)
    );
    assert_eq!(
        store.get_mutation_mac(tag, &[4; 32]).await.unwrap(),
        Some(t.to_vec())
    );
    assert_eq!(
        store.get_sender_key_devices(tag).await.unwrap(),
        [(tag.to_string(), true)]
    );
    let by_pn = store.get_pn_mapping(&format!("{tag}-pn")).await.unwrap();
    assert_eq!(format!("{by_pn:?}"), format!("{:?}", Some(lid_entry(tag))));
    assert!(store.has_same_base_key(tag, "m", t).await.unwrap());
    let devices = store
        .get_devices(tag)
        .await
        .unwrap()
        .expect("a device list");
    assert_eq!(
        (
            devices.devices.len(),
            devices.phash.as_deref(),
            devices.raw_id
        ),
        (1, Some("2:abc"), Some(9))
    );
    assert!(devices.devices[0].is_hosted);
    assert_eq!(
        store.get_group_metadata(tag).await.unwrap(),
        Some(t.to_vec())
    );
    let token = store.get_tc_token(tag).await.unwrap().expect("a tc token");
    assert_eq!(
        (token.token, token.token_timestamp, token.sender_timestamp),
        (t.to_vec(), 10, Some(11))
    );
    assert_eq!(
        store.get_pending_inbound(tag, "s", "m").await.unwrap(),
        Some(t.to_vec())
    );
    assert_eq!(
        store.get_msg_secret_with_ts(tag, "s", "m").await.unwrap(),
        Some((vec![t[0]; 32], 12))
    );
}

fn device_json(device: &Device) -> serde_json::Value {
    serde_json::to_value(device).expect("a device serialises")
}

#[tokio::test]
async fn a_device_and_its_keys_load_back_through_a_new_connection() {
    let test = TestDb::new().await;
    let device = paired_device();

    let first = connect(&test).await;
    let store = DbBackend::new(first.clone(), ANA);
    assert!(!store.exists().await.unwrap());
    store.save(&device).await.unwrap();
    write_everything(&store, "ana").await;
    first.close().await.unwrap();

    let second = connect(&test).await;
    let store = DbBackend::new(second, ANA);
    assert!(store.exists().await.unwrap());
    let loaded = store.load().await.unwrap().expect("the device");
    assert_eq!(device_json(&loaded), device_json(&device));
    assert_eq!(loaded.pn, device.pn);
    assert_eq!(loaded.lid, device.lid);
    assert_eq!(
        loaded.identity_key.private_key.serialize(),
        device.identity_key.private_key.serialize()
    );
    assert_eq!(
        loaded.noise_key.public_key.public_key_bytes(),
        device.noise_key.public_key.public_key_bytes()
    );
    assert_eq!(
        loaded.signed_pre_key_signature,
        device.signed_pre_key_signature
    );
    assert_eq!(loaded.adv_secret_key, device.adv_secret_key);
    let account = loaded.account.as_deref().expect("the ADV identity");
    assert_eq!(account_serde::to_bytes(account), adv_identity_bytes());
    assert_eq!(loaded.server_cert_chain, device.server_cert_chain);
    // Fields serde skips (runtime-only) come back as a fresh device's.
    assert!(*loaded.device_props == *DEVICE_PROPS);
    assert_eq!(
        format!("{:?}", loaded.client_profile),
        format!("{:?}", ClientProfile::web())
    );
    assert_everything(&store, "ana").await;
    assert_eq!(
        store.take_sent_message("ana", "m").await.unwrap(),
        Some(b"ana".to_vec())
    );
}

#[tokio::test]
async fn create_makes_a_device_once() {
    let test = TestDb::new().await;
    let store = DbBackend::new(test.db.clone(), ANA);
    store.create().await.unwrap();
    let made = store.load().await.unwrap().expect("create stored a device");
    store.create().await.unwrap();
    let again = store.load().await.unwrap().expect("still a device");
    assert_eq!(device_json(&again), device_json(&made), "create kept it");
}

async fn rows_of(db: &DatabaseConnection, account: i64) -> (u64, u64) {
    let keys = wa_keys::Entity::find()
        .filter(wa_keys::Column::AccountId.eq(account))
        .count(db)
        .await
        .unwrap();
    let devices = wa_devices::Entity::find_by_id(account)
        .count(db)
        .await
        .unwrap();
    (keys, devices)
}

#[tokio::test]
async fn wipe_removes_one_account_and_nothing_else() {
    let test = TestDb::new().await;
    let ana = DbBackend::new(test.db.clone(), ANA);
    let bea = DbBackend::new(test.db.clone(), BEA);
    for (store, tag) in [(&ana, "ana"), (&bea, "bea")] {
        store.save(&paired_device()).await.unwrap();
        write_everything(store, tag).await;
    }
    let bea_before = rows_of(&test.db, BEA).await;
    assert!(rows_of(&test.db, ANA).await.0 > 0);

    let txn = test.db.begin().await.unwrap();
    keystore::wipe(&txn, ANA).await.unwrap();
    txn.commit().await.unwrap();

    assert_eq!(rows_of(&test.db, ANA).await, (0, 0));
    assert_eq!(rows_of(&test.db, BEA).await, bea_before);
    assert!(!ana.exists().await.unwrap());
    assert!(ana.load().await.unwrap().is_none());
    assert_eq!(ana.get_max_prekey_id().await.unwrap(), 0);
    assert!(ana.get_all_lid_mappings().await.unwrap().is_empty());
    assert!(ana.get_session("ana").await.unwrap().is_none());
    assert!(bea.exists().await.unwrap());
    assert_everything(&bea, "bea").await;
}

#[tokio::test]
async fn a_wipe_that_rolls_back_removes_nothing() {
    let test = TestDb::new().await;
    let ana = DbBackend::new(test.db.clone(), ANA);
    ana.save(&paired_device()).await.unwrap();
    write_everything(&ana, "ana").await;
    let before = rows_of(&test.db, ANA).await;

    let txn = test.db.begin().await.unwrap();
    keystore::wipe(&txn, ANA).await.unwrap();
    txn.rollback().await.unwrap();

    assert_eq!(rows_of(&test.db, ANA).await, before);
    assert_everything(&ana, "ana").await;
}
