//! Offsets in the browser, from the platform's own time zone database (`Intl.DateTimeFormat`).
//!
//! The browser build names and validates zones exactly as the server does (`chrono_tz::Tz`
//! parses them), but never asks chrono-tz for an offset: that would link its transition tables,
//! the largest part of the wasm. Everything built on offsets (the recurrence engine's gap and
//! fold rules in `wall_clock`) is the same code on both sides; only this lookup differs.

use std::{cell::RefCell, collections::HashMap, fmt};

use chrono::{
    Datelike, Days, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};

/// A zone whose offsets the browser computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntlZone(pub(super) chrono_tz::Tz);

/// The offset in force at one instant, remembering its zone (as `chrono_tz::TzOffset` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntlOffset {
    zone: chrono_tz::Tz,
    fixed: FixedOffset,
}

impl Offset for IntlOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for IntlOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for IntlZone {
    type Offset = IntlOffset;

    fn from_offset(offset: &IntlOffset) -> Self {
        IntlZone(offset.zone)
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<IntlOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    /// A local time maps to the offsets, among those in force a day either side of it, that
    /// read it back: two in a fold, none in a gap. Zones do not change their offset twice
    /// within a couple of days (the same assumption `wall_clock` makes).
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<IntlOffset> {
        let probe = |days: fn(NaiveDateTime, Days) -> Option<NaiveDateTime>| {
            days(*local, Days::new(1)).map(|utc| self.offset_from_utc_datetime(&utc))
        };
        let (Some(before), Some(after)) = (
            probe(NaiveDateTime::checked_sub_days),
            probe(NaiveDateTime::checked_add_days),
        ) else {
            return MappedLocalTime::None;
        };
        let reads_back = |offset: IntlOffset| {
            local
                .checked_sub_offset(offset.fixed)
                .is_some_and(|utc| self.offset_from_utc_datetime(&utc) == offset)
        };
        let candidates: Vec<IntlOffset> = if before == after {
            vec![before]
        } else {
            vec![before, after]
        };
        let mut valid = candidates.into_iter().filter(|offset| reads_back(*offset));
        match (valid.next(), valid.next()) {
            (Some(only), None) => MappedLocalTime::Single(only),
            // The earlier instant is the one with the larger offset.
            (Some(a), Some(b)) if a.fixed.local_minus_utc() > b.fixed.local_minus_utc() => {
                MappedLocalTime::Ambiguous(a, b)
            }
            (Some(a), Some(b)) => MappedLocalTime::Ambiguous(b, a),
            (None, _) => MappedLocalTime::None,
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> IntlOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> IntlOffset {
        IntlOffset {
            zone: self.0,
            fixed: offset_at(self.0.name(), utc).unwrap_or(Utc.fix()),
        }
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type Formatter;

    #[wasm_bindgen(catch, constructor, js_namespace = Intl, js_class = "DateTimeFormat")]
    fn new(locale: &str, options: &Object) -> Result<Formatter, JsValue>;

    #[wasm_bindgen(method, catch, js_name = formatToParts)]
    fn format_to_parts(this: &Formatter, epoch_ms: f64) -> Result<Array, JsValue>;
}

thread_local! {
    // Building a formatter costs far more than using one, and a page asks the same zone often.
    static FORMATTERS: RefCell<HashMap<&'static str, Option<Formatter>>> = RefCell::default();
}

/// The years the platform is asked about. Outside them an instant is read as the nearest edge:
/// nothing Herald schedules lies there, and `Date` cannot represent all of chrono's range.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// `None` when the browser does not know the zone (an alias its database lacks): offsets then
/// read as UTC in the browser only; the server, which computes every real fire time, is unaffected.
fn offset_at(zone: &'static str, utc: &NaiveDateTime) -> Option<FixedOffset> {
    let clamped = utc.with_year(utc.year().clamp(*YEARS.start(), *YEARS.end()))?;
    let seconds = clamped.and_utc().timestamp();
    let parts = FORMATTERS.with(|formatters| {
        let mut formatters = formatters.borrow_mut();
        let formatter = formatters.entry(zone).or_insert_with(|| formatter(zone));
        formatter
            .as_ref()?
            .format_to_parts(seconds as f64 * 1000.0)
            .ok()
    })?;
    let wall = wall_clock(&parts)?;
    FixedOffset::east_opt(i32::try_from(wall.and_utc().timestamp() - seconds).ok()?)
}

fn formatter(zone: &str) -> Option<Formatter> {
    let options = Object::new();
    let set = |key: &str, value: &str| Reflect::set(&options, &key.into(), &value.into()).is_ok();
    let numeric = ["year", "month", "day", "hour", "minute", "second"];
    // `h23`: midnight reads 00, never 24 (which `hour12: false` gives in some engines).
    let built = set("timeZone", zone)
        && set("hourCycle", "h23")
        && numeric.iter().all(|field| set(field, "numeric"));
    built
        .then(|| Formatter::new("en-US", &options).ok())
        .flatten()
}

/// The wall clock `formatToParts` describes.
fn wall_clock(parts: &Array) -> Option<NaiveDateTime> {
    let mut fields = [0u32; 6];
    let names = ["year", "month", "day", "hour", "minute", "second"];
    for part in parts.iter() {
        let part: Object = part.dyn_into().ok()?;
        let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
        if let Some(slot) = names.iter().position(|name| *name == kind) {
            let value = Reflect::get(&part, &"value".into()).ok()?.as_string()?;
            fields[slot] = value.parse().ok()?;
        }
    }
    let [year, month, day, hour, minute, second] = fields;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour, minute, second)
}
