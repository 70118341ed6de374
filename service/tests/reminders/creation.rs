//! What a valid reminder stores and announces, and when it first fires.

use domain::{
    bus::{Command, Event},
    status::{MessageKind, ReminderStatus},
};
use entity::{audit_log, commands, reminders as reminder_rows};
use sea_orm::{EntityTrait, PaginatorTrait};
use service::reminders::{self, ReminderInput};

use crate::{World, local, utc, weekly_spec};

#[tokio::test]
async fn a_one_off_is_stored_with_its_command_event_and_audit() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;

    assert_eq!(reminder.name, "Standup");
    assert_eq!(reminder.status, ReminderStatus::Active);
    assert_eq!(reminder.timezone, "Asia/Kuala_Lumpur");
    assert_eq!(reminder.dtstart, utc(2031, 3, 4, 9, 0));
    assert_eq!(reminder.rrule, None);
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 4, 9, 0)));
    assert_eq!(reminder.send_window_end_hour, Some(20));
    assert_eq!(reminder.status_reason, None);

    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.reminder, reminder);
    let groups: Vec<i64> = detail.targets.iter().map(|t| t.group.id).collect();
    assert_eq!(groups, w.me.groups);
    let parts: Vec<_> = detail
        .parts
        .iter()
        .map(|p| {
            (
                p.message.kind,
                p.message.body.as_deref(),
                p.media.as_ref().map(|m| m.id),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (MessageKind::Text, Some("Standup in 10 minutes"), None),
            (MessageKind::Image, Some("the agenda"), Some(w.me.image)),
        ]
    );

    let changed = (w.me.account, reminder.id);
    assert_eq!(
        w.commands().await,
        [Command::ReminderChanged {
            account_id: changed.0,
            reminder_id: changed.1
        }]
    );
    assert_eq!(
        w.events().await,
        [Event::ReminderChanged {
            account_id: changed.0,
            reminder_id: changed.1
        }]
    );
    assert_eq!(w.audit("reminder", reminder.id).await, ["reminder.created"]);
}

#[tokio::test]
async fn a_refused_reminder_leaves_no_trace() {
    let w = World::new().await;
    let input = ReminderInput {
        name: String::new(),
        ..w.one_off()
    };
    w.refused(&input).await;
    assert_eq!(
        reminder_rows::Entity::find().count(w.db()).await.unwrap(),
        0
    );
    assert_eq!(commands::Entity::find().count(w.db()).await.unwrap(), 0);
    assert!(w.events().await.is_empty());
    assert_eq!(audit_log::Entity::find().count(w.db()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_weekly_reminder_fires_on_its_next_weekday() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;

    // Monday 08:30 in Berlin was 07:30 UTC, before `now`: next is Wednesday.
    assert_eq!(reminder.dtstart, utc(2031, 3, 3, 7, 30));
    assert_eq!(reminder.rrule, Some(weekly_spec().to_rrule()));
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 5, 7, 30)));

    let schedule = reminders::schedule_of(&reminder).unwrap();
    assert_eq!(schedule.start, local(2031, 3, 3, 8, 30));
    assert_eq!(schedule.zone.name(), "Europe/Berlin");
    assert_eq!(schedule.rule.map(|r| r.to_rrule()), reminder.rrule);
    assert_eq!(w.audit("reminder", reminder.id).await, ["reminder.created"]);
}

#[tokio::test]
async fn a_daily_time_keeps_its_wall_clock_after_a_first_day_in_a_dst_gap() {
    let w = World::new().await;
    // 30 March 2031: Berlin jumps from 02:00 to 03:00, so the first 02:30 happens at 03:30.
    let reminder = w
        .create(&ReminderInput {
            timezone: "Europe/Berlin".into(),
            start_local: local(2031, 3, 30, 2, 30),
            rrule: Some("FREQ=DAILY".into()),
            ..w.weekly()
        })
        .await;
    assert_eq!(reminder.dtstart, utc(2031, 3, 30, 1, 30));
    let schedule = reminders::schedule_of(&reminder).unwrap();
    assert_eq!(schedule.start, local(2031, 3, 30, 2, 30));
    // The next day 02:30 exists again (CEST, UTC+2) and is when it fires.
    assert_eq!(
        schedule.after(reminder.dtstart),
        Some(utc(2031, 3, 31, 0, 30))
    );
}
