//! The run and target rows. Every state change is a conditional UPDATE on the state it expects,
//! so two processes acting on one row cannot both succeed: claiming `pending → sending` is what
//! makes a send happen at most once. A claim and its renewal before each part also carry the
//! account's lease fence (`service::leases`), so a worker that lost the account starts nothing.
//! Each claim also takes the next claim number, and a sender's renewals and outcome land only
//! under its own: one frozen mid-send never writes over a later claim of the same target.

use chrono::{DateTime, Utc};
use domain::{
    bus::UnknownSend,
    run::RunCounts,
    status::{RunStatus, TargetStatus},
};
use entity::{reminder_run_targets as targets, reminder_runs as runs};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use service::leases::Fence;

/// The next `limit` targets of `run_id` to try now, in the run's order.
pub async fn next_due(
    db: &impl ConnectionTrait,
    run_id: i64,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<targets::Model>, DbErr> {
    targets::Entity::find()
        .filter(targets::Column::RunId.eq(run_id))
        .filter(targets::Column::Status.eq(TargetStatus::Pending))
        .filter(due(now))
        .order_by_asc(targets::Column::CreatedAt)
        .order_by_asc(targets::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// When the earliest target waiting out a retry delay comes due.
pub async fn next_retry_at(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    targets::Entity::find()
        .select_only()
        .column_as(targets::Column::NextAttemptAt.min(), "next")
        .filter(targets::Column::RunId.eq(run_id))
        .filter(targets::Column::Status.eq(TargetStatus::Pending))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await
        .map(Option::flatten)
}

/// A sender's hold on one target: the claim number its claim took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub target_id: i64,
    pub number: i64,
}

impl Claim {
    /// The claim on `target`, as [`claim`] returned it.
    pub fn of(target: &targets::Model) -> Self {
        Self {
            target_id: target.id,
            number: target.claim_no,
        }
    }

    fn filter(self) -> Condition {
        Condition::all()
            .add(targets::Column::Id.eq(self.target_id))
            .add(targets::Column::ClaimNo.eq(self.number))
    }
}

/// `pending → sending` under the next claim number, if the target is still pending and due and
/// `fence` still holds the account; returns the row as claimed (another process may have moved
/// it on since it was read), or `None` when someone else got there first, it is waiting out a
/// retry, or the lease is gone.
pub async fn claim(
    db: &impl ConnectionTrait,
    target_id: i64,
    now: DateTime<Utc>,
    fence: &Fence,
) -> Result<Option<targets::Model>, DbErr> {
    let claimed = targets::Entity::update_many()
        .col_expr(
            targets::Column::ClaimedBy,
            Expr::value(fence.holder.clone()),
        )
        .col_expr(targets::Column::Status, Expr::value(TargetStatus::Sending))
        .col_expr(
            targets::Column::Attempts,
            Expr::col(targets::Column::Attempts).add(1),
        )
        .col_expr(
            targets::Column::ClaimNo,
            Expr::col(targets::Column::ClaimNo).add(1),
        )
        .col_expr(targets::Column::ClaimedAt, Expr::value(now))
        .col_expr(targets::Column::UpdatedAt, Expr::value(now))
        .filter(targets::Column::Id.eq(target_id))
        .filter(targets::Column::Status.eq(TargetStatus::Pending))
        .filter(due(now))
        .filter(fence.holds(db.get_database_backend()))
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().next())
}

/// How renewing a claim before a part went.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal {
    Renewed,
    /// No longer this sender's `sending` claim: a sweep took it for abandoned and reported it
    /// unknown (and a retry may since have reopened it for another claim).
    Taken,
    /// Still this sender's claim, but the account's lease is not this worker's any more.
    Fenced,
}

/// Renews a `sending` claim before each part, recording the `parts_sent` delivered so far (so a
/// send cut short by a crash is recorded with the parts the group has).
pub async fn renew_claim(
    db: &impl ConnectionTrait,
    claim: Claim,
    parts_sent: i32,
    now: DateTime<Utc>,
    fence: &Fence,
) -> Result<Renewal, DbErr> {
    let renewed = targets::Entity::update_many()
        .col_expr(targets::Column::ClaimedAt, Expr::value(now))
        .col_expr(targets::Column::PartsSent, Expr::value(parts_sent))
        .filter(claim.filter())
        .filter(targets::Column::Status.eq(TargetStatus::Sending))
        .filter(fence.holds(db.get_database_backend()))
        .exec(db)
        .await?;
    if renewed.rows_affected == 1 {
        return Ok(Renewal::Renewed);
    }
    let sending = targets::Entity::find_by_id(claim.target_id)
        .one(db)
        .await?
        .is_some_and(|t| t.status == TargetStatus::Sending && t.claim_no == claim.number);
    Ok(if sending {
        Renewal::Fenced
    } else {
        Renewal::Taken
    })
}

