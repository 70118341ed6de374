//! A session's end: connection faults, logging out, stopping, and a new start replacing a live
//! session.

use std::time::Duration;

use tokio::time::Instant;

use super::{Fixture, assert_about, config, next_id, text};
use crate::provider::{
    SendError, SessionEvent, StartMode,
    sim::{Fault, SimError, SimOp, default_phone},
};

#[tokio::test]
async fn faults_for_an_account_without_a_session() {
    let fixture = Fixture::new(config(0.01)).await;
    for fault in [
        Fault::Disconnect,
        Fault::LogOut,
        Fault::TempBan { secs: 60 },
    ] {
        assert_eq!(
            fixture.sim.inject(9, fault),
            Err(SimError::NoLiveSession(9))
        );
    }
    assert!(matches!(
        fixture.sim.inject(9, Fault::SetGroupCount { count: 1001 }),
        Err(SimError::Invalid(_))
    ));
    fixture
        .sim
        .inject(9, Fault::FailSends { count: 1 })
        .expect("remembered");
    fixture
        .sim
        .inject(9, Fault::SetGroupCount { count: 2 })
        .expect("remembered");

    let running = fixture.connected(9, "15550009999").await;
    let groups = running.session.groups().await.expect("groups");
    assert_eq!(groups.len(), 2, "the remembered group count applies");
    assert!(matches!(
        running
            .session
            .send(&groups[0].jid, &text("x"), &next_id())
            .await,
        Err(SendError::Transient(_))
    ));
    assert!(
        running
            .session
            .send(&groups[0].jid, &text("y"), &next_id())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn connection_faults_end_the_session() {
    let fixture = Fixture::new(config(0.01)).await;
    let cases = [
        (Fault::Disconnect, "simulated connection drop"),
        (Fault::LogOut, "401: the device was removed from the phone"),
        (
            Fault::TempBan { secs: 3600 },
            "402: temporarily banned by WhatsApp",
        ),
    ];
    for (account, (fault, expected)) in (1..).zip(cases) {
        let mut running = fixture.connected(account, &default_phone(account)).await;
        let jid = running.session.groups().await.expect("groups")[0]
            .jid
            .clone();
        let before = chrono::Utc::now();
        fixture
            .sim
            .inject(account, fault.clone())
            .expect("injected");
        match (running.next().await, &fault) {
            (SessionEvent::Disconnected { reason }, Fault::Disconnect)
            | (SessionEvent::LoggedOut { reason }, Fault::LogOut) => assert_eq!(reason, expected),
            (SessionEvent::Banned { reason, until }, Fault::TempBan { .. }) => {
                assert_eq!(reason, expected);
                let until = until.expect("a ban end");
                assert!(until >= before + chrono::Duration::seconds(3600));
                assert!(until <= chrono::Utc::now() + chrono::Duration::seconds(3600));
            }
            (other, _) => panic!("{fault:?} reported {other:?}"),
        }
        assert_eq!(
            running.session.send(&jid, &text("x"), &next_id()).await,
            Err(SendError::NotConnected)
        );
        assert_eq!(
            fixture.sim.inject(account, Fault::Disconnect),
            Err(SimError::NoLiveSession(account)),
            "the session has ended"
        );
        running.assert_quiet(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn logout_records_whether_the_credentials_were_still_stored() {
    let fixture = Fixture::new(config(0.01)).await;
    let mut first = fixture.connected(1, "15550100001").await;
    first.session.logout().await.expect("logged out");
    assert_eq!(
        first.next().await,
        SessionEvent::LoggedOut {
            reason: "logged out by Herald".to_owned()
        }
    );
    first.session.logout().await.expect("idempotent");
    first.assert_quiet(Duration::from_millis(100)).await;
    assert!(matches!(
        first.session.send("x@g.us", &text("x"), &next_id()).await,
        Err(SendError::NotConnected)
    ));
    assert_eq!(
        fixture.sim.ops(1).last(),
        Some(&SimOp::LoggedOut {
            had_credentials: true
        })
    );
    first.session.stop().await;
    first.assert_quiet(Duration::from_millis(100)).await;

    let second = fixture.connected(2, "15550100002").await;
    fixture.keys(2).wipe().await.expect("wiped");
    second.session.logout().await.expect("logged out");
    assert_eq!(
        fixture.sim.ops(2).last(),
        Some(&SimOp::LoggedOut {
            had_credentials: false
        })
    );
}

#[tokio::test]
async fn stop_reports_only_a_late_stream_close() {
    let fixture = Fixture::new(config(0.1)).await;
    let mut running = fixture.connected(1, "15550100001").await;
    tokio::time::pause();
    running.session.stop().await;
    let stopped = Instant::now();
    assert_eq!(
        running.next().await,
        SessionEvent::Disconnected {
            reason: "stream closed".to_owned()
        },
        "the stale generation's late close"
    );
    assert_about(stopped.elapsed(), Duration::from_millis(5), "50 ms × 0.1");
    running.session.stop().await;
    running.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "resume"
            },
            SimOp::Stopped { generation: 1 }
        ]
    );
}

#[tokio::test]
async fn stopping_a_pairing_session_stops_its_codes() {
    let fixture = Fixture::new(config(1.0)).await;
    tokio::time::pause();
    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    pairing.session.stop().await;
    assert!(matches!(
        pairing.next().await,
        SessionEvent::Disconnected { .. }
    ));
    pairing.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(fixture.sim.scan(1, None), Err(SimError::NotPairing(1)));
}

#[tokio::test]
async fn a_new_start_stops_a_still_live_session() {
    let fixture = Fixture::new(config(1.0)).await;
    tokio::time::pause();
    let mut old = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    old.next_qr().await;
    let mut new = fixture.start(1, 2, StartMode::Pair { phone: None }).await;
    new.next_qr().await;
    assert_eq!(
        old.next().await,
        SessionEvent::Disconnected {
            reason: "stream closed".to_owned()
        }
    );
    old.assert_quiet(Duration::from_secs(600)).await;
    assert_eq!(
        fixture.sim.ops(1),
        vec![
            SimOp::Started {
                generation: 1,
                mode: "pair"
            },
            SimOp::Stopped { generation: 1 },
            SimOp::Started {
                generation: 2,
                mode: "pair"
            },
        ]
    );
    old.session.stop().await;
    assert_eq!(
        fixture.sim.ops(1).len(),
        3,
        "stopping it again changes nothing"
    );
}
