//! The pages an operator sees before signing in: how to get a link, and the link itself.

use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/login`: how to get a link, and why the last one did not work.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let notice = move || match query.read().get("link").as_deref() {
        Some("invalid") => {
            Some("This link has expired or was already used. Get a new one as below.")
        }
        Some("too_many_attempts") => Some(
            "Too many failed sign-ins from this device. Wait ten minutes, then use a fresh link.",
        ),
        _ => None,
    };
    // Whether to point at a Telegram bot: read from the server's configuration while rendering
    // there, and carried in the page so the browser shows the same.
    let has_bot = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        let has_bot = use_context::<crate::state::AppState>()
            .is_some_and(|state| state.config.telegram.is_some());
        #[cfg(not(feature = "ssr"))]
        let has_bot = false;
        has_bot
    })
    .into_inner();
    view! {
        <Title text="Sign in" />
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Sign in to Herald"</h1>
                {move || notice().map(|text| view! { <p class="notice notice-bad" role="alert">{text}</p> })}
                <p>"Herald signs you in with a one-time link, valid for 10 minutes."</p>
                <ul class="steps">
                    {has_bot.then(|| view! {
                        <li data-testid="login-by-bot">"Send Herald's Telegram bot " <code>"/login"</code> " and open the link it replies with."</li>
                    })}
                    <li>"On the server, run " <code>"herald-server login-link"</code> " (" <code>"make login-link"</code> " in a checkout) and open the link it prints."</li>
                </ul>
            </section>
        </main>
    }
}

/// `/login/:token`: the link's landing page. The token is spent by a POST, never by this GET, so
/// chat apps that preview links cannot use it up; in a browser the form submits itself.
#[component]
pub fn RedeemPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let form = NodeRef::<html::Form>::new();
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        if let Some(form) = form.get() {
            let _ = form.request_submit();
        }
    });
    view! {
        <Title text="Signing in" />
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Signing you in…"</h1>
                <form node_ref=form method="post" action="/auth/login">
                    <input type="hidden" name="token" value=token />
                    <button class="button" type="submit">"Continue to Herald"</button>
                </form>
            </section>
        </main>
    }
}
