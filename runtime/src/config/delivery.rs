//! How reminders go out: the pacing that keeps an account from looking like a spammer.

use super::parse::{check, parse_in_range};

/// The variables, in the order [`DeliveryConfig::from_vars`] reads them.
pub(super) const VARS: [&str; 6] = [
    "SEND_MIN_INTERVAL_MS",
    "SEND_JITTER_MS",
    "SEND_PER_MINUTE",
    "SEND_PER_HOUR",
    "FIRE_GRACE_MINUTES",
    "SEND_TIMEOUT_SECS",
];

/// How reminders go out (`SEND_*`, `FIRE_GRACE_MINUTES`): the pacing that keeps an account from
/// looking like a spammer, and how late a missed occurrence may still fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Least time between two sends of one account, before jitter.
    pub min_interval_ms: u32,
    /// Each gap varies by up to ± this much, so sends do not tick like a machine.
    pub jitter_ms: u32,
    /// At most this many sends per account in any 60 seconds.
    pub per_minute: u32,
    /// At most this many sends in any hour, all accounts together.
    pub per_hour: u32,
    /// An occurrence missed while the worker was down still fires this late; later, it is
    /// recorded as a skipped run with reason `missed`.
    pub grace_minutes: u32,
    /// A send WhatsApp has not answered by then is `unknown` (never re-sent).
    pub send_timeout_secs: u32,
}

impl DeliveryConfig {
    /// The pacing rules these settings give: what the worker sends by, and what the agenda
    /// expects a run to take.
    pub fn pacing(&self) -> domain::pacing::Rules {
        domain::pacing::Rules {
            min_interval: std::time::Duration::from_millis(self.min_interval_ms.into()),
            jitter: std::time::Duration::from_millis(self.jitter_ms.into()),
            per_minute: self.per_minute,
            per_hour_global: self.per_hour,
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            min_interval_ms: 3000,
            jitter_ms: 1000,
            per_minute: 20,
            per_hour: 5000,
            grace_minutes: 10,
            send_timeout_secs: 120,
        }
    }
}

impl DeliveryConfig {
    /// The settings from [`VARS`] and their values; an unset one keeps its default.
    pub(super) fn from_vars(
        problems: &mut Vec<String>,
        vars: &[(&str, Option<String>); 6],
    ) -> Self {
        let defaults = DeliveryConfig::default();
        let mut number = |(key, raw): &(&str, Option<String>), default, min, max, unit| {
            raw.as_deref().map_or(Some(default), |raw| {
                check(problems, key, parse_in_range(raw, min, max, unit))
            })
        };
        let [interval, jitter, per_minute, per_hour, grace, timeout] = vars;
        DeliveryConfig {
            min_interval_ms: number(
                interval,
                defaults.min_interval_ms,
                0,
                600_000,
                "milliseconds",
            )
            .unwrap_or(defaults.min_interval_ms),
            jitter_ms: number(jitter, defaults.jitter_ms, 0, 60_000, "milliseconds")
                .unwrap_or(defaults.jitter_ms),
            per_minute: number(per_minute, defaults.per_minute, 1, 100_000, "sends")
                .unwrap_or(defaults.per_minute),
            per_hour: number(per_hour, defaults.per_hour, 1, 10_000_000, "sends")
                .unwrap_or(defaults.per_hour),
            grace_minutes: number(grace, defaults.grace_minutes, 0, 1440, "minutes")
                .unwrap_or(defaults.grace_minutes),
            send_timeout_secs: number(timeout, defaults.send_timeout_secs, 1, 600, "seconds")
                .unwrap_or(defaults.send_timeout_secs),
        }
    }
}
