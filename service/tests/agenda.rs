//! The agenda on the test engine: every send to come in the window, soonest first, with when its
//! last group is expected under the pacing, a run it will queue behind on the same account, and
//! the account's state; paused reminders and other operators' are not in it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use domain::{
    pacing::Rules,
    status::{AccountStatus, MessageKind},
};
use service::{
    agenda::{self, Send},
    audit::Actor,
    reminders::{self, PartInput, ReminderInput},
};
use testkit::{TestDb, seed};

/// A send as the agenda lists it: name, fire, last group, the run it queues behind.
type Seen<'a> = (&'a str, DateTime<Utc>, DateTime<Utc>, Option<&'a str>);

fn utc(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, d, h, m, s).unwrap()
}

/// Monday 3 March 2031, 10:00 UTC.
fn now() -> DateTime<Utc> {
    utc(3, 10, 0, 0)
}

/// One send a minute.
fn pacing() -> Rules {
    Rules {
        min_interval: Duration::from_secs(60),
        jitter: Duration::from_secs(5),
        per_minute: 0,
        per_hour_global: 0,
    }
}

fn input(
    account: i64,
    groups: &[i64],
    name: &str,
    start: (u32, u32, u32),
    rrule: Option<&str>,
) -> ReminderInput {
    let (day, hour, minute) = start;
    ReminderInput {
        account_id: account,
        name: name.into(),
        timezone: "UTC".into(),
        start_local: NaiveDate::from_ymd_opt(2031, 3, day)
            .unwrap()
            .and_hms_opt(hour, minute, 0)
            .unwrap(),
        rrule: rrule.map(str::to_owned),
        skip_dates: vec![],
        skip_base: None,
        send_window_end_hour: None,
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some(format!("{name}!")),
            media_file_id: None,
        }],
        group_ids: groups.to_vec(),
    }
}

#[tokio::test]
async fn the_agenda_lists_each_send_with_its_pace_its_queue_and_its_accounts_state() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = seed::operator(db, 3001, "UTC").await.id;
    let bakery = seed::account(db, me, "Bakery", AccountStatus::Connected)
        .await
        .id;
    let mut shelves = Vec::new();
    for name in ["North", "South", "East"] {
        shelves.push(seed::group(db, bakery, name).await.id);
    }
    let florist = seed::account(db, me, "Florist", AccountStatus::LoggedOut)
        .await
        .id;
    let stall = seed::group(db, florist, "Stall").await.id;
    let create = |input: ReminderInput| async move {
        reminders::create(db, Actor::Operator, me, &input, now())
            .await
            .unwrap()
    };
    let bread = create(input(
        bakery,
        &shelves,
        "Bread",
        (3, 12, 0),
        Some("FREQ=DAILY"),
    ))
    .await;
    let cakes = create(input(bakery, &shelves[..1], "Cakes", (3, 12, 1), None)).await;
    let tulips = create(input(florist, &[stall], "Tulips", (4, 9, 0), None)).await;
    let paused = create(input(bakery, &shelves, "Paused", (3, 13, 0), None)).await;
    reminders::pause(db, Actor::Operator, me, paused.id, None, now())
        .await
        .unwrap();
    // Another operator's reminder is not in this operator's agenda.
    let other = seed::operator(db, 3002, "UTC").await.id;
    let theirs = seed::account(db, other, "Theirs", AccountStatus::Connected)
        .await
        .id;
    let their_group = seed::group(db, theirs, "Club").await.id;
    reminders::create(
        db,
        Actor::Operator,
        other,
        &input(theirs, &[their_group], "Theirs", (3, 11, 0), None),
        now(),
    )
    .await
    .unwrap();

    let sends = agenda::upcoming(db, me, now(), utc(5, 10, 0, 0), &pacing())
        .await
        .unwrap();
    let seen: Vec<Seen> = sends
        .iter()
        .map(|s: &Send| (s.name.as_str(), s.at, s.last_group_at, s.behind.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            // Three groups a minute apart: the last at 12:02.
            ("Bread", utc(3, 12, 0, 0), utc(3, 12, 2, 0), None),
            // Due at 12:01 while Bread still sends: it starts a pause after Bread's last group.
            ("Cakes", utc(3, 12, 1, 0), utc(3, 12, 3, 0), Some("Bread")),
            ("Tulips", utc(4, 9, 0, 0), utc(4, 9, 0, 0), None),
            ("Bread", utc(4, 12, 0, 0), utc(4, 12, 2, 0), None),
        ]
    );
    assert_eq!(sends[0].groups, 3);
    assert_eq!(sends[0].account_label, "Bakery");
    assert_eq!(sends[2].account_status, AccountStatus::LoggedOut);
    assert_eq!(
        (
            sends[0].reminder_id,
            sends[1].reminder_id,
            sends[2].reminder_id
        ),
        (bread.id, cakes.id, tulips.id)
    );

    // The window's start leaves out what comes before it.
    let later = agenda::upcoming(db, me, utc(4, 0, 0, 0), utc(4, 23, 0, 0), &pacing())
        .await
        .unwrap();
    let names: Vec<&str> = later.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Tulips", "Bread"]);
}
