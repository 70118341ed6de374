//! The operator's actions, as the dashboard takes them: reminders created, edited, paused,
//! resumed, duplicated and deleted, send tests, and paused runs resumed or cancelled. Each
//! outcome is recorded in the trial's model for the checks.

use std::time::Instant;

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::Trial;
use crate::{
    api::CallError,
    check,
    model::{self, Op, OpKind, Reminder, Repeat, Schedule, Version},
};

/// Zones offset by full, half and three-quarter hours, in both hemispheres.
const ZONES: [Tz; 8] = [
    chrono_tz::UTC,
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Pacific::Auckland,
    chrono_tz::America::St_Johns,
];

const WORDS: [&str; 8] = [
    "Doors open at nine",
    "Bring your own towel",
    "Rehearsal moves to hall B",
    "Payment is due Friday",
    "The bakery closes early",
    "Training starts sharp",
    "Remember the permission slips",
    "Parking is on the east side",
];

impl Trial {
    pub(super) async fn action(&mut self) {
        self.report.actions += 1;
        let alive = self.reminders.iter().filter(|r| !r.deleted()).count();
        let create = if alive > 12 { 2 } else { 14 };
        match self.rng.weighted(&[create, 22, 8, 8, 6, 4, 8, 4]) {
            0 => self.create().await,
            1 => self.edit().await,
            2 => self.pause().await,
            3 => self.resume().await,
            4 => self.duplicate().await,
            5 => self.delete().await,
            6 => self.send_test().await,
            _ => self.paused_run().await,
        }
    }

    /// A schedule a few seconds ahead, in a random zone; sometimes recurring.
    fn schedule(&mut self) -> Schedule {
        let lead = TimeDelta::seconds(self.rng.range(3, 22) as i64);
        let (zone, start) = loop {
            let zone = *self.rng.pick(&ZONES).unwrap_or(&chrono_tz::UTC);
            let at = Utc::now() + lead;
            let local = at.with_timezone(&zone).naive_local();
            let local = local.with_nanosecond(0).unwrap_or(local);
            // A wall time that names one instant (never in a clock change).
            if zone.from_local_datetime(&local).single().is_some() {
                break (zone, local);
            }
        };
        let repeat = match self.rng.weighted(&[55, 25, 12, 8]) {
            0 => Repeat::Once,
            1 => Repeat::Daily { count: None },
            2 => {
                let today = start.weekday();
                let other = today.succ().succ().succ();
                let mut weekdays = vec![today];
                if self.rng.chance(50) {
                    weekdays.push(other);
                }
                weekdays.sort_by_key(|d| d.num_days_from_monday());
                Repeat::Weekly { weekdays }
            }
            _ => Repeat::Daily {
                count: Some(self.rng.range(1, 3) as u32),
            },
        };
        // A recurring start may lie in the past: the first occurrence is still today's.
        let start = match repeat {
            Repeat::Daily { count: None } if self.rng.chance(30) => start - TimeDelta::days(1),
            _ => start,
        };
        Schedule {
            zone,
            start,
            repeat,
        }
    }

    /// A one-off due a second or two before some zone's clock reaches a full hour, with its send
    /// window ending at that hour: its run pauses mid-way. Only when such an hour falls within
    /// the rest of the chaos phase (zones here change hour every 15 minutes of UTC).
    fn closing_window(&mut self) -> Option<(Schedule, u8)> {
        let end = self.chaos_end?;
        let now = Utc::now();
        let left = TimeDelta::from_std(end.saturating_duration_since(Instant::now())).ok()?;
        let mut candidates = Vec::new();
        for zone in ZONES {
            let local = now.with_timezone(&zone).naive_local();
            let hour = local.date().and_hms_opt(local.hour(), 0, 0)? + TimeDelta::hours(1);
            let Some(at) = zone.from_local_datetime(&hour).single() else {
                continue;
            };
            let lead = at.with_timezone(&Utc) - now;
            if lead > TimeDelta::seconds(5) && lead < left - TimeDelta::seconds(2) {
                candidates.push((zone, hour));
            }
        }
        let (zone, hour) = *self.rng.pick(&candidates)?;
        let start = hour - TimeDelta::seconds(self.rng.range(1, 2) as i64);
        zone.from_local_datetime(&start).single()?;
        let schedule = Schedule {
            zone,
            start,
            repeat: Repeat::Once,
        };
        Some((schedule, hour.hour() as u8))
    }

    /// A window end far from now, so it never closes during the trial.
    fn window(&mut self, schedule: &Schedule) -> Option<u8> {
        if !self.rng.chance(15) {
            return None;
        }
        let hour = Utc::now().with_timezone(&schedule.zone).hour();
        Some(((hour + self.rng.range(3, 20) as u32) % 24) as u8)
    }

    fn groups_of(&mut self, account: usize) -> Vec<i64> {
        let all = &self.accounts[account].groups;
        let take = self.rng.range(1, all.len() as u64) as usize;
        let skip = self.rng.range(0, (all.len() - take) as u64) as usize;
        all.iter().skip(skip).take(take).copied().collect()
    }

