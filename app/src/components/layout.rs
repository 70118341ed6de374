//! The frame around every signed-in page: brand, navigation (a drawer on phones), content.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

use crate::components::{
    pwa::InstallPrompt,
    toast::{ToastRegion, provide_toasts},
};

/// The frame with the current route's page inside.
#[component]
pub fn AppLayout() -> impl IntoView {
    view! { <Frame><Outlet /></Frame> }
}

#[component]
pub fn Frame(children: Children) -> impl IntoView {
    let (menu_open, set_menu_open) = signal(false);
    provide_toasts();
    // Effects run only in the browser, after hydration: mark the page live (styles and tests use it).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"H"</span>
                <span class="brand-name">"Herald"</span>
            </a>
            <InstallPrompt />
            <button
                class="menu-toggle"
                type="button"
                aria-controls="primary-nav"
                aria-expanded=move || menu_open.get().to_string()
                aria-label=move || if menu_open.get() { "Close menu" } else { "Open menu" }
                on:click=move |_| set_menu_open.update(|open| *open = !*open)
            >
                <span class="menu-icon" aria-hidden="true"></span>
            </button>
        </header>
        <div class="frame">
            // Following a link (even to the page already shown) closes the drawer on phones.
            <nav
                id="primary-nav"
                class="sidebar"
                class:open=menu_open
                aria-label="Primary"
                on:click=move |_| set_menu_open.set(false)
            >
                <ul>
                    <li><A href="/" exact=true>"Dashboard"</A></li>
                    <li><A href="/agenda">"Agenda"</A></li>
                    <li><A href="/runs">"Runs"</A></li>
                    <li><A href="/reminders">"Reminders"</A></li>
                    <li><A href="/accounts">"Accounts"</A></li>
                    <li><A href="/audit">"Audit log"</A></li>
                    <li><A href="/jobs">"Failed jobs"</A></li>
                    <li><A href="/system">"System"</A></li>
                    <li><A href="/settings">"Settings"</A></li>
                </ul>
            </nav>
            <main id="main" class="content" tabindex="-1">
                {children()}
            </main>
        </div>
        <ToastRegion />
    }
}
