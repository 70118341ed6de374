//! Recurrence rules: RRULE round trips, occurrences against a day-by-day reading of the rule and
//! against the `rrule` crate, clock changes in real zones, and summaries.

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset as _,
    TimeDelta, TimeZone as _, Timelike as _, Utc, Weekday,
};
use domain::{
    recurrence::{End, Frequency, MIN_INTERVAL, RuleError, Schedule, Spec},
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
    Spec {
        frequency,
        interval,
        weekdays: Vec::new(),
        month_day: None,
        end: End::Never,
    }
}

fn daily() -> Spec {
    spec(Frequency::Daily, 1)
}

fn schedule(start: NaiveDateTime, zone_name: &str, rule: Option<Spec>) -> Schedule {
    Schedule {
        start,
        zone: zone(zone_name),
        rule,
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

// ---------------------------------------------------------------------------------------------
// RRULE text

/// Every frequency × a spread of intervals × every weekday subset × every month day × each end.
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
                frequency,
                interval,
                weekdays,
                month_day,
                end,
            };
            specs.push(with(Frequency::Daily, Vec::new(), None));
            specs.push(with(Frequency::Yearly, Vec::new(), None));
            for bits in 0..128 {
                specs.push(with(Frequency::Weekly, weekday_subset(bits), None));
            }
            specs.push(with(Frequency::Monthly, Vec::new(), None));
            for day in 1..=31 {
                specs.push(with(Frequency::Monthly, Vec::new(), Some(day)));
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
            "FREQ=DAILY;BYHOUR=9,17",
            RuleError::UnsupportedPart("BYHOUR".into()),
            "only FREQ, INTERVAL, BYDAY (weekly), BYMONTHDAY (monthly), COUNT and UNTIL",
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
            "FREQ=MONTHLY;BYDAY=1MO",
            RuleError::UnsupportedWeekdays("1MO".into()),
            "plain weekdays",
        ),
        (
            "FREQ=WEEKLY;BYDAY=-1FR",
            RuleError::UnsupportedWeekdays("-1FR".into()),
            "BYDAY=-1FR",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            RuleError::UnsupportedMonthDay("-1".into()),
            "one day of the month",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            RuleError::UnsupportedMonthDay("1,15".into()),
            "BYMONTHDAY=1,15",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=32",
            RuleError::MonthDay(32),
            "from 1 to 31, not 32",
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
    ];
    for (spec, error) in cases {
        assert_eq!(spec.validate(), Err(error));
    }
}

// ---------------------------------------------------------------------------------------------
// Occurrences against the rule, read day by day

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// Whether the rule fires on `d`, read straight from its definition.
fn rule_matches(spec: &Spec, start: NaiveDate, d: NaiveDate) -> bool {
    let n = i64::from(spec.interval);
    if d < start {
        return false;
    }
    match spec.frequency {
        Frequency::Daily => (d - start).num_days() % n == 0,
        Frequency::Weekly => {
            let days = if spec.weekdays.is_empty() {
                vec![start.weekday()]
            } else {
                spec.weekdays.clone()
            };
            days.contains(&d.weekday())
                && ((monday_of(d) - monday_of(start)).num_days() / 7) % n == 0
        }
        Frequency::Monthly => {
            let day = spec.month_day.map_or(start.day(), u32::from);
            let months = i64::from(d.year() - start.year()) * 12 + i64::from(d.month0())
                - i64::from(start.month0());
            d.day() == day && months % n == 0
        }
        Frequency::Yearly => {
            (d.month(), d.day()) == (start.month(), start.day())
                && i64::from(d.year() - start.year()) % n == 0
        }
    }
}

/// The first `limit` local dates the rule fires on, scanning day by day for up to 130 years.
fn expected_dates(spec: &Spec, start: NaiveDate, limit: usize) -> Vec<NaiveDate> {
    let limit = match spec.end {
        End::After(count) => limit.min(count as usize),
        _ => limit,
    };
    start
        .iter_days()
        .take(130 * 366)
        .take_while(|d| !matches!(spec.end, End::On(until) if *d > until))
        .filter(|d| rule_matches(spec, start, *d))
        .take(limit)
        .collect()
}

fn random_spec(rng: &mut Rng, start: NaiveDate) -> Spec {
    let frequency = rng.pick(&[
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Yearly,
    ]);
    let interval = match frequency {
        Frequency::Yearly => rng.pick(&[1, 1, 2, 3]),
        _ => rng.pick(&[1, 1, 1, 2, 3, 5, 12]),
    };
    let end = match rng.below(4) {
        0 => End::Never,
        1 => End::After(1 + rng.below(15) as u32),
        _ => End::On(start + Days::new(rng.below(800))),
    };
    Spec {
        frequency,
        interval,
        weekdays: match frequency {
            Frequency::Weekly => weekday_subset(rng.below(128)),
            _ => Vec::new(),
        },
        month_day: match frequency {
            Frequency::Monthly if rng.below(2) == 0 => Some(1 + rng.below(31) as u8),
            _ => None,
        },
        end,
    }
}