/// Not waiting out a retry delay.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(targets::Column::NextAttemptAt.is_null())
        .add(targets::Column::NextAttemptAt.lte(now))
}

/// Whether any target of the run has been tried.
pub async fn attempted(db: &impl ConnectionTrait, run_id: i64) -> Result<bool, DbErr> {
    let tried = targets::Entity::find()
        .filter(targets::Column::RunId.eq(run_id))
        .filter(targets::Column::Attempts.gt(0))
        .one(db)
        .await?;
    Ok(tried.is_some())
}

/// When sends started since `since` — one account's, or everyone's — oldest first, to pace a
/// restarted sender as if it had never stopped.
pub async fn recent_sends(
    db: &impl ConnectionTrait,
    account_id: Option<i64>,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let mut query = targets::Entity::find()
        .select_only()
        .column(targets::Column::SentAt)
        .filter(targets::Column::SentAt.gte(since));
    if let Some(account_id) = account_id {
        query = query
            .inner_join(runs::Entity)
            .filter(runs::Column::AccountId.eq(account_id));
    }
    let sends: Vec<Option<DateTime<Utc>>> = query
        .order_by_asc(targets::Column::SentAt)
        .into_tuple()
        .all(db)
        .await?;
    Ok(sends.into_iter().flatten().collect())
}

/// How one attempt at a target ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Sent {
        wa_message_id: String,
        latency_ms: i64,
        parts_sent: i32,
    },
    /// Back to `pending` until `at`.
    Retry {
        at: DateTime<Utc>,
        reason: String,
        parts_sent: i32,
    },
    Failed {
        reason: String,
        parts_sent: i32,
    },
    /// WhatsApp may or may not have it (the send timed out): never retried.
    Unknown {
        reason: String,
        parts_sent: i32,
    },
    /// Handed back unsent to the account's new holder (this worker lost the lease between two
    /// parts): `pending` again with the parts the group has, the attempt not counted.
    Released {
        parts_sent: i32,
    },
}

/// Records the outcome of a claimed target; `true` when it landed on the claim itself, `false`
/// when another process had meanwhile taken the send for abandoned and reported it `unknown`.
/// Then the truth beats the guess — but a retry never reopens the target (its run may have
/// rolled up already): it is recorded failed instead, and an `unknown` stays as it was. Both
/// land only under the sender's own claim number: once a retry has reopened the target, a
/// later claim's row is never the late sender's to write (a `Sent` still lands on the reopened
/// row before anyone claims it again).
pub async fn settle(
    db: &impl ConnectionTrait,
    claim: Claim,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if record(db, claim, outcome, TargetStatus::Sending, now).await? {
        return Ok(true);
    }
    let truth = match outcome {
        Outcome::Retry {
            reason, parts_sent, ..
        } => Outcome::Failed {
            reason: format!("{reason}; not retried, as it was already reported unknown"),
            parts_sent: *parts_sent,
        },
        Outcome::Unknown { .. } | Outcome::Released { .. } => return Ok(false),
        other => other.clone(),
    };
    if record(db, claim, &truth, TargetStatus::Unknown, now).await? {
        return Ok(false);
    }
    // A confirmed retry reopened the group, and no later claim has taken it yet (its number is
    // still this one's): it has the message, so it must not be sent again.
    if matches!(truth, Outcome::Sent { .. }) {
        record(db, claim, &truth, TargetStatus::Pending, now).await?;
    }
    Ok(false)
}

