//! What an operator submits for a reminder, and its validation. Every problem is reported at
//! once, against the form field it belongs to, in words the operator understands; what passes
//! comes out as typed values ready to store.

use std::{
    collections::{HashMap, HashSet},
    fmt,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::{
    recurrence::{MAX_SKIPPED, RuleError, SAVE_GRACE, Schedule, Spec},
    status::MessageKind,
    timezone::TimeZone,
};
use entity::{media_files as media, whatsapp_accounts as accounts, whatsapp_groups as groups};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{ReminderError, next_due};

/// Longest reminder name, in characters (the column's width).
pub(super) const NAME_MAX: usize = 128;

/// A reminder as the dashboard's form (or the Telegram bot) submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderInput {
    pub account_id: i64,
    pub name: String,
    /// IANA name of the zone the start and the recurrence are read in.
    pub timezone: String,
    /// Wall time of the first occurrence, in `timezone`.
    pub start_local: NaiveDateTime,
    /// RRULE body as [`Spec::to_rrule`] writes it; `None` (or blank) for a one-off.
    pub rrule: Option<String>,
    /// Local dates (in `timezone`) the rule matches that the reminder does not fire on. Dates
    /// before yesterday are dropped: they are history.
    pub skip_dates: Vec<NaiveDate>,
    /// An edit's: the skipped dates it started from. What changed since (a Skip next while the
    /// edit was open) is kept: the saved list is the stored one with the edit's additions and
    /// removals. `None` takes `skip_dates` as it is.
    pub skip_base: Option<Vec<NaiveDate>>,
    /// Hour (0–23, in `timezone`) after which a run stops sending and pauses.
    pub send_window_end_hour: Option<u8>,
    pub parts: Vec<PartInput>,
    pub group_ids: Vec<i64>,
}

/// One part of the message, sent in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartInput {
    pub kind: MessageKind,
    /// The text, or the caption of a media part.
    pub body: Option<String>,
    pub media_file_id: Option<i64>,
}

/// One problem, named by its form field: `name`, `account`, `timezone`, `start`, `recurrence`,
/// `skip`, `window`, `parts`, `parts[i].body`, `parts[i].media` or `targets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one submission.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// The first message about `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// A submission that passed: what gets stored.
#[derive(Debug)]
pub(super) struct Valid {
    pub account_id: i64,
    pub name: String,
    pub schedule: Schedule,
    /// The first occurrence: what is stored as `dtstart`.
    pub first: DateTime<Utc>,
    pub window_end_hour: Option<i16>,
    pub parts: Vec<ValidPart>,
    pub group_ids: Vec<i64>,
    pub next_fire_at: DateTime<Utc>,
}

#[derive(Debug)]
pub(super) struct ValidPart {
    pub kind: MessageKind,
    pub body: Option<String>,
    pub media_file_id: Option<i64>,
}

impl Valid {
    pub fn rrule(&self) -> Option<String> {
        self.schedule.rule.as_ref().map(Spec::to_rrule)
    }
}

/// Checks `input` for `operator_id` as of `now`. `last_fired_at` is the reminder's last fire
/// when an existing one is edited: its next occurrence must come after that.
pub(super) async fn validate(
    db: &impl ConnectionTrait,
    operator_id: i64,
    input: &ReminderInput,
    now: DateTime<Utc>,
    last_fired_at: Option<DateTime<Utc>>,
) -> Result<Valid, ReminderError> {
    let mut errors = FieldErrors::default();
    let name = check_name(&input.name, &mut errors);
    let account_owned = accounts::Entity::find_by_id(input.account_id)
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .one(db)
        .await?
        .is_some();
    if !account_owned {
        errors.push("account", "Choose one of your WhatsApp accounts");
    }
    let schedule = check_schedule(input, now, last_fired_at, &mut errors);
    if input.send_window_end_hour.is_some_and(|h| h > 23) {
        errors.push("window", "The send window must end at an hour from 0 to 23");
    }
    let parts = check_parts(db, operator_id, &input.parts, &mut errors).await?;
    let group_ids = check_targets(db, input, account_owned, &mut errors).await?;
    match (name, schedule) {
        (Some(name), Some(timing)) if errors.is_empty() => Ok(Valid {
            account_id: input.account_id,
            name,
            schedule: timing.schedule,
            first: timing.first,
            window_end_hour: input.send_window_end_hour.map(i16::from),
            parts,
            group_ids,
            next_fire_at: timing.next,
        }),
        _ => Err(ReminderError::Invalid(errors)),
    }
}

