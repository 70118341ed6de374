//! Recurrence rules: RRULE round trips, occurrences against a day-by-day reading of the rule and
//! against the `rrule` crate, clock changes in real zones, and summaries.

mod clock_changes;
mod occurrences;
mod rrule_text;
mod semantics;
mod summaries;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use domain::{
    recurrence::{Frequency, Schedule, Spec},
    timezone::TimeZone,
};

const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date")
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, min, 0).expect("test time")
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    local(y, m, d, h, min).and_utc()
}

fn zone(name: &str) -> TimeZone {
    name.parse().expect("test zone")
}

fn spec(frequency: Frequency, interval: u16) -> Spec {
    Spec::every(frequency, interval)
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time")
}

fn daily() -> Spec {
    spec(Frequency::Daily, 1)
}

fn schedule(start: NaiveDateTime, zone_name: &str, rule: Option<Spec>) -> Schedule {
    Schedule {
        start,
        zone: zone(zone_name),
        rule,
        skip: Vec::new(),
    }
}

/// Occurrences from the very first one.
fn all(schedule: &Schedule, limit: usize) -> Vec<DateTime<Utc>> {
    schedule.occurrences_from(DateTime::<Utc>::MIN_UTC, limit)
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn weekday_subset(bits: u64) -> Vec<Weekday> {
    ALL_WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, day)| *day)
        .collect()
}

fn schedule_at(start: NaiveDateTime, rule: Spec) -> Schedule {
    schedule(start, "UTC", Some(rule))
}
