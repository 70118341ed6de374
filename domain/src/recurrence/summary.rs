//! The one-line English description shown next to a reminder. The zone is shown beside it by
//! the caller, so it is not repeated here.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};

use super::{End, Frequency, Schedule};

impl Schedule {
    /// e.g. "Once on Tue 5 Jan 2027 at 09:00", "Every 2 weeks on Mon at 09:00 until 1 Jan 2027".
    pub fn summary(&self) -> String {
        let time = clock(self.start.time());
        let Some(rule) = &self.rule else {
            return format!("Once on {} at {time}", self.start.format("%a %-d %b %Y"));
        };
        let every = |one: &str, many: &str| match rule.interval {
            1 => format!("Every {one}"),
            n => format!("Every {n} {many}"),
        };
        let mut text = match rule.frequency {
            Frequency::Daily => format!("{} at {time}", every("day", "days")),
            Frequency::Weekly => {
                let days = if rule.weekdays.is_empty() {
                    self.start.weekday().to_string()
                } else {
                    let names: Vec<String> = rule.weekdays.iter().map(|d| d.to_string()).collect();
                    names.join(", ")
                };
                match rule.interval {
                    1 => format!("Every {days} at {time}"),
                    n => format!("Every {n} weeks on {days} at {time}"),
                }
            }
            Frequency::Monthly => format!(
                "{} on day {} at {time}",
                every("month", "months"),
                self.month_day()
            ),
            Frequency::Yearly => format!(
                "{} on {} at {time}",
                every("year", "years"),
                self.start.format("%-d %b")
            ),
        };
        match rule.end {
            End::Never => {}
            End::After(1) => text.push_str(", once"),
            End::After(n) => text.push_str(&format!(", {n} times")),
            End::On(date) => text.push_str(&format!(" until {}", long_date(date))),
        }
        match rule.frequency {
            Frequency::Monthly if self.month_day() > 28 => {
                text.push_str(&format!(" (skips months without day {})", self.month_day()))
            }
            Frequency::Yearly if (self.start.month(), self.start.day()) == (2, 29) => {
                text.push_str(" (leap years only)")
            }
            _ => {}
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

    fn month_day(&self) -> u32 {
        self.rule
            .as_ref()
            .and_then(|rule| rule.month_day)
            .map_or(self.start.day(), u32::from)
    }
}

fn clock(time: NaiveTime) -> String {
    match time.second() {
        0 => time.format("%H:%M").to_string(),
        _ => time.format("%H:%M:%S").to_string(),
    }
}

fn long_date(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}
