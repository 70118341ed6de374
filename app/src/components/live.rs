//! The live event stream (`GET /api/events`, Server-Sent Events) as one account's page sees it.

use domain::bus::Event;

/// Calls `on_event` with every event about `account_id` published after event `after`, in
/// order, until the calling component goes away. In the browser only: a server render has no
/// live stream, so there this does nothing.
///
/// A callback rather than a "latest event" signal: several events can land between two renders,
/// and a signal would hand on only the last of them (a missed `session.qr` is harmless, a
/// missed `send_test.done` is not).
pub fn follow_account(account_id: i64, after: i64, on_event: impl Fn(Event) + 'static) {
    #[cfg(feature = "hydrate")]
    browser::follow(account_id, after, on_event);
    #[cfg(not(feature = "hydrate"))]
    let _ = (account_id, after, on_event);
}

#[cfg(feature = "hydrate")]
mod browser {
    use domain::bus::Event;
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    pub fn follow(account_id: i64, after: i64, on_event: impl Fn(Event) + 'static) {
        // Only the first connection uses `after`: on a reconnect the browser sends the last id it
        // saw as `Last-Event-ID`, which the server prefers.
        let source = match EventSource::new(&format!("/api/events?after={after}")) {
            Ok(source) => source,
            Err(e) => {
                leptos::logging::warn!("live updates unavailable: {e:?}");
                return;
            }
        };
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |message: MessageEvent| {
            let Some(data) = message.data().as_string() else {
                return;
            };
            match serde_json::from_str::<Event>(&data) {
                Ok(event) if event.account_id() == account_id => on_event(event),
                Ok(_) => {}
                // A kind this page does not know yet (a newer server): not for us.
                Err(e) => leptos::logging::warn!("skipping an undecodable event: {e}"),
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The closure must outlive every message; both go when the component does, source first.
        let held = StoredValue::new_local(Some((source, on_message)));
        on_cleanup(move || {
            if let Some(Some((source, on_message))) = held.try_update_value(Option::take) {
                source.close();
                drop(on_message);
            }
        });
    }
}
