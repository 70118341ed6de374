//! The life of a reminder: edit, pause, resume, delete and duplicate.

use chrono::Duration;
use domain::{
    bus::Command,
    recurrence::{Frequency, Spec},
    status::{ReminderStatus, RunStatus},
};
use entity::{reminder_messages, reminder_runs, reminder_targets};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};
use service::{
    audit::Actor,
    reminders::{self, ReminderError, ReminderInput},
};

use crate::{World, local, now, text, utc};

#[tokio::test]
async fn an_edit_replaces_schedule_and_content_and_keeps_history() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let run = w.run(&reminder, RunStatus::Success).await;

    let daily = Spec::every(Frequency::Daily, 2);
    let later = now() + Duration::days(1);
    let edited = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        &ReminderInput {
            name: "Every other day".into(),
            timezone: "UTC".into(),
            start_local: local(2031, 3, 1, 12, 0),
            rrule: Some(daily.to_rrule()),
            send_window_end_hour: Some(18),
            parts: vec![text("new text")],
            group_ids: vec![w.me.groups[1]],
            ..w.weekly()
        },
        later,
    )
    .await
    .unwrap();
    assert_eq!(edited.id, reminder.id);
    assert_eq!(edited.name, "Every other day");
    assert_eq!(edited.dtstart, utc(2031, 3, 1, 12, 0));
    assert_eq!(edited.rrule, Some(daily.to_rrule()));
    assert_eq!(edited.send_window_end_hour, Some(18));
    // Every other day from Saturday the 1st: the 3rd has passed by Tuesday 10:00, so the 5th.
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 5, 12, 0)));
    assert_eq!(edited.status, ReminderStatus::Active);
    assert_eq!(edited.created_at, reminder.created_at);

    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.parts.len(), 1);
    assert_eq!(detail.parts[0].message.body.as_deref(), Some("new text"));
    assert_eq!(
        detail
            .targets
            .iter()
            .map(|t| t.group.id)
            .collect::<Vec<_>>(),
        [w.me.groups[1]]
    );
    let history = reminders::runs(w.db(), w.me.id, reminder.id, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].run.id, run);
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.updated"]
    );
    assert_eq!(w.commands().await.len(), 2);
    assert_eq!(w.events().await.len(), 2);

    // An invalid edit changes nothing.
    let refused = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        &ReminderInput {
            parts: vec![],
            ..w.weekly()
        },
        later,
    )
    .await;
    assert!(matches!(refused, Err(ReminderError::Invalid(_))));
    assert_eq!(
        reminders::find(w.db(), w.me.id, reminder.id).await.unwrap(),
        Some(edited)
    );
}

#[tokio::test]
async fn an_edit_revives_an_ended_reminder_but_not_a_paused_one() {
    let w = World::new().await;
    let ended = w.create(&w.one_off()).await;
    let mut row = ended.clone().into_active_model();
    row.status = Set(ReminderStatus::Ended);
    row.status_reason = Set(Some("Sent".into()));
    row.next_fire_at = Set(None);
    row.update(w.db()).await.unwrap();

    let next_week = ReminderInput {
        start_local: local(2031, 3, 10, 17, 0),
        ..w.one_off()
    };
    let revived = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        ended.id,
        &next_week,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(revived.status, ReminderStatus::Active);
    assert_eq!(revived.status_reason, None);
    assert_eq!(revived.next_fire_at, Some(utc(2031, 3, 10, 9, 0)));

    let paused = w.create(&w.weekly()).await;
    reminders::pause(
        w.db(),
        Actor::Operator,
        w.me.id,
        paused.id,
        Some("holiday"),
        now(),
    )
    .await
    .unwrap();
    let edited = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        paused.id,
        &next_week,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(edited.status, ReminderStatus::Paused);
    assert_eq!(edited.status_reason.as_deref(), Some("holiday"));
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 10, 9, 0)));
}

#[tokio::test]
async fn an_edit_never_re_arms_the_occurrence_just_sent() {
    let w = World::new().await;
    let input = ReminderInput {
        timezone: "UTC".into(),
        start_local: (now() - Duration::seconds(30)).naive_utc(),
        ..w.one_off()
    };
    let reminder = w.create(&input).await;
    // The worker fired it a moment ago.
    let mut row = reminder.clone().into_active_model();
    row.last_fired_at = Set(Some(now() - Duration::seconds(30)));
    row.update(w.db()).await.unwrap();

    let errors =
        match reminders::update(w.db(), Actor::Operator, w.me.id, reminder.id, &input, now()).await
        {
            Err(ReminderError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        };
    assert_eq!(errors.get("start"), Some("That time has already passed"));
}

#[tokio::test]
async fn pause_keeps_the_next_fire_and_resume_skips_what_came_due() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let paused = reminders::pause(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        Some(" holiday "),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(paused.status, ReminderStatus::Paused);
    assert_eq!(paused.status_reason.as_deref(), Some("holiday"));
    assert_eq!(paused.next_fire_at, reminder.next_fire_at);

    // Pausing again changes nothing and records nothing.
    let again = reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now())
        .await
        .unwrap();
    assert_eq!(again, paused);

    // Back on Thursday: Wednesday's occurrence is not sent late; next is Monday the 10th.
    let thursday = utc(2031, 3, 6, 9, 0);
    let resumed = reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, thursday)
        .await
        .unwrap();
    assert_eq!(resumed.status, ReminderStatus::Active);
    assert_eq!(resumed.status_reason, None);
    assert_eq!(resumed.next_fire_at, Some(utc(2031, 3, 10, 7, 30)));

    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.paused", "reminder.resumed"]
    );
    let changed = Command::ReminderChanged {
        account_id: w.me.account,
        reminder_id: reminder.id,
    };
    assert_eq!(
        w.commands().await,
        [changed.clone(), changed.clone(), changed]
    );
    assert_eq!(w.events().await.len(), 3);
}

