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

/// One of the operator's WhatsApp accounts, as the Accounts pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub label: String,
    /// `web` (real WhatsApp) or `sim` (the built-in simulator).
    pub provider: domain::status::Provider,
    pub status: domain::status::AccountStatus,
    /// Why the account is in its status, in the worker's words (e.g. why it was logged out).
    pub status_reason: Option<String>,
    /// `+15550100001`, once a phone is linked.
    pub phone: Option<String>,
    /// UTC, `YYYY-MM-DD HH:MM`.
    pub last_seen_at: Option<String>,
    pub last_connected_at: Option<String>,
    pub created_at: String,
}

/// A WhatsApp group one account belongs to (or belonged to, when archived).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub participants: u32,
    /// The account left the group, or it disappeared; kept for reminders' history.
    pub archived: bool,
    /// UTC, `YYYY-MM-DD HH:MM`.
    pub last_synced_at: String,
}

/// What deleting an account takes with it, for the confirmation dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteImpactView {
    pub groups: u64,
    pub reminders: u64,
}

/// Where the account's pairing stands, and the event id to follow the live stream from: the
/// phase already accounts for every event up to `event_id`, the stream replays anything newer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingView {
    pub phase: domain::pairing::Phase,
    pub event_id: i64,
}

/// Everything the account page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account: AccountView,
    /// Current groups first, by name; archived ones after.
    pub groups: Vec<GroupView>,
    pub impact: DeleteImpactView,
    pub pairing: PairingView,
}
