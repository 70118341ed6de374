//! Reminders as the operator sees and changes them: validated input, the mutations (each one
//! write transaction that also audits, queues the worker's `reminder.changed` and tells open
//! dashboards), and the queries the dashboard, the Telegram bot and the worker read.
//!
//! A reminder's schedule is stored as its first occurrence (a UTC instant), its IANA time zone
//! and an RRULE body; [`schedule_of`] turns a row back into a [`Schedule`].

pub mod firing;
mod input;
mod occurrences;
pub(crate) mod read;
mod trash;
mod write;

use chrono::{DateTime, Utc};
use domain::{
    recurrence::{RuleError, Schedule, Spec, skip_dates},
    status::ReminderStatus,
    timezone::{TimeZone, UnknownTimeZone},
};
use entity::reminders;
use sea_orm::DbErr;

pub use input::{FieldError, FieldErrors, PartInput, ReminderInput};
pub use occurrences::{send_now, skip_next};
pub use read::{
    Overview, OverviewPage, Part, ReminderDetail, RunHistory, Target, detail, find, list, overview,
    overview_of, overview_page, runs, upcoming,
};
pub use trash::{RestoreError, UNDO_WITHIN, delete, held_for_undo, restore};
pub use write::{create, duplicate, pause, resume, update};

#[derive(Debug, thiserror::Error)]
pub enum ReminderError {
    /// The submission has problems; every one of them, by form field.
    #[error("the reminder has problems: {0}")]
    Invalid(FieldErrors),
    /// Missing, or another operator's: the two are never told apart.
    #[error("no such reminder")]
    NotFound,
    #[error("That time has already passed — edit the reminder to pick a new time")]
    TimePassed,
    #[error("This reminder has no occurrences left — edit the reminder to extend it")]
    NoOccurrenceLeft,
    #[error("Only an active reminder can be paused; this one is {0}")]
    NotActive(ReminderStatus),
    #[error("Only a paused reminder can be resumed; this one is {0}")]
    NotPaused(ReminderStatus),
    #[error("Only an active or ended reminder can be sent now; this one is {0}")]
    CannotSendNow(ReminderStatus),
    #[error("This reminder is being sent already: wait for that run to finish")]
    AlreadySending,
    #[error("Only an active reminder's next send can be skipped; this one is {0}")]
    CannotSkip(ReminderStatus),
    #[error("A one-off reminder sends only once: pause or delete it instead")]
    SkipOneOff,
    #[error("Its next send is due and may be going out now; it can no longer be skipped")]
    AlreadyDue,
    #[error("It has moved on since this page was loaded (it sent, or was edited): look again")]
    MovedOn,
    #[error("Its scheduled send is due and about to go out: send now once it has gone")]
    DueNow,
    #[error("This reminder skips too many dates already: edit it to remove some")]
    TooManySkipped,
    #[error(transparent)]
    Stored(#[from] StoredScheduleError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A stored reminder whose schedule no longer reads (written by another version, or by hand).
#[derive(Debug, thiserror::Error)]
pub enum StoredScheduleError {
    #[error("reminder {id}: {source}")]
    Zone { id: i64, source: UnknownTimeZone },
    #[error("reminder {id}: stored recurrence {rrule:?} does not read: {source}")]
    Rule {
        id: i64,
        rrule: String,
        source: RuleError,
    },
    #[error("reminder {id}: stored skipped dates {text:?} do not read: {source}")]
    SkipDates {
        id: i64,
        text: String,
        source: RuleError,
    },
}

/// The schedule a stored reminder fires on: its zone, its first occurrence as wall time in that
/// zone, its recurrence (`None` for a one-off) and the dates it skips.
pub fn schedule_of(reminder: &reminders::Model) -> Result<Schedule, StoredScheduleError> {
    let zone: TimeZone = reminder
        .timezone
        .parse()
        .map_err(|source| StoredScheduleError::Zone {
            id: reminder.id,
            source,
        })?;
    let rule = reminder
        .rrule
        .as_deref()
        .map(Spec::from_rrule)
        .transpose()
        .map_err(|source| StoredScheduleError::Rule {
            id: reminder.id,
            rrule: reminder.rrule.clone().unwrap_or_default(),
            source,
        })?;
    let skip = reminder
        .skip_dates
        .as_deref()
        .map(skip_dates::from_text)
        .transpose()
        .map_err(|source| StoredScheduleError::SkipDates {
            id: reminder.id,
            text: reminder.skip_dates.clone().unwrap_or_default(),
            source,
        })?
        .unwrap_or_default();
    let start = reminder
        .start_local
        .unwrap_or_else(|| reminder.dtstart.with_timezone(&zone.tz()).naive_local());
    Ok(Schedule {
        start,
        zone,
        rule,
        skip,
    })
}

/// When a paused reminder resumed at `now` fires first: what came due while it was paused is
/// not sent. `None` when it has nothing left.
pub fn resumes_at(
    reminder: &reminders::Model,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoredScheduleError> {
    Ok(next_due(
        &schedule_of(reminder)?,
        now,
        reminder.last_fired_at,
    ))
}

/// The occurrence to fire next: the first at or after `from`, but never one at or before the
/// last fire, so that an edit or a resume right after a send does not send it again.
fn next_due(
    schedule: &Schedule,
    from: DateTime<Utc>,
    last_fired_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match last_fired_at {
        Some(last) if last >= from => schedule.after(last),
        _ => schedule.next_from(from),
    }
}
