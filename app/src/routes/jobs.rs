//! `/jobs`: queued work that ran out of retries — a reminder that could not fire, a delivery
//! pass that kept failing, Herald's own upkeep — with Retry, which puts it back in line now.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::feedback::error_text,
    functions::jobs::{RetryJob, failed_jobs},
    wire::FailedJobView,
};

#[component]
pub fn FailedJobsPage() -> impl IntoView {
    let retry = ServerAction::<RetryJob>::new();
    let jobs = Resource::new(move || retry.version().get(), |_| failed_jobs());

    view! {
        <Title text="Failed jobs" />
        <section class="page">
            <header class="page-header">
                <h1>"Failed jobs"</h1>
                <p class="lede">
                    "Work Herald queued that kept failing until it ran out of retries. Fix the cause, then Retry puts the job back in line to run now."
                </p>
            </header>
            {move || retry.value().get().map(|result| match result {
                Ok(title) => view! {
                    <p class="notice notice-ok" role="status" data-testid="job-notice">
                        {format!("{title} is back in line: the worker runs it again now.")}
                    </p>
                }
                .into_any(),
                Err(e) => view! {
                    <p class="notice notice-bad" role="alert" data-testid="job-error">{error_text(&e)}</p>
                }
                .into_any(),
            })}
            <div class="card stack">
                <h2>"Waiting for you"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || jobs.get().map(|result| match result {
                        Ok(view) if view.jobs.is_empty() => view! {
                            <div class="empty-state" data-testid="jobs-empty">
                                <h3>"No failed jobs"</h3>
                                <p>"No failed jobs — every task either ran or is waiting its turn."</p>
                            </div>
                        }
                        .into_any(),
                        Ok(view) => view! {
                            <p class="muted">{format!("Most recent failure first · times in {}", view.timezone)}</p>
                            <JobsTable jobs=view.jobs retry />
                        }
                        .into_any(),
                        Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                    })}
                </Transition>
            </div>
        </section>
    }
}

#[component]
fn JobsTable(jobs: Vec<FailedJobView>, retry: ServerAction<RetryJob>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table table-stack jobs-table" data-testid="jobs-table">
                <thead>
                    <tr>
                        <th scope="col">"Job"</th>
                        <th scope="col">"Last error"</th>
                        <th scope="col" class="num">"Retries"</th>
                        <th scope="col">"Failed"</th>
                        <th scope="col">"Retry"</th>
                    </tr>
                </thead>
                <tbody>
                    {jobs.into_iter().map(|job| view! { <JobRow job retry /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn JobRow(job: FailedJobView, retry: ServerAction<RetryJob>) -> impl IntoView {
    let retry_label = format!("Retry {}", job.title);
    view! {
        <tr data-testid="job-row">
            <td data-label="Job">
                <strong data-testid="job-title">{job.title}</strong>
                // Every queued task is the installation's maintenance, which every operator sees.
                " " <span class="tag tag-muted" data-testid="job-system">"System"</span>
                <span class="muted job-detail">{job.detail}</span>
            </td>
            <td data-label="Last error">
                {match job.error {
                    Some(error) => view! { <span class="job-error" data-testid="job-error-message">{error}</span> }.into_any(),
                    None => view! { <span class="muted">"No message"</span> }.into_any(),
                }}
            </td>
            <td data-label="Retries" class="num">{job.retries}</td>
            <td data-label="Failed" class="job-when">{job.failed_at}</td>
            <td data-label="Retry">
                <ActionForm action=retry>
                    <input type="hidden" name="id" value=job.id />
                    <button
                        class="button button-secondary"
                        type="submit"
                        aria-label=retry_label
                        disabled=move || retry.pending().get()
                        data-testid="job-retry"
                    >
                        "Retry"
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}
