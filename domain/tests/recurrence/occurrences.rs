//! Occurrences against the rule read day by day, and against the `rrule` crate.

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset as _,
    TimeDelta, TimeZone as _, Utc,
};
use domain::recurrence::{End, Frequency, LAST_DAY, MIN_INTERVAL, NthWeekday, Schedule, Spec};

use crate::{ALL_WEEKDAYS, Rng, all, date, schedule, time, weekday_subset};

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
            let months = i64::from(d.year() - start.year()) * 12 + i64::from(d.month0())
                - i64::from(start.month0());
            let last_of_month = (d + Days::new(1)).month() != d.month();
            let on_day = match (spec.month_day, spec.month_weekday) {
                (_, Some(NthWeekday { nth: -1, day })) => {
                    d.weekday() == day && (d + Days::new(7)).month() != d.month()
                }
                (_, Some(NthWeekday { nth, day })) => {
                    d.weekday() == day && (d.day() - 1) / 7 + 1 == nth as u32
                }
                (Some(LAST_DAY), None) => last_of_month,
                (Some(day), None) => d.day() == day as u32,
                (None, None) => d.day() == start.day(),
            };
            on_day && months % n == 0
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
    let (month_day, month_weekday) = match (frequency, rng.below(6)) {
        (Frequency::Monthly, 0 | 1) => (Some(1 + rng.below(31) as i8), None),
        (Frequency::Monthly, 2) => (Some(LAST_DAY), None),
        (Frequency::Monthly, 3 | 4) => (
            None,
            Some(NthWeekday {
                nth: rng.pick(&[1, 2, 3, 4, 5, -1]),
                day: rng.pick(&ALL_WEEKDAYS),
            }),
        ),
        _ => (None, None),
    };
    Spec {
        weekdays: match frequency {
            Frequency::Weekly => weekday_subset(rng.below(128)),
            _ => Vec::new(),
        },
        month_day,
        month_weekday,
        end,
        ..Spec::every(frequency, interval)
    }
}

