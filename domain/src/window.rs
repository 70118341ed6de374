//! How long a run may keep sending: from its occurrence until the next time the reminder's local
//! clock reads the end hour. A run that starts late (after downtime, or behind a queue) sends
//! only while its window is open, so nobody gets a morning reminder at midnight.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::{
    recurrence::wall_clock::{self, Resolved},
    timezone::TimeZone,
};

/// The first instant strictly after `occurrence` at which the local clock reads `end_hour`:00
/// (hours above 23 count as 23). An occurrence at exactly the end hour gets a whole day, since
/// a window of zero would send nothing. When clocks skip the end hour the window closes at the
/// first instant after the skip; when they repeat it, at whichever pass comes first after the
/// occurrence.
pub fn closes_at(occurrence: DateTime<Utc>, zone: TimeZone, end_hour: u8) -> DateTime<Utc> {
    let end = NaiveTime::MIN + TimeDelta::hours(i64::from(end_hour.min(23)));
    // The local date is within a day of the UTC date, and the answer within two local days
    // (one more if the zone skips a whole date).
    let first_day = occurrence
        .date_naive()
        .checked_sub_days(Days::new(2))
        .unwrap_or(NaiveDate::MIN);
    first_day
        .iter_days()
        .take(6)
        .filter_map(|day| wall_clock::resolve(zone.tz(), day.and_time(end)))
        .flat_map(|resolved| match resolved {
            Resolved::Single(at) => [Some(at), None],
            Resolved::Fold { earlier, later } => [Some(earlier), Some(later)],
            Resolved::Gap { transition, .. } => [Some(transition), None],
        })
        .flatten()
        .find(|at| *at > occurrence)
        // Only at the end of the representable range: an empty window.
        .unwrap_or(occurrence)
}

/// Whether a run that fired at `occurrence` may still send at `now`.
pub fn is_open(
    occurrence: DateTime<Utc>,
    zone: TimeZone,
    end_hour: u8,
    now: DateTime<Utc>,
) -> bool {
    occurrence <= now && now < closes_at(occurrence, zone, end_hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|day| day.and_hms_opt(h, min, 0))
            .expect("test time")
            .and_utc()
    }

    fn zone(name: &str) -> TimeZone {
        name.parse().expect("test zone")
    }

    #[test]
    fn closes_at_the_next_end_hour() {
        let cases = [
            // 09:00 GMT, closing at 10: the same morning.
            (
                "Europe/London",
                utc(2027, 1, 5, 9, 0),
                10,
                utc(2027, 1, 5, 10, 0),
            ),
            // 22:00 closing at 02: after midnight.
            (
                "Europe/London",
                utc(2027, 1, 5, 22, 0),
                2,
                utc(2027, 1, 6, 2, 0),
            ),
            // Exactly at the end hour: a whole day rather than nothing.
            (
                "Europe/London",
                utc(2027, 1, 5, 10, 0),
                10,
                utc(2027, 1, 6, 10, 0),
            ),
            // 09:00 in Kuala Lumpur (+08:00) is 01:00 UTC; 10:00 there is 02:00 UTC.
            (
                "Asia/Kuala_Lumpur",
                utc(2027, 7, 1, 1, 0),
                10,
                utc(2027, 7, 1, 2, 0),
            ),
            // 22:00 EST on 13 March to 03:00 on the 14th, when New York is already on EDT:
            // five hours on the wall clock, four in fact.
            (
                "America/New_York",
                utc(2027, 3, 14, 3, 0),
                3,
                utc(2027, 3, 14, 7, 0),
            ),
            // London skips 01:00-02:00 on 28 March: the window closes when the skip ends.
            (
                "Europe/London",
                utc(2027, 3, 27, 23, 0),
                1,
                utc(2027, 3, 28, 1, 0),
            ),
            // Lord Howe skips 02:00-02:30 on 3 October: closes at 02:30 (+11:00).
            (
                "Australia/Lord_Howe",
                utc(2027, 10, 2, 14, 30),
                2,
                utc(2027, 10, 2, 15, 30),
            ),
            // London repeats 01:00-02:00 on 31 October: from 00:30 BST the first 01:00 (BST)...
            (
                "Europe/London",
                utc(2027, 10, 30, 23, 30),
                1,
                utc(2027, 10, 31, 0, 0),
            ),
            // ...and from 01:30 BST, the repeated 01:00 (GMT) half an hour later.
            (
                "Europe/London",
                utc(2027, 10, 31, 0, 30),
                1,
                utc(2027, 10, 31, 1, 0),
            ),
            // Hours past 23 count as 23.
            ("UTC", utc(2027, 1, 5, 9, 0), 200, utc(2027, 1, 5, 23, 0)),
        ];
        for (name, occurrence, end_hour, expected) in cases {
            assert_eq!(
                closes_at(occurrence, zone(name), end_hour),
                expected,
                "{name} {occurrence} until {end_hour}:00"
            );
        }
    }

    #[test]
    fn is_open_from_the_occurrence_until_it_closes() {
        let london = zone("Europe/London");
        let occurrence = utc(2027, 1, 5, 9, 0);
        let second = TimeDelta::seconds(1);
        let cases = [
            (occurrence - second, false),
            (occurrence, true),
            (utc(2027, 1, 5, 10, 0) - second, true),
            (utc(2027, 1, 5, 10, 0), false),
        ];
        for (now, open) in cases {
            assert_eq!(is_open(occurrence, london, 10, now), open, "{now}");
        }
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for name in ["Pacific/Kiritimati", "Etc/GMT+12"] {
                assert!(closes_at(at, zone(name), 9) >= at);
            }
        }
    }
}
