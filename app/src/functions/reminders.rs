//! The operator's reminders and their runs: list, page, pause, resume, send now, skip the next
//! occurrence, duplicate, delete, and resume, cancel or retry a run. Each touches only the
//! caller's own; an id that is missing or another operator's answers "No such reminder." (or
//! run) either way.

use leptos::prelude::*;

use super::AppError;
use crate::wire::reminders::{ReminderList, ReminderPage, RunPage};

/// How many reminders one page of the list shows: enough to scroll through on a phone, few
/// enough that an operator with hundreds does not download them all to see the newest.
#[cfg(feature = "ssr")]
const REMINDERS_PER_PAGE: u64 = 50;
/// How many runs a reminder's page shows.
#[cfg(feature = "ssr")]
const RUNS_SHOWN: u64 = 20;
/// How many upcoming fires a reminder's page lists.
#[cfg(feature = "ssr")]
const UPCOMING_SHOWN: usize = 5;

/// One page of the caller's reminders, newest first; `status` (`active`, `paused`, `ended`,
/// `failed`) narrows them. A page past the last reads as the last.
#[server(endpoint = "list_reminders")]
pub async fn list_reminders(
    status: Option<String>,
    page: Option<u64>,
) -> Result<ReminderList, AppError> {
    use domain::status::ReminderStatus;

    let (state, me) = super::caller::context().await?;
    let status =
        match status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(text.parse::<ReminderStatus>().map_err(|_| {
                super::caller::refuse(format!("“{text}” is not a reminder status."))
            })?),
        };
    let listed = service::reminders::overview_page(
        &state.db,
        me.id,
        status,
        page.unwrap_or(1),
        REMINDERS_PER_PAGE,
    )
    .await?;
    Ok(ReminderList {
        rows: listed.rows.into_iter().map(ssr::row).collect(),
        page: listed.page,
        pages: listed.pages,
        total: listed.total,
    })
}

// `name`: the default struct name would be the DTO's.
#[server(name = LoadReminderPage, endpoint = "reminder_page")]
pub async fn reminder_page(id: i64) -> Result<ReminderPage, AppError> {
    use crate::wire::reminders::{FireTime, PartView, TargetGroup};

    let (state, me) = super::caller::context().await?;
    let db = &state.db;
    // Read first: every event up to it is reflected below; the live stream starts after it.
    let event_id = service::bus::events::latest_id(db).await?;
    let detail = service::reminders::detail(db, me.id, id)
        .await?
        .ok_or_else(ssr::no_such_reminder)?;
    let overview = service::reminders::overview_of(db, me.id, detail.reminder.clone()).await?;
    let runs = service::reminders::runs(db, me.id, id, RUNS_SHOWN).await?;
    let has_draft = service::drafts::has_draft_for(db, id).await?;
    let reminder = &detail.reminder;
    let zone = ssr::zone_of(reminder);
    let yours = Some(super::operator::ssr::operator_zone(&state, &me).await?);
    let upcoming = match (reminder.status, reminder.next_fire_at) {
        (domain::status::ReminderStatus::Active, Some(next)) => {
            match service::reminders::schedule_of(reminder) {
                Ok(schedule) => schedule
                    .occurrences_from(next, UPCOMING_SHOWN)
                    .into_iter()
                    .map(|at| FireTime::new(at, zone, yours))
                    .collect(),
                Err(_) => vec![FireTime::new(next, zone, yours)],
            }
        }
        _ => Vec::new(),
    };
    let skipped = service::reminders::schedule_of(reminder)
        .map(|schedule| {
            schedule
                .skip
                .iter()
                .map(|date| date.format("%a %-d %b %Y").to_string())
                .collect()
        })
        .unwrap_or_default();
    let resume_note = (reminder.status == domain::status::ReminderStatus::Paused).then(|| {
        match service::reminders::resumes_at(reminder, chrono::Utc::now()) {
            Ok(Some(at)) => format!(
                "Paused. Resumed now, it sends next on {}; what came due while paused is not sent.",
                ssr::local(at, zone)
            ),
            Ok(None) => {
                "Paused. Nothing is left to send: edit it to give it a new time.".to_owned()
            }
            Err(e) => format!("Paused. Its schedule cannot be read: {e}"),
        }
    });
    Ok(ReminderPage {
        account_id: reminder.account_id,
        next_fire_at: reminder.next_fire_at.map(|at| at.timestamp()),
        resume_note,
        skip_next: ssr::skip_preview(reminder),
        skipped,
        timezone: reminder.timezone.clone(),
        window_end_hour: reminder
            .send_window_end_hour
            .and_then(|h| u8::try_from(h).ok()),
        next_yours: reminder
            .next_fire_at
            .and_then(|at| FireTime::new(at, zone, yours).yours),
        upcoming,
        parts: detail
            .parts
            .iter()
            .map(|part| PartView {
                kind: part.message.kind,
                body: part.message.body.clone(),
                media: part.media.as_ref().map(ssr::media_ref),
            })
            .collect(),
        groups: detail
            .targets
            .iter()
            .map(|t| TargetGroup {
                name: t.group.name.clone(),
                participants: u32::try_from(t.group.participant_count).unwrap_or_default(),
                archived: t.group.archived_at.is_some(),
            })
            .collect(),
        runs: runs.into_iter().map(|r| ssr::run_view(r, zone)).collect(),
        has_draft,
        event_id,
        row: ssr::row(overview),
    })
}

