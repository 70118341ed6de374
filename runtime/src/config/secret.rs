//! Values that must stay out of logs and error messages, and how strong a bearer token must be.

use std::fmt;

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this secret. Digests are compared, not the strings, so the time taken
    /// says nothing about how much of a guess was right.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        Sha256::digest(given) == Sha256::digest(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The shortest bearer token accepted: guessing 16 random characters is out of reach.
const MIN_TOKEN_LEN: usize = 16;

fn is_strong_token(token: &str) -> bool {
    token.len() >= MIN_TOKEN_LEN && !token.chars().any(char::is_whitespace)
}

/// A bearer token such as `METRICS_TOKEN`; the value itself is never echoed.
pub(super) fn parse_token(raw: String) -> Result<Secret, String> {
    if is_strong_token(&raw) {
        Ok(Secret::new(raw))
    } else {
        Err(format!(
            "expected at least {MIN_TOKEN_LEN} characters with no spaces \
             (e.g. from `openssl rand -hex 24`)"
        ))
    }
}
