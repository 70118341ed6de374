//! The command/event bus (docs/architecture.md, "The bus"), on the database: rows are the truth;
//! PostgreSQL's NOTIFY (or, on SQLite, a short poll) only wakes the other side.

pub mod commands;
pub mod events;
pub mod wake;

use chrono::{Duration, Utc};
use entity::{commands as command_rows, events as event_rows};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

/// How long finished commands and delivered events are kept.
pub const RETENTION: Duration = Duration::days(1);

/// Deletes events and finished commands older than [`RETENTION`]; returns how many rows went.
pub async fn prune(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let cutoff = Utc::now() - RETENTION;
    let events = event_rows::Entity::delete_many()
        .filter(event_rows::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    let commands = command_rows::Entity::delete_many()
        .filter(command_rows::Column::FinishedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(events.rows_affected + commands.rows_affected)
}
