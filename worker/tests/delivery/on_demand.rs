//! The operator's actions on single occurrences, as the groups see them (the simulator's
//! outbox): "Send now" reaches each group once per tap and leaves the schedule alone; "Skip
//! next" sends nothing at the skipped time and the occurrence after it as usual.

use std::{collections::HashMap, time::Duration};

use chrono::{TimeZone as _, Utc};
use domain::status::{ReminderStatus, RunStatus};
use entity::reminders;
use sea_orm::EntityTrait;
use service::{audit::Actor, reminders::ReminderError};
use testkit::TestDb;
use worker::clock::Clock;

use super::harness::*;

fn each(h: &Harness, groups: &[usize], times: usize) -> HashMap<String, usize> {
    groups
        .iter()
        .map(|&g| (h.groups[g].jid.clone(), times))
        .collect()
}

#[tokio::test]
async fn send_now_reaches_each_group_once_per_tap_and_the_schedule_goes_on() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Daily", local(10, 0), &[0, 1]);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input).await;
    let send_now = || {
        service::reminders::send_now(
            &h.db,
            Actor::Operator,
            h.operator_id,
            reminder.id,
            h.clock.now(),
        )
    };

    let first = send_now().await.unwrap();
    assert_eq!(first, t0());
    // A second tap before the first is sent is refused: one tap, one send.
    assert!(matches!(
        send_now().await,
        Err(ReminderError::AlreadySending)
    ));
    let run = h.settled_run(reminder.id, first).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!(h.outbox().await, each(&h, &[0, 1], 1));

    // Once that run is done, another tap sends again.
    h.clock.set(at(8, 5, 0));
    let second = send_now().await.unwrap();
    assert_eq!(
        h.settled_run(reminder.id, second).await.status,
        RunStatus::Success
    );
    assert_eq!(h.outbox().await, each(&h, &[0, 1], 2));

    // The schedule did not move: 10:00 fires as it always would have.
    let row = reminders::Entity::find_by_id(reminder.id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status, row.next_fire_at),
        (ReminderStatus::Active, Some(at(10, 0, 0)))
    );
    h.clock.set(at(10, 0, 0));
    assert_eq!(
        h.settled_run(reminder.id, at(10, 0, 0)).await.status,
        RunStatus::Success
    );
    assert_eq!(h.outbox().await, each(&h, &[0, 1], 3));
    h.stop().await;
}

#[tokio::test]
async fn a_skipped_occurrence_sends_nothing_and_the_one_after_goes_out() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Daily", local(9, 0), &[0]);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input).await;
    let (_, skipped) = service::reminders::skip_next(
        &h.db,
        Actor::Operator,
        h.operator_id,
        reminder.id,
        at(9, 0, 0),
        h.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(skipped, local(9, 0).date());

    h.clock.set(at(9, 0, 0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.clock.set(at(12, 0, 0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.runs(reminder.id).await.is_empty(), "nothing fired today");
    assert!(h.outbox().await.is_empty());

    let tomorrow = Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap();
    h.clock.set(tomorrow);
    assert_eq!(
        h.settled_run(reminder.id, tomorrow).await.status,
        RunStatus::Success
    );
    assert_eq!(h.outbox().await, each(&h, &[0], 1));
    h.stop().await;
}

/// A send now is not an occurrence of the schedule: an edit right after it still keeps the
/// occurrence due minutes later (an edit re-arms from the schedule's own last fire).
#[tokio::test]
async fn an_edit_just_after_a_send_now_keeps_the_occurrence_due_minutes_later() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), pacing_off()).await;
    let mut input = h.input("Daily", local(9, 0), &[0]);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input.clone()).await;
    h.clock.set(at(8, 58, 0));
    let now = service::reminders::send_now(
        &h.db,
        Actor::Operator,
        h.operator_id,
        reminder.id,
        h.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        h.settled_run(reminder.id, now).await.status,
        RunStatus::Success
    );

    h.clock.set(at(8, 59, 0));
    input.parts[0].body = Some("Daily: new words".to_owned());
    let edited = service::reminders::update(
        &h.db,
        Actor::Operator,
        h.operator_id,
        reminder.id,
        &input,
        h.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(edited.next_fire_at, Some(at(9, 0, 0)));
    h.clock.set(at(9, 0, 0));
    assert_eq!(
        h.settled_run(reminder.id, at(9, 0, 0)).await.status,
        RunStatus::Success
    );
    assert_eq!(h.outbox().await, each(&h, &[0], 2));
    h.stop().await;
}
