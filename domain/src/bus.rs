//! The messages the server and the worker exchange through the database (docs/architecture.md, "The
//! bus"): commands flow server → worker, events worker → server → browser. Both sides and the
//! browser decode the same types, so a kind is spelled exactly once: in its `serde(rename)`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{account::PhoneNumber, run::RunCounts, status::RunStatus};

/// Work the server asks the worker to do. Stored as `kind` + JSON `payload`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Command {
    /// Start a fresh pairing: new session generation, fresh key store, QR codes. With `phone`,
    /// WhatsApp is also asked for a code to type on that phone ([`Event::PairCode`]); whichever
    /// is used first links the device. Commands queued before pairing by code existed have no
    /// `phone` and still decode.
    #[serde(rename = "account.pair")]
    Pair {
        account_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<PhoneNumber>,
    },
    /// Log the linked device out on WhatsApp's side, wipe its keys, keep the row.
    #[serde(rename = "account.unpair")]
    Unpair { account_id: i64 },
    /// The row is already gone: log out and wipe the keys it left behind.
    #[serde(rename = "account.delete")]
    Delete { account_id: i64 },
    #[serde(rename = "groups.sync")]
    SyncGroups { account_id: i64 },
    /// Send `text` to one group now; the result comes back as [`Event::SendTestDone`].
    #[serde(rename = "send_test")]
    SendTest {
        account_id: i64,
        group_id: i64,
        request_id: String,
        text: String,
    },
    /// Simulated accounts only: the phone scans the current QR. `phone` (digits) overrides the
    /// simulator's deterministic number, so two accounts can scan with the same phone.
    #[serde(rename = "sim.scan")]
    SimScan {
        account_id: i64,
        phone: Option<String>,
    },
    /// A reminder was created, edited, paused, resumed or deleted: look at what is due again.
    #[serde(rename = "reminder.changed")]
    ReminderChanged { account_id: i64, reminder_id: i64 },
    /// Send the rest of a paused run now (the operator overrides its send window).
    #[serde(rename = "run.resume")]
    ResumeRun { account_id: i64, run_id: i64 },
    /// Give up the rest of a paused run: its unsent groups are skipped.
    #[serde(rename = "run.cancel")]
    CancelRun { account_id: i64, run_id: i64 },
    /// Send a finished run's own message again to the groups it did not reach (skipped or
    /// failed); never to one it reached. Of those it may have reached (`unknown`), only the
    /// sends named in `unknown`, which the operator confirmed knowing they could get it twice;
    /// commands queued before it existed decode without any.
    #[serde(rename = "run.retry")]
    RetryRun {
        account_id: i64,
        run_id: i64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unknown: Vec<UnknownSend>,
    },
}

/// A send whose outcome is `unknown`, as the operator confirmed resending it: the group's
/// target and the claim that left it so. Carried out again after a later claim (a resend that
/// itself went unknown), the command no longer matches it, so a confirmation is used once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownSend {
    pub target_id: i64,
    pub claim_no: i64,
}

impl Command {
    pub fn account_id(&self) -> i64 {
        match self {
            Self::Pair { account_id, .. }
            | Self::Unpair { account_id }
            | Self::Delete { account_id }
            | Self::SyncGroups { account_id }
            | Self::SendTest { account_id, .. }
            | Self::SimScan { account_id, .. }
            | Self::ReminderChanged { account_id, .. }
            | Self::ResumeRun { account_id, .. }
            | Self::CancelRun { account_id, .. }
            | Self::RetryRun { account_id, .. } => *account_id,
        }
    }
}

