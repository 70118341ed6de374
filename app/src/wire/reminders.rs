//! Wire types of the reminder pages, and the wizard's draft with the rules the browser applies
//! to it before the server checks everything again.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use domain::{
    recurrence::{SAVE_GRACE, Schedule, Spec},
    status::{MessageKind, ReminderStatus, RunStatus, TargetStatus},
    timezone::TimeZone,
};
use serde::{Deserialize, Serialize};

/// The wizard's steps, in order; each has its own URL segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Account,
    Message,
    When,
    Groups,
    Review,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Account,
        Step::Message,
        Step::When,
        Step::Groups,
        Step::Review,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Step::Account => "account",
            Step::Message => "message",
            Step::When => "when",
            Step::Groups => "groups",
            Step::Review => "review",
        }
    }

    pub fn parse(slug: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Account => "Account",
            Step::Message => "Message",
            Step::When => "When",
            Step::Groups => "Groups",
            Step::Review => "Review",
        }
    }

    /// 1 for the first step.
    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.number()).copied()
    }

    pub fn previous(self) -> Option<Step> {
        self.number().checked_sub(2).map(|i| Step::ALL[i])
    }
}

/// A reminder as the wizard builds it: loose strings where the operator types, so nothing they
/// entered is lost to a parse; [`ReminderDraft::schedule`] and the server make sense of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderDraft {
    pub account_id: Option<i64>,
    pub name: String,
    pub parts: Vec<DraftPart>,
    /// IANA name.
    pub timezone: String,
    /// `YYYY-MM-DD`: the one-off's date, or the first date of a recurrence.
    pub date: String,
    /// `HH:MM`, local to `timezone`.
    pub time: String,
    /// `None` sends once. Its `times` stay empty here: see `also`.
    pub repeat: Option<Spec>,
    /// A repeating reminder's other times of day, besides `time`. Kept apart from `time` so
    /// that changing it (a picker steps through every value) never merges or drops them.
    #[serde(default)]
    pub also: Vec<NaiveTime>,
    /// Local dates a repeating reminder does not send on, earliest first.
    #[serde(default)]
    pub skip: Vec<NaiveDate>,
    /// An edit's: the skipped dates of the reminder when the edit opened, so a date skipped
    /// since (Skip next) survives saving it.
    #[serde(default)]
    pub skip_base: Option<Vec<NaiveDate>>,
    /// Stop sending a run at this local hour (0–23).
    pub window_end_hour: Option<u8>,
    pub group_ids: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftPart {
    pub kind: MessageKind,
    /// The text, or a media part's caption.
    pub body: String,
    pub media: Option<MediaRef>,
}

/// An uploaded file, as `POST /api/media` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub id: i64,
    pub kind: MessageKind,
    pub mime_type: String,
    pub original_name: String,
    pub size_bytes: i64,
}

/// What a step still needs before the wizard moves on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The form field's id, for focus and `aria-describedby`.
    pub field: String,
    pub message: String,
}

impl ReminderDraft {
    /// A fresh draft for `account_id`: today, at the next full hour, in `zone`.
    pub fn new(account_id: i64, zone: TimeZone, now: DateTime<Utc>) -> Self {
        let local = now.with_timezone(&zone.tz()).naive_local();
        let next_hour = local
            .date()
            .and_hms_opt(local.hour(), 0, 0)
            .unwrap_or(local)
            + chrono::Duration::hours(1);
        ReminderDraft {
            account_id: Some(account_id),
            timezone: zone.name().to_owned(),
            date: next_hour.format("%Y-%m-%d").to_string(),
            time: next_hour.format("%H:%M").to_string(),
            parts: vec![DraftPart {
                kind: MessageKind::Text,
                body: String::new(),
                media: None,
            }],
            ..ReminderDraft::default()
        }
    }

    /// The entered wall time of the first occurrence.
    pub fn start_local(&self) -> Result<NaiveDateTime, String> {
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
            .map_err(|_| "Enter a date.".to_owned())?;
        let time = NaiveTime::parse_from_str(self.time.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(self.time.trim(), "%H:%M:%S"))
            .map_err(|_| "Enter a time, such as 09:00.".to_owned())?;
        Ok(date.and_time(time))
    }

    /// The schedule as entered, or why it is not one yet.
    pub fn schedule(&self) -> Result<Schedule, String> {
        let zone: TimeZone = self
            .timezone
            .parse()
            .map_err(|_| format!("“{}” is not a time zone Herald knows.", self.timezone))?;
        let start = self.start_local()?;
        let schedule = Schedule {
            start,
            zone,
            rule: self.rule_at(start.time()),
            skip: if self.repeat.is_some() {
                self.skip.clone()
            } else {
                Vec::new()
            },
        };
        schedule
            .validate()
            .map_err(|e| crate::components::feedback::sentence(&e.to_string()))?;
        Ok(schedule)
    }

