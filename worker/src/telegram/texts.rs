//! Everything the bot says, as plain functions of what happened: easy to read in one place and
//! to test without Telegram.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{
    account::PhoneNumber,
    bus::Event,
    status::{AccountStatus, Provider, RunStatus},
};
use entity::whatsapp_accounts;
use runtime::config::PublicUrl;
use service::runs;

pub const REFUSAL: &str = "Sorry, this bot is private.";
pub const TIMED_OUT: &str = "Pairing timed out — /pair again";
pub const PRIVATE_ONLY: &str = "Please talk to me in a private chat.";
pub const UNKNOWN_COMMAND: &str = "I don't know that one — /help lists what I can do.";
pub const NOTHING_TO_CANCEL: &str = "No pairing is being followed in this chat.";
pub const NO_ACCOUNTS: &str = "No WhatsApp accounts yet — /pair <name> adds and links one.";
pub const NO_REMINDERS: &str = "No reminders are scheduled.";
pub const TRY_AGAIN: &str = "Something went wrong on Herald's side — please try again.";
pub const RUN_RESUMING: &str = "Resuming: the rest goes out now, past the send window.";
pub const RUN_CANCELLING: &str = "Cancelled: the groups still to send are skipped.";
pub const RUN_NOT_PAUSED: &str = "That run is no longer paused.";
pub const STALE_BUTTON: &str = "That button no longer applies — /accounts shows the current list.";

/// The commands and their descriptions, as registered with setMyCommands and shown by /help.
pub const COMMANDS: [(&str, &str); 8] = [
    ("start", "what this bot does"),
    ("help", "this list"),
    (
        "login",
        "a link into the dashboard (single use, 10 minutes)",
    ),
    (
        "pair",
        "<name> [+phone number] — link a WhatsApp account by QR code, or by a code entered on that phone",
    ),
    ("unpair", "<name> — unlink a WhatsApp account"),
    ("accounts", "your accounts, with buttons to pair or unpair"),
    ("reminders", "the next 10 reminders due"),
    ("cancel", "stop following a pairing in this chat"),
];

pub fn help() -> String {
    let mut text = String::from("Herald sends your WhatsApp reminders. Commands:\n");
    for (command, description) in COMMANDS {
        text.push_str(&format!("/{command} — {description}\n"));
    }
    text.truncate(text.trim_end().len());
    text
}

pub fn login_link(url: &str) -> String {
    format!("Your login link — single use, valid for 10 minutes:\n{url}")
}

pub fn usage(command: &str) -> String {
    format!("Usage: /{command} <account name>, e.g. /{command} Bakery")
}

pub fn bad_label(command: &str, problem: &str) -> String {
    format!("Account name: {problem}. Usage: /{command} <account name>")
}

pub fn unknown_account(label: &str) -> String {
    format!("No account called {label} — /accounts lists them.")
}

pub fn already_connected(label: &str) -> String {
    format!("{label} is already connected — /unpair it first")
}

pub fn pairing_started(label: &str, added: bool, phone: Option<&PhoneNumber>) -> String {
    let added = if added { "Added the account. " } else { "" };
    match phone {
        Some(phone) => format!(
            "{added}Pairing {label} with +{}: the code to enter on that phone follows. /cancel \
             stops following it here.",
            phone.digits()
        ),
        None => {
            format!("{added}Pairing {label}: the QR code follows. /cancel stops following it here.")
        }
    }
}

pub const PAIR_USAGE: &str = "Usage: /pair <account name> [+phone number], e.g. /pair Bakery, or \
     /pair Bakery +44 7700 900123 to link by a code entered on that phone";

pub const BAD_PHONE: &str = "Phone number: write it in international form with its country \
     code, e.g. /pair Bakery +44 7700 900123";

pub fn not_paired(label: &str) -> String {
    format!("{label} is not paired.")
}

pub fn unpairing(label: &str) -> String {
    format!("Unpairing {label}: WhatsApp will forget this device.")
}

pub fn cancelled_following(label: &str) -> String {
    format!("Stopped following the pairing of {label} here.")
}

pub fn scan_caption(label: &str, expires_in_secs: i64) -> String {
    format!("Scan with WhatsApp on {label} — expires in {expires_in_secs} s")
}

pub fn pair_code(label: &str, code: &str, expires_in_secs: i64) -> String {
    format!(
        "To link {label} by phone number, in WhatsApp → Settings → Linked devices → Link a device → \
         Link with phone number instead, enter {code} — expires in {expires_in_secs} s"
    )
}

pub fn connected(label: &str, phone: &str) -> String {
    format!("✅ {label} connected as +{phone}")
}

pub fn synced(total: u32) -> String {
    let noun = if total == 1 { "group" } else { "groups" };
    format!("Synced {total} {noun}")
}

pub fn duplicate(label: &str, existing_label: &str) -> String {
    format!(
        "This phone is already linked as {existing_label}, so {label} was reset. \
         /unpair {existing_label} first to link the phone here."
    )
}

