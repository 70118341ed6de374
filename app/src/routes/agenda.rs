//! `/agenda`: every send to come in the next 7 (or 30, `?days=30`) days, by day on the
//! operator's clock — each with its account, its groups and when its last group is expected —
//! warning of sends whose account is not connected and of runs that will queue behind another
//! of the same account.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::feedback::error_text,
    functions::agenda::load_agenda,
    wire::agenda::{AgendaSend, AgendaView},
};

#[component]
pub fn AgendaPage() -> impl IntoView {
    let query = use_query_map();
    let days = Memo::new(move |_| match query.read().get("days").as_deref() {
        Some("30") => 30,
        _ => 7,
    });
    let agenda = Resource::new(move || days.get(), load_agenda);
    view! {
        <Title text="Agenda" />
        <section class="page agenda-page">
            <header class="page-header">
                <h1>"Agenda"</h1>
                <p class="lede">"What goes out next, and when its last group should have it."</p>
            </header>
            <nav class="filter-tabs" aria-label="How far ahead">
                <a href="/agenda" class="filter-tab" data-testid="agenda-7" aria-current=move || (days.get() == 7).then_some("page")>"7 days"</a>
                <a href="/agenda?days=30" class="filter-tab" data-testid="agenda-30" aria-current=move || (days.get() == 30).then_some("page")>"30 days"</a>
            </nav>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || agenda.get().map(|result| match result {
                    Ok(view) => view! { <Agenda view /> }.into_any(),
                    Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Agenda(view: AgendaView) -> impl IntoView {
    if view.by_day.is_empty() {
        return view! {
            <p class="card empty-state" data-testid="agenda-empty">
                {format!("Nothing goes out in the next {} days. ", view.days)}
                <a href="/reminders/new">"New reminder"</a>
            </p>
        }
        .into_any();
    }
    view! {
        <p class="muted">"Times in "{view.timezone}"."</p>
        {view.by_day.into_iter().map(|day| view! {
            <section class="card stack agenda-day" data-testid="agenda-day">
                <h2>{day.label}</h2>
                <ul class="agenda-sends">
                    {day.sends.into_iter().map(|send| view! { <SendRow send /> }).collect_view()}
                </ul>
            </section>
        }).collect_view()}
    }
    .into_any()
}

#[component]
fn SendRow(send: AgendaSend) -> impl IntoView {
    let groups = match send.groups {
        1 => "1 group".to_owned(),
        n => format!("{n} groups"),
    };
    view! {
        <li class="agenda-send" data-testid="agenda-send" data-reminder-id=send.reminder_id>
            <span class="agenda-time">{send.time}</span>
            <span class="agenda-what">
                <a href=format!("/reminders/{}", send.reminder_id)>{send.name}</a>
                <span class="muted">" · "{send.account_label}" → "{groups}" · last group ~"{send.last_group}</span>
                {send.account_problem.map(|status| view! {
                    <span class="agenda-warning" data-testid="agenda-account-warning">
                        {format!("Its account is not connected ({status}): ")}
                        <a href=format!("/accounts/{}", send.account_id)>"see the account"</a>
                    </span>
                })}
                {send.behind.map(|other| view! {
                    <span class="agenda-warning" data-testid="agenda-queue-warning">
                        {format!("Queues behind “{other}” on the same account.")}
                    </span>
                })}
            </span>
        </li>
    }
}
