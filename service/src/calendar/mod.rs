//! The calendar feed: a secret `.ics` link per operator, so the sends to come appear in their
//! own calendar app. The link carries a [`SecretToken`]; only its hash is stored, so the link
//! is shown once, when made. Making a new one revokes the old. This module is the only writer of
//! `calendar_feeds`.

pub mod ics;

use chrono::{DateTime, Duration, Utc};
use entity::calendar_feeds;
use runtime::config::PublicUrl;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set, SqlErr, sea_query::Expr,
};

use crate::{
    audit::{self, Actor},
    operators as operator_store,
    secret_token::SecretToken,
};

/// The path feeds are served under: `/calendar/<token>.ics`.
pub const FEED_PATH: &str = "/calendar/";

/// How far ahead a feed lists sends.
pub const FEED_DAYS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// An operator's link, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    pub created_at: DateTime<Utc>,
    pub last_read_at: Option<DateTime<Utc>>,
}

/// Makes the operator's link, replacing any they had; returns its URL (shown once).
pub async fn create(
    db: &DatabaseConnection,
    actor: Actor,
    operator_id: i64,
    public_url: &PublicUrl,
) -> Result<String, FeedError> {
    let token = SecretToken::generate().map_err(FeedError::Random)?;
    match replace(db, actor, operator_id, &token).await {
        // Another tab made one at the same moment (PostgreSQL): this one replaces it.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            replace(db, actor, operator_id, &token).await?
        }
        other => other?,
    }
    Ok(public_url.join(&format!("{FEED_PATH}{}.ics", token.as_str())))
}

/// Deletes the operator's link, if any, and stores `token`'s, in one transaction.
async fn replace(
    db: &DatabaseConnection,
    actor: Actor,
    operator_id: i64,
    token: &SecretToken,
) -> Result<(), DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let replaced = calendar_feeds::Entity::delete_many()
        .filter(calendar_feeds::Column::OperatorId.eq(operator_id))
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    calendar_feeds::ActiveModel {
        operator_id: Set(operator_id),
        token_hash: Set(token.hash()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        audit::Entry::new(actor, "calendar_feed.created")
            .operator(operator_id)
            .detail(serde_json::json!({ "replaced": replaced })),
    )
    .await?;
    txn.commit().await
}

/// Revokes the operator's link; `false` when they had none.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: Actor,
    operator_id: i64,
) -> Result<bool, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let revoked = calendar_feeds::Entity::delete_many()
        .filter(calendar_feeds::Column::OperatorId.eq(operator_id))
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    if revoked {
        audit::record(
            &txn,
            audit::Entry::new(actor, "calendar_feed.revoked").operator(operator_id),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(revoked)
}

/// The operator's link, if they have one.
pub async fn find(db: &impl ConnectionTrait, operator_id: i64) -> Result<Option<Feed>, DbErr> {
    Ok(calendar_feeds::Entity::find()
        .filter(calendar_feeds::Column::OperatorId.eq(operator_id))
        .one(db)
        .await?
        .map(|row| Feed {
            created_at: row.created_at,
            last_read_at: row.last_read_at,
        }))
}

/// The operator a feed's file name (`<token>.ics`) belongs to, noting the read; `None` for a
/// malformed, unknown or revoked token, or an operator no longer on the whitelist.
pub async fn reader(db: &impl ConnectionTrait, file: &str) -> Result<Option<i64>, DbErr> {
    let Some(token) = file.strip_suffix(".ics").and_then(SecretToken::parse) else {
        return Ok(None);
    };
    let Some(feed) = calendar_feeds::Entity::find()
        .filter(calendar_feeds::Column::TokenHash.eq(token.hash()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if operator_store::find_active(db, feed.operator_id)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    // Calendar apps poll often: a read is noted at most once a minute.
    let now = Utc::now();
    if feed
        .last_read_at
        .is_none_or(|at| now - at >= Duration::minutes(1))
    {
        calendar_feeds::Entity::update_many()
            .col_expr(calendar_feeds::Column::LastReadAt, Expr::value(Some(now)))
            .filter(calendar_feeds::Column::Id.eq(feed.id))
            .exec(db)
            .await?;
    }
    Ok(Some(feed.operator_id))
}
