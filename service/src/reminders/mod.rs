//! Reminders as the operator sees and changes them: validated input, the mutations (each one
//! write transaction that also audits, queues the worker's `reminder.changed` and tells open
//! dashboards), and the queries the dashboard, the Telegram bot and the worker read.
//!
//! A reminder's schedule is stored as its first occurrence (a UTC instant), its IANA time zone
//! and an RRULE body; [`schedule_of`] turns a row back into a [`Schedule`].

pub mod firing;
mod input;
mod read;
mod write;

use chrono::{DateTime, Utc};
use domain::{
    recurrence::{RuleError, Schedule, Spec},
    status::ReminderStatus,
    timezone::{TimeZone, UnknownTimeZone},
};
use entity::reminders;
use sea_orm::DbErr;

pub use input::{FieldError, FieldErrors, PartInput, ReminderInput};
pub use read::{
    Overview, OverviewPage, Part, ReminderDetail, RunHistory, Target, detail, find, list, overview,
    overview_of, overview_page, runs, upcoming,
};
pub use write::{create, delete, duplicate, pause, resume, update};

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
}

/// The schedule a stored reminder fires on: its zone, its first occurrence as wall time in that
/// zone, and its recurrence (`None` for a one-off).
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
    let start = reminder
        .start_local
        .unwrap_or_else(|| reminder.dtstart.with_timezone(&zone.tz()).naive_local());
    Ok(Schedule { start, zone, rule })
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
