//! Short confirmations after an action ("Paused “Rota”."), shown at the foot of every page for
//! a few seconds, with Undo where the action can be taken back. They belong to the frame, not
//! to a page, so one outlives the navigation its action causes (a delete leaves the page it
//! deleted) and its Undo still works from the next page.

use std::{sync::Arc, time::Duration};

use leptos::prelude::*;

/// How long a plain confirmation stays.
const SHOWN_FOR: Duration = Duration::from_secs(5);
/// How long one offering Undo stays: long enough to notice a mistake and reach the button.
const UNDO_FOR: Duration = Duration::from_secs(12);

/// What Undo runs. Not a `Callback`: those belong to the page that made them, and the page may
/// be gone by the time Undo is tapped. Kept apart from what is drawn.
type Undo = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Toast {
    id: u64,
    text: String,
    bad: bool,
    can_undo: bool,
}

/// The frame's toast: one at a time, a newer action's replacing the last one's.
#[derive(Clone, Copy)]
pub struct Toasts {
    shown: RwSignal<Option<Toast>>,
    undo: StoredValue<Option<Undo>>,
    next_id: StoredValue<u64>,
}

impl Toasts {
    /// A confirmation that goes by itself.
    pub fn say(&self, text: impl Into<String>) {
        self.push(text.into(), false, None, SHOWN_FOR);
    }

    /// A problem with an action taken from a toast (an Undo that could not be done).
    pub fn warn(&self, text: impl Into<String>) {
        self.push(text.into(), true, None, UNDO_FOR);
    }

    /// A confirmation with Undo, which runs `undo` once and closes the toast.
    pub fn say_with_undo(&self, text: impl Into<String>, undo: impl Fn() + Send + Sync + 'static) {
        self.push(text.into(), false, Some(Arc::new(undo)), UNDO_FOR);
    }

    fn push(&self, text: String, bad: bool, undo: Option<Undo>, for_: Duration) {
        // The frame may be gone by the time an action's answer arrives.
        let Some(id) = self.next_id.try_get_value() else {
            return;
        };
        self.next_id.try_set_value(id + 1);
        let can_undo = undo.is_some();
        self.undo.try_set_value(undo);
        self.shown.try_set(Some(Toast {
            id,
            text,
            bad,
            can_undo,
        }));
        let this = *self;
        set_timeout(move || this.dismiss(id), for_);
    }

    /// Closes toast `id` if it is still the one shown.
    fn dismiss(&self, id: u64) {
        if self
            .shown
            .try_get_untracked()
            .flatten()
            .is_some_and(|t| t.id == id)
        {
            self.shown.try_set(None);
            self.undo.try_set_value(None);
        }
    }

    fn run_undo(&self, id: u64) {
        let undo = self.undo.try_get_value().flatten();
        self.dismiss(id);
        if let Some(undo) = undo {
            undo();
        }
    }
}

/// Gives the frame's pages their toasts; called by the frame before its pages are made.
pub fn provide_toasts() {
    provide_context(Toasts {
        shown: RwSignal::new(None),
        undo: StoredValue::new(None),
        next_id: StoredValue::new(0),
    });
}

/// The frame's toasts, for an action's confirmation.
pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// Shows the toast in a polite live region, so a screen reader announces each (not a `status`
/// role: pages keep their own status messages, which stay where the action was).
#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" aria-live="polite" aria-atomic="true" data-testid="toasts">
            {move || toasts.shown.get().map(|toast| {
                let id = toast.id;
                view! {
                    <div class="toast" class:toast-bad=toast.bad data-testid="toast">
                        <span class="toast-text" data-testid="toast-text">{toast.text}</span>
                        {toast.can_undo.then(|| view! {
                            <button class="toast-undo" type="button" data-testid="toast-undo" on:click=move |_| toasts.run_undo(id)>"Undo"</button>
                        })}
                        <button class="toast-close" type="button" aria-label="Dismiss" on:click=move |_| toasts.dismiss(id)>"×"</button>
                    </div>
                }
            })}
        </div>
    }
}
