//! Telegram: the bot's token and API (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL`) and who may use
//! Herald (`TELEGRAM_ALLOWED_USER_IDS`).

use url::Url;

use super::secret::Secret;

/// A Telegram user id, as the whitelist lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelegramUserId(pub i64);

impl TelegramUserId {
    pub(super) fn parse_list(raw: &str) -> Result<Vec<Self>, String> {
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
pub struct TelegramConfig {
    pub bot_token: Secret,
    pub api_url: Url,
}

/// `TELEGRAM_API_URL`, or Telegram's own when unset.
pub(super) fn parse_api_url(raw: Option<&str>) -> Result<Url, String> {
    Url::parse(raw.unwrap_or("https://api.telegram.org"))
        .map_err(|e| format!("expected a URL, got {raw:?} ({e})"))
}

/// Bot tokens look like `123456:ABC-…`; the value itself is never echoed.
pub(super) fn parse_bot_token(raw: String) -> Result<Secret, String> {
    if looks_like_bot_token(&raw) {
        Ok(Secret::new(raw))
    } else {
        Err("expected <bot id>:<secret> as issued by @BotFather".to_owned())
    }
}

fn looks_like_bot_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() >= 20
    })
}
