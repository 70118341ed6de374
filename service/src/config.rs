//! Herald's configuration: one typed struct for both binaries, read from the environment plus an
//! optional `.env` file, validated before anything starts. Every problem is collected, so an
//! operator fixes a broken deployment in one go instead of one restart per typo.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf};

use domain::{status::Provider, timezone::TimeZone};
use url::Url;

use crate::trusted_proxies::TrustedProxies;

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

/// A Telegram user id, as the whitelist lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelegramUserId(pub i64);

impl TelegramUserId {
    fn parse_list(raw: &str) -> Result<Vec<Self>, String> {
        let mut ids = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<i64>() {
                Ok(id) if id > 0 => ids.push(TelegramUserId(id)),
                _ => {
                    return Err(format!(
                        "expected comma-separated Telegram user ids such as 12345,67890, got {part:?}"
                    ));
                }
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive string (`RUST_LOG`), already checked to parse.
    pub filter: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Clone, Debug)]
pub struct TelegramConfig {
    pub bot_token: Secret,
    pub api_url: Url,
}

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this secret. Digests are compared, not the strings, so the time taken
    /// says nothing about how much of a guess was right.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        Sha256::digest(given) == Sha256::digest(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Which database engine a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL Herald can use: `sqlite://path`, `sqlite::memory:` or `postgres://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = "expected sqlite://<path>, sqlite::memory: or postgres://user@host/db";
        let backend = if raw.starts_with("sqlite:") {
            Backend::Sqlite
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            // Only the scheme: a mistyped URL may still carry a password.
            return Err(match raw.split_once("://") {
                Some((scheme, _)) => format!("{expected}, got a {scheme:?} URL"),
                None => format!("{expected}, got something that is not a URL"),
            });
        };
        let url = Self {
            url: raw.to_owned(),
            backend,
        };
        match backend {
            Backend::Sqlite if !url.is_sqlite_memory() && url.sqlite_path().is_none() => {
                Err(format!("{expected}, got a sqlite URL without a path"))
            }
            Backend::Postgres => match Url::parse(raw) {
                Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
                // Never echo a PostgreSQL URL back: it may carry a password.
                _ => Err(format!(
                    "{expected}, got a postgres URL without a valid host"
                )),
            },
            Backend::Sqlite => Ok(url),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL as given, password included: for connecting, never for logging.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The SQLite file this URL names, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.backend != Backend::Sqlite || self.is_sqlite_memory() {
            return None;
        }
        let rest = self.url.trim_start_matches("sqlite:");
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty()).then(|| PathBuf::from(path))
    }

    fn is_sqlite_memory(&self) -> bool {
        let rest = self.url.trim_start_matches("sqlite:");
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        rest.starts_with(":memory:") || self.url.contains("mode=memory")
    }
}

/// Shows the URL with any password masked (in the user info or a `password=` parameter), so it
/// is safe to log.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(mut url) = Url::parse(&self.url) else {
            return f.write_str(&self.url);
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query_pairs().any(|(k, _)| k.contains("password")) {
            let masked: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.contains("password") {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(masked);
        }
        f.write_str(url.as_str())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The dashboard's public base URL: http(s), with a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url =
            Url::parse(raw).map_err(|e| format!("expected an http(s) URL, got {raw:?} ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("expected an http(s) URL with a host, got {raw:?}"));
        }
        Ok(Self(url))
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The absolute address of a dashboard `path` (starting with `/`), under any base path the
    /// public URL has.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0.as_str().trim_end_matches('/'))
    }
}

/// Every problem found in the environment, one per variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/herald.db";
/// whatsapp-rust's connection loop logs every failed attempt itself; Herald logs each attempt once,
/// with its reason and the next delay, so the library's lifecycle lines are off unless asked for.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,\
whatsapp_rust=warn,wacore=warn,whatsapp_rust::client::lifecycle=off";

