//! Every variable Herald reads, in one table: what it means, its default, which binary acts on it
//! and whether its value is secret. `--help`, `config check` and the README's Configuration table
//! all come from it, and tests hold the parser to it (the keys it asks for, the defaults it
//! applies), so the documentation cannot drift from the code.

use super::{Config, DEFAULT_DATABASE_URL, logging::DEFAULT_LOG_FILTER};

/// One of Herald's two binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    Server,
    Worker,
}

impl Process {
    pub fn binary(self) -> &'static str {
        match self {
            Process::Server => "herald-server",
            Process::Worker => "herald-worker",
        }
    }

    /// Also the name of its compose service.
    pub fn short_name(self) -> &'static str {
        match self {
            Process::Server => "server",
            Process::Worker => "worker",
        }
    }
}

/// What an unset variable means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    /// The value the parser uses in its place.
    Value(&'static str),
    /// Nothing replaces it; the note says what that means (empty for nothing to add).
    Unset(&'static str),
}

/// How much of a value may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    Public,
    /// Never shown at all.
    Secret,
    /// A URL shown with its password masked.
    Password,
}

/// One environment variable.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub name: &'static str,
    pub default: DefaultValue,
    /// One line, for the README's table and `--help`.
    pub meaning: &'static str,
    /// The binaries that act on it; both validate every setting at start.
    pub used_by: &'static [Process],
    pub secrecy: Secrecy,
    /// The effective value in a loaded configuration, redacted as `secrecy` asks.
    show: fn(&Config) -> String,
}

impl Setting {
    /// The effective value of this setting in `config`, safe to print.
    pub fn effective(&self, config: &Config) -> String {
        (self.show)(config)
    }

    /// The meaning, with what happens to a secret value.
    pub fn description(&self) -> String {
        match self.secrecy {
            Secrecy::Public => self.meaning.to_owned(),
            Secrecy::Secret => format!("{}; secret: never logged or printed", self.meaning),
            Secrecy::Password => {
                format!("{}; its password is never logged or printed", self.meaning)
            }
        }
    }
}

/// How `config check` shows a secret that is set.
pub const REDACTED: &str = "<set, redacted>";

const BOTH: &[Process] = &[Process::Server, Process::Worker];
const SERVER: &[Process] = &[Process::Server];
const WORKER: &[Process] = &[Process::Worker];

fn or_unset(value: Option<String>) -> String {
    value.unwrap_or_else(|| "unset".to_owned())
}

