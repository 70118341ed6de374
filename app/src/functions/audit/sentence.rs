//! An audit entry as a sentence, from the reader's point of view: "You paused “Weekday class”."
//! Names come from [`Names`]; what an action needs from its detail (a time zone's change, a
//! file's name) is read here, and the detail itself stays available beside the sentence.

use entity::audit_log;
use serde_json::Value;
use service::audit::Names;

use crate::wire::{AuditSentence, AuditTarget};

/// `entry` in words, for operator `me`.
pub fn sentence(entry: &audit_log::Model, me: i64, names: &Names) -> AuditSentence {
    let detail = |key: &str| {
        entry
            .detail
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    let quoted = |text: String| format!("“{text}”");
    // What comes before the target and after it; `None` when the action has no target.
    let (before, after): (String, Option<String>) = match entry.action.as_str() {
        "account.added" => ("added the account ".into(), Some(String::new())),
        "account.deleted" => ("deleted the account ".into(), Some(String::new())),
        "account.pair_code_requested" => (
            "started pairing ".into(),
            Some(" by a code on the phone".into()),
        ),
        "account.pair_requested" => ("started pairing ".into(), Some(String::new())),
        "account.send_test" => ("sent a test message from ".into(), Some(String::new())),
        "account.sim_scan" => (
            "scanned the simulated QR code of ".into(),
            Some(String::new()),
        ),
        "account.unpair_requested" => ("asked to unpair ".into(), Some(String::new())),
        "calendar_feed.created" => ("made a calendar link".into(), None),
        "calendar_feed.revoked" => ("revoked the calendar link".into(), None),
        "dashboard.activity_cleared" => ("cleared the dashboard's activity".into(), None),
        "groups.sync_requested" => ("asked to sync the groups of ".into(), Some(String::new())),
        "job.retried" => ("retried the failed ".into(), Some(String::new())),
        "login" => ("signed in".into(), None),
        "login.failed" => (
            match detail("reason") {
                Some(reason) => format!("used a sign-in link that was refused ({reason})"),
                None => "used a sign-in link that was refused".into(),
            },
            None,
        ),
        "login.rate_limited" => ("tried to sign in too many times".into(), None),
        "login_link.issued" => ("issued a sign-in link".into(), None),
        "logout" => ("signed out".into(), None),
        "media.expired" => (
            match detail("name") {
                Some(name) => format!("removed the unused file {}", quoted(name)),
                None => "removed an unused file".into(),
            },
            None,
        ),
        "media.uploaded" => (
            match detail("name") {
                Some(name) => format!("uploaded {}", quoted(name)),
                None => "uploaded a file".into(),
            },
            None,
        ),
        "operator.added" => ("added ".into(), Some(String::new())),
        "operator.disabled" => ("disabled ".into(), Some(String::new())),
        "operator.enabled" => ("enabled ".into(), Some(String::new())),
        "operator.timezone_changed" => (
            match (detail("from"), detail("to")) {
                (Some(from), Some(to)) => format!("changed the time zone from {from} to {to}"),
                _ => "changed the time zone".into(),
            },
            None,
        ),
        "reminder.changed" => ("re-armed the schedule of ".into(), Some(String::new())),
        "reminder.created" => ("created ".into(), Some(String::new())),
        "reminder.deleted" => ("deleted ".into(), Some(String::new())),
        "reminder.duplicated" => (
            "made ".into(),
            Some(" as a copy of another reminder".into()),
        ),
        "reminder.paused" => ("paused ".into(), Some(String::new())),
        "reminder.restored" => ("put back ".into(), Some(", undoing its delete".into())),
        "reminder.resumed" => ("resumed ".into(), Some(String::new())),
        "reminder.sent_now" => ("sent ".into(), Some(" now, outside its schedule".into())),
        "reminder.skipped" => (
            "skipped the next send of ".into(),
            Some(
                detail("date")
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default(),
            ),
        ),
        "reminder.updated" => ("edited ".into(), Some(String::new())),
        "run.cancelled" => ("cancelled the paused run of ".into(), Some(String::new())),
        "run.resumed" => ("resumed the paused run of ".into(), Some(String::new())),
        "run.retried" => (
            "retried the run of ".into(),
            Some(
                if entry.detail.as_ref().and_then(|d| d.get("include_unknown"))
                    == Some(&Value::Bool(true))
                {
                    " to the groups it did not reach, and to those that may already have had it"
                } else {
                    " to the groups it did not reach"
                }
                .into(),
            ),
        ),
        "sessions.ended_others" => ("signed out every other device".into(), None),
        "telegram.alert_failed" => ("could not deliver an alert on Telegram".into(), None),
        "telegram.refused" => (
            match detail("telegram_user_id") {
                Some(id) => format!("refused Telegram user {id}, who is not on the list"),
                None => "refused a Telegram user who is not on the list".into(),
            },
            None,
        ),
        other => (format!("recorded {other}"), None),
    };
    // The outsider is the entry's actor; Herald is who refused them.
    let subject = match entry.action.as_str() {
        "telegram.refused" => "Herald",
        _ => subject(entry, me),
    };
    match after {
        Some(after) => AuditSentence {
            lead: format!("{subject} {before}"),
            target: Some(target(entry, names)),
            tail: format!("{after}."),
        },
        None => AuditSentence {
            lead: format!("{subject} {before}."),
            target: None,
            tail: String::new(),
        },
    }
}

/// Who acted, from the reader's point of view.
fn subject(entry: &audit_log::Model, me: i64) -> &'static str {
    let mine = entry.operator_id == Some(me);
    match (entry.actor.as_str(), mine) {
        ("operator", true) => "You",
        ("operator", false) => "An operator",
        ("telegram", true) => "You, on Telegram,",
        ("telegram", false) => "Someone on Telegram",
        ("system", _) => "Herald",
        ("cli", _) => "The command line",
        _ => "Someone",
    }
}