/// The trimmed name, or `None` with its problem recorded.
fn check_name(name: &str, errors: &mut FieldErrors) -> Option<String> {
    let name = name.trim();
    let problem = if name.is_empty() {
        "Give the reminder a name"
    } else if name.chars().count() > NAME_MAX {
        "Keep the name to 128 characters or fewer"
    } else if name.chars().any(char::is_control) {
        "A name cannot contain line breaks, tabs or other control characters"
    } else {
        return Some(name.to_owned());
    };
    errors.push("name", problem);
    None
}

/// A schedule with its first and next occurrences.
struct Timing {
    schedule: Schedule,
    first: DateTime<Utc>,
    next: DateTime<Utc>,
}

/// The schedule and its occurrences, or `None` with its problems recorded.
fn check_schedule(
    input: &ReminderInput,
    now: DateTime<Utc>,
    last_fired_at: Option<DateTime<Utc>>,
    errors: &mut FieldErrors,
) -> Option<Timing> {
    let zone = match input.timezone.parse::<TimeZone>() {
        Ok(zone) => Some(zone),
        Err(_) => {
            errors.push(
                "timezone",
                format!(
                    "“{}” is not a time zone Herald knows; choose one such as Europe/London",
                    input.timezone.trim()
                ),
            );
            None
        }
    };
    let rule = match input.rrule.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(rrule) => match Spec::from_rrule(rrule) {
            Ok(spec) => Some(Some(spec)),
            Err(e) => {
                errors.push("recurrence", e.to_string());
                None
            }
        },
    };
    let schedule = Schedule {
        start: input.start_local,
        zone: zone?,
        rule: rule?,
        skip: Vec::new(),
    };
    let schedule = with_skip_dates(schedule, &input.skip_dates, now, errors)?;
    let first = schedule
        .validate()
        .and_then(|()| schedule.first().ok_or(RuleError::NeverFires));
    let first = match first {
        Ok(first) => first,
        Err(RuleError::NeverFires) if !schedule.skip.is_empty() => {
            errors.push("skip", "Every date this reminder would send on is skipped");
            return None;
        }
        Err(e) => {
            let field = match e {
                RuleError::StartOutOfRange(_) => "start",
                _ => "recurrence",
            };
            errors.push(field, e.to_string());
            return None;
        }
    };
    match next_due(&schedule, now - SAVE_GRACE, last_fired_at) {
        Some(next) => Some(Timing {
            schedule,
            first,
            next,
        }),
        None if schedule.rule.is_none() => {
            errors.push("start", "That time has already passed");
            None
        }
        None => {
            errors.push(
                "recurrence",
                "This schedule has no occurrences left after now; check when it ends",
            );
            None
        }
    }
}

/// The skipped dates an edit saves: the stored ones (`current`), with what the edit added to
/// and removed from the list it started from (`base`).
pub(super) fn merge_skips(
    current: &[NaiveDate],
    base: &[NaiveDate],
    edited: &[NaiveDate],
) -> Vec<NaiveDate> {
    let mut merged: Vec<NaiveDate> = current
        .iter()
        .filter(|date| !base.contains(date) || edited.contains(date))
        .chain(edited.iter().filter(|date| !base.contains(date)))
        .copied()
        .collect();
    merged.sort_unstable();
    merged.dedup();
    merged
}

/// The first skipped date still kept: earlier ones are history. From yesterday, local: an
/// occurrence late yesterday may still be due and unfired.
pub(super) fn skips_kept_from(schedule: &Schedule, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&schedule.zone.tz()).date_naive();
    today.pred_opt().unwrap_or(today)
}