/// Every variable Herald reads, in the order the README lists them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "DATABASE_URL",
        default: DefaultValue::Value(DEFAULT_DATABASE_URL),
        meaning: "`sqlite://<path>` (embedded) or `postgres://user:pass@host/db` (production)",
        used_by: BOTH,
        secrecy: Secrecy::Password,
        show: |c| c.database_url.to_string(),
    },
    Setting {
        name: "DATA_DIR",
        default: DefaultValue::Value("./data"),
        meaning: "where media and other state live",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.data_dir.display().to_string(),
    },
    Setting {
        name: "PUBLIC_URL",
        default: DefaultValue::Unset("`http://localhost:` and the port the server listens on"),
        meaning: "the address operators use; links and Origin checks derive from it",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.public_url.url().to_string(),
    },
    Setting {
        name: "LEPTOS_SITE_ADDR",
        default: DefaultValue::Value("127.0.0.1:3000"),
        meaning: "where the web server listens",
        used_by: SERVER,
        secrecy: Secrecy::Public,
        show: |c| c.server_addr.to_string(),
    },
    Setting {
        name: "LEPTOS_SITE_ROOT",
        default: DefaultValue::Value("target/site"),
        meaning: "the built site (wasm, CSS, assets) the server serves",
        used_by: SERVER,
        secrecy: Secrecy::Public,
        show: |c| c.site_root.display().to_string(),
    },
    Setting {
        name: "WORKER_HEALTH_ADDR",
        default: DefaultValue::Value("127.0.0.1:8081"),
        meaning: "the worker's internal health listener",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.worker_health_addr.to_string(),
    },
    Setting {
        name: "WORKER_ID",
        default: DefaultValue::Unset("the host name and process id"),
        meaning: "the worker's name in logs, `/health`, `/metrics` and the System page",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| or_unset(c.worker_id.clone()),
    },
    Setting {
        name: "LEASE_TTL_SECS",
        default: DefaultValue::Value("20"),
        meaning: "how long a worker's lease on an account outlives its last renewal: with \
                  several workers on PostgreSQL, how soon a dead worker's accounts move",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.lease_ttl_secs.to_string(),
    },
    Setting {
        name: "WA_PROVIDER",
        default: DefaultValue::Value("web"),
        meaning: "WhatsApp implementation for new accounts: `web` (real WhatsApp) or `sim` (the \
                  simulator)",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.wa_provider.to_string(),
    },
    Setting {
        name: "WA_WEB_URL",
        default: DefaultValue::Unset("WhatsApp's own"),
        meaning: "development only: a `ws://` or `wss://` endpoint the `web` provider connects to \
                  instead of WhatsApp",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| or_unset(c.wa_web_url.as_ref().map(ToString::to_string)),
    },
    Setting {
        name: "SIM_TIME_SCALE",
        default: DefaultValue::Value("1"),
        meaning: "simulator: multiplies every simulated delay (QR lifetimes, connecting, \
                  sending); `0.05` makes a pairing take moments",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.sim.time_scale.to_string(),
    },
    Setting {
        name: "SIM_AUTO_SCAN_SECS",
        default: DefaultValue::Unset(""),
        meaning: "simulator: scan the first QR code by itself after this many (real) seconds, \
                  for demos",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| or_unset(c.sim.auto_scan_secs.map(|s| s.to_string())),
    },
    Setting {
        name: "SIM_GROUP_COUNT",
        default: DefaultValue::Value("12"),
        meaning: "simulator: groups each simulated phone is in (1–1000)",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.sim.group_count.to_string(),
    },
    Setting {
        name: "SIM_SEND_LATENCY_MS",
        default: DefaultValue::Value("400"),
        meaning: "simulator: how long a send takes, before the time scale",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.sim.send_latency_ms.to_string(),
    },
    Setting {
        name: "SEND_MIN_INTERVAL_MS",
        default: DefaultValue::Value("3000"),
        meaning: "least time between two sends of one account (measured from the end of the \
                  previous send)",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.min_interval_ms.to_string(),
    },
    Setting {
        name: "SEND_JITTER_MS",
        default: DefaultValue::Value("1000"),
        meaning: "each gap varies randomly by up to ± this much",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.jitter_ms.to_string(),
    },
    Setting {
        name: "SEND_PER_MINUTE",
        default: DefaultValue::Value("20"),
        meaning: "at most this many sends per account in any 60 seconds",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.per_minute.to_string(),
    },
    Setting {
        name: "SEND_PER_HOUR",
        default: DefaultValue::Value("5000"),
        meaning: "at most this many sends in any hour, all accounts together",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.per_hour.to_string(),
    },
    Setting {
        name: "SEND_TIMEOUT_SECS",
        default: DefaultValue::Value("120"),
        meaning: "a send WhatsApp has not answered by then is recorded `unknown` and never re-sent",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.send_timeout_secs.to_string(),
    },
    Setting {
        name: "FIRE_GRACE_MINUTES",
        default: DefaultValue::Value("10"),
        meaning: "an occurrence missed while the worker was down still fires this late; later, \
                  it is recorded as a `missed` run",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        show: |c| c.delivery.grace_minutes.to_string(),
    },
    Setting {
        name: "TELEGRAM_ALLOWED_USER_IDS",
        default: DefaultValue::Unset("embedded mode"),
        meaning: "comma-separated Telegram user ids: the operators who may use Herald",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| {
            let ids: Vec<String> = c
                .allowed_user_ids
                .iter()
                .map(|id| id.0.to_string())
                .collect();
            or_unset((!ids.is_empty()).then(|| ids.join(",")))
        },
    },
    Setting {
        name: "DEFAULT_TIMEZONE",
        default: DefaultValue::Value("UTC"),
        meaning: "IANA time zone new operators start with, e.g. `Europe/London`",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.default_timezone.to_string(),
    },
    Setting {
        name: "TELEGRAM_BOT_TOKEN",
        default: DefaultValue::Unset("bot off"),
        meaning: "the operator bot's token from @BotFather",
        used_by: WORKER,
        secrecy: Secrecy::Secret,
        show: |c| or_unset(c.telegram.as_ref().map(|_| REDACTED.to_owned())),
    },
    Setting {
        name: "TELEGRAM_API_URL",
        default: DefaultValue::Value("https://api.telegram.org"),
        meaning: "another Bot API server (self-hosted, or a fake in tests)",
        used_by: WORKER,
        secrecy: Secrecy::Public,
        // Kept only beside a token: without a bot nothing calls it.
        show: |c| match &c.telegram {
            Some(telegram) => telegram.api_url.to_string(),
            None => "unused (no TELEGRAM_BOT_TOKEN)".to_owned(),
        },
    },
    Setting {
        name: "TRUSTED_PROXIES",
        default: DefaultValue::Unset("nobody"),
        meaning: "reverse proxies (IP addresses or CIDR blocks, comma-separated) whose \
                  `X-Forwarded-For` names the client, for the sign-in brake and the audit log",
        used_by: SERVER,
        secrecy: Secrecy::Public,
        show: |c| or_unset(Some(c.trusted_proxies.to_string()).filter(|s| !s.is_empty())),
    },
    Setting {
        name: "METRICS_TOKEN",
        default: DefaultValue::Unset("server's `/metrics` off"),
        meaning: "bearer token (16+ characters, no spaces) the server's `/metrics` requires; the \
                  worker's internal `/metrics` needs none",
        used_by: SERVER,
        secrecy: Secrecy::Secret,
        show: |c| or_unset(c.metrics_token.as_ref().map(|_| REDACTED.to_owned())),
    },
    Setting {
        name: "LOG_FORMAT",
        default: DefaultValue::Value("pretty"),
        meaning: "`pretty` for terminals, `json` for log shippers",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.log.format.as_str().to_owned(),
    },
    Setting {
        name: "RUST_LOG",
        default: DefaultValue::Value(DEFAULT_LOG_FILTER),
        meaning: "log filter directives",
        used_by: BOTH,
        secrecy: Secrecy::Public,
        show: |c| c.log.filter.clone(),
    },
];

