use chrono::{NaiveDate, NaiveDateTime};

/// Why a rule or schedule was refused. Each message is a sentence an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the rule is empty: expected something like FREQ=WEEKLY;BYDAY=MO")]
    Empty,
    #[error("{0:?} is not a KEY=VALUE part of a recurrence rule")]
    Malformed(String),
    #[error("{0} appears more than once in the rule")]
    Repeated(String),
    #[error("the rule has no FREQ part: expected FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")]
    MissingFrequency,
    #[error("Herald cannot express FREQ={0}: reminders repeat daily, weekly, monthly or yearly")]
    UnsupportedFrequency(String),
    #[error(
        "Herald cannot express {0}: a rule may use only FREQ, INTERVAL, BYDAY (weekly, or one \
         weekday of the month), BYMONTHDAY (monthly), BYHOUR with BYMINUTE, COUNT and UNTIL"
    )]
    UnsupportedPart(String),
    #[error(
        "Herald cannot express BYDAY={0}: a weekly rule lists plain weekdays such as MO,WE,FR, \
         and a monthly one names one weekday with its place, such as 2TU or -1FR"
    )]
    UnsupportedWeekdays(String),
    #[error(
        "Herald cannot express BYMONTHDAY={0}: a monthly rule fires on one day of the month, \
         1 to 31, or -1 for the last day"
    )]
    UnsupportedMonthDay(String),
    #[error(
        "Herald cannot express both COUNT and UNTIL: a rule ends after a number of times or on \
         a date, not both"
    )]
    CountAndUntil,
    #[error("{part}={value} is not a number Herald can use")]
    NotANumber { part: &'static str, value: String },
    #[error(
        "UNTIL={0} is not a date: Herald writes UNTIL as YYYYMMDD, the last local day on which \
         the reminder fires"
    )]
    BadUntil(String),
    #[error("the interval must be from 1 to 999, not {0}")]
    Interval(u16),
    #[error("weekdays (BYDAY) can be chosen only for a weekly rule")]
    WeekdaysNotWeekly,
    #[error("weekdays must be listed once each, Monday first")]
    WeekdaysUnordered,
    #[error("a day of the month (BYMONTHDAY) can be chosen only for a monthly rule")]
    MonthDayNotMonthly,
    #[error("the day of the month must be from 1 to 31, or the last day, not {0}")]
    MonthDay(i8),
    #[error("a monthly rule fires on a day of the month or on a weekday of it, not both")]
    MonthDayAndWeekday,
    #[error("a weekday's place in the month (such as 2TU) can be chosen only for a monthly rule")]
    NthWeekdayNotMonthly,
    #[error("a weekday's place in the month must be 1st to 5th, or the last, not {0}")]
    NthWeekday(i8),
    #[error("Herald cannot express {0} without {1}: the times of day need both hours and minutes")]
    HalfTimes(&'static str, &'static str),
    #[error("{part}={value} is not a list of {what} Herald can use")]
    BadTimes {
        part: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("a reminder may send at most {max} times a day, not {0}", max = super::MAX_TIMES)]
    TooManyTimes(usize),
    #[error("times of day are whole minutes, such as 09:00")]
    TimeWithSeconds,
    #[error("times of day must be listed once each, earliest first")]
    TimesUnordered,
    #[error(
        "the times of day must share their minutes, such as 09:00 and 17:00 or 08:30 and 12:30: \
         a calendar rule cannot say 09:00 and 17:30 in one reminder, so make two"
    )]
    TimesNotAGrid,
    #[error("times of day must be at least 5 minutes apart, also across midnight")]
    TimesTooClose,
    #[error("the start's time must be one of the times of day the reminder sends at")]
    StartTimeNotListed,
    #[error("choose how many times it repeats: at least once")]
    ZeroCount,
    #[error("the end date {0} is outside the years 1 to 9999")]
    UntilOutOfRange(NaiveDate),
    #[error("the start {0} is outside the years 1 to 9999")]
    StartOutOfRange(NaiveDateTime),
    #[error("a one-off reminder has no dates to skip: change its date, or pause it")]
    SkipOneOff,
    #[error("a reminder may skip at most {max} dates, not {0}", max = super::MAX_SKIPPED)]
    TooManySkipped(usize),
    #[error("skipped dates must be listed once each, earliest first")]
    SkipUnordered,
    #[error("{0:?} is not a date: skipped dates are written YYYY-MM-DD")]
    BadSkipDate(String),
    #[error("this schedule never fires: its end comes before the first date its rule matches")]
    NeverFires,
}
