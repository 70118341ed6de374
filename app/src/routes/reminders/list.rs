//! `/reminders`: the operator's reminders, newest first, a page at a time, filtered by status
//! through the URL (`?status=active|paused|ended|failed&page=2`), so a filter and a page survive
//! a refresh and can be linked to.

use domain::status::ReminderStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{drafts::DraftsCard, plural};
use crate::{
    components::{
        feedback::error_text,
        run_badge::{ReminderStatusBadge, RunStatusBadge},
    },
    functions::reminders::list_reminders,
    wire::reminders::{ReminderList, ReminderRow},
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
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u64>().ok()));
    let reminders = Resource::new(
        move || (status.get(), page.get()),
        |(status, page)| list_reminders(status.map(|s| s.as_str().to_owned()), page),
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
            <DraftsCard />
            <nav class="filter-tabs" aria-label="Filter reminders">
                {FILTERS.into_iter().map(|(filter, label)| {
                    let href = list_href(filter, 1);
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
                    Ok(list) if list.rows.is_empty() => view! { <Empty status=status.get_untracked() /> }.into_any(),
                    Ok(list) => view! { <Listed list status=status.get_untracked() /> }.into_any(),
                    Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The list's address for `status` and `page`; the first page has no `page` in it.
fn list_href(status: Option<ReminderStatus>, page: u64) -> String {
    let mut query = Vec::new();
    if let Some(status) = status {
        query.push(format!("status={}", status.as_str()));
    }
    if page > 1 {
        query.push(format!("page={page}"));
    }
    if query.is_empty() {
        "/reminders".to_owned()
    } else {
        format!("/reminders?{}", query.join("&"))
    }
}

/// One page of rows, with links to the newer and older pages when there are more.
#[component]
fn Listed(list: ReminderList, status: Option<ReminderStatus>) -> impl IntoView {
    let ReminderList {
        rows,
        page,
        pages,
        total,
    } = list;
    let step = move |to: u64, label: &'static str, rel: &'static str| {
        let href = list_href(status, to);
        view! { <a class="button button-secondary" href=href rel=rel data-testid=format!("page-{rel}")>{label}</a> }
    };
    view! {
        <ul class="reminder-list" data-testid="reminder-list">
            {rows.into_iter().map(|row| view! { <Row row /> }).collect_view()}
        </ul>
        {(pages > 1).then(|| view! {
            <nav class="pager" aria-label="Pages of reminders">
                {(page > 1).then(|| step(page - 1, "← Newer", "prev"))}
                <span class="muted" data-testid="page-position">
                    {format!("Page {page} of {pages} · {}", plural(total as usize, "reminder"))}
                </span>
                {(page < pages).then(|| step(page + 1, "Older →", "next"))}
            </nav>
        })}
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
