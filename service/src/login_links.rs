//! One-time login links: the way into the dashboard. A link carries 32 random bytes; only their
//! SHA-256 is stored, so a database leak yields no usable link. A link works once, for ten
//! minutes, and only for an operator who is still on the whitelist. This module is the only
//! writer of `login_tokens`.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::{login_tokens, operators};
use runtime::config::PublicUrl;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};

use crate::{
    audit::{self, Actor},
    operators as operator_store,
};

/// How long a link stays valid.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);

/// The path prefix links live under; the server routes `/login/{token}`.
pub const LINK_PATH: &str = "/login/";

const TOKEN_BYTES: usize = 32;

/// A login token as it appears in a link: 32 bytes, base64url without padding (43 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginToken(String);

impl LoginToken {
    fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only what [`LoginToken::generate`] produces; anything else is malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        (bytes.len() == TOKEN_BYTES && raw.len() == 43).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database stores: hex SHA-256 of the token.
    pub fn hash(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Never print a live token.
impl fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginToken([redacted])")
    }
}

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
    let token = LoginToken::generate().map_err(IssueError::Random)?;
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

fn link_url(public_url: &PublicUrl, token: &LoginToken) -> String {
    public_url.join(&format!("{LINK_PATH}{}", token.as_str()))
}

/// Spends a link: succeeds at most once per token, even when two requests race, because the
/// claim is one conditional UPDATE.
pub async fn redeem(db: &impl ConnectionTrait, raw: &str) -> Result<operators::Model, RedeemError> {
    let token = LoginToken::parse(raw).ok_or(RedeemError::Refused(Refusal::Malformed))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_are_distinct() {
        let a = LoginToken::generate().unwrap();
        let b = LoginToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(LoginToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert!(
            !format!("{a:?}").contains(a.as_str()),
            "Debug must not print the token"
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = LoginToken::generate().unwrap();
        let too_short = &good.as_str()[..42];
        let bad_alphabet = format!("{}+", &good.as_str()[..42]);
        for raw in [
            "",
            "x",
            too_short,
            bad_alphabet.as_str(),
            "../../etc/passwd",
        ] {
            assert_eq!(LoginToken::parse(raw), None, "{raw:?}");
        }
    }
}
