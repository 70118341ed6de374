//! The pairing dialog. It shows the account's pairing [`Phase`], which the page folds from the
//! live events with [`Phase::apply`]: waiting, the QR code with its countdown, linking, and how
//! it ended.

use std::time::Duration;

use domain::pairing::Phase;
use leptos::{prelude::*, task::spawn_local};

use crate::{
    components::{dialog::Dialog, feedback::error_text},
    functions::accounts::simulate_scan,
};

/// Which part of the dialog a phase shows; the QR part stays mounted while codes rotate, so the
/// image swaps its source instead of being rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    Waiting,
    Qr,
    Linking,
    Connected,
    /// Ended without a link: offer another try.
    Ended,
}

impl Stage {
    fn of(phase: &Phase) -> Self {
        match phase {
            Phase::Idle => Stage::Idle,
            Phase::Waiting => Stage::Waiting,
            Phase::Qr { .. } => Stage::Qr,
            Phase::Linking => Stage::Linking,
            Phase::Connected { .. } => Stage::Connected,
            Phase::TimedOut | Phase::Duplicate { .. } | Phase::Failed { .. } => Stage::Ended,
        }
    }
}

/// The one line that says where the pairing stands.
fn phase_text(phase: &Phase) -> String {
    match phase {
        Phase::Idle => "No pairing is under way.".to_owned(),
        Phase::Waiting => "Waiting for WhatsApp…".to_owned(),
        Phase::Qr { .. } => "Scan this code with WhatsApp".to_owned(),
        Phase::Linking => "Linking…".to_owned(),
        Phase::Connected { phone } => format!("Connected ✓ as +{phone}"),
        Phase::TimedOut => "Pairing timed out".to_owned(),
        Phase::Duplicate { existing_label } => {
            format!("This phone is already linked to account “{existing_label}”")
        }
        Phase::Failed { message } => message.clone(),
    }
}

/// What the operator can do about an ended pairing.
fn ended_hint(phase: &Phase) -> &'static str {
    match phase {
        Phase::TimedOut => "No code was scanned in time. Start again when the phone is at hand.",
        Phase::Duplicate { .. } => {
            "Herald keeps one account per phone. Scan with a different phone, or unpair the other account first."
        }
        _ => "Pairing did not complete.",
    }
}

#[component]
pub fn QrModal(
    account_id: i64,
    #[prop(into)] label: Signal<String>,
    /// Simulated accounts get a "Simulate scan" button beside the code.
    simulated: bool,
    #[prop(into)] phase: Signal<Phase>,
    on_close: Callback<()>,
    /// Starts a new pairing.
    on_pair: Callback<()>,
) -> impl IntoView {
    let stage = Memo::new(move |_| phase.with(Stage::of));
    let title = Signal::derive(move || format!("Pair “{}”", label.get()));
    view! {
        <Dialog title_id="qr-modal-title" title testid="qr-modal" on_close>
            <p class="qr-phase" role="status" data-testid="qr-phase">
                {move || phase.with(phase_text)}
            </p>
            {move || match stage.get() {
                Stage::Idle => view! {
                    <div class="actions">
                        <button class="button" type="button" data-testid="qr-retry" on:click=move |_| on_pair.run(())>
                            "Pair"
                        </button>
                    </div>
                }
                .into_any(),
                Stage::Waiting | Stage::Linking => view! { <div class="spinner" aria-hidden="true"></div> }.into_any(),
                Stage::Qr => view! { <QrCode account_id label simulated phase /> }.into_any(),
                Stage::Connected => view! {
                    <p class="muted">"Herald is now a linked device on this phone. Its groups appear on the account page."</p>
                    <div class="actions">
                        <button class="button" type="button" on:click=move |_| on_close.run(())>"Done"</button>
                    </div>
                }
                .into_any(),
                Stage::Ended => view! {
                    <p class="muted">{move || phase.with(ended_hint)}</p>
                    <div class="actions">
                        <button class="button" type="button" data-testid="qr-retry" on:click=move |_| on_pair.run(())>
                            "Try again"
                        </button>
                    </div>
                }
                .into_any(),
            }}
        </Dialog>
    }
}

