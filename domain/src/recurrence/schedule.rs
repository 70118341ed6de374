//! When a reminder fires: its rule's local dates at the start's wall time, mapped to instants.

use std::iter;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{End, Frequency, RuleError, Spec, dates::Dates, spec::YEARS, wall_clock};
use crate::timezone::TimeZone;

/// The closest two fires of one reminder may be. Daily-or-longer rules only come this close
/// around clock changes (a local date skipped or repeated); the scheduler relies on the guard.
pub const MIN_INTERVAL: TimeDelta = TimeDelta::minutes(5);

/// How long after its time a reminder may still be saved to fire at once: the form was filled
/// in for "now", and submitting it takes a moment. The wizard and the server both allow it.
pub const SAVE_GRACE: TimeDelta = TimeDelta::seconds(60);

/// The most dates one reminder may skip: a year of holidays, with room to spare.
pub const MAX_SKIPPED: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Local wall time of the first occurrence. With a rule it anchors the rule (the first week,
    /// month or year that counts toward the interval) and gives every occurrence's time of day,
    /// unless the rule lists several (then the start's time is one of them, and the start's
    /// date fires only at those from it on); if the start's date does not match the rule, the
    /// first occurrence is the next date that does.
    pub start: NaiveDateTime,
    pub zone: TimeZone,
    /// `None` fires once, at `start`.
    pub rule: Option<Spec>,
    /// Local dates the rule matches but the reminder does not fire on (RFC 5545 EXDATE, by
    /// date, at all its times): a holiday, or an occurrence the operator skipped. Sorted, each
    /// once. As in RFC 5545, a skipped date's occurrences still count toward COUNT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<NaiveDate>,
}

