//! An account's status as a badge: the words carry the meaning, the colour repeats it.

use domain::status::AccountStatus;
use leptos::prelude::*;

/// How the operator reads a status.
pub fn status_text(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Unpaired => "Not paired",
        AccountStatus::Pending => "Pairing",
        AccountStatus::Connected => "Connected",
        AccountStatus::Disconnected => "Disconnected",
        AccountStatus::LoggedOut => "Logged out",
        AccountStatus::Banned => "Banned",
    }
}

/// One colour per status (`.status-<status>` in main.css).
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<AccountStatus>) -> impl IntoView {
    view! {
        <span
            class=move || format!("badge status-{}", status.get().as_str())
            data-testid="account-status"
            data-status=move || status.get().as_str()
        >
            {move || status_text(status.get())}
        </span>
    }
}

/// Marks an account that runs on Herald's built-in simulator rather than a real phone.
#[component]
pub fn SimulatedTag() -> impl IntoView {
    view! {
        <span class="tag" data-testid="simulated-tag" title="Runs on Herald's simulator, not on a real phone">
            "Simulated"
        </span>
    }
}