/// Stops a reminder from firing until it is resumed.
#[server(endpoint = "pause_reminder")]
pub async fn pause_reminder(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::reminders::pause(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        None,
        chrono::Utc::now(),
    )
    .await
    .map(|_| ())
    .map_err(ssr::reminder_error)
}

/// Fires again from the next occurrence after now; what came due while paused is not sent.
#[server(endpoint = "resume_reminder")]
pub async fn resume_reminder(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::reminders::resume(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await
    .map(|_| ())
    .map_err(ssr::reminder_error)
}

/// Sends the reminder's message to its groups once, now, outside its schedule.
#[server(endpoint = "send_reminder_now")]
pub async fn send_reminder_now(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::reminders::send_now(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await
    .map(|_| ())
    .map_err(ssr::reminder_error)
}

/// Skips a recurring reminder's next occurrence, `expected` (Unix seconds: the one the page
/// showed; if the reminder has moved on since, nothing is skipped); answers the local date skipped, for the
/// confirmation ("Tue 8 Dec 2026").
#[server(endpoint = "skip_next_occurrence")]
pub async fn skip_next_occurrence(id: i64, expected: i64) -> Result<String, AppError> {
    let (state, me) = super::caller::context().await?;
    let expected = chrono::DateTime::from_timestamp(expected, 0)
        .ok_or_else(|| super::caller::refuse("That is not a time."))?;
    service::reminders::skip_next(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        expected,
        chrono::Utc::now(),
    )
    .await
    .map(|(_, date)| date.format("%a %-d %b %Y").to_string())
    .map_err(ssr::reminder_error)
}

/// Copies a reminder (paused, so nothing is sent twice); answers the copy's id.
#[server(endpoint = "duplicate_reminder")]
pub async fn duplicate_reminder(id: i64) -> Result<i64, AppError> {
    let (state, me) = super::caller::context().await?;
    service::reminders::duplicate(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await
    .map(|copy| copy.id)
    .map_err(ssr::reminder_error)
}

/// Deletes a reminder; its run history stays, and Undo can put it back for a while.
#[server(endpoint = "delete_reminder")]
pub async fn delete_reminder(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::reminders::delete(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await
    .map(|_| ())
    .map_err(ssr::reminder_error)
}

/// Undo of a delete: the reminder back as it was, under its own id.
#[server(endpoint = "restore_reminder")]
pub async fn restore_reminder(id: i64) -> Result<(), AppError> {
    use service::reminders::RestoreError;
    let (state, me) = super::caller::context().await?;
    service::reminders::restore(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        id,
        chrono::Utc::now(),
    )
    .await
    .map(|_| ())
    .map_err(|e| match e {
        RestoreError::Db(e) => super::caller::internal(e),
        other => super::caller::refuse(format!("{other}.")),
    })
}

#[server(name = LoadRunPage, endpoint = "run_page")]
pub async fn run_page(id: i64) -> Result<RunPage, AppError> {
    let (state, me) = super::caller::context().await?;
    let db = &state.db;
    let event_id = service::bus::events::latest_id(db).await?;
    let history = service::runs::find(db, me.id, id)
        .await?
        .ok_or_else(ssr::no_such_run)?;
    let reminder = match history.run.reminder_id {
        Some(rid) => service::reminders::find(db, me.id, rid).await?,
        None => None,
    };
    let account_label = match history.run.account_id {
        Some(aid) => service::accounts::find(db, me.id, aid)
            .await?
            .map(|a| a.label),
        None => None,
    };
    let zone = reminder
        .as_ref()
        .map(ssr::zone_of)
        .unwrap_or(domain::timezone::TimeZone::UTC);
    use crate::wire::reminders::PartView;

    let message = service::runs::message(db, history.run.id)
        .await?
        .into_iter()
        .map(|(part, media)| PartView {
            kind: part.kind,
            body: part.body,
            media: media.as_ref().map(ssr::media_ref),
        })
        .collect();
    Ok(RunPage {
        run: ssr::run_view(history, zone),
        message,
        account_label,
        event_id,
    })
}

/// Sends the rest of a run that paused at its send window.
#[server(endpoint = "resume_run")]
pub async fn resume_run(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::runs::resume(&state.db, service::audit::Actor::Operator, me.id, id)
        .await
        .map(|_| ())
        .map_err(ssr::run_error)
}

/// Sends a finished run's own message to the groups it did not reach (skipped or failed).
#[server(endpoint = "retry_run")]
pub async fn retry_run(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::runs::retry(&state.db, service::audit::Actor::Operator, me.id, id)
        .await
        .map(|_| ())
        .map_err(ssr::run_error)
}

/// As [`retry_run`], and also to the groups it may have reached (`unknown`), once the operator
/// confirmed they could get it twice.
#[server(endpoint = "retry_run_including_unknown")]
pub async fn retry_run_including_unknown(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    let actor = service::audit::Actor::Operator;
    service::runs::retry_including_unknown(&state.db, actor, me.id, id)
        .await
        .map(|_| ())
        .map_err(ssr::run_error)
}

/// Skips the groups a paused run has not reached.
#[server(endpoint = "cancel_run")]
pub async fn cancel_run(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::runs::cancel(&state.db, service::audit::Actor::Operator, me.id, id)
        .await
        .map(|_| ())
        .map_err(ssr::run_error)
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use chrono::{DateTime, Utc};
    use domain::{status::TargetStatus, timezone::TimeZone};
    use entity::{media_files, reminders};
    use service::reminders::{Overview, ReminderError, RunHistory};

    use crate::{
        functions::{
            AppError,
            caller::{internal, refuse},
        },
        wire::reminders::{MediaRef, ReminderRow, RunTargetView, RunView, SkipPreview},
    };

    pub fn no_such_reminder() -> AppError {
        refuse("No such reminder.")
    }

    pub fn no_such_run() -> AppError {
        refuse("No such run.")
    }

    pub fn reminder_error(e: ReminderError) -> AppError {
        match e {
            ReminderError::NotFound => no_such_reminder(),
            ReminderError::Db(e) => internal(e),
            ReminderError::Stored(e) => internal(e),
            other => refuse(format!("{other}.")),
        }
    }

    pub fn run_error(e: service::runs::RunActionError) -> AppError {
        use service::runs::RunActionError;
        match e {
            RunActionError::NotFound => no_such_run(),
            RunActionError::Db(e) => internal(e),
            other => refuse(format!("{other}.")),
        }
    }

    /// The reminder's zone; UTC for a stored name Herald no longer knows (shown as such).
    pub fn zone_of(reminder: &reminders::Model) -> TimeZone {
        reminder.timezone.parse().unwrap_or(TimeZone::UTC)
    }

    /// e.g. "Mon 24 Nov 2026, 09:00".
    pub fn local(at: DateTime<Utc>, zone: TimeZone) -> String {
        at.with_timezone(&zone.tz())
            .format("%a %-d %b %Y, %H:%M")
            .to_string()
    }

    /// What Skip next would leave out of an active recurring reminder, and what follows.
    pub fn skip_preview(reminder: &reminders::Model) -> Option<SkipPreview> {
        if reminder.status != domain::status::ReminderStatus::Active {
            return None;
        }
        let next = reminder.next_fire_at?;
        let schedule = service::reminders::schedule_of(reminder).ok()?;
        schedule.rule.as_ref()?;
        let date = schedule.date_of(next)?;
        let tz = schedule.zone.tz();
        let times = schedule
            .occurrences_from(next, domain::recurrence::MAX_TIMES)
            .into_iter()
            .take_while(|at| schedule.date_of(*at) == Some(date))
            .map(|at| at.with_timezone(&tz).format("%H:%M").to_string())
            .collect();
        Some(SkipPreview {
            date: date.format("%a %-d %b %Y").to_string(),
            times,
            then: schedule
                .clone()
                .skipping(date)
                .after(next)
                .map(|at| local(at, schedule.zone)),
        })
    }

    pub fn media_ref(file: &media_files::Model) -> MediaRef {
        MediaRef {
            id: file.id,
            kind: file.kind,
            mime_type: file.mime_type.clone(),
            original_name: file.original_name.clone(),
            size_bytes: file.size_bytes,
        }
    }

    pub fn row(overview: Overview) -> ReminderRow {
        let reminder = overview.reminder;
        let zone = zone_of(&reminder);
        let summary = match service::reminders::schedule_of(&reminder) {
            Ok(schedule) => schedule.summary(),
            Err(e) => format!("Unreadable schedule: {e}"),
        };
        // A paused reminder fires at no time until resumed; its page says when it would then.
        let next_fire = match reminder.status {
            domain::status::ReminderStatus::Active => {
                reminder.next_fire_at.map(|at| local(at, zone))
            }
            _ => None,
        };
        ReminderRow {
            id: reminder.id,
            name: reminder.name,
            status: reminder.status,
            status_reason: reminder.status_reason,
            account_label: overview.account_label,
            summary,
            next_fire,
            groups: overview.groups,
            last_run: overview.last_run,
        }
    }

    pub fn run_view(history: RunHistory, zone: TimeZone) -> RunView {
        let run = history.run;
        let sent = history
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Sent)
            .count();
        RunView {
            id: run.id,
            reminder_id: run.reminder_id,
            reminder_name: run.reminder_name,
            occurrence: local(run.occurrence_at, zone),
            status: run.status,
            reason: run.reason,
            sent,
            total: history.targets.len(),
            targets: history
                .targets
                .into_iter()
                .map(|t| RunTargetView {
                    group_name: t.group_name,
                    status: t.status,
                    reason: t.reason,
                    latency_ms: t.latency_ms,
                    attempts: t.attempts,
                })
                .collect(),
        }
    }
}
