//! Runs as a list, one row each: the dashboard's activity feed and the runs page show them alike.
//! The whole row opens the run; the reminder's name, a link of its own, opens the reminder.

use leptos::prelude::*;

use crate::{
    components::run_badge::{RunStatusBadge, run_status_text},
    wire::RunRowView,
};

/// The rows of `runs`; a row whose run changed is redrawn, the others stay as they are (so focus
/// and hover survive a live refresh).
#[component]
pub fn RunList(#[prop(into)] runs: Signal<Vec<RunRowView>>, testid: &'static str) -> impl IntoView {
    view! {
        <ul class="run-list" data-testid=testid>
            <For each=move || runs.get() key=|run| run.clone() let:run>
                <RunItem run />
            </For>
        </ul>
    }
    .into_any()
}

#[component]
pub fn RunItem(run: RunRowView) -> impl IntoView {
    let href = format!("/reminders/runs/{}", run.id);
    let counts = format!("{} of {} sent", run.sent, run.total);
    // The link's own words are only the time and counts; its name says which run it opens.
    let label = format!(
        "{} at {}: {}, {counts}",
        run.reminder_name,
        run.when,
        run_status_text(run.status)
    );
    let reminder = match run.reminder_id {
        Some(id) => view! {
            <a class="run-item-reminder" href=format!("/reminders/{id}") data-testid="run-reminder">
                {run.reminder_name}
            </a>
        }
        .into_any(),
        None => view! {
            <span class="run-item-reminder" data-testid="run-reminder">{run.reminder_name}</span>
            <span class="tag tag-muted" data-testid="run-reminder-deleted">"(deleted reminder)"</span>
        }
        .into_any(),
    };
    view! {
        <li class="run-item" data-testid="run-item" data-run-id=run.id>
            <div class="run-item-head">
                {reminder}
                <RunStatusBadge status=run.status />
            </div>
            // Stretched over the row (main.css), so the row is one big target for the run.
            <a class="run-item-link" href=href aria-label=label data-testid="run-link">
                <time datetime=run.at>{run.when}</time>
                <span class="run-item-counts" data-testid="run-counts">{counts}</span>
            </a>
        </li>
    }
    .into_any()
}
