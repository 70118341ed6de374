//! Pairing and unpairing: events from an older session generation are ignored, a scan or a
//! phone-number code ends in a connection or a timeout, and unpairing never reconnects.

use std::time::Duration;

use chrono::Utc;
use domain::{
    bus::{Command, Event},
    status::AccountStatus,
};
use worker::provider::{SessionEvent, StartMode};

use crate::{Call, Harness, give_keys, has_kind, qr};

#[tokio::test]
async fn a_close_event_from_an_older_generation_is_ignored() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let old = h.pair_connected(id, "15550000001").await;

    // Re-pair: generation 2 is showing codes when generation 1's socket finally reports closing.
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (new, _) = h.script.latest(id);
    assert!(new.generation > old.generation);
    h.script.emit(new, qr());
    h.script.emit(
        old,
        SessionEvent::Disconnected {
            reason: "stream closed".into(),
        },
    );
    h.script.emit(
        old,
        SessionEvent::LoggedOut {
            reason: "401".into(),
        },
    );
    h.settle().await;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Pending, "{row:?}");
    assert!(row.last_qr_png.is_some(), "the new code is still showing");
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.disconnected"), "{events:?}");
    assert!(!has_kind(&events, "session.logged_out"), "{events:?}");
    // Nothing reconnected the old session either.
    assert_eq!(
        h.script
            .starts()
            .iter()
            .filter(|(_, mode)| *mode == StartMode::Resume)
            .count(),
        0
    );
}

#[tokio::test]
async fn the_515_after_a_scan_ends_in_connected_not_timeout() {
    let h = Harness::start().await;
    let id = h.account("Gym").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(id);
    h.script.emit(key, qr());
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "15550000002".into(),
        },
    );
    // While WhatsApp restarts the stream (515), the scanned code's timer runs out and the
    // library reports its codes exhausted; then the login completes.
    h.script.emit(key, qr());
    h.script.emit(key, SessionEvent::QrExhausted);
    h.settle().await;
    assert_eq!(h.row(id).await.status, AccountStatus::Pending);
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000002".into(),
        },
    );
    h.until(id, "connected after the restart", |a| {
        a.status == AccountStatus::Connected
    })
    .await;
    let row = h.row(id).await;
    assert_eq!(row.phone_number.as_deref(), Some("15550000002"));
    assert!(row.last_qr_png.is_none() && row.last_qr_code.is_none());
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.timeout"), "{events:?}");
    assert!(has_kind(&events, "session.paired") && has_kind(&events, "session.connected"));
}

#[tokio::test]
async fn a_pairing_by_phone_number_stores_and_announces_its_code() {
    let h = Harness::start().await;
    let id = h.account("Florist").await;
    let phone = domain::account::PhoneNumber::parse("+44 7700 900123").unwrap();
    h.run(Command::Pair {
        account_id: id,
        phone: Some(phone.clone()),
    })
    .await;
    let (key, _) = h.script.latest(id);
    assert_eq!(
        h.script.starts().last().map(|(_, mode)| mode.clone()),
        Some(StartMode::Pair { phone: Some(phone) }),
        "the provider is asked for a code for that phone"
    );
    h.script.emit(key, qr());
    h.script.emit(
        key,
        SessionEvent::PairCode {
            code: "ab3defgh".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    h.until(id, "code stored", |a| a.last_pair_code.is_some())
        .await;
    let row = h.row(id).await;
    assert_eq!(
        row.last_pair_code.as_deref(),
        Some("AB3D-EFGH"),
        "as WhatsApp shows it"
    );
    assert_eq!(row.status, AccountStatus::Pending);
    let announced = h.events(id).await.into_iter().find_map(|e| match e {
        Event::PairCode {
            generation,
            code,
            expires_at,
            ..
        } => Some((generation, code, expires_at)),
        _ => None,
    });
    let (generation, code, expires_at) = announced.expect("a session.pair_code event");
    assert_eq!((generation, code.as_str()), (key.generation, "AB3D-EFGH"));
    let left = expires_at - Utc::now();
    assert!(left > chrono::Duration::seconds(170) && left <= chrono::Duration::seconds(180));

    // The code was typed on the phone: a late code must not undo that.
    give_keys(&h.db.db, id).await;
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "447700900123".into(),
        },
    );
    h.script.emit(
        key,
        SessionEvent::PairCode {
            code: "zzzzzzzz".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "447700900123".into(),
        },
    );
    h.until(id, "connected", |a| a.status == AccountStatus::Connected)
        .await;
    let row = h.row(id).await;
    assert_eq!(row.phone_number.as_deref(), Some("447700900123"));
    assert_eq!(row.last_pair_code, None, "cleared with the QR code");
    let codes = h
        .events(id)
        .await
        .iter()
        .filter(|e| matches!(e, Event::PairCode { .. }))
        .count();
    assert_eq!(codes, 1, "nothing announced after the code was entered");
}