pub fn pairing_failed(label: &str, reason: &str) -> String {
    format!("Pairing {label} failed: {reason}. /pair {label} to try again.")
}

pub fn pairing_abandoned(label: &str) -> String {
    format!("The pairing of {label} was cancelled.")
}

/// One line per account: a status mark, the label, and what matters about its state.
pub fn accounts(accounts: &[whatsapp_accounts::Model], tz: Tz) -> String {
    let mut text = String::from("Your accounts:");
    for account in accounts {
        let state = match account.status {
            AccountStatus::Connected => match &account.phone_number {
                Some(phone) => format!("🟢 connected as +{phone}"),
                None => "🟢 connected".to_owned(),
            },
            AccountStatus::Pending => "🟡 pairing".to_owned(),
            AccountStatus::Unpaired => "⚪ not paired".to_owned(),
            AccountStatus::Disconnected => match account.last_seen_at {
                Some(at) => format!("🔴 offline since {}", time(at, tz)),
                None => "🔴 offline".to_owned(),
            },
            AccountStatus::LoggedOut => "⛔ logged out".to_owned(),
            AccountStatus::Banned => "🚫 banned".to_owned(),
        };
        let simulated = if account.provider == Provider::Sim {
            " (simulated)"
        } else {
            ""
        };
        text.push_str(&format!("\n{}{simulated} — {state}", account.label));
    }
    text
}

/// The next fires, soonest first, as `(reminder name, account label, when)`.
pub fn upcoming(fires: &[(String, String, DateTime<Utc>)], tz: Tz) -> String {
    let mut text = format!("Next reminders ({}):", tz.name());
    for (name, label, at) in fires {
        text.push_str(&format!("\n{} — {name} · {label}", time(*at, tz)));
    }
    text
}

/// The alert an event raises, if it raises one. `label` names the event's account for events
/// that do not carry it.
pub fn alert(event: &Event, label: &str, tz: Tz, public_url: &PublicUrl) -> Option<String> {
    let link = |run_id: i64| runs::page_url(public_url, run_id);
    let text = match event {
        Event::LoggedOut { reason, .. } => format!(
            "⚠️ {label} was logged out of WhatsApp ({reason}). /pair {label} to link it again."
        ),
        Event::Banned { reason, until, .. } => {
            let until = until.map_or(String::new(), |at| format!(" until {}", time(at, tz)));
            format!("🚫 WhatsApp banned {label}{until} ({reason}). Herald stopped sending from it.")
        }
        Event::AccountDown { label, since, .. } => format!(
            "⚠️ {label} has been offline since {}. Herald keeps trying to reconnect.",
            time(*since, tz)
        ),
        Event::RunAlert {
            run_id,
            reminder_name,
            status,
            counts,
            ..
        } => {
            let (sent, total) = (counts.sent, counts.total());
            match status {
                RunStatus::Failed => format!(
                    "❌ “{reminder_name}” failed: none of its {total} groups received it. {}",
                    link(*run_id)
                ),
                RunStatus::Partial => format!(
                    "⚠️ “{reminder_name}” was only partly sent: {sent} of {total} groups. {}",
                    link(*run_id)
                ),
                RunStatus::Paused => format!(
                    "⏸ “{reminder_name}” paused at the end of its send window with {} of {total} \
                     groups still to send. Resume or cancel it: {}",
                    counts.pending,
                    link(*run_id)
                ),
                // Missed occurrences come as `alert.missed`; this is a schedule Herald could
                // not read, and the reminder has stopped.
                RunStatus::Skipped => format!(
                    "⏭ “{reminder_name}” was skipped and has stopped: its schedule could not be \
                     read. Edit it to fix. {}",
                    link(*run_id)
                ),
                _ => return None,
            }
        }
        Event::Missed {
            reminder_name,
            occurrences,
            first,
            last,
            ..
        } => match occurrences {
            1 => format!(
                "⏭ “{reminder_name}” was missed on {}: Herald was not running, so nothing was \
                 sent.",
                time(*first, tz)
            ),
            n => format!(
                "⏭ “{reminder_name}” was missed {n} times between {} and {}: Herald was not \
                 running, so nothing was sent.",
                time(*first, tz),
                time(*last, tz)
            ),
        },
        Event::AccountOffline {
            label,
            run_id,
            reminder_name,
            ..
        } => format!(
            "📵 “{reminder_name}” was due but {label} was offline, so its groups were skipped. {}",
            link(*run_id)
        ),
        Event::TargetsUnknown {
            run_id,
            reminder_name,
            groups,
            ..
        } => {
            const SHOWN: usize = 5;
            let mut names = groups
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if groups.len() > SHOWN {
                names.push_str(&format!(" and {} more", groups.len() - SHOWN));
            }
            format!(
                "❓ “{reminder_name}”: the send to {names} was interrupted or never answered. \
                 WhatsApp may or may not have delivered it, and Herald will not resend on its \
                 own — please check. {}",
                link(*run_id)
            )
        }
        _ => return None,
    };
    Some(text)
}

