//! `/accounts`: every WhatsApp account of the operator, in the order they were added, and the
//! form that adds one.

use domain::status::Provider;
use leptos::{html, prelude::*};
use leptos_meta::Title;

use crate::{
    components::{
        feedback::error_text,
        status_badge::{SimulatedTag, StatusBadge},
    },
    functions::accounts::{AddAccount, list_accounts},
    wire::AccountView,
};

#[component]
pub fn AccountsPage() -> impl IntoView {
    let add = ServerAction::<AddAccount>::new();
    let accounts = Resource::new(move || add.version().get(), |_| list_accounts());

    view! {
        <Title text="Accounts" />
        <section class="page">
            <header class="page-header">
                <h1>"Accounts"</h1>
                <p class="lede">"Each account is one WhatsApp number that Herald sends from, linked like WhatsApp Web."</p>
            </header>
            <AddAccountForm add />
            <div class="card stack">
                <h2>"Your accounts"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || accounts.get().map(|result| match result {
                        Ok(list) if list.is_empty() => view! {
                            <div class="empty-state" data-testid="accounts-empty">
                                <h3>"No accounts yet"</h3>
                                <p>"Add one above with a name you will recognise, then open it and pair it with the phone by scanning a QR code."</p>
                            </div>
                        }
                        .into_any(),
                        Ok(list) => view! {
                            <ul class="account-list" data-testid="account-list">
                                {list.into_iter().map(|account| view! { <AccountRow account /> }).collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <p class="error" role="alert">{error_text(&e)}</p> }.into_any(),
                    })}
                </Transition>
            </div>
        </section>
    }
}

#[component]
fn AddAccountForm(add: ServerAction<AddAccount>) -> impl IntoView {
    let form = NodeRef::<html::Form>::new();
    // Empty the field once an account is added, ready for the next name.
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_)))
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
    // `maxlength` stops typing at the limit; no `required`: the server's sentence explains a
    // blank name better than the browser's bubble, and says the same without JavaScript.
    // Typed in since the last answer: its refusal no longer applies.
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        add.version().track();
        edited.set(false);
    });
    view! {
        <div class="card stack">
            <h2>"Add an account"</h2>
            <ActionForm action=add node_ref=form>
                <label class="field-label" for="add-account-label">"Name"</label>
                <div class="field-row">
                    <input
                        class="input"
                        id="add-account-label"
                        name="label"
                        type="text"
                        autocomplete="off"
                        placeholder="e.g. Bakery"
                        aria-describedby="add-account-hint"
                        maxlength=domain::account::LABEL_MAX_CHARS.to_string()
                        data-testid="add-account-label"
                        on:input=move |_| edited.set(true)
                    />
                    <button class="button" type="submit" disabled=move || add.pending().get() data-testid="add-account-submit">
                        "Add account"
                    </button>
                </div>
                <p class="muted" id="add-account-hint">"For you only: the business or the phone it runs on, up to 64 characters."</p>
            </ActionForm>
            {move || add.value().get().map(|result| match result {
                Ok(account) => view! {
                    <p class="notice notice-ok" role="status" data-testid="add-account-added">
                        {format!("Added “{}”. Open it to pair it with a phone.", account.label)}
                    </p>
                }
                .into_any(),
                // A refusal goes as soon as the name is being fixed.
                Err(_) if edited.get() => ().into_any(),
                Err(e) => view! {
                    <p class="notice notice-bad" role="alert" data-testid="add-account-error">{error_text(&e)}</p>
                }
                .into_any(),
            })}
        </div>
    }
}

#[component]
fn AccountRow(account: AccountView) -> impl IntoView {
    let href = format!("/accounts/{}", account.id);
    let simulated = account.provider == Provider::Sim;
    let phone = account
        .phone
        .unwrap_or_else(|| "No phone linked".to_owned());
    let seen = account.last_seen_at.map_or_else(
        || "never seen".to_owned(),
        |at| format!("last seen {at} UTC"),
    );
    view! {
        <li class="account-row" data-testid="account-row">
            <div class="account-row-head">
                <a class="account-link" href=href>{account.label}</a>
                <StatusBadge status=account.status />
                {simulated.then(|| view! { <SimulatedTag /> })}
            </div>
            <p class="muted">
                <span data-testid="account-phone">{phone}</span>
                " · "
                <span>{seen}</span>
            </p>
        </li>
    }
}