#[tokio::test]
async fn unscanned_codes_running_out_is_a_timeout() {
    let h = Harness::start().await;
    let id = h.account("Shop").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(id);
    h.script.emit(key, qr());
    h.script.emit(key, SessionEvent::QrExhausted);
    h.until(id, "unpaired after timeout", |a| {
        a.status == AccountStatus::Unpaired
    })
    .await;
    let row = h.row(id).await;
    assert!(row.status_reason.unwrap().contains("timed out"));
    assert!(row.last_qr_png.is_none());
    assert!(has_kind(&h.events(id).await, "session.timeout"));
    assert!(h.script.calls().contains(&Call::Stop {
        generation: key.generation
    }));
}

#[tokio::test]
async fn back_then_pair_again_works_at_once() {
    let h = Harness::start().await;
    let id = h.account("Choir").await;
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (first, _) = h.script.latest(id);
    h.script.emit(first, qr());
    // The operator closes the modal and presses Pair again straight away.
    h.run(Command::Pair {
        account_id: id,
        phone: None,
    })
    .await;
    let (second, _) = h.script.latest(id);
    assert_eq!(second.generation, first.generation + 1);
    assert!(h.script.calls().contains(&Call::Stop {
        generation: first.generation
    }));
    // The first session's late expiry must not end the second pairing.
    h.script.emit(first, SessionEvent::QrExhausted);
    h.script.emit(second, qr());
    h.script.emit(
        second,
        SessionEvent::PairSuccess {
            phone: "15550000003".into(),
        },
    );
    h.script.emit(
        second,
        SessionEvent::Connected {
            phone: "15550000003".into(),
        },
    );
    h.until(id, "connected on the second try", |a| {
        a.status == AccountStatus::Connected
    })
    .await;
    assert!(!has_kind(&h.events(id).await, "session.timeout"));
    assert_eq!(h.row(id).await.session_generation, second.generation);
}

#[tokio::test]
async fn unpair_never_flips_to_disconnected_nor_reconnects() {
    let h = Harness::start().await;
    let id = h.account("Bakery").await;
    let key = h.pair_connected(id, "15550000004").await;
    assert!(h.keys(id).await);

    h.run(Command::Unpair { account_id: id }).await;
    // The session's own LoggedOut and close arrive after the unpair: both must be ignored, and
    // no reconnect may follow (well past the reconnect backoff).
    tokio::time::sleep(Duration::from_millis(600)).await;

    let row = h.row(id).await;
    assert_eq!(row.status, AccountStatus::Unpaired, "{row:?}");
    assert_eq!(row.status_reason, None);
    assert_eq!(row.phone_number, None, "the row is kept, the link is not");
    assert!(!h.keys(id).await, "keys wiped");
    assert!(h.script.calls().contains(&Call::Logout {
        generation: key.generation,
        had_keys: true
    }));
    let events = h.events(id).await;
    assert!(!has_kind(&events, "session.disconnected"), "{events:?}");
    assert!(!has_kind(&events, "session.logged_out"), "{events:?}");
    assert!(has_kind(&events, "session.unpaired"));
    assert_eq!(h.script.starts().len(), 1, "no reconnect after an unpair");
}

#[tokio::test]
async fn a_duplicate_phone_resets_the_new_row_and_names_the_holder() {
    let h = Harness::start().await;
    let first = h.account("Bakery").await;
    h.pair_connected(first, "15550000005").await;
    let second = h.account("Bakery (new phone)").await;
    h.run(Command::Pair {
        account_id: second,
        phone: None,
    })
    .await;
    let (key, _) = h.script.latest(second);
    h.script.emit(key, qr());
    give_keys(&h.db.db, second).await;
    h.script.emit(
        key,
        SessionEvent::PairSuccess {
            phone: "15550000005".into(),
        },
    );
    h.script.emit(
        key,
        SessionEvent::Connected {
            phone: "15550000005".into(),
        },
    );
    h.until(second, "reset to unpaired", |a| {
        a.status == AccountStatus::Unpaired && a.status_reason.is_some()
    })
    .await;

    let row = h.row(second).await;
    assert_eq!(row.phone_number, None);
    assert!(row.status_reason.unwrap().contains("Bakery"));
    assert!(!h.keys(second).await, "the new link's keys are wiped");
    assert!(
        h.script.calls().contains(&Call::Logout {
            generation: key.generation,
            had_keys: true
        }),
        "the duplicate device is unlinked from the phone"
    );
    let events = h.events(second).await;
    assert!(events.contains(&Event::Duplicate {
        account_id: second,
        phone: "15550000005".into(),
        existing_account_id: first,
        existing_label: "Bakery".into(),
    }));
    // The account that held the phone first is untouched.
    let holder = h.row(first).await;
    assert_eq!(holder.status, AccountStatus::Connected);
    assert!(h.keys(first).await);
}