#[tokio::test]
async fn a_one_off_whose_time_passed_while_paused_cannot_resume() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now())
        .await
        .unwrap();
    let day_after = utc(2031, 3, 5, 9, 0);
    let err = reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, day_after)
        .await
        .unwrap_err();
    assert!(matches!(err, ReminderError::TimePassed));
    assert_eq!(
        err.to_string(),
        "That time has already passed — edit the reminder to pick a new time"
    );
    let still = reminders::find(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, ReminderStatus::Paused);

    // An ended reminder stays ended: it is neither paused nor resumed.
    let mut row = still.into_active_model();
    row.status = Set(ReminderStatus::Ended);
    row.update(w.db()).await.unwrap();
    assert!(matches!(
        reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await,
        Err(ReminderError::NotPaused(ReminderStatus::Ended))
    ));
    assert!(matches!(
        reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now()).await,
        Err(ReminderError::NotActive(ReminderStatus::Ended))
    ));
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.paused"]
    );
}

#[tokio::test]
async fn delete_keeps_the_runs_as_history() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let run = w.run(&reminder, RunStatus::Partial).await;

    let deleted = reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    assert_eq!(deleted.id, reminder.id);
    assert_eq!(
        reminders::find(w.db(), w.me.id, reminder.id).await.unwrap(),
        None
    );
    let run = reminder_runs::Entity::find_by_id(run)
        .one(w.db())
        .await
        .unwrap()
        .expect("the run survives its reminder");
    assert_eq!(run.reminder_id, None);
    assert_eq!(run.reminder_name, "Standup");
    assert_eq!(run.operator_id, Some(w.me.id));
    let leftovers = reminder_targets::Entity::find()
        .count(w.db())
        .await
        .unwrap()
        + reminder_messages::Entity::find()
            .count(w.db())
            .await
            .unwrap();
    assert_eq!(leftovers, 0);

    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.deleted"]
    );
    // The worker is told, so it drops the scheduled fire.
    assert_eq!(w.commands().await.len(), 2);
    assert_eq!(w.events().await.len(), 2);
}

#[tokio::test]
async fn a_duplicate_is_paused_and_equal_in_content() {
    let w = World::new().await;
    let source = w.create(&w.weekly()).await;
    let copy = reminders::duplicate(w.db(), Actor::Operator, w.me.id, source.id, now())
        .await
        .unwrap();
    assert_ne!(copy.id, source.id);
    assert_eq!(copy.name, "Weekly (copy)");
    assert_eq!(copy.status, ReminderStatus::Paused);
    assert_eq!(
        (
            &copy.timezone,
            copy.dtstart,
            &copy.rrule,
            copy.send_window_end_hour,
            copy.account_id,
        ),
        (
            &source.timezone,
            source.dtstart,
            &source.rrule,
            source.send_window_end_hour,
            source.account_id,
        )
    );
    assert_eq!(copy.next_fire_at, source.next_fire_at);

    let (db, me) = (w.db(), w.me.id);
    let content = |id| async move {
        let detail = reminders::detail(db, me, id).await.unwrap().unwrap();
        let parts: Vec<_> = detail
            .parts
            .into_iter()
            .map(|p| {
                (
                    p.message.position,
                    p.message.kind,
                    p.message.body,
                    p.message.media_file_id,
                )
            })
            .collect();
        let groups: Vec<_> = detail.targets.into_iter().map(|t| t.group.id).collect();
        (parts, groups)
    };
    assert_eq!(content(copy.id).await, content(source.id).await);
    assert_eq!(w.audit("reminder", copy.id).await, ["reminder.duplicated"]);

    // A copy of a one-off whose time has passed is kept, paused, with nothing to fire.
    let long_name = "n".repeat(128);
    let past = w
        .create(&ReminderInput {
            name: long_name,
            timezone: "UTC".into(),
            start_local: (now() - Duration::seconds(30)).naive_utc(),
            ..w.one_off()
        })
        .await;
    let copy = reminders::duplicate(w.db(), Actor::Operator, w.me.id, past.id, now())
        .await
        .unwrap();
    assert_eq!(copy.next_fire_at, None);
    assert_eq!(copy.name.chars().count(), 128);
    assert!(copy.name.ends_with("n (copy)"), "{}", copy.name);
}
