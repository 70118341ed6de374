//! Changes to reminders. Each is one write transaction that also records its audit row, queues
//! `reminder.changed` for the worker (which wakes its due loop to read the reminder's new
//! `next_fire_at`) and publishes the same to the operator's open dashboards: the change, its record and its
//! consequences commit together or not at all.

use chrono::{DateTime, Utc};
use domain::{
    bus::{Command, Event},
    recurrence::skip_dates,
    status::ReminderStatus,
};
use entity::{
    reminder_messages as messages, reminder_owed_fires as owed, reminder_targets as targets,
    reminders,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use super::{
    ReminderError,
    input::{self, NAME_MAX, ReminderInput, Valid},
    resumes_at, schedule_of,
};
use crate::{
    audit,
    bus::{commands, events},
    database::begin_write,
};

/// Saves a new reminder, active, armed for its first occurrence from `now`.
pub async fn create(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    input: &ReminderInput,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let valid = input::validate(&txn, operator_id, input, now, None).await?;
    let mut row = reminders::ActiveModel {
        operator_id: Set(operator_id),
        status: Set(ReminderStatus::Active),
        status_reason: Set(None),
        last_fired_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    set_validated(&mut row, &valid, now);
    let reminder = row.insert(&txn).await?;
    store_content(&txn, reminder.id, &valid).await?;
    announce(
        &txn,
        actor,
        "reminder.created",
        &reminder,
        json!({ "name": reminder.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}

/// Replaces a reminder's schedule, message and groups, and re-arms it from `now`. An ended or
/// failed reminder runs again (its new schedule has a future occurrence, or it would not pass);
/// a paused one stays paused until its operator resumes it. Its runs are history and stay.
pub async fn update(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    input: &ReminderInput,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let current = owned(&txn, operator_id, reminder_id).await?;
    let merged;
    let input = match &input.skip_base {
        Some(base) => {
            let stored = schedule_of(&current).map(|s| s.skip).unwrap_or_default();
            merged = ReminderInput {
                skip_dates: input::merge_skips(&stored, base, &input.skip_dates),
                skip_base: None,
                ..input.clone()
            };
            &merged
        }
        None => input,
    };
    let valid = input::validate(&txn, operator_id, input, now, current.last_fired_at).await?;
    let (status, reason) = match current.status {
        ReminderStatus::Paused => (ReminderStatus::Paused, current.status_reason.clone()),
        _ => (ReminderStatus::Active, None),
    };
    // A due occurrence the new schedule still has fires late; one it no longer has (a new
    // time, a skipped date) is replaced.
    let rescheduled = current
        .next_fire_at
        .is_none_or(|due| valid.schedule.date_of(due).is_none());
    let owed = Owed {
        next: Some(valid.next_fire_at),
        not_sent: rescheduled.then_some(RESCHEDULED_WHEN_DUE),
    };
    owe_due_occurrence(&txn, &current, owed, now).await?;
    let mut row = current.into_active_model();
    row.status = Set(status);
    row.status_reason = Set(reason);
    set_validated(&mut row, &valid, now);
    let reminder = row.update(&txn).await?;
    targets::Entity::delete_many()
        .filter(targets::Column::ReminderId.eq(reminder.id))
        .exec(&txn)
        .await?;
    messages::Entity::delete_many()
        .filter(messages::Column::ReminderId.eq(reminder.id))
        .exec(&txn)
        .await?;
    store_content(&txn, reminder.id, &valid).await?;
    announce(
        &txn,
        actor,
        "reminder.updated",
        &reminder,
        json!({ "name": reminder.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}

const PAUSED_WHEN_DUE: &str =
    "not sent: the reminder was paused after this occurrence came due, before it could fire";
const RESCHEDULED_WHEN_DUE: &str =
    "not sent: the reminder was rescheduled after this occurrence came due, before it could fire";

/// What a change does to an occurrence that came due and has not fired.
struct Owed {
    /// When the changed reminder fires next: an occurrence it keeps is not owed.
    next: Option<DateTime<Utc>>,
    /// Why it is recorded as not sent (a pause, a new schedule), or `None`: it fires late.
    not_sent: Option<&'static str>,
}

/// A change to an active reminder whose occurrence has come due but not fired yet (the worker
/// is down or about to fire it) moves the reminder on; the occurrence is recorded as owed, so
/// the worker still fires it late or records why not, with an alert — it is never erased. What
/// becomes of it is the change's decision, taken now, whatever follows.
async fn owe_due_occurrence(
    txn: &DatabaseTransaction,
    current: &reminders::Model,
    owed: Owed,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(due) = current.next_fire_at else {
        return Ok(());
    };
    if current.status != ReminderStatus::Active || due > now || owed.next == Some(due) {
        return Ok(());
    }
    owed::Entity::insert(owed::ActiveModel {
        reminder_id: Set(current.id),
        occurrence_at: Set(due),
        reason: Set(owed.not_sent.map(str::to_owned)),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([owed::Column::ReminderId, owed::Column::OccurrenceAt])
    .exec(txn)
    .await?;
    Ok(())
}

/// What a create and an update both store from a validated submission.
fn set_validated(row: &mut reminders::ActiveModel, valid: &Valid, now: DateTime<Utc>) {
    row.account_id = Set(valid.account_id);
    row.name = Set(valid.name.clone());
    row.timezone = Set(valid.schedule.zone.name().to_owned());
    row.dtstart = Set(valid.first);
    row.start_local = Set(Some(valid.schedule.start));
    row.rrule = Set(valid.rrule());
    row.skip_dates = Set(skip_dates::to_text(&valid.schedule.skip));
    row.send_window_end_hour = Set(valid.window_end_hour);
    row.next_fire_at = Set(Some(valid.next_fire_at));
    row.updated_at = Set(now);
}

/// Stops an active reminder from firing; its next occurrence stays on show. Pausing a paused
/// reminder changes nothing.
pub async fn pause(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let current = owned(&txn, operator_id, reminder_id).await?;
    match current.status {
        ReminderStatus::Active => {}
        ReminderStatus::Paused => return Ok(current),
        other => return Err(ReminderError::NotActive(other)),
    }
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let owed = Owed {
        next: None,
        not_sent: Some(PAUSED_WHEN_DUE),
    };
    owe_due_occurrence(&txn, &current, owed, now).await?;
    let mut row = current.into_active_model();
    row.status = Set(ReminderStatus::Paused);
    row.status_reason = Set(reason.clone());
    row.updated_at = Set(now);
    let reminder = row.update(&txn).await?;
    announce(
        &txn,
        actor,
        "reminder.paused",
        &reminder,
        json!({ "reason": reason }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}

/// Re-activates a paused reminder from its next occurrence after `now`: what came due while it
/// was paused is not sent. Resuming an active reminder changes nothing.
pub async fn resume(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let current = owned(&txn, operator_id, reminder_id).await?;
    match current.status {
        ReminderStatus::Paused => {}
        ReminderStatus::Active => return Ok(current),
        other => return Err(ReminderError::NotPaused(other)),
    }
    let Some(next) = resumes_at(&current, now)? else {
        return Err(match current.rrule {
            None => ReminderError::TimePassed,
            Some(_) => ReminderError::NoOccurrenceLeft,
        });
    };
    let mut row = current.into_active_model();
    row.status = Set(ReminderStatus::Active);
    row.status_reason = Set(None);
    row.next_fire_at = Set(Some(next));
    row.updated_at = Set(now);
    let reminder = row.update(&txn).await?;
    announce(
        &txn,
        actor,
        "reminder.resumed",
        &reminder,
        json!({ "next_fire_at": next }),
    )
    .await?;
    txn.commit().await?;
    Ok(reminder)
}

/// Copies a reminder — schedule, message and groups — as "<name> (copy)". The copy starts
/// paused, so nothing is sent twice before the operator has looked at it.
pub async fn duplicate(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    reminder_id: i64,
    now: DateTime<Utc>,
) -> Result<reminders::Model, ReminderError> {
    let txn = begin_write(db).await?;
    let source = owned(&txn, operator_id, reminder_id).await?;
    let next = schedule_of(&source)?.next_from(now);
    let copy = reminders::ActiveModel {
        operator_id: Set(operator_id),
        account_id: Set(source.account_id),
        name: Set(copy_name(&source.name)),
        timezone: Set(source.timezone.clone()),
        status: Set(ReminderStatus::Paused),
        dtstart: Set(source.dtstart),
        start_local: Set(source.start_local),
        rrule: Set(source.rrule.clone()),
        skip_dates: Set(source.skip_dates.clone()),
        send_window_end_hour: Set(source.send_window_end_hour),
        next_fire_at: Set(next),
        status_reason: Set(Some("A copy: check it, then resume it".to_owned())),
        last_fired_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let source_targets = targets::Entity::find()
        .filter(targets::Column::ReminderId.eq(source.id))
        .order_by_asc(targets::Column::Position)
        .all(&txn)
        .await?;
    targets::Entity::insert_many(source_targets.into_iter().map(|t| targets::ActiveModel {
        reminder_id: Set(copy.id),
        group_id: Set(t.group_id),
        position: Set(t.position),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    let source_parts = messages::Entity::find()
        .filter(messages::Column::ReminderId.eq(source.id))
        .order_by_asc(messages::Column::Position)
        .all(&txn)
        .await?;
    messages::Entity::insert_many(source_parts.into_iter().map(|m| messages::ActiveModel {
        reminder_id: Set(copy.id),
        position: Set(m.position),
        kind: Set(m.kind),
        body: Set(m.body),
        media_file_id: Set(m.media_file_id),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    announce(
        &txn,
        actor,
        "reminder.duplicated",
        &copy,
        json!({ "from": source.id }),
    )
    .await?;
    txn.commit().await?;
    Ok(copy)
}

/// "<name> (copy)", shortening the name so the whole still fits.
fn copy_name(name: &str) -> String {
    const SUFFIX: &str = " (copy)";
    let base: String = name.chars().take(NAME_MAX - SUFFIX.len()).collect();
    format!("{}{SUFFIX}", base.trim_end())
}

/// The operator's reminder, locked against concurrent changes (the worker's fires) until the
/// transaction ends.
pub(super) async fn owned(
    txn: &DatabaseTransaction,
    operator_id: i64,
    reminder_id: i64,
) -> Result<reminders::Model, ReminderError> {
    reminders::Entity::find_by_id(reminder_id)
        .filter(reminders::Column::OperatorId.eq(operator_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ReminderError::NotFound)
}

/// Inserts the validated groups and message parts, in order.
async fn store_content(
    txn: &DatabaseTransaction,
    reminder_id: i64,
    valid: &Valid,
) -> Result<(), DbErr> {
    targets::Entity::insert_many(
        valid
            .group_ids
            .iter()
            .zip(0..)
            .map(|(&group_id, position)| targets::ActiveModel {
                reminder_id: Set(reminder_id),
                group_id: Set(group_id),
                position: Set(position),
                ..Default::default()
            }),
    )
    .exec_without_returning(txn)
    .await?;
    messages::Entity::insert_many(valid.parts.iter().zip(0..).map(|(part, position)| {
        messages::ActiveModel {
            reminder_id: Set(reminder_id),
            position: Set(position),
            kind: Set(part.kind),
            body: Set(part.body.clone()),
            media_file_id: Set(part.media_file_id),
            ..Default::default()
        }
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The audit row, the worker's command and the dashboards' event for one change.
pub(super) async fn announce(
    txn: &DatabaseTransaction,
    actor: audit::Actor,
    action: &'static str,
    reminder: &reminders::Model,
    detail: Value,
) -> Result<(), DbErr> {
    audit::record(
        txn,
        audit::Entry::new(actor, action)
            .operator(reminder.operator_id)
            .target("reminder", reminder.id)
            .detail(detail),
    )
    .await?;
    let (account_id, reminder_id) = (reminder.account_id, reminder.id);
    commands::enqueue(
        txn,
        &Command::ReminderChanged {
            account_id,
            reminder_id,
        },
    )
    .await?;
    events::publish_in(
        txn,
        Some(reminder.operator_id),
        &Event::ReminderChanged {
            account_id,
            reminder_id,
        },
    )
    .await?;
    Ok(())
}
