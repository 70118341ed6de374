//! `/audit`: the operator's audit log, newest first, fifty entries a page, filtered by action and
//! by target. Filters and page live in the URL (`?action=login`, `?target=reminder:12`,
//! `?before=<id>`), so a reload keeps them and other pages can link to a target's history.

use leptos::{ev::SubmitEvent, html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    components::feedback::error_text,
    functions::audit::audit_log,
    wire::{AuditEntryView, AuditPage, AuditSentence, AuditTarget},
};

/// What the URL asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Query {
    action: Option<String>,
    /// `kind` or `kind:id`.
    target: Option<String>,
    before: Option<i64>,
}

impl Query {
    /// From the URL's query parameters, looked up by `param`.
    fn from_params(param: impl Fn(&str) -> Option<String>) -> Self {
        let text = |key: &str| {
            param(key)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        // Before the page is interactive the filter form submits kind and id as two fields.
        let target = text("target").or_else(|| {
            let kind = text("target_kind")?;
            Some(match text("target_id") {
                Some(id) => format!("{kind}:{id}"),
                None => kind,
            })
        });
        Self {
            action: text("action"),
            target,
            before: text("before").and_then(|before| before.parse().ok()),
        }
    }

    fn href(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(action) = &self.action {
            pairs.push(format!("action={}", encode(action)));
        }
        if let Some(target) = &self.target {
            pairs.push(format!("target={}", encode(target)));
        }
        if let Some(before) = self.before {
            pairs.push(format!("before={before}"));
        }
        if pairs.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{}", pairs.join("&"))
        }
    }

    fn filtered(&self) -> bool {
        self.action.is_some() || self.target.is_some()
    }

    /// The target's kind and id, as the form shows them.
    fn target_parts(&self) -> (String, String) {
        match self.target.as_deref().map(|t| t.split_once(':')) {
            Some(Some((kind, id))) => (kind.to_owned(), id.to_owned()),
            Some(None) => (self.target.clone().unwrap_or_default(), String::new()),
            None => (String::new(), String::new()),
        }
    }
}

/// Percent-encodes a query value (UTF-8), leaving what URLs allow as it is.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The actions Herald records, in words. Codes not listed show as their code alone.
pub(crate) const ACTIONS: &[(&str, &str)] = &[
    ("account.added", "Account added"),
    ("account.deleted", "Account deleted"),
    (
        "account.pair_code_requested",
        "Pairing by phone number started",
    ),
    ("account.pair_requested", "Pairing started"),
    ("account.send_test", "Test message sent"),
    ("account.sim_scan", "Simulated QR scan"),
    ("account.unpair_requested", "Unpairing requested"),
    ("calendar_feed.created", "Calendar link made"),
    ("calendar_feed.revoked", "Calendar link revoked"),
    ("dashboard.activity_cleared", "Dashboard activity cleared"),
    ("groups.sync_requested", "Group sync requested"),
    ("job.retried", "Failed job retried"),
    ("login", "Signed in"),
    ("login.failed", "Sign-in link refused"),
    ("login.rate_limited", "Too many sign-in attempts"),
    ("login_link.issued", "Sign-in link issued"),
    ("logout", "Signed out"),
    ("media.expired", "Unused media removed"),
    ("media.uploaded", "Media uploaded"),
    ("operator.added", "Operator added"),
    ("operator.disabled", "Operator disabled"),
    ("operator.enabled", "Operator enabled"),
    ("operator.timezone_changed", "Time zone changed"),
    ("reminder.changed", "Reminder schedule re-armed"),
    ("reminder.created", "Reminder created"),
    ("reminder.deleted", "Reminder deleted"),
    ("reminder.duplicated", "Reminder duplicated"),
    ("reminder.paused", "Reminder paused"),
    ("reminder.restored", "Deleted reminder put back"),
    ("reminder.resumed", "Reminder resumed"),
    (
        "reminder.sent_now",
        "Reminder sent now, outside its schedule",
    ),
    ("reminder.skipped", "Reminder's next send skipped"),
    ("reminder.updated", "Reminder edited"),
    ("run.cancelled", "Paused run cancelled"),
    ("run.resumed", "Paused run resumed"),
    ("run.retried", "Run retried to the groups it did not reach"),
    ("sessions.ended_others", "Other devices signed out"),
    ("telegram.alert_failed", "Telegram alert not delivered"),
    ("telegram.refused", "Telegram user refused"),
];

