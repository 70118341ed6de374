//! Wire types: what server functions and JSON endpoints send to the browser.

use serde::{Deserialize, Serialize};

pub mod agenda;
pub mod reminders;

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

/// Which worker runs what, for the System page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkersReport {
    pub workers: Vec<WorkerRow>,
    /// The operator's accounts no live worker runs now (none while the workers are healthy).
    pub unheld: Vec<String>,
}

/// What delivery is doing for the operator, for the System page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The operator's accounts by status, most urgent first: "1 logged out", "3 connected".
    pub accounts: Vec<String>,
    /// Maintenance tasks due or running.
    pub jobs_waiting: u64,
    /// Maintenance tasks out of retries.
    pub jobs_failed: u64,
    /// The operator's last fire, on their clock, with its reminder's name.
    pub last_fire: Option<String>,
}

/// One live worker process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRow {
    /// Its `WORKER_ID`.
    pub name: String,
    pub version: String,
    /// On the operator's clock, `YYYY-MM-DD HH:MM`.
    pub started_at: String,
    /// Every account it runs, whoever's.
    pub accounts: usize,
    /// The operator's own accounts it runs, by label.
    pub own_accounts: Vec<String>,
    /// "Telegram bot", "Maintenance".
    pub jobs: Vec<String>,
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
    /// On the operator's clock, `YYYY-MM-DD HH:MM`.
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

/// The operator's calendar link, without its secret (shown once, when made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarFeedView {
    /// When it was made, on the operator's clock.
    pub created_at: String,
    /// When a calendar app last read it, if one has.
    pub last_read_at: Option<String>,
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

// Dashboard and runs: the home page's figures, activity feed and account health, and the runs
// list across reminders. Times are already in words on the operator's clock ("Today 09:00").

/// Everything the dashboard shows, and the event id to follow the live stream from (the data
/// reflects every event up to it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub stats: StatsView,
    pub activity: ActivityView,
    /// Accounts that need attention first.
    pub accounts: Vec<AccountChipView>,
    pub event_id: i64,
}

/// The stat cards' figures; "today" is the operator's calendar day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsView {
    pub accounts_connected: u64,
    pub accounts_total: u64,
    pub active_reminders: u64,
    pub runs_today: u64,
    /// Runs today that left a group unreached: failed, partly sent or skipped.
    pub problems_today: u64,
}

/// The activity feed: the latest runs since the operator last cleared it, and what its empty
/// state should say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    pub runs: Vec<RunRowView>,
    /// When the feed was last cleared, on the operator's clock.
    pub cleared_at: Option<String>,
    /// The operator has at least one reminder, whatever its status.
    pub has_reminders: bool,
    /// The soonest fire of an active reminder: what will appear here next.
    pub next_fire: Option<NextFireView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextFireView {
    pub reminder_id: i64,
    pub reminder_name: String,
    pub when: String,
    pub account_label: String,
    pub groups: usize,
    /// Its account is not connected.
    pub account_away: bool,
}

/// One run in the activity feed or the runs list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunRowView {
    pub id: i64,
    /// `None` once the reminder is deleted; the run keeps its name.
    pub reminder_id: Option<i64>,
    pub reminder_name: String,
    /// The occurrence on the operator's clock, e.g. "Today 09:00".
    pub when: String,
    /// The occurrence in UTC, RFC 3339, for `<time datetime>`.
    pub at: String,
    pub status: domain::status::RunStatus,
    pub sent: u32,
    pub total: u32,
}

/// One account in the dashboard's health strip.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountChipView {
    pub id: i64,
    pub label: String,
    pub status: domain::status::AccountStatus,
    pub simulated: bool,
    /// On the operator's clock; `None` when never seen.
    pub last_seen: Option<String>,
    /// Logged out, banned or disconnected: it cannot send until something changes.
    pub needs_attention: bool,
}

/// A page of the runs list and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsView {
    pub runs: Vec<RunRowView>,
    /// The `before` of the next page, when there is one.
    pub next: Option<String>,
    /// The day asked for, as `YYYY-MM-DD` (`today` resolved on the operator's clock).
    pub day: Option<String>,
    pub event_id: i64,
}

// Audit log, failed jobs and the time zone setting.

/// One audit log entry, as the Audit log page shows it: a sentence with names, the time, where
/// from, and (folded away) the recorded detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    /// In the operator's time zone, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    /// "You paused “Weekday class”.", its target a link where it has a page.
    pub sentence: AuditSentence,
    /// The action's code, e.g. `reminder.created`: what the filter takes.
    pub action: String,
    /// The entry's detail as compact JSON, secrets masked.
    pub detail: Option<String>,
    pub client_ip: Option<String>,
}

/// A sentence in three pieces, so its target can be a link: `lead`, `target`, `tail`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSentence {
    pub lead: String,
    pub target: Option<AuditTarget>,
    pub tail: String,
}

/// What an entry is about: “Weekday class”, linked to its page when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTarget {
    pub text: String,
    pub href: Option<String>,
}

/// One page of the operator's audit log, newest first, with the filter's choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// The `before` cursor of the next, older page, when there is one.
    pub older: Option<i64>,
    /// Every action in the operator's log, by code.
    pub actions: Vec<String>,
    /// Every kind of target in the operator's log (`account`, `reminder`, ...).
    pub target_kinds: Vec<String>,
    /// The IANA time zone the times are in.
    pub timezone: String,
}

/// A queued task that failed for good, as the Failed jobs page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJobView {
    /// The task's uuid: what Retry sends back.
    pub id: String,
    /// What the task does, in words: "Daily media clean-up".
    pub title: String,
    /// What it is for.
    pub detail: String,
    /// Why its last attempt failed, in the worker's words.
    pub error: Option<String>,
    pub retries: i32,
    /// When it failed, in the operator's time zone, `YYYY-MM-DD HH:MM`.
    pub failed_at: String,
}

/// The operator's failed jobs and the time zone their times are in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJobsView {
    pub jobs: Vec<FailedJobView>,
    pub timezone: String,
}
