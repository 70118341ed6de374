//! The reminder wizard's server side: drafts kept between steps, the groups it offers, and the
//! final save. A draft is only ever the caller's own.

use leptos::{prelude::*, server_fn::codec::Json};

use super::AppError;
use crate::wire::reminders::{
    DraftPage, DraftSummary, GroupChoice, ReminderDraft, Step, SubmitOutcome,
};

/// Starts a new reminder for one of the caller's accounts; answers the draft's id.
#[server(endpoint = "new_draft")]
pub async fn new_draft(account_id: i64) -> Result<i64, AppError> {
    let (state, me) = super::caller::context().await?;
    let account = service::accounts::find(&state.db, me.id, account_id).await?;
    if account.is_none() {
        return Err(super::caller::refuse(
            "Choose one of your WhatsApp accounts.",
        ));
    }
    let now = chrono::Utc::now();
    let draft = ReminderDraft::new(
        account_id,
        super::operator::ssr::operator_zone(&state, &me).await?,
        now,
    );
    let row = service::drafts::create(&state.db, me.id, ssr::encode(&draft)?, now).await?;
    Ok(row.id)
}

#[server(name = LoadDraft, endpoint = "load_draft")]
pub async fn load_draft(id: i64) -> Result<DraftPage, AppError> {
    let (state, me) = super::caller::context().await?;
    let row = service::drafts::find(&state.db, me.id, id)
        .await?
        .ok_or_else(ssr::no_such_draft)?;
    ssr::page(&state, &me, row).await
}

/// The draft editing a reminder: its unsaved changes if there are any, else the reminder as
/// it is.
#[server(endpoint = "edit_reminder")]
pub async fn edit_reminder(reminder_id: i64) -> Result<DraftPage, AppError> {
    let (state, me) = super::caller::context().await?;
    let detail = service::reminders::detail(&state.db, me.id, reminder_id)
        .await?
        .ok_or_else(super::reminders::ssr::no_such_reminder)?;
    let data = ssr::encode(&ssr::draft_of(&detail))?;
    let row = service::drafts::open_for_reminder(
        &state.db,
        me.id,
        reminder_id,
        || data,
        chrono::Utc::now(),
    )
    .await?
    .ok_or_else(super::reminders::ssr::no_such_reminder)?;
    ssr::page(&state, &me, row).await
}

/// Keeps the wizard's state; called as the operator goes.
#[server(endpoint = "save_draft", input = Json)]
pub async fn save_draft(id: i64, draft: ReminderDraft) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    let saved = service::drafts::save(
        &state.db,
        me.id,
        id,
        ssr::encode(&draft)?,
        chrono::Utc::now(),
    )
    .await?;
    if saved {
        Ok(())
    } else {
        Err(ssr::no_such_draft())
    }
}

/// Drops a draft: a new reminder is abandoned, an edit's changes are thrown away.
#[server(endpoint = "discard_draft")]
pub async fn discard_draft(id: i64) -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::drafts::discard(&state.db, me.id, id).await?;
    Ok(())
}

/// The caller's drafts, the most recently touched first.
#[server(endpoint = "list_drafts")]
pub async fn list_drafts() -> Result<Vec<DraftSummary>, AppError> {
    let (state, me) = super::caller::context().await?;
    let zone = super::operator::ssr::operator_zone(&state, &me).await?;
    let accounts = service::accounts::list(&state.db, me.id).await?;
    let now = chrono::Utc::now();
    let mut list = Vec::new();
    for row in service::drafts::list(&state.db, me.id).await? {
        // One that no longer reads (kept by an older version) is still listed, to discard.
        let draft = ssr::decode(&row.data).unwrap_or_default();
        let editing = match row.reminder_id {
            Some(id) => service::reminders::find(&state.db, me.id, id)
                .await?
                .map(|r| crate::wire::reminders::EditedReminder {
                    id: r.id,
                    name: r.name,
                }),
            None => None,
        };
        list.push(DraftSummary {
            id: row.id,
            name: draft.name.trim().to_owned(),
            account: accounts
                .iter()
                .find(|a| Some(a.id) == draft.account_id)
                .map(|a| a.label.clone()),
            updated: row
                .updated_at
                .with_timezone(&zone.tz())
                .format("%a %-d %b, %H:%M")
                .to_string(),
            continue_at: ssr::step_url(
                row.id,
                row.reminder_id,
                draft.first_incomplete(now).unwrap_or(Step::Review),
            ),
            editing,
        });
    }
    Ok(list)
}