/// A random rule firing at several times a day, and a start at one of them.
fn random_spec_with_times(rng: &mut Rng) -> (NaiveDateTime, Spec) {
    let start = random_start(rng);
    let hours: &[u32] = rng.pick(&[&[9, 17][..], &[0, 12], &[1, 2, 3], &[8, 12, 18, 22]]);
    let minutes: &[u32] = rng.pick(&[&[0][..], &[30], &[0, 30], &[15, 45]]);
    let mut times: Vec<NaiveTime> = hours
        .iter()
        .flat_map(|h| minutes.iter().map(move |m| time(*h, *m)))
        .collect();
    times.sort_unstable();
    let at = rng.pick(&times);
    let start = start.date().and_time(at);
    let spec = Spec {
        times,
        ..random_spec(rng, start.date())
    };
    (start, spec)
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

/// The rule as the `rrule` crate reads it: it takes UNTIL only as a UTC date-time.
fn rrule_crate_text(rule: &Spec) -> String {
    match rule.end {
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
    }
}

#[test]
fn occurrences_match_the_rrule_crate_in_floating_time() {
    let mut rng = Rng(3);
    let mut compared = 0;
    for _ in 0..500 {
        let start = random_start(&mut rng);
        let rule = random_spec(&mut rng, start.date());
        let text = rrule_crate_text(&rule);
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

/// Skipped dates are RFC 5545's EXDATE at the occurrence's time: random rules with some of
/// their dates skipped (and some dates they never match) agree with the `rrule` crate.
#[test]
fn skipped_dates_match_the_rrule_crates_exdate() {
    let mut rng = Rng(11);
    let mut compared = 0;
    let mut skipped = 0;
    for _ in 0..300 {
        let start = random_start(&mut rng);
        let rule = random_spec(&mut rng, start.date());
        let plain = schedule(start, "UTC", Some(rule.clone()));
        let dates: Vec<NaiveDate> = all(&plain, 12).iter().map(DateTime::date_naive).collect();
        let stray = date(2040, 1, 1) + Days::new(rng.below(4000));
        let mut skip: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|_| rng.below(3) == 0)
            .chain([stray])
            .collect();
        skip.sort_unstable();
        skip.dedup();
        let text = rrule_crate_text(&rule);
        let exdates: Vec<String> = skip
            .iter()
            .map(|d| {
                format!(
                    "EXDATE:{}Z",
                    d.and_time(start.time()).format("%Y%m%dT%H%M%S")
                )
            })
            .collect();
        let set: rrule::RRuleSet = format!(
            "DTSTART:{}Z\nRRULE:{text}\n{}",
            start.format("%Y%m%dT%H%M%S"),
            exdates.join("\n")
        )
        .parse()
        .unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs: Vec<NaiveDateTime> = set.all(8).dates.iter().map(|at| at.naive_utc()).collect();
        let with_skips = Schedule {
            skip: skip.clone(),
            ..plain
        };
        let ours: Vec<NaiveDateTime> = all(&with_skips, 8)
            .iter()
            .map(DateTime::naive_utc)
            .collect();
        assert_eq!(ours, theirs, "{text} from {start} skipping {skip:?}");
        for at in &ours {
            assert_eq!(with_skips.date_of(at.and_utc()), Some(at.date()));
        }
        compared += ours.len();
        skipped += dates.iter().filter(|d| skip.contains(d)).count();
    }
    assert!(compared > 1000, "only {compared} occurrences compared");
    assert!(skipped > 300, "only {skipped} dates skipped");
}

/// A skipped date is a local date of the rule: in a zone far from UTC, and across a clock
/// change that moves the wall time, the occurrence of that date is the one left out.
#[test]
fn a_skipped_date_is_the_rules_local_date_in_every_zone() {
    for name in ZONES {
        // 02:30 daily: in spring it falls in some zones' gap and fires moved forward.
        let plain = schedule(
            date(2027, 3, 10).and_hms_opt(2, 30, 0).unwrap(),
            name,
            Some(Spec::every(Frequency::Daily, 1)),
        );
        let every: Vec<_> = all(&plain, 60);
        let skip: Vec<NaiveDate> = every
            .iter()
            .step_by(7)
            .map(|at| rule_date(&plain, *at))
            .collect();
        let with_skips = Schedule {
            skip: skip.clone(),
            ..plain.clone()
        };
        let kept: Vec<_> = every
            .iter()
            .copied()
            .filter(|at| !skip.contains(&rule_date(&plain, *at)))
            .collect();
        assert_eq!(all(&with_skips, kept.len()), kept, "{name}");
        for at in &every {
            let on = rule_date(&plain, *at);
            assert_eq!(plain.date_of(*at), Some(on), "{name} {at}");
            assert!(plain.matches(on));
        }
        // A time the schedule does not fire at belongs to no date.
        assert_eq!(plain.date_of(every[0] + TimeDelta::minutes(1)), None);
    }
}

/// Several times a day (BYHOUR × BYMINUTE), on every kind of rule, with COUNT counting each
/// time and skipped dates leaving out all of their times: the same as the `rrule` crate.
#[test]
fn several_times_a_day_match_the_rrule_crate() {
    let mut rng = Rng(19);
    let mut compared = 0;
    for _ in 0..400 {
        let (start, rule) = random_spec_with_times(&mut rng);
        let plain = schedule(start, "UTC", Some(rule.clone()));
        let dates: Vec<NaiveDate> = all(&plain, 12).iter().map(DateTime::date_naive).collect();
        let mut skip: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|_| rng.below(4) == 0)
            .collect();
        skip.dedup();
        let exdates: Vec<String> = skip
            .iter()
            .flat_map(|d| {
                rule.times
                    .iter()
                    .map(move |t| format!("EXDATE:{}Z", d.and_time(*t).format("%Y%m%dT%H%M%S")))
            })
            .collect();
        let text = rrule_crate_text(&rule);
        let set: rrule::RRuleSet = format!(
            "DTSTART:{}Z\nRRULE:{text}\n{}",
            start.format("%Y%m%dT%H%M%S"),
            exdates.join("\n")
        )
        .parse()
        .unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs: Vec<NaiveDateTime> =
            set.all(20).dates.iter().map(|at| at.naive_utc()).collect();
        let with_skips = Schedule {
            skip: skip.clone(),
            ..plain
        };
        let ours: Vec<NaiveDateTime> = all(&with_skips, 20)
            .iter()
            .map(DateTime::naive_utc)
            .collect();
        assert_eq!(ours, theirs, "{text} from {start} skipping {skip:?}");
        for at in &ours {
            assert_eq!(
                with_skips.date_of(at.and_utc()),
                Some(at.date()),
                "{text} from {start}"
            );
        }
        compared += ours.len();
    }
    assert!(compared > 3000, "only {compared} occurrences compared");
}

/// In a real zone, each time of day keeps its wall time (or moves by a clock change's gap), the
/// first date fires only from the start's time on, and COUNT counts every time.
#[test]
fn several_times_a_day_keep_their_wall_times_in_every_zone() {
    let mut rng = Rng(23);
    for _ in 0..300 {
        let (start, rule) = random_spec_with_times(&mut rng);
        let name = rng.pick(&ZONES);
        let schedule = schedule(start, name, Some(rule.clone()));
        let tz = schedule.zone.tz();
        for at in all(&schedule, 40) {
            let wall = at.with_timezone(&tz).naive_local();
            let date = schedule.date_of(at).expect("a fire belongs to a date");
            let time = rule.times.iter().rev().find(|t| {
                let shift = wall - date.and_time(**t);
                shift >= TimeDelta::zero() && shift <= TimeDelta::hours(1)
            });
            let Some(time) = time else {
                panic!("{wall} is none of {:?}: {schedule:?}", rule.times);
            };
            assert!(
                date.and_time(*time) >= start,
                "{wall} before the start: {schedule:?}"
            );
        }
        // Each listed time counts; one a clock change moves onto another fires once with it.
        if let End::After(count) = rule.end {
            let fired = all(&schedule, 500).len();
            assert!(fired <= count as usize, "COUNT: {schedule:?}");
            if name == "UTC" {
                assert_eq!(fired, count as usize, "COUNT: {schedule:?}");
            }
        }
    }
}

/// Lord Howe springs forward half an hour (02:00 → 02:30): 02:10 fires at 02:40, after the
/// listed 02:35, and both belong to their date.
#[test]
fn a_time_moved_by_a_clock_change_past_a_later_one_still_fires_in_order() {
    let start = date(2027, 10, 2).and_hms_opt(2, 10, 0).unwrap();
    let rule = Spec {
        times: vec![time(2, 10), time(2, 35)],
        ..Spec::every(Frequency::Daily, 1)
    };
    let schedule = schedule(start, "Australia/Lord_Howe", Some(rule));
    let tz = schedule.zone.tz();
    let fires = all(&schedule, 6);
    let local: Vec<String> = fires
        .iter()
        .map(|at| at.with_timezone(&tz).format("%d %H:%M").to_string())
        .collect();
    assert_eq!(
        local,
        [
            "02 02:10", "02 02:35", "03 02:35", "03 02:40", "04 02:10", "04 02:35"
        ]
    );
    for at in fires {
        assert!(schedule.date_of(at).is_some(), "{at} belongs to a date");
    }
}
