//! An IANA time zone name that Herald can compute local times in.

#[cfg(target_arch = "wasm32")]
mod intl;

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What computes a zone's offsets: the bundled tz database on the server and in the worker, the
/// platform's own in the browser, whose build would otherwise carry the database's tables.
#[cfg(not(target_arch = "wasm32"))]
pub type Zone = chrono_tz::Tz;
#[cfg(target_arch = "wasm32")]
pub use intl::IntlZone as Zone;

/// A validated IANA time zone, e.g. `Europe/London`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}: expected an IANA name such as Europe/London")]
pub struct UnknownTimeZone(pub String);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zone itself, for computing local times.
    pub fn tz(self) -> Zone {
        #[cfg(not(target_arch = "wasm32"))]
        return self.0;
        #[cfg(target_arch = "wasm32")]
        return intl::IntlZone(self.0);
    }

    /// Every zone Herald knows, in alphabetical order of name: the choices a picker offers.
    pub fn all() -> impl Iterator<Item = TimeZone> {
        chrono_tz::TZ_VARIANTS.iter().copied().map(TimeZone)
    }
}

impl FromStr for TimeZone {
    type Err = UnknownTimeZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| UnknownTimeZone(s.to_owned()))
    }
}

impl TryFrom<String> for TimeZone {
    type Error = UnknownTimeZone;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TimeZone> for String {
    fn from(tz: TimeZone) -> Self {
        tz.name().to_owned()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_do_not() {
        for name in [
            "Europe/London",
            "America/New_York",
            "Asia/Kuala_Lumpur",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            assert_eq!(name.parse::<TimeZone>().unwrap().name(), name);
        }
        for bad in ["", "Mars/Olympus", "GMT+25"] {
            let err = bad.parse::<TimeZone>().unwrap_err();
            assert!(err.to_string().contains("IANA"), "{bad}");
        }
    }

    #[test]
    fn every_zone_is_listed_once_in_name_order() {
        let names: Vec<&str> = TimeZone::all().map(TimeZone::name).collect();
        assert!(names.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(names.contains(&"Europe/London") && names.contains(&"UTC"));
    }
}
