//! Wire types: what server functions and JSON endpoints send to the browser.

use serde::{Deserialize, Serialize};

/// The server's own view of its health, shared by `/api/health` and the System page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `ok` when every dependency answers, `degraded` otherwise.
    pub status: HealthStatus,
    pub database: ComponentHealth,
    /// `sqlite` or `postgres`.
    pub database_backend: String,
    pub uptime_secs: u64,
    pub version: String,
    pub commit: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentHealth {
    Ok,
    Unavailable,
}

/// One of the operator's signed-in devices, for the Settings page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// A short description of the browser and system, from its user agent.
    pub device: String,
    /// UTC, `YYYY-MM-DD HH:MM`.
    pub created_at: String,
    pub last_seen_at: String,
    /// The session this page was loaded with.
    pub current: bool,
}

/// The signed-in operator, as the Settings page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub display_name: String,
    pub timezone: String,
}
