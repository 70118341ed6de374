//! Herald's web UI: the HTML shell, the routes and the server functions behind them. Compiled
//! twice: with `ssr` into the server, with `hydrate` into the browser's wasm.

pub mod clock;
pub mod components;
pub mod device;
pub mod functions;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod state;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::{
    components::layout::{AppLayout, Frame},
    routes::{
        accounts::{AccountDetailPage, AccountsPage},
        dashboard::Dashboard,
        login::{LoginPage, RedeemPage},
        not_found::NotFound,
        reminders::{
            EditWizardPage, NewReminderPage, NewWizardPage, ReminderDetailPage, RemindersPage,
            RunDetailPage,
        },
        settings::Settings,
        system::System,
    },
};

/// The document around every page, rendered on the server only. The bundle (script, wasm,
/// stylesheet) is loaded from `options.site_pkg_dir`, the server's hashed address for it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#0f766e" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png" />
                <meta name="mobile-web-app-capable" content="yes" />
                <meta name="apple-mobile-web-app-capable" content="yes" />
                <meta name="apple-mobile-web-app-title" content="Herald" />
                <link id="herald" rel="stylesheet" href=stylesheet />
                <script inner_html=components::pwa::KEEP_EARLY_INSTALL_OFFER></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Herald".to_owned() } else { format!("{page} · Herald") } />
        <Router>
            <Routes fallback=|| view! { <Frame><NotFound /></Frame> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/login/:token") view=RedeemPage />
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=Dashboard />
                    <Route path=path!("agenda") view=routes::agenda::AgendaPage />
                    <Route path=path!("runs") view=routes::runs::RunsPage />
                    <Route path=path!("accounts") view=AccountsPage />
                    <Route path=path!("accounts/:id") view=AccountDetailPage />
                    <Route path=path!("reminders") view=RemindersPage />
                    <Route path=path!("reminders/new") view=NewReminderPage />
                    <Route path=path!("reminders/drafts/:draft/:step") view=NewWizardPage />
                    <Route path=path!("reminders/runs/:id") view=RunDetailPage />
                    <Route path=path!("reminders/:id") view=ReminderDetailPage />
                    <Route path=path!("reminders/:id/edit/:step") view=EditWizardPage />
                    <Route path=path!("audit") view=routes::audit::AuditLogPage />
                    <Route path=path!("jobs") view=routes::jobs::FailedJobsPage />
                    <Route path=path!("system") view=System />
                    <Route path=path!("settings") view=Settings />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
