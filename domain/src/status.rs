//! Status and kind enums shared by the database layer and the browser.
//!
//! The snake_case strings are the wire format (serde), the stored value (SeaORM, behind the
//! `sea-orm` feature) and what `Display`/`FromStr` use, so one spelling exists per variant.

use std::fmt;
use std::str::FromStr;

/// A string did not name any variant of a status/kind enum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownVariant {
    /// Name of the enum that was being parsed, e.g. `"AccountStatus"`.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        // 16 characters is the width of every status column in the migration.
        #[cfg_attr(
            feature = "sea-orm",
            derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter),
            sea_orm(
                rs_type = "String",
                db_type = "String(sea_orm::sea_query::StringLen::N(16))"
            )
        )]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[cfg_attr(feature = "sea-orm", sea_orm(string_value = $value))]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [Self; [$($value),+].len()] = [$(Self::$variant),+];

            /// The stored and serialized spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok(Self::$variant),)+
                    _ => Err(UnknownVariant {
                        kind: stringify!($name),
                        value: s.to_owned(),
                    }),
                }
            }
        }
    };
}

string_enum! {
    /// Connection state of a WhatsApp account (one paired phone session).
    pub enum AccountStatus {
        Unpaired = "unpaired",
        Pending = "pending",
        Connected = "connected",
        Disconnected = "disconnected",
        /// The phone unlinked the session; a new pairing is needed.
        LoggedOut = "logged_out",
        Banned = "banned",
    }
}

string_enum! {
    /// Which WhatsApp provider an account runs on.
    pub enum Provider {
        Web = "web",
        Sim = "sim",
    }
}

string_enum! {
    /// Lifecycle of a reminder (the schedule itself, not one send).
    pub enum ReminderStatus {
        Active = "active",
        Paused = "paused",
        Ended = "ended",
        Failed = "failed",
    }
}

string_enum! {
    /// Outcome of one reminder run (one occurrence sent to all its groups).
    pub enum RunStatus {
        Pending = "pending",
        Running = "running",
        Success = "success",
        /// Some groups received the message, some did not.
        Partial = "partial",
        Failed = "failed",
        Skipped = "skipped",
        Paused = "paused",
        Cancelled = "cancelled",
    }
}

impl RunStatus {
    /// Runs that left a group the operator wanted reached unreached — failed, partly sent, or
    /// skipped (its account offline, its time missed) — counted and shown as problems
    /// everywhere. A run the operator cancelled is their choice, and a paused one waits on them
    /// with its own alert: neither is a problem.
    pub const PROBLEMS: [RunStatus; 3] =
        [RunStatus::Failed, RunStatus::Partial, RunStatus::Skipped];

    pub fn is_problem(self) -> bool {
        Self::PROBLEMS.contains(&self)
    }
}

string_enum! {
    /// Delivery state of one run to one group.
    pub enum TargetStatus {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Skipped = "skipped",
        /// Delivery can be neither confirmed nor ruled out.
        Unknown = "unknown",
    }
}

string_enum! {
    /// Kind of one part of a reminder's message (and of an uploaded media file).
    pub enum MessageKind {
        Text = "text",
        Image = "image",
        Video = "video",
        Document = "document",
    }
}

string_enum! {
    /// Progress of a command in the server→worker outbox.
    pub enum CommandStatus {
        Pending = "pending",
        /// Claimed by a worker.
        Running = "running",
        Done = "done",
        Error = "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    /// Shows a value through its `Serialize` impl; serde's `Formatter` serializer writes a unit
    /// variant as its name, so no JSON crate is needed here.
    struct ViaSerde<T>(T);

    impl<T: serde::Serialize> fmt::Display for ViaSerde<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.serialize(f)
        }
    }

    fn check<T>(all: &[T])
    where
        T: Copy
            + fmt::Debug
            + fmt::Display
            + PartialEq
            + FromStr<Err = UnknownVariant>
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        for &v in all {
            let s = v.to_string();
            assert_eq!(s.parse::<T>().unwrap(), v);
            assert!(s.len() <= 16, "{s} does not fit the status column");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s} is not snake_case"
            );

            assert_eq!(ViaSerde(v).to_string(), s);
            let de: StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
            assert_eq!(T::deserialize(de).unwrap(), v);
        }
    }

    #[test]
    fn round_trips() {
        check(&AccountStatus::ALL);
        check(&Provider::ALL);
        check(&ReminderStatus::ALL);
        check(&RunStatus::ALL);
        check(&TargetStatus::ALL);
        check(&MessageKind::ALL);
        check(&CommandStatus::ALL);
    }

    #[test]
    fn as_str_is_snake_case() {
        assert_eq!(AccountStatus::LoggedOut.as_str(), "logged_out");
        assert_eq!(RunStatus::ALL.len(), 8);
        assert_eq!(RunStatus::ALL[7], RunStatus::Cancelled);
    }

    #[test]
    fn unknown_value_is_named() {
        let err = "LoggedOut".parse::<AccountStatus>().unwrap_err();
        assert_eq!(
            err,
            UnknownVariant {
                kind: "AccountStatus",
                value: "LoggedOut".to_owned()
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("AccountStatus") && msg.contains("\"LoggedOut\""),
            "{msg}"
        );

        let de: StrDeserializer<'_, DeError> = "done".into_deserializer();
        assert!(RunStatus::deserialize(de).is_err());
    }
}
