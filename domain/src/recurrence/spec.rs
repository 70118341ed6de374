//! What a repeating reminder's rule says, as the browser's wizard builds it.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use super::{MIN_INTERVAL, RuleError};

/// Years a start or end date may fall in: an RRULE writes dates with four digits.
pub(crate) const YEARS: RangeInclusive<i32> = 1..=9999;

/// The most times of day one rule may fire at: hourly is already far more than a group wants.
pub const MAX_TIMES: usize = 24;

/// The days "every weekday" sends on.
pub const WORKING_WEEK: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

/// `month_day` meaning the last day of the month (RFC 5545 BYMONTHDAY=-1).
pub const LAST_DAY: i8 = -1;

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

/// A weekday by its place in the month: the 2nd Tuesday (`nth: 2`), the last Friday (`nth: -1`).
/// RFC 5545 writes it `BYDAY=2TU` in a monthly rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NthWeekday {
    /// 1 to 5 from the start of the month, or -1 for the last. Months without a 5th are skipped.
    pub nth: i8,
    pub day: Weekday,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub frequency: Frequency,
    /// Every `interval` days, weeks, months or years: 1 to 999.
    pub interval: u16,
    /// Weekly only: the days to fire on, Monday first, each once. Empty means the start's weekday.
    pub weekdays: Vec<Weekday>,
    /// Monthly only: the day of the month, 1 to 31, or [`LAST_DAY`]. `None` means the start's
    /// day (or `month_weekday`). Months without that day are skipped, as RFC 5545 says.
    pub month_day: Option<i8>,
    /// Monthly only, instead of `month_day`: a weekday by its place in the month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month_weekday: Option<NthWeekday>,
    /// Several times a day: every local time of day the rule fires at on each of its dates,
    /// earliest first, whole minutes, at least [`MIN_INTERVAL`] apart. Empty means the start's
    /// time alone. RFC 5545 writes them as hours by minutes (BYHOUR=9,17;BYMINUTE=0), so every
    /// hour listed must have the same minutes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<NaiveTime>,
    pub end: End,
}

impl Spec {
    /// A rule of `frequency` every `interval` periods, on the start's day and time, never ending.
    pub fn every(frequency: Frequency, interval: u16) -> Spec {
        Spec {
            frequency,
            interval,
            weekdays: Vec::new(),
            month_day: None,
            month_weekday: None,
            times: Vec::new(),
            end: End::Never,
        }
    }

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
            if !(1..=31).contains(&day) && day != LAST_DAY {
                return Err(RuleError::MonthDay(day));
            }
        }
        if let Some(NthWeekday { nth, .. }) = self.month_weekday {
            if self.frequency != Frequency::Monthly {
                return Err(RuleError::NthWeekdayNotMonthly);
            }
            if self.month_day.is_some() {
                return Err(RuleError::MonthDayAndWeekday);
            }
            if !(1..=5).contains(&nth) && nth != -1 {
                return Err(RuleError::NthWeekday(nth));
            }
        }
        self.validate_times()?;
        match self.end {
            End::After(0) => Err(RuleError::ZeroCount),
            End::On(date) if !YEARS.contains(&date.year()) => Err(RuleError::UntilOutOfRange(date)),
            _ => Ok(()),
        }
    }

    fn validate_times(&self) -> Result<(), RuleError> {
        let times = &self.times;
        if times.len() > MAX_TIMES {
            return Err(RuleError::TooManyTimes(times.len()));
        }
        if times.iter().any(|t| t.second() != 0 || t.nanosecond() != 0) {
            return Err(RuleError::TimeWithSeconds);
        }
        if !times.is_sorted_by(|a, b| a < b) {
            return Err(RuleError::TimesUnordered);
        }
        let (hours, minutes) = hours_and_minutes(times);
        if hours.len() * minutes.len() != times.len() {
            return Err(RuleError::TimesNotAGrid);
        }
        // Across midnight too: the last time of one day and the first of the next.
        let wrap = times
            .first()
            .zip(times.last())
            .filter(|_| times.len() > 1)
            .map(|(first, last)| (*first - *last) + chrono::TimeDelta::days(1));
        let mut gaps = times.windows(2).map(|pair| pair[1] - pair[0]).chain(wrap);
        if gaps.any(|gap| gap < MIN_INTERVAL) {
            return Err(RuleError::TimesTooClose);
        }
        Ok(())
    }
}

/// The hours and the minutes `times` use, each sorted and once.
pub(crate) fn hours_and_minutes(times: &[NaiveTime]) -> (Vec<u32>, Vec<u32>) {
    let mut hours: Vec<u32> = times.iter().map(Timelike::hour).collect();
    let mut minutes: Vec<u32> = times.iter().map(Timelike::minute).collect();
    for list in [&mut hours, &mut minutes] {
        list.sort_unstable();
        list.dedup();
    }
    (hours, minutes)
}
