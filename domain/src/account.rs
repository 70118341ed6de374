//! Validated inputs about WhatsApp accounts (the operator's label for one, a phone number), and
//! what the operator should do about an account in each state.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::status::AccountStatus;

/// What the operator should do about an account in `status`, in one or two sentences; `None`
/// for a connected one. The same words wherever an account's state is explained.
pub fn remedy(status: AccountStatus) -> Option<&'static str> {
    match status {
        AccountStatus::Connected => None,
        AccountStatus::Unpaired => Some(
            "Pair it: tap Pair and scan the code with WhatsApp on the phone (Settings → Linked \
             devices), or link it with the phone number.",
        ),
        AccountStatus::Pending => Some(
            "Finish pairing: scan the code, or enter the pairing code on the phone. Reminders \
             for this account are skipped until it is connected.",
        ),
        AccountStatus::Disconnected => Some(
            "Herald is reconnecting on its own; sends wait for it. If it stays disconnected, \
             check that the phone is online with WhatsApp open.",
        ),
        AccountStatus::LoggedOut => Some(
            "The phone unlinked Herald. Pair it again: reminders for this account are skipped \
             until then.",
        ),
        AccountStatus::Banned => Some(
            "WhatsApp banned this number: nothing can be sent from it. Appeal in the WhatsApp \
             app on the phone, or pair another number and move the reminders to it.",
        ),
    }
}

/// The longest label an account may have, in characters (the column is 64 wide).
pub const LABEL_MAX_CHARS: usize = 64;

/// What the operator calls an account ("Bakery", "Yoga studio"): trimmed, 1–64 characters, no
/// control characters. Unique per operator (the database enforces that part).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountLabel(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("give the account a name")]
    Blank,
    #[error("use at most {LABEL_MAX_CHARS} characters (this one has {0})")]
    TooLong(usize),
    #[error("the name may not contain control characters such as tabs or line breaks")]
    ControlCharacter,
}

impl AccountLabel {
    pub fn parse(raw: &str) -> Result<Self, LabelError> {
        let label = raw.trim();
        if label.is_empty() {
            return Err(LabelError::Blank);
        }
        let chars = label.chars().count();
        if chars > LABEL_MAX_CHARS {
            return Err(LabelError::TooLong(chars));
        }
        if label.chars().any(char::is_control) {
            return Err(LabelError::ControlCharacter);
        }
        Ok(Self(label.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` names the same account: names are one regardless of case.
    pub fn names(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.trim().to_lowercase()
    }
}

impl TryFrom<String> for AccountLabel {
    type Error = LabelError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AccountLabel> for String {
    fn from(label: AccountLabel) -> Self {
        label.0
    }
}

impl fmt::Display for AccountLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in international form without the plus: digits only, 7–15 of them (E.164).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected a phone number in international form, such as +44 7700 900123")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Accepts spaces, dashes, dots, brackets and one leading `+`.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhoneNumber> {
        let trimmed = raw.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(body.len());
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(InvalidPhoneNumber),
            }
        }
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(InvalidPhoneNumber);
        }
        Ok(Self(digits))
    }

    /// Digits only, as stored.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> Self {
        phone.0
    }
}

/// `+15550100001`: how the operator sees a number.
impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_but_connected_says_what_to_do() {
        for status in AccountStatus::ALL {
            let text = remedy(status);
            assert_eq!(
                text.is_none(),
                status == AccountStatus::Connected,
                "{status}"
            );
            assert!(text.is_none_or(|t| t.ends_with('.')), "{status}");
        }
        assert!(
            remedy(AccountStatus::LoggedOut)
                .unwrap()
                .contains("Pair it again")
        );
        assert!(remedy(AccountStatus::Banned).unwrap().contains("banned"));
    }

    #[test]
    fn label_is_trimmed_and_bounded() {
        assert_eq!(AccountLabel::parse("  Bakery ").unwrap().as_str(), "Bakery");
        assert_eq!(AccountLabel::parse("   "), Err(LabelError::Blank));
        assert_eq!(AccountLabel::parse(""), Err(LabelError::Blank));
        let max = "é".repeat(LABEL_MAX_CHARS);
        assert_eq!(AccountLabel::parse(&max).unwrap().as_str(), max);
        assert_eq!(
            AccountLabel::parse(&format!("{max}x")),
            Err(LabelError::TooLong(65))
        );
        assert_eq!(
            AccountLabel::parse("a\tb"),
            Err(LabelError::ControlCharacter)
        );
    }

    #[test]
    fn label_errors_read_as_sentences() {
        assert_eq!(
            LabelError::TooLong(70).to_string(),
            "use at most 64 characters (this one has 70)"
        );
    }

    #[test]
    fn phone_numbers_normalise_to_digits() {
        let phone = PhoneNumber::parse(" +44 (7700) 900-123 ").unwrap();
        assert_eq!(phone.digits(), "447700900123");
        assert_eq!(phone.to_string(), "+447700900123");
        for bad in [
            "",
            "+",
            "12345",
            "0447700900123",
            "44a7700900",
            "1234567890123456",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(InvalidPhoneNumber), "{bad}");
        }
    }
}