    /// The rule as saved, for a start at `start`: with other times of day, every time the
    /// reminder sends at (the start's among them), as RRULE lists them.
    pub fn rule_at(&self, start: NaiveTime) -> Option<Spec> {
        let mut spec = self.repeat.clone()?;
        if !self.also.is_empty() || !spec.times.is_empty() {
            spec.times.extend(self.also.iter().copied().chain([start]));
            spec.times.sort_unstable();
            spec.times.dedup();
            if spec.times.len() == 1 {
                spec.times.clear();
            }
        }
        Some(spec)
    }

    /// The next `limit` local fire times from `now` (a time just passed still counts, see
    /// [`SAVE_GRACE`]), as the worker will compute them.
    pub fn upcoming(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<NaiveDateTime>, String> {
        let (times, zone) = self.upcoming_at(now, limit)?;
        let tz = zone.tz();
        Ok(times
            .into_iter()
            .map(|at| at.with_timezone(&tz).naive_local())
            .collect())
    }

    /// The same fires as instants, with the reminder's zone.
    pub fn upcoming_at(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<(Vec<DateTime<Utc>>, TimeZone), String> {
        let schedule = self.schedule()?;
        let times = schedule.occurrences_from(now - SAVE_GRACE, limit);
        if times.is_empty() {
            return Err(match schedule.rule {
                None => "That time has passed; pick a time in the future.".to_owned(),
                Some(_) => "This schedule has no occurrence left after now.".to_owned(),
            });
        }
        Ok((times, schedule.zone))
    }

    /// What `step` still needs. The browser checks this before moving on; the server checks
    /// everything again when the reminder is saved.
    pub fn problems(&self, step: Step, now: DateTime<Utc>) -> Vec<Problem> {
        let problem = |field: &str, message: &str| Problem {
            field: field.to_owned(),
            message: message.to_owned(),
        };
        let mut found = Vec::new();
        match step {
            Step::Account if self.account_id.is_none() => {
                found.push(problem(
                    "account",
                    "Choose the WhatsApp account that sends it.",
                ));
            }
            Step::Message => {
                if self.name.trim().is_empty() {
                    found.push(problem("name", "Give the reminder a name."));
                }
                if self.parts.is_empty() {
                    found.push(problem("parts", "Add at least one part to send."));
                }
                for (i, part) in self.parts.iter().enumerate() {
                    if let Some(why) = domain::message::too_long(part.body.trim()) {
                        found.push(problem(
                            &format!("part-{i}-body"),
                            &format!("Part {}: {why}.", i + 1),
                        ));
                    }
                    match part.kind {
                        MessageKind::Text if part.body.trim().is_empty() => found.push(problem(
                            &format!("part-{i}-body"),
                            &format!("Part {}: write the text.", i + 1),
                        )),
                        MessageKind::Text => {}
                        _ if part.media.is_none() => found.push(problem(
                            &format!("part-{i}-file"),
                            &format!("Part {}: choose a file.", i + 1),
                        )),
                        _ => {}
                    }
                }
            }
            Step::When => {
                if let Err(message) = self.upcoming(now, 1) {
                    found.push(problem("when", &message));
                }
            }
            Step::Groups if self.group_ids.is_empty() => {
                found.push(problem("groups", "Choose at least one group."));
            }
            _ => {}
        }
        found
    }

    /// The first step that is not ready, if any.
    pub fn first_incomplete(&self, now: DateTime<Utc>) -> Option<Step> {
        Step::ALL
            .into_iter()
            .find(|step| !self.problems(*step, now).is_empty())
    }

    /// The steps whose content differs from `before` (an edit's reminder as stored), in order.
    /// Compared as saving would store them: text trimmed, groups as a set.
    pub fn changed_steps(&self, before: &ReminderDraft) -> Vec<Step> {
        let parts = |d: &ReminderDraft| {
            d.parts
                .iter()
                .map(|p| {
                    (
                        p.kind,
                        p.body.trim().to_owned(),
                        p.media.as_ref().map(|m| m.id),
                    )
                })
                .collect::<Vec<_>>()
        };
        let groups = |d: &ReminderDraft| {
            let mut ids = d.group_ids.clone();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let when = |d: &ReminderDraft| {
            let mut times = d.also.clone();
            times.push(d.start_local().map(|s| s.time()).unwrap_or_default());
            times.sort_unstable();
            times.dedup();
            (
                d.timezone.clone(),
                d.start_local().ok(),
                d.repeat.clone(),
                d.repeat.is_some().then(|| (times, d.skip.clone())),
                d.window_end_hour,
            )
        };
        Step::ALL
            .into_iter()
            .filter(|step| match step {
                Step::Account => self.account_id != before.account_id,
                Step::Message => {
                    self.name.trim() != before.name.trim() || parts(self) != parts(before)
                }
                Step::When => when(self) != when(before),
                Step::Groups => groups(self) != groups(before),
                Step::Review => false,
            })
            .collect()
    }
}

/// A draft as its wizard page loads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftPage {
    pub draft_id: i64,
    /// Set when the draft edits an existing reminder.
    pub editing: Option<EditedReminder>,
    pub draft: ReminderDraft,
    /// An edit's reminder as it is stored, to show what the draft changes.
    pub original: Option<ReminderDraft>,
    /// The operator's own zone, the default for new reminders.
    pub operator_timezone: String,
}

/// One of the operator's drafts, as the drafts list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftSummary {
    pub id: i64,
    /// The name typed so far; empty when none is.
    pub name: String,
    pub account: Option<String>,
    /// Set for unsaved changes to an existing reminder.
    pub editing: Option<EditedReminder>,
    /// When it was last touched, in the operator's zone.
    pub updated: String,
    /// Where to carry on: the first step that still needs something, else the review.
    pub continue_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditedReminder {
    pub id: i64,
    pub name: String,
}

/// A server-side objection to a draft, placed on the step that can fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub step: Step,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubmitOutcome {
    Saved { reminder_id: i64 },
    Invalid(Vec<FieldProblem>),
}

/// A group the wizard offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChoice {
    pub id: i64,
    pub name: String,
    pub participants: u32,
}