/// The entry's target by name, linked while its page exists.
fn target(entry: &audit_log::Model, names: &Names) -> AuditTarget {
    let kind = entry.target_type.as_deref().unwrap_or("");
    let id = entry.target_id.as_deref().unwrap_or("");
    let live = |ids: &std::collections::HashMap<i64, String>| {
        id.parse::<i64>().is_ok_and(|id| ids.contains_key(&id))
    };
    let href = match kind {
        "reminder" if live(&names.reminders) => Some(format!("/reminders/{id}")),
        "account" if live(&names.accounts) => Some(format!("/accounts/{id}")),
        "run" if live(&names.runs) => Some(format!("/reminders/runs/{id}")),
        _ => None,
    };
    let text = match names.of(entry) {
        Some(name) => format!("“{name}”"),
        None if id.is_empty() => kind.replace('_', " "),
        None => format!("{} {id}", kind.replace('_', " ")),
    };
    AuditTarget { text, href }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn entry(
        actor: &str,
        action: &str,
        target: Option<(&str, &str)>,
        detail: Value,
    ) -> audit_log::Model {
        audit_log::Model {
            id: 1,
            at: Utc::now(),
            actor: actor.into(),
            operator_id: Some(7),
            action: action.into(),
            target_type: target.map(|(k, _)| k.into()),
            target_id: target.map(|(_, id)| id.into()),
            detail: Some(detail),
            client_ip: None,
        }
    }

    fn words(sentence: &AuditSentence) -> String {
        let target = sentence
            .target
            .as_ref()
            .map(|t| t.text.as_str())
            .unwrap_or("");
        format!("{}{target}{}", sentence.lead, sentence.tail)
    }

    #[test]
    fn entries_read_as_sentences_with_names_linked_while_their_page_exists() {
        let mut names = Names::default();
        names.reminders.insert(12, "Weekday class".into());
        names.accounts.insert(3, "Bakery".into());
        names.runs.insert(5, "Weekday class".into());
        // (actor, action, target, detail, reader, the sentence, its link)
        let cases = [
            (
                "operator",
                "reminder.paused",
                Some(("reminder", "12")),
                json!({}),
                7,
                "You paused “Weekday class”.",
                Some("/reminders/12"),
            ),
            (
                "operator",
                "run.retried",
                Some(("run", "5")),
                json!({ "include_unknown": true }),
                7,
                "You retried the run of “Weekday class” to the groups it did not reach, and to those that may already have had it.",
                Some("/reminders/runs/5"),
            ),
            // Deleted since: the name the entry recorded, and no link to a page that is gone.
            (
                "telegram",
                "reminder.deleted",
                Some(("reminder", "13")),
                json!({ "name": "Old" }),
                7,
                "You, on Telegram, deleted “Old”.",
                None,
            ),
            (
                "operator",
                "account.pair_code_requested",
                Some(("account", "3")),
                json!({}),
                7,
                "You started pairing “Bakery” by a code on the phone.",
                Some("/accounts/3"),
            ),
            (
                "operator",
                "operator.timezone_changed",
                Some(("operator", "7")),
                json!({ "from": "UTC", "to": "Europe/Paris" }),
                7,
                "You changed the time zone from UTC to Europe/Paris.",
                None,
            ),
            (
                "system",
                "reminder.skipped",
                Some(("reminder", "99")),
                json!({ "date": "2027-01-04" }),
                7,
                "Herald skipped the next send of reminder 99 on 2027-01-04.",
                None,
            ),
            (
                "telegram",
                "telegram.refused",
                None,
                json!({ "telegram_user_id": 42 }),
                7,
                "Herald refused Telegram user 42, who is not on the list.",
                None,
            ),
            (
                "operator",
                "something.new",
                None,
                json!({}),
                8,
                "An operator recorded something.new.",
                None,
            ),
        ];
        for (actor, action, target, detail, reader, said, link) in cases {
            let sentence = sentence(&entry(actor, action, target, detail), reader, &names);
            assert_eq!(words(&sentence), said);
            assert_eq!(
                sentence.target.and_then(|t| t.href).as_deref(),
                link,
                "{said}"
            );
        }
    }

    #[test]
    fn every_action_the_filter_names_has_its_own_words() {
        for (code, _) in crate::routes::audit::ACTIONS {
            let said = words(&sentence(
                &entry("operator", code, None, json!({})),
                7,
                &Names::default(),
            ));
            assert!(!said.contains("recorded"), "{code}: {said}");
        }
    }
}
