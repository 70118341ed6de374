//! Step 1: the WhatsApp account that sends the reminder. `/reminders/new` is this step before
//! any draft exists: choosing an account starts the draft.

use domain::status::AccountStatus;
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{FieldProblem, WizardContext};
use crate::routes::reminders::drafts::ContinueLastDraft;
use crate::{
    components::{
        feedback::error_text,
        status_badge::{SimulatedTag, StatusBadge},
    },
    functions::{accounts::list_accounts, drafts::new_draft},
    wire::{AccountView, reminders::Step},
};

/// `/reminders/new`.
#[component]
pub fn NewReminderPage() -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<String>);
    let start = Callback::new(move |account_id: i64| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match new_draft(account_id).await {
                Ok(draft) => navigate(
                    &format!("/reminders/drafts/{draft}/{}", Step::Message.slug()),
                    Default::default(),
                ),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    });
    view! {
        <Title text="New reminder" />
        <section class="page wizard">
            <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/reminders">"Reminders"</a></nav>
            <header class="page-header"><h1>"New reminder"</h1></header>
            <ContinueLastDraft />
            <div class="card wizard-body" data-testid="wizard-account">
                <h2 class="wizard-step-heading">"1. Account"</h2>
                <AccountChoices selected=Signal::stored(None) on_choose=start />
                {move || error.get().map(|text| view! { <p class="notice notice-bad" role="alert">{text}</p> })}
            </div>
        </section>
    }
}

/// Step 1 inside a draft: switching accounts drops the chosen groups (they belong to the old one).
#[component]
pub(super) fn AccountStep() -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let selected = Signal::derive(move || ctx.draft.read().account_id);
    let choose = Callback::new(move |account_id: i64| {
        ctx.draft.update(|draft| {
            if draft.account_id != Some(account_id) {
                draft.account_id = Some(account_id);
                draft.group_ids.clear();
            }
        });
    });
    view! {
        <AccountChoices selected on_choose=choose />
        <FieldProblem field="account" />
    }
}

#[component]
fn AccountChoices(selected: Signal<Option<i64>>, on_choose: Callback<i64>) -> impl IntoView {
    let accounts = Resource::new(|| (), |_| list_accounts());
    view! {
        <p class="muted" id="account-help">"The WhatsApp number the reminder is sent from."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading accounts…"</p> }>
            {move || accounts.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! {
                    <div class="empty-state">
                        <p>"You have no WhatsApp accounts yet. Add and pair one first."</p>
                        <a class="button" href="/accounts">"Go to accounts"</a>
                    </div>
                }.into_any(),
                Ok(list) => view! {
                    <div class="choice-list" role="radiogroup" aria-labelledby="account-help" id="account" tabindex="-1">
                        {list.into_iter().map(|account| view! { <AccountChoice account selected on_choose /> }).collect_view()}
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn AccountChoice(
    account: AccountView,
    selected: Signal<Option<i64>>,
    on_choose: Callback<i64>,
) -> impl IntoView {
    let id = account.id;
    let input_id = format!("account-{id}");
    let label_for = input_id.clone();
    let connected = account.status == AccountStatus::Connected;
    view! {
        <label class="choice" class:chosen=move || selected.get() == Some(id) for=label_for data-testid="account-choice">
            <input
                type="radio"
                name="account"
                id=input_id
                value=id
                prop:checked=move || selected.get() == Some(id)
                on:change=move |_| on_choose.run(id)
            />
            <span class="choice-main">
                <strong>{account.label}</strong>
                {account.phone.map(|p| view! { <span class="muted">" "{p}</span> })}
            </span>
            <span class="choice-side">
                <StatusBadge status=account.status />
                {(account.provider == domain::status::Provider::Sim).then(|| view! { <SimulatedTag /> })}
            </span>
            {(!connected).then(|| view! { <span class="choice-note muted">"Not connected now: reminders wait for it to reconnect, or are skipped with an alert."</span> })}
        </label>
    }
}
