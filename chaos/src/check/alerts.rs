//! Alerts: every problem raised one, and every alert reached the operator's Telegram chat, or was
//! counted in a backlog summary, and none twice unmarked.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    status::{RunStatus, TargetStatus},
};

use super::Record;
use super::{Findings, Tables};
use crate::procs::OPERATOR_CHAT;

/// Every run that went wrong raised its alert: unknown sends, failed and partial runs, missed
/// occurrences, and runs skipped because the account was offline.
pub(super) fn problems_alerted(t: &Tables, f: &mut Findings) {
    let mut unknown_groups: HashMap<i64, HashSet<&str>> = HashMap::new();
    let mut run_alerts: HashSet<(i64, RunStatus)> = HashSet::new();
    let mut offline: HashSet<i64> = HashSet::new();
    // (reminder, its name, first and last occurrence) of each missed alert.
    let mut missed: Vec<(i64, &str, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (_, event) in &t.events {
        match event {
            Event::TargetsUnknown { run_id, groups, .. } => {
                unknown_groups
                    .entry(*run_id)
                    .or_default()
                    .extend(groups.iter().map(String::as_str));
            }
            Event::RunAlert { run_id, status, .. } => {
                run_alerts.insert((*run_id, *status));
            }
            Event::AccountOffline { run_id, .. } => {
                offline.insert(*run_id);
            }
            Event::Missed {
                reminder_id,
                reminder_name,
                first,
                last,
                ..
            } => missed.push((*reminder_id, reminder_name, *first, *last)),
            _ => {}
        }
    }
    for run in &t.runs {
        let targets: Vec<_> = t.targets.iter().filter(|x| x.run_id == run.id).collect();
        for target in targets.iter().filter(|x| x.status == TargetStatus::Unknown) {
            let told = unknown_groups
                .get(&run.id)
                .is_some_and(|groups| groups.contains(target.group_name.as_str()));
            if !told {
                f.unreported.push(format!(
                    "run #{} ({}): the send to {} is unknown and no alert says so",
                    run.id, run.reminder_name, target.group_name
                ));
            }
        }
        if matches!(run.status, RunStatus::Failed | RunStatus::Partial)
            && !run_alerts.contains(&(run.id, run.status))
        {
            f.unreported.push(format!(
                "run #{} ({}) ended {} and raised no run alert",
                run.id, run.reminder_name, run.status
            ));
        }
        let was_missed = run.status == RunStatus::Skipped
            && run
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("missed") || r.starts_with("not sent"));
        if was_missed {
            // Missed occurrences come as a missed alert; one a change overtook (a pause, a new
            // schedule) may come as the skipped run's own alert.
            let told = run_alerts.contains(&(run.id, RunStatus::Skipped))
                || missed.iter().any(|(reminder, name, first, last)| {
                    let same_reminder = match run.reminder_id {
                        Some(id) => *reminder == id,
                        None => *name == run.reminder_name,
                    };
                    same_reminder && *first <= run.occurrence_at && run.occurrence_at <= *last
                });
            if !told {
                f.unreported.push(format!(
                    "run #{} ({}, {}) was not sent ({}) and no alert covers it",
                    run.id,
                    run.reminder_name,
                    run.occurrence_at,
                    run.reason.as_deref().unwrap_or_default()
                ));
            }
        }
        let skipped_offline = targets.iter().any(|x| {
            x.status == TargetStatus::Skipped
                && x.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("the account was not connected"))
        });
        if skipped_offline && !offline.contains(&run.id) {
            f.unreported.push(format!(
                "run #{} ({}) skipped groups as the account was offline and raised no alert",
                run.id, run.reminder_name
            ));
        }
    }
}

/// What identifies an alert's message: its symbol and the run it links to, or the reminder or
/// account it names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum AlertKey {
    Run(char, i64),
    Missed(String),
    LoggedOut(String),
    Banned(String),
    Down(String),
}

pub(super) fn event_key(event: &Event, labels: &HashMap<i64, String>) -> Option<AlertKey> {
    let label = |id: &i64| {
        labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("account #{id}"))
    };
    Some(match event {
        Event::RunAlert { run_id, status, .. } => {
            let symbol = match status {
                RunStatus::Failed => '❌',
                RunStatus::Partial => '⚠',
                RunStatus::Paused => '⏸',
                RunStatus::Skipped => '⏭',
                _ => return None,
            };
            AlertKey::Run(symbol, *run_id)
        }
        Event::TargetsUnknown { run_id, .. } => AlertKey::Run('❓', *run_id),
        Event::AccountOffline { run_id, .. } => AlertKey::Run('📵', *run_id),
        Event::Missed { reminder_name, .. } => AlertKey::Missed(reminder_name.clone()),
        Event::LoggedOut { account_id, .. } => AlertKey::LoggedOut(label(account_id)),
        Event::Banned { account_id, .. } => AlertKey::Banned(label(account_id)),
        Event::AccountDown { label, .. } => AlertKey::Down(label.clone()),
        _ => return None,
    })
}

