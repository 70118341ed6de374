//! The one-line English description shown next to a reminder: what it repeats on, at what times
//! in which zone, until when, and what it skips.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

use super::{End, Frequency, LAST_DAY, NthWeekday, Schedule, WORKING_WEEK};

impl Schedule {
    /// e.g. "Once on Tue 5 Jan 2027 at 09:00 (Europe/London)", "Every 2 weeks on Mon at 09:00
    /// and 17:00 (UTC) until Fri 1 Jan 2027".
    pub fn summary(&self) -> String {
        let zone = self.zone.name();
        let Some(rule) = &self.rule else {
            return format!(
                "Once on {} at {} ({zone})",
                self.start.format("%a %-d %b %Y"),
                clock(self.start.time())
            );
        };
        let times = match rule.times.as_slice() {
            [] => clock(self.start.time()),
            times => list(times.iter().map(|t| clock(*t)).collect()),
        };
        let every = |one: &str, many: &str| match rule.interval {
            1 => format!("Every {one}"),
            n => format!("Every {n} {many}"),
        };
        let mut text = match rule.frequency {
            Frequency::Daily => every("day", "days"),
            Frequency::Weekly => {
                let days = if rule.weekdays.is_empty() {
                    vec![self.start.weekday()]
                } else {
                    rule.weekdays.clone()
                };
                let names = if days == WORKING_WEEK && rule.interval == 1 {
                    "weekday (Mon to Fri)".to_owned()
                } else if days == WORKING_WEEK {
                    "Mon to Fri".to_owned()
                } else {
                    let names: Vec<String> = days.iter().map(Weekday::to_string).collect();
                    names.join(", ")
                };
                match rule.interval {
                    1 => format!("Every {names}"),
                    n => format!("Every {n} weeks on {names}"),
                }
            }
            Frequency::Monthly => format!(
                "{} on {}",
                every("month", "months"),
                self.day_of_month_words()
            ),
            Frequency::Yearly => format!(
                "{} on {}",
                every("year", "years"),
                self.start.format("%-d %b")
            ),
        };
        text.push_str(&format!(" at {times} ({zone})"));
        match rule.end {
            End::Never => {}
            End::After(1) => text.push_str(", once"),
            End::After(n) => text.push_str(&format!(", {n} times")),
            End::On(date) => text.push_str(&format!(" until {}", long_date(date))),
        }
        if let Some(gaps) = self.missing_months() {
            text.push_str(&format!(" ({gaps})"));
        }
        match self.skip.as_slice() {
            [] => {}
            [one] => text.push_str(&format!(", except {}", long_date(*one))),
            [first, second] => text.push_str(&format!(
                ", except {} and {}",
                long_date(*first),
                long_date(*second)
            )),
            many => text.push_str(&format!(", except on {} dates", many.len())),
        }
        text
    }

    /// "day 15", "the last day", "the 2nd Tue", "the last Fri".
    fn day_of_month_words(&self) -> String {
        let rule = self.rule.as_ref();
        match (
            rule.and_then(|r| r.month_day),
            rule.and_then(|r| r.month_weekday),
        ) {
            (_, Some(NthWeekday { nth: -1, day })) => format!("the last {day}"),
            (_, Some(NthWeekday { nth, day })) => format!("the {} {day}", ordinal(nth)),
            (Some(LAST_DAY), None) => "the last day".to_owned(),
            (Some(day), None) => format!("day {day}"),
            (None, None) => format!("day {}", self.start.day()),
        }
    }

    /// Why some months or years have no occurrence, when the rule is one that skips them.
    fn missing_months(&self) -> Option<String> {
        let rule = self.rule.as_ref()?;
        match rule.frequency {
            Frequency::Monthly => match (rule.month_day, rule.month_weekday) {
                (_, Some(NthWeekday { nth: 5, day })) => {
                    Some(format!("skips months without a 5th {day}"))
                }
                (None, None) if self.start.day() > 28 => {
                    Some(format!("skips months without day {}", self.start.day()))
                }
                (Some(day), None) if day > 28 => Some(format!("skips months without day {day}")),
                _ => None,
            },
            Frequency::Yearly if (self.start.month(), self.start.day()) == (2, 29) => {
                Some("leap years only".to_owned())
            }
            _ => None,
        }
    }
}

fn ordinal(n: i8) -> String {
    let suffix = match n {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c".
fn list(mut items: Vec<String>) -> String {
    match items.pop() {
        Some(last) if !items.is_empty() => format!("{} and {last}", items.join(", ")),
        Some(last) => last,
        None => String::new(),
    }
}

fn clock(time: NaiveTime) -> String {
    match time.second() {
        0 => time.format("%H:%M").to_string(),
        _ => time.format("%H:%M:%S").to_string(),
    }
}

fn long_date(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}
