//! Server → worker: commands written in the same transaction as the change that asks for them,
//! claimed by exactly one worker, marked done or failed.

use chrono::Utc;
use domain::{bus::Command, bus::stored, status::CommandStatus};
use entity::commands;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::wake::{Topic, notify};

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

/// Takes the oldest pending command for `claimer`, or `None` when there is none. A row moves
/// `pending → running` by a conditional UPDATE, so when two claimers race for it exactly one
/// wins; the other moves on to the next row. A row that no longer decodes is failed, not retried.
pub async fn claim_next(db: &DatabaseConnection, claimer: &str) -> Result<Option<Claimed>, DbErr> {
    loop {
        let candidates = commands::Entity::find()
            .filter(commands::Column::Status.eq(CommandStatus::Pending))
            .order_by_asc(commands::Column::Id)
            .limit(8)
            .all(db)
            .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        for row in candidates {
            let won = commands::Entity::update_many()
                .col_expr(
                    commands::Column::Status,
                    CommandStatus::Running.as_str().into(),
                )
                .col_expr(commands::Column::ClaimedBy, claimer.into())
                .col_expr(commands::Column::ClaimedAt, Utc::now().into())
                .filter(commands::Column::Id.eq(row.id))
                .filter(commands::Column::Status.eq(CommandStatus::Pending))
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
                    finish(db, row.id, Err(format!("cannot decode {}: {e}", row.kind))).await?;
                }
            }
        }
    }
}

/// Records how a claimed command ended.
pub async fn finish(
    db: &DatabaseConnection,
    id: i64,
    outcome: Result<(), String>,
) -> Result<(), DbErr> {
    let (status, error) = match outcome {
        Ok(()) => (CommandStatus::Done, None),
        Err(e) => (CommandStatus::Error, Some(e)),
    };
    commands::ActiveModel {
        id: Set(id),
        status: Set(status),
        error: Set(error),
        finished_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(db)
    .await
    .map(|_| ())
}

/// Commands a previous worker claimed and never finished (it crashed or was killed): they go
/// back to pending, because every command is safe to run again.
pub async fn release_abandoned(db: &DatabaseConnection) -> Result<u64, DbErr> {
    commands::Entity::update_many()
        .col_expr(
            commands::Column::Status,
            CommandStatus::Pending.as_str().into(),
        )
        .col_expr(commands::Column::ClaimedBy, Option::<String>::None.into())
        .filter(commands::Column::Status.eq(CommandStatus::Running))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
