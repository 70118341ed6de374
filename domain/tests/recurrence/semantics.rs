//! Rule semantics: counts, ends, starts off the rule, minimum intervals, validation and JSON.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, Utc, Weekday};
use domain::{
    recurrence::{End, Frequency, LAST_DAY, MIN_INTERVAL, NthWeekday, RuleError, Schedule, Spec},
    timezone::TimeZone,
};

use crate::{all, daily, date, local, schedule, schedule_at, spec, time, utc};

#[test]
fn months_without_the_day_are_skipped() {
    let rule = Spec {
        month_day: Some(31),
        ..spec(Frequency::Monthly, 1)
    };
    let schedule = schedule(local(2027, 1, 31, 10, 0), "UTC", Some(rule));
    let months: Vec<u32> = all(&schedule, 7).iter().map(|at| at.month()).collect();
    assert_eq!(months, [1, 3, 5, 7, 8, 10, 12]);

    let leap_day = schedule_at(local(2028, 2, 29, 7, 0), spec(Frequency::Yearly, 1));
    let years: Vec<i32> = all(&leap_day, 3).iter().map(|at| at.year()).collect();
    assert_eq!(years, [2028, 2032, 2036]);
}

#[test]
fn count_counts_occurrences_from_the_first() {
    let rule = Spec {
        month_day: Some(30),
        end: End::After(4),
        ..spec(Frequency::Monthly, 1)
    };
    let schedule = schedule_at(local(2027, 1, 30, 8, 0), rule);
    let got = all(&schedule, 10);
    assert_eq!(
        got,
        [
            utc(2027, 1, 30, 8, 0),
            utc(2027, 3, 30, 8, 0),
            utc(2027, 4, 30, 8, 0),
            utc(2027, 5, 30, 8, 0)
        ]
    );
    assert_eq!(schedule.after(got[3]), None);
    assert_eq!(schedule.next_from(utc(2030, 1, 1, 0, 0)), None);
}

#[test]
fn until_includes_its_local_date() {
    let rule = Spec {
        end: End::On(date(2027, 1, 3)),
        ..daily()
    };
    // 23:30 in New York on 3 January is already 4 January in UTC, and still fires.
    let schedule = schedule(local(2027, 1, 1, 23, 30), "America/New_York", Some(rule));
    let got = all(&schedule, 10);
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], utc(2027, 1, 4, 4, 30));
}

#[test]
fn a_start_off_the_rule_fires_first_on_the_next_matching_date() {
    let mon_wed = Spec {
        weekdays: vec![Weekday::Mon, Weekday::Wed],
        ..spec(Frequency::Weekly, 2)
    };
    // Tuesday 5 January 2027: the Wednesday of its week, then Monday and Wednesday two weeks on.
    let schedule = schedule_at(local(2027, 1, 5, 9, 0), mon_wed);
    assert_eq!(
        all(&schedule, 3),
        [
            utc(2027, 1, 6, 9, 0),
            utc(2027, 1, 18, 9, 0),
            utc(2027, 1, 20, 9, 0)
        ]
    );
    let fifteenth = Spec {
        month_day: Some(15),
        ..spec(Frequency::Monthly, 1)
    };
    let schedule = schedule_at(local(2027, 1, 20, 9, 0), fifteenth);
    assert_eq!(schedule.first(), Some(utc(2027, 2, 15, 9, 0)));
}

#[test]
fn a_one_off_fires_once() {
    let once = schedule(local(2027, 1, 5, 9, 0), "Europe/London", None);
    let at = utc(2027, 1, 5, 9, 0);
    assert_eq!(once.first(), Some(at));
    assert_eq!(once.next_from(at - TimeDelta::days(300)), Some(at));
    assert_eq!(once.next_from(at), Some(at));
    assert_eq!(once.next_from(at + TimeDelta::seconds(1)), None);
    assert_eq!(once.after(at), None);
    assert_eq!(once.occurrences_from(DateTime::<Utc>::MIN_UTC, 5), [at]);
}

