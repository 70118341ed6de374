//! The invariants, checked once a trial has settled. Deliveries are counted from the
//! simulator's outbox (`sim_messages`) and traced back to run parts through their unique
//! bodies and each run's own copy of its message; alerts are counted at the fake Bot API; an
//! account running in two workers at once is what the simulator recorded in `sim_overlaps`.

mod alerts;
mod deliveries;
mod overlaps;
mod runs;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use domain::{
    bus::{Event, stored},
    status::{RunStatus, TargetStatus},
};
use entity::{
    events, reminder_run_parts, reminder_run_targets, reminder_runs, sim_messages, sim_overlaps,
};
use sea_orm::{DatabaseConnection, EntityTrait};
use testkit::fake_bot_api::FakeBotApi;

use crate::model;

use self::{
    alerts::{problems_alerted, telegram},
    deliveries::deliveries,
    overlaps::overlaps,
    runs::{copies, occurrences},
};

/// How every send test's text starts; they belong to no run.
pub const TEST_PREFIX: &str = "chaos-test-";

/// What a trial recorded, as the checks read it: the checks know nothing else of the trial.
pub struct Record<'a> {
    pub db: &'a DatabaseConnection,
    pub bot: &'a FakeBotApi,
    pub reminders: &'a [model::Reminder],
    /// The text of every send test the operator asked for.
    pub tests: &'a [String],
    /// When some account had no worker running it (killed, stopped or paused until another
    /// took it over), or the database was away.
    pub outages: &'a [(DateTime<Utc>, DateTime<Utc>)],
    /// Each worker process that ended (its instance), and when.
    pub ended: &'a [(String, DateTime<Utc>)],
    pub account_labels: HashMap<i64, String>,
}

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
    /// An account connected from two live workers at once.
    pub overlaps: Vec<String>,
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
            && self.overlaps.is_empty()
            && self.other.is_empty()
            && self.harness.is_empty())
    }

    pub fn merge(&mut self, other: Findings) {
        self.sends += other.sends;
        self.duplicates.extend(other.duplicates);
        self.lost.extend(other.lost);
        self.unreported.extend(other.unreported);
        self.overlaps.extend(other.overlaps);
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
            .chain(self.overlaps.iter().map(|v| ("overlap", v)))
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
    overlaps: Vec<sim_overlaps::Model>,
    /// Each alert and bus event, with when it was raised.
    events: Vec<(DateTime<Utc>, Event)>,
}

pub async fn run(trial: &Record<'_>, cutoff: DateTime<Utc>) -> anyhow::Result<Findings> {
    let db = trial.db;
    let mut events_rows = events::Entity::find().all(db).await?;
    events_rows.sort_by_key(|e| e.id);
    let tables = Tables {
        runs: reminder_runs::Entity::find().all(db).await?,
        targets: reminder_run_targets::Entity::find().all(db).await?,
        parts: reminder_run_parts::Entity::find().all(db).await?,
        outbox: sim_messages::Entity::find().all(db).await?,
        overlaps: sim_overlaps::Entity::find().all(db).await?,
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
    deliveries(&tables, trial.tests, &mut findings);
    copies(&tables, trial, &mut findings);
    occurrences(
        &tables,
        trial.reminders,
        trial.outages,
        cutoff,
        &mut findings,
    );
    problems_alerted(&tables, &mut findings);
    overlaps(&tables, trial.ended, &mut findings);
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
