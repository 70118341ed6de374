//! Server → worker: commands written in the same transaction as the change that asks for them,
//! claimed by exactly one worker, marked done or failed.
//!
//! A claimer renews its claims every [`HEARTBEAT`] while it lives. A claim not renewed for
//! [`ORPHANED_AFTER`] belongs to a worker that is gone (killed, crashed) and goes back to
//! pending; a live worker's claims never do, even when a peer starts beside it on PostgreSQL.

use std::time::Duration;

use chrono::Utc;
use domain::{bus::Command, bus::stored, status::CommandStatus};
use entity::commands;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, UpdateMany,
};

use super::wake::{Topic, notify};

/// How often a live claimer renews its claims.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// How long a claim outlives its last renewal: several missed heartbeats (a busy database, a
/// slow disk), and then some for clock differences between peers.
pub const ORPHANED_AFTER: Duration = Duration::from_secs(60);

/// A command some worker now owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub command: Command,
}

/// Queues `command`; pass the transaction of the change it belongs to.
pub async fn enqueue(db: &impl ConnectionTrait, command: &Command) -> Result<i64, DbErr> {
    let (kind, payload) = stored::split(command);
    let row = commands::ActiveModel {
        kind: Set(kind),
        account_id: Set(Some(command.account_id())),
        payload: Set(payload),
        status: Set(CommandStatus::Pending),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    notify(db, Topic::Commands).await?;
    Ok(row.id)
}

/// Takes the oldest pending command matching `only` for `claimer` (a name unique to the worker
/// process), or `None` when there is none. A row moves `pending → running` by a conditional
/// UPDATE, so when two claimers race for it exactly one wins; the other moves on to the next row.
/// `only` is part of that UPDATE too: a worker passes "the account's lease is mine"
/// (`crate::leases::held_by`), which then fences the claim. A row that no longer decodes is
/// failed, not retried.
pub async fn claim_next(
    db: &DatabaseConnection,
    claimer: &str,
    only: Condition,
) -> Result<Option<Claimed>, DbErr> {
    loop {
        let candidates = commands::Entity::find()
            .filter(commands::Column::Status.eq(CommandStatus::Pending))
            .filter(only.clone())
            .order_by_asc(commands::Column::Id)
            .limit(8)
            .all(db)
            .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        for row in candidates {
            let now = Utc::now();
            let won = commands::Entity::update_many()
                .col_expr(
                    commands::Column::Status,
                    CommandStatus::Running.as_str().into(),
                )
                .col_expr(commands::Column::ClaimedBy, claimer.into())
                .col_expr(commands::Column::ClaimedAt, now.into())
                .col_expr(commands::Column::HeartbeatAt, now.into())
                .filter(commands::Column::Id.eq(row.id))
                .filter(commands::Column::Status.eq(CommandStatus::Pending))
                .filter(only.clone())
                .exec(db)
                .await?
                .rows_affected
                == 1;
            if !won {
                continue;
            }
            match stored::join::<Command>(&row.kind, row.payload) {
                Ok(command) => {
                    return Ok(Some(Claimed {
                        id: row.id,
                        command,
                    }));
                }
                Err(e) => {
                    tracing::error!(id = row.id, kind = %row.kind, error = %e, "undecodable command");
                    finish(
                        db,
                        row.id,
                        claimer,
                        Err(format!("cannot decode {}: {e}", row.kind)),
                    )
                    .await?;
                }
            }
        }
    }
}

/// Records how a claimed command ended.
pub async fn finish(
    db: &DatabaseConnection,
    id: i64,
    claimer: &str,
    outcome: Result<(), String>,
) -> Result<(), DbErr> {
    let (status, error) = match outcome {
        Ok(()) => (CommandStatus::Done, None),
        Err(e) => (CommandStatus::Error, Some(e)),
    };
    // Only while the claim is still this claimer's: a claim released meanwhile (taken for
    // orphaned) belongs to whoever runs the command now, and their outcome stands.
    let finished = commands::Entity::update_many()
        .col_expr(commands::Column::Status, status.as_str().into())
        .col_expr(commands::Column::Error, error.into())
        .col_expr(commands::Column::FinishedAt, Utc::now().into())
        .filter(commands::Column::Id.eq(id))
        .filter(commands::Column::Status.eq(CommandStatus::Running))
        .filter(commands::Column::ClaimedBy.eq(claimer))
        .exec(db)
        .await?;
    if finished.rows_affected == 0 {
        tracing::warn!(id, claimer, "a command's claim was lost before it finished");
    }
    Ok(())
}

/// Puts a claimed command back in line, unrun or to be run again (its claimer learned it is not
/// the one to run it): only while the claim is still `claimer`'s.
pub async fn unclaim(db: &DatabaseConnection, id: i64, claimer: &str) -> Result<(), DbErr> {
    back_in_line()
        .filter(commands::Column::Id.eq(id))
        .filter(commands::Column::Status.eq(CommandStatus::Running))
        .filter(commands::Column::ClaimedBy.eq(claimer))
        .exec(db)
        .await?;
    notify(db, Topic::Commands).await
}

/// Renews `claimer`'s claims: it is alive. Returns how many it holds.
pub async fn heartbeat(db: &DatabaseConnection, claimer: &str) -> Result<u64, DbErr> {
    commands::Entity::update_many()
        .col_expr(commands::Column::HeartbeatAt, Utc::now().into())
        .filter(commands::Column::Status.eq(CommandStatus::Running))
        .filter(commands::Column::ClaimedBy.eq(claimer))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// Puts orphaned claims back to pending: commands whose claimer stopped renewing them for
/// [`ORPHANED_AFTER`] (it was killed or crashed before finishing them). They run again, so a
/// command that sends names what it sends after its row (the same message id every time), and
/// WhatsApp keeps one. Claims of live workers stay theirs.
///
/// `orphaned_after` is [`ORPHANED_AFTER`], or zero for a worker that knows it runs alone (on
/// SQLite one worker holds the database's lock): then every claim left is its predecessor's.
pub async fn release_abandoned(
    db: &DatabaseConnection,
    orphaned_after: Duration,
) -> Result<u64, DbErr> {
    let orphaned_after =
        chrono::Duration::from_std(orphaned_after).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now() - orphaned_after;
    let released = back_in_line()
        .filter(commands::Column::Status.eq(CommandStatus::Running))
        .filter(
            Condition::any()
                .add(commands::Column::HeartbeatAt.is_null())
                .add(commands::Column::HeartbeatAt.lte(cutoff)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if released > 0 {
        notify(db, Topic::Commands).await?;
    }
    Ok(released)
}

/// An UPDATE that puts the commands it is filtered to back to pending, unclaimed.
fn back_in_line() -> UpdateMany<commands::Entity> {
    commands::Entity::update_many()
        .col_expr(
            commands::Column::Status,
            CommandStatus::Pending.as_str().into(),
        )
        .col_expr(commands::Column::ClaimedBy, Option::<String>::None.into())
        .col_expr(
            commands::Column::HeartbeatAt,
            Option::<chrono::DateTime<Utc>>::None.into(),
        )
}
