//! Dashboard sessions, stored in `auth_sessions` so they survive restarts and an operator can
//! see and end them. Implements tower-sessions' `SessionStore`; this module is the only writer
//! of `auth_sessions`. Rows are keyed by the SHA-256 of the cookie's session id, so a copy of
//! the database holds no usable session.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{auth_sessions, operators};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store,
};

/// Session keys Herald writes. `operator_id` and `user_agent` are also copied into their own
/// columns so the Settings page and the whitelist sync can query them.
pub const OPERATOR_KEY: &str = "operator_id";
pub const USER_AGENT_KEY: &str = "user_agent";
/// Unix seconds of the last write; rewriting it is what slides the expiry (tower-sessions saves,
/// and re-issues the cookie, only when a session changes).
pub const TOUCHED_KEY: &str = "touched_at";

/// The `auth_sessions.id` of a session: hex SHA-256 of its cookie id.
pub fn row_key(id: &Id) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(id.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Removes sessions past their expiry; returns how many.
    pub async fn delete_expired(&self) -> Result<u64, DbErr> {
        auth_sessions::Entity::delete_many()
            .filter(auth_sessions::Column::ExpiresAt.lt(Utc::now()))
            .exec(&self.db)
            .await
            .map(|r| r.rows_affected)
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX))
}

fn to_time(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
        t.timestamp_nanos_opt().unwrap_or(i64::MAX),
    ))
    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn row(
    record: &Record,
    now: DateTime<Utc>,
) -> Result<auth_sessions::ActiveModel, session_store::Error> {
    Ok(auth_sessions::ActiveModel {
        id: Set(row_key(&record.id)),
        operator_id: Set(record.data.get(OPERATOR_KEY).and_then(|v| v.as_i64())),
        data: Set(serde_json::to_vec(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?),
        expires_at: Set(to_chrono(record.expiry_date)),
        created_at: Set(now),
        last_seen_at: Set(now),
        user_agent: Set(record
            .data
            .get(USER_AGENT_KEY)
            .and_then(|v| v.as_str())
            .map(|ua| ua.chars().take(512).collect())),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; a collision is astronomically unlikely, but never overwrite.
        loop {
            match auth_sessions::Entity::insert(row(record, Utc::now())?)
                .exec(&self.db)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    record.id = Id::default();
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Updates only: a session ended meanwhile (logout, "sign out everywhere else", removal from
    /// the whitelist) must not be brought back by a request that was already in flight.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut changes = row(record, Utc::now())?;
        changes.id = NotSet;
        changes.created_at = NotSet;
        auth_sessions::Entity::update_many()
            .set(changes)
            .filter(auth_sessions::Column::Id.eq(row_key(&record.id)))
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(found) = auth_sessions::Entity::find_by_id(row_key(id))
            .filter(auth_sessions::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_slice(&found.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: to_time(found.expires_at),
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        auth_sessions::Entity::delete_by_id(row_key(id))
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

/// An operator's live sessions, most recently used first.
pub async fn for_operator(
    db: &impl ConnectionTrait,
    operator_id: i64,
) -> Result<Vec<auth_sessions::Model>, DbErr> {
    auth_sessions::Entity::find()
        .filter(auth_sessions::Column::OperatorId.eq(operator_id))
        .filter(auth_sessions::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(auth_sessions::Column::LastSeenAt)
        .all(db)
        .await
}

/// Whether the session row `key` (a [`row_key`]) still exists unexpired for `operator_id`, and
/// the operator is still active: what a long-lived request re-checks.
pub async fn is_live(
    db: &impl ConnectionTrait,
    key: &str,
    operator_id: i64,
) -> Result<bool, DbErr> {
    let found = auth_sessions::Entity::find_by_id(key)
        .filter(auth_sessions::Column::OperatorId.eq(operator_id))
        .filter(auth_sessions::Column::ExpiresAt.gt(Utc::now()))
        .inner_join(operators::Entity)
        .filter(operators::Column::DisabledAt.is_null())
        .count(db)
        .await?;
    Ok(found > 0)
}

/// Ends every session of the operator except the one whose [`row_key`] is `keep`; returns how
/// many ended.
pub async fn end_others(
    db: &impl ConnectionTrait,
    operator_id: i64,
    keep: &str,
) -> Result<u64, DbErr> {
    auth_sessions::Entity::delete_many()
        .filter(auth_sessions::Column::OperatorId.eq(operator_id))
        .filter(auth_sessions::Column::Id.ne(keep))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

/// Ends every session of the operator (removed from the whitelist).
pub async fn end_all(db: &impl ConnectionTrait, operator_id: i64) -> Result<u64, DbErr> {
    auth_sessions::Entity::delete_many()
        .filter(auth_sessions::Column::OperatorId.eq(operator_id))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}
