//! Summaries read as English.

use chrono::{Timelike as _, Weekday};
use domain::recurrence::{End, Frequency, Spec};

use crate::{daily, date, local, schedule, schedule_at, spec};

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