impl Config {
    /// Reads the process environment, falling back to `./.env` for variables it does not set.
    pub fn load() -> Result<Self, ConfigError> {
        let dotenv = match dotenvy::from_path_iter(".env") {
            Ok(iter) => iter
                .collect::<Result<HashMap<_, _>, _>>()
                .map_err(|e| ConfigError {
                    problems: vec![dotenv_problem(&e)],
                })?,
            Err(e) if e.not_found() => HashMap::new(),
            Err(e) => {
                return Err(ConfigError {
                    problems: vec![dotenv_problem(&e)],
                });
            }
        };
        Self::from_lookup(|key| match std::env::var(key) {
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => dotenv.get(key).cloned().map(Ok),
            Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
        })
    }

    /// Builds the configuration from a lookup: `None` for unset, `Some(Err(()))` for a value that
    /// is not valid UTF-8. Empty values count as unset, as shells and compose files produce them.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<Result<String, ()>>,
    ) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut get = |key: &str| match lookup(key) {
            Some(Ok(v)) if !v.trim().is_empty() => Some(v.trim().to_owned()),
            Some(Ok(_)) | None => None,
            Some(Err(())) => {
                problems.push(format!("{key}: is not valid UTF-8"));
                None
            }
        };
        let database_url = get("DATABASE_URL");
        let data_dir = get("DATA_DIR");
        let public_url = get("PUBLIC_URL");
        let server_addr = get("LEPTOS_SITE_ADDR");
        let site_root = get("LEPTOS_SITE_ROOT");
        let worker_health_addr = get("WORKER_HEALTH_ADDR");
        let log_format = get("LOG_FORMAT");
        let log_filter = get("RUST_LOG");
        let wa_provider = get("WA_PROVIDER");
        let wa_web_url = get("WA_WEB_URL");
        let bot_token = get("TELEGRAM_BOT_TOKEN");
        let telegram_api_url = get("TELEGRAM_API_URL");
        let allowed_user_ids = get("TELEGRAM_ALLOWED_USER_IDS");
        let default_timezone = get("DEFAULT_TIMEZONE");
        let sim_time_scale = get("SIM_TIME_SCALE");
        let sim_auto_scan = get("SIM_AUTO_SCAN_SECS");
        let sim_groups = get("SIM_GROUP_COUNT");
        let sim_latency = get("SIM_SEND_LATENCY_MS");
        let metrics_token = get("METRICS_TOKEN");
        let trusted_proxies = get("TRUSTED_PROXIES");
        let delivery_vars = [
            "SEND_MIN_INTERVAL_MS",
            "SEND_JITTER_MS",
            "SEND_PER_MINUTE",
            "SEND_PER_HOUR",
            "FIRE_GRACE_MINUTES",
            "SEND_TIMEOUT_SECS",
        ]
        .map(|key| (key, get(key)));

        let database_url = check(
            &mut problems,
            "DATABASE_URL",
            DatabaseUrl::parse(database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)),
        );
        let public_url = check(
            &mut problems,
            "PUBLIC_URL",
            PublicUrl::parse(public_url.as_deref().unwrap_or("http://localhost:3000")),
        );
        let server_addr = check(
            &mut problems,
            "LEPTOS_SITE_ADDR",
            parse_addr(server_addr, "127.0.0.1:3000"),
        );
        let worker_health_addr = check(
            &mut problems,
            "WORKER_HEALTH_ADDR",
            parse_addr(worker_health_addr, "127.0.0.1:8081"),
        );
        let log_format = check(
            &mut problems,
            "LOG_FORMAT",
            match log_format.as_deref() {
                None | Some("pretty") => Ok(LogFormat::Pretty),
                Some("json") => Ok(LogFormat::Json),
                Some(other) => Err(format!("expected pretty or json, got {other:?}")),
            },
        );
        let log_filter = log_filter.unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
        let log_filter = check(
            &mut problems,
            "RUST_LOG",
            tracing_subscriber::EnvFilter::try_new(&log_filter)
                .map(|_| log_filter.clone())
                .map_err(|e| format!("expected tracing filter directives such as info,herald=debug, got {log_filter:?} ({e})")),
        );
        let wa_provider = check(
            &mut problems,
            "WA_PROVIDER",
            match wa_provider.as_deref() {
                None => Ok(Provider::Web),
                Some(raw) => raw
                    .parse::<Provider>()
                    .map_err(|_| format!("expected web or sim, got {raw:?}")),
            },
        );
        let wa_web_url = check(
            &mut problems,
            "WA_WEB_URL",
            wa_web_url.as_deref().map(parse_ws_url).transpose(),
        );
        let telegram_api_url = check(
            &mut problems,
            "TELEGRAM_API_URL",
            Url::parse(
                telegram_api_url
                    .as_deref()
                    .unwrap_or("https://api.telegram.org"),
            )
            .map_err(|e| format!("expected a URL, got {telegram_api_url:?} ({e})")),
        );
        let allowed_user_ids = check(
            &mut problems,
            "TELEGRAM_ALLOWED_USER_IDS",
            TelegramUserId::parse_list(allowed_user_ids.as_deref().unwrap_or_default()),
        );
        let default_timezone = check(
            &mut problems,
            "DEFAULT_TIMEZONE",
            default_timezone
                .as_deref()
                .unwrap_or("UTC")
                .parse::<TimeZone>()
                .map_err(|e| e.to_string()),
        );
        let defaults = SimConfig::default();
        let sim = SimConfig {
            time_scale: check(
                &mut problems,
                "SIM_TIME_SCALE",
                match sim_time_scale.as_deref().map(str::parse::<f64>) {
                    None => Ok(defaults.time_scale),
                    Some(Ok(v)) if v > 0.0 && v <= 100.0 => Ok(v),
                    _ => Err(format!(
                        "expected a number above 0 and at most 100, such as 0.05, got {:?}",
                        sim_time_scale.as_deref().unwrap_or_default()
                    )),
                },
            )
            .unwrap_or(defaults.time_scale),
            auto_scan_secs: check(
                &mut problems,
                "SIM_AUTO_SCAN_SECS",
                sim_auto_scan
                    .as_deref()
                    .map(|raw| parse_in_range(raw, 1, 3600, "seconds"))
                    .transpose(),
            )
            .flatten(),
            group_count: check(
                &mut problems,
                "SIM_GROUP_COUNT",
                sim_groups
                    .as_deref()
                    .map_or(Ok(defaults.group_count), |raw| {
                        parse_in_range(raw, 1, 1000, "groups")
                    }),
            )
            .unwrap_or(defaults.group_count),
            send_latency_ms: check(
                &mut problems,
                "SIM_SEND_LATENCY_MS",
                sim_latency
                    .as_deref()
                    .map_or(Ok(defaults.send_latency_ms), |raw| {
                        parse_in_range(raw, 0, 60_000, "milliseconds")
                    }),
            )
            .unwrap_or(defaults.send_latency_ms),
        };
        let delivery = {
            let defaults = DeliveryConfig::default();
            let mut number = |(key, raw): &(&str, Option<String>), default, min, max, unit| {
                raw.as_deref().map_or(Some(default), |raw| {
                    check(&mut problems, key, parse_in_range(raw, min, max, unit))
                })
            };
            let [interval, jitter, per_minute, per_hour, grace, timeout] = &delivery_vars;
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
        };
        let telegram = match bot_token {
            // Bot tokens look like `123456:ABC-…`; the value itself is never echoed.
            Some(token) if !looks_like_bot_token(&token) => {
                problems.push(
                    "TELEGRAM_BOT_TOKEN: expected <bot id>:<secret> as issued by @BotFather"
                        .to_owned(),
                );
                None
            }
            Some(token) => telegram_api_url.map(|api_url| TelegramConfig {
                bot_token: Secret::new(token),
                api_url,
            }),
            None => None,
        };

        let trusted_proxies = check(
            &mut problems,
            "TRUSTED_PROXIES",
            TrustedProxies::parse(trusted_proxies.as_deref().unwrap_or_default()).map_err(|e| {
                format!("expected comma-separated IP addresses or CIDR blocks, such as 127.0.0.1,172.16.0.0/12: {e}")
            }),
        )
        .unwrap_or_default();
        let metrics_token = match metrics_token {
            // The value itself is never echoed.
            Some(token) if !is_strong_token(&token) => {
                problems.push(format!(
                    "METRICS_TOKEN: expected at least {MIN_TOKEN_LEN} characters with no spaces \
                     (e.g. from `openssl rand -hex 24`)"
                ));
                None
            }
            other => other.map(Secret::new),
        };

        // Each check that yielded `None` recorded a problem, so with none recorded all are `Some`.
        let (
            Some(database_url),
            Some(public_url),
            Some(server_addr),
            Some(worker_health_addr),
            Some(format),
            Some(filter),
            Some(wa_provider),
            Some(wa_web_url),
            Some(allowed_user_ids),
            Some(default_timezone),
        ) = (
            database_url,
            public_url,
            server_addr,
            worker_health_addr,
            log_format,
            log_filter,
            wa_provider,
            wa_web_url,
            allowed_user_ids,
            default_timezone,
        )
        else {
            return Err(ConfigError { problems });
        };
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            database_url,
            data_dir: PathBuf::from(data_dir.unwrap_or_else(|| "./data".to_owned())),
            public_url,
            server_addr,
            site_root: PathBuf::from(site_root.unwrap_or_else(|| "target/site".to_owned())),
            worker_health_addr,
            log: LogConfig { format, filter },
            wa_provider,
            wa_web_url,
            telegram,
            allowed_user_ids,
            default_timezone,
            sim,
            delivery,
            metrics_token,
            trusted_proxies,
        })
    }
}

