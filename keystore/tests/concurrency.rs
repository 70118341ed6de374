//! The writes the trait requires to be atomic stay so under concurrent callers (separate pool
//! connections, real parallelism): the tc-token writers never drop each other's field, a LID
//! moved by many writers at once leaves one consistent reverse mapping, and a sent message is
//! taken once.

use keystore::DbBackend;
use testkit::TestDb;
use tokio::task::JoinSet;
use wacore::store::traits::{LidPnMappingEntry, ProtocolStore};

const WRITERS: i64 = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tc_token_writers_converge() {
    let test = TestDb::new().await;
    let store = DbBackend::new(test.db.clone(), 1);
    let mut tasks = JoinSet::new();
    for i in 1..=WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            store.touch_tc_token_sender_timestamp("c", 100 + i).await?;
            store.store_received_tc_token("c", &[i as u8], i).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("joins").expect("writes");
    }
    let entry = store.get_tc_token("c").await.unwrap().expect("a token");
    assert_eq!(
        entry.sender_timestamp,
        Some(100 + WRITERS),
        "the latest touch"
    );
    assert_eq!(
        (entry.token, entry.token_timestamp),
        (vec![WRITERS as u8], WRITERS),
        "the newest received token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lid_moved_by_concurrent_writers_keeps_one_reverse_mapping() {
    let test = TestDb::new().await;
    let store = DbBackend::new(test.db.clone(), 1);
    for round in 0..3 {
        let mut tasks = JoinSet::new();
        for i in 0..WRITERS {
            let store = store.clone();
            tasks.spawn(async move {
                let entry = LidPnMappingEntry {
                    lid: "L".into(),
                    phone_number: format!("P{i}"),
                    created_at: round,
                    updated_at: round,
                    learning_source: "usync".into(),
                };
                store.put_lid_mapping(&entry).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("joins").expect("writes");
        }
        let current = store.get_lid_mapping("L").await.unwrap().expect("L maps");
        for i in 0..WRITERS {
            let phone = format!("P{i}");
            let resolved = store.get_pn_mapping(&phone).await.unwrap();
            assert_eq!(
                resolved.map(|e| e.phone_number),
                (phone == current.phone_number).then_some(phone),
                "round {round}: only L's current number resolves to it"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sent_message_is_taken_once() {
    let test = TestDb::new().await;
    let store = DbBackend::new(test.db.clone(), 1);
    store
        .store_sent_message("c", "m", b"payload")
        .await
        .unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move { store.take_sent_message("c", "m").await });
    }
    let mut taken = Vec::new();
    while let Some(done) = tasks.join_next().await {
        taken.extend(done.expect("joins").expect("takes"));
    }
    assert_eq!(taken, [b"payload".to_vec()]);
}
