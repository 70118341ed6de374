//! `/reminders/:id`: one reminder — its schedule and next fires, its message, its groups, its
//! runs group by group — with pause, resume, send now, skip next, duplicate and delete. Each
//! section's Edit opens that step of the wizard.

use domain::{bus::Event, status::ReminderStatus};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{NavigateOptions, hooks::use_navigate};

use super::{
    plural,
    run::{RunCard, RunNotices},
};
use crate::{
    components::{
        dialog::Dialog,
        feedback::{LoadFailed, error_text},
        fire_time::FireTimeText,
        live::keep_current,
        part_preview::PartPreview,
        run_badge::ReminderStatusBadge,
        toast::{Toasts, use_toasts},
    },
    functions::{
        AppError,
        reminders::{
            delete_reminder, duplicate_reminder, pause_reminder, reminder_page, restore_reminder,
            resume_reminder, send_reminder_now, skip_next_occurrence,
        },
    },
    routes::id_param,
    wire::reminders::{ReminderPage, SkipPreview, Step},
};

#[component]
pub fn ReminderDetailPage() -> impl IntoView {
    let id = id_param("id");
    // Loaded once per reminder; afterwards the page refreshes itself from live events.
    let page = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => reminder_page(id).await,
                None => Err(AppError::new("No such reminder.")),
            }
        },
    );

    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|result| match result {
                    Ok(initial) => view! { <LiveReminder initial /> }.into_any(),
                    Err(error) => view! { <LoadFailed title="Reminder" error back=("/reminders", "your reminders") /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The page kept current: its runs' progress, and changes made elsewhere (the worker, another
/// tab, the Telegram bot) arrive over the live stream and refresh it.
#[component]
fn LiveReminder(initial: ReminderPage) -> impl IntoView {
    let id = initial.row.id;
    let after = initial.event_id;
    let current = RwSignal::new(initial);
    let refresh = keep_current(
        current,
        after,
        move |event| concerns(event, id),
        move || reminder_page(id),
    );
    let reload = Callback::new(move |()| refresh());
    let ui = ScreenState {
        confirm: RwSignal::new(None),
        busy: RwSignal::new(false),
        error: RwSignal::new(None),
        done: RwSignal::new(None),
    };
    provide_context(RunNotices::default());
    view! {
        {move || view! { <ReminderScreen page=current.get() reload ui /> }}
    }
}

/// What the operator is doing on the page, kept across live refreshes (which redraw it).
#[derive(Clone, Copy)]
struct ScreenState {
    /// The action whose confirmation is open.
    confirm: RwSignal<Option<Action>>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    /// What the last action did, in words.
    done: RwSignal<Option<String>>,
}

/// Whether an event changes what this reminder's page shows.
fn concerns(event: &Event, reminder_id: i64) -> bool {
    match event {
        Event::ReminderChanged {
            reminder_id: id, ..
        }
        | Event::Missed {
            reminder_id: id, ..
        } => *id == reminder_id,
        Event::RunProgress {
            reminder_id: id, ..
        }
        | Event::RunFinished {
            reminder_id: id, ..
        }
        | Event::RunAlert {
            reminder_id: id, ..
        } => *id == Some(reminder_id),
        _ => false,
    }
}

#[component]
fn ReminderScreen(page: ReminderPage, reload: Callback<()>, ui: ScreenState) -> impl IntoView {
    let id = page.row.id;
    let status = page.row.status;
    let name = page.row.name.clone();
    let name_for_toasts = StoredValue::new(name.clone());
    let ScreenState {
        confirm,
        busy,
        error,
        done,
    } = ui;
    let navigate = use_navigate();
    let expected = page.next_fire_at;

    let toasts = use_toasts();
    let run_action = Callback::new(move |action: Action| {
        confirm.set(None);
        busy.set(true);
        error.set(None);
        done.set(None);
        let navigate = navigate.clone();
        let name = name_for_toasts.get_value();
        spawn_local(async move {
            let result = match action {
                Action::Pause => pause_reminder(id).await.map(|()| {
                    toasts.say(format!("Paused “{name}”."));
                    None
                }),
                Action::Resume => resume_reminder(id).await.map(|()| {
                    toasts.say(format!("Resumed “{name}”."));
                    None
                }),
                Action::SendNow => send_reminder_now(id).await.map(|()| {
                    done.set(Some(
                        "Sending now: follow it in the run history below.".to_owned(),
                    ));
                    None
                }),
                Action::SkipNext => skip_next_occurrence(id, expected.unwrap_or_default())
                    .await
                    .map(|date| {
                        done.set(Some(format!(
                            "{date} is skipped. Edit When to send on it after all."
                        )));
                        None
                    }),
                Action::Duplicate => duplicate_reminder(id).await.map(|copy| {
                    toasts.say("This is the copy. It is paused: check it, then resume it.");
                    Some(format!("/reminders/{copy}"))
                }),
                Action::Delete => delete_reminder(id).await.map(|()| {
                    let undo_navigate = navigate.clone();
                    toasts.say_with_undo(format!("Deleted “{name}”."), move || {
                        undo_delete(id, toasts, undo_navigate.clone())
                    });
                    Some("/reminders".to_owned())
                }),
            };
            busy.try_set(false);
            match result {
                Ok(Some(to)) => navigate(&to, Default::default()),
                Ok(None) => reload.run(()),
                Err(e) => {
                    error.try_set(Some(error_text(&e)));
                }
            }
        });
    });
    let edit = move |step: Step| format!("/reminders/{id}/edit/{}", step.slug());
    let runs_kept = page.runs.len();
    let groups = plural(page.groups.len(), "group");
    let skip_choice = page.skip_next.clone();

    view! {
        <Title text=name.clone() />
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/reminders">"Reminders"</a></nav>
        <header class="page-header reminder-title">
            <h1>{name.clone()}</h1>
            <ReminderStatusBadge status />
        </header>
        {page.row.status_reason.clone().map(|reason| view! { <p class="notice" data-testid="status-reason">{reason}</p> })}
        {page.has_draft.then(|| view! {
            <p class="notice" data-testid="unsaved-changes">
                "You have unsaved changes to this reminder. "
                <a href=edit(Step::Review)>"Review and save them"</a>
            </p>
        })}
        <div class="actions reminder-actions">
            {match status {
                ReminderStatus::Active => view! {
                    <button class="button button-secondary" type="button" data-testid="pause" disabled=busy on:click=move |_| run_action.run(Action::Pause)>"Pause"</button>
                }.into_any(),
                ReminderStatus::Paused => view! {
                    <button class="button" type="button" data-testid="resume" disabled=busy on:click=move |_| run_action.run(Action::Resume)>"Resume"</button>
                }.into_any(),
                _ => ().into_any(),
            }}
            {matches!(status, ReminderStatus::Active | ReminderStatus::Ended).then(|| view! {
                <button class="button button-secondary" type="button" data-testid="send-now" disabled=busy on:click=move |_| confirm.set(Some(Action::SendNow))>"Send now"</button>
            })}
            {skip_choice.is_some().then(|| view! {
                <button class="button button-secondary" type="button" data-testid="skip-next" disabled=busy on:click=move |_| confirm.set(Some(Action::SkipNext))>"Skip next"</button>
            })}
            <button class="button button-secondary" type="button" data-testid="duplicate" disabled=busy on:click=move |_| run_action.run(Action::Duplicate)>"Duplicate"</button>
            <button class="button button-quiet-danger" type="button" data-testid="delete" disabled=busy on:click=move |_| confirm.set(Some(Action::Delete))>"Delete"</button>
        </div>
        {move || error.get().map(|text| view! { <p class="notice notice-bad" role="alert">{text}</p> })}
        {move || done.get().map(|text| view! { <p class="notice notice-ok" role="status" data-testid="action-done">{text}</p> })}

        <div class="reminder-sections">
            <section class="card stack" aria-labelledby="when-title">
                <header class="section-head">
                    <h2 id="when-title">"When"</h2>
                    <a class="edit-link" href=edit(Step::When) data-testid="edit-when">"Edit"<span class="visually-hidden">" when"</span></a>
                </header>
                <p class="reminder-summary" data-testid="summary">{page.row.summary.clone()}</p>
                <dl class="facts">
                    <dt>"Time zone"</dt><dd>{page.timezone.clone()}</dd>
                    <dt>"Send window"</dt>
                    <dd>{page.window_end_hour.map_or_else(|| "None: a run sends until done".to_owned(), |h| format!("Until {h:02}:00 local"))}</dd>
                    <dt>"Next"</dt>
                    <dd data-testid="next-fire">
                        {page.row.next_fire.clone().or_else(|| page.resume_note.clone()).unwrap_or_else(|| "—".to_owned())}
                        {page.row.next_fire.is_some().then(|| page.next_yours.clone()).flatten().map(|t| view! {
                            " " <span class="muted" data-testid="next-fire-yours">{format!("({t} your time)")}</span>
                        })}
                    </dd>
                    {(!page.skipped.is_empty()).then(|| view! {
                        <dt>"Skips"</dt>
                        <dd data-testid="skipped-dates">{page.skipped.join(", ")}</dd>
                    })}
                </dl>
                {(page.upcoming.len() > 1).then(|| view! {
                    <details>
                        <summary>"Next "{page.upcoming.len()}" fires"</summary>
                        <ol class="upcoming">{page.upcoming.iter().cloned().map(|fire| view! { <li><FireTimeText fire /></li> }).collect_view()}</ol>
                    </details>
                })}
            </section>

            <section class="card stack" aria-labelledby="message-title">
                <header class="section-head">
                    <h2 id="message-title">"Message"</h2>
                    <a class="edit-link" href=edit(Step::Message) data-testid="edit-message">"Edit"<span class="visually-hidden">" message"</span></a>
                </header>
                <ol class="message-preview" data-testid="message-preview">
                    {page.parts.iter().cloned().map(|part| view! { <PartPreview part /> }).collect_view()}
                </ol>
            </section>

            <section class="card stack" aria-labelledby="groups-title">
                <header class="section-head">
                    <h2 id="groups-title">"Groups"</h2>
                    <a class="edit-link" href=edit(Step::Groups) data-testid="edit-groups">"Edit"<span class="visually-hidden">" groups"</span></a>
                </header>
                <p class="muted">"From "{page.row.account_label.clone()}" · "{plural(page.groups.len(), "group")}
                    " · "<a href=edit(Step::Account)>"Change account"</a></p>
                <ul class="group-chips" data-testid="target-groups">
                    {page.groups.iter().map(|g| view! {
                        <li class="tag">{g.name.clone()}<span class="muted">" · "{g.participants}</span>
                            {g.archived.then(|| view! { " " <span class="tag tag-muted">"Archived"</span> })}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        </div>

        <section class="stack run-history" aria-labelledby="runs-title">
            <h2 id="runs-title">"Run history"</h2>
            {(runs_kept == 0).then(|| view! {
                <p class="card empty-state" data-testid="runs-empty">"No runs yet. Each time the reminder fires, its outcome for every group appears here."</p>
            })}
            {page.runs.into_iter().enumerate().map(|(i, run)| view! { <RunCard run open={i == 0} on_change=reload /> }).collect_view()}
        </section>

        {move || confirm.get().map(|action| {
            let close = Callback::new(move |()| confirm.set(None));
            let (title, testid, body, button, class) = match action {
                Action::SendNow => (
                    format!("Send “{}” now?", name),
                    "send-now-dialog",
                    view! {
                        <p>"Its message goes to its "{groups.clone()}" once, now, paced as usual. Its schedule does not change."</p>
                    }.into_any(),
                    "Send now",
                    "button",
                ),
                Action::SkipNext => (
                    skip_choice.as_ref().map(skip_title).unwrap_or_default(),
                    "skip-dialog",
                    view! {
                        <p>{skip_choice.as_ref().map(skip_consequence)}</p>
                    }.into_any(),
                    "Skip it",
                    "button",
                ),
                _ => (
                    format!("Delete “{}”?", name),
                    "delete-dialog",
                    view! {
                        <p>"The reminder stops and its schedule, message and groups are removed."</p>
                        <p><strong>"Its run history is kept"</strong>" — every past run and its per-group outcome stays on the Runs page."</p>
                    }.into_any(),
                    "Delete reminder",
                    "button button-danger",
                ),
            };
            view! {
                <Dialog title_id="confirm-title" title testid on_close=close>
                    {body}
                    <div class="actions">
                        <button class=class type="button" data-testid="confirm-action" disabled=busy on:click=move |_| run_action.run(action)>{button}</button>
                        <button class="button button-secondary" type="button" on:click=move |_| close.run(())>"Keep it"</button>
                    </div>
                </Dialog>
            }
        })}
    }
}

/// Puts a deleted reminder back and opens it; run from the delete's toast, from whatever page
/// the operator is on by then.
fn undo_delete(
    id: i64,
    toasts: Toasts,
    navigate: impl Fn(&str, NavigateOptions) + Send + Sync + 'static,
) {
    spawn_local(async move {
        match restore_reminder(id).await {
            Ok(()) => {
                toasts.say("It is back, as it was.");
                navigate(&format!("/reminders/{id}"), Default::default());
            }
            Err(e) => toasts.warn(error_text(&e)),
        }
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Pause,
    Resume,
    SendNow,
    SkipNext,
    Duplicate,
    Delete,
}

/// "Skip Tue 8 Dec 2026, 09:00?", or the date alone when it would still send more than once.
fn skip_title(skip: &SkipPreview) -> String {
    match skip.times.as_slice() {
        [one] => format!("Skip {}, {one}?", skip.date),
        _ => format!("Skip {}?", skip.date),
    }
}

fn skip_consequence(skip: &SkipPreview) -> String {
    let what = match skip.times.as_slice() {
        [_] => "Nothing is sent then.".to_owned(),
        times => format!(
            "Skipping is by date: nothing is sent that day, at {}.",
            times.join(", ")
        ),
    };
    match &skip.then {
        Some(after) => format!("{what} The next send is {after}."),
        None => format!("{what} It was the last send: the reminder ends."),
    }
}
