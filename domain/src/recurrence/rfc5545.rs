//! Writing and reading a [`Spec`] as an RFC 5545 RRULE, for operators and other calendars.
//!
//! Only what the wizard can build is read back; anything else is refused with a reason rather
//! than approximated. UNTIL is written as a DATE (`UNTIL=20270101`): the rule runs in the
//! reminder's local wall time, so it means "through the end of 1 Jan 2027 in the reminder's
//! zone", and a date has no time or zone to lose in a round trip.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

use super::{End, Frequency, NthWeekday, RuleError, Spec, spec::hours_and_minutes};

const WEEKDAY_CODES: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MO"),
    (Weekday::Tue, "TU"),
    (Weekday::Wed, "WE"),
    (Weekday::Thu, "TH"),
    (Weekday::Fri, "FR"),
    (Weekday::Sat, "SA"),
    (Weekday::Sun, "SU"),
];

impl Spec {
    /// The RRULE body, without `RRULE:` or DTSTART, in one canonical order:
    /// `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9,17;BYMINUTE=0;UNTIL=20270101`. INTERVAL=1
    /// is left out.
    pub fn to_rrule(&self) -> String {
        let mut parts = vec![format!("FREQ={}", frequency_name(self.frequency))];
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        if !self.weekdays.is_empty() {
            let days: Vec<&str> = self.weekdays.iter().map(|day| weekday_code(*day)).collect();
            parts.push(format!("BYDAY={}", days.join(",")));
        }
        if let Some(NthWeekday { nth, day }) = self.month_weekday {
            parts.push(format!("BYDAY={nth}{}", weekday_code(day)));
        }
        if let Some(day) = self.month_day {
            parts.push(format!("BYMONTHDAY={day}"));
        }
        if !self.times.is_empty() {
            let (hours, minutes) = hours_and_minutes(&self.times);
            parts.push(format!("BYHOUR={}", join(&hours)));
            parts.push(format!("BYMINUTE={}", join(&minutes)));
        }
        match self.end {
            End::Never => {}
            End::After(count) => parts.push(format!("COUNT={count}")),
            End::On(date) => parts.push(format!(
                "UNTIL={:04}{:02}{:02}",
                date.year(),
                date.month(),
                date.day()
            )),
        }
        parts.join(";")
    }

    /// Reads an RRULE body (an optional leading `RRULE:` and any letter case are accepted).
    pub fn from_rrule(text: &str) -> Result<Spec, RuleError> {
        let text = text.trim();
        let body = match text.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &text[6..],
            _ => text,
        };
        let mut parts = Parts::default();
        for part in body
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            parts.read(part)?;
        }
        let end = match (parts.count, parts.until) {
            (Some(_), Some(_)) => return Err(RuleError::CountAndUntil),
            (Some(count), None) => End::After(count),
            (None, Some(date)) => End::On(date),
            (None, None) => End::Never,
        };
        let days = parts.weekdays.unwrap_or_default();
        let (weekdays, month_weekday) = match days.as_slice() {
            [(Some(nth), day)] => (
                Vec::new(),
                Some(NthWeekday {
                    nth: *nth,
                    day: *day,
                }),
            ),
            _ if days.iter().all(|(nth, _)| nth.is_none()) => {
                let mut plain: Vec<Weekday> = days.iter().map(|(_, day)| *day).collect();
                plain.sort_by_key(Weekday::num_days_from_monday);
                plain.dedup();
                (plain, None)
            }
            _ => return Err(RuleError::UnsupportedWeekdays(parts.byday_text)),
        };
        let times = match (parts.hours, parts.minutes) {
            (None, None) => Vec::new(),
            (Some(_), None) => return Err(RuleError::HalfTimes("BYHOUR", "BYMINUTE")),
            (None, Some(_)) => return Err(RuleError::HalfTimes("BYMINUTE", "BYHOUR")),
            (Some(hours), Some(minutes)) => {
                let mut times: Vec<NaiveTime> = hours
                    .iter()
                    .flat_map(|h| {
                        minutes
                            .iter()
                            .filter_map(|m| NaiveTime::from_hms_opt(*h, *m, 0))
                    })
                    .collect();
                times.sort_unstable();
                times.dedup();
                times
            }
        };
        let spec = Spec {
            frequency: parts.frequency.ok_or(if body.trim().is_empty() {
                RuleError::Empty
            } else {
                RuleError::MissingFrequency
            })?,
            interval: parts.interval.unwrap_or(1),
            weekdays,
            month_day: parts.month_day,
            month_weekday,
            times,
            end,
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// The parts seen so far; each may appear once.
#[derive(Default)]
struct Parts {
    frequency: Option<Frequency>,
    interval: Option<u16>,
    /// Each weekday with its place in the month, if it has one.
    weekdays: Option<Vec<(Option<i8>, Weekday)>>,
    byday_text: String,
    month_day: Option<i8>,
    hours: Option<Vec<u32>>,
    minutes: Option<Vec<u32>>,
    count: Option<u32>,
    until: Option<NaiveDate>,
}

impl Parts {
    fn read(&mut self, part: &str) -> Result<(), RuleError> {
        let Some((key, value)) = part.split_once('=') else {
            return Err(RuleError::Malformed(part.to_owned()));
        };
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim().to_ascii_uppercase();
        match key.as_str() {
            "FREQ" => set(&mut self.frequency, "FREQ", parse_frequency(&value)?),
            "INTERVAL" => set(&mut self.interval, "INTERVAL", number("INTERVAL", &value)?),
            "BYDAY" => {
                self.byday_text.clone_from(&value);
                set(&mut self.weekdays, "BYDAY", parse_weekdays(&value)?)
            }
            "BYHOUR" => set(
                &mut self.hours,
                "BYHOUR",
                numbers("BYHOUR", "hours", &value, 23)?,
            ),
            "BYMINUTE" => set(
                &mut self.minutes,
                "BYMINUTE",
                numbers("BYMINUTE", "minutes", &value, 59)?,
            ),
            "BYMONTHDAY" => {
                let day = value
                    .parse()
                    .map_err(|_| RuleError::UnsupportedMonthDay(value.clone()))?;
                set(&mut self.month_day, "BYMONTHDAY", day)
            }
            "COUNT" => set(&mut self.count, "COUNT", number("COUNT", &value)?),
            "UNTIL" => set(&mut self.until, "UNTIL", parse_until(&value)?),
            "" => Err(RuleError::Malformed(part.to_owned())),
            _ => Err(RuleError::UnsupportedPart(key)),
        }
    }
}

fn set<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), RuleError> {
    if slot.is_some() {
        return Err(RuleError::Repeated(key.to_owned()));
    }
    *slot = Some(value);
    Ok(())
}

