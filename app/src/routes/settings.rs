//! The operator's own settings: who is signed in, their time zone, their calendar link, and
//! where they are signed in.

mod calendar;

use domain::timezone::TimeZone;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::feedback::error_text,
    functions::operator::{EndOtherSessions, SetTimezone, my_sessions, whoami},
};

#[component]
pub fn Settings() -> impl IntoView {
    let end_others = ServerAction::<EndOtherSessions>::new();
    let set_timezone = ServerAction::<SetTimezone>::new();
    // Reloaded after a save only: after a refusal the field keeps what was typed.
    let saves = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(set_timezone.value().get(), Some(Ok(_))) {
            saves.update(|n| *n += 1);
        }
    });
    let me = Resource::new(move || saves.get(), |_| whoami());
    let sessions = Resource::new(move || end_others.version().get(), |_| my_sessions());

    view! {
        <Title text="Settings" />
        <section class="page">
            <header class="page-header">
                <h1>"Settings"</h1>
            </header>
            <div class="card stack">
                <h2>"Account"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || me.get().map(|result| match result {
                        Ok(me) => view! {
                            <dl class="facts">
                                <dt>"Name"</dt>
                                <dd data-testid="operator-name">{me.display_name}</dd>
                                <dt>"Time zone"</dt>
                                <dd data-testid="operator-timezone">{me.timezone.clone()}</dd>
                            </dl>
                            <TimezoneForm action=set_timezone current=me.timezone />
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
                {move || set_timezone.value().get().map(|result| match result {
                    Ok(zone) => view! {
                        <p class="notice notice-ok" role="status" data-testid="timezone-saved">
                            {format!("Saved: Herald now shows your times in {zone}.")}
                        </p>
                    }
                    .into_any(),
                    Err(e) => view! {
                        <p class="notice notice-bad" role="alert" data-testid="timezone-error">{error_text(&e)}</p>
                    }
                    .into_any(),
                })}
                <form method="post" action="/auth/logout">
                    <button class="button button-secondary" type="submit">"Sign out"</button>
                </form>
            </div>
            <calendar::CalendarFeed />
            <div class="card stack">
                <h2>"Signed-in devices"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || sessions.get().map(|result| match result {
                        Ok(list) => view! {
                            <ul class="session-list" data-testid="sessions">
                                {list.into_iter().map(|s| view! {
                                    <li>
                                        <strong>{s.device}</strong>
                                        {s.current.then(|| view! { " " <span class="badge badge-ok">"This device"</span> })}
                                        <span class="muted">{format!("Signed in {} · last used {}", s.created_at, s.last_seen_at)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
                <ActionForm action=end_others>
                    <button class="button button-secondary" type="submit">"Sign out everywhere else"</button>
                </ActionForm>
                {move || end_others.value().get().map(|result| match result {
                    Ok(0) => view! { <p class="muted" role="status">"No other devices were signed in."</p> }.into_any(),
                    Ok(n) => view! { <p class="muted" role="status">{format!("Signed out {n} other device(s).")}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </div>
            // Every zone Herald knows, offered as the field is typed into ("London", "Asia/").
            <datalist id="timezone-names">
                {TimeZone::all().map(|zone| view! { <option value=zone.name()></option> }).collect_view()}
            </datalist>
        </section>
    }
}

/// The time zone field: free text with the zone names as suggestions, so any zone can be found
/// by typing part of it; the server checks the name.
#[component]
fn TimezoneForm(action: ServerAction<SetTimezone>, current: String) -> impl IntoView {
    view! {
        <ActionForm action>
            <label class="field-label" for="timezone-input">"Change time zone"</label>
            <div class="field-row">
                <input
                    class="input"
                    id="timezone-input"
                    name="timezone"
                    type="text"
                    list="timezone-names"
                    value=current
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="timezone-hint"
                    data-testid="timezone-input"
                />
                <button class="button" type="submit" disabled=move || action.pending().get() data-testid="timezone-save">
                    "Save time zone"
                </button>
            </div>
            <p class="muted" id="timezone-hint">
                "An IANA name such as Europe/London: type part of it to search. The audit log and failed jobs show times in this zone."
            </p>
        </ActionForm>
    }
}