/// The shortest bearer token accepted: guessing 16 random characters is out of reach.
const MIN_TOKEN_LEN: usize = 16;

fn is_strong_token(token: &str) -> bool {
    token.len() >= MIN_TOKEN_LEN && !token.chars().any(char::is_whitespace)
}

/// A whole number from `min` to `max` inclusive.
fn parse_in_range(raw: &str, min: u32, max: u32, unit: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("expected {min} to {max} {unit}, got {raw:?}")),
    }
}

/// Describes a `.env` problem without quoting the file: its lines hold secrets.
fn dotenv_problem(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(_, index) => {
            format!(".env: cannot be parsed (near character {index}); expected NAME=value lines")
        }
        other => format!(".env: cannot be read: {other}"),
    }
}

/// Keeps a valid value, or records why it is not.
fn check<T>(problems: &mut Vec<String>, key: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|e| problems.push(format!("{key}: {e}")))
        .ok()
}

fn parse_ws_url(raw: &str) -> Result<Url, String> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "ws" | "wss") => Ok(url),
        Ok(_) => Err(format!("expected a ws:// or wss:// URL, got {raw:?}")),
        Err(e) => Err(format!("expected a ws:// or wss:// URL, got {raw:?} ({e})")),
    }
}

fn parse_addr(value: Option<String>, default: &str) -> Result<SocketAddr, String> {
    let raw = value.as_deref().unwrap_or(default);
    raw.parse()
        .map_err(|_| format!("expected an IP address and port such as {default}, got {raw:?}"))
}

