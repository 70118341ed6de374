//! Reading the variables through a lookup and collecting every problem with them.

use std::{net::SocketAddr, path::PathBuf};

use domain::{status::Provider, timezone::TimeZone};
use url::Url;

use super::parse::parse_in_range;
use super::{
    Config, DEFAULT_DATABASE_URL, DatabaseUrl, DeliveryConfig, LogConfig, LogFormat, PublicUrl,
    SimConfig, TelegramConfig, TelegramUserId, TrustedProxies, delivery, logging, parse::check,
    secret, sim, telegram,
};

/// Every problem found in the environment, one per variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
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
        let worker_id = get("WORKER_ID");
        let lease_ttl = get("LEASE_TTL_SECS");
        let log_format = get("LOG_FORMAT");
        let log_filter = get("RUST_LOG");
        let wa_provider = get("WA_PROVIDER");
        let wa_web_url = get("WA_WEB_URL");
        let bot_token = get("TELEGRAM_BOT_TOKEN");
        let telegram_api_url = get("TELEGRAM_API_URL");
        let allowed_user_ids = get("TELEGRAM_ALLOWED_USER_IDS");
        let default_timezone = get("DEFAULT_TIMEZONE");
        let sim_vars = sim::VARS.map(|key| (key, get(key)));
        let metrics_token = get("METRICS_TOKEN");
        let trusted_proxies = get("TRUSTED_PROXIES");
        let delivery_vars = delivery::VARS.map(|key| (key, get(key)));

        let database_url = check(
            &mut problems,
            "DATABASE_URL",
            DatabaseUrl::parse(database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)),
        );
        let server_addr = check(
            &mut problems,
            "LEPTOS_SITE_ADDR",
            parse_addr(server_addr, "127.0.0.1:3000"),
        );
        // Unset, it is this machine at the port the server listens on, so that moving the port
        // alone keeps sign-in links and the Origin check pointing at the server.
        let default_public_url = format!(
            "http://localhost:{}",
            server_addr.map_or(3000, |addr| addr.port())
        );
        let public_url = check(
            &mut problems,
            "PUBLIC_URL",
            PublicUrl::parse(public_url.as_deref().unwrap_or(&default_public_url)),
        );
        let worker_health_addr = check(
            &mut problems,
            "WORKER_HEALTH_ADDR",
            parse_addr(worker_health_addr, "127.0.0.1:8081"),
        );
        let worker_id = check(
            &mut problems,
            "WORKER_ID",
            worker_id.map(parse_worker_id).transpose(),
        )
        .flatten();
        let lease_ttl_secs = check(
            &mut problems,
            "LEASE_TTL_SECS",
            lease_ttl.map_or(Ok(20), |raw| parse_in_range(&raw, 5, 300, "seconds")),
        );
        let log_format = check(
            &mut problems,
            "LOG_FORMAT",
            LogFormat::parse(log_format.as_deref()),
        );
        let log_filter = check(&mut problems, "RUST_LOG", logging::parse_filter(log_filter));
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
            telegram::parse_api_url(telegram_api_url.as_deref()),
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
        let sim = SimConfig::from_vars(&mut problems, &sim_vars);
        let delivery = DeliveryConfig::from_vars(&mut problems, &delivery_vars);
        let bot_token = check(
            &mut problems,
            "TELEGRAM_BOT_TOKEN",
            bot_token.map(telegram::parse_bot_token).transpose(),
        )
        .flatten();
        let telegram = bot_token
            .zip(telegram_api_url)
            .map(|(bot_token, api_url)| TelegramConfig { bot_token, api_url });

        let trusted_proxies = check(
            &mut problems,
            "TRUSTED_PROXIES",
            TrustedProxies::parse(trusted_proxies.as_deref().unwrap_or_default()).map_err(|e| {
                format!("expected comma-separated IP addresses or CIDR blocks, such as 127.0.0.1,172.16.0.0/12: {e}")
            }),
        )
        .unwrap_or_default();
        let metrics_token = check(
            &mut problems,
            "METRICS_TOKEN",
            metrics_token.map(secret::parse_token).transpose(),
        )
        .flatten();

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
            Some(lease_ttl_secs),
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
            lease_ttl_secs,
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
            worker_id,
            lease_ttl_secs,
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

/// A name for the logs and the System page: letters, digits, `.`, `_` and `-`, at most 64.
fn parse_worker_id(raw: String) -> Result<String, String> {
    let valid = raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(raw)
    } else {
        Err(format!(
            "expected at most 64 letters, digits, '.', '_' or '-', got {raw:?}"
        ))
    }
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
