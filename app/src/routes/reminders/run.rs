//! `/reminders/runs/:id`: one run, group by group — where Telegram alerts link, where a run
//! paused at its send window is resumed or cancelled, and where a run that left groups
//! unreached is retried to them. [`RunCard`] is the same run inside a
//! reminder's history.

use std::collections::HashMap;

use domain::{
    bus::Event,
    status::{RunStatus, TargetStatus},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    components::part_preview::PartPreview,
    components::{
        feedback::{LoadFailed, error_text},
        live::keep_current,
        run_badge::{RunStatusBadge, TargetStatusBadge},
    },
    functions::{
        AppError,
        reminders::{cancel_run, resume_run, retry_run, run_page},
    },
    routes::id_param,
    wire::reminders::{RunPage, RunTargetView, RunView},
};

#[component]
pub fn RunDetailPage() -> impl IntoView {
    let id = id_param("id");
    let page = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => run_page(id).await,
                None => Err(AppError::new("No such run.")),
            }
        },
    );

    view! {
        <Title text="Run" />
        <section class="page">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|result| match result {
                    Ok(initial) => view! { <LiveRun initial /> }.into_any(),
                    Err(error) => view! { <LoadFailed title="Run" error back=("/reminders", "your reminders") /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The run kept current by the live stream while it sends.
#[component]
fn LiveRun(initial: RunPage) -> impl IntoView {
    let run_id = initial.run.id;
    let after = initial.event_id;
    let current = RwSignal::new(initial);
    let refresh = keep_current(
        current,
        after,
        move |event| match event {
            Event::RunProgress { run_id: id, .. }
            | Event::RunFinished { run_id: id, .. }
            | Event::RunAlert { run_id: id, .. }
            | Event::TargetsUnknown { run_id: id, .. } => *id == run_id,
            _ => false,
        },
        move || run_page(run_id),
    );
    let reload = Callback::new(move |()| refresh());
    provide_context(RunNotices::default());
    view! {
        {move || {
            let page = current.get();
                        let back = match page.run.reminder_id {
                            Some(id) => view! { <a href=format!("/reminders/{id}")>{page.run.reminder_name.clone()}</a> }.into_any(),
                            None => view! { <span>{page.run.reminder_name.clone()}" (deleted reminder)"</span> }.into_any(),
                        };
                        view! {
                            <nav class="breadcrumb" aria-label="Breadcrumb">
                                <a href="/reminders">"Reminders"</a>" / "{back}
                            </nav>
                            <header class="page-header">
                                <h1>"Run of "{page.run.occurrence.clone()}</h1>
                                {page.account_label.map(|label| view! { <p class="lede">"Sent from "{label}</p> })}
                            </header>
                            <RunCard run=page.run open=true on_change=reload />
                            {(!page.message.is_empty()).then(|| view! {
                                <section class="card stack" aria-labelledby="run-message-title">
                                    <h2 id="run-message-title">"This run's message"</h2>
                                    <ol class="message-preview" data-testid="run-message">
                                        {page.message.into_iter().map(|part| view! { <PartPreview part /> }).collect_view()}
                                    </ol>
                                </section>
                            })}
                        }
        }}
    }
}

/// What became of Resume, Cancel or Retry, per run; kept by the page so a live refresh, which redraws
/// the run, does not lose it.
#[derive(Clone, Copy, Default)]
pub struct RunNotices(RwSignal<HashMap<i64, Result<String, String>>>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Resume,
    Cancel,
    Retry,
}

/// One run: its status, how many groups got it, and (unfolded) each group's outcome. A paused
/// run offers Resume and Cancel, one that left groups unreached offers to send to them;
/// `on_change` runs once the request is queued.
#[component]
pub fn RunCard(run: RunView, open: bool, on_change: Callback<()>) -> impl IntoView {
    let run_id = run.id;
    let paused = run.status == RunStatus::Paused;
    // What a retry sends to: the server decides again, this only decides whether to offer it.
    let unreached = run
        .targets
        .iter()
        .filter(|t| matches!(t.status, TargetStatus::Skipped | TargetStatus::Failed))
        .count();
    let retryable = run.status.is_problem() && unreached > 0;
    let busy = RwSignal::new(false);
    let RunNotices(notices) = use_context().unwrap_or_default();
    let act = move |action: Action| {
        busy.set(true);
        spawn_local(async move {
            let result = match action {
                Action::Resume => resume_run(run_id).await,
                Action::Cancel => cancel_run(run_id).await,
                Action::Retry => retry_run(run_id).await,
            };
            busy.set(false);
            let notice = match (result, action) {
                (Ok(()), Action::Resume) => {
                    Ok("Resuming: the remaining groups are being sent now.".to_owned())
                }
                (Ok(()), Action::Cancel) => {
                    Ok("Cancelled: the remaining groups are skipped.".to_owned())
                }
                (Ok(()), Action::Retry) => Ok(
                    "Sending: the groups not reached are being sent this run's message now."
                        .to_owned(),
                ),
                (Err(e), _) => Err(error_text(&e)),
            };
            notices.update(|all| {
                all.insert(run_id, notice);
            });
            on_change.run(());
        });
    };
    let counts = format!("{} of {} sent", run.sent, run.total);
    view! {
        <article class="card run-card" data-testid="run" data-run-id=run_id data-status=run.status.as_str()>
            <details open=open>
                <summary class="run-summary">
                    <span class="run-when">{run.occurrence}</span>
                    <RunStatusBadge status=run.status />
                    <span class="muted" data-testid="run-counts">{counts}</span>
                </summary>
                {run.reason.map(|reason| view! { <p class="muted run-reason">{reason}</p> })}
                {(run.targets.is_empty()).then(|| view! { <p class="muted">"No groups were part of this run."</p> })}
                {(!run.targets.is_empty()).then(|| view! { <TargetTable targets=run.targets /> })}
                <p class="run-links"><a href=format!("/reminders/runs/{run_id}")>"Run page"</a></p>
            </details>
            {paused.then(|| view! {
                <div class="notice run-paused" role="group" aria-label="Paused run">
                    <p>"The send window closed before every group got this run. Send the rest now, or skip them?"</p>
                    <div class="actions">
                        <button class="button" type="button" data-testid="resume-run" disabled=busy on:click=move |_| act(Action::Resume)>"Resume"</button>
                        <button class="button button-secondary" type="button" data-testid="cancel-run" disabled=busy on:click=move |_| act(Action::Cancel)>"Cancel the rest"</button>
                    </div>
                </div>
            })}
            {retryable.then(|| view! {
                <div class="notice notice-bad run-unreached" role="group" aria-label="Groups not reached">
                    <p data-testid="unreached-count">
                        {if unreached == 1 { "1 group did not get this run.".to_owned() } else { format!("{unreached} groups did not get this run.") }}
                        " Send them its message now? Groups that got it, or may have, are left alone."
                    </p>
                    <div class="actions">
                        <button class="button" type="button" data-testid="retry-run" disabled=busy on:click=move |_| act(Action::Retry)>"Send to the groups not reached"</button>
                    </div>
                </div>
            })}
            {move || notices.read().get(&run_id).cloned().map(|result| match result {
                Ok(text) => view! { <p class="notice notice-ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="notice notice-bad" role="alert">{text}</p> }.into_any(),
            })}
        </article>
    }
}

#[component]
fn TargetTable(targets: Vec<RunTargetView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table run-targets">
                <thead>
                    <tr><th scope="col">"Group"</th><th scope="col">"Outcome"</th><th scope="col" title="From the time it was due until WhatsApp accepted the message">"Sent after"</th><th scope="col">"Detail"</th></tr>
                </thead>
                <tbody>
                    {targets.into_iter().map(|t| view! {
                        <tr data-testid="run-target">
                            <td>{t.group_name}</td>
                            <td><TargetStatusBadge status=t.status /></td>
                            <td>{t.latency_ms.map(format_latency).unwrap_or_else(|| "—".to_owned())}</td>
                            <td class="muted">
                                {t.reason.unwrap_or_default()}
                                {(t.attempts > 1).then(|| format!(" ({} attempts)", t.attempts))}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// "850 ms", "2.4 s".
fn format_latency(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::format_latency;

    #[test]
    fn latency_reads_naturally() {
        assert_eq!(format_latency(850), "850 ms");
        assert_eq!(format_latency(2_430), "2.4 s");
    }
}
