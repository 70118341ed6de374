//! Where the database is (`DATABASE_URL`): which engine, which file, and a form safe to log.

use std::{fmt, path::PathBuf};

use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/herald.db";

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
