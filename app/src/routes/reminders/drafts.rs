//! Drafts waiting to be finished: listed above the reminders with Continue and Discard, and the
//! latest new one offered on New reminder, so a reminder started on the phone and left is
//! neither lost nor started again by accident.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{NavigateOptions, hooks::use_navigate};

use crate::{
    clock,
    components::{
        feedback::error_text,
        toast::{Toasts, use_toasts},
    },
    functions::drafts::{discard_draft, list_drafts, load_draft, restore_draft},
    wire::reminders::{DraftSummary, ReminderDraft, Step},
};

/// `/reminders`' list of drafts; nothing when there are none.
#[component]
pub(super) fn DraftsCard() -> impl IntoView {
    let drafts = Resource::new(|| (), |_| list_drafts());
    let reload = Callback::new(move |()| drafts.refetch());
    view! {
        <Transition fallback=|| ()>
            {move || drafts.get().map(|result| match result {
                Ok(list) if list.is_empty() => ().into_any(),
                Ok(list) => view! {
                    <section class="card stack drafts" aria-labelledby="drafts-title" data-testid="drafts">
                        <h2 id="drafts-title">"Not finished"</h2>
                        <ul class="draft-list">
                            {list.into_iter().map(|draft| view! { <DraftRow draft reload /> }).collect_view()}
                        </ul>
                    </section>
                }.into_any(),
                Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn DraftRow(draft: DraftSummary, reload: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let title = draft_title(&draft);
    let what = match &draft.editing {
        Some(reminder) => format!("Unsaved changes to “{}”", reminder.name),
        None => "New reminder".to_owned(),
    };
    let DraftSummary {
        id,
        account,
        updated,
        continue_at,
        ..
    } = draft.clone();
    let reminder_id = draft.editing.as_ref().map(|r| r.id);
    let discard = move |_| {
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            // Undo needs the content; read it before it goes.
            let kept = load_draft(id).await.map(|p| p.draft);
            match discard_draft(id).await {
                Ok(()) => {
                    match kept {
                        Ok(kept) => toasts.say_with_undo("The draft is discarded.", move || {
                            // Back where it needs something, as Continue would open it.
                            let at = kept.first_incomplete(clock::now()).unwrap_or(Step::Review);
                            undo_discard(reminder_id, kept.clone(), at, toasts, navigate.clone())
                        }),
                        Err(_) => toasts.say("The draft is discarded."),
                    }
                    // The list may be gone by now (the operator moved on).
                    reload.try_run(());
                }
                Err(e) => {
                    busy.try_set(false);
                    toasts.warn(error_text(&e));
                }
            }
        });
    };
    view! {
        <li class="draft-row" data-testid="draft-row">
            <div class="draft-main">
                <strong data-testid="draft-name">{title}</strong>
                <span class="muted">{what}{account.map(|a| format!(" · {a}"))}" · edited "{updated}</span>
            </div>
            <div class="actions">
                <a class="button" href=continue_at data-testid="draft-continue">"Continue"</a>
                <button class="button button-quiet-danger" type="button" data-testid="draft-discard" disabled=busy on:click=discard>"Discard"</button>
            </div>
        </li>
    }
}

/// On `/reminders/new`: the newest unfinished new reminder, to carry on with instead.
#[component]
pub fn ContinueLastDraft() -> impl IntoView {
    let drafts = Resource::new(|| (), |_| list_drafts());
    view! {
        <Transition fallback=|| ()>
            {move || drafts.get().and_then(Result::ok).and_then(|list| {
                list.into_iter().find(|d| d.editing.is_none()).map(|last| view! {
                    <p class="notice" data-testid="continue-last-draft">
                        "You started “"{draft_title(&last)}"”, last edited "{last.updated.clone()}". "
                        <a href=last.continue_at.clone()>"Continue it"</a>
                        ", or choose an account below to start another."
                    </p>
                })
            })}
        </Transition>
    }
}

fn draft_title(draft: &DraftSummary) -> String {
    if draft.name.is_empty() {
        "Untitled reminder".to_owned()
    } else {
        draft.name.clone()
    }
}

/// Undo of a discard, from its toast: the draft again, opened at step `at`.
pub(super) fn undo_discard(
    reminder_id: Option<i64>,
    draft: ReminderDraft,
    at: Step,
    toasts: Toasts,
    navigate: impl Fn(&str, NavigateOptions) + Send + Sync + 'static,
) {
    spawn_local(async move {
        match restore_draft(reminder_id, draft, at).await {
            Ok(url) => navigate(&url, Default::default()),
            Err(e) => toasts.warn(error_text(&e)),
        }
    });
}