#[test]
fn a_long_running_rule_finds_its_next_occurrence_directly() {
    let rule = Spec {
        end: End::After(100_000),
        ..daily()
    };
    let schedule = schedule(local(2017, 1, 1, 8, 30), "Europe/London", Some(rule));
    let prev = utc(2027, 6, 1, 7, 30);
    assert_eq!(schedule.after(prev), Some(utc(2027, 6, 2, 7, 30)));
    assert_eq!(
        schedule.occurrences_from(prev, 5).last(),
        Some(&utc(2027, 6, 5, 7, 30))
    );
}

#[test]
fn after_keeps_the_minimum_interval_from_the_previous_fire() {
    let schedule = schedule_at(local(2027, 1, 1, 9, 0), daily());
    let today = utc(2027, 1, 5, 9, 0);
    let tomorrow = utc(2027, 1, 6, 9, 0);
    assert_eq!(schedule.after(today - MIN_INTERVAL), Some(today));
    let too_close = today - MIN_INTERVAL + TimeDelta::seconds(1);
    assert_eq!(schedule.after(too_close), Some(tomorrow));
    assert_eq!(schedule.after(today), Some(tomorrow));
}

#[test]
fn validation_refuses_schedules_that_never_fire() {
    let ended = Spec {
        end: End::On(date(2026, 12, 31)),
        ..daily()
    };
    assert_eq!(
        schedule_at(local(2027, 1, 1, 9, 0), ended).validate(),
        Err(RuleError::NeverFires)
    );
    // Day 31 of every 12th month from February never comes.
    let never = Spec {
        month_day: Some(31),
        ..spec(Frequency::Monthly, 12)
    };
    let schedule = schedule_at(local(2027, 2, 1, 9, 0), never);
    assert_eq!(schedule.validate(), Err(RuleError::NeverFires));
    assert_eq!(schedule.first(), None);

    let far = Schedule {
        start: local(10_000, 1, 1, 9, 0),
        zone: TimeZone::UTC,
        rule: None,
        skip: Vec::new(),
    };
    assert!(matches!(far.validate(), Err(RuleError::StartOutOfRange(_))));
    assert_eq!(
        schedule_at(local(2027, 1, 1, 9, 0), spec(Frequency::Daily, 0)).validate(),
        Err(RuleError::Interval(0))
    );
    assert_eq!(
        schedule_at(local(2027, 1, 1, 9, 0), daily()).validate(),
        Ok(())
    );
}

#[test]
fn invalid_and_extreme_input_never_panics() {
    let extremes = [
        NaiveDateTime::MIN,
        NaiveDateTime::MAX,
        local(9999, 12, 31, 23, 59),
    ];
    let froms = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        utc(2027, 1, 1, 0, 0),
    ];
    let rules = [
        None,
        Some(spec(Frequency::Daily, 0)),
        Some(Spec {
            weekdays: vec![Weekday::Sun, Weekday::Mon],
            ..spec(Frequency::Weekly, 1)
        }),
        Some(spec(Frequency::Yearly, 999)),
        Some(Spec {
            month_day: Some(31),
            ..spec(Frequency::Monthly, 999)
        }),
    ];
    for start in extremes {
        for rule in &rules {
            for name in ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"] {
                let schedule = schedule(start, name, rule.clone());
                for from in froms {
                    let _ = schedule.occurrences_from(from, 3);
                    let _ = schedule.after(from);
                }
                let _ = schedule.summary();
            }
        }
    }
    // Invalid rules never fire rather than guess.
    let zero = schedule_at(local(2027, 1, 1, 9, 0), spec(Frequency::Daily, 0));
    assert_eq!(zero.first(), None);
    // A start in the last supported year runs on past it.
    let last = schedule_at(local(9999, 12, 30, 9, 0), daily());
    assert_eq!(all(&last, 5).len(), 5);
}

