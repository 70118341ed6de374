//! The operator's own settings: who is signed in, and where.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::functions::account::{EndOtherSessions, my_sessions, whoami};

#[component]
pub fn Settings() -> impl IntoView {
    let end_others = ServerAction::<EndOtherSessions>::new();
    let me = Resource::new(|| (), |_| whoami());
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
                                <dd>{me.timezone}</dd>
                            </dl>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
                <form method="post" action="/auth/logout">
                    <button class="button button-secondary" type="submit">"Sign out"</button>
                </form>
            </div>
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
                                        <span class="muted">{format!("Signed in {} UTC · last used {} UTC", s.created_at, s.last_seen_at)}</span>
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
        </section>
    }
}
