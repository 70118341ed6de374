//! SeaORM entities for Herald's tables, one module per table (fang's `fang_tasks` belongs to
//! fang and has none). The schema itself lives in the `migration` crate.

pub mod audit_log;
pub mod auth_sessions;
pub mod calendar_feeds;
pub mod commands;
pub mod events;
pub mod leases;
pub mod login_tokens;
pub mod media_files;
pub mod operators;
pub mod reminder_drafts;
pub mod reminder_messages;
pub mod reminder_owed_fires;
pub mod reminder_run_parts;
pub mod reminder_run_targets;
pub mod reminder_runs;
pub mod reminder_targets;
pub mod reminder_trash;
pub mod reminders;
pub mod sim_connections;
pub mod sim_messages;
pub mod sim_overlaps;
pub mod telegram_alert_cursors;
pub mod wa_devices;
pub mod wa_keys;
pub mod whatsapp_accounts;
pub mod whatsapp_groups;
pub mod workers;

pub mod prelude {
    pub use super::audit_log::Entity as AuditLog;
    pub use super::auth_sessions::Entity as AuthSessions;
    pub use super::calendar_feeds::Entity as CalendarFeeds;
    pub use super::commands::Entity as Commands;
    pub use super::events::Entity as Events;
    pub use super::leases::Entity as Leases;
    pub use super::login_tokens::Entity as LoginTokens;
    pub use super::media_files::Entity as MediaFiles;
    pub use super::operators::Entity as Operators;
    pub use super::reminder_drafts::Entity as ReminderDrafts;
    pub use super::reminder_messages::Entity as ReminderMessages;
    pub use super::reminder_owed_fires::Entity as ReminderOwedFires;
    pub use super::reminder_run_parts::Entity as ReminderRunParts;
    pub use super::reminder_run_targets::Entity as ReminderRunTargets;
    pub use super::reminder_runs::Entity as ReminderRuns;
    pub use super::reminder_targets::Entity as ReminderTargets;
    pub use super::reminder_trash::Entity as ReminderTrash;
    pub use super::reminders::Entity as Reminders;
    pub use super::sim_connections::Entity as SimConnections;
    pub use super::sim_messages::Entity as SimMessages;
    pub use super::sim_overlaps::Entity as SimOverlaps;
    pub use super::telegram_alert_cursors::Entity as TelegramAlertCursors;
    pub use super::wa_devices::Entity as WaDevices;
    pub use super::wa_keys::Entity as WaKeys;
    pub use super::whatsapp_accounts::Entity as WhatsappAccounts;
    pub use super::whatsapp_groups::Entity as WhatsappGroups;
    pub use super::workers::Entity as Workers;
}
