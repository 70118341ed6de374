//! Which local dates a rule fires on. Dates only: the times of day and the zone are applied by
//! [`super::Schedule`], so weekday and month-day rules always follow the local calendar.
//!
//! The rule is cut into periods (a day, week, month or year) and only every `interval`-th period
//! fires, counted from the start's period. Finding the next date jumps straight to the period of
//! the date asked about, so a daily rule that began years ago costs the same as a new one.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::{Frequency, LAST_DAY, NthWeekday, Spec};

/// The Gregorian calendar repeats every 400 years (4800 months), so a rule that matches no date
/// in that many consecutive periods never will (e.g. day 31 of every 12th month from February).
const CALENDAR_CYCLE: u64 = 4800;

/// Which day of a month a monthly rule fires on.
#[derive(Clone, Copy)]
enum MonthDay {
    Day(u32),
    Last,
    Weekday(NthWeekday),
}

pub(crate) struct Dates {
    start: NaiveDate,
    frequency: Frequency,
    interval: u64,
    /// Weekly: the days after Monday on which the rule fires.
    weekday_offsets: Vec<u64>,
    /// Monthly: which day of the month.
    month_day: MonthDay,
    /// The last date it may fire on (UNTIL).
    until: Option<NaiveDate>,
    /// How many dates it fires on in all, counted from the first; see [`Dates::counting`].
    count: Option<u64>,
}

impl Dates {
    /// Dates of a valid `spec` starting on `start` (see [`Spec::validate`]), without end by
    /// count: the schedule counts occurrences, of which a date may hold several.
    pub(crate) fn new(start: NaiveDate, spec: &Spec) -> Dates {
        let weekdays = if spec.weekdays.is_empty() {
            vec![start.weekday()]
        } else {
            spec.weekdays.clone()
        };
        let month_day = match (spec.month_day, spec.month_weekday) {
            (_, Some(nth)) => MonthDay::Weekday(nth),
            (Some(LAST_DAY), None) => MonthDay::Last,
            (Some(day), None) => MonthDay::Day(u32::try_from(day).unwrap_or(1)),
            (None, None) => MonthDay::Day(start.day()),
        };
        Dates {
            start,
            frequency: spec.frequency,
            interval: u64::from(spec.interval.max(1)),
            weekday_offsets: weekdays
                .iter()
                .map(|day| u64::from(day.num_days_from_monday()))
                .collect(),
            month_day,
            until: match spec.end {
                super::End::On(until) => Some(until),
                _ => None,
            },
            count: None,
        }
    }

    /// Ends the rule after its first `dates` dates.
    pub(crate) fn counting(self, dates: u64) -> Dates {
        Dates {
            count: Some(dates),
            ..self
        }
    }

    /// The first date the rule fires on at or after `from`, with how many dates it fired on
    /// before (`None` unless counting), or `None` once it has ended.
    pub(crate) fn on_or_after(&self, from: NaiveDate) -> Option<(NaiveDate, Option<u64>)> {
        let from = from.max(self.start);
        let first = self.periods_between(self.start, from)? / self.interval;
        for period in first..first.checked_add(CALENDAR_CYCLE)? {
            let mut earlier_in_period = 0;
            for date in self.dates_in(period) {
                if self.until.is_some_and(|until| date > until) {
                    return None;
                }
                if date < from {
                    earlier_in_period += 1;
                    continue;
                }
                let Some(count) = self.count else {
                    return Some((date, None));
                };
                let index = self.count_before(period, count) + earlier_in_period;
                return (index < count).then_some((date, Some(index)));
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
                    .and_then(|year| {
                        NaiveDate::from_ymd_opt(year, self.start.month(), self.start.day())
                    }),
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

    /// The rule's day in the month `months` after the start's, if that month has such a day.
    fn day_in_month(&self, months: u64) -> Option<NaiveDate> {
        let index = month_index(self.start).checked_add(i64::try_from(months).ok()?)?;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        match self.month_day {
            MonthDay::Day(day) => NaiveDate::from_ymd_opt(year, month, day),
            MonthDay::Last => last_of_month(year, month),
            MonthDay::Weekday(NthWeekday { nth, day }) => nth_weekday(year, month, nth, day),
        }
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

    /// Only day 29 to 31 of a month, a 5th weekday (or 29 Feb) can be missing from a period.
    fn every_period_fires(&self) -> bool {
        match self.frequency {
            Frequency::Daily | Frequency::Weekly => true,
            Frequency::Monthly => match self.month_day {
                MonthDay::Day(day) => day <= 28,
                MonthDay::Last => true,
                MonthDay::Weekday(NthWeekday { nth, .. }) => nth != 5,
            },
            Frequency::Yearly => !(self.start.month() == 2 && self.start.day() == 29),
        }
    }
}

fn monday_of(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    match first.checked_add_months(Months::new(1)) {
        Some(next) => next.pred_opt(),
        None => NaiveDate::from_ymd_opt(year, month, 31),
    }
}

/// The `nth` `day` of the month (1 to 5 from its start, -1 the last), if the month has it.
fn nth_weekday(year: i32, month: u32, nth: i8, day: Weekday) -> Option<NaiveDate> {
    let target = i64::from(day.num_days_from_monday());
    let date = if nth > 0 {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let ahead = (target - i64::from(first.weekday().num_days_from_monday())).rem_euclid(7);
        let days = ahead + 7 * (i64::from(nth) - 1);
        first.checked_add_days(Days::new(u64::try_from(days).ok()?))?
    } else {
        let last = last_of_month(year, month)?;
        let back = (i64::from(last.weekday().num_days_from_monday()) - target).rem_euclid(7);
        last.checked_sub_days(Days::new(u64::try_from(back).ok()?))?
    };
    (date.month() == month).then_some(date)
}
