//! The signed-in operator (not their WhatsApp accounts, see `accounts`): who they are, their
//! time zone and the clock other pages show times on, and where they are signed in.

use leptos::prelude::*;

use super::AppError;
use crate::wire::{OperatorView, SessionView};

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<OperatorView, AppError> {
    let (state, me) = super::caller::context().await?;
    let operator = service::operators::find_active(&state.db, me.id)
        .await?
        .ok_or_else(|| AppError::new("signed out"))?;
    Ok(OperatorView {
        display_name: operator.display_name,
        timezone: operator.timezone,
    })
}

/// Sets the operator's time zone, which their pages show times in; returns the zone saved.
#[server(endpoint = "set_timezone")]
pub async fn set_timezone(timezone: String) -> Result<String, AppError> {
    use domain::timezone::TimeZone;

    let (state, me) = super::caller::context().await?;
    let name = timezone.trim();
    if name.is_empty() {
        return Err(super::caller::refuse(
            "Choose a time zone, such as Europe/London.",
        ));
    }
    let zone: TimeZone = name.parse().map_err(|_| {
        let shown: String = name.chars().take(64).collect();
        super::caller::refuse(format!(
            "“{shown}” is not a time zone Herald knows. Pick one from the list, such as Europe/London."
        ))
    })?;
    service::operators::set_timezone(&state.db, service::audit::Actor::Operator, me.id, zone)
        .await?
        .ok_or_else(|| AppError::new("signed out"))?;
    Ok(zone.name().to_owned())
}

#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    let (state, me) = super::caller::context().await?;
    let rows = service::web_sessions::for_operator(&state.db, me.id).await?;
    let zone = ssr::operator_zone(&state, &me).await?;
    const SHOWN: &str = "%Y-%m-%d %H:%M";
    Ok(rows
        .into_iter()
        .map(|row| SessionView {
            device: ssr::device_label(row.user_agent.as_deref()),
            created_at: ssr::local_time(&row.created_at, zone, SHOWN),
            last_seen_at: ssr::local_time(&row.last_seen_at, zone, SHOWN),
            current: me.session_key.as_deref() == Some(row.id.as_str()),
        })
        .collect())
}

/// Signs the operator out on every device but this one; returns how many sessions ended.
#[server(endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    let (state, me) = super::caller::context().await?;
    let keep = me.session_key.clone().unwrap_or_default();
    let ended = service::web_sessions::end_others(&state.db, me.id, &keep).await?;
    let entry =
        service::audit::Entry::new(service::audit::Actor::Operator, "sessions.ended_others")
            .operator(me.id)
            .detail(serde_json::json!({ "ended": ended }));
    service::audit::record(&state.db, entry).await?;
    Ok(ended)
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use domain::timezone::TimeZone;
    use sea_orm::prelude::DateTimeUtc;

    use crate::{
        functions::AppError,
        state::{AppState, CurrentOperator},
    };

    /// The zone the caller's pages show times in; UTC if their stored name no longer reads.
    pub async fn operator_zone(
        state: &AppState,
        me: &CurrentOperator,
    ) -> Result<TimeZone, AppError> {
        let operator = service::operators::find_active(&state.db, me.id)
            .await?
            .ok_or_else(|| AppError::new("signed out"))?;
        Ok(zone(&operator))
    }

    /// The operator's clock; UTC if their stored zone no longer reads.
    pub fn zone(operator: &entity::operators::Model) -> TimeZone {
        operator.timezone.parse().unwrap_or_else(|e| {
            tracing::warn!(operator_id = operator.id, error = %e, "showing times in UTC");
            TimeZone::UTC
        })
    }

    /// `at` on the operator's clock, as `format` (a chrono pattern) writes it.
    pub fn local_time(at: &DateTimeUtc, zone: TimeZone, format: &str) -> String {
        at.with_timezone(&zone.tz()).format(format).to_string()
    }

    /// "Firefox on Android", from a user agent string.
    pub fn device_label(user_agent: Option<&str>) -> String {
        let ua = user_agent.unwrap_or_default();
        let browser = [
            ("Edg/", "Edge"),
            ("Firefox/", "Firefox"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
        ]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
        let system = [
            ("iPhone", "iPhone"),
            ("iPad", "iPad"),
            ("Android", "Android"),
            ("Mac OS X", "macOS"),
            ("Windows", "Windows"),
            ("Linux", "Linux"),
        ]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
        match (browser, system) {
            (Some(b), Some(s)) => format!("{b} on {s}"),
            (Some(one), None) | (None, Some(one)) => one.to_owned(),
            (None, None) if ua.is_empty() => "Unknown device".to_owned(),
            (None, None) => ua.chars().take(60).collect(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::device_label;

        #[test]
        fn devices_read_naturally() {
            let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
            assert_eq!(device_label(Some(iphone)), "Safari on iPhone");
            let chrome_linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
            assert_eq!(device_label(Some(chrome_linux)), "Chrome on Linux");
            let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
            assert_eq!(device_label(Some(edge)), "Edge on Windows");
            assert_eq!(device_label(None), "Unknown device");
            assert_eq!(device_label(Some("curl/8.0")), "curl/8.0");
        }
    }
}