/// One page of the reminders list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderList {
    pub rows: Vec<ReminderRow>,
    /// 1-based.
    pub page: u64,
    /// At least 1.
    pub pages: u64,
    /// The reminders on every page together.
    pub total: u64,
}

/// One reminder in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRow {
    pub id: i64,
    pub name: String,
    pub status: ReminderStatus,
    pub status_reason: Option<String>,
    pub account_label: String,
    /// "Every Mon at 09:00 (Europe/London)", or why the schedule cannot be read.
    pub summary: String,
    /// Local to the reminder's zone, e.g. "Mon 24 Nov 2026, 09:00 (Europe/London)".
    pub next_fire: Option<String>,
    pub groups: usize,
    pub last_run: Option<RunStatus>,
}

/// A fire on the reminder's clock, and on the operator's when that reads differently:
/// "Tue 8 Dec 2026, 09:00" with "08:00", or with "Mon 7 Dec, 23:00" when the date differs too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireTime {
    pub at: String,
    pub yours: Option<String>,
}

impl FireTime {
    pub fn new(at: DateTime<Utc>, zone: TimeZone, yours: Option<TimeZone>) -> Self {
        let there = at.with_timezone(&zone.tz());
        let yours = yours.and_then(|own| {
            let here = at.with_timezone(&own.tz());
            if here.naive_local() == there.naive_local() {
                None
            } else if here.date_naive() == there.date_naive() {
                Some(here.format("%H:%M").to_string())
            } else {
                Some(here.format("%a %-d %b, %H:%M").to_string())
            }
        });
        Self {
            at: there.format("%a %-d %b %Y, %H:%M").to_string(),
            yours,
        }
    }
}

/// Everything a reminder's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPage {
    pub row: ReminderRow,
    pub account_id: i64,
    pub timezone: String,
    pub window_end_hour: Option<u8>,
    /// The next few fires, on the reminder's clock and the operator's.
    pub upcoming: Vec<FireTime>,
    /// The stored next fire on the operator's clock, when it reads differently.
    pub next_yours: Option<String>,
    /// The next occurrence as stored, in Unix seconds: what "Skip next" names when it asks to
    /// skip it. (Seconds, not a date-time: the browser need not carry chrono's parser for it.)
    pub next_fire_at: Option<i64>,
    /// A paused reminder's: what resuming it now would do.
    pub resume_note: Option<String>,
    /// What "Skip next" would skip, for an active recurring reminder.
    pub skip_next: Option<SkipPreview>,
    /// The local dates it skips, e.g. "Thu 24 Dec 2026".
    pub skipped: Vec<String>,
    pub parts: Vec<PartView>,
    pub groups: Vec<TargetGroup>,
    pub runs: Vec<RunView>,
    /// Unsaved changes wait in a draft.
    pub has_draft: bool,
    /// The live stream continues after this event.
    pub event_id: i64,
}

/// The next occurrence's date as Skip next leaves it out: skipping is by date, so with several
/// times a day it leaves out the rest of that day's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipPreview {
    /// e.g. "Tue 8 Dec 2026".
    pub date: String,
    /// The times that date would still send at, e.g. ["09:00", "17:00"].
    pub times: Vec<String>,
    /// The send after the skipped ones, local; `None` when none is left.
    pub then: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartView {
    pub kind: MessageKind,
    pub body: Option<String>,
    pub media: Option<MediaRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub name: String,
    pub participants: u32,
    pub archived: bool,
}

/// One run with its per-group outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub id: i64,
    pub reminder_id: Option<i64>,
    pub reminder_name: String,
    /// Local to the reminder's zone.
    pub occurrence: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub sent: usize,
    pub total: usize,
    pub targets: Vec<RunTargetView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTargetView {
    pub group_name: String,
    pub status: TargetStatus,
    pub reason: Option<String>,
    pub latency_ms: Option<i64>,
    pub attempts: i32,
}

/// A run's own page, where alerts link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    pub run: RunView,
    /// What this run sent, as it fired: later edits to the reminder do not show here.
    pub message: Vec<PartView>,
    pub account_label: Option<String>,
    pub event_id: i64,
}

#[cfg(test)]
mod tests;
