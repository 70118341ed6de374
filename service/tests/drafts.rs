//! Reminder drafts on the test engine: each is only its operator's, an edit has one draft per
//! reminder that carries its unsaved changes, and drafts go with their reminder or when
//! abandoned.

use chrono::{Duration, NaiveDate, Utc};
use domain::status::{AccountStatus, MessageKind};
use entity::reminder_drafts;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use service::{
    audit::Actor,
    drafts,
    reminders::{self, PartInput, ReminderInput},
};
use testkit::{TestDb, seed};

async fn operator(db: &DatabaseConnection, n: i64) -> i64 {
    seed::operator(db, 2000 + n, "UTC").await.id
}

/// A daily reminder of `operator`'s, on a fresh account with one group.
async fn reminder(db: &DatabaseConnection, operator: i64) -> i64 {
    let now = Utc::now();
    let account = seed::account(db, operator, "office", AccountStatus::Connected)
        .await
        .id;
    let group = seed::group(db, account, "Team").await.id;
    let input = ReminderInput {
        account_id: account,
        name: "Stand-up".into(),
        timezone: "UTC".into(),
        start_local: NaiveDate::from_ymd_opt(2031, 3, 3)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        rrule: Some("FREQ=DAILY".into()),
        skip_dates: vec![],
        skip_base: None,
        send_window_end_hour: None,
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some("Stand-up in 10 minutes".into()),
            media_file_id: None,
        }],
        group_ids: vec![group],
    };
    reminders::create(db, Actor::Operator, operator, &input, now)
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_draft_is_only_its_operators() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    let now = Utc::now();
    let draft = drafts::create(db, me, r#"{"name":"a"}"#.into(), now)
        .await
        .unwrap();

    assert_eq!(drafts::find(db, other, draft.id).await.unwrap(), None);
    assert!(
        !drafts::save(db, other, draft.id, "{}".into(), now)
            .await
            .unwrap()
    );
    assert!(!drafts::discard(db, other, draft.id).await.unwrap());

    assert!(
        drafts::save(db, me, draft.id, r#"{"name":"b"}"#.into(), now)
            .await
            .unwrap()
    );
    let saved = drafts::find(db, me, draft.id).await.unwrap().unwrap();
    assert_eq!(saved.data, r#"{"name":"b"}"#);
    assert_eq!(saved.reminder_id, None);

    assert!(drafts::discard(db, me, draft.id).await.unwrap());
    assert_eq!(drafts::find(db, me, draft.id).await.unwrap(), None);
    assert!(
        !drafts::save(db, me, draft.id, "{}".into(), now)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_edit_keeps_one_draft_per_reminder_until_it_is_saved_or_the_reminder_goes() {
    let test = TestDb::new().await;
    let db = &test.db;
    let (me, other) = (operator(db, 1).await, operator(db, 2).await);
    let reminder_id = reminder(db, me).await;
    let now = Utc::now();

    // Someone else's reminder cannot be edited, and nothing is made for them.
    let foreign = drafts::open_for_reminder(db, other, reminder_id, || unreachable!(), now)
        .await
        .unwrap();
    assert_eq!(foreign, None);
    assert!(!drafts::has_draft_for(db, reminder_id).await.unwrap());

    let first = drafts::open_for_reminder(db, me, reminder_id, || "initial".into(), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.data, "initial");
    assert!(drafts::has_draft_for(db, reminder_id).await.unwrap());
    drafts::save(db, me, first.id, "changed".into(), now)
        .await
        .unwrap();

    // Opening the edit again carries on with the unsaved changes.
    let again = drafts::open_for_reminder(db, me, reminder_id, || "fresh".into(), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.data.as_str()), (first.id, "changed"));

    // The draft goes with its reminder.
    reminders::delete(db, Actor::Operator, me, reminder_id, now)
        .await
        .unwrap();
    assert_eq!(drafts::find(db, me, first.id).await.unwrap(), None);
}

#[tokio::test]
async fn drafts_untouched_for_a_month_are_pruned_when_a_new_one_starts() {
    let test = TestDb::new().await;
    let db = &test.db;
    let me = operator(db, 1).await;
    let now = Utc::now();
    let old = drafts::create(
        db,
        me,
        "old".into(),
        now - drafts::ABANDONED_AFTER - Duration::minutes(1),
    )
    .await
    .unwrap();
    let recent = drafts::create(db, me, "recent".into(), now - Duration::days(29))
        .await
        .unwrap();
    assert_eq!(reminder_drafts::Entity::find().count(db).await.unwrap(), 2);

    let new = drafts::create(db, me, "new".into(), now).await.unwrap();
    assert_eq!(drafts::find(db, me, old.id).await.unwrap(), None);
    assert!(drafts::find(db, me, recent.id).await.unwrap().is_some());
    assert!(drafts::find(db, me, new.id).await.unwrap().is_some());
}
