//! A modal dialog, named by its heading. Focus moves into it when it opens and back to where it
//! was when it closes; Esc and the close button both close it.

use leptos::{ev, html, prelude::*};

#[component]
pub fn Dialog(
    /// The heading's element id (`aria-labelledby`); unique on the page.
    title_id: &'static str,
    #[prop(into)] title: Signal<String>,
    /// The dialog's `data-testid`; its close button gets `<testid>-close`.
    testid: &'static str,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let panel = NodeRef::<html::Div>::new();
    #[cfg(feature = "hydrate")]
    restore_focus_on_close();
    // Effects run only in the browser, once the dialog is in the document.
    Effect::new(move |_| {
        if let Some(panel) = panel.get() {
            let _ = panel.focus();
        }
    });
    Effect::new(move |_| {
        // On the window, so Esc works even after a click moved focus out of the dialog.
        let handle = window_event_listener(ev::keydown, move |e| {
            if e.key() == "Escape" {
                on_close.run(());
            }
        });
        on_cleanup(move || handle.remove());
    });

    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=title_id
                tabindex="-1"
                data-testid=testid
                node_ref=panel
            >
                <header class="dialog-header">
                    <h2 id=title_id>{title}</h2>
                    <button
                        class="dialog-close"
                        type="button"
                        aria-label="Close"
                        data-testid=format!("{testid}-close")
                        on:click=move |_| on_close.run(())
                    >
                        <span aria-hidden="true">"×"</span>
                    </button>
                </header>
                {children()}
            </div>
        </div>
    }
}

/// Remembers what had focus when the dialog opened (the button that opened it) and gives focus
/// back when the dialog goes, so keyboard users continue where they were.
#[cfg(feature = "hydrate")]
fn restore_focus_on_close() {
    use wasm_bindgen::JsCast;

    let opener = document()
        .active_element()
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
    let opener = StoredValue::new_local(opener);
    on_cleanup(move || {
        opener.try_with_value(|opener| {
            if let Some(opener) = opener {
                let _ = opener.focus();
            }
        });
    });
}
