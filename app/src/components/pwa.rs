//! Herald as an installed app: registers the service worker (`/sw.js`, which keeps the app shell
//! for starts without a network) and offers an "Install Herald" button while the browser allows
//! installing. Both happen in the browser only; a server render shows nothing.

use leptos::prelude::*;

/// For the shell's `<head>`: the browser may offer installing before the wasm has loaded, and
/// makes that offer once per page load, so a plain script keeps it (and stops the browser's own
/// banner) until [`InstallPrompt`] takes it from `window.heraldInstallOffer`.
pub const KEEP_EARLY_INSTALL_OFFER: &str = "addEventListener('beforeinstallprompt',function(e){e.preventDefault();window.heraldInstallOffer=e})";

/// The install button with its dismiss button, a pill for the top bar. Until the browser makes
/// an offer it renders nothing; the top bar's height is fixed, so appearing moves no content.
#[component]
pub fn InstallPrompt() -> impl IntoView {
    // False on the server and until hydration is over, so both renders agree.
    let offered = RwSignal::new(false);
    // Effects run in the browser only, after hydration.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::start(offered));
    let install = move |_| {
        offered.set(false);
        #[cfg(feature = "hydrate")]
        browser::install();
    };
    let dismiss = move |_| {
        offered.set(false);
        #[cfg(feature = "hydrate")]
        browser::remember_dismissal();
    };

    view! {
        <Show when=move || offered.get()>
            <div class="install-prompt">
                <button class="install-button" type="button" on:click=install>
                    "Install"
                    <span class="install-name">" Herald"</span>
                </button>
                <button
                    class="install-dismiss"
                    type="button"
                    aria-label="Dismiss install prompt"
                    on:click=dismiss
                >
                    <span aria-hidden="true">"×"</span>
                </button>
            </div>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Function, Promise, Reflect};
    use leptos::{logging::warn, prelude::*, task::spawn_local};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::Event;

    /// Where the offer waits: set by the shell's script or by [`start`]'s listener.
    const OFFER: &str = "heraldInstallOffer";
    /// Set once the operator turns the offer down, so it does not come back on every visit.
    const DISMISSED: &str = "herald.install-dismissed";

    /// Registers the service worker, shows the button if an offer is waiting, and follows offers
    /// and installs until the calling component goes away.
    pub fn start(offered: RwSignal<bool>) {
        register_service_worker();
        let show_if_offered = move || offered.set(waiting_offer().is_some() && !dismissed());
        show_if_offered();
        let on_offer = window_event_listener_untyped("beforeinstallprompt", move |event: Event| {
            event.prevent_default();
            let _ = Reflect::set(&window(), &OFFER.into(), &event);
            show_if_offered();
        });
        let on_installed = window_event_listener_untyped("appinstalled", move |_| {
            clear_offer();
            offered.set(false);
        });
        on_cleanup(move || {
            on_offer.remove();
            on_installed.remove();
        });
    }

    /// Shows the browser's install dialog. An offer can be used once; turning the dialog down
    /// counts as dismissing the button.
    pub fn install() {
        let Some(offer) = waiting_offer() else {
            return;
        };
        clear_offer();
        spawn_local(async move {
            match ask(&offer).await {
                Ok(outcome) if outcome.as_deref() == Some("dismissed") => remember_dismissal(),
                Ok(_) => {}
                Err(e) => warn!("the install dialog failed: {e:?}"),
            }
        });
    }

    pub fn remember_dismissal() {
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(DISMISSED, "1");
        }
    }

    fn dismissed() -> bool {
        window()
            .local_storage()
            .ok()
            .flatten()
            .and_then(|storage| storage.get_item(DISMISSED).ok().flatten())
            .is_some()
    }

    fn waiting_offer() -> Option<Event> {
        Reflect::get(&window(), &OFFER.into()).ok()?.dyn_into().ok()
    }

    /// Forgets the offer once it has been used (it works once) or the app is installed.
    fn clear_offer() {
        let _ = Reflect::delete_property(&window(), &OFFER.into());
    }

    /// Calls the offer's `prompt()` and waits for the operator's choice: "accepted" or "dismissed".
    async fn ask(offer: &Event) -> Result<Option<String>, JsValue> {
        let prompt: Function = Reflect::get(offer, &"prompt".into())?.dyn_into()?;
        JsFuture::from(Promise::resolve(&prompt.call0(offer)?)).await?;
        let choice = Reflect::get(offer, &"userChoice".into())?;
        let choice = JsFuture::from(Promise::resolve(&choice)).await?;
        Ok(Reflect::get(&choice, &"outcome".into())?.as_string())
    }

    fn register_service_worker() {
        let navigator = window().navigator();
        // Service workers exist in secure contexts only (https, or localhost); elsewhere Herald
        // works as before, without offline starts.
        if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
            return;
        }
        let registered = navigator.service_worker().register("/sw.js");
        spawn_local(async move {
            if let Err(e) = JsFuture::from(registered).await {
                warn!("the service worker was not registered: {e:?}");
            }
        });
    }
}
