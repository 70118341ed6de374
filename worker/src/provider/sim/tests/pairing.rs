//! Pairing: QR codes and their pace, scans, pairing codes by phone number, and resuming with
//! stored credentials.

use std::{collections::HashSet, time::Duration};

use runtime::config::SimConfig;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use super::{Fixture, assert_about, config};
use crate::provider::{
    ProviderError, SessionEvent, SessionKey, StartMode,
    sim::{PAIR_CODE_ALPHABET, SimError, SimOp, default_phone, pair_code},
};

#[tokio::test]
async fn qr_codes_rotate_at_whatsapps_pace_then_run_out() {
    let fixture = Fixture::new(config(0.5)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let started = Instant::now();
    let mut codes = HashSet::new();
    let mut due = Duration::ZERO;
    for index in 0..6 {
        let (code, valid_for) = pairing.next_qr().await;
        assert_about(
            started.elapsed(),
            due,
            "each code arrives as the last expires",
        );
        let expected = if index == 0 { 30 } else { 10 };
        assert_eq!(valid_for, Duration::from_secs(expected), "code {index}");
        assert!(code.starts_with("2@"), "{code}");
        assert_eq!(code.matches(',').count(), 3, "{code}");
        codes.insert(code);
        due += valid_for;
    }
    assert_eq!(codes.len(), 6, "every code differs");
    assert_eq!(pairing.next().await, SessionEvent::QrExhausted);
    assert_about(
        started.elapsed(),
        Duration::from_secs(80),
        "exhausted as the last expires",
    );
    pairing.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.scan(1, None),
        Err(SimError::NotPairing(1)),
        "nothing to scan once exhausted"
    );
    assert_eq!(
        fixture.sim.ops(1),
        vec![SimOp::Started {
            generation: 1,
            mode: "pair"
        }]
    );
}

#[tokio::test]
async fn a_scan_stores_credentials_then_reconnects_without_a_disconnect() {
    let fixture = Fixture::new(config(0.01)).await;
    assert_eq!(fixture.sim.scan(1, None), Err(SimError::NotPairing(1)));
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    pairing.next_qr().await;
    fixture.sim.scan(1, None).expect("the code on show scans");
    assert_eq!(
        fixture.sim.scan(1, None),
        Err(SimError::NotPairing(1)),
        "a code scans once"
    );

    let phone = default_phone(1);
    assert_eq!(phone, "15550100001");
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    let stored = fixture.keys(1).load().await.expect("key store readable");
    assert_eq!(
        stored.map(|data| serde_json::from_slice::<Value>(&data).expect("json")),
        Some(json!({ "phone": phone })),
        "credentials are stored before PairSuccess is reported"
    );
    let restart = Instant::now();
    assert_eq!(
        pairing.next().await,
        SessionEvent::Connected {
            phone: phone.clone()
        },
        "the 515 restart is silent"
    );
    assert!(restart.elapsed() >= Duration::from_millis(10));
    pairing.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "pair"
            },
            SimOp::Scanned { phone }
        ]
    );
}

#[tokio::test]
async fn a_scan_with_a_given_phone_uses_it() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut one = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let mut two = fixture.start(2, 1, StartMode::Pair { phone: None }).await;
    one.next_qr().await;
    two.next_qr().await;
    assert!(matches!(
        fixture.sim.scan(1, Some("12ab".to_owned())),
        Err(SimError::Invalid(_))
    ));
    for (account, running) in [(1, &mut one), (2, &mut two)] {
        fixture
            .sim
            .scan(account, Some("+4915112345678".to_owned()))
            .expect("scans");
        let phone = "4915112345678".to_owned();
        assert_eq!(
            running.next().await,
            SessionEvent::PairSuccess {
                phone: phone.clone()
            }
        );
        assert_eq!(running.next().await, SessionEvent::Connected { phone });
    }
}