/// The settings `process` acts on, in the README's order.
pub fn used_by(process: Process) -> impl Iterator<Item = &'static Setting> {
    SETTINGS
        .iter()
        .filter(move |s| s.used_by.contains(&process))
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, collections::HashMap};

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Config {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Config::from_lookup(|key| vars.get(key).map(|v| Ok((*v).to_owned())))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_parser_reads_exactly_the_listed_settings() {
        let asked = RefCell::new(Vec::new());
        Config::from_lookup(|key| {
            asked.borrow_mut().push(key.to_owned());
            None
        })
        .unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        listed.sort();
        assert_eq!(asked, listed);
        listed.dedup();
        assert_eq!(listed.len(), SETTINGS.len(), "a setting is listed twice");
    }

    #[test]
    fn every_listed_default_is_the_one_the_parser_applies() {
        // With a bot token, so the Telegram settings are kept and compared too.
        let base = [("TELEGRAM_BOT_TOKEN", "123456:a-token-long-enough-to-pass")];
        let unset = format!("{:?}", load(&base));
        for setting in SETTINGS {
            if let DefaultValue::Value(value) = setting.default {
                let set = format!("{:?}", load(&[base[0], (setting.name, value)]));
                assert_eq!(set, unset, "{} defaults to something else", setting.name);
            }
        }
    }

    #[test]
    fn secrets_are_never_shown() {
        let secrets = [
            (
                "DATABASE_URL",
                "postgres://herald:pw-s3cret-42@db:5432/herald",
            ),
            ("TELEGRAM_BOT_TOKEN", "123456:bot-s3cret-value-long-enough"),
            ("METRICS_TOKEN", "metrics-s3cret-0123456789"),
        ];
        let config = load(&secrets);
        for setting in SETTINGS {
            let shown = setting.effective(&config);
            assert!(!shown.contains("s3cret"), "{}: {shown}", setting.name);
            if setting.secrecy == Secrecy::Secret {
                assert_eq!(shown, REDACTED, "{}", setting.name);
            }
        }
        let listed: Vec<&str> = SETTINGS
            .iter()
            .filter(|s| s.secrecy != Secrecy::Public)
            .map(|s| s.name)
            .collect();
        assert_eq!(listed, secrets.map(|(name, _)| name));
        let unset = load(&[]);
        let shown = |name| {
            SETTINGS
                .iter()
                .find(|s| s.name == name)
                .unwrap()
                .effective(&unset)
        };
        assert_eq!(shown("METRICS_TOKEN"), "unset");
        assert_eq!(shown("TELEGRAM_API_URL"), "unused (no TELEGRAM_BOT_TOKEN)");
    }

    /// The default as the README shows it.
    fn default_text(setting: &Setting) -> String {
        match setting.default {
            DefaultValue::Value(value) => format!("`{value}`"),
            DefaultValue::Unset("") => "unset".to_owned(),
            DefaultValue::Unset(note) => format!("unset ({note})"),
        }
    }

    fn used_by_text(setting: &Setting) -> String {
        let names: Vec<&str> = setting.used_by.iter().map(|p| p.short_name()).collect();
        names.join(", ")
    }

    /// The README's Configuration table is this table, row for row.
    #[test]
    fn the_readme_lists_these_settings() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md beside the workspace");
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with("Configuration\n"))
            .expect("a Configuration section");
        let table: Vec<&str> = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .collect();
        let mut expected = vec![
            "| variable | default | used by | meaning |".to_owned(),
            "|---|---|---|---|".to_owned(),
        ];
        expected.extend(SETTINGS.iter().map(|s| {
            format!(
                "| `{}` | {} | {} | {} |",
                s.name,
                default_text(s),
                used_by_text(s),
                s.description()
            )
        }));
        assert!(
            table == expected,
            "README.md's Configuration table differs from runtime::config::SETTINGS; it should \
             read:\n\n{}\n",
            expected.join("\n")
        );
    }
}
