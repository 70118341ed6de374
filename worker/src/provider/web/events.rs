//! whatsapp-rust's events in the session manager's terms (`SessionEvent`), and what a session
//! does when the library's connection loop returns.
//!
//! The library's own reconnect loop is switched off (see `super::session`): every loop exit comes
//! back here, so a drop is reported once and the manager's backoff decides what happens next.
//! The one exit that is not a drop is the 515 "restart required" WhatsApp sends right after a
//! successful pairing: the session reconnects at once with its new credentials, reporting nothing.

use std::time::Instant;

use chrono::Utc;
use whatsapp_rust::wacore::{
    net::DisconnectReason,
    types::events::{ConnectFailureReason, Event, LoggedOut},
};

use crate::provider::SessionEvent;

/// How many 515 restarts in a row a pairing may take before it counts as a failure.
const MAX_RELINKS: u32 = 3;

/// One session's view of its event stream.
#[derive(Debug)]
pub struct EventMapper {
    /// The account's number (digits): known from the stored device when resuming, from
    /// `PairSuccess` when pairing.
    phone: Option<String>,
    stage: Stage,
    /// 515 restarts since the last `PairSuccess`.
    relinks: u32,
    /// Until when the phone-number code shown last can still be typed.
    code_valid_until: Option<Instant>,
    /// Set once a terminal event went out, or the manager stopped the session: nothing more
    /// is reported.
    ended: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Pairing, or resuming but not logged in yet.
    Connecting,
    /// The phone scanned the code; WhatsApp restarts the stream (515) before the login.
    Linking,
    Connected,
}

/// What the session does when the library's connection loop has returned.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterRun {
    /// The 515 after pairing: run the loop again now, quietly.
    Relink,
    /// The connection ended without a terminal event: report it.
    Report(SessionEvent),
    /// Already reported, or stopped on purpose.
    Done,
}

impl EventMapper {
    pub fn new(phone: Option<String>) -> Self {
        Self {
            phone,
            stage: Stage::Connecting,
            relinks: 0,
            code_valid_until: None,
            ended: false,
        }
    }

    /// The manager stopped the session (stop or log out): whatever the library reports while
    /// winding down, including the `LoggedOut` its own logout dispatches, is not news.
    pub fn stop(&mut self) {
        self.ended = true;
    }

