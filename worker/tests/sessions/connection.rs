//! Connections over time: rows a crash left pending, resuming on start, reconnecting with backoff,
//! accounts that must stay down, group sync, and commands for an account that is gone.

use std::time::Duration;

use domain::{
    bus::{Command, Event},
    status::AccountStatus,
};
use worker::provider::{SessionEvent, StartMode};

use crate::{Harness, account, give_keys, has_kind};

#[tokio::test]
async fn pending_rows_left_by_a_crash_become_unpaired() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(
            &db,
            operator_id,
            "Half-paired",
            AccountStatus::Pending,
            None,
        )
        .await;
        give_keys(&db, id).await;
    })
    .await;
    let id = service::accounts::list(&h.db.db, h.operator_id)
        .await
        .unwrap()[0]
        .id;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Unpaired);
    assert!(row.status_reason.unwrap().contains("restart"));
    assert!(!h.keys(id).await, "half-made keys are wiped");
    assert!(h.script.starts().is_empty(), "nothing is resumed for it");
    let events = h.events(id).await;
    assert!(
        has_kind(&events, "session.error"),
        "an open QR view learns why"
    );
}

#[tokio::test]
async fn accounts_with_credentials_resume_on_start() {
    let h = Harness::start_after(|db, operator_id| async move {
        let id = account(
            &db,
            operator_id,
            "Bakery",
            AccountStatus::Connected,
            Some("15550000008"),
        )
        .await;
        give_keys(&db, id).await;
        // Neither of these is resumed: one has no keys, one was logged out.
        account(&db, operator_id, "Gym", AccountStatus::Connected, None).await;
        let out = account(&db, operator_id, "Shop", AccountStatus::LoggedOut, None).await;
        give_keys(&db, out).await;
    })
    .await;
    let starts = h.script.starts();
    assert_eq!(starts.len(), 1, "{starts:?}");
    let (key, mode) = starts[0].clone();
    assert_eq!(mode, StartMode::Resume);
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000008".into(),
        },
    );
    h.until(key.account_id, "connected again", |a| {
        a.status == AccountStatus::Connected && a.last_connected_at.is_some()
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_reconnects_with_backoff_and_alerts_when_down_too_long() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let key = h.pair_connected(id, "15550000009").await;

    h.script.emit(
        key,
        SessionEvent::Disconnected {
            reason: "connection reset".into(),
        },
    );
    h.until(id, "disconnected", |a| {
        a.status == AccountStatus::Disconnected
    })
    .await;
    // The first retry comes after the backoff, as a resume under a new generation.
    let mut resumed = None;
    for _ in 0..100 {
        resumed = h
            .script
            .starts()
            .into_iter()
            .find(|(_, mode)| *mode == StartMode::Resume);
        if resumed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (retry, _) = resumed.expect("a reconnect attempt");
    assert!(retry.generation > key.generation);
    // It fails too; still down after the alert threshold → one alert.
    h.script.emit(
        retry,
        SessionEvent::Disconnected {
            reason: "connection refused".into(),
        },
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let alerts: Vec<Event> = h
        .events(id)
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::AccountDown { .. }))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(matches!(&alerts[0], Event::AccountDown { label, .. } if label == "Bakery"));

    // The next attempt succeeds.
    let (latest, _) = h.script.latest(id);
    assert!(latest.generation > retry.generation, "kept retrying");
    h.script.emit(
        latest,
        SessionEvent::Connected {
            phone: "15550000009".into(),
        },
    );
    h.until(id, "reconnected", |a| a.status == AccountStatus::Connected)
        .await;
}

#[tokio::test]
async fn logged_out_and_banned_accounts_stay_down() {
    let h = Harness::start().await;
    let out = h.account("Out").await;
    let banned = h.account("Banned").await;
    let out_key = h.pair_connected(out, "15550000010").await;
    let banned_key = h.pair_connected(banned, "15550000011").await;

    h.script.emit(
        out_key,
        SessionEvent::LoggedOut {
            reason: "401: the device was removed from the phone".into(),
        },
    );
    h.script.emit(
        banned_key,
        SessionEvent::Banned {
            reason: "402: temporarily banned".into(),
            until: None,
        },
    );
    h.until(out, "logged out", |a| a.status == AccountStatus::LoggedOut)
        .await;
    h.until(banned, "banned", |a| a.status == AccountStatus::Banned)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert!(!h.keys(out).await, "a logged-out link's keys are useless");
    assert!(h.keys(banned).await, "a temporary ban may lift: keys kept");
    assert!(h.row(out).await.status_reason.unwrap().contains("401"));
    assert_eq!(h.script.starts().len(), 2, "no reconnect for either");
    assert!(has_kind(&h.events(out).await, "session.logged_out"));
    assert!(has_kind(&h.events(banned).await, "session.banned"));
}

#[tokio::test]
async fn groups_sync_on_connect() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    h.pair_connected(id, "15550000012").await;
    for _ in 0..100 {
        if has_kind(&h.events(id).await, "groups.synced") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let groups = service::accounts::groups(&h.db.db, id).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Morning class");
    assert_eq!(groups[0].participant_count, 12);
}

#[tokio::test]
async fn commands_for_a_missing_account_do_nothing() {
    let h = Harness::start().await;
    h.run(Command::Pair {
        account_id: 999,
        phone: None,
    })
    .await;
    h.run(Command::Unpair { account_id: 999 }).await;
    assert!(h.script.starts().is_empty());
}
