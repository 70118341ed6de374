//! One-time login links: the way into the dashboard. A link carries 32 random bytes; only their
//! SHA-256 is stored, so a database leak yields no usable link. A link works once, for ten
//! minutes, and only for an operator who is still on the whitelist. This module is the only
//! writer of `login_tokens`.

use chrono::{DateTime, Duration, Utc};
use entity::{login_tokens, operators};
use runtime::config::PublicUrl;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

use crate::{
    audit::{self, Actor},
    operators as operator_store,
    secret_token::SecretToken,
};

/// How long a link stays valid.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);

/// The path prefix links live under; the server routes `/login/{token}`.
pub const LINK_PATH: &str = "/login/";

/// A freshly issued link.
#[derive(Debug)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("operator {0} does not exist or is disabled")]
    NotAnOperator(i64),
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Why a redemption was refused. The operator sees one friendly message for all of them; the
/// audit log keeps the precise reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Unknown,
    AlreadyUsed,
    Expired,
    OperatorDisabled,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Unknown => "unknown",
            Refusal::AlreadyUsed => "already_used",
            Refusal::Expired => "expired",
            Refusal::OperatorDisabled => "operator_disabled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("login link refused: {}", .0.as_str())]
    Refused(Refusal),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Issues a link for an active operator and audits who asked for it.
pub async fn issue(
    db: &impl ConnectionTrait,
    operator_id: i64,
    public_url: &PublicUrl,
    actor: Actor,
) -> Result<IssuedLink, IssueError> {
    if operator_store::find_active(db, operator_id)
        .await?
        .is_none()
    {
        return Err(IssueError::NotAnOperator(operator_id));
    }
    let token = SecretToken::generate().map_err(IssueError::Random)?;
    let now = Utc::now();
    let expires_at = now + LINK_LIFETIME;
    // Keep the table small: links that expired a day ago can never matter again.
    login_tokens::Entity::delete_many()
        .filter(login_tokens::Column::ExpiresAt.lt(now - Duration::days(1)))
        .exec(db)
        .await?;
    login_tokens::ActiveModel {
        operator_id: Set(operator_id),
        token_hash: Set(token.hash()),
        expires_at: Set(expires_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        audit::Entry::new(actor, "login_link.issued").operator(operator_id),
    )
    .await?;
    Ok(IssuedLink {
        url: link_url(public_url, &token),
        expires_at,
    })
}

fn link_url(public_url: &PublicUrl, token: &SecretToken) -> String {
    public_url.join(&format!("{LINK_PATH}{}", token.as_str()))
}

/// Spends a link: succeeds at most once per token, even when two requests race, because the
/// claim is one conditional UPDATE.
pub async fn redeem(db: &impl ConnectionTrait, raw: &str) -> Result<operators::Model, RedeemError> {
    let token = SecretToken::parse(raw).ok_or(RedeemError::Refused(Refusal::Malformed))?;
    let hash = token.hash();
    let now = Utc::now();
    let claimed = login_tokens::Entity::update_many()
        .col_expr(login_tokens::Column::UsedAt, Expr::value(now))
        .filter(login_tokens::Column::TokenHash.eq(hash.as_str()))
        .filter(login_tokens::Column::UsedAt.is_null())
        .filter(login_tokens::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    let row = login_tokens::Entity::find()
        .filter(login_tokens::Column::TokenHash.eq(hash.as_str()))
        .one(db)
        .await?;
    let refusal = match (&row, claimed) {
        (Some(_), true) => None,
        (None, _) => Some(Refusal::Unknown),
        (Some(row), false) if row.used_at.is_some() => Some(Refusal::AlreadyUsed),
        (Some(_), false) => Some(Refusal::Expired),
    };
    if let Some(refusal) = refusal {
        return Err(RedeemError::Refused(refusal));
    }
    let operator_id = row.map(|r| r.operator_id).unwrap_or_default();
    operator_store::find_active(db, operator_id)
        .await?
        .ok_or(RedeemError::Refused(Refusal::OperatorDisabled))
}
