//! The invariants, checked once a trial has settled. Deliveries are counted from the
//! simulator's outbox (`sim_messages`) and traced back to run parts through their unique
//! bodies and each run's own copy of its message; alerts are counted at the fake Bot API.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use domain::{
    bus::{Event, stored},
    status::{RunStatus, TargetStatus},
};
use entity::{events, reminder_run_parts, reminder_run_targets, reminder_runs, sim_messages};
use sea_orm::EntityTrait;

use crate::{model, procs::OPERATOR_CHAT, trial::Trial};

/// How every send test's text starts; they belong to no run.
pub const TEST_PREFIX: &str = "chaos-test-";

/// The closest two fires of one reminder may be (`domain::recurrence::MIN_INTERVAL`).
const MIN_INTERVAL: TimeDelta = TimeDelta::minutes(5);

/// What the checks found. Any entry but a note fails the trial.
#[derive(Debug, Default)]
pub struct Findings {
    /// Messages in the simulator's outbox.
    pub sends: u64,
    /// A (run, group, part) or a test message delivered more than once.
    pub duplicates: Vec<String>,
    /// Occurrences that came due and have no run.
    pub lost: Vec<String>,
    /// Problems with no alert, and alerts that did not reach Telegram exactly once.
    pub unreported: Vec<String>,
    /// Every other broken invariant.
    pub other: Vec<String>,
    /// The harness could not do its part.
    pub harness: Vec<String>,
    /// Worth knowing, not a violation.
    pub notes: Vec<String>,
}

impl Findings {
    pub fn failed(&self) -> bool {
        !(self.duplicates.is_empty()
            && self.lost.is_empty()
            && self.unreported.is_empty()
            && self.other.is_empty()
            && self.harness.is_empty())
    }

    pub fn merge(&mut self, other: Findings) {
        self.sends += other.sends;
        self.duplicates.extend(other.duplicates);
        self.lost.extend(other.lost);
        self.unreported.extend(other.unreported);
        self.other.extend(other.other);
        self.harness.extend(other.harness);
        self.notes.extend(other.notes);
    }

    pub fn violations(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.duplicates
            .iter()
            .map(|v| ("duplicate", v))
            .chain(self.lost.iter().map(|v| ("lost occurrence", v)))
            .chain(self.unreported.iter().map(|v| ("unreported", v)))
            .chain(self.other.iter().map(|v| ("violation", v)))
            .chain(self.harness.iter().map(|v| ("harness", v)))
    }
}

/// Everything the checks read, loaded once.
struct Tables {
    runs: Vec<reminder_runs::Model>,
    targets: Vec<reminder_run_targets::Model>,
    parts: Vec<reminder_run_parts::Model>,
    outbox: Vec<sim_messages::Model>,
    /// Each alert and bus event, with when it was raised.
    events: Vec<(DateTime<Utc>, Event)>,
}

pub async fn run(trial: &Trial, cutoff: DateTime<Utc>) -> anyhow::Result<Findings> {
    let db = trial.db()?;
    let mut events_rows = events::Entity::find().all(db).await?;
    events_rows.sort_by_key(|e| e.id);
    let tables = Tables {
        runs: reminder_runs::Entity::find().all(db).await?,
        targets: reminder_run_targets::Entity::find().all(db).await?,
        parts: reminder_run_parts::Entity::find().all(db).await?,
        outbox: sim_messages::Entity::find().all(db).await?,
        events: events_rows
            .into_iter()
            .filter(|row| row.operator_id.is_some())
            .filter_map(|row| {
                stored::join::<Event>(&row.kind, row.payload)
                    .ok()
                    .map(|e| (row.created_at, e))
            })
            .collect(),
    };
    let mut findings = Findings {
        sends: tables.outbox.len() as u64,
        ..Findings::default()
    };
    findings.notes.push(summary(&tables));
    finished_runs(&tables, &mut findings);
    deliveries(&tables, trial.tests(), &mut findings);
    copies(&tables, trial, &mut findings);
    occurrences(&tables, trial, cutoff, &mut findings);
    problems_alerted(&tables, &mut findings);
    telegram(&tables, trial, &mut findings).await;
    Ok(findings)
}

