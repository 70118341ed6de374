//! Clock changes (transition dates checked against chrono-tz's data for 2027).

use chrono::{NaiveTime, TimeDelta, Weekday};
use domain::recurrence::{Frequency, Spec};

use crate::{all, daily, local, schedule, spec, utc};

#[test]
fn a_time_skipped_in_spring_moves_forward_on_that_day_only() {
    let cases = [
        // London springs from 01:00 GMT to 02:00 BST on 28 March 2027.
        (
            "Europe/London",
            local(2027, 3, 27, 1, 30),
            [
                utc(2027, 3, 27, 1, 30),
                utc(2027, 3, 28, 1, 30),
                utc(2027, 3, 29, 0, 30),
            ],
        ),
        // New York springs from 02:00 EST to 03:00 EDT on 14 March 2027.
        (
            "America/New_York",
            local(2027, 3, 13, 2, 30),
            [
                utc(2027, 3, 13, 7, 30),
                utc(2027, 3, 14, 7, 30),
                utc(2027, 3, 15, 6, 30),
            ],
        ),
        // Lord Howe springs half an hour, from 02:00 (+10:30) to 02:30 (+11:00), on 3 October.
        (
            "Australia/Lord_Howe",
            local(2027, 10, 2, 2, 15),
            [
                utc(2027, 10, 1, 15, 45),
                utc(2027, 10, 2, 15, 45),
                utc(2027, 10, 3, 15, 15),
            ],
        ),
    ];
    for (name, start, expected) in cases {
        let schedule = schedule(start, name, Some(daily()));
        assert_eq!(all(&schedule, 3), expected, "{name}");
        let wall: Vec<NaiveTime> = expected
            .iter()
            .map(|at| at.with_timezone(&schedule.zone.tz()).time())
            .collect();
        let gap = if name == "Australia/Lord_Howe" {
            30
        } else {
            60
        };
        assert_eq!(wall[1] - wall[0], TimeDelta::minutes(gap), "{name}");
        assert_eq!(wall[2], wall[0], "{name}");
    }
}

#[test]
fn a_time_repeated_in_autumn_fires_once_at_the_first_pass() {
    let cases = [
        // London falls back from 02:00 BST to 01:00 GMT on 31 October 2027.
        (
            "Europe/London",
            local(2027, 10, 30, 1, 30),
            [
                utc(2027, 10, 30, 0, 30),
                utc(2027, 10, 31, 0, 30),
                utc(2027, 11, 1, 1, 30),
            ],
        ),
        // New York falls back from 02:00 EDT to 01:00 EST on 7 November 2027.
        (
            "America/New_York",
            local(2027, 11, 6, 1, 30),
            [
                utc(2027, 11, 6, 5, 30),
                utc(2027, 11, 7, 5, 30),
                utc(2027, 11, 8, 6, 30),
            ],
        ),
        // Lord Howe falls back half an hour, from 02:00 (+11:00) to 01:30 (+10:30), on 4 April.
        (
            "Australia/Lord_Howe",
            local(2027, 4, 3, 1, 45),
            [
                utc(2027, 4, 2, 14, 45),
                utc(2027, 4, 3, 14, 45),
                utc(2027, 4, 4, 15, 15),
            ],
        ),
    ];
    for (name, start, expected) in cases {
        let schedule = schedule(start, name, Some(daily()));
        assert_eq!(all(&schedule, 3), expected, "{name}");
        // The second pass of the repeated time is not another occurrence.
        assert_eq!(schedule.after(expected[1]), Some(expected[2]), "{name}");
        let between = expected[1] + TimeDelta::minutes(1);
        assert_eq!(schedule.next_from(between), Some(expected[2]), "{name}");
    }
}

#[test]
fn weekly_and_yearly_rules_land_on_clock_change_nights_like_daily_ones() {
    let sundays = Spec {
        weekdays: vec![Weekday::Sun],
        ..spec(Frequency::Weekly, 1)
    };
    let london = schedule(local(2027, 3, 21, 1, 30), "Europe/London", Some(sundays));
    assert_eq!(
        all(&london, 2),
        [utc(2027, 3, 21, 1, 30), utc(2027, 3, 28, 1, 30)]
    );
    // 7 November 2026 is standard time; 7 November 2027 is the night New York falls back.
    let yearly = schedule(
        local(2026, 11, 7, 1, 30),
        "America/New_York",
        Some(spec(Frequency::Yearly, 1)),
    );
    assert_eq!(
        all(&yearly, 2),
        [utc(2026, 11, 7, 6, 30), utc(2027, 11, 7, 5, 30)]
    );
}

#[test]
fn a_zone_without_clock_changes_stays_fixed_all_year() {
    let schedule = schedule(local(2027, 1, 1, 9, 0), "Asia/Kuala_Lumpur", Some(daily()));
    let year = all(&schedule, 365);
    assert_eq!(year.len(), 365);
    for (i, at) in year.iter().enumerate() {
        assert_eq!(*at, utc(2027, 1, 1, 1, 0) + TimeDelta::days(i as i64));
    }
}

#[test]
fn a_skipped_local_date_does_not_fire_twice() {
    // Samoa skipped 30 December 2011: 09:00 that day moves a whole day forward, onto the same
    // instant as 31 December's 09:00, and the minimum interval keeps it to one fire.
    let schedule = schedule(local(2011, 12, 29, 9, 0), "Pacific/Apia", Some(daily()));
    assert_eq!(
        all(&schedule, 3),
        [
            utc(2011, 12, 29, 19, 0),
            utc(2011, 12, 30, 19, 0),
            utc(2011, 12, 31, 19, 0)
        ]
    );
}