impl Schedule {
    /// Refuses a schedule that is invalid or would never fire. The methods below treat an
    /// invalid schedule as one that never fires rather than guess.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !YEARS.contains(&self.start.year()) {
            return Err(RuleError::StartOutOfRange(self.start));
        }
        if let Some(rule) = &self.rule {
            rule.validate()?;
            if !rule.times.is_empty() && !rule.times.contains(&self.start.time()) {
                return Err(RuleError::StartTimeNotListed);
            }
        } else if !self.skip.is_empty() {
            return Err(RuleError::SkipOneOff);
        }
        if self.skip.len() > MAX_SKIPPED {
            return Err(RuleError::TooManySkipped(self.skip.len()));
        }
        if !self.skip.is_sorted_by(|a, b| a < b) {
            return Err(RuleError::SkipUnordered);
        }
        self.first().map(|_| ()).ok_or(RuleError::NeverFires)
    }

    pub fn first(&self) -> Option<DateTime<Utc>> {
        let dates = self.dates()?;
        let day = self.fired_on_or_after(&dates, self.start.date())?;
        self.fires_on(&dates, day).into_iter().next()
    }

    /// The first occurrence at or after `from`.
    pub fn next_from(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.first_fire_from(from).map(|(_, at)| at)
    }

    /// The local date of the rule that `occurrence` fires for (which a clock change may have
    /// moved off its wall time), or `None` if the schedule does not fire then.
    pub fn date_of(&self, occurrence: DateTime<Utc>) -> Option<NaiveDate> {
        self.first_fire_from(occurrence)
            .and_then(|(date, at)| (at == occurrence).then_some(date))
    }

    /// Whether the rule matches `date` (skipped or not): a date the reminder could be skipped on.
    pub fn matches(&self, date: NaiveDate) -> bool {
        self.dates()
            .and_then(|dates| dates.on_or_after(date))
            .is_some_and(|(first, _)| first == date)
    }

    /// The schedule with `date` skipped too.
    pub fn skipping(mut self, date: NaiveDate) -> Schedule {
        self.skip.push(date);
        self.skip.sort_unstable();
        self.skip.dedup();
        self
    }

    /// The first occurrence at least [`MIN_INTERVAL`] after `prev`, the previous fire.
    pub fn after(&self, prev: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_from(prev.checked_add_signed(MIN_INTERVAL)?)
    }

    /// Up to `limit` occurrences from `from` on, spaced as the scheduler fires them.
    pub fn occurrences_from(&self, from: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        iter::successors(self.next_from(from), |prev| self.after(*prev))
            .take(limit)
            .collect()
    }

    /// The first occurrence at or after `from`, with the local date it belongs to.
    fn first_fire_from(&self, from: DateTime<Utc>) -> Option<(NaiveDate, DateTime<Utc>)> {
        let dates = self.dates()?;
        // Offsets lie within a day of UTC and a gap moves a time by at most a day, so an
        // occurrence three local days before `from`'s UTC date is always before `from`.
        let earliest = from
            .date_naive()
            .checked_sub_days(Days::new(3))
            .unwrap_or(NaiveDate::MIN);
        let mut day = self.fired_on_or_after(&dates, earliest)?;
        loop {
            if let Some(at) = self
                .fires_on(&dates, day)
                .into_iter()
                .find(|at| *at >= from)
            {
                return Some((day.0, at));
            }
            day = self.fired_on_or_after(&dates, day.0.succ_opt()?)?;
        }
    }

    /// The times of day the schedule fires at, earliest first.
    fn times_of_day(&self) -> Vec<NaiveTime> {
        match &self.rule {
            Some(rule) if !rule.times.is_empty() => rule.times.clone(),
            _ => vec![self.start.time()],
        }
    }

    /// `None` when the schedule is invalid. A rule ending after COUNT occurrences ends after
    /// the dates that hold them.
    fn dates(&self) -> Option<Dates> {
        if !YEARS.contains(&self.start.year()) {
            return None;
        }
        let once = Spec {
            end: End::After(1),
            ..Spec::every(Frequency::Daily, 1)
        };
        let rule = self.rule.as_ref().unwrap_or(&once);
        rule.validate().ok()?;
        let times = self.times_of_day();
        if !times.contains(&self.start.time()) {
            return None;
        }
        let dates = Dates::new(self.start.date(), rule);
        let End::After(count) = rule.end else {
            return Some(dates);
        };
        let per_date = times.len() as u64;
        let needed = u64::from(count) + self.missed_on_start(&dates);
        Some(dates.counting(needed.div_ceil(per_date)))
    }

    /// How many of its times the start's date does not fire at, being before the start: they
    /// are not occurrences, and COUNT does not count them.
    fn missed_on_start(&self, dates: &Dates) -> u64 {
        match dates.on_or_after(self.start.date()) {
            Some((date, _)) if date == self.start.date() => self
                .times_of_day()
                .iter()
                .filter(|time| **time < self.start.time())
                .count() as u64,
            _ => 0,
        }
    }

    /// The first date at or after `from` the rule matches and the reminder is not skipped on,
    /// with the dates the rule matched before it when it counts.
    fn fired_on_or_after(
        &self,
        dates: &Dates,
        from: NaiveDate,
    ) -> Option<(NaiveDate, Option<u64>)> {
        let mut day = dates.on_or_after(from)?;
        while self.skip.binary_search(&day.0).is_ok() {
            day = dates.on_or_after(day.0.succ_opt()?)?;
        }
        Some(day)
    }

    /// The instants `day` fires at, in order: its times of day, none before the start, none past
    /// COUNT.
    fn fires_on(
        &self,
        dates: &Dates,
        (date, index): (NaiveDate, Option<u64>),
    ) -> Vec<DateTime<Utc>> {
        let times = self.times_of_day();
        let remaining = match (&self.rule, index) {
            (
                Some(Spec {
                    end: End::After(count),
                    ..
                }),
                Some(index),
            ) => {
                let before =
                    (index * times.len() as u64).saturating_sub(self.missed_on_start(dates));
                u64::from(*count).saturating_sub(before)
            }
            (None, _) => 1,
            _ => u64::MAX,
        };
        let mut fires: Vec<DateTime<Utc>> = times
            .iter()
            .filter(|time| date != self.start.date() || **time >= self.start.time())
            .take(usize::try_from(remaining).unwrap_or(usize::MAX))
            .filter_map(|time| wall_clock::resolve(self.zone.tz(), date.and_time(*time)))
            .map(|resolved| resolved.fire_at())
            .collect();
        // A clock change can move a time past (or onto) a later one: 02:10 in a half-hour gap
        // fires at 02:40, after 02:35.
        fires.sort_unstable();
        fires.dedup();
        fires
    }
}
