//! The secrets links carry (login links, calendar feeds): 32 random bytes, of which the
//! database keeps only the SHA-256, so a leaked database yields no usable link.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;

/// A secret as it appears in a link: 32 random bytes, base64url without padding (43
/// characters). Only its [`SecretToken::hash`] is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only what [`SecretToken::generate`] produces; anything else is malformed.
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
impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_are_distinct() {
        let a = SecretToken::generate().unwrap();
        let b = SecretToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(SecretToken::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert!(
            !format!("{a:?}").contains(a.as_str()),
            "Debug must not print the token"
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = SecretToken::generate().unwrap();
        let too_short = &good.as_str()[..42];
        let bad_alphabet = format!("{}+", &good.as_str()[..42]);
        for raw in [
            "",
            "x",
            too_short,
            bad_alphabet.as_str(),
            "../../etc/passwd",
        ] {
            assert_eq!(SecretToken::parse(raw), None, "{raw:?}");
        }
    }
}
