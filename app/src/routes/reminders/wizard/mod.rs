//! The reminder wizard: account → message → when → groups → review. Each step has its own URL
//! (`/reminders/drafts/:draft/:step` for a new reminder, `/reminders/:id/edit/:step` for an
//! edit), and the draft lives on the server, saved as the operator types: Back, a refresh, a
//! deep link or another device all carry on where they were.

mod account;
mod chips;
mod groups;
mod message;
mod review;
mod rule;
mod upload;
mod when;

use std::time::Duration;

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::{
    clock,
    components::{
        feedback::{LoadFailed, error_text},
        toast::use_toasts,
    },
    functions::{
        AppError,
        drafts::{discard_draft, edit_reminder, load_draft, save_draft, submit_draft},
    },
    routes::id_param,
    wire::reminders::{
        DraftPage, FieldProblem as StepProblem, Problem, ReminderDraft, Step, SubmitOutcome,
    },
};

pub use account::NewReminderPage;

/// How long typing must pause before the draft is saved.
const AUTOSAVE_AFTER: Duration = Duration::from_millis(700);

/// `/reminders/drafts/:draft/:step`: a new reminder being written.
#[component]
pub fn NewWizardPage() -> impl IntoView {
    let draft_id = id_param("draft");
    let page = Resource::new(
        move || draft_id.get(),
        |id| async move {
            match id {
                Some(id) => load_draft(id).await,
                None => Err(AppError::new("No such draft.")),
            }
        },
    );
    view! { <WizardLoader page /> }
}

/// `/reminders/:id/edit/:step`: changes to an existing reminder.
#[component]
pub fn EditWizardPage() -> impl IntoView {
    let reminder_id = id_param("id");
    let page = Resource::new(
        move || reminder_id.get(),
        |id| async move {
            match id {
                Some(id) => edit_reminder(id).await,
                None => Err(AppError::new("No such reminder.")),
            }
        },
    );
    view! { <WizardLoader page /> }
}

