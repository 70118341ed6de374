//! The operator's audit log: the entries they may read (see `service::audit::list`), newest
//! first, fifty at a time, filtered by action and by target, with times on their clock.

use leptos::prelude::*;

use super::AppError;
use crate::wire::AuditPage;

/// One page of the log. `action` is an action code (`reminder.created`); `target` a kind of
/// target (`reminder`) or one target (`reminder:12`); `before` the cursor of an older page.
#[server(endpoint = "audit_log")]
pub async fn audit_log(
    action: Option<String>,
    target: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use service::audit::{self, Filter};

    use super::operator::ssr::operator_zone;

    let (state, me) = super::caller::context().await?;
    let filter = Filter {
        action: ssr::action(action)?,
        target: ssr::target(target)?,
    };
    let zone = operator_zone(&state, &me).await?;
    let db = &state.db;
    let page = audit::list(db, me.id, &filter, before).await?;
    let names = audit::names(db, me.id, &page.entries).await?;
    Ok(AuditPage {
        entries: page
            .entries
            .into_iter()
            .map(|entry| ssr::entry_view(entry, me.id, zone, &names))
            .collect(),
        older: page.older,
        actions: audit::actions(db, me.id).await?,
        target_kinds: audit::target_kinds(db, me.id).await?,
        timezone: zone.name().to_owned(),
    })
}

#[cfg(feature = "ssr")]
mod sentence;

#[cfg(feature = "ssr")]
mod ssr {
    use domain::timezone::TimeZone;
    use entity::audit_log;
    use service::audit::TargetFilter;

    use crate::{
        functions::{AppError, caller::refuse, operator::ssr::local_time},
        wire::AuditEntryView,
    };

    /// The longest action code or target id the filter takes; the stored columns are no longer.
    const FILTER_MAX_CHARS: usize = 64;

    fn given(value: Option<String>) -> Option<String> {
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub fn action(action: Option<String>) -> Result<Option<String>, AppError> {
        match given(action) {
            Some(action) if action.chars().count() > FILTER_MAX_CHARS => Err(refuse(format!(
                "An action code is at most {FILTER_MAX_CHARS} characters, such as reminder.created."
            ))),
            other => Ok(other),
        }
    }

    /// `reminder` or `reminder:12`.
    pub fn target(target: Option<String>) -> Result<Option<TargetFilter>, AppError> {
        let Some(target) = given(target) else {
            return Ok(None);
        };
        let (kind, id) = match target.split_once(':') {
            Some((kind, id)) => (kind.trim(), Some(id.trim()).filter(|id| !id.is_empty())),
            None => (target.as_str(), None),
        };
        let kind_ok = !kind.is_empty()
            && kind.len() <= 32
            && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !kind_ok || id.is_some_and(|id| id.chars().count() > FILTER_MAX_CHARS) {
            return Err(refuse(
                "A target is a kind of thing, or a kind and an id, such as reminder or reminder:12.",
            ));
        }
        Ok(Some(TargetFilter {
            kind: kind.to_owned(),
            id: id.map(str::to_owned),
        }))
    }

    pub fn entry_view(
        entry: audit_log::Model,
        me: i64,
        zone: TimeZone,
        names: &service::audit::Names,
    ) -> AuditEntryView {
        AuditEntryView {
            id: entry.id,
            at: local_time(&entry.at, zone, "%Y-%m-%d %H:%M:%S"),
            sentence: super::sentence::sentence(&entry, me, names),
            detail: entry
                .detail
                .as_ref()
                .filter(|detail| {
                    !detail.is_null() && !detail.as_object().is_some_and(|o| o.is_empty())
                })
                .map(|detail| detail.to_string()),
            action: entry.action,
            client_ip: entry.client_ip,
        }
    }
}
