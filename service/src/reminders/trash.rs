//! Deleting a reminder, and Undo. A delete keeps a snapshot of the reminder's rows (schedule,
//! message, groups, owed occurrences) and of which runs were its own, for [`UNDO_WITHIN`];
//! [`restore`] puts every row back under its own id, as it was, and gives its runs back to it.
//!
//! Put back as it was means with its `next_fire_at` as it was: an occurrence that came due while
//! it was deleted is then due, and the worker fires it late or records it missed, exactly as
//! after a worker restart — never silently, never twice.

use chrono::{DateTime, Duration, Utc};
use entity::{
    media_files, reminder_messages as messages, reminder_owed_fires as owed, reminder_runs as runs,
    reminder_targets as targets, reminder_trash as trash, reminders, whatsapp_accounts,
    whatsapp_groups as groups,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    ReminderError,
    write::{announce, owned},
};
use crate::{audit, database::begin_write};

/// How long a deleted reminder can be put back.
pub const UNDO_WITHIN: Duration = Duration::minutes(10);

/// The rows a delete removes (or detaches), as they were.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    reminder: reminders::Model,
    messages: Vec<messages::Model>,
    targets: Vec<targets::Model>,
    owed: Vec<owed::Model>,
    /// Its runs, whose `reminder_id` the delete sets to NULL.
    runs: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "There is nothing to undo: it was deleted more than 10 minutes ago, or is back already"
    )]
    NotFound,
    #[error("It cannot come back: its WhatsApp account was removed since")]
    AccountGone,
    #[error("It cannot come back: a file its message sends was removed since")]
    MediaGone,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Deletes a reminder with its groups and message. Its runs stay as history (their
/// `reminder_id` becomes NULL; each keeps the name it ran under). It can be put back for
/// [`UNDO_WITHIN`] ([`restore`]). Returns the deleted row.
pub async fn delete(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let reminder = owned(&txn, operator_id, reminder_id).await?;
    keep(&txn, &reminder, now).await?;
    reminders::Entity::delete_by_id(reminder.id)
        .exec(&txn)
        .await?;
    announce(
        &txn,
        actor,
        "reminder.deleted",
        &reminder,
        json!({ "name": reminder.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}

/// Keeps `reminder`'s rows for Undo; called by the delete, in its transaction, before the rows
/// go. Snapshots too old to undo are dropped on the way.
async fn keep(
    txn: &DatabaseTransaction,
    reminder: &reminders::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    trash::Entity::delete_many()
        .filter(trash::Column::DeletedAt.lt(now - UNDO_WITHIN))
        .exec(txn)
        .await?;
    let id = reminder.id;
    let snapshot = Snapshot {
        reminder: reminder.clone(),
        messages: messages::Entity::find()
            .filter(messages::Column::ReminderId.eq(id))
            .all(txn)
            .await?,
        targets: targets::Entity::find()
            .filter(targets::Column::ReminderId.eq(id))
            .all(txn)
            .await?,
        owed: owed::Entity::find()
            .filter(owed::Column::ReminderId.eq(id))
            .all(txn)
            .await?,
        runs: runs::Entity::find()
            .select_only()
            .column(runs::Column::Id)
            .filter(runs::Column::ReminderId.eq(id))
            .into_tuple()
            .all(txn)
            .await?,
    };
    let snapshot = serde_json::to_string(&snapshot).map_err(|e| DbErr::Custom(e.to_string()))?;
    trash::Entity::insert(trash::ActiveModel {
        operator_id: Set(reminder.operator_id),
        reminder_id: Set(id),
        snapshot: Set(snapshot),
        deleted_at: Set(now),
        ..Default::default()
    })
    // Ids are never reused, so a row for this id is an earlier life of it: replace it.
    .on_conflict(
        OnConflict::column(trash::Column::ReminderId)
            .update_columns([trash::Column::Snapshot, trash::Column::DeletedAt])
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Until when a run of a deleted reminder waits for Undo, instead of closing its groups: the
/// end of the window its reminder can still be put back in. `None` once it cannot (or the run
/// was never one of a deleted reminder's).
pub async fn held_for_undo(
    db: &impl ConnectionTrait,
    operator_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    // Only the operator's deletes of the last few minutes: a handful of rows at most.
    let recent = trash::Entity::find()
        .filter(trash::Column::OperatorId.eq(operator_id))
        .filter(trash::Column::DeletedAt.gte(now - UNDO_WITHIN))
        .all(db)
        .await?;
    for kept in recent {
        let snapshot: Snapshot =
            serde_json::from_str(&kept.snapshot).map_err(|e| DbErr::Custom(e.to_string()))?;
        if snapshot.runs.contains(&run_id) {
            return Ok(Some(kept.deleted_at + UNDO_WITHIN));
        }
    }
    Ok(None)
}

/// Puts a reminder the operator deleted within [`UNDO_WITHIN`] back, under its own id: its
/// rows as they were, its groups that still exist, and its runs.
pub async fn restore(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    now: DateTime<Utc>,
) -> Result<reminders::Model, RestoreError> {
    let txn = begin_write(db).await?;
    // Deleting the snapshot is the claim: two Undos cannot both put it back.
    let kept = trash::Entity::find()
        .filter(trash::Column::ReminderId.eq(reminder_id))
        .filter(trash::Column::OperatorId.eq(operator_id))
        .filter(trash::Column::DeletedAt.gte(now - UNDO_WITHIN))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(RestoreError::NotFound)?;
    let taken = trash::Entity::delete_by_id(kept.id).exec(&txn).await?;
    if taken.rows_affected != 1 {
        return Err(RestoreError::NotFound);
    }
    let snapshot: Snapshot =
        serde_json::from_str(&kept.snapshot).map_err(|e| DbErr::Custom(e.to_string()))?;
    let account = whatsapp_accounts::Entity::find_by_id(snapshot.reminder.account_id)
        .one(&txn)
        .await?;
    if account.is_none() {
        return Err(RestoreError::AccountGone);
    }
    let media: Vec<i64> = snapshot
        .messages
        .iter()
        .filter_map(|m| m.media_file_id)
        .collect();
    let media_kept = media_files::Entity::find()
        .filter(media_files::Column::Id.is_in(media.clone()))
        .count(&txn)
        .await?;
    let distinct = media
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if media_kept != distinct as u64 {
        return Err(RestoreError::MediaGone);
    }

    let mut row = snapshot.reminder.clone().into_active_model().reset_all();
    row.updated_at = Set(now);
    let reminder = row.insert(&txn).await?;
    if !snapshot.messages.is_empty() {
        messages::Entity::insert_many(
            snapshot
                .messages
                .into_iter()
                .map(|m| m.into_active_model().reset_all()),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    // A group removed since is left out, as a group that leaves is left out of a live reminder.
    let group_ids: Vec<i64> = snapshot.targets.iter().map(|t| t.group_id).collect();
    let existing: Vec<i64> = groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::Id.is_in(group_ids))
        .into_tuple()
        .all(&txn)
        .await?;
    let kept_targets: Vec<_> = snapshot
        .targets
        .into_iter()
        .filter(|t| existing.contains(&t.group_id))
        .map(|t| t.into_active_model().reset_all())
        .collect();
    if !kept_targets.is_empty() {
        targets::Entity::insert_many(kept_targets)
            .exec_without_returning(&txn)
            .await?;
    }
    if !snapshot.owed.is_empty() {
        owed::Entity::insert_many(
            snapshot
                .owed
                .into_iter()
                .map(|o| o.into_active_model().reset_all()),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    if !snapshot.runs.is_empty() {
        runs::Entity::update_many()
            .col_expr(runs::Column::ReminderId, Expr::value(reminder.id))
            .filter(runs::Column::Id.is_in(snapshot.runs))
            .filter(runs::Column::ReminderId.is_null())
            .exec(&txn)
            .await?;
    }
    announce(
        &txn,
        actor,
        "reminder.restored",
        &reminder,
        json!({ "name": reminder.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}
