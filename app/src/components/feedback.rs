//! Putting a server function's failure into words for the operator.

use leptos::prelude::*;

use crate::functions::AppError;

/// The sentence a server function refused with, without the framework's "error running server
/// function" prefix; a failure to reach the server at all says so plainly.
pub fn error_text(error: &AppError) -> String {
    match error.as_server_fn_error() {
        ServerFnError::ServerError(message) => message.clone(),
        ServerFnError::Request(_) => {
            "Could not reach Herald. Check the connection and try again.".to_owned()
        }
        other => other.to_string(),
    }
}

/// A rule's refusal as the dashboard shows it: `domain`'s errors are fragments that other
/// messages compose ("Account name: use at most…"); alone they read as a sentence.
pub fn sentence(fragment: &str) -> String {
    let mut chars = fragment.trim().chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.as_str().trim_end_matches('.');
            format!("{}{rest}.", first.to_uppercase())
        }
        None => String::new(),
    }
}

/// A page whose thing could not be loaded (missing, another operator's, or the server failed):
/// its heading, why, and the way back to the list it belongs to.
#[component]
pub fn LoadFailed(
    /// The page's heading and title, e.g. "Reminder".
    title: &'static str,
    error: AppError,
    /// The list to go back to, e.g. ("/reminders", "your reminders").
    back: (&'static str, &'static str),
) -> impl IntoView {
    let (href, list) = back;
    view! {
        <leptos_meta::Title text=title />
        <header class="page-header"><h1>{title}</h1></header>
        <p class="notice notice-bad" role="alert">{error_text(&error)}</p>
        <p><a href=href>"Back to "{list}</a></p>
    }
}