fn random_start(rng: &mut Rng) -> NaiveDateTime {
    // Leap days, month ends and clock-change nights turn up often.
    let day = match rng.below(4) {
        0 => rng.pick(&[
            date(2028, 2, 29),
            date(2027, 1, 31),
            date(2027, 3, 28),
            date(2027, 10, 31),
            date(2027, 3, 14),
            date(2027, 11, 7),
            date(2027, 10, 3),
            date(2027, 4, 4),
        ]),
        _ => date(2020, 1, 1) + Days::new(rng.below(3650)),
    };
    let time = rng.pick(&[
        (0, 0, 0),
        (1, 30, 0),
        (1, 45, 0),
        (2, 15, 0),
        (2, 30, 0),
        (9, 0, 0),
        (23, 59, 30),
    ]);
    day.and_hms_opt(time.0, time.1, time.2).expect("test time")
}

const ZONES: [&str; 5] = [
    "Europe/London",
    "America/New_York",
    "Asia/Kuala_Lumpur",
    "Australia/Lord_Howe",
    "UTC",
];

/// The local date an occurrence belongs to, checking its wall time on the way: the start's time,
/// or (when that time does not exist that day) moved forward by the gap; and the earlier pass
/// when it exists twice.
fn rule_date(schedule: &Schedule, at: DateTime<Utc>) -> NaiveDate {
    let tz = schedule.zone.tz();
    let wall = at.with_timezone(&tz).naive_local();
    let intended = wall.date().and_time(schedule.start.time());
    match tz.from_local_datetime(&intended) {
        MappedLocalTime::Single(t) => assert_eq!(t.to_utc(), at, "{schedule:?}"),
        MappedLocalTime::Ambiguous(a, b) => {
            assert_eq!(a.to_utc().min(b.to_utc()), at, "earlier pass: {schedule:?}")
        }
        MappedLocalTime::None => {
            let moved = wall - intended;
            assert!(
                moved > TimeDelta::zero() && moved <= TimeDelta::hours(1),
                "{intended} moved by {moved} to {wall}: {schedule:?}"
            );
            let offset = |utc: NaiveDateTime| {
                TimeDelta::seconds(i64::from(
                    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
                ))
            };
            let gap = offset(at.naive_utc()) - offset(at.naive_utc() - TimeDelta::days(1));
            assert_eq!(moved, gap, "moved by the gap: {schedule:?}");
        }
    }
    wall.date()
}

#[test]
fn occurrences_follow_the_rule_in_every_zone() {
    let mut rng = Rng(7);
    let mut fired = 0;
    for _ in 0..600 {
        let start = random_start(&mut rng);
        let rule = random_spec(&mut rng, start.date());
        let schedule = schedule(start, rng.pick(&ZONES), Some(rule.clone()));
        let limit = 10;
        let got = all(&schedule, limit);
        fired += got.len();

        for pair in got.windows(2) {
            assert!(pair[1] - pair[0] >= MIN_INTERVAL, "{schedule:?}: {pair:?}");
        }
        let dates: Vec<NaiveDate> = got.iter().map(|at| rule_date(&schedule, *at)).collect();
        assert_eq!(
            dates,
            expected_dates(&rule, start.date(), limit),
            "{schedule:?}"
        );
        if let End::After(count) = rule.end {
            let every = all(&schedule, 100);
            assert_eq!(every.len(), count as usize, "COUNT: {schedule:?}");
        }
        if let End::On(until) = rule.end {
            let every = all(&schedule, 1000);
            let last = every.last().map(|at| rule_date(&schedule, *at));
            assert!(last.is_none_or(|last| last <= until), "UNTIL: {schedule:?}");
        }
        assert_eq!(schedule.first(), got.first().copied());
    }
    assert!(fired > 3000, "only {fired} occurrences checked");
}

#[test]
fn next_from_after_and_previews_agree() {
    let mut rng = Rng(11);
    for _ in 0..300 {
        let start = random_start(&mut rng);
        let schedule = schedule(
            start,
            rng.pick(&ZONES),
            Some(random_spec(&mut rng, start.date())),
        );
        let every = all(&schedule, 30);
        for pair in every.windows(2) {
            assert_eq!(schedule.after(pair[0]), Some(pair[1]));
        }
        if let Some(last) = every.last().filter(|_| every.len() < 30) {
            assert_eq!(schedule.after(*last), None, "ended: {schedule:?}");
        }
        let base = start.and_utc() - TimeDelta::days(2);
        for _ in 0..5 {
            let from = base + TimeDelta::minutes(rng.below(60 * 24 * 900) as i64);
            let expected: Vec<_> = every
                .iter()
                .copied()
                .filter(|at| *at >= from)
                .take(5)
                .collect();
            if expected.len() == 5 || every.len() < 30 {
                assert_eq!(
                    schedule.occurrences_from(from, 5),
                    expected,
                    "{schedule:?} {from}"
                );
                assert_eq!(schedule.next_from(from), expected.first().copied());
            }
        }
    }
}

