//! The configuration as a whole, read from sets of variables.

use std::{collections::HashMap, path::PathBuf};

use domain::{status::Provider, timezone::TimeZone};

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
        err.problems[1].starts_with("DEFAULT_TIMEZONE:") && err.problems[1].contains("Mars/Base")
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

#[test]
fn the_public_url_follows_the_listening_port_unless_set() {
    let config = load(&[("LEPTOS_SITE_ADDR", "127.0.0.1:3055")]).unwrap();
    assert_eq!(config.public_url.url().as_str(), "http://localhost:3055/");
    let config = load(&[
        ("LEPTOS_SITE_ADDR", "0.0.0.0:3055"),
        ("PUBLIC_URL", "https://herald.example.com"),
    ])
    .unwrap();
    assert_eq!(
        config.public_url.url().as_str(),
        "https://herald.example.com/"
    );
}
