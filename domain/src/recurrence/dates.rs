//! Which local dates a rule fires on. Dates only: the time of day and the zone are applied by
//! [`super::Schedule`], so weekday and month-day rules always follow the local calendar.
//!
//! The rule is cut into periods (a day, week, month or year) and only every `interval`-th period
//! fires, counted from the start's period. Finding the next date jumps straight to the period of
//! the date asked about, so a daily rule that began years ago costs the same as a new one.

use chrono::{Datelike, Days, NaiveDate};

use super::{End, Frequency, Spec};

/// The Gregorian calendar repeats every 400 years (4800 months), so a rule that matches no date
/// in that many consecutive periods never will (e.g. day 31 of every 12th month from February).
const CALENDAR_CYCLE: u64 = 4800;

pub(crate) struct Dates {
    start: NaiveDate,
    frequency: Frequency,
    interval: u64,
    /// Weekly: the days after Monday on which the rule fires.
    weekday_offsets: Vec<u64>,
    /// Monthly: the day of the month; yearly: the start's day.
    day: u32,
    end: End,
}

impl Dates {
    /// Dates of a valid `spec` starting on `start`: see [`Spec::validate`].
    pub(crate) fn new(start: NaiveDate, spec: &Spec) -> Dates {
        let weekdays = if spec.weekdays.is_empty() {
            vec![start.weekday()]
        } else {
            spec.weekdays.clone()
        };
        Dates {
            start,
            frequency: spec.frequency,
            interval: u64::from(spec.interval.max(1)),
            weekday_offsets: weekdays
                .iter()
                .map(|day| u64::from(day.num_days_from_monday()))
                .collect(),
            day: spec.month_day.map_or(start.day(), u32::from),
            end: spec.end,
        }
    }

    /// The first date the rule fires on at or after `from`, or `None` once it has ended.
    pub(crate) fn on_or_after(&self, from: NaiveDate) -> Option<NaiveDate> {
        let from = from.max(self.start);
        let first = self.periods_between(self.start, from)? / self.interval;
        for period in first..first.checked_add(CALENDAR_CYCLE)? {
            let mut earlier_in_period = 0;
            for date in self.dates_in(period) {
                if matches!(self.end, End::On(until) if date > until) {
                    return None;
                }
                if date < from {
                    earlier_in_period += 1;
                    continue;
                }
                if let End::After(count) = self.end {
                    let index = self.count_before(period, u64::from(count)) + earlier_in_period;
                    if index >= u64::from(count) {
                        return None;
                    }
                }
                return Some(date);
            }
        }
        None
    }

    /// Whole periods from the one holding `a` to the one holding `b` (`a <= b`).
    fn periods_between(&self, a: NaiveDate, b: NaiveDate) -> Option<u64> {
        let periods = match self.frequency {
            Frequency::Daily => (b - a).num_days(),
            Frequency::Weekly => (monday_of(b)? - monday_of(a)?).num_days() / 7,
            Frequency::Monthly => month_index(b) - month_index(a),
            Frequency::Yearly => i64::from(b.year() - a.year()),
        };
        u64::try_from(periods).ok()
    }

    /// The dates in the `period`-th firing period, in order, none before the start.
    fn dates_in(&self, period: u64) -> impl Iterator<Item = NaiveDate> + '_ {
        let step = period.saturating_mul(self.interval);
        let (first_day, offsets): (Option<NaiveDate>, &[u64]) = match self.frequency {
            Frequency::Daily => (self.start.checked_add_days(Days::new(step)), &[0]),
            Frequency::Weekly => (
                monday_of(self.start)
                    .and_then(|monday| monday.checked_add_days(Days::new(step.saturating_mul(7)))),
                &self.weekday_offsets,
            ),
            Frequency::Monthly => (self.day_in_month(step), &[0]),
            Frequency::Yearly => (
                i64::try_from(step)
                    .ok()
                    .and_then(|years| i32::try_from(i64::from(self.start.year()) + years).ok())
                    .and_then(|year| NaiveDate::from_ymd_opt(year, self.start.month(), self.day)),
                &[0],
            ),
        };
        first_day
            .into_iter()
            .flat_map(move |day| {
                offsets
                    .iter()
                    .filter_map(move |offset| day.checked_add_days(Days::new(*offset)))
            })
            .filter(move |date| *date >= self.start)
    }

    /// `self.day` in the month `months` after the start's, if that month has such a day.
    fn day_in_month(&self, months: u64) -> Option<NaiveDate> {
        let index = month_index(self.start).checked_add(i64::try_from(months).ok()?)?;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        NaiveDate::from_ymd_opt(year, month, self.day)
    }

    /// How many dates the periods before `period` hold. Past `cap` the exact number does not
    /// matter, so counting may stop there.
    fn count_before(&self, period: u64, cap: u64) -> u64 {
        if period == 0 {
            return 0;
        }
        if self.every_period_fires() {
            let per_period = match self.frequency {
                Frequency::Weekly => self.weekday_offsets.len() as u64,
                _ => 1,
            };
            let first = self.dates_in(0).count() as u64;
            return first.saturating_add((period - 1).saturating_mul(per_period));
        }
        let mut total = 0;
        for earlier in 0..period {
            total += self.dates_in(earlier).count() as u64;
            if total >= cap {
                break;
            }
        }
        total
    }

    /// Only day 29 to 31 of a month (or 29 Feb) can be missing from a period.
    fn every_period_fires(&self) -> bool {
        match self.frequency {
            Frequency::Daily | Frequency::Weekly => true,
            Frequency::Monthly => self.day <= 28,
            Frequency::Yearly => !(self.start.month() == 2 && self.day == 29),
        }
    }
}

fn monday_of(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}
