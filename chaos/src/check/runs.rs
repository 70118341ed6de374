//! The runs against what the harness saved: each run sends a saved version, and every
//! occurrence that came due while a version was armed has exactly one run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use domain::{bus::Event, status::RunStatus};
use entity::{reminder_run_parts, reminder_runs};

use super::Record;
use super::{Findings, Tables};
use crate::model;

/// The closest two fires of one reminder may be (`domain::recurrence::MIN_INTERVAL`).
const MIN_INTERVAL: TimeDelta = TimeDelta::minutes(5);

/// Each run's own copy of its message, and its groups, are those of a version the harness
/// saved: an edit never leaks into a run under way, nor a run into another reminder.
pub(super) fn copies(t: &Tables, trial: &Record<'_>, f: &mut Findings) {
    let by_local: HashMap<usize, &model::Reminder> =
        trial.reminders.iter().map(|r| (r.local, r)).collect();
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
/// `outages`: when some account had no worker running it, or the database was away.
pub(super) fn occurrences(
    t: &Tables,
    reminders: &[model::Reminder],
    outages: &[(DateTime<Utc>, DateTime<Utc>)],
    cutoff: DateTime<Utc>,
    f: &mut Findings,
) {
    let now = Utc::now();
    let mut runs_of: HashMap<usize, Vec<&reminder_runs::Model>> = HashMap::new();
    for run in &t.runs {
        if let Some((local, _)) = model::parse_name(run.reminder_name.trim_end_matches(" (copy)")) {
            runs_of.entry(local).or_default().push(run);
        }
    }
    let same = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).abs() < TimeDelta::milliseconds(1000);
    let in_outage = |from: DateTime<Utc>, to: DateTime<Utc>| {
        outages.iter().any(|(down, up)| *down <= to && from <= *up)
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
    for reminder in reminders {
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
                // Deleting a reminder takes its owed occurrences with it, also those an edit or
                // a pause carried over: an occurrence the worker could not fire before the
                // deletion (it came moments before, or a worker, its lease or the database was
                // away meanwhile) is gone by the operator's wish.
                let deleted = reminder.deleted_at().filter(|at| occurrence < *at);
                let erased = deleted
                    .map(|at| (at, at - occurrence))
                    .filter(|(at, window)| {
                        *window < TimeDelta::seconds(2) || in_outage(occurrence, *at)
                    });
                if let Some((_, window)) = erased {
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
