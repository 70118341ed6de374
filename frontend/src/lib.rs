//! The browser entry point: hydrates the server-rendered page into a live Leptos app.

// Leptos views are deeply nested types; hydrating the whole app needs more than the default.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