fn action_words(code: &str) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, words)| *words)
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|params| Query::from_params(|key| params.get(key))));
    let page = Resource::new(
        move || query.get(),
        |q| audit_log(q.action, q.target, q.before),
    );

    view! {
        <Title text="Audit log" />
        <section class="page">
            <header class="page-header">
                <h1>"Audit log"</h1>
                <p class="lede">
                    "What happened in Herald that concerns you, newest first: sign-ins, changes to accounts and reminders, and what Herald did by itself."
                </p>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <AuditScreen query=query.get_untracked() page /> }.into_any(),
                    Err(e) => view! {
                        <p class="notice notice-bad" role="alert" data-testid="audit-error">{error_text(&e)}</p>
                        <p><a href="/audit">"Show the whole log"</a></p>
                    }
                    .into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditScreen(query: Query, page: AuditPage) -> impl IntoView {
    let AuditPage {
        entries,
        older,
        actions,
        target_kinds,
        timezone,
    } = page;
    let count = entries.len();
    let summary = match count {
        0 => String::new(),
        1 => format!("1 entry · times in {timezone}"),
        n => format!("{n} entries, newest first · times in {timezone}"),
    };
    let body = if entries.is_empty() {
        let (title, text) = if query.before.is_some() {
            ("No older entries", "This is the beginning of your log.")
        } else if query.filtered() {
            (
                "No entries match these filters",
                "Nothing in your log has this action or target. Clear the filters to see everything.",
            )
        } else {
            (
                "Nothing recorded yet",
                "Herald writes an entry for every sign-in and every change to your accounts and reminders.",
            )
        };
        view! {
            <div class="empty-state" data-testid="audit-empty">
                <h3>{title}</h3>
                <p>{text}</p>
            </div>
        }
        .into_any()
    } else {
        view! { <AuditTable entries /> }.into_any()
    };
    let newest = query.before.is_some().then(|| Query {
        before: None,
        ..query.clone()
    });
    let older = older.map(|before| Query {
        before: Some(before),
        ..query.clone()
    });
    view! {
        <AuditFilter query=query.clone() actions target_kinds />
        <div class="card stack">
            <h2>"Entries"</h2>
            <p class="muted" role="status" data-testid="audit-summary">{summary}</p>
            {body}
            {(newest.is_some() || older.is_some()).then(|| view! {
                <nav class="actions audit-pager" aria-label="Audit log pages">
                    {newest.map(|q| view! {
                        <a class="button button-secondary" href=q.href() data-testid="audit-newest">"Newest entries"</a>
                    })}
                    {older.map(|q| view! {
                        <a class="button button-secondary" href=q.href() data-testid="audit-older">"Older entries"</a>
                    })}
                </nav>
            })}
        </div>
    }
}

