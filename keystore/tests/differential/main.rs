//! `DbBackend` against wacore's reference `InMemoryBackend`: long seeded random sequences of every
//! trait operation, with arguments from small key spaces so puts, overwrites, deletes and reads
//! collide, applied to both; every answer must agree. Two accounts share one database, each
//! checked against its own reference, so neither ever sees the other's rows.

mod ops;
mod replay;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use keystore::DbBackend;
use testkit::TestDb;
use wacore::store::{
    Device, InMemoryBackend,
    traits::{Backend, DeviceStore, PendingInboundKey},
};

use crate::ops::{Op, Rng, random_op};
use crate::replay::{apply, every_read, show};

const OPS_PER_SEED: usize = 2_000;

const DEVICE_POOL: usize = 3;

fn device_pool() -> Vec<Device> {
    (0..DEVICE_POOL)
        .map(|i| {
            let mut device = Device::new();
            device.push_name = format!("device {i}");
            device.login_counter = i as i32;
            device.pn = (i > 0).then(|| format!("3519{i}@s.whatsapp.net").parse().expect("a JID"));
            device
        })
        .collect()
}

async fn run(seed: u64) {
    let test = TestDb::new().await;
    let accounts = [41_i64, 42];
    let stores: Vec<(DbBackend, InMemoryBackend)> = accounts
        .iter()
        .map(|&id| (DbBackend::new(test.db.clone(), id), InMemoryBackend::new()))
        .collect();
    let devices = device_pool();
    let mut rng = Rng(seed);
    let check = |i: usize, account: usize, op: &Op, db: String, reference: String| {
        assert_eq!(
            db, reference,
            "seed {seed}, op #{i}, account {}: {op:?}\n  DbBackend:      {db}\n  InMemoryBackend: {reference}",
            accounts[account]
        );
    };

    for i in 0..OPS_PER_SEED {
        let account = rng.below(stores.len());
        let (db, reference) = &stores[account];
        let op = random_op(&mut rng);
        let had_device = reference.exists().await.expect("the reference answers");
        let (a, b) = (
            apply(db, &op, &devices).await,
            apply(reference, &op, &devices).await,
        );
        check(i, account, &op, a, b);
        // Both stores made a fresh device, each with its own random keys: from here on both
        // must hold the one the database made.
        if matches!(op, Op::Create) && !had_device {
            let made = db
                .load()
                .await
                .expect("loads")
                .expect("create made a device");
            reference.save(&made).await.expect("the reference saves");
        }
    }

    for (account, (db, reference)) in stores.iter().enumerate() {
        for (i, op) in every_read().iter().enumerate() {
            let (a, b) = (
                apply(db, op, &devices).await,
                apply(reference, op, &devices).await,
            );
            check(OPS_PER_SEED + i, account, op, a, b);
        }
    }
}

#[tokio::test]
async fn agrees_with_the_reference_seed_1() {
    run(1).await;
}

#[tokio::test]
async fn agrees_with_the_reference_seed_2() {
    run(0x5eed_0002).await;
}

#[tokio::test]
async fn agrees_with_the_reference_seed_3() {
    run(0xdead_beef).await;
}

#[tokio::test]
async fn agrees_with_the_reference_seed_4() {
    run(u64::MAX - 7).await;
}

/// The store-clock expiries at their boundary: a row stored at `t` survives cutoff `t` and goes
/// at `t + 1`. The clock is read around each store, so the stored time is known to the second.
#[tokio::test]
async fn expiry_cutoffs_compare_with_the_store_time() {
    let test = TestDb::new().await;
    let db = DbBackend::new(test.db.clone(), 1);
    let reference = InMemoryBackend::new();
    let stores: [&dyn Backend; 2] = [&db, &reference];
    for store in stores {
        let before = wacore::time::now_secs();
        store.store_sent_message("c", "m", b"x").await.unwrap();
        store
            .store_pending_inbound("c", "s", "m", b"x")
            .await
            .unwrap();
        let after = wacore::time::now_secs();
        assert_eq!(store.delete_expired_sent_messages(before).await.unwrap(), 0);
        assert_eq!(
            store.delete_expired_pending_inbound(before).await.unwrap(),
            0
        );
        assert_eq!(
            store.delete_expired_sent_messages(after + 1).await.unwrap(),
            1
        );
        assert_eq!(
            store
                .delete_expired_pending_inbound(after + 1)
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.take_sent_message("c", "m").await.unwrap(), None);
        assert_eq!(
            store.get_pending_inbound("c", "s", "m").await.unwrap(),
            None
        );
    }
}

/// Batches larger than one statement's worth of rows land whole.
#[tokio::test]
async fn large_batches_agree_with_the_reference() {
    let test = TestDb::new().await;
    let db = DbBackend::new(test.db.clone(), 1);
    let reference = InMemoryBackend::new();
    let ids: Vec<u32> = (0..1_234).collect();
    let prekeys: Vec<(u32, Bytes)> = ids
        .iter()
        .map(|id| (*id, Bytes::from(id.to_be_bytes().to_vec())))
        .collect();
    let sessions: Vec<(Arc<str>, Bytes)> = ids
        .iter()
        .map(|id| (Arc::from(format!("{id}@lid")), Bytes::from(vec![*id as u8])))
        .collect();
    let unknown: Vec<u32> = (1_000..2_000).collect();
    let stores: [&dyn Backend; 2] = [&db, &reference];
    let mut answers: HashMap<usize, Vec<String>> = HashMap::new();
    for (i, store) in stores.into_iter().enumerate() {
        store.store_prekeys_batch(&prekeys, false).await.unwrap();
        store.mark_prekeys_uploaded(&ids).await.unwrap();
        store.put_sessions_batch(&sessions).await.unwrap();
        store
            .delete_pending_inbound_batch(&[PendingInboundKey {
                chat: "c",
                sender: "s",
                id: "m",
            }])
            .await
            .unwrap();
        answers.entry(i).or_default().extend([
            show(store.load_prekeys_batch(&unknown).await),
            show(store.get_max_prekey_id().await),
            show(store.get_session("1233@lid").await),
            show(store.has_signal_state_for_user("0").await),
        ]);
    }
    assert_eq!(answers[&0], answers[&1]);
    assert!(answers[&0][0].contains("(1233, "), "{}", answers[&0][0]);
}
