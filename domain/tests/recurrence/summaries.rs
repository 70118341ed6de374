//! Summaries read as English.

use chrono::{Timelike as _, Weekday};
use domain::recurrence::{End, Frequency, LAST_DAY, NthWeekday, Spec};

use crate::{daily, date, local, schedule, schedule_at, spec, time};

#[test]
fn summaries_read_as_english() {
    let at = |h, m| local(2027, 1, 5, h, m);
    let cases = [
        (
            schedule(at(9, 0), "UTC", None),
            "Once on Tue 5 Jan 2027 at 09:00 (UTC)",
        ),
        (schedule_at(at(8, 30), daily()), "Every day at 08:30 (UTC)"),
        (
            schedule_at(at(8, 30), spec(Frequency::Daily, 3)),
            "Every 3 days at 08:30 (UTC)",
        ),
        (
            schedule_at(
                at(9, 0),
                Spec {
                    weekdays: vec![Weekday::Mon, Weekday::Wed, Weekday::Fri],
                    ..spec(Frequency::Weekly, 1)
                },
            ),
            "Every Mon, Wed, Fri at 09:00 (UTC)",
        ),
        (
            schedule_at(at(9, 0), spec(Frequency::Weekly, 1)),
            "Every Tue at 09:00 (UTC)",
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
            "Every 2 weeks on Mon at 09:00 (UTC) until Fri 1 Jan 2027",
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
            "Every month on day 15 at 10:00 (UTC), 12 times",
        ),
        (
            schedule_at(at(10, 0), spec(Frequency::Monthly, 6)),
            "Every 6 months on day 5 at 10:00 (UTC)",
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
            "Every month on day 31 at 10:00 (UTC), once (skips months without day 31)",
        ),
        (
            schedule_at(local(2027, 3, 3, 7, 0), spec(Frequency::Yearly, 1)),
            "Every year on 3 Mar at 07:00 (UTC)",
        ),
        (
            schedule_at(local(2028, 2, 29, 7, 0), spec(Frequency::Yearly, 2)),
            "Every 2 years on 29 Feb at 07:00 (UTC) (leap years only)",
        ),
        (
            schedule_at(local(2027, 1, 5, 7, 0).with_second(30).unwrap(), daily()),
            "Every day at 07:00:30 (UTC)",
        ),
    ];
    for (schedule, text) in cases {
        assert_eq!(schedule.summary(), text);
    }
}

#[test]
fn the_new_presets_read_as_english_with_their_zone() {
    let at = |h, m| local(2027, 1, 5, h, m);
    let monthly = |nth, day| Spec {
        month_weekday: Some(NthWeekday { nth, day }),
        ..spec(Frequency::Monthly, 1)
    };
    let cases = [
        (
            schedule(
                at(9, 0),
                "Europe/London",
                Some(Spec {
                    weekdays: vec![
                        Weekday::Mon,
                        Weekday::Tue,
                        Weekday::Wed,
                        Weekday::Thu,
                        Weekday::Fri,
                    ],
                    end: End::On(date(2027, 12, 10)),
                    ..spec(Frequency::Weekly, 1)
                }),
            ),
            "Every weekday (Mon to Fri) at 09:00 (Europe/London) until Fri 10 Dec 2027",
        ),
        (
            schedule_at(
                at(9, 0),
                Spec {
                    weekdays: vec![
                        Weekday::Mon,
                        Weekday::Tue,
                        Weekday::Wed,
                        Weekday::Thu,
                        Weekday::Fri,
                    ],
                    ..spec(Frequency::Weekly, 2)
                },
            ),
            "Every 2 weeks on Mon to Fri at 09:00 (UTC)",
        ),
        (
            schedule_at(at(9, 0), monthly(2, Weekday::Tue)),
            "Every month on the 2nd Tue at 09:00 (UTC)",
        ),
        (
            schedule_at(at(9, 0), monthly(-1, Weekday::Fri)),
            "Every month on the last Fri at 09:00 (UTC)",
        ),
        (
            schedule_at(at(9, 0), monthly(5, Weekday::Mon)),
            "Every month on the 5th Mon at 09:00 (UTC) (skips months without a 5th Mon)",
        ),
        (
            schedule_at(
                at(18, 0),
                Spec {
                    month_day: Some(LAST_DAY),
                    ..spec(Frequency::Monthly, 3)
                },
            ),
            "Every 3 months on the last day at 18:00 (UTC)",
        ),
        (
            schedule(
                at(17, 0),
                "Asia/Kuala_Lumpur",
                Some(Spec {
                    times: vec![time(9, 0), time(17, 0)],
                    end: End::After(6),
                    ..daily()
                }),
            ),
            "Every day at 09:00 and 17:00 (Asia/Kuala_Lumpur), 6 times",
        ),
        (
            schedule_at(
                at(8, 0),
                Spec {
                    times: vec![time(8, 0), time(12, 0), time(18, 0)],
                    ..spec(Frequency::Weekly, 1)
                },
            ),
            "Every Tue at 08:00, 12:00 and 18:00 (UTC)",
        ),
    ];
    for (schedule, text) in cases {
        assert_eq!(schedule.validate(), Ok(()), "{text}");
        assert_eq!(schedule.summary(), text);
    }
}
