//! The WhatsApp simulator's settings, used only by accounts on the `sim` provider.

use super::parse::{check, parse_in_range};

/// The variables, in the order [`SimConfig::from_vars`] reads them.
pub(super) const VARS: [&str; 4] = [
    "SIM_TIME_SCALE",
    "SIM_AUTO_SCAN_SECS",
    "SIM_GROUP_COUNT",
    "SIM_SEND_LATENCY_MS",
];

/// The WhatsApp simulator's knobs (`SIM_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Multiplies every simulated delay (QR lifetimes, connect and send latency); tests use
    /// small values such as 0.01 so a whole pairing takes well under a second.
    pub time_scale: f64,
    /// Scan the first QR code by itself after this long (real seconds), for demos.
    pub auto_scan_secs: Option<u32>,
    /// How many groups each simulated phone is in (1–1000).
    pub group_count: u32,
    /// How long a simulated send takes before the time scale, in milliseconds.
    pub send_latency_ms: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            auto_scan_secs: None,
            group_count: 12,
            send_latency_ms: 400,
        }
    }
}

impl SimConfig {
    /// The settings from [`VARS`] and their values; an unset one keeps its default.
    pub(super) fn from_vars(
        problems: &mut Vec<String>,
        vars: &[(&str, Option<String>); 4],
    ) -> Self {
        let [
            (time_scale_key, time_scale),
            (auto_scan_key, auto_scan),
            (group_count_key, group_count),
            (send_latency_key, send_latency),
        ] = vars;
        let defaults = SimConfig::default();
        SimConfig {
            time_scale: check(
                problems,
                time_scale_key,
                match time_scale.as_deref().map(str::parse::<f64>) {
                    None => Ok(defaults.time_scale),
                    Some(Ok(v)) if v > 0.0 && v <= 100.0 => Ok(v),
                    _ => Err(format!(
                        "expected a number above 0 and at most 100, such as 0.05, got {:?}",
                        time_scale.as_deref().unwrap_or_default()
                    )),
                },
            )
            .unwrap_or(defaults.time_scale),
            auto_scan_secs: check(
                problems,
                auto_scan_key,
                auto_scan
                    .as_deref()
                    .map(|raw| parse_in_range(raw, 1, 3600, "seconds"))
                    .transpose(),
            )
            .flatten(),
            group_count: check(
                problems,
                group_count_key,
                group_count
                    .as_deref()
                    .map_or(Ok(defaults.group_count), |raw| {
                        parse_in_range(raw, 1, 1000, "groups")
                    }),
            )
            .unwrap_or(defaults.group_count),
            send_latency_ms: check(
                problems,
                send_latency_key,
                send_latency
                    .as_deref()
                    .map_or(Ok(defaults.send_latency_ms), |raw| {
                        parse_in_range(raw, 0, 60_000, "milliseconds")
                    }),
            )
            .unwrap_or(defaults.send_latency_ms),
        }
    }
}
