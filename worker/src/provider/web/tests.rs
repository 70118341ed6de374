//! The web provider's event mapping, fed events built with whatsapp-rust's own builders in the
//! orders the library dispatches them.

use std::time::Duration;

use chrono::Utc;
use whatsapp_rust::{
    NodeBuilder,
    prelude::Jid,
    wacore::{
        net::DisconnectReason,
        types::events::{
            ClientOutdated, ConnectFailure, ConnectFailureReason, Connected, Disconnected, Event,
            LoggedOut, LogoutMessage, PairSuccess, PairingCode, PairingCodeError, PairingQrCode,
            PairingQrCodesExhausted, StreamError, StreamReplaced, TempBanReason, TemporaryBan,
        },
    },
};

use super::{
    events::{AfterRun, EventMapper},
    session::send_error,
};
use crate::provider::{SendError, SessionEvent};

const PHONE: &str = "15551234567";

fn jid(raw: &str) -> Jid {
    raw.parse().expect("a JID")
}

fn qr(code: &str, secs: u64) -> Event {
    Event::PairingQrCode(
        PairingQrCode::builder()
            .code(code.to_owned())
            .timeout(Duration::from_secs(secs))
            .build(),
    )
}

fn pair_success() -> Event {
    Event::PairSuccess(
        PairSuccess::builder()
            .id(jid(&format!("{PHONE}:7@s.whatsapp.net")))
            .lid(jid("123456789012345:7@lid"))
            .business_name(String::new())
            .platform("android".to_owned())
            .build(),
    )
}

fn connected() -> Event {
    Event::Connected(Connected::builder().build())
}

fn logged_out(reason: ConnectFailureReason) -> LoggedOut {
    LoggedOut::builder().on_connect(true).reason(reason).build()
}

fn map_all(mapper: &mut EventMapper, events: &[Event]) -> Vec<SessionEvent> {
    events.iter().filter_map(|e| mapper.map(e)).collect()
}

#[test]
fn a_pairing_shows_codes_then_follows_the_515_restart_silently_to_the_login() {
    let mut mapper = EventMapper::new(None);
    let reported = map_all(
        &mut mapper,
        &[qr("2@first", 60), qr("2@second", 20), pair_success()],
    );
    assert_eq!(
        reported,
        [
            SessionEvent::Qr {
                code: "2@first".into(),
                valid_for: Duration::from_secs(60)
            },
            SessionEvent::Qr {
                code: "2@second".into(),
                valid_for: Duration::from_secs(20)
            },
            SessionEvent::PairSuccess {
                phone: PHONE.into()
            },
        ]
    );
    // WhatsApp's 515 "restart required": the stream error is no event of ours, and the
    // connection loop ending after it is a reconnect, not a drop.
    let restart = Event::StreamError(StreamError::builder().code("515".to_owned()).build());
    assert_eq!(mapper.map(&restart), None);
    assert_eq!(mapper.after_run(None), AfterRun::Relink);
    assert_eq!(
        mapper.map(&connected()),
        Some(SessionEvent::Connected {
            phone: PHONE.into()
        })
    );
    // Once logged in, a loop that ends is a drop, reported once.
    assert_eq!(
        mapper.after_run(None),
        AfterRun::Report(SessionEvent::Disconnected {
            reason: "the connection to WhatsApp closed".into()
        })
    );
    assert_eq!(mapper.after_run(None), AfterRun::Done);
    assert_eq!(mapper.map(&qr("2@late", 20)), None);
}

#[test]
fn a_login_that_never_follows_the_scan_fails_after_a_few_restarts() {
    let mut mapper = EventMapper::new(None);
    mapper.map(&pair_success());
    for _ in 0..3 {
        assert_eq!(mapper.after_run(None), AfterRun::Relink);
    }
    assert_eq!(
        mapper.after_run(None),
        AfterRun::Report(SessionEvent::Disconnected {
            reason: "WhatsApp did not complete the login after the scan".into()
        })
    );
}