/// What the trial left behind, for the log: the runs by outcome and the targets not sent.
fn summary(t: &Tables) -> String {
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for run in &t.runs {
        *runs.entry(run.status.to_string()).or_default() += 1;
    }
    let mut targets: BTreeMap<String, usize> = BTreeMap::new();
    for target in &t.targets {
        *targets.entry(target.status.to_string()).or_default() += 1;
    }
    // A send that repeated a delivered message's id was dropped, as WhatsApp drops it.
    let repeats: i64 = t.outbox.iter().map(|m| i64::from(m.repeats)).sum();
    format!(
        "{} runs {runs:?}, targets {targets:?}, {} messages in the outbox, {repeats} repeated ids dropped",
        t.runs.len(),
        t.outbox.len()
    )
}

/// Every run has ended, and every target of an ended run has an outcome, with a reason unless
/// it was sent.
fn finished_runs(t: &Tables, f: &mut Findings) {
    for run in &t.runs {
        if matches!(
            run.status,
            RunStatus::Pending | RunStatus::Running | RunStatus::Paused
        ) {
            f.other.push(format!(
                "run #{} ({}, {}) is still {} after settling",
                run.id, run.reminder_name, run.occurrence_at, run.status
            ));
            continue;
        }
        for target in t.targets.iter().filter(|x| x.run_id == run.id) {
            let ended = matches!(
                target.status,
                TargetStatus::Sent
                    | TargetStatus::Failed
                    | TargetStatus::Skipped
                    | TargetStatus::Unknown
            );
            if !ended {
                f.other.push(format!(
                    "run #{} is {} but its target #{} ({}) is {}",
                    run.id, run.status, target.id, target.group_name, target.status
                ));
            } else if target.status != TargetStatus::Sent
                && target.reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                f.other.push(format!(
                    "run #{} target #{} ({}) is {} without a reason",
                    run.id, target.id, target.group_name, target.status
                ));
            }
        }
    }
}

/// How the records class one part of one target: delivered for sure, perhaps (a send whose
/// answer never came), or not at all.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Claim {
    Must,
    Maybe,
    Not,
}

/// One part of one target that a delivery may belong to, and what the records say of it.
struct Owner {
    run: i64,
    target: i64,
    position: i32,
    claim: Claim,
    status: TargetStatus,
    parts_sent: i32,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let said = match self.claim {
            Claim::Must => "recorded sent",
            Claim::Maybe => "perhaps sent",
            Claim::Not => "recorded not sent",
        };
        write!(
            f,
            "run #{} target #{} part {} ({said}: target {}, parts_sent {})",
            self.run, self.target, self.position, self.status, self.parts_sent
        )
    }
}