#[tokio::test]
async fn a_scan_just_before_the_last_code_expires_still_connects() {
    let fixture = Fixture::new(config(0.01)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let mut last = Duration::ZERO;
    for _ in 0..6 {
        last = pairing.next_qr().await.1;
    }
    sleep(last - Duration::from_micros(100)).await;
    fixture
        .sim
        .scan(1, None)
        .expect("the last code is still on show");
    // Saving the credentials needs the database, which needs a running clock; the 15 ms
    // restart outlasts the 0.1 ms the code had left.
    tokio::time::resume();
    let phone = default_phone(1);
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
    pairing.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn auto_scan_waits_real_seconds_not_scaled_ones() {
    let fixture = Fixture::new(SimConfig {
        auto_scan_secs: Some(5),
        ..config(0.1)
    })
    .await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    let (_, valid_for) = pairing.next_qr().await;
    assert_eq!(valid_for, Duration::from_secs(6));
    sleep(Duration::from_millis(4990)).await;
    assert_eq!(fixture.sim.ops(1).len(), 1, "not scanned before 5 s");
    tokio::time::resume();
    let phone = default_phone(1);
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
    assert!(matches!(
        fixture.sim.ops(1).as_slice(),
        [SimOp::Started { .. }, SimOp::Scanned { .. }]
    ));
}

fn by_phone(raw: &str) -> StartMode {
    StartMode::Pair {
        phone: Some(domain::account::PhoneNumber::parse(raw).expect("a phone number")),
    }
}

fn key(account_id: i64, generation: i64) -> SessionKey {
    SessionKey {
        account_id,
        generation,
    }
}

#[test]
fn pairing_codes_look_like_whatsapps_and_are_predictable() {
    let code = pair_code(key(1, 1));
    assert_eq!(code.len(), 8, "{code}");
    assert!(
        code.bytes().all(|b| PAIR_CODE_ALPHABET.contains(&b)),
        "{code}"
    );
    assert_eq!(code, pair_code(key(1, 1)), "the same for the same session");
    let others: HashSet<String> = [key(1, 2), key(2, 1), key(2, 2), key(1_000_001, 1)]
        .into_iter()
        .map(pair_code)
        .chain([code.clone()])
        .collect();
    assert_eq!(others.len(), 5, "differs by account and generation");
    assert_eq!(
        domain::pairing::display_pair_code(&code),
        format!("{}-{}", &code[..4], &code[4..])
    );
}

#[tokio::test]
async fn a_pairing_by_phone_shows_a_code_that_links_that_phone() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut pairing = fixture.start(1, 3, by_phone("+44 7700 900123")).await;
    pairing.next_qr().await;
    let (code, valid_for) = pairing.next_pair_code().await;
    assert_eq!(code, pair_code(key(1, 3)));
    assert_eq!(valid_for, Duration::from_millis(1800), "180 s × 0.01");
    // Entering the code on the phone is the simulator's scan; the phone is the one asked for.
    fixture.sim.scan(1, None).expect("the code is on show");
    let phone = "447700900123".to_owned();
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(
        pairing.next().await,
        SessionEvent::Connected {
            phone: phone.clone()
        }
    );
    pairing.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 3,
                mode: "pair"
            },
            SimOp::Scanned { phone }
        ]
    );
}

#[tokio::test]
async fn a_code_outlasts_the_qr_codes_then_the_pairing_runs_out() {
    let fixture = Fixture::new(config(0.5)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, by_phone("447700900123")).await;
    let started = Instant::now();
    pairing.next_qr().await;
    let (_, valid_for) = pairing.next_pair_code().await;
    assert_eq!(valid_for, Duration::from_secs(90));
    assert_about(started.elapsed(), Duration::ZERO, "with the first QR code");
    for _ in 1..6 {
        pairing.next_qr().await;
    }
    assert_about(
        started.elapsed(),
        Duration::from_secs(70),
        "the last QR code",
    );
    assert_eq!(pairing.next().await, SessionEvent::QrExhausted);
    assert_about(
        started.elapsed(),
        Duration::from_secs(90),
        "over once the code has expired too",
    );
    pairing.assert_quiet(Duration::from_secs(600)).await;
}

#[tokio::test]
async fn a_code_entered_after_the_last_qr_code_still_links() {
    let fixture = Fixture::new(config(0.01)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, by_phone("447700900123")).await;
    pairing.next_qr().await;
    pairing.next_pair_code().await;
    let mut last = Duration::ZERO;
    for _ in 1..6 {
        last = pairing.next_qr().await.1;
    }
    // The QR codes are gone (1.6 s in all); the code lasts 1.8 s.
    sleep(last + Duration::from_millis(100)).await;
    fixture
        .sim
        .scan(1, None)
        .expect("the code can still be entered");
    tokio::time::resume();
    let phone = "447700900123".to_owned();
    assert_eq!(
        pairing.next().await,
        SessionEvent::PairSuccess {
            phone: phone.clone()
        }
    );
    assert_eq!(pairing.next().await, SessionEvent::Connected { phone });
}

#[tokio::test]
async fn resume_connects_with_the_stored_phone() {
    let fixture = Fixture::new(config(0.01)).await;
    let running = fixture.connected(3, "15557654321").await;
    assert_eq!(
        fixture.sim.ops(3),
        vec![SimOp::Started {
            generation: 1,
            mode: "resume"
        }]
    );
    assert_eq!(running.session.groups().await.map(|g| g.len()), Ok(12));
}

#[tokio::test]
async fn resume_without_credentials_is_refused() {
    let fixture = Fixture::new(config(0.01)).await;
    let result = fixture.try_start(4, 1, StartMode::Resume).await;
    assert_eq!(
        result.err(),
        Some(ProviderError(
            "no stored credentials to resume with".to_owned()
        ))
    );
    assert_eq!(fixture.sim.ops(4), vec![]);
}
