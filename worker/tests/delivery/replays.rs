//! Commands the worker runs again after a crash (a claim released because its worker died): a
//! replay finishes what the first run left half done.

use domain::{
    bus::Command,
    status::{ReminderStatus, RunStatus},
};
use entity::{reminder_runs, reminders};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use testkit::TestDb;
use worker::clock::Clock;

use super::harness::*;

/// A daily reminder whose run the send window paused at 10:00, its reminder paused with it.
async fn window_paused(h: &Harness) -> (reminders::Model, reminder_runs::Model) {
    let mut input = h.input("Windowed", local(9, 57), &[0, 1, 2, 3, 4]);
    input.send_window_end_hour = Some(10);
    input.rrule = Some("FREQ=DAILY".to_owned());
    let reminder = h.create(input).await;
    h.clock.set(at(9, 57, 0));
    let paused = h
        .tick_until_run(
            reminder.id,
            at(9, 57, 0),
            chrono::Duration::seconds(1),
            |s| s != RunStatus::Running,
        )
        .await;
    assert_eq!(paused.status, RunStatus::Paused);
    (reminder, paused)
}

async fn reminder_status(h: &Harness, id: i64) -> ReminderStatus {
    reminders::Entity::find_by_id(id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_resume_replayed_after_a_crash_still_reactivates_the_reminder() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), one_a_minute()).await;
    let (reminder, paused) = window_paused(&h).await;
    assert_eq!(
        reminder_status(&h, reminder.id).await,
        ReminderStatus::Paused
    );

    // The first run of the command resumed the run, then the worker died before it reactivated
    // the reminder; the command is released and runs again.
    reminder_runs::ActiveModel {
        id: Set(paused.id),
        status: Set(RunStatus::Running),
        resumed_at: Set(Some(h.clock.now())),
        ..Default::default()
    }
    .update(&h.db)
    .await
    .unwrap();
    let command = Command::ResumeRun {
        account_id: h.account_id,
        run_id: paused.id,
    };
    service::bus::commands::enqueue(&h.db, &command)
        .await
        .unwrap();

    h.wait("the reminder to be active again", || async {
        (reminder_status(&h, reminder.id).await == ReminderStatus::Active).then_some(())
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn a_cancel_replayed_after_a_crash_still_reactivates_the_reminder() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let h = Harness::start(&test, data.path(), one_a_minute()).await;
    let (reminder, paused) = window_paused(&h).await;

    // As above, for a cancel: the run is cancelled, the reminder not yet reactivated.
    reminder_runs::ActiveModel {
        id: Set(paused.id),
        status: Set(RunStatus::Cancelled),
        ..Default::default()
    }
    .update(&h.db)
    .await
    .unwrap();
    let command = Command::CancelRun {
        account_id: h.account_id,
        run_id: paused.id,
    };
    service::bus::commands::enqueue(&h.db, &command)
        .await
        .unwrap();

    h.wait("the reminder to be active again", || async {
        (reminder_status(&h, reminder.id).await == ReminderStatus::Active).then_some(())
    })
    .await;
    h.stop().await;
}