/// The outbox against the run records, key by key: (account, group, body). Bodies are unique
/// per reminder version and part, so each key names one part of the runs that sent one version
/// to one group; more deliveries than such runs is a duplicate, and the count must lie between
/// what the records say was surely sent and what may have been.
fn deliveries(t: &Tables, tests: &[String], f: &mut Findings) {
    let runs: HashMap<i64, &reminder_runs::Model> = t.runs.iter().map(|r| (r.id, r)).collect();
    let mut parts_of: HashMap<i64, Vec<&reminder_run_parts::Model>> = HashMap::new();
    for part in &t.parts {
        parts_of.entry(part.run_id).or_default().push(part);
    }
    for parts in parts_of.values_mut() {
        parts.sort_by_key(|p| p.position);
    }
    type Key = (i64, String, String);
    let mut claims: HashMap<Key, Vec<Owner>> = HashMap::new();
    for target in &t.targets {
        let Some(run) = runs.get(&target.run_id) else {
            continue;
        };
        let Some(account_id) = run.account_id else {
            continue;
        };
        for part in parts_of.get(&run.id).into_iter().flatten() {
            let claim = if target.status == TargetStatus::Sent || part.position < target.parts_sent
            {
                Claim::Must
            } else if part.position == target.parts_sent
                && matches!(target.status, TargetStatus::Unknown | TargetStatus::Sending)
            {
                Claim::Maybe
            } else {
                Claim::Not
            };
            let key = (
                account_id,
                target.group_jid.clone(),
                part.body.clone().unwrap_or_default(),
            );
            claims.entry(key).or_default().push(Owner {
                run: run.id,
                target: target.id,
                position: part.position,
                claim,
                status: target.status,
                parts_sent: target.parts_sent,
            });
        }
    }
    let mut delivered: BTreeMap<Key, Vec<&sim_messages::Model>> = BTreeMap::new();
    for message in &t.outbox {
        let key = (
            message.account_id,
            message.group_jid.clone(),
            message.body.clone(),
        );
        delivered.entry(key).or_default().push(message);
    }

    // Send tests: each at most once, in one group.
    let tests: HashSet<&str> = tests.iter().map(String::as_str).collect();
    let mut test_counts: HashMap<&str, usize> = HashMap::new();
    for message in t.outbox.iter().filter(|m| m.body.starts_with(TEST_PREFIX)) {
        *test_counts.entry(message.body.as_str()).or_default() += 1;
        if !tests.contains(message.body.as_str()) {
            f.other.push(format!(
                "the outbox has a test message nobody sent: {:?}",
                message.body
            ));
        }
    }
    for (text, n) in test_counts {
        if n > 1 {
            f.duplicates
                .push(format!("send test {text:?} was delivered {n} times"));
        }
    }

    for (key, messages) in &delivered {
        if key.2.starts_with(TEST_PREFIX) {
            continue;
        }
        let n = messages.len();
        let owners = claims.get(key).map(Vec::as_slice).unwrap_or_default();
        let must = owners.iter().filter(|o| o.claim == Claim::Must).count();
        let may = must + owners.iter().filter(|o| o.claim == Claim::Maybe).count();
        let describe = || {
            format!(
                "group {} of account #{} got {:?} {n} time(s) (message ids {:?}); runs that could own it: {:?}",
                key.1,
                key.0,
                key.2,
                messages
                    .iter()
                    .map(|m| m.wa_message_id.as_str())
                    .collect::<Vec<_>>(),
                owners.iter().map(Owner::to_string).collect::<Vec<_>>()
            )
        };
        if owners.is_empty() {
            f.other.push(format!(
                "a delivery no run part accounts for: {}",
                describe()
            ));
        } else if n > owners.len() {
            f.duplicates.push(describe());
        } else if n > may {
            f.other.push(format!(
                "delivered beyond what the run records say: {}",
                describe()
            ));
        }
    }
    for (key, owners) in &claims {
        let n = delivered.get(key).map_or(0, Vec::len);
        let must = owners.iter().filter(|o| o.claim == Claim::Must).count();
        if n < must {
            f.other.push(format!(
                "the records say {must} run(s) sent {:?} to group {} of account #{}, the simulator received it {n} time(s): {:?}",
                key.2,
                key.1,
                key.0,
                owners.iter().map(Owner::to_string).collect::<Vec<_>>()
            ));
        }
    }
}

