//! `/reminders/runs/:id`: one run, group by group — where Telegram alerts link, where a run
//! paused at its send window is resumed or cancelled, and where a run that left groups
//! unreached is retried to them — and, once the operator confirms they could get it twice, to
//! the groups that may already have it. [`RunCard`] is the same run inside a reminder's
//! history.

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
        dialog::Dialog,
        feedback::{LoadFailed, error_text},
        live::keep_current,
        run_badge::{RunStatusBadge, TargetStatusBadge},
    },
    functions::{
        AppError,
        reminders::{cancel_run, resume_run, retry_run, retry_run_including_unknown, run_page},
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
    /// Confirmed: the groups that may already have it too.
    RetryUnknown,
}

/// One run: its status, how many groups got it, and (unfolded) each group's outcome. A paused
/// run offers Resume and Cancel, one that left groups unreached offers to send to them, and
/// one whose sends may or may not have landed offers, as a secondary choice behind a
/// confirmation, to send to those too; `on_change` runs once the request is queued.
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
    let unknown: Vec<String> = run
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Unknown)
        .map(|t| t.group_name.clone())
        .collect();
    let unknown_count = unknown.len();
    let retryable = run.status.is_problem() && unreached > 0;
    let resendable = run.status.is_problem() && unknown_count > 0;
    let unknown = StoredValue::new(unknown);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let RunNotices(notices) = use_context().unwrap_or_default();
    let act = move |action: Action| {
        busy.set(true);
        spawn_local(async move {
            let result = match action {
                Action::Resume => resume_run(run_id).await,
                Action::Cancel => cancel_run(run_id).await,
                Action::Retry => retry_run(run_id).await,
                Action::RetryUnknown => retry_run_including_unknown(run_id).await,
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
                (Ok(()), Action::RetryUnknown) => Ok(
                    "Sending: this run's message is going again to every group not reached, including those that may already have it."
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
            {(retryable || resendable).then(|| view! {
                <div class="notice notice-bad run-unreached" role="group" aria-label="Groups not reached">
                    {retryable.then(|| view! {
                        <p data-testid="unreached-count">
                            {if unreached == 1 { "1 group did not get this run.".to_owned() } else { format!("{unreached} groups did not get this run.") }}
                            " Send them its message now? Groups that got it, or may have, are left alone."
                        </p>
                    })}
                    {resendable.then(|| view! {
                        <p data-testid="unknown-count">
                            {groups_may_have_it(unknown_count)}
                            ": WhatsApp did not confirm the send."
                        </p>
                    })}
                    <div class="actions">
                        {retryable.then(|| view! {
                            <button class="button" type="button" data-testid="retry-run" disabled=busy on:click=move |_| act(Action::Retry)>"Send to the groups not reached"</button>
                        })}
                        {resendable.then(|| view! {
                            <button class="button button-secondary" type="button" data-testid="retry-unknown" disabled=busy on:click=move |_| confirming.set(true)>
                                {resend_label(retryable, unknown_count)}
                            </button>
                        })}
                    </div>
                </div>
            })}
            <Show when=move || confirming.get()>
                <ResendDialog
                    groups=unknown.get_value()
                    also_unreached=retryable
                    on_close=Callback::new(move |()| confirming.set(false))
                    on_confirm=Callback::new(move |()| {
                        confirming.set(false);
                        act(Action::RetryUnknown);
                    })
                />
            </Show>
            {move || notices.read().get(&run_id).cloned().map(|result| match result {
                Ok(text) => view! { <p class="notice notice-ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="notice notice-bad" role="alert">{text}</p> }.into_any(),
            })}
        </article>
    }
}

/// Asks the operator to confirm sending to groups whose send may have landed: said plainly,
/// they could get the message twice.
#[component]
fn ResendDialog(
    groups: Vec<String>,
    /// The groups not reached are sent it too.
    also_unreached: bool,
    on_close: Callback<()>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let title = if groups.len() == 1 {
        "Resend to a group that may already have it?"
    } else {
        "Resend to groups that may already have it?"
    };
    view! {
        <Dialog title_id="retry-unknown-title" title=title.to_owned() testid="retry-unknown-dialog" on_close>
            <p>
                "WhatsApp may already have delivered this run's message to "
                {if groups.len() == 1 { "this group" } else { "these groups" }}
                ", but never confirmed it, so Herald cannot tell:"
            </p>
            <ul class="impact" data-testid="retry-unknown-groups">
                {groups.into_iter().map(|name| view! { <li>{name}</li> }).collect_view()}
            </ul>
            <p><strong>"If it did, they get the message twice."</strong></p>
            {also_unreached.then(|| view! { <p class="muted">"The groups not reached are sent it too."</p> })}
            <div class="actions">
                <button class="button button-danger" type="button" data-testid="retry-unknown-confirm" on:click=move |_| on_confirm.run(())>
                    "Resend, knowing they may get it twice"
                </button>
                <button class="button button-secondary" type="button" data-testid="retry-unknown-cancel" on:click=move |_| on_close.run(())>"Cancel"</button>
            </div>
        </Dialog>
    }
}

/// "1 group may already have it", "3 groups may already have it".
fn groups_may_have_it(n: usize) -> String {
    match n {
        1 => "1 group may already have it".to_owned(),
        n => format!("{n} groups may already have it"),
    }
}

/// The secondary action's label: "Also …" beside the one-tap retry.
fn resend_label(beside_retry: bool, n: usize) -> String {
    let groups = if n == 1 {
        "the group that may already have it".to_owned()
    } else {
        format!("the {n} groups that may already have it")
    };
    if beside_retry {
        format!("Also resend to {groups}…")
    } else {
        format!("Resend to {groups}…")
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
    use super::{format_latency, groups_may_have_it, resend_label};

    #[test]
    fn latency_reads_naturally() {
        assert_eq!(format_latency(850), "850 ms");
        assert_eq!(format_latency(2_430), "2.4 s");
    }

    #[test]
    fn the_resend_offer_counts_its_groups() {
        assert_eq!(groups_may_have_it(1), "1 group may already have it");
        assert_eq!(groups_may_have_it(3), "3 groups may already have it");
        assert_eq!(
            resend_label(true, 2),
            "Also resend to the 2 groups that may already have it…"
        );
        assert_eq!(
            resend_label(false, 1),
            "Resend to the group that may already have it…"
        );
    }
}