/// Reads a delivered message back: an alert's key, or the count a backlog summary stands for.
pub(super) enum Message {
    Alert(AlertKey),
    Summary(usize),
    Other,
}

pub(super) fn message_key(text: &str) -> Message {
    let first = text.chars().next().unwrap_or(' ');
    if first == '⏳' {
        let n = text
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return Message::Summary(n);
    }
    if let Some((_, rest)) = text.rsplit_once("/reminders/runs/") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(run_id) = digits.parse() {
            return Message::Alert(AlertKey::Run(first, run_id));
        }
    }
    let quoted = || {
        let start = text.find('“')? + '“'.len_utf8();
        let end = text[start..].find('”')? + start;
        Some(text[start..end].to_owned())
    };
    if first == '⏭' && text.contains("was missed") {
        return quoted().map_or(Message::Other, |n| Message::Alert(AlertKey::Missed(n)));
    }
    let between = |from: &str, to: &str| {
        let start = text.find(from)? + from.len();
        let end = text[start..].find(to)? + start;
        Some(text[start..end].to_owned())
    };
    if let Some(label) = between("⚠️ ", " was logged out of WhatsApp") {
        return Message::Alert(AlertKey::LoggedOut(label));
    }
    if let Some(rest) = text.strip_prefix("🚫 WhatsApp banned ") {
        let end = [rest.find(" until "), rest.find(" (")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        return Message::Alert(AlertKey::Banned(rest[..end].to_owned()));
    }
    if let Some(label) = between("⚠️ ", " has been offline since") {
        return Message::Alert(AlertKey::Down(label));
    }
    Message::Other
}

/// How an alert sent again says it may repeat one the operator already has (the bot's words, in
/// worker/src/telegram/texts.rs): the bot lost track of whether the first copy arrived.
const REPEAT_MARK: &str = "may repeat an earlier message";

/// Every alert event reached the operator's chat, or was counted in a backlog summary, and none
/// twice unmarked: a copy beyond the first only ever says it may be a repeat. Waits a while for
/// the last ones to go out.
pub(super) async fn telegram(t: &Tables, trial: &Record<'_>, f: &mut Findings) {
    let labels = &trial.account_labels;
    let mut expected: BTreeMap<AlertKey, usize> = BTreeMap::new();
    for (_, event) in &t.events {
        if let Some(key) = event_key(event, labels) {
            *expected.entry(key).or_default() += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let mut plain: BTreeMap<AlertKey, usize> = BTreeMap::new();
        let mut marked: BTreeMap<AlertKey, usize> = BTreeMap::new();
        let mut summarised = 0;
        let mut strays = Vec::new();
        let delivered = trial.bot.delivered(OPERATOR_CHAT);
        // A summary sent again repeats the first copy's text: it counts once, whichever copies
        // arrived.
        let mut summaries = HashSet::new();
        for text in &delivered {
            let repeat = text.contains(REPEAT_MARK);
            let original = text.rsplit_once("\n\n↻").map_or(text.as_str(), |(t, _)| t);
            match message_key(text) {
                Message::Alert(key) if repeat => *marked.entry(key).or_default() += 1,
                Message::Alert(key) => *plain.entry(key).or_default() += 1,
                Message::Summary(n) => {
                    if summaries.insert(original) {
                        summarised += n;
                    }
                }
                Message::Other => strays.push(text.clone()),
            }
        }
        let mut problems = Vec::new();
        let mut missing = 0;
        for (key, want) in &expected {
            let have = plain.get(key).copied().unwrap_or(0);
            if have > *want {
                problems.push(format!(
                    "{key:?}: {have} Telegram messages for {want} alert event(s)"
                ));
            }
            let again = marked.get(key).copied().unwrap_or(0);
            missing += want.saturating_sub(have + again);
        }
        for (key, have) in plain.iter().chain(&marked) {
            if !expected.contains_key(key) {
                problems.push(format!(
                    "{key:?}: {have} Telegram message(s) for no alert event"
                ));
            }
        }
        for text in &strays {
            problems.push(format!("a Telegram message that is no alert: {text:?}"));
        }
        if missing != summarised {
            let missing_keys: Vec<_> = expected
                .iter()
                .filter(|(k, want)| {
                    plain.get(*k).copied().unwrap_or(0) + marked.get(*k).copied().unwrap_or(0)
                        < **want
                })
                .map(|(k, _)| format!("{k:?}"))
                .collect();
            problems.push(format!(
                "{missing} alert(s) never reached Telegram one by one and {summarised} were summarised: {missing_keys:?}"
            ));
        }
        if problems.is_empty() {
            let sent: usize = plain.values().sum();
            let again: usize = marked.values().sum();
            f.notes.push(format!(
                "{sent} alerts delivered one by one, {summarised} summarised, {} refused while Telegram was down",
                trial.bot.refused()
            ));
            if again > 0 {
                f.notes.push(format!(
                    "{again} alert(s) sent again marked as a possible repeat: the bot lost track of whether the first copy arrived"
                ));
            }
            return;
        }
        if Instant::now() >= deadline {
            f.unreported.extend(problems);
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
