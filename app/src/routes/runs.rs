//! `/runs`: the operator's runs across reminders, newest first, a page at a time. The URL holds
//! the filters — `day` (`today` or `YYYY-MM-DD`, on the operator's clock) and `status` (`problems`
//! for every run that left a group unreached, or one run status) — and `before`, where the page starts, so a
//! filtered list can be bookmarked and Back works. The page follows the live event stream.

use domain::status::RunStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use crate::{
    components::{
        feedback::error_text, live::keep_current, run_badge::run_status_text, run_list::RunList,
    },
    functions::dashboard::list_runs,
    wire::RunsView,
};

/// The list's filters and position, as the URL gives them (blank values mean "any").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RunsQuery {
    day: Option<String>,
    status: Option<String>,
    before: Option<String>,
}

impl RunsQuery {
    /// `/runs` with these filters and `before`; blank values are left out.
    fn href(&self, before: Option<&str>) -> String {
        let pairs: Vec<String> = [
            ("day", self.day.as_deref()),
            ("status", self.status.as_deref()),
            ("before", before),
        ]
        .into_iter()
        .filter_map(|(key, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|value| format!("{key}={value}"))
        })
        .collect();
        if pairs.is_empty() {
            "/runs".to_owned()
        } else {
            format!("/runs?{}", pairs.join("&"))
        }
    }

    fn filtered(&self) -> bool {
        self.day.as_deref().is_some_and(|d| !d.is_empty())
            || self.status.as_deref().is_some_and(|s| !s.is_empty())
    }
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| RunsQuery {
            day: q.get("day"),
            status: q.get("status"),
            before: q.get("before"),
        })
    });
    // Each answer carries the query it answers, so the links it draws always match its rows.
    let page = Resource::new(
        move || params.get(),
        |q| async move {
            let answer = list_runs(q.day.clone(), q.status.clone(), q.before.clone()).await;
            (q, answer)
        },
    );
    view! {
        <Title text="Runs" />
        <section class="page runs-page">
            <header class="page-header">
                <h1>"Runs"</h1>
                <p class="lede">"Every time a reminder went out, newest first, with how many groups got it."</p>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|(query, answer)| match answer {
                    Ok(initial) => view! { <RunsScreen initial query /> }.into_any(),
                    Err(e) => view! {
                        <p class="notice notice-bad" role="alert" data-testid="runs-error">{error_text(&e)}</p>
                        <p><a href="/runs">"Show every run"</a></p>
                    }
                    .into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RunsScreen(initial: RunsView, query: RunsQuery) -> impl IntoView {
    let follow_from = initial.event_id;
    let day = initial.day.clone();
    let data = RwSignal::new(initial);
    let fetch = query.clone();
    // A run's progress or end changes its row, and a new run may join this page; a failed
    // refresh keeps what is shown until the next event.
    // Nothing on this page changes a run itself, so only events refresh it.
    let _ = keep_current(
        data,
        follow_from,
        |_| true,
        move || {
            let q = fetch.clone();
            list_runs(q.day, q.status, q.before)
        },
    );

    let runs = Memo::new(move |_| data.with(|d| d.runs.clone()));
    let empty = Memo::new(move |_| runs.with(Vec::is_empty));
    let next = Memo::new(move |_| data.with(|d| d.next.clone()));
    let filtered = query.filtered();
    let newest = query.before.is_some().then(|| query.href(None));
    let older = {
        let query = query.clone();
        move || next.get().map(|next| query.href(Some(&next)))
    };
    view! {
        <RunFilters day=day.clone() status=query.status.clone() />
        <div class="card">
            <p class="muted runs-summary" data-testid="runs-summary">{summary(&query, day.as_deref())}</p>
            <Show
                when=move || !empty.get()
                fallback=move || view! {
                    <div class="empty-state" data-testid="runs-empty">
                        {if filtered {
                            view! {
                                <h3>"No runs match"</h3>
                                <p>"Nothing went out on that day with that outcome. "<a href="/runs">"Show every run"</a></p>
                            }
                            .into_any()
                        } else {
                            view! {
                                <h3>"No runs yet"</h3>
                                <p>"Each time a reminder goes out, its run is listed here."</p>
                            }
                            .into_any()
                        }}
                    </div>
                }
            >
                <RunList runs testid="runs-list" />
            </Show>
            <nav class="pager" aria-label="Pages of runs">
                {newest.map(|href| view! { <a class="button button-secondary" href=href data-testid="runs-newest">"← Newest"</a> })}
                {move || older().map(|href| view! { <a class="button button-secondary" href=href data-testid="runs-older">"Older runs →"</a> })}
            </nav>
        </div>
    }
    .into_any()
}

/// A day picker and a status picker; submitting changes the URL, which reloads the list.
#[component]
fn RunFilters(day: Option<String>, status: Option<String>) -> impl IntoView {
    let status = status.unwrap_or_default();
    let option = move |value: &'static str, text: &'static str| {
        view! { <option value=value selected=status == value>{text}</option> }
    };
    let singles = RunStatus::ALL
        .into_iter()
        .map(|s| option(s.as_str(), run_status_text(s)))
        .collect_view();
    view! {
        <div class="card runs-filters">
            <Form method="GET" action="/runs">
                <div class="filter-row">
                    <div class="filter-field">
                        <label class="field-label" for="runs-day">"Day"</label>
                        <input class="input" id="runs-day" name="day" type="date" value=day data-testid="runs-day" />
                    </div>
                    <div class="filter-field">
                        <label class="field-label" for="runs-status">"Outcome"</label>
                        <select class="input" id="runs-status" name="status" data-testid="runs-status">
                            {option("", "Any")}
                            {option("problems", "Problems: failed, partly sent or skipped")}
                            {singles}
                        </select>
                    </div>
                    <button class="button" type="submit" data-testid="runs-apply">"Show"</button>
                </div>
            </Form>
            <p class="actions quick-filters">
                <a href="/runs?day=today">"Today"</a>
                <a href="/runs?day=today&status=problems">"Problems today"</a>
                <a href="/runs?status=problems">"All problems"</a>
                <a href="/runs">"Every run"</a>
            </p>
        </div>
    }
    .into_any()
}

/// What the list holds, in words: "Runs with a problem on 2031-03-03".
fn summary(query: &RunsQuery, day: Option<&str>) -> String {
    let what = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => "All runs".to_owned(),
        Some("problems") => "Runs with a problem (failed, partly sent or skipped)".to_owned(),
        Some(status) => match status.parse::<RunStatus>() {
            Ok(status) => format!("Runs with the outcome “{}”", run_status_text(status)),
            Err(_) => "Runs".to_owned(),
        },
    };
    let when = match (query.day.as_deref(), day) {
        (Some("today"), Some(day)) => format!(" today ({day})"),
        (_, Some(day)) => format!(" on {day}"),
        _ => String::new(),
    };
    let page = if query.before.is_some() {
        ", older page"
    } else {
        ", newest first"
    };
    format!("{what}{when}{page}.")
}
