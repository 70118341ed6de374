//! Where a pairing stands, as the operator sees it. The dashboard's QR modal, the terminal
//! pairing command and the Telegram bot all fold the same events through [`Phase::apply`], so
//! they agree on what "timed out" or "already linked" means.
//!
//! A pairing by phone number shows QR codes first (WhatsApp hands them out at once), then the
//! code to type on the phone; from then on the code stays on show while the QR codes keep
//! rotating behind it, since the operator chose the code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bus::Event;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Nothing under way.
    Idle,
    /// Pairing requested; waiting for the first QR code.
    Waiting,
    /// A code is showing until `expires_at`.
    Qr {
        seq: u32,
        expires_at: DateTime<Utc>,
    },
    /// Pairing by phone number: `code` (`ABCD-EFGH`) is to be typed on the phone until
    /// `expires_at`.
    PairCode {
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// Scanned (or the code entered); WhatsApp is completing the link.
    Linking,
    Connected {
        phone: String,
    },
    TimedOut,
    /// The phone is already linked to another account, named here.
    Duplicate {
        existing_label: String,
    },
    Failed {
        message: String,
    },
}

impl Phase {
    /// The phase after `event`, which must concern the account this phase belongs to.
    pub fn apply(self, event: &Event) -> Phase {
        match event {
            Event::Pending { .. } => Phase::Waiting,
            // The code the operator asked for stays; the QR codes rotate on behind it.
            Event::Qr { .. } if matches!(self, Phase::PairCode { .. }) => self,
            Event::Qr {
                seq, expires_at, ..
            } => Phase::Qr {
                seq: *seq,
                expires_at: *expires_at,
            },
            Event::PairCode {
                code, expires_at, ..
            } => Phase::PairCode {
                code: code.clone(),
                expires_at: *expires_at,
            },
            Event::Paired { .. } => Phase::Linking,
            Event::Connected { phone, .. } => Phase::Connected {
                phone: phone.clone(),
            },
            Event::Timeout { .. } => Phase::TimedOut,
            Event::Duplicate { existing_label, .. } => Phase::Duplicate {
                existing_label: existing_label.clone(),
            },
            Event::Error { message, .. } => Phase::Failed {
                message: message.clone(),
            },
            Event::LoggedOut { reason, .. } | Event::Banned { reason, .. } => Phase::Failed {
                message: reason.clone(),
            },
            Event::Unpaired { .. } => Phase::Idle,
            Event::Disconnected { .. }
            | Event::AccountDown { .. }
            | Event::GroupsSynced { .. }
            | Event::SendTestDone { .. }
            | Event::ReminderChanged { .. }
            | Event::RunProgress { .. }
            | Event::RunFinished { .. }
            | Event::AccountOffline { .. }
            | Event::RunAlert { .. }
            | Event::Missed { .. }
            | Event::TargetsUnknown { .. } => self,
        }
    }

    /// Whether the pairing has ended, one way or the other.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Phase::Idle
                | Phase::Connected { .. }
                | Phase::TimedOut
                | Phase::Duplicate { .. }
                | Phase::Failed { .. }
        )
    }
}

/// A pairing code as WhatsApp shows it on the phone: `ABCD-EFGH`. whatsapp-rust hands out the
/// eight characters bare; anything that is not eight letters and digits is only trimmed and
/// upper-cased.
pub fn display_pair_code(raw: &str) -> String {
    let chars: Vec<char> = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if chars.len() == 8 && chars.iter().all(char::is_ascii_alphanumeric) {
        let (head, tail) = chars.split_at(4);
        format!(
            "{}-{}",
            head.iter().collect::<String>(),
            tail.iter().collect::<String>()
        )
    } else {
        raw.trim().to_ascii_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairing_walks_through_its_phases() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let events = [
            Event::Pending {
                account_id: 1,
                generation: 2,
            },
            Event::Qr {
                account_id: 1,
                generation: 2,
                seq: 1,
                expires_at: at,
            },
            Event::Paired {
                account_id: 1,
                generation: 2,
            },
            Event::GroupsSynced {
                account_id: 1,
                total: 3,
                added: 3,
                archived: 0,
            },
            Event::Connected {
                account_id: 1,
                phone: "15550100001".into(),
            },
        ];
        let mut phase = Phase::Idle;
        let mut seen = Vec::new();
        for event in &events {
            phase = phase.apply(event);
            seen.push(phase.clone());
        }
        assert_eq!(seen[0], Phase::Waiting);
        assert_eq!(
            seen[1],
            Phase::Qr {
                seq: 1,
                expires_at: at
            }
        );
        assert_eq!(seen[2], Phase::Linking);
        assert_eq!(seen[3], Phase::Linking, "unrelated events keep the phase");
        assert!(phase.is_final());
        assert!(!Phase::Linking.is_final());
    }

    #[test]
    fn failures_carry_their_words() {
        let phase = Phase::Waiting.apply(&Event::Duplicate {
            account_id: 2,
            phone: "1555".into(),
            existing_account_id: 1,
            existing_label: "Bakery".into(),
        });
        assert_eq!(
            phase,
            Phase::Duplicate {
                existing_label: "Bakery".into()
            }
        );
        assert!(phase.is_final());
    }

    #[test]
    fn a_pairing_by_code_shows_the_code_over_rotating_qr_codes() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let qr = |seq| Event::Qr {
            account_id: 1,
            generation: 2,
            seq,
            expires_at: at,
        };
        let code = Event::PairCode {
            account_id: 1,
            generation: 2,
            code: "ABCD-EFGH".into(),
            expires_at: at + chrono::Duration::seconds(180),
        };
        let showing = Phase::PairCode {
            code: "ABCD-EFGH".into(),
            expires_at: at + chrono::Duration::seconds(180),
        };
        let phase = Phase::Idle
            .apply(&Event::Pending {
                account_id: 1,
                generation: 2,
            })
            .apply(&qr(1));
        assert!(matches!(phase, Phase::Qr { seq: 1, .. }));
        let phase = phase.apply(&code);
        assert_eq!(phase, showing);
        assert!(!phase.is_final());
        let phase = phase.apply(&qr(2));
        assert_eq!(phase, showing, "a new QR code does not hide the code");
        let phase = phase.apply(&Event::Paired {
            account_id: 1,
            generation: 2,
        });
        assert_eq!(phase, Phase::Linking);
        // Expired unused: the pairing times out like a QR pairing.
        assert_eq!(
            showing.apply(&Event::Timeout { account_id: 1 }),
            Phase::TimedOut
        );
        // A new pairing starts over, QR codes first.
        let again = Phase::PairCode {
            code: "ABCD-EFGH".into(),
            expires_at: at,
        }
        .apply(&Event::Pending {
            account_id: 1,
            generation: 3,
        });
        assert_eq!(again, Phase::Waiting);
    }

    #[test]
    fn pair_codes_read_like_whatsapps() {
        assert_eq!(display_pair_code("ab3defgh"), "AB3D-EFGH");
        assert_eq!(display_pair_code(" AB3D-EFGH "), "AB3D-EFGH");
        assert_eq!(display_pair_code("short"), "SHORT");
    }
}