#[test]
fn expired_codes_and_a_phone_code_map_one_to_one() {
    let mut mapper = EventMapper::new(None);
    let code = Event::PairingCode(
        PairingCode::builder()
            .code("ABCD1234".to_owned())
            .timeout(Duration::from_secs(180))
            .build(),
    );
    assert_eq!(
        mapper.map(&code),
        Some(SessionEvent::PairCode {
            code: "ABCD1234".into(),
            valid_for: Duration::from_secs(180)
        })
    );
    let exhausted = Event::PairingQrCodesExhausted(
        PairingQrCodesExhausted::builder()
            .disconnected(true)
            .build(),
    );
    let mut qr_only = EventMapper::new(None);
    assert_eq!(qr_only.map(&exhausted), Some(SessionEvent::QrExhausted));
}

#[test]
fn running_out_of_qr_codes_does_not_end_a_pairing_by_a_code_still_valid() {
    let code = |secs| {
        Event::PairingCode(
            PairingCode::builder()
                .code("ABCD1234".to_owned())
                .timeout(Duration::from_secs(secs))
                .build(),
        )
    };
    let exhausted = Event::PairingQrCodesExhausted(
        PairingQrCodesExhausted::builder()
            .disconnected(false)
            .build(),
    );
    let mut mapper = EventMapper::new(None);
    mapper.map(&code(180));
    assert_eq!(mapper.map(&exhausted), None);

    let mut mapper = EventMapper::new(None);
    mapper.map(&code(0));
    assert_eq!(mapper.map(&exhausted), Some(SessionEvent::QrExhausted));
}

#[test]
fn a_refused_phone_code_fails_the_pairing_with_the_wait() {
    let mut mapper = EventMapper::new(None);
    let refused = Event::PairingCodeError(
        PairingCodeError::builder()
            .error("bad-request".to_owned())
            .backoff(Duration::from_secs(30))
            .build(),
    );
    assert_eq!(
        mapper.map(&refused),
        Some(SessionEvent::Failed {
            reason: "WhatsApp refused the pairing code (bad-request); try again in 30 s".into()
        })
    );
}

#[test]
fn each_logged_out_reason_ends_the_link_or_bans_it() {
    let resumed = || EventMapper::new(Some(PHONE.into()));
    let cases = [
        (
            logged_out(ConnectFailureReason::LoggedOut),
            SessionEvent::LoggedOut {
                reason: "WhatsApp ended this device's link (401)".into(),
            },
        ),
        (
            LoggedOut::builder()
                .on_connect(false)
                .reason(ConnectFailureReason::LoggedOut)
                .raw(NodeBuilder::new("stream:error").attr("code", "516").build())
                .build(),
            SessionEvent::LoggedOut {
                reason: "the linked device was removed on the phone (516)".into(),
            },
        ),
        (
            logged_out(ConnectFailureReason::UnknownLogout),
            SessionEvent::LoggedOut {
                reason: "WhatsApp logged this device out (406)".into(),
            },
        ),
        (
            logged_out(ConnectFailureReason::TempBanned),
            SessionEvent::Banned {
                reason: "WhatsApp temporarily banned this account (402)".into(),
                until: None,
            },
        ),
        (
            LoggedOut::builder()
                .on_connect(true)
                .reason(ConnectFailureReason::AccountLocked)
                .logout_message(
                    LogoutMessage::builder()
                        .header("Your account is locked".to_owned())
                        .build(),
                )
                .build(),
            SessionEvent::Banned {
                reason: "WhatsApp locked this account (403): Your account is locked".into(),
                until: None,
            },
        ),
    ];
    for (event, expected) in cases {
        let mut mapper = resumed();
        assert_eq!(mapper.map(&Event::LoggedOut(event)), Some(expected.clone()));
        // Terminal: the loop's end adds nothing, and nothing later is reported.
        assert_eq!(mapper.after_run(None), AfterRun::Done, "{expected:?}");
        assert_eq!(mapper.map(&connected()), None);
    }
}

#[test]
fn a_temporary_ban_carries_its_end() {
    let mut mapper = EventMapper::new(Some(PHONE.into()));
    let ban = Event::TemporaryBan(
        TemporaryBan::builder()
            .code(TempBanReason::SentToTooManyPeople)
            .expire(chrono::Duration::hours(1))
            .build(),
    );
    let Some(SessionEvent::Banned { reason, until }) = mapper.map(&ban) else {
        panic!("a ban");
    };
    assert!(reason.contains("101"), "{reason}");
    let until = until.expect("an end");
    let expected = Utc::now() + chrono::Duration::hours(1);
    assert!((until - expected).num_seconds().abs() <= 5, "{until}");
}