#[test]
fn occurrences_match_the_rrule_crate_in_floating_time() {
    let mut rng = Rng(3);
    let mut compared = 0;
    for _ in 0..500 {
        let start = random_start(&mut rng);
        let rule = random_spec(&mut rng, start.date());
        let text = match rule.end {
            End::On(until) => format!(
                "{};UNTIL={}T235959Z",
                Spec {
                    end: End::Never,
                    ..rule.clone()
                }
                .to_rrule(),
                until.format("%Y%m%d")
            ),
            _ => rule.to_rrule(),
        };
        let set: rrule::RRuleSet =
            format!("DTSTART:{}Z\nRRULE:{text}", start.format("%Y%m%dT%H%M%S"))
                .parse()
                .unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs: Vec<NaiveDateTime> =
            set.all(12).dates.iter().map(|at| at.naive_utc()).collect();
        let ours: Vec<NaiveDateTime> = all(&schedule(start, "UTC", Some(rule)), 12)
            .iter()
            .map(DateTime::naive_utc)
            .collect();
        assert_eq!(ours, theirs, "{text} from {start}");
        compared += ours.len();
    }
    assert!(compared > 2500, "only {compared} occurrences compared");
}

// ---------------------------------------------------------------------------------------------
// Clock changes (transition dates checked against chrono-tz's data for 2027)

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

// ---------------------------------------------------------------------------------------------
// Rule semantics

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

fn schedule_at(start: NaiveDateTime, rule: Spec) -> Schedule {
    schedule(start, "UTC", Some(rule))
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

// ---------------------------------------------------------------------------------------------
// Summaries

#[test]
fn summaries_read_as_english() {
    let at = |h, m| local(2027, 1, 5, h, m);
    let cases = [
        (
            schedule(at(9, 0), "UTC", None),
            "Once on Tue 5 Jan 2027 at 09:00",
        ),
        (schedule_at(at(8, 30), daily()), "Every day at 08:30"),
        (
            schedule_at(at(8, 30), spec(Frequency::Daily, 3)),
            "Every 3 days at 08:30",
        ),
        (
            schedule_at(
                at(9, 0),
                Spec {
                    weekdays: vec![Weekday::Mon, Weekday::Wed, Weekday::Fri],
                    ..spec(Frequency::Weekly, 1)
                },
            ),
            "Every Mon, Wed, Fri at 09:00",
        ),
        (
            schedule_at(at(9, 0), spec(Frequency::Weekly, 1)),
            "Every Tue at 09:00",
        ),
        (
            schedule_at(
                at(9, 0),
                Spec {
                    weekdays: vec![Weekday::Mon],
                    end: End::On(date(2027, 1, 1)),
                    ..spec(Frequency::Weekly, 2)
                },
            ),
            "Every 2 weeks on Mon at 09:00 until 1 Jan 2027",
        ),
        (
            schedule_at(
                at(10, 0),
                Spec {
                    month_day: Some(15),
                    end: End::After(12),
                    ..spec(Frequency::Monthly, 1)
                },
            ),
            "Every month on day 15 at 10:00, 12 times",
        ),
        (
            schedule_at(at(10, 0), spec(Frequency::Monthly, 6)),
            "Every 6 months on day 5 at 10:00",
        ),
        (
            schedule_at(
                at(10, 0),
                Spec {
                    month_day: Some(31),
                    end: End::After(1),
                    ..spec(Frequency::Monthly, 1)
                },
            ),
            "Every month on day 31 at 10:00, once (skips months without day 31)",
        ),
        (
            schedule_at(local(2027, 3, 3, 7, 0), spec(Frequency::Yearly, 1)),
            "Every year on 3 Mar at 07:00",
        ),
        (
            schedule_at(local(2028, 2, 29, 7, 0), spec(Frequency::Yearly, 2)),
            "Every 2 years on 29 Feb at 07:00 (leap years only)",
        ),
        (
            schedule_at(local(2027, 1, 5, 7, 0).with_second(30).unwrap(), daily()),
            "Every day at 07:00:30",
        ),
    ];
    for (schedule, text) in cases {
        assert_eq!(schedule.summary(), text);
    }
}