/// Stands for the `earlier` alerts of a backlog that are not sent one by one; the newest `shown`
/// follow it.
pub fn backlog(earlier: usize, shown: usize, public_url: &PublicUrl) -> String {
    let (alerts, were) = if earlier == 1 {
        ("alert", "was")
    } else {
        ("alerts", "were")
    };
    format!(
        "⏳ {earlier} earlier {alerts} {were} raised while the alerts could not go out one by \
         one (Herald was down, Telegram unreachable, or a burst). The newest {shown} follow; \
         every run is listed at {}",
        public_url.join("/runs")
    )
}

fn time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

/// A message sent again because Herald could not learn whether the first copy arrived (the bot
/// stopped, or Telegram's answer was lost): said at the end, so the message reads as before.
pub fn possible_repeat(text: &str) -> String {
    format!(
        "{text}\n\n↻ Sent again: Herald could not confirm that this reached you, so it may \
         repeat an earlier message."
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use domain::run::RunCounts;

    use super::*;

    fn url() -> PublicUrl {
        PublicUrl::parse("https://herald.example.com").unwrap()
    }

    fn run_alert(status: RunStatus, counts: RunCounts) -> Event {
        Event::RunAlert {
            account_id: 1,
            run_id: 9,
            reminder_name: "Class".into(),
            reminder_id: Some(3),
            status,
            counts,
        }
    }

    #[test]
    fn run_alerts_say_what_happened_and_link_the_run() {
        let counts = RunCounts {
            sent: 2,
            failed: 1,
            pending: 0,
            ..Default::default()
        };
        let tz = chrono_tz::UTC;
        let partial = alert(&run_alert(RunStatus::Partial, counts), "B", tz, &url()).unwrap();
        assert!(partial.contains("2 of 3 groups"), "{partial}");
        assert!(partial.ends_with("https://herald.example.com/reminders/runs/9"));
        let paused = RunCounts {
            sent: 1,
            pending: 4,
            ..Default::default()
        };
        let paused = alert(&run_alert(RunStatus::Paused, paused), "B", tz, &url()).unwrap();
        assert!(paused.contains("4 of 5 groups still to send"), "{paused}");
        assert!(paused.contains("Resume or cancel"));
        assert!(alert(&run_alert(RunStatus::Success, counts), "B", tz, &url()).is_none());
    }

    #[test]
    fn only_alerting_events_raise_alerts() {
        let tz = chrono_tz::UTC;
        let logged_out = Event::LoggedOut {
            account_id: 1,
            reason: "401".into(),
        };
        let text = alert(&logged_out, "Bakery", tz, &url()).unwrap();
        assert!(text.contains("Bakery was logged out"), "{text}");
        let quiet = Event::Connected {
            account_id: 1,
            phone: "1".into(),
        };
        assert!(alert(&quiet, "Bakery", tz, &url()).is_none());
        let unknown = Event::TargetsUnknown {
            account_id: 1,
            run_id: 2,
            reminder_name: "R".into(),
            groups: (1..=7).map(|i| format!("G{i}")).collect(),
        };
        let text = alert(&unknown, "Bakery", tz, &url()).unwrap();
        assert!(text.contains("G1, G2, G3, G4, G5 and 2 more"), "{text}");
        let at = Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap();
        let missed = Event::Missed {
            account_id: 1,
            reminder_id: 2,
            reminder_name: "Class".into(),
            occurrences: 3,
            first: at,
            last: at + chrono::Duration::days(2),
        };
        let text = alert(&missed, "Bakery", tz, &url()).unwrap();
        assert!(
            text.contains("missed 3 times between Mon 4 Jan 08:00 and Wed 6 Jan 08:00"),
            "{text}"
        );
    }

    #[test]
    fn a_backlog_summary_counts_what_it_stands_for() {
        let text = backlog(290, 10, &url());
        assert!(
            text.starts_with("⏳ 290 earlier alerts were raised"),
            "{text}"
        );
        assert!(text.contains("The newest 10 follow"), "{text}");
        assert!(text.ends_with("https://herald.example.com/runs"), "{text}");
        assert!(backlog(1, 10, &url()).starts_with("⏳ 1 earlier alert was raised"));
    }

    #[test]
    fn times_are_shown_in_the_operator_zone() {
        let at = Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap();
        let fires = [("Class".to_owned(), "Yoga".to_owned(), at)];
        let text = upcoming(&fires, chrono_tz::Asia::Kuala_Lumpur);
        assert_eq!(
            text,
            "Next reminders (Asia/Kuala_Lumpur):\nMon 4 Jan 16:00 — Class · Yoga"
        );
    }

    #[test]
    fn help_lists_every_command() {
        let text = help();
        for (command, _) in COMMANDS {
            assert!(text.contains(&format!("/{command} ")), "{text}");
        }
    }
}
