//! What a repeating reminder's rule says, as the browser's wizard builds it.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::RuleError;

/// Years a start or end date may fall in: an RRULE writes dates with four digits.
pub(crate) const YEARS: RangeInclusive<i32> = 1..=9999;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    Never,
    /// After this many occurrences, counted from the first (RFC 5545 COUNT).
    After(u32),
    /// The last local date on which the reminder may fire, inclusive.
    On(NaiveDate),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub frequency: Frequency,
    /// Every `interval` days, weeks, months or years: 1 to 999.
    pub interval: u16,
    /// Weekly only: the days to fire on, Monday first, each once. Empty means the start's weekday.
    pub weekdays: Vec<Weekday>,
    /// Monthly only: the day of the month, 1 to 31. `None` means the start's day. Months without
    /// that day are skipped, as RFC 5545 says.
    pub month_day: Option<u8>,
    pub end: End,
}

impl Spec {
    /// Refuses a spec the scheduler cannot follow or that would not survive an RRULE round trip.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !(1..=999).contains(&self.interval) {
            return Err(RuleError::Interval(self.interval));
        }
        if !self.weekdays.is_empty() && self.frequency != Frequency::Weekly {
            return Err(RuleError::WeekdaysNotWeekly);
        }
        let ordered = self
            .weekdays
            .windows(2)
            .all(|pair| pair[0].num_days_from_monday() < pair[1].num_days_from_monday());
        if !ordered {
            return Err(RuleError::WeekdaysUnordered);
        }
        if let Some(day) = self.month_day {
            if self.frequency != Frequency::Monthly {
                return Err(RuleError::MonthDayNotMonthly);
            }
            if !(1..=31).contains(&day) {
                return Err(RuleError::MonthDay(day));
            }
        }
        match self.end {
            End::After(0) => Err(RuleError::ZeroCount),
            End::On(date) if !YEARS.contains(&date.year()) => Err(RuleError::UntilOutOfRange(date)),
            _ => Ok(()),
        }
    }
}
