//! Worker → server: events with ids that only grow, so an SSE reader that resumes after id N
//! misses nothing and sees nothing twice.

use chrono::Utc;
use domain::bus::{Event, stored};
use entity::events;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use super::wake::{Topic, notify};

/// Serialises event inserts on PostgreSQL (an arbitrary constant key for `pg_advisory_xact_lock`).
const PUBLISH_LOCK: i64 = 0x6865_7261_6c64_0001;

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub operator_id: Option<i64>,
    pub event: Event,
}

/// Appends `event` for `operator_id` inside `txn`. On PostgreSQL identity values are taken at
/// INSERT but become visible at COMMIT, so two concurrent publishers could commit ids out of
/// order and a reader tailing `id > last` would skip one; a transaction-scoped advisory lock
/// makes publishers take turns, so ids become visible in order. SQLite serialises writers anyway.
pub async fn publish_in(
    txn: &DatabaseTransaction,
    operator_id: Option<i64>,
    event: &Event,
) -> Result<i64, DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [PUBLISH_LOCK.into()],
        ))
        .await?;
    }
    let (kind, payload) = stored::split(event);
    let row = events::ActiveModel {
        kind: Set(kind),
        operator_id: Set(operator_id),
        account_id: Set(Some(event.account_id())),
        payload: Set(payload),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    notify(txn, Topic::Events).await?;
    Ok(row.id)
}

/// [`publish_in`] in a transaction of its own.
pub async fn publish(
    db: &DatabaseConnection,
    operator_id: Option<i64>,
    event: &Event,
) -> Result<i64, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let id = publish_in(&txn, operator_id, event).await?;
    txn.commit().await?;
    Ok(id)
}

/// Up to `limit` of the operator's events after `after`, oldest first. Rows that no longer decode
/// (written by a newer version) are skipped with a warning.
pub async fn after(
    db: &DatabaseConnection,
    operator_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<Stored>, DbErr> {
    let rows = events::Entity::find()
        .filter(events::Column::OperatorId.eq(operator_id))
        .filter(events::Column::Id.gt(after))
        .order_by_asc(events::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(decode).collect())
}

/// The latest `session.*` event of one account, for starting a pairing view in the right phase
/// (events are kept for [`super::RETENTION`]).
pub async fn latest_session_event(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<Option<Stored>, DbErr> {
    let rows = events::Entity::find()
        .filter(events::Column::AccountId.eq(account_id))
        .filter(events::Column::Kind.starts_with("session."))
        .order_by_desc(events::Column::Id)
        .limit(1)
        .all(db)
        .await?;
    Ok(rows.into_iter().find_map(decode))
}

/// The `session.*` events of one account's latest pairing, oldest first: from its latest
/// `session.pending` on (just the latest session event when no pairing is retained). Folded
/// through `Phase::apply`, they give the phase a pairing view starts in — including a code to
/// type on the phone that QR codes rotated on behind.
pub async fn current_pairing(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<Vec<Stored>, DbErr> {
    let started = events::Entity::find()
        .filter(events::Column::AccountId.eq(account_id))
        .filter(events::Column::Kind.eq("session.pending"))
        .order_by_desc(events::Column::Id)
        .one(db)
        .await?;
    let Some(started) = started else {
        return Ok(latest_session_event(db, account_id)
            .await?
            .into_iter()
            .collect());
    };
    let rows = events::Entity::find()
        .filter(events::Column::AccountId.eq(account_id))
        .filter(events::Column::Kind.starts_with("session."))
        .filter(events::Column::Id.gte(started.id))
        .order_by_asc(events::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(decode).collect())
}

/// The newest event id visible now (0 when there is none): where a fresh reader starts.
pub async fn latest_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    Ok(events::Entity::find()
        .order_by_desc(events::Column::Id)
        .one(db)
        .await?
        .map_or(0, |row| row.id))
}

fn decode(row: events::Model) -> Option<Stored> {
    match stored::join::<Event>(&row.kind, row.payload) {
        Ok(event) => Some(Stored {
            id: row.id,
            operator_id: row.operator_id,
            event,
        }),
        Err(e) => {
            tracing::warn!(id = row.id, kind = %row.kind, error = %e, "skipping undecodable event");
            None
        }
    }
}
