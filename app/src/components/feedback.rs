//! Putting a server function's failure into words for the operator.

use leptos::prelude::*;

/// The sentence a server function refused with, without the framework's "error running server
/// function" prefix; a failure to reach the server at all says so plainly.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        ServerFnError::Request(_) => {
            "Could not reach Herald. Check the connection and try again.".to_owned()
        }
        other => other.to_string(),
    }
}
