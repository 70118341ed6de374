//! RRULE text: every valid spec round-trips, the text is canonical, and what cannot be
//! expressed is refused with a reason.

use chrono::{NaiveTime, Weekday};
use domain::recurrence::{End, Frequency, LAST_DAY, NthWeekday, RuleError, Spec};

use crate::{ALL_WEEKDAYS, daily, date, spec, time, weekday_subset};

/// Sets of times a day that RRULE can say: hours by minutes.
fn time_grids() -> Vec<Vec<NaiveTime>> {
    let grid = |hours: &[u32], minutes: &[u32]| {
        let mut times: Vec<NaiveTime> = hours
            .iter()
            .flat_map(|h| minutes.iter().map(move |m| time(*h, *m)))
            .collect();
        times.sort_unstable();
        times
    };
    vec![
        grid(&[9], &[0]),
        grid(&[9, 17], &[0]),
        grid(&[0, 23], &[30]),
        grid(&[8, 12, 18], &[15, 45]),
        grid(&(0..24).collect::<Vec<_>>(), &[0]),
    ]
}

/// Every frequency × a spread of intervals × every weekday subset × every month day and weekday
/// of the month × each end, and sets of times a day on a few of them.
fn every_spec_shape() -> Vec<Spec> {
    let intervals = [1, 2, 3, 7, 12, 52, 998, 999];
    let ends = [
        End::Never,
        End::After(1),
        End::After(7),
        End::After(u32::MAX),
        End::On(date(2027, 1, 1)),
        End::On(date(1, 1, 1)),
        End::On(date(9999, 12, 31)),
        End::On(date(2028, 2, 29)),
    ];
    let mut specs = Vec::new();
    for interval in intervals {
        for end in ends {
            let with = |frequency, weekdays, month_day| Spec {
                weekdays,
                month_day,
                end,
                ..Spec::every(frequency, interval)
            };
            specs.push(with(Frequency::Daily, Vec::new(), None));
            specs.push(with(Frequency::Yearly, Vec::new(), None));
            for bits in 0..128 {
                specs.push(with(Frequency::Weekly, weekday_subset(bits), None));
            }
            specs.push(with(Frequency::Monthly, Vec::new(), None));
            for day in (1..=31).chain([LAST_DAY]) {
                specs.push(with(Frequency::Monthly, Vec::new(), Some(day)));
            }
            for nth in [1, 2, 3, 4, 5, -1] {
                for day in ALL_WEEKDAYS {
                    specs.push(Spec {
                        month_weekday: Some(NthWeekday { nth, day }),
                        ..with(Frequency::Monthly, Vec::new(), None)
                    });
                }
            }
            for times in time_grids() {
                specs.push(Spec {
                    times: times.clone(),
                    ..with(Frequency::Daily, Vec::new(), None)
                });
                specs.push(Spec {
                    times,
                    ..with(Frequency::Weekly, weekday_subset(0b11111), None)
                });
            }
        }
    }
    specs
}

#[test]
fn every_valid_spec_survives_an_rrule_round_trip() {
    let specs = every_spec_shape();
    assert!(specs.len() > 10_000, "{} shapes", specs.len());
    for spec in specs {
        assert_eq!(spec.validate(), Ok(()), "{spec:?}");
        let text = spec.to_rrule();
        assert_eq!(Spec::from_rrule(&text), Ok(spec.clone()), "{text}");
        // Other spellings of the same rule read the same, and write back canonically.
        let prefixed = format!("rrule:{}", text.to_lowercase());
        assert_eq!(Spec::from_rrule(&prefixed), Ok(spec.clone()), "{prefixed}");
        let reversed: Vec<&str> = text.split(';').rev().collect();
        let reversed = reversed.join(";");
        assert_eq!(
            Spec::from_rrule(&reversed).map(|s| s.to_rrule()),
            Ok(text.clone())
        );
    }
}

#[test]
fn rrule_text_is_canonical() {
    let cases = [
        (daily(), "FREQ=DAILY"),
        (
            Spec {
                weekdays: vec![Weekday::Mon, Weekday::Wed, Weekday::Fri],
                end: End::On(date(2027, 1, 1)),
                ..spec(Frequency::Weekly, 2)
            },
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20270101",
        ),
        (
            Spec {
                month_day: Some(15),
                end: End::After(12),
                ..spec(Frequency::Monthly, 1)
            },
            "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=12",
        ),
        (
            Spec {
                end: End::On(date(33, 4, 5)),
                ..spec(Frequency::Yearly, 10)
            },
            "FREQ=YEARLY;INTERVAL=10;UNTIL=00330405",
        ),
        (
            Spec {
                month_weekday: Some(NthWeekday {
                    nth: 2,
                    day: Weekday::Tue,
                }),
                ..spec(Frequency::Monthly, 1)
            },
            "FREQ=MONTHLY;BYDAY=2TU",
        ),
        (
            Spec {
                month_weekday: Some(NthWeekday {
                    nth: -1,
                    day: Weekday::Fri,
                }),
                end: End::After(3),
                ..spec(Frequency::Monthly, 2)
            },
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;COUNT=3",
        ),
        (
            Spec {
                month_day: Some(LAST_DAY),
                ..spec(Frequency::Monthly, 1)
            },
            "FREQ=MONTHLY;BYMONTHDAY=-1",
        ),
        (
            Spec {
                weekdays: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
                times: vec![time(9, 0), time(17, 0)],
                ..spec(Frequency::Weekly, 1)
            },
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9,17;BYMINUTE=0",
        ),
        (
            Spec {
                times: vec![time(8, 30), time(12, 30)],
                ..daily()
            },
            "FREQ=DAILY;BYHOUR=8,12;BYMINUTE=30",
        ),
    ];
    for (spec, text) in cases {
        assert_eq!(spec.to_rrule(), text);
    }
}