/// Each run's own copy of its message, and its groups, are those of a version the harness
/// saved: an edit never leaks into a run under way, nor a run into another reminder.
fn copies(t: &Tables, trial: &Trial, f: &mut Findings) {
    let by_local: HashMap<usize, &model::Reminder> =
        trial.reminders().iter().map(|r| (r.local, r)).collect();
    for run in &t.runs {
        let mut parts: Vec<&reminder_run_parts::Model> =
            t.parts.iter().filter(|p| p.run_id == run.id).collect();
        if parts.is_empty() {
            continue;
        }
        parts.sort_by_key(|p| p.position);
        let bodies: Vec<String> = parts
            .iter()
            .map(|p| p.body.clone().unwrap_or_default())
            .collect();
        let Some((local, _)) = model::parse_name(&run.reminder_name) else {
            f.other.push(format!(
                "run #{} is named {:?}, which no reminder of the harness was",
                run.id, run.reminder_name
            ));
            continue;
        };
        let Some(reminder) = by_local.get(&local) else {
            continue;
        };
        let groups: HashSet<i64> = t
            .targets
            .iter()
            .filter(|x| x.run_id == run.id)
            .filter_map(|x| x.group_id)
            .collect();
        let matching = reminder.versions.iter().find(|v| v.parts == bodies);
        match matching {
            None if !reminder.uncertain => f.other.push(format!(
                "run #{} of r{local} sends {bodies:?}, which no saved version of it had",
                run.id
            )),
            Some(version) if groups != version.group_ids.iter().copied().collect() => {
                f.other.push(format!(
                    "run #{} of r{local} targets groups {groups:?}, its version had {:?}",
                    run.id, version.group_ids
                ))
            }
            _ => {}
        }
    }
}

/// Every occurrence that came due while a version was armed has exactly one run; no run is for
/// an occurrence no version had.
fn occurrences(t: &Tables, trial: &Trial, cutoff: DateTime<Utc>, f: &mut Findings) {
    let now = Utc::now();
    let mut runs_of: HashMap<usize, Vec<&reminder_runs::Model>> = HashMap::new();
    for run in &t.runs {
        if let Some((local, _)) = model::parse_name(run.reminder_name.trim_end_matches(" (copy)")) {
            runs_of.entry(local).or_default().push(run);
        }
    }
    let same = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).abs() < TimeDelta::milliseconds(1000);
    let in_outage = |from: DateTime<Utc>, to: DateTime<Utc>| {
        trial
            .outages()
            .iter()
            .any(|(down, up)| *down <= to && from <= *up)
    };
    // A run paused at its send window pauses its reminder too, behind the harness's back: from
    // then on the reminder's schedule is Herald's to hold, not the harness's to follow.
    let mut window_paused: HashMap<usize, DateTime<Utc>> = HashMap::new();
    for (raised, event) in &t.events {
        if let Event::RunAlert {
            status: RunStatus::Paused,
            reminder_name,
            ..
        } = event
            && let Some((local, _)) = model::parse_name(reminder_name.trim_end_matches(" (copy)"))
        {
            let first = window_paused.entry(local).or_insert(*raised);
            *first = (*first).min(*raised);
        }
    }
    for reminder in trial.reminders() {
        let runs = runs_of.get(&reminder.local).cloned().unwrap_or_default();
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for run in &runs {
            *seen.entry(run.occurrence_at.timestamp()).or_default() += 1;
        }
        for (at, n) in &seen {
            if *n > 1 {
                f.duplicates.push(format!(
                    "r{} has {n} runs for the occurrence at {}",
                    reminder.local,
                    DateTime::from_timestamp(*at, 0).unwrap_or_default()
                ));
            }
        }
        if reminder.uncertain {
            f.notes.push(format!(
                "r{}: a change's outcome is unknown (5xx or no answer), so its schedule is not followed",
                reminder.local
            ));
            continue;
        }
        let armed = reminder.armed(now);
        for stretch in &armed {
            let version = &reminder.versions[stretch.version];
            let mut to = stretch.required.1.min(cutoff);
            if let Some(paused) = window_paused.get(&reminder.local) {
                to = to.min(*paused);
            }
            for occurrence in version.schedule.occurrences(stretch.required.0, to) {
                if occurrence >= to {
                    continue;
                }
                if runs.iter().any(|r| same(r.occurrence_at, occurrence)) {
                    continue;
                }
                // Herald's documented rule: two fires of one reminder are never closer than
                // five minutes, edits included, so an occurrence that close after a fire is
                // moved on, not owed.
                let previous = runs.iter().find(|r| {
                    r.occurrence_at < occurrence && occurrence - r.occurrence_at < MIN_INTERVAL
                });
                if let Some(previous) = previous {
                    f.notes.push(format!(
                        "r{}: its occurrence at {occurrence} came {} s after run #{} of the same reminder and was moved on (fires are at least five minutes apart)",
                        reminder.local,
                        (occurrence - previous.occurrence_at).num_seconds(),
                        previous.id
                    ));
                    continue;
                }
                let window = stretch.required.1 - occurrence;
                if stretch.ended_by_delete
                    && (window < TimeDelta::seconds(2) || in_outage(occurrence, stretch.required.1))
                {
                    f.notes.push(format!(
                        "r{}: its occurrence at {occurrence} was not fired before the reminder was deleted {} ms later (worker or database away meanwhile)",
                        reminder.local,
                        window.num_milliseconds()
                    ));
                    continue;
                }
                f.lost.push(format!(
                    "r{} (#{}) version {} ({:?} {} {}) came due at {occurrence} while armed ({} – {}) and has no run",
                    reminder.local,
                    reminder.id.unwrap_or_default(),
                    stretch.version,
                    version.schedule.repeat,
                    version.schedule.start,
                    version.schedule.zone,
                    stretch.required.0,
                    stretch.required.1
                ));
            }
        }
        for run in &runs {
            let expected = armed.iter().any(|stretch| {
                let version = &reminder.versions[stretch.version];
                version
                    .schedule
                    .occurrences(
                        stretch.allowed.0 - TimeDelta::seconds(1),
                        stretch.allowed.1 + TimeDelta::seconds(1),
                    )
                    .into_iter()
                    .any(|o| same(o, run.occurrence_at))
            });
            if !expected {
                f.other.push(format!(
                    "run #{} of r{} is for {}, an occurrence of no version while it was armed",
                    run.id, reminder.local, run.occurrence_at
                ));
            }
        }
    }
}

