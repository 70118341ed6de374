//! When a reminder fires: its rule's local dates at the start's wall time, mapped to instants.

use std::iter;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
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
    /// month or year that counts toward the interval) and gives every occurrence's time of day;
    /// if the start's date does not match the rule, the first occurrence is the next date that
    /// does.
    pub start: NaiveDateTime,
    pub zone: TimeZone,
    /// `None` fires once, at `start`.
    pub rule: Option<Spec>,
    /// Local dates the rule matches but the reminder does not fire on (RFC 5545 EXDATE, by
    /// date): a holiday, or an occurrence the operator skipped. Sorted, each once. As in RFC
    /// 5545, a skipped date still counts toward COUNT.
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
        let date = self.fired_on_or_after(&dates, self.start.date())?;
        self.at(date)
    }

    /// The first occurrence at or after `from`.
    pub fn next_from(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let dates = self.dates()?;
        // Offsets lie within a day of UTC and a gap moves a time by at most a day, so an
        // occurrence three local days before `from`'s UTC date is always before `from`.
        let earliest = from
            .date_naive()
            .checked_sub_days(Days::new(3))
            .unwrap_or(NaiveDate::MIN);
        let mut date = self.fired_on_or_after(&dates, earliest)?;
        loop {
            let at = self.at(date)?;
            if at >= from {
                return Some(at);
            }
            date = self.fired_on_or_after(&dates, date.succ_opt()?)?;
        }
    }

    /// The local date of the rule that `occurrence` fires for (which a clock change may have
    /// moved off its wall time), or `None` if the schedule does not fire then.
    pub fn date_of(&self, occurrence: DateTime<Utc>) -> Option<NaiveDate> {
        let dates = self.dates()?;
        let earliest = occurrence.date_naive().checked_sub_days(Days::new(3))?;
        let mut date = self.fired_on_or_after(&dates, earliest)?;
        loop {
            let at = self.at(date)?;
            if at >= occurrence {
                return (at == occurrence).then_some(date);
            }
            date = self.fired_on_or_after(&dates, date.succ_opt()?)?;
        }
    }

    /// Whether the rule matches `date` (skipped or not): a date the reminder could be skipped on.
    pub fn matches(&self, date: NaiveDate) -> bool {
        self.dates()
            .and_then(|dates| dates.on_or_after(date))
            .is_some_and(|first| first == date)
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

    /// `None` when the schedule is invalid.
    fn dates(&self) -> Option<Dates> {
        if !YEARS.contains(&self.start.year()) {
            return None;
        }
        let once = Spec {
            frequency: Frequency::Daily,
            interval: 1,
            weekdays: Vec::new(),
            month_day: None,
            end: End::After(1),
        };
        let rule = self.rule.as_ref().unwrap_or(&once);
        rule.validate().ok()?;
        Some(Dates::new(self.start.date(), rule))
    }

    /// The first date at or after `from` the rule matches and the reminder is not skipped on.
    fn fired_on_or_after(&self, dates: &Dates, from: NaiveDate) -> Option<NaiveDate> {
        let mut date = dates.on_or_after(from)?;
        while self.skip.binary_search(&date).is_ok() {
            date = dates.on_or_after(date.succ_opt()?)?;
        }
        Some(date)
    }

    fn at(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        wall_clock::resolve(self.zone.tz(), date.and_time(self.start.time()))
            .map(|resolved| resolved.fire_at())
    }
}
