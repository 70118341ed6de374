//! Step 4: the groups that receive it — the account's current groups (archived ones are not
//! offered), searchable, with their sizes; any number chosen.

use leptos::prelude::*;

use super::{FieldProblem, WizardContext};
use crate::{components::feedback::error_text, functions::drafts::group_choices};

#[component]
pub(super) fn GroupsStep() -> impl IntoView {
    let ctx = expect_context::<WizardContext>();
    let draft = ctx.draft;
    let account = Memo::new(move |_| draft.read().account_id);
    let groups = Resource::new(
        move || account.get(),
        |account| async move {
            match account {
                Some(id) => group_choices(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let search = RwSignal::new(String::new());
    let chosen = Memo::new(move |_| draft.read().group_ids.len());

    view! {
        <Show when=move || account.get().is_some() fallback=|| view! {
            <p class="notice">"Choose the account first: the groups are that account's."</p>
        }>
            <div class="field">
                <label class="field-label" for="group-search">"Search groups"</label>
                <input class="input" type="search" id="group-search" autocomplete="off" data-testid="group-search"
                    prop:value=move || search.get()
                    on:input=move |e| search.set(event_target_value(&e)) />
            </div>
            <p class="muted" aria-live="polite" data-testid="groups-chosen">
                {move || match chosen.get() { 1 => "1 group chosen".to_owned(), n => format!("{n} groups chosen") }}
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading groups…"</p> }>
                {move || groups.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state">
                            <p>"This account has no groups yet. Sync them from its page once it is connected."</p>
                            {account.get().map(|id| view! { <a class="button button-secondary" href=format!("/accounts/{id}")>"Open the account"</a> })}
                        </div>
                    }.into_any(),
                    Ok(list) => {
                        let needle = search.get().trim().to_lowercase();
                        let shown: Vec<_> = list.into_iter().filter(|g| needle.is_empty() || g.name.to_lowercase().contains(&needle)).collect();
                        let shown_ids: Vec<i64> = shown.iter().map(|g| g.id).collect();
                        view! {
                            <div class="actions">
                                <button class="button button-secondary" type="button" data-testid="select-shown"
                                    on:click=move |_| draft.update(|d| for id in &shown_ids { if !d.group_ids.contains(id) { d.group_ids.push(*id); } })>
                                    "Select all shown"
                                </button>
                                <button class="button button-secondary" type="button" on:click=move |_| draft.update(|d| d.group_ids.clear())>"Clear"</button>
                            </div>
                            {shown.is_empty().then(|| view! { <p class="muted">"No group matches that search."</p> })}
                            <ul class="group-picker" id="groups" tabindex="-1" aria-describedby="groups-problem">
                                {shown.into_iter().map(|g| {
                                    let id = g.id;
                                    let input_id = format!("group-{id}");
                                    let label_for = input_id.clone();
                                    view! {
                                        <li>
                                            <label class="choice" for=label_for data-testid="group-choice">
                                                <input type="checkbox" id=input_id
                                                    prop:checked=move || draft.read().group_ids.contains(&id)
                                                    on:change=move |_| draft.update(|d| {
                                                        if let Some(i) = d.group_ids.iter().position(|x| *x == id) { d.group_ids.remove(i); } else { d.group_ids.push(id); }
                                                    }) />
                                                <span class="choice-main">{g.name}</span>
                                                <span class="choice-side muted">{format!("{} members", g.participants)}</span>
                                            </label>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
        </Show>
        <FieldProblem field="groups" />
    }
}
