//! What delivery writes to a reminder. The worker's fire moves a reminder on to its next
//! occurrence (the claim: of two workers only one moves it), takes each owed occurrence once and
//! records that it fired; delivery stops a reminder whose schedule cannot go on, or pauses one
//! whose run its send window paused.
//! These live here, beside the operator's changes, so `reminders` and `reminder_owed_fires`
//! each have one writer.

use chrono::{DateTime, Utc};
use domain::{bus::Event, status::ReminderStatus};
use entity::{reminder_owed_fires as owed, reminders};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, Set, sea_query::Expr,
};

use crate::bus::events;

/// Moves an active reminder whose next occurrence is `occurrence` on to `next` (ended when
/// there is none), with `last` as its last fired occurrence. A conditional UPDATE: `false` when
/// the reminder was edited, paused or fired by another process meanwhile, and nothing changed.
pub async fn move_on(
    conn: &impl ConnectionTrait,
    reminder_id: i64,
    occurrence: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let (status, reason) = match next {
        Some(_) => (ReminderStatus::Active, None),
        None => (
            ReminderStatus::Ended,
            Some("no occurrences left".to_owned()),
        ),
    };
    let moved = reminders::Entity::update_many()
        .col_expr(reminders::Column::NextFireAt, Expr::value(next))
        .col_expr(reminders::Column::LastFiredAt, Expr::value(last))
        .col_expr(reminders::Column::Status, Expr::value(status))
        .col_expr(reminders::Column::StatusReason, Expr::value(reason))
        .col_expr(reminders::Column::UpdatedAt, Expr::value(now))
        .filter(reminders::Column::Id.eq(reminder_id))
        .filter(reminders::Column::Status.eq(ReminderStatus::Active))
        .filter(reminders::Column::NextFireAt.eq(occurrence))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Takes the owed `occurrence` of `reminder_id`: deleting the row is the claim, so of two
/// processes only one gets it. `None` when there is none (left) to take.
pub async fn take_owed(
    conn: &impl ConnectionTrait,
    reminder_id: i64,
    occurrence: DateTime<Utc>,
) -> Result<Option<owed::Model>, DbErr> {
    let Some(row) = owed::Entity::find()
        .filter(owed::Column::ReminderId.eq(reminder_id))
        .filter(owed::Column::OccurrenceAt.eq(occurrence))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let taken = owed::Entity::delete_by_id(row.id).exec(conn).await?;
    Ok((taken.rows_affected == 1).then_some(row))
}

/// Records that `occurrence` of the reminder's schedule was fired (or recorded) late, unless a
/// later one already was. A send outside the schedule ("Send now") is none of its occurrences
/// and records nothing: `last_fired_at` is the schedule's own last fire, which an edit or a
/// resume re-arms from, so a send now minutes before an occurrence does not push it out.
pub async fn fired_late(
    conn: &impl ConnectionTrait,
    reminder: &reminders::Model,
    occurrence: DateTime<Utc>,
) -> Result<(), DbErr> {
    let scheduled =
        super::schedule_of(reminder).is_ok_and(|schedule| schedule.date_of(occurrence).is_some());
    if scheduled && reminder.last_fired_at.is_none_or(|last| last < occurrence) {
        reminders::Entity::update_many()
            .col_expr(reminders::Column::LastFiredAt, Expr::value(occurrence))
            .filter(reminders::Column::Id.eq(reminder.id))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Ends or fails a reminder with a reason the operator can read, and tells open dashboards.
pub async fn stop(
    txn: &DatabaseTransaction,
    reminder: &reminders::Model,
    status: ReminderStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut row: reminders::ActiveModel = reminder.clone().into();
    row.status = Set(status);
    row.status_reason = Set(Some(reason.to_owned()));
    row.updated_at = Set(now);
    row.update(txn).await?;
    events::publish_in(
        txn,
        Some(reminder.operator_id),
        &Event::ReminderChanged {
            account_id: reminder.account_id,
            reminder_id: reminder.id,
        },
    )
    .await?;
    Ok(())
}