#[test]
fn rrule_reading_is_lenient_about_spelling_only() {
    let weekly = Spec::from_rrule(" RRULE:freq=Weekly; byday=fr,mo,MO ;interval=3; ").unwrap();
    assert_eq!(weekly.weekdays, vec![Weekday::Mon, Weekday::Fri]);
    assert_eq!(weekly.interval, 3);
    assert_eq!(weekly.to_rrule(), "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR");
    let monthly = Spec::from_rrule("freq=monthly;byday=+2tu").unwrap();
    assert_eq!(monthly.to_rrule(), "FREQ=MONTHLY;BYDAY=2TU");
    let twice = Spec::from_rrule("FREQ=DAILY;BYMINUTE=0,0;BYHOUR=17,9").unwrap();
    assert_eq!(twice.times, [time(9, 0), time(17, 0)]);
}

#[test]
fn unsupported_rrules_are_refused_with_a_reason() {
    let cases: &[(&str, RuleError, &str)] = &[
        (
            "FREQ=HOURLY",
            RuleError::UnsupportedFrequency("HOURLY".into()),
            "Herald cannot express FREQ=HOURLY: reminders repeat daily, weekly, monthly or yearly",
        ),
        (
            "FREQ=MINUTELY;INTERVAL=5",
            RuleError::UnsupportedFrequency("MINUTELY".into()),
            "FREQ=MINUTELY",
        ),
        (
            "FREQ=FORTNIGHTLY",
            RuleError::UnsupportedFrequency("FORTNIGHTLY".into()),
            "daily, weekly, monthly or yearly",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
            RuleError::UnsupportedPart("BYSETPOS".into()),
            "Herald cannot express BYSETPOS",
        ),
        (
            "FREQ=DAILY;BYSECOND=30",
            RuleError::UnsupportedPart("BYSECOND".into()),
            "only FREQ, INTERVAL, BYDAY (weekly, or one weekday of the month), BYMONTHDAY",
        ),
        (
            "FREQ=DAILY;BYHOUR=9,17",
            RuleError::HalfTimes("BYHOUR", "BYMINUTE"),
            "BYHOUR without BYMINUTE",
        ),
        (
            "FREQ=DAILY;BYMINUTE=0",
            RuleError::HalfTimes("BYMINUTE", "BYHOUR"),
            "need both hours and minutes",
        ),
        (
            "FREQ=DAILY;BYHOUR=9,24;BYMINUTE=0",
            RuleError::BadTimes {
                part: "BYHOUR",
                value: "9,24".into(),
                what: "hours",
            },
            "BYHOUR=9,24 is not a list of hours",
        ),
        (
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0,3",
            RuleError::TimesTooClose,
            "at least 5 minutes apart",
        ),
        (
            "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,58",
            RuleError::TimesTooClose,
            "across midnight",
        ),
        (
            "FREQ=WEEKLY;WKST=SU",
            RuleError::UnsupportedPart("WKST".into()),
            "WKST",
        ),
        (
            "FREQ=DAILY;COLOUR=RED",
            RuleError::UnsupportedPart("COLOUR".into()),
            "COLOUR",
        ),
        (
            "FREQ=DAILY;COUNT=3;UNTIL=20270101",
            RuleError::CountAndUntil,
            "both COUNT and UNTIL",
        ),
        (
            "FREQ=MONTHLY;BYDAY=1MO,3MO",
            RuleError::UnsupportedWeekdays("1MO,3MO".into()),
            "one weekday with its place, such as 2TU",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,1TU",
            RuleError::UnsupportedWeekdays("MO,1TU".into()),
            "plain weekdays",
        ),
        (
            "FREQ=MONTHLY;BYDAY=XX",
            RuleError::UnsupportedWeekdays("XX".into()),
            "BYDAY=XX",
        ),
        (
            "FREQ=WEEKLY;BYDAY=-1FR",
            RuleError::NthWeekdayNotMonthly,
            "only for a monthly rule",
        ),
        (
            "FREQ=MONTHLY;BYDAY=6TU",
            RuleError::NthWeekday(6),
            "1st to 5th, or the last, not 6",
        ),
        (
            "FREQ=MONTHLY;BYDAY=-2TU",
            RuleError::NthWeekday(-2),
            "not -2",
        ),
        (
            "FREQ=MONTHLY;BYDAY=1TU;BYMONTHDAY=3",
            RuleError::MonthDayAndWeekday,
            "not both",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-2",
            RuleError::MonthDay(-2),
            "or the last day, not -2",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            RuleError::UnsupportedMonthDay("1,15".into()),
            "BYMONTHDAY=1,15",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=32",
            RuleError::MonthDay(32),
            "from 1 to 31, or the last day, not 32",
        ),
        (
            "FREQ=DAILY;BYDAY=MO",
            RuleError::WeekdaysNotWeekly,
            "only for a weekly rule",
        ),
        (
            "FREQ=WEEKLY;BYMONTHDAY=3",
            RuleError::MonthDayNotMonthly,
            "only for a monthly rule",
        ),
        (
            "FREQ=DAILY;INTERVAL=0",
            RuleError::Interval(0),
            "from 1 to 999, not 0",
        ),
        (
            "FREQ=DAILY;INTERVAL=1000",
            RuleError::Interval(1000),
            "not 1000",
        ),
        (
            "FREQ=DAILY;INTERVAL=two",
            RuleError::NotANumber {
                part: "INTERVAL",
                value: "TWO".into(),
            },
            "INTERVAL=TWO is not a number",
        ),
        ("FREQ=DAILY;COUNT=0", RuleError::ZeroCount, "at least once"),
        (
            "FREQ=DAILY;UNTIL=20270101T000000Z",
            RuleError::BadUntil("20270101T000000Z".into()),
            "YYYYMMDD",
        ),
        (
            "FREQ=DAILY;UNTIL=20270230",
            RuleError::BadUntil("20270230".into()),
            "is not a date",
        ),
        (
            "FREQ=DAILY;UNTIL=00000101",
            RuleError::UntilOutOfRange(date(0, 1, 1)),
            "outside the years 1 to 9999",
        ),
        (
            "FREQ=DAILY;FREQ=WEEKLY",
            RuleError::Repeated("FREQ".into()),
            "more than once",
        ),
        ("INTERVAL=2", RuleError::MissingFrequency, "no FREQ"),
        ("", RuleError::Empty, "empty"),
        ("RRULE:", RuleError::Empty, "empty"),
        (
            "every monday",
            RuleError::Malformed("every monday".into()),
            "not a KEY=VALUE part",
        ),
        (
            "FREQ=DAILY;=3",
            RuleError::Malformed("=3".into()),
            "KEY=VALUE",
        ),
        (
            "FREQ=DAILY;ÿ",
            RuleError::Malformed("ÿ".into()),
            "KEY=VALUE",
        ),
    ];
    for (text, error, message) in cases {
        let got = Spec::from_rrule(text);
        assert_eq!(got.as_ref(), Err(error), "{text}");
        let shown = error.to_string();
        assert!(shown.contains(message), "{text}: {shown}");
    }
}

