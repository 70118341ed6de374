//! Undo of a delete: the reminder comes back under its own id, as it was — schedule, message,
//! groups, owed occurrences and runs — once, only for its operator, and only for a while.

use chrono::Duration;
use domain::status::RunStatus;
use entity::{media_files, reminder_owed_fires, reminder_runs, whatsapp_groups};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use service::{
    audit::Actor,
    reminders::{self, RestoreError, UNDO_WITHIN},
};

use crate::{World, now};

#[tokio::test]
async fn undo_puts_a_deleted_reminder_back_as_it_was_with_its_runs() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let before = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    let run = w.run(&reminder, RunStatus::Success).await;
    reminder_owed_fires::ActiveModel {
        reminder_id: Set(reminder.id),
        occurrence_at: Set(reminder.dtstart),
        reason: Set(None),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap();

    reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    let later = now() + Duration::minutes(2);
    let back = reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, later)
        .await
        .unwrap();

    assert_eq!(back.id, reminder.id);
    assert_eq!(back.next_fire_at, reminder.next_fire_at);
    assert_eq!(back.status, reminder.status);
    let after = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .expect("it is back");
    assert_eq!(after.parts, before.parts);
    assert_eq!(after.targets, before.targets);
    let run = reminder_runs::Entity::find_by_id(run)
        .one(w.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        run.reminder_id,
        Some(reminder.id),
        "its runs are its own again"
    );
    let owed = reminder_owed_fires::Entity::find()
        .all(w.db())
        .await
        .unwrap();
    assert_eq!(owed.len(), 1, "a send it owed is owed again");
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.deleted", "reminder.restored"]
    );
    // The worker hears of it, to arm its next fire.
    assert_eq!(w.commands().await.len(), 3);

    // Undo works once.
    let again = reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, later).await;
    assert!(matches!(again, Err(RestoreError::NotFound)), "{again:?}");
}

#[tokio::test]
async fn undo_is_only_the_operators_own_and_only_for_a_while() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();

    let theirs = reminders::restore(w.db(), Actor::Operator, w.other.id, reminder.id, now()).await;
    assert!(matches!(theirs, Err(RestoreError::NotFound)), "{theirs:?}");
    let late = now() + UNDO_WITHIN + Duration::seconds(1);
    let too_late = reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, late).await;
    assert!(
        matches!(too_late, Err(RestoreError::NotFound)),
        "{too_late:?}"
    );
    assert_eq!(
        reminders::find(w.db(), w.me.id, reminder.id).await.unwrap(),
        None
    );
    // A refusal keeps the snapshot: in time, it still comes back.
    reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
}

#[tokio::test]
async fn undo_leaves_out_a_group_removed_since_and_refuses_when_a_file_is_gone() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    whatsapp_groups::Entity::delete_by_id(w.me.groups[1])
        .exec(w.db())
        .await
        .unwrap();
    let back = reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    let detail = reminders::detail(w.db(), w.me.id, back.id)
        .await
        .unwrap()
        .unwrap();
    let groups: Vec<i64> = detail.targets.iter().map(|t| t.group.id).collect();
    assert_eq!(groups, [w.me.groups[0]]);

    // The image its message sends is swept while it is deleted: it cannot come back.
    reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id, now())
        .await
        .unwrap();
    media_files::Entity::delete_by_id(w.me.image)
        .exec(w.db())
        .await
        .unwrap();
    let gone = reminders::restore(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await;
    assert!(matches!(gone, Err(RestoreError::MediaGone)), "{gone:?}");
}