/// Something the worker reports. The server fans events out over SSE, with the row id as the
/// SSE id; the operator's browser, the terminal pairing command and the Telegram bot read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Event {
    /// A pairing started; its first QR code is on the way.
    #[serde(rename = "session.pending")]
    Pending { account_id: i64, generation: i64 },
    /// A new QR code is stored on the account row (PNG and text); it expires at `expires_at`.
    #[serde(rename = "session.qr")]
    Qr {
        account_id: i64,
        generation: i64,
        /// 1 for the first code of a pairing, then 2, 3, …
        seq: u32,
        expires_at: DateTime<Utc>,
    },
    /// Pairing by phone number: a code to type on the phone (`ABCD-EFGH`, also stored on the
    /// account row) until `expires_at`. QR codes keep rotating beside it.
    #[serde(rename = "session.pair_code")]
    PairCode {
        account_id: i64,
        generation: i64,
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// The phone scanned the code; the link is being completed.
    #[serde(rename = "session.paired")]
    Paired { account_id: i64, generation: i64 },
    #[serde(rename = "session.connected")]
    Connected {
        account_id: i64,
        /// Digits, without the plus.
        phone: String,
    },
    /// No code was scanned in time; the account is unpaired again.
    #[serde(rename = "session.timeout")]
    Timeout { account_id: i64 },
    /// The scanning phone is already linked to another account of Herald's; this one was reset.
    #[serde(rename = "session.duplicate")]
    Duplicate {
        account_id: i64,
        phone: String,
        existing_account_id: i64,
        existing_label: String,
    },
    /// Pairing or connecting failed for a reason other than the ones above.
    #[serde(rename = "session.error")]
    Error { account_id: i64, message: String },
    /// An established connection dropped; the worker is reconnecting.
    #[serde(rename = "session.disconnected")]
    Disconnected { account_id: i64, reason: String },
    #[serde(rename = "session.logged_out")]
    LoggedOut { account_id: i64, reason: String },
    #[serde(rename = "session.banned")]
    Banned {
        account_id: i64,
        reason: String,
        until: Option<DateTime<Utc>>,
    },
    #[serde(rename = "session.unpaired")]
    Unpaired { account_id: i64 },
    /// The account has been disconnected for longer than the alert threshold.
    #[serde(rename = "alert.account_down")]
    AccountDown {
        account_id: i64,
        label: String,
        since: DateTime<Utc>,
    },
    #[serde(rename = "groups.synced")]
    GroupsSynced {
        account_id: i64,
        total: u32,
        added: u32,
        archived: u32,
    },
    #[serde(rename = "send_test.done")]
    SendTestDone {
        account_id: i64,
        request_id: String,
        /// `None` when sent; otherwise what went wrong, in words.
        error: Option<String>,
    },
    /// A reminder was created, edited, paused, resumed, deleted, or moved on by a fire.
    #[serde(rename = "reminder.changed")]
    ReminderChanged { account_id: i64, reminder_id: i64 },
    /// A run's targets changed state.
    #[serde(rename = "run.progress")]
    RunProgress {
        account_id: i64,
        run_id: i64,
        reminder_id: Option<i64>,
        counts: RunCounts,
    },
    /// A run stopped: finished (success, partial, failed, skipped), paused or cancelled.
    #[serde(rename = "run.finished")]
    RunFinished {
        account_id: i64,
        run_id: i64,
        reminder_id: Option<i64>,
        status: RunStatus,
        counts: RunCounts,
    },
    /// A reminder came due while its account was not connected; its groups were skipped.
    #[serde(rename = "alert.account_offline")]
    AccountOffline {
        account_id: i64,
        label: String,
        run_id: i64,
        reminder_name: String,
    },
    /// A run ended failed or partial, or paused at its send window (resume or cancel it).
    #[serde(rename = "alert.run")]
    RunAlert {
        account_id: i64,
        run_id: i64,
        reminder_id: Option<i64>,
        reminder_name: String,
        status: RunStatus,
        counts: RunCounts,
    },
    /// Occurrences came and went while the worker was down, past the grace window: each is a
    /// skipped run with reason `missed`.
    #[serde(rename = "alert.missed")]
    Missed {
        account_id: i64,
        reminder_id: i64,
        reminder_name: String,
        occurrences: u32,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    /// Sends were interrupted (the worker stopped mid-send, or WhatsApp never answered):
    /// WhatsApp may or may not have delivered them, and Herald will not send them again.
    #[serde(rename = "alert.targets_unknown")]
    TargetsUnknown {
        account_id: i64,
        run_id: i64,
        reminder_name: String,
        groups: Vec<String>,
    },
}

impl Event {
    pub fn account_id(&self) -> i64 {
        match self {
            Self::Pending { account_id, .. }
            | Self::Qr { account_id, .. }
            | Self::PairCode { account_id, .. }
            | Self::Paired { account_id, .. }
            | Self::Connected { account_id, .. }
            | Self::Timeout { account_id }
            | Self::Duplicate { account_id, .. }
            | Self::Error { account_id, .. }
            | Self::Disconnected { account_id, .. }
            | Self::LoggedOut { account_id, .. }
            | Self::Banned { account_id, .. }
            | Self::Unpaired { account_id }
            | Self::AccountDown { account_id, .. }
            | Self::GroupsSynced { account_id, .. }
            | Self::SendTestDone { account_id, .. }
            | Self::ReminderChanged { account_id, .. }
            | Self::RunProgress { account_id, .. }
            | Self::RunFinished { account_id, .. }
            | Self::AccountOffline { account_id, .. }
            | Self::RunAlert { account_id, .. }
            | Self::Missed { account_id, .. }
            | Self::TargetsUnknown { account_id, .. } => *account_id,
        }
    }
}

/// Splits a tagged value into its stored `kind` column and `payload` JSON, and back.
pub mod stored {
    use serde::{Serialize, de::DeserializeOwned};
    use serde_json::{Value, json};

    pub fn split<T: Serialize>(value: &T) -> (String, Value) {
        match serde_json::to_value(value) {
            Ok(Value::Object(mut map)) => {
                let kind = match map.remove("kind") {
                    Some(Value::String(kind)) => kind,
                    _ => unreachable!("bus messages are tagged with a string kind"),
                };
                (kind, map.remove("payload").unwrap_or(Value::Null))
            }
            _ => unreachable!("bus messages serialize to JSON objects"),
        }
    }

    pub fn join<T: DeserializeOwned>(kind: &str, payload: Value) -> serde_json::Result<T> {
        serde_json::from_value(json!({ "kind": kind, "payload": payload }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stored_apart_from_payloads() {
        let command = Command::SimScan {
            account_id: 7,
            phone: Some("15550100001".into()),
        };
        let (kind, payload) = stored::split(&command);
        assert_eq!(kind, "sim.scan");
        assert_eq!(payload["account_id"], 7);
        assert_eq!(stored::join::<Command>(&kind, payload).unwrap(), command);

        let event = Event::Timeout { account_id: 3 };
        let (kind, payload) = stored::split(&event);
        assert_eq!(kind, "session.timeout");
        assert_eq!(stored::join::<Event>(&kind, payload).unwrap(), event);
        assert!(stored::join::<Event>("session.nope", serde_json::json!({})).is_err());
    }

    #[test]
    fn pair_commands_carry_an_optional_validated_phone() {
        // Queued by a version without pairing by code: still a pair, without a phone.
        let old = stored::join::<Command>("account.pair", serde_json::json!({ "account_id": 4 }));
        assert_eq!(
            old.unwrap(),
            Command::Pair {
                account_id: 4,
                phone: None
            }
        );
        let by_code = Command::Pair {
            account_id: 4,
            phone: Some(PhoneNumber::parse("+44 7700 900123").unwrap()),
        };
        let (kind, payload) = stored::split(&by_code);
        assert_eq!(kind, "account.pair");
        assert_eq!(payload["phone"], "447700900123");
        assert_eq!(stored::join::<Command>(&kind, payload).unwrap(), by_code);
        // Without a phone the payload is what it always was.
        let (_, payload) = stored::split(&Command::Pair {
            account_id: 4,
            phone: None,
        });
        assert_eq!(payload, serde_json::json!({ "account_id": 4 }));
        // A phone that is not one never reaches the worker as a pair command.
        assert!(
            stored::join::<Command>(
                "account.pair",
                serde_json::json!({ "account_id": 4, "phone": "12ab" })
            )
            .is_err()
        );
    }

    #[test]
    fn a_retry_queued_before_unknown_groups_could_be_included_leaves_them_out() {
        let old = stored::join::<Command>(
            "run.retry",
            serde_json::json!({ "account_id": 4, "run_id": 9 }),
        );
        assert_eq!(
            old.unwrap(),
            Command::RetryRun {
                account_id: 4,
                run_id: 9,
                unknown: Vec::new()
            }
        );
        let confirmed = Command::RetryRun {
            account_id: 4,
            run_id: 9,
            unknown: vec![UnknownSend {
                target_id: 12,
                claim_no: 3,
            }],
        };
        let (kind, payload) = stored::split(&confirmed);
        assert_eq!(
            payload["unknown"],
            serde_json::json!([{ "target_id": 12, "claim_no": 3 }])
        );
        assert_eq!(stored::join::<Command>(&kind, payload).unwrap(), confirmed);
    }

    #[test]
    fn pair_codes_travel_as_session_events() {
        let event = Event::PairCode {
            account_id: 2,
            generation: 5,
            code: "ABCD-EFGH".into(),
            expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let (kind, payload) = stored::split(&event);
        assert_eq!(kind, "session.pair_code");
        assert_eq!(payload["code"], "ABCD-EFGH");
        assert_eq!(stored::join::<Event>(&kind, payload).unwrap(), event);
        assert_eq!(event.account_id(), 2);
    }

    #[test]
    fn every_message_names_its_account() {
        assert_eq!(Command::Delete { account_id: 9 }.account_id(), 9);
        assert_eq!(
            Event::SendTestDone {
                account_id: 4,
                request_id: "r".into(),
                error: None
            }
            .account_id(),
            4
        );
    }
}
