//! `/reminders`: every reminder of the operator, filtered by status through the URL
//! (`?status=active|paused|ended|failed`), so a filter survives a refresh and can be linked to.

use domain::status::ReminderStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::plural;
use crate::{
    components::{
        feedback::error_text,
        run_badge::{ReminderStatusBadge, RunStatusBadge},
    },
    functions::reminders::list_reminders,
    wire::reminders::ReminderRow,
};

/// The filters, as (query value, label); `None` shows every reminder.
const FILTERS: [(Option<ReminderStatus>, &str); 5] = [
    (None, "All"),
    (Some(ReminderStatus::Active), "Active"),
    (Some(ReminderStatus::Paused), "Paused"),
    (Some(ReminderStatus::Ended), "Ended"),
    (Some(ReminderStatus::Failed), "Failed"),
];

#[component]
pub fn RemindersPage() -> impl IntoView {
    let query = use_query_map();
    let status = Memo::new(move |_| {
        query
            .read()
            .get("status")
            .and_then(|s| s.parse::<ReminderStatus>().ok())
    });
    let reminders = Resource::new(
        move || status.get(),
        |status| list_reminders(status.map(|s| s.as_str().to_owned())),
    );

    view! {
        <Title text="Reminders" />
        <section class="page">
            <header class="page-header page-header-actions">
                <div>
                    <h1>"Reminders"</h1>
                    <p class="lede">"What each account sends, to which groups, and when."</p>
                </div>
                <a class="button" href="/reminders/new" data-testid="new-reminder">"New reminder"</a>
            </header>
            <nav class="filter-tabs" aria-label="Filter reminders">
                {FILTERS.into_iter().map(|(filter, label)| {
                    let href = match filter {
                        Some(s) => format!("/reminders?status={}", s.as_str()),
                        None => "/reminders".to_owned(),
                    };
                    view! {
                        <a
                            href=href
                            class="filter-tab"
                            aria-current=move || (status.get() == filter).then_some("page")
                            data-testid=format!("filter-{}", filter.map_or("all", |s| s.as_str()))
                        >
                            {label}
                        </a>
                    }
                }).collect_view()}
            </nav>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || reminders.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! { <Empty status=status.get_untracked() /> }.into_any(),
                    Ok(rows) => view! {
                        <ul class="reminder-list" data-testid="reminder-list">
                            {rows.into_iter().map(|row| view! { <Row row /> }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Row(row: ReminderRow) -> impl IntoView {
    let href = format!("/reminders/{}", row.id);
    view! {
        <li class="card reminder-row" data-testid="reminder-row">
            <div class="reminder-row-head">
                <A href=href attr:class="reminder-link">{row.name}</A>
                <ReminderStatusBadge status=row.status />
            </div>
            <p class="reminder-summary">{row.summary}</p>
            <p class="muted reminder-meta">
                {row.account_label}" · "{plural(row.groups, "group")}
                {row.next_fire.map(|next| view! { " · Next: "{next} })}
            </p>
            {row.status_reason.map(|reason| view! { <p class="muted">{reason}</p> })}
            {row.last_run.map(|status| view! {
                <p class="reminder-last-run">"Last run: "<RunStatusBadge status /></p>
            })}
        </li>
    }
}

/// Says why the list is empty, and what to do about it.
#[component]
fn Empty(status: Option<ReminderStatus>) -> impl IntoView {
    let (title, text) = match status {
        None => (
            "No reminders yet",
            "A reminder sends a message to WhatsApp groups once or on a schedule. Create the first one.",
        ),
        Some(ReminderStatus::Active) => (
            "Nothing active",
            "No reminder is waiting to fire: each is paused, ended or failed, or none exists yet.",
        ),
        Some(ReminderStatus::Paused) => (
            "Nothing paused",
            "Reminders you pause, and those stopped at their send window, show up here.",
        ),
        Some(ReminderStatus::Ended) => (
            "Nothing ended",
            "One-off reminders that were sent, and recurrences past their last date, show up here.",
        ),
        Some(ReminderStatus::Failed) => (
            "Nothing failed",
            "A reminder fails only when its stored schedule cannot be read. None has.",
        ),
    };
    view! {
        <div class="card empty-state" data-testid="reminders-empty">
            <h2>{title}</h2>
            <p>{text}</p>
            <a class="button" href="/reminders/new">"New reminder"</a>
        </div>
    }
}