#[component]
fn WizardLoader(page: Resource<Result<DraftPage, AppError>>) -> impl IntoView {
    let params = use_params_map();
    let step = Memo::new(move |_| params.read().get("step").and_then(|s| Step::parse(&s)));
    view! {
        <section class="page wizard">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <Wizard page step /> }.into_any(),
                    Err(error) => view! { <LoadFailed title="Reminder" error back=("/reminders", "your reminders") /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Whether the draft on the server matches what is on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SaveState {
    Saved,
    Saving,
    Failed(String),
}

/// What every step gets: the draft, and the wizard's way to move and to finish.
#[derive(Clone, Copy)]
pub(super) struct WizardContext {
    pub draft: RwSignal<ReminderDraft>,
    /// The step's own problems, shown after a Next that was refused.
    pub problems: RwSignal<Vec<Problem>>,
    pub operator_timezone: StoredValue<String>,
    /// An edit's reminder as stored, to show what the draft changes.
    pub original: StoredValue<Option<ReminderDraft>>,
    /// Creates the reminder (or saves the edit), from any step.
    pub finish: Callback<()>,
    /// A finish under way.
    pub finishing: RwSignal<bool>,
    /// What the server refused at the last finish, by step (the review lists them).
    pub refused: RwSignal<Vec<StepProblem>>,
}

impl WizardContext {
    /// The message for `field` among the shown problems.
    pub fn problem(&self, field: String) -> Signal<Option<String>> {
        let problems = self.problems;
        Signal::derive(move || {
            problems
                .read()
                .iter()
                .find(|p| p.field == field)
                .map(|p| p.message.clone())
        })
    }
}

#[component]
fn Wizard(page: DraftPage, step: Memo<Option<Step>>) -> impl IntoView {
    let draft_id = page.draft_id;
    let editing = page.editing.clone();
    let base = match &editing {
        Some(reminder) => format!("/reminders/{}/edit", reminder.id),
        None => format!("/reminders/drafts/{draft_id}"),
    };
    let draft = RwSignal::new(page.draft);
    let save_state = RwSignal::new(SaveState::Saved);
    let navigate = use_navigate();
    let toasts = use_toasts();
    // Every change is saved once typing pauses; a newer change supersedes a pending save.
    let edits = StoredValue::new(0u64);
    let saved_version = RwSignal::new(draft.get_untracked());
    let finishing = RwSignal::new(false);
    let refused = RwSignal::new(Vec::<StepProblem>::new());
    let finish_error = RwSignal::new(None::<String>);
    let url_of = move |step: Step| format!("{base}/{}", step.slug());
    let review_url = url_of(Step::Review);
    let finish = {
        let navigate = navigate.clone();
        let is_edit = editing.is_some();
        Callback::new(move |()| {
            finishing.set(true);
            finish_error.set(None);
            edits.update_value(|g| *g += 1);
            let navigate = navigate.clone();
            let review_url = review_url.clone();
            spawn_local(async move {
                let Some(current) = draft.try_get_untracked() else {
                    return;
                };
                let result = submit_draft(draft_id, current.clone()).await;
                finishing.try_set(false);
                if result.is_ok() {
                    saved_version.try_set(current);
                    save_state.try_set(SaveState::Saved);
                }
                match result {
                    Ok(SubmitOutcome::Saved { reminder_id }) => {
                        let name = draft.try_get_untracked().unwrap_or_default().name;
                        toasts.say(if is_edit {
                            format!("Saved your changes to “{}”.", name.trim())
                        } else {
                            format!("Created “{}”.", name.trim())
                        });
                        navigate(&format!("/reminders/{reminder_id}"), Default::default());
                    }
                    // The review lists every problem, each linked to its step.
                    Ok(SubmitOutcome::Invalid(problems)) => {
                        refused.try_set(problems);
                        navigate(&review_url, Default::default());
                    }
                    Err(e) => {
                        finish_error.try_set(Some(error_text(&e)));
                    }
                }
            });
        })
    };
    let original = page.original;
    let ctx = WizardContext {
        draft,
        problems: RwSignal::new(Vec::new()),
        operator_timezone: StoredValue::new(page.operator_timezone),
        original: StoredValue::new(original),
        finish,
        finishing,
        refused,
    };
    provide_context(ctx);
    Effect::new(move |_| {
        let current = draft.get();
        if current == saved_version.get_untracked() {
            return;
        }
        let generation = edits.get_value() + 1;
        edits.set_value(generation);
        save_state.set(SaveState::Saving);
        set_timeout(
            move || {
                // The wizard may be gone by now (saved, or navigated away).
                if edits.try_get_value() == Some(generation) {
                    spawn_local(persist(draft_id, draft, saved_version, save_state));
                }
            },
            AUTOSAVE_AFTER,
        );
    });

    // A problem shown after a refused Next goes as soon as its field is fixed (and reads anew
    // while it is not); none appears while typing that was not asked for. A change also
    // retires what the server refused last, which the next finish checks again.
    Effect::new(move |_| {
        let current = draft.read();
        if !ctx.refused.with_untracked(Vec::is_empty) {
            ctx.refused.set(Vec::new());
        }
        let shown = ctx.problems.get_untracked();
        let Some(at) = step.get_untracked() else {
            return;
        };
        if shown.is_empty() {
            return;
        }
        let still: Vec<Problem> = current
            .problems(at, clock::now())
            .into_iter()
            .filter(|p| shown.iter().any(|s| s.field == p.field))
            .collect();
        if still != shown {
            ctx.problems.set(still);
        }
    });

    // Moving saves first, so the next page (or a refresh of it) loads what was entered.
    let go = {
        let url_of = url_of.clone();
        let navigate = navigate.clone();
        move |to: Step| {
            let url = url_of(to);
            let navigate = navigate.clone();
            edits.update_value(|g| *g += 1);
            spawn_local(async move {
                persist(draft_id, draft, saved_version, save_state).await;
                if matches!(save_state.try_get_untracked(), Some(SaveState::Saved)) {
                    ctx.problems.set(Vec::new());
                    navigate(&url, Default::default());
                }
            });
        }
    };
    let next = {
        let go = go.clone();
        move |current: Step| {
            let problems = draft.read_untracked().problems(current, clock::now());
            if problems.is_empty() {
                if let Some(to) = current.next() {
                    go(to);
                }
            } else {
                ctx.problems.set(problems);
                focus_first_problem(&ctx.problems.get_untracked());
            }
        }
    };
    let discard = {
        let navigate = navigate.clone();
        let reminder_id = editing.as_ref().map(|r| r.id);
        let back_to = match reminder_id {
            Some(id) => format!("/reminders/{id}"),
            None => "/reminders".to_owned(),
        };
        move |_| {
            let navigate = navigate.clone();
            let back_to = back_to.clone();
            edits.update_value(|g| *g += 1);
            // What Undo brings back: the draft as on screen, at this step.
            let kept = draft.get_untracked();
            let at = step.get_untracked().unwrap_or(Step::Account);
            spawn_local(async move {
                match discard_draft(draft_id).await {
                    Ok(()) => {
                        let text = if reminder_id.is_some() {
                            "Your changes are discarded."
                        } else {
                            "The draft is discarded."
                        };
                        let undo_navigate = navigate.clone();
                        toasts.say_with_undo(text, move || {
                            super::drafts::undo_discard(
                                reminder_id,
                                kept.clone(),
                                at,
                                toasts,
                                undo_navigate.clone(),
                            )
                        });
                        navigate(&back_to, Default::default());
                    }
                    Err(e) => {
                        save_state.try_set(SaveState::Failed(error_text(&e)));
                    }
                }
            });
        }
    };

    let title = match &editing {
        Some(reminder) => format!("Edit “{}”", reminder.name),
        None => "New reminder".to_owned(),
    };
    let nav_url = url_of.clone();
    let is_edit = editing.is_some();
    view! {
        <Title text=title.clone() />
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <a href="/reminders">"Reminders"</a>
            {editing.clone().map(|r| view! { " / " <a href=format!("/reminders/{}", r.id)>{r.name}</a> })}
        </nav>
        <header class="page-header wizard-header">
            <h1>{title}</h1>
            <p class="save-state" aria-live="polite" data-testid="save-state">
                {move || match save_state.get() {
                    SaveState::Saved => "Draft saved".to_owned(),
                    SaveState::Saving => "Saving…".to_owned(),
                    SaveState::Failed(why) => format!("Not saved: {why}"),
                }}
            </p>
        </header>
        <ol class="wizard-steps" aria-label="Steps">
            {Step::ALL.into_iter().map(|s| {
                let href = nav_url(s);
                view! {
                    <li class="wizard-step" class:current=move || step.get() == Some(s)>
                        <a href=href aria-current=move || (step.get() == Some(s)).then_some("step") data-testid=format!("step-{}", s.slug())>
                            <span class="wizard-step-number" aria-hidden="true">{s.number()}</span>
                            <span class="wizard-step-title">{s.title()}</span>
                        </a>
                    </li>
                }
            }).collect_view()}
        </ol>
        {move || match step.get() {
            None => view! {
                <p class="notice notice-bad" role="alert">"There is no such step. "<a href=url_of(Step::Account)>"Start from the first one"</a>"."</p>
            }.into_any(),
            Some(current) => {
                let body = match current {
                    Step::Account => view! { <account::AccountStep /> }.into_any(),
                    Step::Message => view! { <message::MessageStep /> }.into_any(),
                    Step::When => view! { <when::WhenStep /> }.into_any(),
                    Step::Groups => view! { <groups::GroupsStep /> }.into_any(),
                    Step::Review => view! { <review::ReviewStep editing=is_edit url_of=url_of.clone() /> }.into_any(),
                };
                let back = current.previous();
                let go = go.clone();
                let next = next.clone();
                // An edit can be saved from the step that changed; a new reminder goes on to
                // the review before it is created.
                let save_here = is_edit && current != Step::Review;
                view! {
                    <div class="card wizard-body" data-testid=format!("wizard-{}", current.slug())>
                        <h2 class="wizard-step-heading">{format!("{}. {}", current.number(), current.title())}</h2>
                        {body}
                    </div>
                    {move || finish_error.get().map(|text| view! { <p class="notice notice-bad" role="alert">{text}</p> })}
                    <div class="wizard-footer">
                        {back.map(|to| { let go = go.clone(); view! {
                            <button class="button button-secondary" type="button" data-testid="wizard-back" on:click=move |_| go(to)>"Back"</button>
                        }})}
                        {(current != Step::Review).then(|| view! {
                            <button class="button" class:button-secondary=save_here type="button" data-testid="wizard-next" on:click=move |_| next(current)>"Next"</button>
                        })}
                        {save_here.then(|| view! {
                            <button class="button" type="button" data-testid="wizard-save" disabled=move || finishing.get() on:click=move |_| finish.run(())>"Save changes"</button>
                        })}
                    </div>
                }.into_any()
            }
        }}
        <p class="wizard-discard">
            <button class="link-button" type="button" data-testid="wizard-discard" on:click=discard>
                {if is_edit { "Discard changes" } else { "Discard this draft" }}
            </button>
        </p>
    }
}

/// Saves the draft as it is now and records the outcome. The wizard may go away meanwhile
/// (the reminder was created), so every signal is touched with `try_`.
async fn persist(
    draft_id: i64,
    draft: RwSignal<ReminderDraft>,
    saved_version: RwSignal<ReminderDraft>,
    save_state: RwSignal<SaveState>,
) {
    let Some(current) = draft.try_get_untracked() else {
        return;
    };
    if saved_version.try_get_untracked().as_ref() == Some(&current) {
        save_state.try_set(SaveState::Saved);
        return;
    }
    save_state.try_set(SaveState::Saving);
    let state = match save_draft(draft_id, current.clone()).await {
        Ok(()) => {
            saved_version.try_set(current);
            SaveState::Saved
        }
        Err(e) => SaveState::Failed(error_text(&e)),
    };
    save_state.try_set(state);
}

/// Moves keyboard focus to the first field with a problem, so it is announced and fixable.
fn focus_first_problem(problems: &[Problem]) {
    #[cfg(feature = "hydrate")]
    if let Some(problem) = problems.first() {
        use wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(&problem.field)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = problems;
}

/// The problem under a field, tied to it with `aria-describedby` (`<field>-problem`).
#[component]
pub(super) fn FieldProblem(#[prop(into)] field: String) -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let message = ctx.problem(field.clone());
    view! {
        {move || message.get().map(|text| view! {
            <p class="field-problem" id=format!("{field}-problem") role="alert">{text}</p>
        })}
    }
}
