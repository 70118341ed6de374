//! Settings → Calendar: a private link that puts the sends to come into the operator's own
//! calendar app. The link is shown once, when made; making another revokes it.

use leptos::prelude::*;

use crate::{
    components::feedback::error_text,
    functions::calendar::{CreateCalendarFeed, RevokeCalendarFeed, calendar_feed},
};

#[component]
pub fn CalendarFeed() -> impl IntoView {
    let create = ServerAction::<CreateCalendarFeed>::new();
    let revoke = ServerAction::<RevokeCalendarFeed>::new();
    let feed = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| calendar_feed(),
    );
    // The new link shows until it is replaced or revoked.
    let shown_url = move || create.value().get().and_then(Result::ok);
    // Each outcome replaces the other's notice.
    Effect::new(move |_| {
        if revoke.version().get() > 0 {
            create.value().set(None);
        }
    });
    Effect::new(move |_| {
        if create.version().get() > 0 {
            revoke.value().set(None);
        }
    });
    let busy = move || create.pending().get() || revoke.pending().get();

    view! {
        <div class="card stack" data-testid="calendar-feed">
            <h2>"Calendar"</h2>
            <p class="muted">
                "Subscribe to a private link in your calendar app and the next 60 days of sends appear there, each from its first group to its last, updated as you change reminders."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || feed.get().map(|result| match result {
                    Ok(Some(feed)) => view! {
                        <p data-testid="calendar-status">
                            {format!("A link is active, made {}; ", feed.created_at)}
                            {match feed.last_read_at {
                                Some(at) => format!("a calendar last read it {at}."),
                                None => "no calendar has read it yet.".to_owned(),
                            }}
                        </p>
                    }.into_any(),
                    Ok(None) => view! { <p data-testid="calendar-status">"No calendar link."</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
            {move || shown_url().map(|url| view! {
                <div class="notice notice-ok stack" role="status">
                    <label class="field-label" for="calendar-url">"Your calendar link"</label>
                    <input class="input" id="calendar-url" type="text" readonly value=url data-testid="calendar-url" />
                    <p>"Copy it now: it is not shown again. Anyone who has it can read your reminders' names and times, so keep it private; revoke it here if it leaks."</p>
                </div>
            })}
            {move || create.value().get().and_then(Result::err).map(|e| view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> })}
            {move || revoke.value().get().map(|result| match result {
                Ok(true) => view! { <p class="muted" role="status" data-testid="calendar-revoked">"Revoked: calendars using the link stop updating."</p> }.into_any(),
                Ok(false) => view! { <p class="muted" role="status">"There was no link to revoke."</p> }.into_any(),
                Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
            <Transition fallback=|| ()>
                {move || {
                    let has_link = matches!(feed.get(), Some(Ok(Some(_))));
                    view! {
                        <div class="actions">
                            <button class="button" type="button" data-testid="calendar-create" disabled=busy
                                on:click=move |_| { create.dispatch(CreateCalendarFeed {}); }>
                                {if has_link { "Make a new link (the old one stops working)" } else { "Make a calendar link" }}
                            </button>
                            {has_link.then(|| view! {
                                <button class="button button-quiet-danger" type="button" data-testid="calendar-revoke" disabled=busy
                                    on:click=move |_| { revoke.dispatch(RevokeCalendarFeed {}); }>"Revoke link"</button>
                            })}
                        </div>
                    }
                }}
            </Transition>
        </div>
    }
}