/// Undo of a discard: the draft again as it was; answers where to carry on with it.
#[server(endpoint = "restore_draft", input = Json)]
pub async fn restore_draft(
    reminder_id: Option<i64>,
    draft: ReminderDraft,
    step: Step,
) -> Result<String, AppError> {
    let (state, me) = super::caller::context().await?;
    let row = service::drafts::restore(
        &state.db,
        me.id,
        reminder_id,
        ssr::encode(&draft)?,
        chrono::Utc::now(),
    )
    .await?
    .ok_or_else(super::reminders::ssr::no_such_reminder)?;
    Ok(ssr::step_url(row.id, reminder_id, step))
}

/// Creates the reminder (or saves the edit) from `draft` as the screen shows it, which is kept
/// as the draft's content first, re-arming its schedule, and drops the draft. Problems come
/// back by step, and the draft stays. Taking the content here, not reading it back, is what
/// keeps an autosave still on its way from deciding what is saved.
#[server(endpoint = "submit_draft", input = Json)]
pub async fn submit_draft(id: i64, draft: ReminderDraft) -> Result<SubmitOutcome, AppError> {
    use service::{audit::Actor, reminders::ReminderError};

    let (state, me) = super::caller::context().await?;
    let row = service::drafts::find(&state.db, me.id, id)
        .await?
        .ok_or_else(ssr::no_such_draft)?;
    service::drafts::save(
        &state.db,
        me.id,
        id,
        ssr::encode(&draft)?,
        chrono::Utc::now(),
    )
    .await?;
    let input = match ssr::input_of(&draft) {
        Ok(input) => input,
        Err(problems) => return Ok(SubmitOutcome::Invalid(problems)),
    };
    let now = chrono::Utc::now();
    let saved = match row.reminder_id {
        None => service::reminders::create(&state.db, Actor::Operator, me.id, &input, now).await,
        Some(rid) => {
            service::reminders::update(&state.db, Actor::Operator, me.id, rid, &input, now).await
        }
    };
    match saved {
        Ok(reminder) => {
            service::drafts::discard(&state.db, me.id, id).await?;
            Ok(SubmitOutcome::Saved {
                reminder_id: reminder.id,
            })
        }
        Err(ReminderError::Invalid(errors)) => Ok(SubmitOutcome::Invalid(
            errors.iter().map(ssr::problem_of).collect(),
        )),
        Err(e) => Err(super::reminders::ssr::reminder_error(e)),
    }
}

/// The account's current groups, by name (archived ones are not offered).
#[server(endpoint = "group_choices")]
pub async fn group_choices(account_id: i64) -> Result<Vec<GroupChoice>, AppError> {
    let (state, me) = super::caller::context().await?;
    let owned = service::accounts::find(&state.db, me.id, account_id).await?;
    if owned.is_none() {
        return Err(super::caller::refuse("No such account."));
    }
    let groups = service::accounts::groups(&state.db, account_id).await?;
    Ok(groups
        .into_iter()
        .filter(|g| g.archived_at.is_none())
        .map(|g| GroupChoice {
            id: g.id,
            name: g.name,
            participants: u32::try_from(g.participant_count).unwrap_or_default(),
        })
        .collect())
}

#[cfg(feature = "ssr")]
mod ssr {
    use domain::{
        recurrence::{Spec, skip_dates},
        status::MessageKind,
        timezone::TimeZone,
    };
    use entity::reminder_drafts;
    use service::reminders::{FieldError, PartInput, ReminderDetail, ReminderInput};

    use crate::{
        functions::{AppError, caller::refuse, reminders::ssr::media_ref},
        state::{AppState, CurrentOperator},
        wire::reminders::{
            DraftPage, DraftPart, EditedReminder, FieldProblem, ReminderDraft, Step,
        },
    };

    pub fn no_such_draft() -> AppError {
        refuse("This draft no longer exists — it was saved or discarded, perhaps in another tab.")
    }

    /// A step of a draft's wizard: a new reminder's, or the edit of `reminder_id`.
    pub fn step_url(draft_id: i64, reminder_id: Option<i64>, step: Step) -> String {
        match reminder_id {
            Some(reminder_id) => format!("/reminders/{reminder_id}/edit/{}", step.slug()),
            None => format!("/reminders/drafts/{draft_id}/{}", step.slug()),
        }
    }

    pub fn encode(draft: &ReminderDraft) -> Result<String, AppError> {
        Ok(serde_json::to_string(draft)?)
    }

    pub fn decode(data: &str) -> Result<ReminderDraft, AppError> {
        Ok(serde_json::from_str(data)?)
    }

