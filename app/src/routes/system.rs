//! What is running: version, commit, database and uptime; the workers with the accounts and jobs
//! each runs; and what delivery is doing for the operator (sessions by status, the job queue,
//! the last fire), refreshed on demand.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    functions::system::{system_delivery, system_status, system_workers},
    wire::{ComponentHealth, DeliveryReport, HealthReport, WorkersReport},
};

#[component]
pub fn System() -> impl IntoView {
    let (checks, set_checks) = signal(0u32);
    let status = Resource::new(move || checks.get(), |_| system_status());
    let workers = Resource::new(move || checks.get(), |_| system_workers());
    let delivery = Resource::new(move || checks.get(), |_| system_delivery());

    view! {
        <Title text="System" />
        <section class="page">
            <header class="page-header">
                <h1>"System"</h1>
                <p class="lede">"The Herald server you are talking to."</p>
            </header>
            <div class="card">
                <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
                    {move || status.get().map(|result| match result {
                        Ok(report) => view! { <HealthTable report /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("Could not reach the server: {e}")}</p> }.into_any(),
                    })}
                </Transition>
                <button class="button" type="button" on:click=move |_| set_checks.update(|n| *n += 1)>
                    "Check again"
                </button>
                <p class="muted" data-testid="check-count">{move || format!("Checks this visit: {}", checks.get() + 1)}</p>
            </div>
            <div class="card">
                <h2>"Workers"</h2>
                <p class="muted">"The processes that run WhatsApp, sending and the Telegram bot. Each account runs in one of them."</p>
                <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
                    {move || workers.get().map(|result| match result {
                        Ok(report) => view! { <WorkersTable report /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("Could not list the workers: {e}")}</p> }.into_any(),
                    })}
                    {move || delivery.get().map(|result| match result {
                        Ok(report) => view! { <DeliveryFacts report /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("Could not read delivery: {e}")}</p> }.into_any(),
                    })}
                </Transition>
            </div>
        </section>
    }
}

#[component]
fn HealthTable(report: HealthReport) -> impl IntoView {
    let (db_label, db_class) = match report.database {
        ComponentHealth::Ok => ("OK", "badge badge-ok"),
        ComponentHealth::Unavailable => ("Unavailable", "badge badge-bad"),
    };
    let engine = match report.database_backend.as_str() {
        "postgres" => "PostgreSQL",
        "sqlite" => "SQLite",
        other => other,
    }
    .to_owned();
    view! {
        <dl class="facts">
            <dt>"Database"</dt>
            <dd><span class=db_class data-testid="database-status">{db_label}</span>" "{engine}</dd>
            <dt>"Version"</dt>
            <dd data-testid="version">{report.version}</dd>
            <dt>"Commit"</dt>
            <dd><code>{report.commit}</code></dd>
            <dt>"Up for"</dt>
            <dd>{format_uptime(report.uptime_secs)}</dd>
        </dl>
    }
}

/// What the workers are doing for the operator: their accounts' sessions, the job queue, the
/// last fire.
#[component]
fn DeliveryFacts(report: DeliveryReport) -> impl IntoView {
    let accounts = if report.accounts.is_empty() {
        "None yet".to_owned()
    } else {
        report.accounts.join(", ")
    };
    let failed = (report.jobs_failed > 0).then(|| {
        view! { ", " <a href="/jobs">{format!("{} failed", report.jobs_failed)}</a> }
    });
    view! {
        <dl class="facts" data-testid="delivery">
            <dt>"Your accounts"</dt>
            <dd data-testid="sessions">{accounts}</dd>
            <dt>"Job queue"</dt>
            <dd data-testid="job-queue">{format!("{} waiting", report.jobs_waiting)}{failed}</dd>
            <dt>"Last fire"</dt>
            <dd data-testid="last-fire">{report.last_fire.unwrap_or_else(|| "None yet".to_owned())}</dd>
        </dl>
    }
}

#[component]
fn WorkersTable(report: WorkersReport) -> impl IntoView {
    let WorkersReport { workers, unheld } = report;
    let warning = (!unheld.is_empty()).then(|| {
        view! {
            <p class="error" role="alert" data-testid="unheld">
                {format!("Not running in any worker right now: {}. A worker takes them over within seconds; if this stays, start one.", unheld.join(", "))}
            </p>
        }
    });
    let empty = workers.is_empty().then(|| {
        view! { <p class="error" role="alert">"No worker is running: nothing connects or sends."</p> }
    });
    view! {
        {warning}
        {empty}
        <ul class="session-list" data-testid="workers">
            {workers
                .into_iter()
                .map(|w| {
                    let yours = if w.own_accounts.is_empty() {
                        "none of yours".to_owned()
                    } else {
                        w.own_accounts.join(", ")
                    };
                    let jobs = (!w.jobs.is_empty()).then(|| format!(" · runs {}", w.jobs.join(", ")));
                    view! {
                        <li>
                            <strong data-testid="worker-name">{w.name}</strong>
                            " "
                            <span class="muted">{format!("{} · since {}", w.version, w.started_at)}</span>
                            <br />
                            <span data-testid="worker-accounts">{format!("{} accounts ({yours})", w.accounts)}</span>
                            <span class="muted">{jobs}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

fn format_uptime(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_uptime;

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(format_uptime(42), "42 s");
        assert_eq!(format_uptime(60 * 5 + 7), "5 min");
        assert_eq!(format_uptime(3_600 * 2 + 60 * 3), "2 h 3 min");
        assert_eq!(format_uptime(86_400 * 3 + 3_600 * 4 + 59), "3 d 4 h");
    }
}