    fn parts(&mut self, local: usize, version: usize, count: usize) -> Vec<String> {
        (0..count)
            .map(|part| {
                let words = *self.rng.pick(&WORDS).unwrap_or(&"Hello");
                model::body(self.seed, local, version, part, words)
            })
            .collect()
    }

    pub(super) async fn create(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let account = self.rng.range(0, self.accounts.len() as u64 - 1) as usize;
        let local = self.reminders.len();
        let count = self.rng.range(1, 3) as usize;
        let closing = if self.rng.chance(30) {
            self.closing_window()
        } else {
            None
        };
        let (schedule, window_end_hour) = match closing {
            Some((schedule, hour)) => (schedule, Some(hour)),
            None => {
                let schedule = self.schedule();
                let window = self.window(&schedule);
                (schedule, window)
            }
        };
        let version = Version {
            name: model::name(local, 0),
            parts: self.parts(local, 0, count),
            schedule,
            group_ids: self.groups_of(account),
            window_end_hour,
        };
        let account_id = self.accounts[account].id;
        let draft = version.draft(account_id);
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.save_reminder(None, &draft).await;
        let answered = Utc::now();
        let mut reminder = Reminder {
            local,
            id: None,
            account_id,
            versions: vec![version],
            ops: Vec::new(),
            uncertain: false,
            unedited_copy: false,
        };
        match result {
            Ok(id) => {
                reminder.id = Some(id);
                reminder.ops.push(Op {
                    kind: OpKind::Create(0),
                    sent,
                    answered,
                });
                let first = &reminder.versions[0];
                self.note(format!(
                    "created r{local} = #{id}: {} part(s), {} group(s), {:?} at {} {}, window end {:?}",
                    first.parts.len(),
                    first.group_ids.len(),
                    first.schedule.repeat,
                    first.schedule.start,
                    first.schedule.zone,
                    first.window_end_hour
                ));
            }
            Err(CallError::Refused(why)) => {
                self.note(format!("creating r{local} refused: {why}"));
                return;
            }
            Err(CallError::Uncertain(why)) => {
                reminder.uncertain = true;
                self.note(format!("creating r{local} uncertain: {why}"));
            }
        }
        self.reminders.push(reminder);
    }