    pub async fn page(
        state: &AppState,
        me: &CurrentOperator,
        row: reminder_drafts::Model,
    ) -> Result<DraftPage, AppError> {
        let edited = match row.reminder_id {
            Some(id) => service::reminders::detail(&state.db, me.id, id).await?,
            None => None,
        };
        Ok(DraftPage {
            draft_id: row.id,
            editing: edited.as_ref().map(|detail| EditedReminder {
                id: detail.reminder.id,
                name: detail.reminder.name.clone(),
            }),
            original: edited.as_ref().map(draft_of),
            draft: decode(&row.data)?,
            operator_timezone: crate::functions::operator::ssr::operator_zone(state, me)
                .await?
                .name()
                .to_owned(),
        })
    }

    /// A stored reminder as the wizard edits it.
    pub fn draft_of(detail: &ReminderDetail) -> ReminderDraft {
        let reminder = &detail.reminder;
        let zone: TimeZone = reminder.timezone.parse().unwrap_or(TimeZone::UTC);
        let start = reminder
            .start_local
            .unwrap_or_else(|| reminder.dtstart.with_timezone(&zone.tz()).naive_local());
        let mut repeat = reminder
            .rrule
            .as_deref()
            .and_then(|rule| Spec::from_rrule(rule).ok());
        // The start's time is the wizard's Time; the others are listed apart from it.
        let also = repeat
            .as_mut()
            .map(|spec| {
                let times = std::mem::take(&mut spec.times);
                times.into_iter().filter(|t| *t != start.time()).collect()
            })
            .unwrap_or_default();
        let skip = reminder
            .skip_dates
            .as_deref()
            .and_then(|text| skip_dates::from_text(text).ok())
            .unwrap_or_default();
        ReminderDraft {
            account_id: Some(reminder.account_id),
            name: reminder.name.clone(),
            parts: detail
                .parts
                .iter()
                .map(|part| DraftPart {
                    kind: part.message.kind,
                    body: part.message.body.clone().unwrap_or_default(),
                    media: part.media.as_ref().map(media_ref),
                })
                .collect(),
            timezone: reminder.timezone.clone(),
            date: start.format("%Y-%m-%d").to_string(),
            time: start.format("%H:%M").to_string(),
            repeat,
            also,
            skip: skip.clone(),
            skip_base: Some(skip),
            window_end_hour: reminder
                .send_window_end_hour
                .and_then(|h| u8::try_from(h).ok()),
            group_ids: detail.targets.iter().map(|t| t.group.id).collect(),
        }
    }

    /// The draft as the reminder service takes it, or what keeps it from being one.
    pub fn input_of(draft: &ReminderDraft) -> Result<ReminderInput, Vec<FieldProblem>> {
        let Some(account_id) = draft.account_id else {
            return Err(vec![FieldProblem {
                step: Step::Account,
                message: "Choose the WhatsApp account that sends it.".to_owned(),
            }]);
        };
        let start_local = draft.start_local().map_err(|message| {
            vec![FieldProblem {
                step: Step::When,
                message,
            }]
        })?;
        Ok(ReminderInput {
            account_id,
            name: draft.name.clone(),
            timezone: draft.timezone.clone(),
            start_local,
            rrule: draft
                .rule_at(start_local.time())
                .as_ref()
                .map(Spec::to_rrule),
            // A one-off skips nothing: dates kept from when it repeated are not sent.
            skip_dates: match draft.repeat {
                Some(_) => draft.skip.clone(),
                None => Vec::new(),
            },
            skip_base: draft.skip_base.clone(),
            send_window_end_hour: draft.window_end_hour,
            parts: draft
                .parts
                .iter()
                .map(|part| PartInput {
                    kind: part.kind,
                    body: Some(part.body.trim().to_owned()).filter(|b| !b.is_empty()),
                    media_file_id: match part.kind {
                        MessageKind::Text => None,
                        _ => part.media.as_ref().map(|m| m.id),
                    },
                })
                .collect(),
            group_ids: draft.group_ids.clone(),
        })
    }

    /// Which step fixes a problem the reminder service found.
    pub fn problem_of(error: &FieldError) -> FieldProblem {
        let step = match error.field.as_str() {
            "account" => Step::Account,
            "timezone" | "start" | "recurrence" | "skip" | "window" => Step::When,
            "targets" => Step::Groups,
            _ => Step::Message,
        };
        FieldProblem {
            step,
            message: crate::components::feedback::sentence(&error.message),
        }
    }
}