fn number<T: std::str::FromStr>(part: &'static str, value: &str) -> Result<T, RuleError> {
    value.parse().map_err(|_| RuleError::NotANumber {
        part,
        value: value.to_owned(),
    })
}

fn frequency_name(frequency: Frequency) -> &'static str {
    match frequency {
        Frequency::Daily => "DAILY",
        Frequency::Weekly => "WEEKLY",
        Frequency::Monthly => "MONTHLY",
        Frequency::Yearly => "YEARLY",
    }
}

fn parse_frequency(value: &str) -> Result<Frequency, RuleError> {
    match value {
        "DAILY" => Ok(Frequency::Daily),
        "WEEKLY" => Ok(Frequency::Weekly),
        "MONTHLY" => Ok(Frequency::Monthly),
        "YEARLY" => Ok(Frequency::Yearly),
        _ => Err(RuleError::UnsupportedFrequency(value.to_owned())),
    }
}

fn weekday_code(day: Weekday) -> &'static str {
    WEEKDAY_CODES[day.num_days_from_monday() as usize].1
}

/// Weekday codes, each with its place in the month when it has one (`2TU`, `-1FR`, `+1MO`).
/// Which combinations a rule may use is decided once all parts are read.
fn parse_weekdays(value: &str) -> Result<Vec<(Option<i8>, Weekday)>, RuleError> {
    let unsupported = || RuleError::UnsupportedWeekdays(value.to_owned());
    value
        .split(',')
        .map(|code| {
            let code = code.trim();
            let split = code.len().checked_sub(2).ok_or_else(unsupported)?;
            let (place, name) = code.split_at_checked(split).ok_or_else(unsupported)?;
            let day = WEEKDAY_CODES
                .iter()
                .find(|(_, known)| *known == name)
                .map(|(day, _)| *day)
                .ok_or_else(unsupported)?;
            let nth = match place {
                "" => None,
                place => Some(place.parse::<i8>().map_err(|_| unsupported())?),
            };
            Ok((nth, day))
        })
        .collect()
}

/// A comma-separated list of numbers from 0 to `max`, sorted and once each.
fn numbers(
    part: &'static str,
    what: &'static str,
    value: &str,
    max: u32,
) -> Result<Vec<u32>, RuleError> {
    let bad = || RuleError::BadTimes {
        part,
        value: value.to_owned(),
        what,
    };
    let mut list = value
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<_>, _>>()?;
    list.sort_unstable();
    list.dedup();
    Ok(list)
}

fn join(numbers: &[u32]) -> String {
    let text: Vec<String> = numbers.iter().map(u32::to_string).collect();
    text.join(",")
}

fn parse_until(value: &str) -> Result<NaiveDate, RuleError> {
    let bad = || RuleError::BadUntil(value.to_owned());
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let field = |range: std::ops::Range<usize>| value[range].parse::<u32>().map_err(|_| bad());
    let year = i32::try_from(field(0..4)?).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, field(4..6)?, field(6..8)?).ok_or_else(bad)
}
