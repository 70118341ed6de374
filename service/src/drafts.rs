//! Reminder drafts: the dashboard wizard's state between its steps, kept on the server so a
//! refresh, the Back button, a killed phone browser or another device carries on where the
//! operator was. The content is the web app's own JSON; here it is stored, never read.
//!
//! A new reminder's draft is deleted when the reminder is created; an edit's draft (at most
//! one per reminder) when the edit is saved or discarded, or with its reminder. Drafts nobody
//! touched for [`ABANDONED_AFTER`] are pruned whenever a new one starts.

use chrono::{DateTime, Duration, Utc};
use entity::{reminder_drafts as drafts, reminders};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use crate::database::begin_write;

/// How long an untouched draft is kept.
pub const ABANDONED_AFTER: Duration = Duration::days(30);

/// Starts a draft for a new reminder.
pub async fn create(
    db: &DatabaseConnection,
    operator_id: i64,
    data: String,
    now: DateTime<Utc>,
) -> Result<drafts::Model, DbErr> {
    drafts::Entity::delete_many()
        .filter(drafts::Column::UpdatedAt.lt(now - ABANDONED_AFTER))
        .exec(db)
        .await?;
    insert(db, operator_id, None, data, now).await
}

/// One of the operator's drafts; `None` for another operator's or a missing one.
pub async fn find(
    db: &impl ConnectionTrait,
    operator_id: i64,
    draft_id: i64,
) -> Result<Option<drafts::Model>, DbErr> {
    drafts::Entity::find_by_id(draft_id)
        .filter(drafts::Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

/// The draft editing one of the operator's reminders, started from `initial()` when there is
/// none yet (unsaved changes carry on). `None` when the reminder is not the operator's.
pub async fn open_for_reminder(
    db: &DatabaseConnection,
    operator_id: i64,
    reminder_id: i64,
    initial: impl FnOnce() -> String,
    now: DateTime<Utc>,
) -> Result<Option<drafts::Model>, DbErr> {
    let txn = begin_write(db).await?;
    let owned = reminders::Entity::find_by_id(reminder_id)
        .filter(reminders::Column::OperatorId.eq(operator_id))
        .one(&txn)
        .await?;
    if owned.is_none() {
        return Ok(None);
    }
    let existing = drafts::Entity::find()
        .filter(drafts::Column::ReminderId.eq(reminder_id))
        .one(&txn)
        .await?;
    let draft = match existing {
        Some(draft) => draft,
        None => insert(&txn, operator_id, Some(reminder_id), initial(), now).await?,
    };
    txn.commit().await?;
    Ok(Some(draft))
}

/// The operator's drafts, the most recently touched first.
pub async fn list(
    db: &impl ConnectionTrait,
    operator_id: i64,
) -> Result<Vec<drafts::Model>, DbErr> {
    drafts::Entity::find()
        .filter(drafts::Column::OperatorId.eq(operator_id))
        .order_by_desc(drafts::Column::UpdatedAt)
        .order_by_desc(drafts::Column::Id)
        .all(db)
        .await
}

/// Undo of a discard: a draft with `data` again, a new reminder's or (when it is still the
/// operator's) the edit of `reminder_id`, whose draft it replaces if another was opened since.
pub async fn restore(
    db: &DatabaseConnection,
    operator_id: i64,
    reminder_id: Option<i64>,
    data: String,
    now: DateTime<Utc>,
) -> Result<Option<drafts::Model>, DbErr> {
    let Some(reminder_id) = reminder_id else {
        return insert(db, operator_id, None, data, now).await.map(Some);
    };
    let Some(draft) = open_for_reminder(db, operator_id, reminder_id, || data.clone(), now).await?
    else {
        return Ok(None);
    };
    save(db, operator_id, draft.id, data.clone(), now).await?;
    Ok(Some(drafts::Model {
        data,
        updated_at: now,
        ..draft
    }))
}

/// Whether unsaved changes to a reminder wait in a draft.
pub async fn has_draft_for(db: &impl ConnectionTrait, reminder_id: i64) -> Result<bool, DbErr> {
    Ok(drafts::Entity::find()
        .filter(drafts::Column::ReminderId.eq(reminder_id))
        .one(db)
        .await?
        .is_some())
}

/// Replaces a draft's content. `false` when it is not the operator's (or gone).
pub async fn save(
    db: &impl ConnectionTrait,
    operator_id: i64,
    draft_id: i64,
    data: String,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(draft) = find(db, operator_id, draft_id).await? else {
        return Ok(false);
    };
    let mut row = draft.into_active_model();
    row.data = Set(data);
    row.updated_at = Set(now);
    row.update(db).await?;
    Ok(true)
}

/// Drops a draft. `false` when it is not the operator's (or already gone).
pub async fn discard(
    db: &impl ConnectionTrait,
    operator_id: i64,
    draft_id: i64,
) -> Result<bool, DbErr> {
    let deleted = drafts::Entity::delete_many()
        .filter(drafts::Column::Id.eq(draft_id))
        .filter(drafts::Column::OperatorId.eq(operator_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

async fn insert(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminder_id: Option<i64>,
    data: String,
    now: DateTime<Utc>,
) -> Result<drafts::Model, DbErr> {
    drafts::ActiveModel {
        operator_id: Set(operator_id),
        reminder_id: Set(reminder_id),
        data: Set(data),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}