/// The current code, its countdown, how to scan it, and a way to keep it.
#[component]
fn QrCode(
    account_id: i64,
    label: Signal<String>,
    simulated: bool,
    phase: Signal<Phase>,
) -> impl IntoView {
    let code = Memo::new(move |_| {
        phase.with(|phase| match phase {
            Phase::Qr { seq, expires_at } => Some((*seq, expires_at.timestamp_millis())),
            _ => None,
        })
    });
    // `seq` makes each code its own URL, so the browser never shows a cached older one.
    let src = move || {
        let seq = code.get().map_or(0, |(seq, _)| seq);
        format!("/api/accounts/{account_id}/qr.png?seq={seq}")
    };
    let file_name = move || format!("herald-{}-qr.png", file_safe(&label.get()));
    let expires_ms = Signal::derive(move || code.get().map_or(0, |(_, at)| at));
    view! {
        <div class="qr">
            <img class="qr-image" src=src alt="WhatsApp pairing QR code" width="264" height="264" data-testid="qr-image" />
            <Countdown expires_ms />
            <ol class="steps qr-steps">
                <li>"Open WhatsApp on the phone."</li>
                <li>"Go to " <strong>"Settings → Linked devices → Link a device"</strong> "."</li>
                <li>"Point the phone at this code."</li>
            </ol>
            <div class="actions">
                <a class="button button-secondary" href=src download=file_name data-testid="qr-save">"Save QR"</a>
                {simulated.then(|| view! { <SimulateScan account_id /> })}
            </div>
        </div>
    }
}

/// Seconds until the code expires, ticking every second.
#[component]
fn Countdown(expires_ms: Signal<i64>) -> impl IntoView {
    let now = RwSignal::new(now_ms());
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });
    let text = move || {
        let left = ((expires_ms.get() as f64 - now.get()) / 1000.0).ceil();
        if left > 0.0 {
            format!("Expires in {left} s")
        } else {
            "Expired — a new code is on the way…".to_owned()
        }
    };
    view! { <p class="qr-countdown" aria-live="off" data-testid="qr-countdown">{text}</p> }
}

/// The simulator's stand-in for pointing a phone at the code.
#[component]
fn SimulateScan(account_id: i64) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let scan = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = simulate_scan(account_id, None).await;
            // The dialog may have moved on (the scan worked) and disposed these: `set` on a
            // disposed signal does nothing.
            busy.set(false);
            if let Err(e) = result {
                error.set(Some(error_text(&e)));
            }
        });
    };
    view! {
        <button class="button" type="button" data-testid="simulate-scan" disabled=busy on:click=scan>
            "Simulate scan"
        </button>
        {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
    }
}

/// Milliseconds since the epoch, from the browser's clock (chrono's clock is not wired up for
/// wasm here).
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_millis() as f64)
    }
}

/// A label as part of a file name: letters, digits, `-` and `_` kept, anything else `-`.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_read_as_sentences() {
        assert_eq!(phase_text(&Phase::Waiting), "Waiting for WhatsApp…");
        assert_eq!(
            phase_text(&Phase::Connected {
                phone: "15550100001".into()
            }),
            "Connected ✓ as +15550100001"
        );
        assert_eq!(
            phase_text(&Phase::Duplicate {
                existing_label: "Bakery".into()
            }),
            "This phone is already linked to account “Bakery”"
        );
        assert_eq!(Stage::of(&Phase::TimedOut), Stage::Ended);
    }

    #[test]
    fn labels_become_file_names() {
        assert_eq!(file_safe("Bakery-17"), "Bakery-17");
        assert_eq!(file_safe("Yoga studio/2"), "Yoga-studio-2");
    }
}
