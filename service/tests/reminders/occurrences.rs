//! Single occurrences: skipping the next one (kept by later edits, refused once it is due) and
//! skipped dates as the wizard submits them; sending a reminder now (once per tap).

use domain::status::ReminderStatus;
use entity::reminder_owed_fires as owed;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl World {
    /// Skips the next occurrence the reminder's row shows, at `at`.
    async fn skip_next(&self, id: i64, at: DateTime<Utc>) -> Result<NaiveDate, ReminderError> {
        let expected = self.row(id).await.next_fire_at.unwrap_or_default();
        reminders::skip_next(self.db(), Actor::Operator, self.me.id, id, expected, at)
            .await
            .map(|(_, date)| date)
    }

    async fn row(&self, id: i64) -> reminder_rows::Model {
        reminder_rows::Entity::find_by_id(id)
            .one(self.db())
            .await
            .unwrap()
            .unwrap()
    }

    async fn edit(&self, id: i64, input: &ReminderInput) -> reminder_rows::Model {
        reminders::update(self.db(), Actor::Operator, self.me.id, id, input, now())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn skipping_the_next_occurrence_moves_on_and_an_edit_keeps_the_skip() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    // Mondays and Wednesdays at 08:30 in Berlin: Wednesday the 5th is next.
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 5, 7, 30)));

    assert_eq!(
        w.skip_next(reminder.id, now()).await.unwrap(),
        date(2031, 3, 5)
    );
    let skipped = w.row(reminder.id).await;
    assert_eq!(skipped.next_fire_at, Some(utc(2031, 3, 10, 7, 30)));
    assert_eq!(skipped.status, ReminderStatus::Active);
    assert_eq!(skipped.skip_dates.as_deref(), Some("2031-03-05"));
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.skipped"]
    );
    assert_eq!(w.commands().await.len(), 2, "the worker is told");

    // Skipping again skips Monday the 10th too.
    assert_eq!(
        w.skip_next(reminder.id, now()).await.unwrap(),
        date(2031, 3, 10)
    );
    assert_eq!(
        w.row(reminder.id).await.next_fire_at,
        Some(utc(2031, 3, 12, 7, 30))
    );

    // The wizard submits the skipped dates with an edit: the skip survives it.
    let mut edit = w.weekly();
    edit.name = "Weekly, renamed".into();
    edit.skip_dates = vec![date(2031, 3, 10), date(2031, 3, 5)];
    let edited = w.edit(reminder.id, &edit).await;
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 12, 7, 30)));
    assert_eq!(edited.skip_dates.as_deref(), Some("2031-03-05,2031-03-10"));

    // Removing a date in the wizard brings its occurrence back.
    edit.skip_dates = vec![date(2031, 3, 10)];
    let edited = w.edit(reminder.id, &edit).await;
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 5, 7, 30)));
}

#[tokio::test]
async fn skipping_is_refused_for_a_one_off_a_paused_reminder_and_an_occurrence_already_due() {
    let w = World::new().await;
    let one_off = w.create(&w.one_off()).await;
    assert!(matches!(
        w.skip_next(one_off.id, now()).await,
        Err(ReminderError::SkipOneOff)
    ));

    let weekly = w.create(&w.weekly()).await;
    let due = utc(2031, 3, 5, 7, 30);
    // The worker may be sending it: the skip comes too late and changes nothing.
    assert!(matches!(
        w.skip_next(weekly.id, due).await,
        Err(ReminderError::AlreadyDue)
    ));
    assert_eq!(w.row(weekly.id).await, weekly);

    reminders::pause(w.db(), Actor::Operator, w.me.id, weekly.id, None, now())
        .await
        .unwrap();
    assert!(matches!(
        w.skip_next(weekly.id, now()).await,
        Err(ReminderError::CannotSkip(ReminderStatus::Paused))
    ));

    let due = weekly.next_fire_at.unwrap();
    let theirs =
        reminders::skip_next(w.db(), Actor::Operator, w.other.id, weekly.id, due, now()).await;
    assert!(matches!(theirs, Err(ReminderError::NotFound)));
}

#[tokio::test]
async fn skip_next_skips_only_the_occurrence_the_operator_saw() {
    let w = World::new().await;
    let weekly = w.create(&w.weekly()).await;
    let seen = weekly.next_fire_at.unwrap();
    // Another tab skipped it already: this page's Skip next would skip the one after.
    w.skip_next(weekly.id, now()).await.unwrap();
    let stale =
        reminders::skip_next(w.db(), Actor::Operator, w.me.id, weekly.id, seen, now()).await;
    assert!(matches!(stale, Err(ReminderError::MovedOn)));
    assert_eq!(
        w.row(weekly.id).await.next_fire_at,
        Some(utc(2031, 3, 10, 7, 30)),
        "only one occurrence skipped"
    );
}