/// `schedule` with the skipped dates still to come, or `None` with their problem recorded.
fn with_skip_dates(
    mut schedule: Schedule,
    dates: &[NaiveDate],
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> Option<Schedule> {
    let kept_from = skips_kept_from(&schedule, now);
    let mut dates: Vec<NaiveDate> = dates.iter().copied().filter(|d| *d >= kept_from).collect();
    dates.sort_unstable();
    dates.dedup();
    if dates.is_empty() {
        return Some(schedule);
    }
    if schedule.rule.is_none() {
        errors.push(
            "skip",
            "A one-off reminder has no dates to skip: change its date instead",
        );
        return None;
    }
    if dates.len() > MAX_SKIPPED {
        errors.push("skip", format!("Skip at most {MAX_SKIPPED} dates"));
        return None;
    }
    // Yesterday's date is kept for an occurrence still due, but is not worth a refusal.
    let today = kept_from.succ_opt().unwrap_or(kept_from);
    dates.retain(|date| *date >= today || schedule.matches(*date));
    if let Some(stray) = dates.iter().find(|date| !schedule.matches(**date)) {
        errors.push(
            "skip",
            format!(
                "{} is not a day this reminder sends on: remove it from the skipped dates",
                stray.format("%a %-d %b %Y")
            ),
        );
        return None;
    }
    schedule.skip = dates;
    Some(schedule)
}

async fn check_parts(
    db: &impl ConnectionTrait,
    operator_id: i64,
    parts: &[PartInput],
    errors: &mut FieldErrors,
) -> Result<Vec<ValidPart>, ReminderError> {
    if parts.is_empty() {
        errors.push("parts", "Add at least one message");
    }
    let media_ids: HashSet<i64> = parts.iter().filter_map(|p| p.media_file_id).collect();
    let owned: HashMap<i64, media::Model> = if media_ids.is_empty() {
        HashMap::new()
    } else {
        media::Entity::find()
            .filter(media::Column::OperatorId.eq(operator_id))
            .filter(media::Column::Id.is_in(media_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect()
    };
    let mut valid = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let body = part
            .body
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
        let media_problem = match (part.kind, part.media_file_id) {
            (MessageKind::Text, None) => None,
            (MessageKind::Text, Some(_)) => {
                Some("A text message cannot carry a file; choose image, video or document".into())
            }
            (_, None) => Some("Attach a file".into()),
            (kind, Some(id)) => match owned.get(&id) {
                None => Some("That file is not among your uploads; upload it again".into()),
                Some(file) if file.kind != kind => Some(format!(
                    "This file is {}, not {}",
                    with_article(file.kind),
                    with_article(kind)
                )),
                Some(_) => None,
            },
        };
        if part.kind == MessageKind::Text && body.is_none() {
            errors.push(format!("parts[{i}].body"), "Write the message text");
        }
        if let Some(problem) = body.as_deref().and_then(domain::message::too_long) {
            errors.push(format!("parts[{i}].body"), problem);
        }
        if let Some(problem) = media_problem {
            errors.push(format!("parts[{i}].media"), problem);
        }
        valid.push(ValidPart {
            kind: part.kind,
            body,
            media_file_id: part.media_file_id,
        });
    }
    Ok(valid)
}

fn with_article(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text => "a text",
        MessageKind::Image => "an image",
        MessageKind::Video => "a video",
        MessageKind::Document => "a document",
    }
}

/// The target groups in the order given, each once.
async fn check_targets(
    db: &impl ConnectionTrait,
    input: &ReminderInput,
    account_owned: bool,
    errors: &mut FieldErrors,
) -> Result<Vec<i64>, ReminderError> {
    let mut seen = HashSet::new();
    let ids: Vec<i64> = input
        .group_ids
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        errors.push("targets", "Choose at least one group");
        return Ok(ids);
    }
    // Groups can only be judged against an account the operator owns.
    if !account_owned {
        return Ok(ids);
    }
    let found = groups::Entity::find()
        .filter(groups::Column::AccountId.eq(input.account_id))
        .filter(groups::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    match ids.len() - found.len() {
        0 => {}
        1 => errors.push(
            "targets",
            "One of the chosen groups is not a group of this account",
        ),
        n => errors.push(
            "targets",
            format!("{n} of the chosen groups are not groups of this account"),
        ),
    }
    for group in found.iter().filter(|g| g.archived_at.is_some()) {
        errors.push(
            "targets",
            format!(
                "“{}” is archived: the account is no longer in that group",
                group.name
            ),
        );
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2031, 3, d).unwrap()
    }

    #[test]
    fn an_edit_keeps_skips_made_since_it_opened_and_its_own_changes() {
        // Opened with the 5th skipped; Skip next added the 10th meanwhile; the edit removed
        // the 5th and added the 12th.
        let merged = merge_skips(&[day(5), day(10)], &[day(5)], &[day(12)]);
        assert_eq!(merged, [day(10), day(12)]);
        // An edit that changed nothing saves the stored list.
        assert_eq!(
            merge_skips(&[day(5), day(10)], &[day(5)], &[day(5)]),
            [day(5), day(10)]
        );
        // A date the edit kept but something else removed meanwhile stays removed.
        assert_eq!(
            merge_skips(&[], &[day(5)], &[day(5)]),
            Vec::<NaiveDate>::new()
        );
    }
}
