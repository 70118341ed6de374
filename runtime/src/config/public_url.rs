//! The dashboard's address (`PUBLIC_URL`), from which login links and Origin checks derive.

use url::Url;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
