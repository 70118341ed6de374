//! The operator's changes to single occurrences: send a reminder now, outside its schedule, or
//! skip its next occurrence. Each is one write transaction, audited, that wakes the worker.
//!
//! "Send now" is an owed occurrence at this second (`reminder_owed_fires`): the worker records
//! and sends it as it does any owed one — once, by taking the row — so it needs no path of its
//! own. "Skip next" adds the occurrence's local date to the reminder's skipped dates, so an edit
//! later keeps the skip rather than bringing the occurrence back.

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use domain::{
    recurrence::{MAX_SKIPPED, skip_dates},
    status::{ReminderStatus, RunStatus},
};
use entity::{reminder_owed_fires as owed, reminder_runs as runs, reminders};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde_json::json;

use super::{
    ReminderError,
    input::skips_kept_from,
    schedule_of,
    write::{announce, owned},
};
use crate::{audit, database::begin_write};

/// Why an ended reminder ended when its last occurrence was skipped.
const LAST_SKIPPED: &str = "no occurrences left: the last one was skipped";

/// Queues one send of the reminder's message to its groups, now. An active or ended reminder
/// only: a paused one is paused on purpose, and a failed one cannot be read. Refused while a
/// run of it is still sending or a send now is waiting for the worker, so a second tap does not
/// send the message twice. Returns the occurrence queued.
pub async fn send_now(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ReminderError> {
    let txn = begin_write(db).await?;
    let reminder = owned(&txn, operator_id, reminder_id).await?;
    if !matches!(
        reminder.status,
        ReminderStatus::Active | ReminderStatus::Ended
    ) {
        return Err(ReminderError::CannotSendNow(reminder.status));
    }
    // Due and not yet fired (the worker is catching up): it goes out anyway, so a send now
    // would reach every group twice within minutes.
    if reminder.status == ReminderStatus::Active
        && reminder.next_fire_at.is_some_and(|due| due <= now)
    {
        return Err(ReminderError::DueNow);
    }
    let waiting = owed::Entity::find()
        .filter(owed::Column::ReminderId.eq(reminder_id))
        .filter(owed::Column::Reason.is_null())
        .count(&txn)
        .await?;
    let sending = runs::Entity::find()
        .filter(runs::Column::ReminderId.eq(reminder_id))
        .filter(runs::Column::Status.is_in([RunStatus::Pending, RunStatus::Running]))
        .count(&txn)
        .await?;
    if waiting + sending > 0 {
        return Err(ReminderError::AlreadySending);
    }
    // Whole seconds: the instant is the occurrence's key, stored alike by every database. A
    // run of this second already (one that finished at once) moves it on by a second, so the
    // send is not taken for that run.
    let mut at = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
    let last_run = runs::Entity::find()
        .filter(runs::Column::ReminderId.eq(reminder_id))
        .filter(runs::Column::OccurrenceAt.gte(at))
        .order_by_desc(runs::Column::OccurrenceAt)
        .one(&txn)
        .await?;
    let last_owed = owed::Entity::find()
        .filter(owed::Column::ReminderId.eq(reminder_id))
        .filter(owed::Column::OccurrenceAt.gte(at))
        .order_by_desc(owed::Column::OccurrenceAt)
        .one(&txn)
        .await?;
    let taken = [
        last_run.map(|r| r.occurrence_at),
        last_owed.map(|o| o.occurrence_at),
    ];
    if let Some(latest) = taken.into_iter().flatten().max() {
        at = latest + TimeDelta::seconds(1);
    }
    owed::Entity::insert(owed::ActiveModel {
        reminder_id: Set(reminder_id),
        occurrence_at: Set(at),
        reason: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await?;
    announce(
        &txn,
        actor,
        "reminder.sent_now",
        &reminder,
        json!({ "name": reminder.name, "occurrence": at }),
    )
    .await?;
    txn.commit().await?;
    Ok(at)
}

/// Skips an active recurring reminder's next occurrence: its local date joins the skipped
/// dates and the reminder moves on to the occurrence after it (or ends, if there is none).
/// `expected` is the occurrence the operator saw as next: refused if it is not the next one any
/// more, or once it is due (the worker may be sending it). Returns the reminder and the date
/// skipped.
pub async fn skip_next(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    expected: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(reminders::Model, NaiveDate), ReminderError> {
    let txn = begin_write(db).await?;
    let current = owned(&txn, operator_id, reminder_id).await?;
    if current.status != ReminderStatus::Active {
        return Err(ReminderError::CannotSkip(current.status));
    }
    let schedule = schedule_of(&current)?;
    if schedule.rule.is_none() {
        return Err(ReminderError::SkipOneOff);
    }
    let Some(next) = current.next_fire_at else {
        return Err(ReminderError::NoOccurrenceLeft);
    };
    if next <= now {
        return Err(ReminderError::AlreadyDue);
    }
    // The operator chose to skip the occurrence they saw; if the reminder has moved on since
    // (it fired, or was edited), that is not the one to skip.
    // To the second: the page carries it as whole seconds.
    if next.timestamp() != expected.timestamp() {
        return Err(ReminderError::MovedOn);
    }
    let date = schedule.date_of(next).ok_or(ReminderError::MovedOn)?;
    let kept_from = skips_kept_from(&schedule, now);
    let mut schedule = schedule.skipping(date);
    schedule.skip.retain(|d| *d >= kept_from);
    if schedule.skip.len() > MAX_SKIPPED {
        return Err(ReminderError::TooManySkipped);
    }
    let following = schedule.after(next);
    let (status, reason) = match following {
        Some(_) => (ReminderStatus::Active, None),
        None => (ReminderStatus::Ended, Some(LAST_SKIPPED)),
    };
    // The row is locked (`owned`), and the UPDATE is conditional on the occurrence skipped too.
    let moved = reminders::Entity::update_many()
        .col_expr(
            reminders::Column::SkipDates,
            Expr::value(skip_dates::to_text(&schedule.skip)),
        )
        .col_expr(reminders::Column::NextFireAt, Expr::value(following))
        .col_expr(reminders::Column::Status, Expr::value(status))
        .col_expr(reminders::Column::StatusReason, Expr::value(reason))
        .col_expr(reminders::Column::UpdatedAt, Expr::value(now))
        .filter(reminders::Column::Id.eq(reminder_id))
        .filter(reminders::Column::Status.eq(ReminderStatus::Active))
        .filter(reminders::Column::NextFireAt.eq(next))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(ReminderError::AlreadyDue);
    }
    let reminder = owned(&txn, operator_id, reminder_id).await?;
    announce(
        &txn,
        actor,
        "reminder.skipped",
        &reminder,
        json!({ "name": reminder.name, "date": date, "occurrence": next }),
    )
    .await?;
    txn.commit().await?;
    Ok((reminder, date))
}