/// Every run that went wrong raised its alert: unknown sends, failed and partial runs, missed
/// occurrences, and runs skipped because the account was offline.
fn problems_alerted(t: &Tables, f: &mut Findings) {
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
enum AlertKey {
    Run(char, i64),
    Missed(String),
    LoggedOut(String),
    Banned(String),
    Down(String),
}

fn event_key(event: &Event, labels: &HashMap<i64, String>) -> Option<AlertKey> {
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
enum Message {
    Alert(AlertKey),
    Summary(usize),
    Other,
}

fn message_key(text: &str) -> Message {
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

/// Every alert event reached the operator's chat exactly once, or was counted in a backlog
/// summary; waits a while for the last ones to go out.
async fn telegram(t: &Tables, trial: &Trial, f: &mut Findings) {
    let labels = trial.account_labels();
    let mut expected: BTreeMap<AlertKey, usize> = BTreeMap::new();
    for (_, event) in &t.events {
        if let Some(key) = event_key(event, &labels) {
            *expected.entry(key).or_default() += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let mut got: BTreeMap<AlertKey, usize> = BTreeMap::new();
        let mut summarised = 0;
        let mut strays = Vec::new();
        for message in trial
            .bot()
            .delivered()
            .into_iter()
            .filter(|m| m.chat_id == OPERATOR_CHAT)
        {
            match message_key(&message.text) {
                Message::Alert(key) => *got.entry(key).or_default() += 1,
                Message::Summary(n) => summarised += n,
                Message::Other => strays.push(message.text),
            }
        }
        let mut problems = Vec::new();
        let mut missing = 0;
        for (key, want) in &expected {
            let have = got.get(key).copied().unwrap_or(0);
            if have > *want {
                problems.push(format!(
                    "{key:?}: {have} Telegram messages for {want} alert event(s)"
                ));
            }
            missing += want.saturating_sub(have);
        }
        for (key, have) in &got {
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
                .filter(|(k, want)| got.get(*k).copied().unwrap_or(0) < **want)
                .map(|(k, _)| format!("{k:?}"))
                .collect();
            problems.push(format!(
                "{missing} alert(s) never reached Telegram one by one and {summarised} were summarised: {missing_keys:?}"
            ));
        }
        if problems.is_empty() {
            let sent: usize = got.values().sum();
            f.notes.push(format!(
                "{sent} alerts delivered one by one, {summarised} summarised, {} refused while Telegram was down",
                trial.bot().refused()
            ));
            return;
        }
        if Instant::now() >= deadline {
            f.unreported.extend(problems);
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use domain::status::MessageKind;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn run(id: i64, status: RunStatus) -> reminder_runs::Model {
        reminder_runs::Model {
            id,
            reminder_id: Some(1),
            reminder_name: model::name(0, 0),
            account_id: Some(1),
            occurrence_at: at(0),
            status,
            reason: None,
            started_at: None,
            finished_at: None,
            created_at: at(0),
            operator_id: Some(1),
            resumed_at: None,
            fire_lag_ms: None,
        }
    }

    fn target(
        id: i64,
        run_id: i64,
        status: TargetStatus,
        parts_sent: i32,
    ) -> reminder_run_targets::Model {
        reminder_run_targets::Model {
            id,
            run_id,
            group_id: Some(id),
            group_jid: format!("g{id}"),
            group_name: format!("Group {id}"),
            status,
            reason: (status != TargetStatus::Sent).then(|| "why".to_owned()),
            wa_message_id: None,
            latency_ms: None,
            attempts: 1,
            next_attempt_at: None,
            sent_at: None,
            created_at: at(0),
            updated_at: at(0),
            parts_sent,
            claimed_at: None,
        }
    }

    fn part(id: i64, run_id: i64, position: i32) -> reminder_run_parts::Model {
        reminder_run_parts::Model {
            id,
            run_id,
            position,
            kind: MessageKind::Text,
            body: Some(format!("run {run_id} part {position}")),
            media_file_id: None,
        }
    }

    fn delivered(id: i64, group: i64, body: &str) -> sim_messages::Model {
        sim_messages::Model {
            id,
            account_id: 1,
            group_jid: format!("g{group}"),
            kind: MessageKind::Text,
            body: body.to_owned(),
            wa_message_id: format!("3EB0{id}"),
            sent_at: at(1),
            media_sha256: None,
            repeats: 0,
        }
    }

    fn tables(
        targets: Vec<reminder_run_targets::Model>,
        outbox: Vec<sim_messages::Model>,
    ) -> Tables {
        Tables {
            runs: vec![run(7, RunStatus::Partial)],
            targets,
            parts: vec![part(1, 7, 0), part(2, 7, 1)],
            outbox,
            events: Vec::new(),
        }
    }

    fn checked(t: &Tables) -> Findings {
        let mut f = Findings::default();
        deliveries(t, &[], &mut f);
        f
    }

    #[test]
    fn a_part_delivered_twice_to_a_group_is_a_duplicate() {
        let t = tables(
            vec![target(1, 7, TargetStatus::Sent, 2)],
            vec![
                delivered(1, 1, "run 7 part 0"),
                delivered(2, 1, "run 7 part 0"),
                delivered(3, 1, "run 7 part 1"),
            ],
        );
        let f = checked(&t);
        assert_eq!(f.duplicates.len(), 1, "{f:?}");
        assert!(f.other.is_empty(), "{f:?}");
    }

    #[test]
    fn a_part_recorded_sent_and_missing_from_the_outbox_is_found() {
        let t = tables(
            vec![target(1, 7, TargetStatus::Sent, 2)],
            vec![delivered(1, 1, "run 7 part 0")],
        );
        let f = checked(&t);
        assert_eq!(f.other.len(), 1, "{f:?}");
        assert!(f.other[0].contains("part 1"), "{f:?}");
    }

    #[test]
    fn an_unknown_send_may_or_may_not_have_arrived_but_nothing_after_it() {
        let landed = tables(
            vec![target(1, 7, TargetStatus::Unknown, 0)],
            vec![delivered(1, 1, "run 7 part 0")],
        );
        assert!(!checked(&landed).failed());
        let lost = tables(vec![target(1, 7, TargetStatus::Unknown, 0)], Vec::new());
        assert!(!checked(&lost).failed());
        let beyond = tables(
            vec![target(1, 7, TargetStatus::Unknown, 0)],
            vec![
                delivered(1, 1, "run 7 part 0"),
                delivered(2, 1, "run 7 part 1"),
            ],
        );
        assert_eq!(checked(&beyond).other.len(), 1);
    }

    #[test]
    fn a_failed_target_with_a_delivery_disagrees_with_the_outbox() {
        let t = tables(
            vec![target(1, 7, TargetStatus::Failed, 1)],
            vec![
                delivered(1, 1, "run 7 part 0"),
                delivered(2, 1, "run 7 part 1"),
            ],
        );
        let f = checked(&t);
        assert_eq!(f.other.len(), 1, "{f:?}");
        assert!(f.other[0].contains("beyond"), "{f:?}");
    }

    #[test]
    fn a_delivery_of_no_run_part_is_found_and_tests_are_counted_apart() {
        let t = tables(
            vec![target(1, 7, TargetStatus::Skipped, 0)],
            vec![
                delivered(1, 1, "something else"),
                delivered(2, 1, "chaos-test-1"),
                delivered(3, 2, "chaos-test-1"),
            ],
        );
        let mut f = Findings::default();
        deliveries(&t, &["chaos-test-1".to_owned()], &mut f);
        assert_eq!(f.other.len(), 1, "{f:?}");
        assert_eq!(f.duplicates.len(), 1, "{f:?}");
    }

    #[test]
    fn alert_messages_read_back_to_their_events() {
        let labels = HashMap::from([(1, "Chaos A".to_owned())]);
        let link = "http://127.0.0.1:1/reminders/runs/42";
        let cases = [
            (
                format!("⚠️ “Chaos r1 v0” was only partly sent: 3 of 4 groups. {link}"),
                Event::RunAlert {
                    account_id: 1,
                    run_id: 42,
                    reminder_id: Some(1),
                    reminder_name: "Chaos r1 v0".into(),
                    status: RunStatus::Partial,
                    counts: Default::default(),
                },
            ),
            (
                format!("❓ “Chaos r1 v0”: the send to Group 1 was interrupted or never answered. {link}"),
                Event::TargetsUnknown {
                    account_id: 1,
                    run_id: 42,
                    reminder_name: "Chaos r1 v0".into(),
                    groups: vec!["Group 1".into()],
                },
            ),
            (
                "⏭ “Chaos r2 v1” was missed on Mon 7 Dec 10:00: Herald was not running, so nothing was sent.".to_owned(),
                Event::Missed {
                    account_id: 1,
                    reminder_id: 2,
                    reminder_name: "Chaos r2 v1".into(),
                    occurrences: 1,
                    first: at(0),
                    last: at(0),
                },
            ),
            (
                "⚠️ Chaos A was logged out of WhatsApp (401: gone). /pair Chaos A to link it again.".to_owned(),
                Event::LoggedOut {
                    account_id: 1,
                    reason: "401: gone".into(),
                },
            ),
            (
                "🚫 WhatsApp banned Chaos A until Mon 7 Dec 10:00 (402: banned). Herald stopped sending from it.".to_owned(),
                Event::Banned {
                    account_id: 1,
                    reason: "402: banned".into(),
                    until: Some(at(0)),
                },
            ),
        ];
        for (text, event) in cases {
            let Message::Alert(key) = message_key(&text) else {
                panic!("not read as an alert: {text}");
            };
            assert_eq!(Some(key), event_key(&event, &labels), "{text}");
        }
        assert!(matches!(
            message_key("⏳ 12 earlier alerts were raised while Herald was down"),
            Message::Summary(12)
        ));
    }
}