#[test]
fn schedules_travel_as_json() {
    let schedule = schedule(
        local(2027, 1, 5, 9, 0),
        "Europe/London",
        Some(Spec {
            weekdays: vec![Weekday::Mon, Weekday::Fri],
            end: End::After(3),
            ..spec(Frequency::Weekly, 2)
        }),
    );
    let json = serde_json::to_value(&schedule).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "start": "2027-01-05T09:00:00",
            "zone": "Europe/London",
            "rule": {
                "frequency": "weekly",
                "interval": 2,
                "weekdays": ["Mon", "Fri"],
                "month_day": null,
                "end": {"after": 3}
            }
        })
    );
    assert_eq!(serde_json::from_value::<Schedule>(json).unwrap(), schedule);
}

#[test]
fn weekdays_of_the_month_and_its_last_day() {
    let days = |rule: Spec, start| -> Vec<u32> {
        all(&schedule_at(start, rule), 6)
            .iter()
            .map(|at| at.day())
            .collect()
    };
    let nth = |nth, day| Spec {
        month_weekday: Some(NthWeekday { nth, day }),
        ..spec(Frequency::Monthly, 1)
    };
    // 2027 from January: the 2nd Tuesdays, the last Fridays.
    let jan = local(2027, 1, 1, 9, 0);
    assert_eq!(days(nth(2, Weekday::Tue), jan), [12, 9, 9, 13, 11, 8]);
    assert_eq!(days(nth(-1, Weekday::Fri), jan), [29, 26, 26, 30, 28, 25]);
    // A start after this month's 2nd Tuesday begins with next month's.
    assert_eq!(days(nth(2, Weekday::Tue), local(2027, 1, 13, 9, 0))[0], 9);
    // Only some months have a 5th Monday: Mar, May, Aug, Nov 2027, Jan 2028.
    let fifth = all(&schedule_at(jan, nth(5, Weekday::Mon)), 5);
    let months: Vec<(i32, u32, u32)> = fifth
        .iter()
        .map(|at| (at.year(), at.month(), at.day()))
        .collect();
    assert_eq!(
        months,
        [
            (2027, 3, 29),
            (2027, 5, 31),
            (2027, 8, 30),
            (2027, 11, 29),
            (2028, 1, 31)
        ]
    );
    let last_day = Spec {
        month_day: Some(LAST_DAY),
        ..spec(Frequency::Monthly, 1)
    };
    assert_eq!(
        days(last_day, local(2027, 11, 30, 18, 0)),
        [30, 31, 31, 29, 31, 30]
    );
}

#[test]
fn several_times_a_day_fire_in_order_and_count_each_time() {
    let twice = Spec {
        times: vec![time(9, 0), time(17, 0)],
        end: End::After(5),
        ..daily()
    };
    // Starting at 17:00 on the 5th: that day's 09:00 is before the start and does not count.
    let schedule = schedule(
        local(2027, 1, 5, 17, 0),
        "Europe/Paris",
        Some(twice.clone()),
    );
    assert_eq!(
        all(&schedule, 10),
        [
            utc(2027, 1, 5, 16, 0),
            utc(2027, 1, 6, 8, 0),
            utc(2027, 1, 6, 16, 0),
            utc(2027, 1, 7, 8, 0),
            utc(2027, 1, 7, 16, 0)
        ]
    );
    assert_eq!(
        schedule.date_of(utc(2027, 1, 6, 16, 0)),
        Some(date(2027, 1, 6))
    );
    assert_eq!(schedule.date_of(utc(2027, 1, 6, 17, 0)), None);
    // Skipping the 6th leaves out both of its times; they still count, as RFC 5545 says.
    let skipped = Schedule {
        skip: vec![date(2027, 1, 6)],
        ..schedule.clone()
    };
    assert_eq!(
        all(&skipped, 10),
        [
            utc(2027, 1, 5, 16, 0),
            utc(2027, 1, 7, 8, 0),
            utc(2027, 1, 7, 16, 0)
        ]
    );
    assert_eq!(
        schedule.next_from(utc(2027, 1, 6, 9, 0)),
        Some(utc(2027, 1, 6, 16, 0))
    );
    // The start's time must be one of the times, so that the first day reads plainly.
    let off = Schedule {
        start: local(2027, 1, 5, 12, 0),
        ..schedule
    };
    assert_eq!(off.validate(), Err(RuleError::StartTimeNotListed));
    assert_eq!(off.first(), None);
}
