//! Operator scoping: another operator's accounts, groups, files and reminders are out of reach.

use domain::status::MessageKind;
use entity::reminders as reminder_rows;
use service::{
    audit::Actor,
    reminders::{self, PartInput, ReminderError, ReminderInput},
};

use crate::{World, now, text};

#[tokio::test]
async fn another_operators_account_groups_and_files_are_refused() {
    let w = World::new().await;
    // Their account, with their groups: the account is refused, and nothing says whether the
    // groups exist.
    let errors = w
        .refused(&ReminderInput {
            account_id: w.other.account,
            group_ids: w.other.groups.to_vec(),
            ..w.one_off()
        })
        .await;
    assert_eq!(
        errors.get("account"),
        Some("Choose one of your WhatsApp accounts")
    );
    assert_eq!(errors.len(), 1, "{errors}");

    let errors = w
        .refused(&ReminderInput {
            group_ids: w.other.groups.to_vec(),
            parts: vec![PartInput {
                kind: MessageKind::Image,
                body: None,
                media_file_id: Some(w.other.image),
            }],
            ..w.one_off()
        })
        .await;
    assert_eq!(
        errors.get("targets"),
        Some("2 of the chosen groups are not groups of this account")
    );
    assert_eq!(
        errors.get("parts[0].media"),
        Some("That file is not among your uploads; upload it again")
    );
    assert_eq!(errors.len(), 2, "{errors}");
}

#[tokio::test]
async fn another_operators_reminder_does_not_exist_for_them() {
    let w = World::new().await;
    let mine = w.create(&w.one_off()).await;
    let (db, them, id) = (w.db(), w.other.id, mine.id);
    let not_found = |r: Result<reminder_rows::Model, ReminderError>| {
        assert!(matches!(r, Err(ReminderError::NotFound)), "{r:?}");
    };
    let theirs = ReminderInput {
        account_id: w.other.account,
        group_ids: w.other.groups.to_vec(),
        parts: vec![text("hi")],
        ..w.one_off()
    };
    not_found(reminders::update(db, Actor::Operator, them, id, &theirs, now()).await);
    not_found(reminders::pause(db, Actor::Operator, them, id, None, now()).await);
    not_found(reminders::resume(db, Actor::Operator, them, id, now()).await);
    not_found(reminders::duplicate(db, Actor::Operator, them, id, now()).await);
    not_found(reminders::delete(db, Actor::Operator, them, id, now()).await);
    not_found(reminders::delete(db, Actor::Operator, w.me.id, i64::MAX, now()).await);
    assert_eq!(reminders::find(db, them, id).await.unwrap(), None);
    assert_eq!(reminders::detail(db, them, id).await.unwrap(), None);
    assert!(reminders::list(db, them, None).await.unwrap().is_empty());

    assert_eq!(reminders::find(db, w.me.id, id).await.unwrap(), Some(mine));
    assert_eq!(w.audit("reminder", id).await, ["reminder.created"]);
}
