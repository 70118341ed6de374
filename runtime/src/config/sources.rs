//! Where the variables come from: the process environment, then `./.env` for what the
//! environment leaves unset.

use std::{collections::HashMap, fmt};

use super::{Config, ConfigError};

/// The environment and the `.env` file, read once.
pub struct Sources {
    dotenv: HashMap<String, String>,
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Environment,
    DotEnv,
    /// Unset or empty: the default applies.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Environment => "environment",
            Origin::DotEnv => ".env",
            Origin::Default => "default",
        })
    }
}

impl Sources {
    /// Reads `./.env` (a missing file is no problem) beside the process environment.
    pub fn read() -> Result<Self, ConfigError> {
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
        Ok(Self { dotenv })
    }

    /// A variable as [`Config::from_lookup`] takes it.
    fn lookup(&self, key: &str) -> Option<Result<String, ()>> {
        match std::env::var(key) {
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => self.dotenv.get(key).cloned().map(Ok),
            Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
        }
    }

    /// Where `key`'s value comes from, by the rules [`Config::from_lookup`] applies: the
    /// environment wins even when empty, and an empty value means the default.
    pub fn origin(&self, key: &str) -> Origin {
        let from_environment = std::env::var_os(key).is_some();
        match self.lookup(key) {
            Some(Ok(value)) if value.trim().is_empty() => Origin::Default,
            None => Origin::Default,
            Some(_) if from_environment => Origin::Environment,
            Some(_) => Origin::DotEnv,
        }
    }
}

impl Config {
    /// Reads the process environment, falling back to `./.env` for variables it does not set:
    /// what both binaries do at start.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::read()?)
    }

    /// The configuration `sources` hold.
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        Self::from_lookup(|key| sources.lookup(key))
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