#[tokio::test]
async fn an_edit_opened_before_a_skip_keeps_it_and_its_own_changes() {
    let w = World::new().await;
    let weekly = w.create(&w.weekly()).await;
    // The edit opens with nothing skipped; Skip next skips Wednesday the 5th meanwhile; the
    // edit, saved later, adds Monday the 17th.
    w.skip_next(weekly.id, now()).await.unwrap();
    let edit = ReminderInput {
        skip_dates: vec![date(2031, 3, 17)],
        skip_base: Some(vec![]),
        ..w.weekly()
    };
    let saved = w.edit(weekly.id, &edit).await;
    assert_eq!(saved.skip_dates.as_deref(), Some("2031-03-05,2031-03-17"));
    assert_eq!(saved.next_fire_at, Some(utc(2031, 3, 10, 7, 30)));
}

#[tokio::test]
async fn skipping_the_last_occurrence_ends_the_reminder() {
    let w = World::new().await;
    let twice = ReminderInput {
        rrule: Some("FREQ=DAILY;COUNT=2".into()),
        timezone: "UTC".into(),
        start_local: local(2031, 3, 4, 9, 0),
        ..w.weekly()
    };
    let reminder = w.create(&twice).await;
    w.skip_next(reminder.id, now()).await.unwrap();
    assert_eq!(
        w.row(reminder.id).await.next_fire_at,
        Some(utc(2031, 3, 5, 9, 0))
    );
    w.skip_next(reminder.id, now()).await.unwrap();
    let ended = w.row(reminder.id).await;
    assert_eq!(
        (ended.status, ended.next_fire_at),
        (ReminderStatus::Ended, None)
    );
    assert!(ended.status_reason.unwrap().contains("skipped"));
}

#[tokio::test]
async fn skipped_dates_must_be_days_the_reminder_sends_on() {
    let w = World::new().await;
    // Tuesday is not a Monday or a Wednesday.
    let errors = w
        .refused(&ReminderInput {
            skip_dates: vec![date(2031, 3, 11)],
            ..w.weekly()
        })
        .await;
    assert_eq!(
        errors.get("skip"),
        Some(
            "Tue 11 Mar 2031 is not a day this reminder sends on: remove it from the skipped dates"
        )
    );
    let errors = w
        .refused(&ReminderInput {
            skip_dates: vec![date(2031, 3, 4)],
            ..w.one_off()
        })
        .await;
    assert!(
        errors
            .get("skip")
            .unwrap()
            .starts_with("A one-off reminder")
    );

    // Dates already past are history: dropped, not refused. The list is stored sorted, once.
    let created = w
        .create(&ReminderInput {
            skip_dates: vec![date(2031, 3, 12), date(2031, 2, 3), date(2031, 3, 12)],
            ..w.weekly()
        })
        .await;
    assert_eq!(created.skip_dates.as_deref(), Some("2031-03-12"));

    let schedule = reminders::schedule_of(&created).unwrap();
    assert_eq!(schedule.skip, [date(2031, 3, 12)]);
    assert!(
        schedule.summary().ends_with(", except Wed 12 Mar 2031"),
        "{}",
        schedule.summary()
    );
}

#[tokio::test]
async fn send_now_queues_one_send_and_a_second_tap_is_refused_until_it_is_done() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let at = reminders::send_now(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    assert_eq!(at, now());
    let queued: Vec<_> = owed::Entity::find()
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.reminder_id, row.occurrence_at, row.reason))
        .collect();
    assert_eq!(queued, [(reminder.id, now(), None)]);
    assert_eq!(
        w.row(reminder.id).await,
        reminder,
        "its schedule is as it was"
    );

    let again = reminders::send_now(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await;
    assert!(matches!(again, Err(ReminderError::AlreadySending)));
    // A run still sending holds a send now back just the same.
    owed::Entity::delete_many().exec(w.db()).await.unwrap();
    w.run(&reminder, RunStatus::Running).await;
    let while_running =
        reminders::send_now(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await;
    assert!(matches!(while_running, Err(ReminderError::AlreadySending)));

    // While its own occurrence is due and unfired (the worker catching up), that occurrence
    // goes out anyway: a send now would reach the groups twice.
    let due = reminder.next_fire_at.unwrap();
    let while_due = reminders::send_now(w.db(), Actor::Operator, w.me.id, reminder.id, due).await;
    assert!(matches!(while_due, Err(ReminderError::DueNow)));

    reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now())
        .await
        .unwrap();
    let paused = reminders::send_now(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await;
    assert!(matches!(
        paused,
        Err(ReminderError::CannotSendNow(ReminderStatus::Paused))
    ));
    let theirs = reminders::send_now(w.db(), Actor::Operator, w.other.id, reminder.id, now()).await;
    assert!(matches!(theirs, Err(ReminderError::NotFound)));
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.sent_now", "reminder.paused"]
    );
}
