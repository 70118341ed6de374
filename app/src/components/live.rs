//! The live event stream (`GET /api/events`, Server-Sent Events): the operator's events as pages
//! follow them, and the refresh that pages run when one arrives.
//!
//! Every follower takes the id of the last event its data already reflects (read before the
//! data, see `account_detail`) and gets each later event once, in order.

use std::future::Future;

use domain::bus::Event;
use leptos::prelude::{RwSignal, Set};

use crate::functions::AppError;

/// Calls `on_event` with every event about `account_id` published after event `after`, in
/// order, until the calling component goes away. In the browser only: a server render has no
/// live stream, so there this does nothing.
///
/// A callback rather than a "latest event" signal: several events can land between two renders,
/// and a signal would hand on only the last of them (a missed `session.qr` is harmless, a
/// missed `send_test.done` is not).
pub fn follow_account(account_id: i64, after: i64, on_event: impl Fn(Event) + 'static) {
    follow_all(after, move |event| {
        if event.account_id() == account_id {
            on_event(event);
        }
    });
}

/// Calls `on_event` with every event of the operator's published after event `after` (the
/// stream carries only the signed-in operator's events), as [`follow_account`] does for one
/// account.
pub fn follow_all(after: i64, on_event: impl Fn(Event) + 'static) {
    #[cfg(feature = "hydrate")]
    browser::follow(after, on_event);
    #[cfg(not(feature = "hydrate"))]
    let _ = (after, on_event);
}

/// Keeps a page's `data` current: each event `relevant` accepts refetches it with `fetch`
/// (through [`coalesced`]). A failed fetch keeps what is shown; the next event tries again.
/// Returns the refresh, for pages that also refresh after their own actions.
pub fn keep_current<T, F, Fut>(
    data: RwSignal<T>,
    after: i64,
    relevant: impl Fn(&Event) -> bool + 'static,
    fetch: F,
) -> impl Fn() + Copy + 'static
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, AppError>> + 'static,
{
    let refresh = coalesced(move || {
        let next = fetch();
        async move {
            if let Ok(fresh) = next.await {
                data.try_set(fresh);
            }
        }
    });
    follow_all(after, move |event| {
        if relevant(&event) {
            refresh();
        }
    });
    refresh
}

/// Wraps a page's refresh so that a burst of events costs at most two fetches: calls while one
/// is in flight queue a single follow-up, which starts when it ends (a run sends `run.progress`
/// up to twice a second). The follow-up matters: the fetch in flight may have read the database
/// before the latest event's change.
///
/// A server render gets a refresh that does nothing: it has no live stream, and a browser-only
/// value must not be created on the server's threads (it is dropped on another one).
#[cfg(not(feature = "hydrate"))]
pub fn coalesced<F, Fut>(refresh: F) -> impl Fn() + Copy + 'static
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    drop(refresh);
    || {}
}

/// See the server's version above; this is the browser's.
#[cfg(feature = "hydrate")]
pub fn coalesced<F, Fut>(refresh: F) -> impl Fn() + Copy + 'static
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    use leptos::{prelude::*, task::spawn_local};

    let refresh = StoredValue::new_local(refresh);
    // (a refresh is in flight, another is queued behind it)
    let state = StoredValue::new((false, false));
    move || {
        match state.try_get_value() {
            None => return, // the page has gone
            Some((true, _)) => {
                state.update_value(|(_, queued)| *queued = true);
                return;
            }
            Some((false, _)) => state.set_value((true, false)),
        }
        spawn_local(async move {
            loop {
                let Some(next) = refresh.try_with_value(|refresh| refresh()) else {
                    return;
                };
                next.await;
                let again = state.try_update_value(|(running, queued)| {
                    *running = std::mem::take(queued);
                    *running
                });
                if again != Some(true) {
                    return;
                }
            }
        });
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use domain::bus::Event;
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    pub fn follow(after: i64, on_event: impl Fn(Event) + 'static) {
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
                Ok(event) => on_event(event),
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