/// The filter form. With JavaScript it navigates to the canonical URL; without, it submits as
/// a plain GET that [`Query::from_params`] also reads.
#[component]
fn AuditFilter(query: Query, actions: Vec<String>, target_kinds: Vec<String>) -> impl IntoView {
    let navigate = use_navigate();
    let action_ref = NodeRef::<html::Select>::new();
    let kind_ref = NodeRef::<html::Select>::new();
    let id_ref = NodeRef::<html::Input>::new();
    let (kind, id) = query.target_parts();
    // A filter from a link shows even when the log holds no such entry.
    let mut actions = actions;
    if let Some(action) = &query.action
        && !actions.contains(action)
    {
        actions.push(action.clone());
    }
    let mut kinds = target_kinds;
    if !kind.is_empty() && !kinds.contains(&kind) {
        kinds.push(kind.clone());
    }
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let value = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let action = value(action_ref.get().map(|el| el.value()));
        let kind = value(kind_ref.get().map(|el| el.value()));
        let id = value(id_ref.get().map(|el| el.value()));
        let target = kind.map(|kind| match id {
            Some(id) => format!("{kind}:{id}"),
            None => kind,
        });
        let wanted = Query {
            action,
            target,
            before: None,
        };
        navigate(&wanted.href(), Default::default());
    };
    let current_action = query.action.clone().unwrap_or_default();
    view! {
        <form
            class="card stack audit-filter"
            method="get"
            action="/audit"
            role="search"
            aria-labelledby="audit-filter-title"
            data-testid="audit-filter"
            on:submit=on_submit
        >
            <h2 id="audit-filter-title">"Filter"</h2>
            <div class="audit-filter-fields">
                <div>
                    <label class="field-label" for="audit-action">"Action"</label>
                    <select class="input" id="audit-action" name="action" node_ref=action_ref data-testid="audit-action-filter">
                        <option value="" selected=current_action.is_empty()>"All actions"</option>
                        {actions.into_iter().map(|code| {
                            let label = match action_words(&code) {
                                Some(words) => format!("{words} ({code})"),
                                None => code.clone(),
                            };
                            let selected = code == current_action;
                            view! { <option value=code selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div>
                    <label class="field-label" for="audit-target-kind">"About"</label>
                    <select class="input" id="audit-target-kind" name="target_kind" node_ref=kind_ref data-testid="audit-target-kind">
                        <option value="" selected=kind.is_empty()>"Anything"</option>
                        {kinds.into_iter().map(|k| {
                            let (selected, value) = (k == kind, k.clone());
                            view! { <option value=value selected=selected>{k}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div>
                    <label class="field-label" for="audit-target-id">"Id"</label>
                    <input
                        class="input"
                        id="audit-target-id"
                        name="target_id"
                        type="text"
                        autocomplete="off"
                        placeholder="Any"
                        aria-describedby="audit-target-hint"
                        value=id
                        node_ref=id_ref
                        data-testid="audit-target-id"
                    />
                </div>
            </div>
            <p class="muted" id="audit-target-hint">"The id of one account, reminder or run, with “About” set to its kind; leave it empty for all of them."</p>
            <div class="actions">
                <button class="button" type="submit" data-testid="audit-apply">"Apply filters"</button>
                {query.filtered().then(|| view! {
                    <a class="button button-secondary" href="/audit" data-testid="audit-clear">"Clear filters"</a>
                })}
            </div>
        </form>
    }
}

/// The entries as sentences, newest first: a list that reads the same on a phone.
#[component]
fn AuditTable(entries: Vec<AuditEntryView>) -> impl IntoView {
    view! {
        <ol class="audit-list" data-testid="audit-table">
            {entries.into_iter().map(|entry| view! { <AuditRow entry /> }).collect_view()}
        </ol>
    }
}

#[component]
fn AuditRow(entry: AuditEntryView) -> impl IntoView {
    let AuditSentence { lead, target, tail } = entry.sentence;
    let target = target.map(|AuditTarget { text, href }| match href {
        Some(href) => view! { <a href=href data-testid="audit-target">{text}</a> }.into_any(),
        None => view! { <span data-testid="audit-target">{text}</span> }.into_any(),
    });
    let words = action_words(&entry.action);
    view! {
        <li class="audit-entry" data-testid="audit-row">
            <p class="audit-sentence" data-testid="audit-sentence">{lead}{target}{tail}</p>
            <p class="muted audit-meta">
                <span class="audit-when">{entry.at}</span>
                {entry.client_ip.map(|ip| view! { " · from " <span data-testid="audit-ip">{ip}</span> })}
                " · "
                <code title=words data-testid="audit-action">{entry.action}</code>
            </p>
            {entry.detail.map(|detail| view! {
                <details class="audit-detail-box">
                    <summary>"Recorded detail"</summary>
                    <code class="audit-detail" data-testid="audit-detail">{detail}</code>
                </details>
            })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_encodes_what_it_must() {
        let query = Query {
            action: Some("reminder.created".into()),
            target: Some("reminder:12".into()),
            before: Some(99),
        };
        assert_eq!(
            query.href(),
            "/audit?action=reminder.created&target=reminder:12&before=99"
        );
        assert_eq!(Query::default().href(), "/audit");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    fn params(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn targets_read_from_either_form() {
        let query = Query::from_params(params(&[
            ("target_kind", "account"),
            ("target_id", " 7 "),
            ("action", ""),
        ]));
        assert_eq!(query.target.as_deref(), Some("account:7"));
        assert_eq!(query.action, None);
        assert_eq!(query.target_parts(), ("account".into(), "7".into()));

        let query = Query::from_params(params(&[("target", "reminder"), ("before", "x")]));
        assert_eq!(query.target_parts(), ("reminder".into(), String::new()));
        assert_eq!(query.before, None);

        let query = Query::from_params(params(&[("action", "login"), ("before", "40")]));
        assert_eq!(
            (query.action.as_deref(), query.before),
            (Some("login"), Some(40))
        );
        assert!(query.filtered());
    }

    #[test]
    fn known_actions_read_as_words_and_others_as_their_code() {
        assert_eq!(action_words("login"), Some("Signed in"));
        assert_eq!(action_words("something.new"), None);
        assert!(ACTIONS.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
