//! How the process logs (`LOG_FORMAT`, `RUST_LOG`).

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

/// whatsapp-rust's connection loop logs every failed attempt itself; Herald logs each attempt once,
/// with its reason and the next delay, so the library's lifecycle lines are off unless asked for.
pub(super) const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,\
whatsapp_rust=warn,wacore=warn,whatsapp_rust::client::lifecycle=off";

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        }
    }

    /// `LOG_FORMAT`: `pretty` (also when unset) or `json`.
    pub(super) fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw {
            None | Some("pretty") => Ok(LogFormat::Pretty),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("expected pretty or json, got {other:?}")),
        }
    }
}

/// `RUST_LOG`, or Herald's default filter when unset; checked here so logging cannot fail later.
pub(super) fn parse_filter(raw: Option<String>) -> Result<String, String> {
    let filter = raw.unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map(|_| filter.clone())
        .map_err(|e| {
            format!(
                "expected tracing filter directives such as info,herald=debug, got {filter:?} ({e})"
            )
        })
}
