//! What an operator can do to one run: resume or cancel a run that paused at its send window,
//! and retry a finished one to the groups it did not reach. Here the request is checked and
//! queued with its audit row; the worker carries it out.

use domain::{
    bus::{Command, UnknownSend},
    status::{MessageKind, RunStatus, TargetStatus},
};
use entity::reminder_runs as runs;
use entity::{
    media_files, reminder_run_parts as run_parts, reminder_run_targets as run_targets,
    whatsapp_groups as groups,
};
use runtime::config::PublicUrl;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Query, SelectStatement},
};

use crate::{audit, bus::commands, database::begin_write, reminders::RunHistory};

/// The dashboard page of one run, where a paused run is resumed or cancelled: what alerts link to.
pub fn page_url(public_url: &PublicUrl, run_id: i64) -> String {
    public_url.join(&format!("/reminders/runs/{run_id}"))
}

/// One of the operator's runs with its groups in the order they were sent; `None` for another
/// operator's or a missing one.
pub async fn find(
    db: &impl ConnectionTrait,
    operator_id: i64,
    run_id: i64,
) -> Result<Option<RunHistory>, DbErr> {
    let Some(run) = runs::Entity::find_by_id(run_id)
        .filter(runs::Column::OperatorId.eq(operator_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let targets = run_targets::Entity::find()
        .filter(run_targets::Column::RunId.eq(run.id))
        .order_by_asc(run_targets::Column::Id)
        .all(db)
        .await?;
    Ok(Some(RunHistory { run, targets }))
}

#[derive(Debug, thiserror::Error)]
pub enum RunActionError {
    /// Missing, or another operator's: the two are never told apart.
    #[error("no such run")]
    NotFound,
    #[error("Only a paused run can be resumed or cancelled; this one is {0}")]
    NotPaused(RunStatus),
    #[error("This run's WhatsApp account has been deleted, so nothing more can be sent")]
    AccountGone,
    #[error("Only a run that left groups unreached can be retried; this one is {0}")]
    NotRetryable(RunStatus),
    #[error("This run recorded no message of its own to send again")]
    NoMessage,
    #[error("This run's reminder has been deleted, so it cannot be sent again")]
    ReminderGone,
    #[error("A file this run sent has expired from the media library, so it cannot be sent again")]
    MediaGone,
    #[error(
        "No group of this run can be sent it again: each got it, may have, or is no longer one of the account's groups"
    )]
    NothingToRetry,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The message a run sent (or is sending): its own copy, taken when it fired, with each part's
/// file. Empty for runs recorded before runs kept their message, and for runs that never fired.
/// Pass a run already found for the operator.
pub async fn message(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Vec<(run_parts::Model, Option<media_files::Model>)>, DbErr> {
    run_parts::Entity::find()
        .filter(run_parts::Column::RunId.eq(run_id))
        .order_by_asc(run_parts::Column::Position)
        .find_also_related(media_files::Entity)
        .all(db)
        .await
}

/// Sends the rest of a paused run now, past its send window. Returns the queued command's id.
pub async fn resume(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    run_id: i64,
) -> Result<i64, RunActionError> {
    request(db, actor, operator_id, run_id, Action::Resume).await
}

/// Gives up the rest of a paused run: its unsent groups are skipped. Returns the queued
/// command's id.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    run_id: i64,
) -> Result<i64, RunActionError> {
    request(db, actor, operator_id, run_id, Action::Cancel).await
}

/// Sends a finished run's own message again to the groups it did not reach: those skipped
/// (its account was offline) or whose send failed. A group whose send may have landed
/// (`unknown`) is left alone, so no group gets the message twice. Returns the queued command's
/// id.
pub async fn retry(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    run_id: i64,
) -> Result<i64, RunActionError> {
    let action = Action::Retry {
        include_unknown: false,
    };
    request(db, actor, operator_id, run_id, action).await
}

/// As [`retry`], and also to the groups whose send may have landed (`unknown`): WhatsApp may
/// already have delivered to them, so they could get the message twice. Only for the
/// operator's explicit confirmation of that risk; refused like a retry with nothing to send
/// when no such group is still one of the account's. Returns the queued command's id.
pub async fn retry_including_unknown(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    run_id: i64,
) -> Result<i64, RunActionError> {
    let action = Action::Retry {
        include_unknown: true,
    };
    request(db, actor, operator_id, run_id, action).await
}

/// The groups of `run` a retry sends to: skipped or failed — and of those `unknown`, the sends
/// in `confirmed` as they still are — and still current groups of the run's account. One
/// skipped at the fire because it was archived or the account had left it stays skipped. The
/// worker reopens exactly these (`delivery/control.rs`).
pub fn unreached_targets(run: &runs::Model, confirmed: &[UnknownSend]) -> Condition {
    let mut statuses = Condition::any()
        .add(run_targets::Column::Status.is_in([TargetStatus::Skipped, TargetStatus::Failed]));
    for send in confirmed {
        statuses = statuses.add(
            Condition::all()
                .add(run_targets::Column::Status.eq(TargetStatus::Unknown))
                .add(run_targets::Column::Id.eq(send.target_id))
                .add(run_targets::Column::ClaimNo.eq(send.claim_no)),
        );
    }
    Condition::all()
        .add(run_targets::Column::RunId.eq(run.id))
        .add(statuses)
        .add(run_targets::Column::GroupId.in_subquery(current_groups(run)))
}

/// The groups the run's account still has (not archived).
fn current_groups(run: &runs::Model) -> SelectStatement {
    Query::select()
        .column(groups::Column::Id)
        .from(groups::Entity)
        .and_where(groups::Column::AccountId.eq(run.account_id))
        .and_where(groups::Column::ArchivedAt.is_null())
        .to_owned()
}

/// How many of a run's groups a retry would send to, `confirmed` unknown sends among them.
pub async fn unreached(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    confirmed: &[UnknownSend],
) -> Result<u64, DbErr> {
    run_targets::Entity::find()
        .filter(unreached_targets(run, confirmed))
        .count(db)
        .await
}

/// The run's sends left `unknown` to groups its account still has, as a confirmed resend names
/// them.
pub async fn unknown_sends(
    db: &impl ConnectionTrait,
    run: &runs::Model,
) -> Result<Vec<UnknownSend>, DbErr> {
    let rows: Vec<(i64, i64)> = run_targets::Entity::find()
        .select_only()
        .column(run_targets::Column::Id)
        .column(run_targets::Column::ClaimNo)
        .filter(run_targets::Column::RunId.eq(run.id))
        .filter(run_targets::Column::Status.eq(TargetStatus::Unknown))
        .filter(run_targets::Column::GroupId.in_subquery(current_groups(run)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(target_id, claim_no)| UnknownSend {
            target_id,
            claim_no,
        })
        .collect())
}

#[derive(Clone, Copy)]
enum Action {
    Resume,
    Cancel,
    Retry { include_unknown: bool },
}

async fn request(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    run_id: i64,
    action: Action,
) -> Result<i64, RunActionError> {
    let txn = begin_write(db).await?;
    let run = runs::Entity::find_by_id(run_id)
        .filter(runs::Column::OperatorId.eq(operator_id))
        .one(&txn)
        .await?
        .ok_or(RunActionError::NotFound)?;
    // The unknown sends a confirmed retry resends, as they are now.
    let mut confirmed = Vec::new();
    match action {
        Action::Resume | Action::Cancel if run.status != RunStatus::Paused => {
            return Err(RunActionError::NotPaused(run.status));
        }
        Action::Retry { .. } if !run.status.is_problem() => {
            return Err(RunActionError::NotRetryable(run.status));
        }
        Action::Retry { .. } if run.reminder_id.is_none() => {
            // The sender reads the reminder's pacing and window; without it, it skips the run.
            return Err(RunActionError::ReminderGone);
        }
        Action::Retry { include_unknown } => {
            let parts = message(&txn, run_id).await?;
            if parts.is_empty() {
                return Err(RunActionError::NoMessage);
            }
            // The media sweep clears an expired file from the parts that sent it.
            if parts
                .iter()
                .any(|(part, media)| part.kind != MessageKind::Text && media.is_none())
            {
                return Err(RunActionError::MediaGone);
            }
            // Asked to include unknown groups, there must be one to include.
            let nothing = if include_unknown {
                confirmed = unknown_sends(&txn, &run).await?;
                confirmed.is_empty()
            } else {
                unreached(&txn, &run, &[]).await? == 0
            };
            if nothing {
                return Err(RunActionError::NothingToRetry);
            }
        }
        _ => {}
    }
    let account_id = run.account_id.ok_or(RunActionError::AccountGone)?;
    let mut detail = serde_json::json!({ "reminder": run.reminder_name });
    let (command, audit_action) = match action {
        Action::Resume => (Command::ResumeRun { account_id, run_id }, "run.resumed"),
        Action::Cancel => (Command::CancelRun { account_id, run_id }, "run.cancelled"),
        Action::Retry { include_unknown } => {
            detail["include_unknown"] = include_unknown.into();
            let command = Command::RetryRun {
                account_id,
                run_id,
                unknown: confirmed,
            };
            (command, "run.retried")
        }
    };
    let id = commands::enqueue(&txn, &command).await?;
    audit::record(
        &txn,
        audit::Entry::new(actor, audit_action)
            .operator(operator_id)
            .target("run", run_id)
            .detail(detail),
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}
