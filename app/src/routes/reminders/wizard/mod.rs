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
    components::feedback::{LoadFailed, error_text},
    functions::{
        AppError,
        drafts::{discard_draft, edit_reminder, load_draft, save_draft},
    },
    routes::id_param,
    wire::reminders::{DraftPage, Problem, ReminderDraft, Step},
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

/// What every step gets: the draft, and the wizard's way to move.
#[derive(Clone, Copy)]
pub(super) struct WizardContext {
    pub draft: RwSignal<ReminderDraft>,
    /// The step's own problems, shown after a Next that was refused.
    pub problems: RwSignal<Vec<Problem>>,
    pub operator_timezone: StoredValue<String>,
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
    let ctx = WizardContext {
        draft,
        problems: RwSignal::new(Vec::new()),
        operator_timezone: StoredValue::new(page.operator_timezone),
    };
    provide_context(ctx);
    let save_state = RwSignal::new(SaveState::Saved);
    let navigate = use_navigate();

    // Every change is saved once typing pauses; a newer change supersedes a pending save.
    let edits = StoredValue::new(0u64);
    let saved_version = RwSignal::new(draft.get_untracked());
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

    let url_of = {
        let base = base.clone();
        move |step: Step| format!("{base}/{}", step.slug())
    };
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
        let back_to = match &editing {
            Some(reminder) => format!("/reminders/{}", reminder.id),
            None => "/reminders".to_owned(),
        };
        move |_| {
            let navigate = navigate.clone();
            let back_to = back_to.clone();
            edits.update_value(|g| *g += 1);
            spawn_local(async move {
                match discard_draft(draft_id).await {
                    Ok(()) => navigate(&back_to, Default::default()),
                    Err(e) => save_state.set(SaveState::Failed(error_text(&e))),
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
                    Step::Review => view! { <review::ReviewStep draft_id editing=is_edit url_of=url_of.clone() /> }.into_any(),
                };
                let back = current.previous();
                let go = go.clone();
                let next = next.clone();
                view! {
                    <div class="card wizard-body" data-testid=format!("wizard-{}", current.slug())>
                        <h2 class="wizard-step-heading">{format!("{}. {}", current.number(), current.title())}</h2>
                        {body}
                    </div>
                    <div class="wizard-footer">
                        {back.map(|to| { let go = go.clone(); view! {
                            <button class="button button-secondary" type="button" data-testid="wizard-back" on:click=move |_| go(to)>"Back"</button>
                        }})}
                        {(current != Step::Review).then(|| view! {
                            <button class="button" type="button" data-testid="wizard-next" on:click=move |_| next(current)>"Next"</button>
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
