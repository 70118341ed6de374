//! The database-facing rules the server and the worker share: the queries and mutations both
//! sides run (never written twice), and opening the database itself. What a process needs around
//! them (configuration, logging, signals) is in `runtime`.

pub mod accounts;
pub mod agenda;
pub mod audit;
pub mod bus;
pub mod calendar;
pub mod dashboard;
pub mod database;
pub mod drafts;
pub mod jobs;
pub mod leases;
pub mod login_links;
pub mod media;
pub mod metrics;
pub mod operators;
pub mod reminders;
pub mod runs;
pub mod secret_token;
pub mod web_sessions;