/// Writes `outcome` if the target is in `from` under `claim`; `false` when it was not.
async fn record(
    db: &impl ConnectionTrait,
    claim: Claim,
    outcome: &Outcome,
    from: TargetStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let update = targets::Entity::update_many()
        .col_expr(targets::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            targets::Column::ClaimedAt,
            Expr::value(None::<DateTime<Utc>>),
        );
    let update = match outcome.clone() {
        Outcome::Sent {
            wa_message_id,
            latency_ms,
            parts_sent,
        } => update
            .col_expr(targets::Column::Status, Expr::value(TargetStatus::Sent))
            .col_expr(targets::Column::PartsSent, Expr::value(parts_sent))
            .col_expr(targets::Column::Reason, Expr::value(None::<String>))
            .col_expr(targets::Column::WaMessageId, Expr::value(wa_message_id))
            .col_expr(targets::Column::LatencyMs, Expr::value(latency_ms))
            .col_expr(targets::Column::SentAt, Expr::value(now))
            .col_expr(
                targets::Column::NextAttemptAt,
                Expr::value(None::<DateTime<Utc>>),
            ),
        Outcome::Retry {
            at,
            reason,
            parts_sent,
        } => update
            .col_expr(targets::Column::Status, Expr::value(TargetStatus::Pending))
            .col_expr(targets::Column::Reason, Expr::value(reason))
            .col_expr(targets::Column::PartsSent, Expr::value(parts_sent))
            .col_expr(targets::Column::NextAttemptAt, Expr::value(at)),
        Outcome::Released { parts_sent } => update
            .col_expr(targets::Column::Status, Expr::value(TargetStatus::Pending))
            .col_expr(targets::Column::PartsSent, Expr::value(parts_sent))
            .col_expr(
                targets::Column::Attempts,
                Expr::col(targets::Column::Attempts).sub(1),
            )
            .col_expr(
                targets::Column::NextAttemptAt,
                Expr::value(None::<DateTime<Utc>>),
            ),
        Outcome::Failed { reason, parts_sent } | Outcome::Unknown { reason, parts_sent } => {
            let status = match outcome {
                Outcome::Unknown { .. } => TargetStatus::Unknown,
                _ => TargetStatus::Failed,
            };
            update
                .col_expr(targets::Column::Status, Expr::value(status))
                .col_expr(targets::Column::Reason, Expr::value(reason))
                .col_expr(targets::Column::PartsSent, Expr::value(parts_sent))
                .col_expr(
                    targets::Column::NextAttemptAt,
                    Expr::value(None::<DateTime<Utc>>),
                )
        }
    };
    let done = update
        .filter(claim.filter())
        .filter(targets::Column::Status.eq(from))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Decides every still-pending target of `run_id` as `status` with `reason`.
pub async fn close_pending(
    db: &impl ConnectionTrait,
    run_id: i64,
    status: TargetStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let done = targets::Entity::update_many()
        .col_expr(targets::Column::Status, Expr::value(status))
        .col_expr(targets::Column::Reason, Expr::value(reason))
        .col_expr(targets::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            targets::Column::NextAttemptAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(targets::Column::RunId.eq(run_id))
        .filter(targets::Column::Status.eq(TargetStatus::Pending))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

pub async fn counts(db: &impl ConnectionTrait, run_id: i64) -> Result<RunCounts, DbErr> {
    let rows: Vec<(TargetStatus, i64)> = targets::Entity::find()
        .select_only()
        .column(targets::Column::Status)
        .column_as(targets::Column::Id.count(), "n")
        .filter(targets::Column::RunId.eq(run_id))
        .group_by(targets::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts = RunCounts::default();
    for (status, n) in rows {
        counts.add(status, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(counts)
}

/// The groups of `run` a retry sends to go back to pending, to be sent from the parts they
/// already have, with their retry delays afresh; `unknown` ones too, those named in `unknown`.
/// Their claim numbers stay, so a sender still holding an earlier claim can never record over
/// the next. Returns how many.
pub async fn reopen_unreached(
    db: &impl ConnectionTrait,
    run: &runs::Model,
    unknown: &[UnknownSend],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let done = targets::Entity::update_many()
        .col_expr(targets::Column::Status, Expr::value(TargetStatus::Pending))
        .col_expr(targets::Column::Reason, Expr::value(None::<String>))
        .col_expr(targets::Column::Attempts, Expr::value(0))
        .col_expr(targets::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            targets::Column::NextAttemptAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(service::runs::unreached_targets(run, unknown))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// A finished run in `from` runs again, as the operator asked (past its send window, like a
/// resumed one); `false` when it was not in `from` any more.
pub async fn reopen_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    from: RunStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(RunStatus::Running))
        .col_expr(runs::Column::Reason, Expr::value(None::<String>))
        .col_expr(runs::Column::FinishedAt, Expr::value(None::<DateTime<Utc>>))
        .col_expr(runs::Column::ResumedAt, Expr::value(now))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(from))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Moves a run from `from` to `to`; `false` when it was not in `from` any more.
pub async fn set_run_status(
    db: &impl ConnectionTrait,
    run_id: i64,
    from: RunStatus,
    to: RunStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(to))
        .col_expr(runs::Column::Reason, Expr::value(reason.map(str::to_owned)));
    update = match to {
        RunStatus::Running => update.col_expr(runs::Column::ResumedAt, Expr::value(now)),
        RunStatus::Paused => update,
        _ => update.col_expr(runs::Column::FinishedAt, Expr::value(now)),
    };
    let done = update
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(from))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

#[cfg(test)]
mod tests;