    /// A reminder with a known id, not deleted, that `eligible` accepts.
    fn pick_reminder(&mut self, eligible: impl Fn(&Reminder) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = self
            .reminders
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id.is_some() && !r.deleted() && eligible(r))
            .map(|(i, _)| i)
            .collect();
        self.rng.pick(&candidates).copied()
    }

    /// Applies the outcome of a change to reminder `index`.
    fn record(
        &mut self,
        index: usize,
        kind: OpKind,
        sent: DateTime<Utc>,
        result: &Result<(), CallError>,
    ) {
        let local = self.reminders[index].local;
        let answered = Utc::now();
        match result {
            Ok(()) => {
                self.reminders[index].ops.push(Op {
                    kind,
                    sent,
                    answered,
                });
                let detail = match kind {
                    OpKind::Edit(v) => self.reminders[index].versions.get(v).map(|v| {
                        format!(
                            " to {} part(s), {} group(s), {:?} at {} {}",
                            v.parts.len(),
                            v.group_ids.len(),
                            v.schedule.repeat,
                            v.schedule.start,
                            v.schedule.zone
                        )
                    }),
                    _ => None,
                };
                self.note(format!("r{local}: {kind:?}{}", detail.unwrap_or_default()));
            }
            Err(CallError::Refused(why)) => {
                self.note(format!("r{local}: {kind:?} refused: {why}"));
            }
            Err(CallError::Uncertain(why)) => {
                self.reminders[index].uncertain = true;
                self.note(format!("r{local}: {kind:?} uncertain: {why}"));
            }
        }
    }

    /// A new version of reminder `index`: new bodies throughout (so every delivery names its
    /// version), and some of: parts changed, prepended or removed, a new time, new groups.
    fn next_version(&mut self, index: usize) -> Option<Version> {
        let current = self.reminders[index].current()?.clone();
        let local = self.reminders[index].local;
        let number = self.reminders[index].versions.len();
        let account = self
            .accounts
            .iter()
            .position(|a| a.id == self.reminders[index].account_id)?;
        let mut count = current.parts.len();
        match self.rng.range(0, 2) {
            0 => {}
            1 => count = (count + 1).min(4),
            _ => count = count.saturating_sub(1).max(1),
        }
        let mut version = Version {
            name: model::name(local, number),
            parts: self.parts(local, number, count),
            ..current
        };
        if self.rng.chance(60) {
            version.schedule = self.schedule();
            version.window_end_hour = self.window(&version.schedule);
        }
        if self.rng.chance(30) {
            version.group_ids = self.groups_of(account);
        }
        Some(version)
    }

    async fn edit_to(&mut self, index: usize, version: Version) -> Result<(), CallError> {
        let id = self.reminders[index].id.unwrap_or_default();
        let draft = version.draft(self.reminders[index].account_id);
        let dash = self.dash().map_err(|e| CallError::Refused(e.to_string()))?;
        let result = dash.save_reminder(Some(id), &draft).await.map(drop);
        if !matches!(result, Err(CallError::Refused(_))) {
            self.reminders[index].versions.push(version);
        }
        result
    }

    async fn edit(&mut self) {
        let Some(index) = self.pick_reminder(|r| !r.uncertain) else {
            return;
        };
        let Some(version) = self.next_version(index) else {
            return;
        };
        let number = self.reminders[index].versions.len();
        let sent = Utc::now();
        let result = self.edit_to(index, version).await;
        self.record(index, OpKind::Edit(number), sent, &result);
        if result.is_ok() {
            self.reminders[index].unedited_copy = false;
        }
    }

    async fn pause(&mut self) {
        let Some(index) = self.pick_reminder(|r| !r.paused()) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.pause(id).await;
        self.record(index, OpKind::Pause, sent, &result);
    }

    async fn resume(&mut self) {
        let Some(index) = self.pick_reminder(|r| r.paused() && !r.unedited_copy) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.resume(id).await;
        self.record(index, OpKind::Resume, sent, &result);
    }

    async fn delete(&mut self) {
        let Some(index) = self.pick_reminder(|_| true) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.delete(id).await;
        self.record(index, OpKind::Delete, sent, &result);
    }

    /// Duplicates a reminder, then edits the copy (it starts paused, so it cannot fire with its
    /// source's bodies first), and sometimes resumes it.
    async fn duplicate(&mut self) {
        let Some(source) = self.pick_reminder(|r| !r.uncertain) else {
            return;
        };
        let Some(version) = self.reminders[source].current().cloned() else {
            return;
        };
        let source_id = self.reminders[source].id.unwrap_or_default();
        let local = self.reminders.len();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.duplicate(source_id).await;
        let answered = Utc::now();
        let mut copy = Reminder {
            local,
            id: None,
            account_id: self.reminders[source].account_id,
            versions: vec![Version {
                name: format!("{} (copy)", version.name),
                ..version
            }],
            ops: vec![Op {
                kind: OpKind::Copy(0),
                sent,
                answered,
            }],
            uncertain: false,
            unedited_copy: true,
        };
        match result {
            Ok(id) => copy.id = Some(id),
            Err(CallError::Refused(why)) => {
                self.note(format!(
                    "duplicating r{} refused: {why}",
                    self.reminders[source].local
                ));
                return;
            }
            Err(CallError::Uncertain(why)) => {
                // A copy may exist, paused with its source's bodies; it is never resumed.
                self.note(format!(
                    "duplicating r{} uncertain: {why}",
                    self.reminders[source].local
                ));
                return;
            }
        }
        let source_local = self.reminders[source].local;
        self.note(format!(
            "duplicated r{source_local} as r{local} = #{}",
            copy.id.unwrap_or_default()
        ));
        self.reminders.push(copy);
        let index = self.reminders.len() - 1;
        let Some(version) = self.next_version(index) else {
            return;
        };
        let sent = Utc::now();
        let result = self.edit_to(index, version).await;
        self.record(index, OpKind::Edit(1), sent, &result);
        if result.is_ok() {
            self.reminders[index].unedited_copy = false;
            if self.rng.chance(60) {
                self.resume_index(index).await;
            }
        }
    }

    async fn resume_index(&mut self, index: usize) {
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.resume(id).await;
        self.record(index, OpKind::Resume, sent, &result);
    }

    async fn send_test(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let account = self.rng.range(0, self.accounts.len() as u64 - 1) as usize;
        let Some(&group) = self.rng.pick(&self.accounts[account].groups) else {
            return;
        };
        let account_id = self.accounts[account].id;
        let text = format!("{}{:x}-{}", check::TEST_PREFIX, self.seed, self.tests.len());
        let Ok(dash) = self.dash() else { return };
        let result = dash.send_test(account_id, group, &text).await;
        self.note(format!("send test {text:?} to group #{group}: {result:?}"));
        // Even an uncertain request may have been queued: its text is watched either way.
        if !matches!(result, Err(CallError::Refused(_))) {
            self.tests.push(text);
        }
    }

    async fn paused_run(&mut self) {
        let Ok(dash) = self.dash() else { return };
        let Ok(runs) = dash.paused_runs().await else {
            return;
        };
        let Some(&run) = self.rng.pick(&runs) else {
            return;
        };
        let resume = self.rng.chance(50);
        let Ok(dash) = self.dash() else { return };
        let result = if resume {
            dash.resume_run(run).await
        } else {
            dash.cancel_run(run).await
        };
        let what = if resume { "resumed" } else { "cancelled" };
        self.note(format!("paused run #{run} {what}: {result:?}"));
    }
}
