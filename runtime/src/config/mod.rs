//! Herald's configuration: one typed struct for both binaries, read from the environment plus an
//! optional `.env` file, validated before anything starts. Every problem is collected, so an
//! operator fixes a broken deployment in one go instead of one restart per typo.
//!
//! `settings` lists every variable; `sources` reads them from the environment and `.env`; `env`
//! parses them and collects the problems; each setting's type, and how its values are checked,
//! lives in the file named for it.

mod database_url;
mod delivery;
mod env;
mod logging;
mod parse;
mod public_url;
mod secret;
mod settings;
mod sim;
mod sources;
mod telegram;
#[cfg(test)]
mod tests;
mod trusted_proxies;

use std::{net::SocketAddr, path::PathBuf};

use domain::{status::Provider, timezone::TimeZone};
use url::Url;

pub use self::{
    database_url::{Backend, DEFAULT_DATABASE_URL, DatabaseUrl},
    delivery::DeliveryConfig,
    env::ConfigError,
    logging::{LogConfig, LogFormat},
    public_url::PublicUrl,
    secret::Secret,
    settings::{DefaultValue, Process, REDACTED, SETTINGS, Secrecy, Setting, used_by},
    sim::SimConfig,
    sources::{Origin, Sources},
    telegram::{TelegramConfig, TelegramUserId},
    trusted_proxies::TrustedProxies,
};

/// Everything Herald reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// Where the SQLite database (by default), media and other state live.
    pub data_dir: PathBuf,
    /// The address operators reach the dashboard at; login links and Origin checks derive from it.
    pub public_url: PublicUrl,
    /// Where the web server listens (`LEPTOS_SITE_ADDR`, the name cargo-leptos also uses).
    pub server_addr: SocketAddr,
    /// The built site (wasm, css, assets) the server serves (`LEPTOS_SITE_ROOT`).
    pub site_root: PathBuf,
    /// The worker's health listener; internal, so it binds to loopback by default.
    pub worker_health_addr: SocketAddr,
    /// The worker's name in logs, `/health` and the System page (`WORKER_ID`); unset, the host
    /// and process id.
    pub worker_id: Option<String>,
    /// How long a worker's lease on an account outlives its last renewal (`LEASE_TTL_SECS`):
    /// with several workers, how soon a dead one's accounts move.
    pub lease_ttl_secs: u32,
    pub log: LogConfig,
    /// Which WhatsApp implementation new accounts use.
    pub wa_provider: Provider,
    /// Development only: the WebSocket URL the `web` provider connects to instead of WhatsApp's.
    pub wa_web_url: Option<Url>,
    /// Present only when a bot token is configured.
    pub telegram: Option<TelegramConfig>,
    /// Who may use Herald. Empty means embedded mode: one local operator, no Telegram login.
    pub allowed_user_ids: Vec<TelegramUserId>,
    /// The time zone new operators start with.
    pub default_timezone: TimeZone,
    /// How simulated accounts behave (used only by accounts on the `sim` provider).
    pub sim: SimConfig,
    pub delivery: DeliveryConfig,
    /// The bearer token the server's `/metrics` requires; unset, the server serves no metrics
    /// (the worker's internal listener always does).
    pub metrics_token: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
}