fn looks_like_bot_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() >= 20
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|key| vars.get(key).cloned().map(Ok))
    }

    #[test]
    fn nothing_set_gives_the_embedded_defaults() {
        let config = load(&[]).expect("defaults are valid");
        assert_eq!(config.database_url.backend(), Backend::Sqlite);
        assert_eq!(
            config.database_url.sqlite_path(),
            Some(PathBuf::from("data/herald.db"))
        );
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.public_url.url().as_str(), "http://localhost:3000/");
        assert_eq!(config.server_addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.worker_health_addr, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(config.log.format, LogFormat::Pretty);
        assert_eq!(config.wa_provider, Provider::Web);
        assert_eq!(config.wa_web_url, None);
        assert!(config.telegram.is_none());
    }

    #[test]
    fn whatsapp_url_override_must_be_a_websocket_url() {
        let config = load(&[("WA_WEB_URL", "ws://127.0.0.1:9000/ws/chat")]).unwrap();
        assert_eq!(
            config.wa_web_url.map(|u| u.to_string()).as_deref(),
            Some("ws://127.0.0.1:9000/ws/chat")
        );
        for bad in ["http://127.0.0.1:9000/ws/chat", "not a url"] {
            let err = load(&[("WA_WEB_URL", bad)]).unwrap_err();
            assert!(
                err.problems[0].starts_with("WA_WEB_URL: expected a ws:// or wss:// URL"),
                "{:?}",
                err.problems
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = load(&[
            ("DATABASE_URL", "nope://x"),
            ("LOG_FORMAT", "xml"),
            ("WORKER_HEALTH_ADDR", "localhost"),
            ("WA_PROVIDER", "carrier-pigeon"),
        ])
        .unwrap_err();
        let keys: Vec<&str> = err
            .problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "DATABASE_URL",
                "WORKER_HEALTH_ADDR",
                "LOG_FORMAT",
                "WA_PROVIDER"
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("\"nope\" URL")
                && text.contains("\"xml\"")
                && text.contains("carrier-pigeon"),
            "{text}"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = load(&[("DATABASE_URL", ""), ("LOG_FORMAT", "  ")]).unwrap();
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(config.log.format, LogFormat::Pretty);
    }

    #[test]
    fn non_utf8_values_are_named() {
        let err = Config::from_lookup(|key| (key == "DATA_DIR").then_some(Err(()))).unwrap_err();
        assert_eq!(err.problems, ["DATA_DIR: is not valid UTF-8"]);
    }

    #[test]
    fn database_urls() {
        let pg = DatabaseUrl::parse("postgres://herald:s3cret@db:5432/herald").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.sqlite_path(), None);
        assert_eq!(pg.to_string(), "postgres://herald:***@db:5432/herald");
        let in_query = DatabaseUrl::parse("postgres://db/herald?user=h&password=s3cret").unwrap();
        assert_eq!(
            in_query.to_string(),
            "postgres://db/herald?user=h&password=***"
        );
        let typo = DatabaseUrl::parse("postgress://u:s3cret@db/herald").unwrap_err();
        assert!(
            typo.contains("\"postgress\"") && !typo.contains("s3cret"),
            "{typo}"
        );
        assert!(!format!("{pg:?}").contains("s3cret"));

        let file = DatabaseUrl::parse("sqlite:///var/lib/herald/h.db?mode=rwc").unwrap();
        assert_eq!(
            file.sqlite_path(),
            Some(PathBuf::from("/var/lib/herald/h.db"))
        );
        let memory = DatabaseUrl::parse("sqlite::memory:").unwrap();
        assert_eq!(memory.sqlite_path(), None);

        for bad in [
            "nope://x",
            "mysql://h/db",
            "sqlite://",
            "postgres://",
            "herald.db",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad} must be refused");
        }
        let err = DatabaseUrl::parse("postgresql://user:pw@/db").unwrap_err();
        assert!(
            !err.contains("pw"),
            "a refused URL must not echo its password: {err}"
        );
    }

    #[test]
    fn public_url_must_be_http_or_https() {
        assert!(
            PublicUrl::parse("https://herald.example.com")
                .unwrap()
                .is_https()
        );
        assert!(
            !PublicUrl::parse("http://localhost:3000")
                .unwrap()
                .is_https()
        );
        assert!(PublicUrl::parse("ftp://x").is_err());
        assert!(PublicUrl::parse("localhost:3000").is_err());
    }

    #[test]
    fn public_url_joins_paths_under_its_base() {
        let root = PublicUrl::parse("https://herald.example.com").unwrap();
        assert_eq!(root.join("/login/x"), "https://herald.example.com/login/x");
        let nested = PublicUrl::parse("https://example.com/herald/").unwrap();
        assert_eq!(
            nested.join("/reminders/runs/7"),
            "https://example.com/herald/reminders/runs/7"
        );
    }

    #[test]
    fn telegram_token_is_validated_and_never_echoed() {
        let secret = "123456:not-a-real-token-but-long-enough";
        let config = load(&[("TELEGRAM_BOT_TOKEN", secret)]).unwrap();
        let telegram = config.telegram.as_ref().expect("a token turns telegram on");
        assert_eq!(telegram.bot_token.expose(), secret);
        assert_eq!(telegram.api_url.as_str(), "https://api.telegram.org/");
        assert!(!format!("{config:?}").contains("not-a-real-token"));

        let err = load(&[("TELEGRAM_BOT_TOKEN", "oops-leaked-value")]).unwrap_err();
        assert!(!err.to_string().contains("oops-leaked-value"));
    }

    #[test]
    fn metrics_token_is_optional_strong_and_never_echoed() {
        assert!(load(&[]).unwrap().metrics_token.is_none());
        let token = "0123456789abcdef-scrape";
        let config = load(&[("METRICS_TOKEN", token)]).unwrap();
        let secret = config.metrics_token.as_ref().unwrap();
        assert!(secret.matches(token));
        assert!(!secret.matches("0123456789abcdef-scrapE"));
        assert!(!secret.matches(""));
        assert!(!format!("{config:?}").contains(token));

        for weak in ["short-secret", "has a space in it but long"] {
            let err = load(&[("METRICS_TOKEN", weak)]).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{err}");
            assert!(err.problems[0].starts_with("METRICS_TOKEN: expected at least 16"));
            assert!(!err.to_string().contains(weak));
        }
    }

    #[test]
    fn trusted_proxies_default_to_none_and_validate() {
        let peer: std::net::IpAddr = "172.18.0.1".parse().unwrap();
        let none = load(&[]).unwrap().trusted_proxies;
        assert_eq!(none.client_ip(peer, &["203.0.113.7"]), peer);
        let config = load(&[("TRUSTED_PROXIES", "127.0.0.1, 172.16.0.0/12")]).unwrap();
        assert_eq!(
            config.trusted_proxies.client_ip(peer, &["203.0.113.7"]),
            "203.0.113.7".parse::<std::net::IpAddr>().unwrap()
        );
        let err = load(&[("TRUSTED_PROXIES", "127.0.0.1,proxy")]).unwrap_err();
        assert_eq!(
            err.problems,
            [
                "TRUSTED_PROXIES: expected comma-separated IP addresses or CIDR blocks, such as \
              127.0.0.1,172.16.0.0/12: \"proxy\" is not an IP address or CIDR block"
            ]
        );
    }

    #[test]
    fn simulator_settings_default_and_validate() {
        assert_eq!(load(&[]).unwrap().sim, SimConfig::default());
        let config = load(&[
            ("SIM_TIME_SCALE", "0.05"),
            ("SIM_AUTO_SCAN_SECS", "8"),
            ("SIM_GROUP_COUNT", "300"),
            ("SIM_SEND_LATENCY_MS", "0"),
        ])
        .unwrap();
        assert_eq!(
            config.sim,
            SimConfig {
                time_scale: 0.05,
                auto_scan_secs: Some(8),
                group_count: 300,
                send_latency_ms: 0,
            }
        );
        let err = load(&[
            ("SIM_TIME_SCALE", "0"),
            ("SIM_AUTO_SCAN_SECS", "soon"),
            ("SIM_GROUP_COUNT", "1001"),
            ("SIM_SEND_LATENCY_MS", "-1"),
        ])
        .unwrap_err();
        let keys: Vec<&str> = err
            .problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "SIM_TIME_SCALE",
                "SIM_AUTO_SCAN_SECS",
                "SIM_GROUP_COUNT",
                "SIM_SEND_LATENCY_MS"
            ],
            "{:?}",
            err.problems
        );
    }

    #[test]
    fn whitelist_and_default_timezone() {
        let config = load(&[
            ("TELEGRAM_ALLOWED_USER_IDS", " 42, 7,42 ,"),
            ("DEFAULT_TIMEZONE", "Asia/Kuala_Lumpur"),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_user_ids,
            [TelegramUserId(7), TelegramUserId(42)]
        );
        assert_eq!(config.default_timezone.name(), "Asia/Kuala_Lumpur");
        assert!(load(&[]).unwrap().allowed_user_ids.is_empty());
        assert_eq!(load(&[]).unwrap().default_timezone, TimeZone::UTC);

        let err = load(&[
            ("TELEGRAM_ALLOWED_USER_IDS", "42,@bob"),
            ("DEFAULT_TIMEZONE", "Mars/Base"),
        ])
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{:?}", err.problems);
        assert!(
            err.problems[0].starts_with("TELEGRAM_ALLOWED_USER_IDS:")
                && err.problems[0].contains("@bob")
        );
        assert!(
            err.problems[1].starts_with("DEFAULT_TIMEZONE:")
                && err.problems[1].contains("Mars/Base")
        );
    }

    #[test]
    fn bad_log_filter_is_refused() {
        let err = load(&[("RUST_LOG", "info,=[")]).unwrap_err();
        assert!(
            err.problems[0].starts_with("RUST_LOG:"),
            "{:?}",
            err.problems
        );
    }
}
