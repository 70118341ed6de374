//! What the server and the worker share: configuration, logging, the database and, as Herald
//! grows, the queries and mutations both sides run (never written twice).

pub mod accounts;
pub mod audit;
pub mod build_info;
pub mod bus;
pub mod config;
pub mod dashboard;
pub mod database;
pub mod drafts;
pub mod healthcheck;
pub mod jobs;
pub mod login_links;
pub mod media;
pub mod metrics;
pub mod operators;
pub mod qr;
pub mod reminders;
pub mod runs;
pub mod sessions;
pub mod shutdown;
pub mod telemetry;
pub mod trusted_proxies;
