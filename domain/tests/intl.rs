//! The browser's offsets (`Intl`, through `TimeZone::tz` on wasm32) against chrono-tz's tables,
//! which the server and the worker use: the wizard's preview must show the times the worker
//! will fire at. Run under Node by `scripts/test.sh`
//! (`cargo test -p domain --target wasm32-unknown-unknown --test intl`).
#![cfg(target_arch = "wasm32")]

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone as _, Utc,
};
use domain::{
    recurrence::{Frequency, Schedule, Spec},
    timezone::TimeZone,
};
use wasm_bindgen_test::wasm_bindgen_test;

/// Zones whose rules have not changed since 2024 (so an older platform database agrees), with
/// whole-hour, half-hour and 45-minute offsets and shifts, north and south.
const ZONES: [&str; 10] = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Asia/Kuala_Lumpur",
    "UTC",
];

fn zone(name: &str) -> TimeZone {
    name.parse().expect("test zone")
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .expect("test time")
}

/// Local times as instants, one per mapping, so the two sides compare as plain values.
fn mapped<Z: chrono::TimeZone>(zone: &Z, at: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match zone.from_local_datetime(&at) {
        MappedLocalTime::Single(one) => vec![one.to_utc()],
        MappedLocalTime::Ambiguous(a, b) => vec![a.to_utc(), b.to_utc()],
        MappedLocalTime::None => Vec::new(),
    }
}

#[wasm_bindgen_test]
fn offsets_and_local_times_match_the_tz_database_from_2024_to_2030() {
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let mut changes = 0;
    for name in ZONES {
        let (browser, tables) = (zone(name).tz(), name.parse::<chrono_tz::Tz>().expect("tz"));
        let offset = |day: NaiveDate| {
            let noon = day.and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("noon"));
            (
                browser.offset_from_utc_datetime(&noon).fix(),
                tables.offset_from_utc_datetime(&noon).fix(),
            )
        };
        let mut day = first;
        while day.year() <= 2030 {
            let (ours, theirs) = offset(day);
            assert_eq!(ours, theirs, "{name} at noon UTC on {day}");
            let next = day + Days::new(1);
            // Around each change, every quarter hour of local time maps to the same instants.
            if offset(next).1 != theirs {
                changes += 1;
                for quarter in 0..3 * 96 {
                    let at = day.and_time(NaiveTime::MIN) + TimeDelta::minutes(15 * quarter);
                    assert_eq!(mapped(&browser, at), mapped(&tables, at), "{name} at {at}");
                }
            }
            day = next;
        }
    }
    // Six zones change their clocks twice a year for seven years; Lord Howe too.
    assert!(changes >= 7 * 2 * 6, "only {changes} clock changes seen");
}

#[wasm_bindgen_test]
fn the_wizards_preview_moves_a_skipped_time_and_fires_a_repeated_one_once() {
    let daily = Spec::every(Frequency::Daily, 1);
    let fires = |start: NaiveDateTime, name: &str| {
        let schedule = Schedule {
            start,
            zone: zone(name),
            rule: Some(daily.clone()),
            skip: Vec::new(),
        };
        schedule.occurrences_from(DateTime::<Utc>::MIN_UTC, 3)
    };
    let utc = |y, m, d, h, min| local(y, m, d, h, min).and_utc();
    // London springs from 01:00 GMT to 02:00 BST on 28 March 2027: 01:30 happens at 02:30 BST.
    assert_eq!(
        fires(local(2027, 3, 27, 1, 30), "Europe/London"),
        [
            utc(2027, 3, 27, 1, 30),
            utc(2027, 3, 28, 1, 30),
            utc(2027, 3, 29, 0, 30)
        ]
    );
    // Lord Howe falls back half an hour on 4 April 2027: 01:45 fires at its first pass only.
    assert_eq!(
        fires(local(2027, 4, 3, 1, 45), "Australia/Lord_Howe"),
        [
            utc(2027, 4, 2, 14, 45),
            utc(2027, 4, 3, 14, 45),
            utc(2027, 4, 4, 15, 15)
        ]
    );
}

#[wasm_bindgen_test]
fn an_instant_far_outside_the_platforms_range_reads_as_the_nearest_year_it_knows() {
    let london = zone("Europe/London").tz();
    let far = local(9999, 7, 1, 12, 0);
    assert_eq!(
        london
            .offset_from_utc_datetime(&far)
            .fix()
            .local_minus_utc(),
        3600
    );
}