    /// The session event `event` amounts to, if any.
    pub fn map(&mut self, event: &Event) -> Option<SessionEvent> {
        if self.ended {
            return None;
        }
        let mapped = match event {
            Event::PairingQrCode(qr) => Some(SessionEvent::Qr {
                code: qr.code.clone(),
                valid_for: qr.timeout,
            }),
            // The operator chose the code: running out of QR codes does not end its pairing
            // (the manager's pairing window still does).
            Event::PairingQrCodesExhausted(_)
                if self
                    .code_valid_until
                    .is_some_and(|until| Instant::now() < until) =>
            {
                None
            }
            Event::PairingQrCodesExhausted(_) => Some(SessionEvent::QrExhausted),
            Event::PairingCode(code) => {
                self.code_valid_until = Instant::now().checked_add(code.timeout);
                Some(SessionEvent::PairCode {
                    code: code.code.clone(),
                    valid_for: code.timeout,
                })
            }
            Event::PairingCodeError(error) => Some(SessionEvent::Failed {
                reason: match error.backoff {
                    Some(wait) => format!(
                        "WhatsApp refused the pairing code ({}); try again in {} s",
                        error.error,
                        wait.as_secs()
                    ),
                    None => format!("WhatsApp refused the pairing code ({})", error.error),
                },
            }),
            Event::PairSuccess(success) => {
                self.stage = Stage::Linking;
                self.relinks = 0;
                let phone = success.id.user.to_string();
                self.phone = Some(phone.clone());
                Some(SessionEvent::PairSuccess { phone })
            }
            Event::PairError(error) => Some(SessionEvent::Failed {
                reason: format!("WhatsApp rejected the link: {}", error.error),
            }),
            Event::QrScannedWithoutMultidevice(_) => Some(SessionEvent::Failed {
                reason: "the phone's WhatsApp does not support linked devices; update it and \
                         pair again"
                    .into(),
            }),
            Event::Connected(_) => {
                self.stage = Stage::Connected;
                Some(SessionEvent::Connected {
                    phone: self.phone.clone().unwrap_or_default(),
                })
            }
            Event::Disconnected(disconnected) => Some(SessionEvent::Disconnected {
                reason: describe_disconnect(&disconnected.reason),
            }),
            Event::LoggedOut(logged_out) => Some(map_logged_out(logged_out)),
            Event::StreamReplaced(_) => Some(SessionEvent::Failed {
                reason: "another WhatsApp Web session took over this account's link (409); \
                         Herald will not fight it — stop the other one, then re-pair"
                    .into(),
            }),
            Event::TemporaryBan(ban) => Some(SessionEvent::Banned {
                reason: format!("WhatsApp temporarily banned this account ({})", ban.code),
                until: Utc::now().checked_add_signed(ban.expire),
            }),
            Event::ConnectFailure(failure) => {
                let reason = format!(
                    "WhatsApp refused the connection ({}{})",
                    failure.reason.code(),
                    failure
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                // 500 / 503: WhatsApp's side is down; the manager's backoff retries.
                Some(if failure.reason.should_reconnect() {
                    SessionEvent::Disconnected { reason }
                } else {
                    SessionEvent::Failed { reason }
                })
            }
            Event::ClientOutdated(_) => Some(SessionEvent::Failed {
                reason: "WhatsApp rejected this client as outdated (405); update Herald".into(),
            }),
            _ => None,
        };
        if let Some(event) = &mapped
            && is_terminal(event)
        {
            self.ended = true;
        }
        mapped
    }

    /// The library's connection loop returned; `failure` is why the last attempt could not
    /// connect, when the transport saw it.
    pub fn after_run(&mut self, failure: Option<String>) -> AfterRun {
        if self.ended {
            return AfterRun::Done;
        }
        if self.stage == Stage::Linking && self.relinks < MAX_RELINKS {
            self.relinks += 1;
            return AfterRun::Relink;
        }
        self.ended = true;
        let reason = failure.unwrap_or_else(|| match self.stage {
            Stage::Connected => "the connection to WhatsApp closed".into(),
            Stage::Linking => "WhatsApp did not complete the login after the scan".into(),
            Stage::Connecting => {
                "WhatsApp's server closed the connection before the login (handshake failed)".into()
            }
        });
        AfterRun::Report(SessionEvent::Disconnected { reason })
    }
}

fn is_terminal(event: &SessionEvent) -> bool {
    matches!(
        event,
        SessionEvent::Disconnected { .. }
            | SessionEvent::LoggedOut { .. }
            | SessionEvent::Banned { .. }
            | SessionEvent::Failed { .. }
    )
}

/// 401 / 406 / 516 / a device removed on the phone end the link; 402 and 403 are bans.
fn map_logged_out(logged_out: &LoggedOut) -> SessionEvent {
    // A stream error carries its own code (516 arrives as a `LoggedOut` with reason 401).
    let stream_code = logged_out
        .raw
        .as_ref()
        .and_then(|node| node.attrs().optional_string("code").map(|c| c.to_string()));
    let server_says = logged_out
        .logout_message
        .as_ref()
        .and_then(|m| m.header.clone().or_else(|| m.subtext.clone()))
        .map(|text| format!(": {text}"))
        .unwrap_or_default();
    match logged_out.reason {
        ConnectFailureReason::TempBanned => SessionEvent::Banned {
            reason: format!("WhatsApp temporarily banned this account (402){server_says}"),
            until: None,
        },
        ConnectFailureReason::AccountLocked => SessionEvent::Banned {
            reason: format!("WhatsApp locked this account (403){server_says}"),
            until: None,
        },
        reason => {
            let code = stream_code.unwrap_or_else(|| reason.code().to_string());
            let cause = match code.as_str() {
                "516" => "the linked device was removed on the phone",
                "401" => "WhatsApp ended this device's link",
                _ => "WhatsApp logged this device out",
            };
            SessionEvent::LoggedOut {
                reason: format!("{cause} ({code}){server_says}"),
            }
        }
    }
}

fn describe_disconnect(reason: &DisconnectReason) -> String {
    format!("the connection to WhatsApp dropped ({reason})")
}