#[test]
fn refusals_that_retrying_cannot_fix_fail_and_server_trouble_retries() {
    let failure = |reason| {
        EventMapper::new(Some(PHONE.into())).map(&Event::ConnectFailure(
            ConnectFailure::builder().reason(reason).build(),
        ))
    };
    assert_eq!(
        failure(ConnectFailureReason::ServiceUnavailable),
        Some(SessionEvent::Disconnected {
            reason: "WhatsApp refused the connection (503)".into()
        })
    );
    assert_eq!(
        failure(ConnectFailureReason::Generic),
        Some(SessionEvent::Failed {
            reason: "WhatsApp refused the connection (400)".into()
        })
    );
    let outdated =
        EventMapper::new(None).map(&Event::ClientOutdated(ClientOutdated::builder().build()));
    assert!(
        matches!(&outdated, Some(SessionEvent::Failed { reason }) if reason.contains("405")),
        "{outdated:?}"
    );
    let replaced = EventMapper::new(Some(PHONE.into()))
        .map(&Event::StreamReplaced(StreamReplaced::builder().build()));
    assert!(
        matches!(&replaced, Some(SessionEvent::Failed { reason }) if reason.contains("409")),
        "{replaced:?}"
    );
}

#[test]
fn an_unexpected_drop_is_reported_once() {
    let mut mapper = EventMapper::new(Some(PHONE.into()));
    mapper.map(&connected());
    let drop = Event::Disconnected(
        Disconnected::builder()
            .reason(DisconnectReason::ReadError("connection reset".into()))
            .build(),
    );
    assert_eq!(
        mapper.map(&drop),
        Some(SessionEvent::Disconnected {
            reason: "the connection to WhatsApp dropped (read error: connection reset)".into()
        })
    );
    assert_eq!(mapper.after_run(None), AfterRun::Done);
}

#[test]
fn an_unreachable_server_is_reported_with_the_transport_reason() {
    let mut mapper = EventMapper::new(Some(PHONE.into()));
    let reason = "cannot reach WhatsApp at web.whatsapp.com: failed to lookup address".to_owned();
    assert_eq!(
        mapper.after_run(Some(reason.clone())),
        AfterRun::Report(SessionEvent::Disconnected { reason })
    );
}

#[test]
fn after_the_manager_stops_the_session_nothing_is_reported() {
    let mut mapper = EventMapper::new(Some(PHONE.into()));
    mapper.map(&connected());
    mapper.stop();
    // whatsapp-rust's own logout dispatches LoggedOut; that is the manager's doing, not news.
    assert_eq!(
        mapper.map(&Event::LoggedOut(logged_out(
            ConnectFailureReason::LoggedOut
        ))),
        None
    );
    assert_eq!(mapper.after_run(None), AfterRun::Done);
}

/// Whether delivery may send the part again after this error.
fn retried(error: &SendError) -> bool {
    matches!(
        error,
        SendError::Transient(_) | SendError::NotConnected | SendError::RateLimited
    )
}

#[test]
fn only_send_errors_from_before_the_socket_write_are_retried() {
    use whatsapp_rust::{
        ClientError, SendError as WaSendError,
        prelude::IqError,
        socket::{SocketError, error::EncryptSendError},
    };
    let encrypt = |e: EncryptSendError| WaSendError::Client(ClientError::EncryptSend(e));
    // The write to the transport failed or its answer was lost: part of the frame, or all of
    // it, may have reached WhatsApp.
    for ambiguous in [
        encrypt(EncryptSendError::transport(anyhow::anyhow!("broken pipe"))),
        encrypt(EncryptSendError::channel_closed()),
    ] {
        let mapped = send_error(ambiguous);
        assert!(matches!(mapped, SendError::Ambiguous(_)), "{mapped:?}");
        assert!(!retried(&mapped), "{mapped:?}");
    }
    // Refused before a byte was written.
    for unsent in [
        encrypt(EncryptSendError::poisoned()),
        encrypt(EncryptSendError::crypto(anyhow::anyhow!("cipher"))),
        WaSendError::Client(ClientError::NotConnected),
        WaSendError::Client(ClientError::Socket(SocketError::SocketClosed)),
        WaSendError::Iq(IqError::Timeout),
        WaSendError::Internal(anyhow::anyhow!("no session with a participant's device")),
    ] {
        let mapped = send_error(unsent);
        assert!(retried(&mapped), "{mapped:?}");
    }
}