#[test]
fn specs_that_would_not_round_trip_are_invalid() {
    let cases = [
        (
            Spec {
                weekdays: vec![Weekday::Wed, Weekday::Mon],
                ..spec(Frequency::Weekly, 1)
            },
            RuleError::WeekdaysUnordered,
        ),
        (
            Spec {
                weekdays: vec![Weekday::Mon, Weekday::Mon],
                ..spec(Frequency::Weekly, 1)
            },
            RuleError::WeekdaysUnordered,
        ),
        (
            Spec {
                month_day: Some(0),
                ..spec(Frequency::Monthly, 1)
            },
            RuleError::MonthDay(0),
        ),
        (
            Spec {
                month_day: Some(5),
                ..spec(Frequency::Yearly, 1)
            },
            RuleError::MonthDayNotMonthly,
        ),
        (
            Spec {
                end: End::On(date(10_000, 1, 1)),
                ..daily()
            },
            RuleError::UntilOutOfRange(date(10_000, 1, 1)),
        ),
        (
            Spec {
                times: vec![time(17, 0), time(9, 0)],
                ..daily()
            },
            RuleError::TimesUnordered,
        ),
        (
            Spec {
                times: vec![time(9, 0), time(17, 30)],
                ..daily()
            },
            RuleError::TimesNotAGrid,
        ),
        (
            Spec {
                times: vec![NaiveTime::from_hms_opt(9, 0, 30).unwrap()],
                ..daily()
            },
            RuleError::TimeWithSeconds,
        ),
        (
            Spec {
                times: (0..24).flat_map(|h| [time(h, 0), time(h, 30)]).collect(),
                ..daily()
            },
            RuleError::TooManyTimes(48),
        ),
    ];
    for (spec, error) in cases {
        assert_eq!(spec.validate(), Err(error));
    }
}
