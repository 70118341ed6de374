//! The pairing dialog. It shows the account's pairing [`Phase`], which the page folds from the
//! live events with [`Phase::apply`]: waiting, the QR code with its countdown, linking, and how
//! it ended. Beside the QR code, "Link with phone number instead" asks for the phone's number
//! and starts a pairing by code: WhatsApp's eight-character code, typed on the phone.

use std::time::Duration;

use domain::pairing::Phase;
use leptos::{ev::SubmitEvent, html, prelude::*, task::spawn_local};

use crate::{
    components::{dialog::Dialog, feedback::error_text},
    functions::accounts::{pair_account_by_code, pair_phone, simulate_scan},
};

/// Which part of the dialog a phase shows; the QR part stays mounted while codes rotate, so the
/// image swaps its source instead of being rebuilt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    Waiting,
    Qr,
    PairCode,
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
            Phase::PairCode { .. } => Stage::PairCode,
            Phase::Linking => Stage::Linking,
            Phase::Connected { .. } => Stage::Connected,
            Phase::TimedOut | Phase::Duplicate { .. } | Phase::Failed { .. } => Stage::Ended,
        }
    }
}

/// The dialog's own part in pairing by phone number; the phase says the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ByPhone {
    /// Not chosen: QR codes.
    No,
    /// The phone number form is open.
    Form,
    /// A code was asked for this number (`+447700900123`); it shows once WhatsApp sends it.
    Asked(String),
}

/// What the dialog shows: the stage, unless the operator is pairing by phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Stage(Stage),
    PhoneForm,
    /// The code was asked for; QR codes may arrive first, but they are not what was asked for.
    AskingForCode,
}

impl Part {
    fn of(stage: Stage, by_phone: &ByPhone) -> Self {
        match (stage, by_phone) {
            // Under way or over: the pairing decides, whichever way it was started.
            (Stage::PairCode | Stage::Linking | Stage::Connected, _) => Part::Stage(stage),
            (_, ByPhone::Form) => Part::PhoneForm,
            (Stage::Idle | Stage::Waiting | Stage::Qr, ByPhone::Asked(_)) => Part::AskingForCode,
            (_, ByPhone::Asked(_) | ByPhone::No) => Part::Stage(stage),
        }
    }

    /// The one line that says where the pairing stands.
    fn text(self, phase: &Phase) -> String {
        match self {
            Part::Stage(_) => phase_text(phase),
            Part::PhoneForm => "Link with a phone number".to_owned(),
            Part::AskingForCode => "Asking WhatsApp for a code…".to_owned(),
        }
    }
}

/// The one line that says where the pairing stands.
fn phase_text(phase: &Phase) -> String {
    match phase {
        Phase::Idle => "No pairing is under way.".to_owned(),
        Phase::Waiting => "Waiting for WhatsApp…".to_owned(),
        Phase::Qr { .. } => "Scan this code with WhatsApp".to_owned(),
        Phase::PairCode { .. } => "Enter this code on the phone".to_owned(),
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
        Phase::TimedOut => "No code was used in time. Start again when the phone is at hand.",
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
    /// Opens on the phone number form rather than a QR code (on a phone).
    phone_first: bool,
    on_close: Callback<()>,
    /// Starts a new pairing by QR code.
    on_pair: Callback<()>,
) -> impl IntoView {
    let stage = Memo::new(move |_| phase.with(Stage::of));
    let by_phone = RwSignal::new(if phone_first {
        ByPhone::Form
    } else {
        ByPhone::No
    });
    // Kept here, so "Try again" after a code pairing offers the same number.
    let phone_text = RwSignal::new(String::new());
    let part = Memo::new(move |_| by_phone.with(|by_phone| Part::of(stage.get(), by_phone)));
    let title = Signal::derive(move || format!("Pair “{}”", label.get()));
    let pair_again = Callback::new(move |()| {
        by_phone.set(ByPhone::No);
        on_pair.run(());
    });
    let by_phone_link = move || view! { <ByPhoneLink by_phone /> };
    view! {
        <Dialog title_id="qr-modal-title" title testid="qr-modal" on_close>
            <p class="qr-phase" role="status" data-testid="qr-phase">
                {move || phase.with(|phase| part.get().text(phase))}
            </p>
            {move || match part.get() {
                Part::PhoneForm => view! { <PhoneForm account_id by_phone phone_text scan=pair_again stage /> }.into_any(),
                Part::AskingForCode => view! {
                    <div class="spinner" aria-hidden="true"></div>
                    <p class="muted">
                        {move || by_phone.with(|by_phone| match by_phone {
                            ByPhone::Asked(phone) => format!("The code for {phone} follows in a moment."),
                            _ => String::new(),
                        })}
                    </p>
                }
                .into_any(),
                Part::Stage(Stage::Idle) => view! {
                    <div class="actions">
                        <button class="button" type="button" data-testid="qr-retry" on:click=move |_| pair_again.run(())>
                            "Pair"
                        </button>
                    </div>
                    {by_phone_link()}
                }
                .into_any(),
                Part::Stage(Stage::Waiting | Stage::Linking) => view! { <div class="spinner" aria-hidden="true"></div> }.into_any(),
                Part::Stage(Stage::Qr) => view! {
                    <QrCode account_id label simulated phase />
                    {by_phone_link()}
                }
                .into_any(),
                Part::Stage(Stage::PairCode) => view! { <PairCode account_id simulated phase by_phone /> }.into_any(),
                Part::Stage(Stage::Connected) => view! {
                    <p class="muted">"Herald is now a linked device on this phone. Its groups appear on the account page."</p>
                    <div class="actions">
                        <button class="button" type="button" on:click=move |_| on_close.run(())>"Done"</button>
                    </div>
                }
                .into_any(),
                Part::Stage(Stage::Ended) => view! {
                    <p class="muted">{move || phase.with(ended_hint)}</p>
                    <div class="actions">
                        <button class="button" type="button" data-testid="qr-retry" on:click=move |_| pair_again.run(())>
                            "Try again"
                        </button>
                    </div>
                    {by_phone_link()}
                }
                .into_any(),
            }}
        </Dialog>
    }
}

/// The way from the QR code to pairing by phone number.
#[component]
fn ByPhoneLink(by_phone: RwSignal<ByPhone>) -> impl IntoView {
    view! {
        <p class="pair-switch">
            <button class="link-button link-button-plain" type="button" data-testid="pair-by-phone" on:click=move |_| by_phone.set(ByPhone::Form)>
                "Link with phone number instead"
            </button>
        </p>
    }
}

/// Asks for the phone's number, then for a code to type on that phone. The number is checked
/// here first, with the server's own rules, so a typo is explained at once and beside the field.
#[component]
fn PhoneForm(
    account_id: i64,
    by_phone: RwSignal<ByPhone>,
    phone_text: RwSignal<String>,
    /// Starts a pairing by QR code, for when none is under way.
    scan: Callback<()>,
    stage: Memo<Stage>,
) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<html::Input>::new();
    // The form replaces the button that opened it: focus moves into the field.
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let focus_field = move || {
        if let Some(input) = input.get_untracked() {
            let _ = input.focus();
        }
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let phone = match pair_phone(&phone_text.get_untracked()) {
            Ok(phone) => phone,
            Err(message) => {
                problem.set(Some(message));
                focus_field();
                return;
            }
        };
        problem.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = pair_account_by_code(account_id, phone.to_string()).await;
            // The dialog may have closed meanwhile.
            busy.try_set(false);
            match result {
                Ok(()) => {
                    by_phone.try_set(ByPhone::Asked(phone.to_string()));
                }
                Err(e) => {
                    problem.try_set(Some(error_text(&e)));
                    if let Some(input) = input.try_get_untracked().flatten() {
                        let _ = input.focus();
                    }
                }
            }
        });
    };
    let invalid = move || problem.with(Option::is_some).then_some("true");
    view! {
        <form class="stack pair-phone" novalidate on:submit=submit data-testid="pair-phone-form">
            <div class="field">
                <label class="field-label" for="pair-phone">"Phone number"</label>
                <div class="field-row">
                    <input
                        class="input"
                        id="pair-phone"
                        name="phone"
                        type="tel"
                        inputmode="tel"
                        autocomplete="tel"
                        placeholder="+44 7700 900123"
                        aria-describedby="pair-phone-hint pair-phone-problem"
                        aria-invalid=invalid
                        data-testid="pair-phone"
                        node_ref=input
                        prop:value=move || phone_text.get()
                        on:input=move |e| phone_text.set(event_target_value(&e))
                    />
                    <button class="button" type="submit" disabled=busy data-testid="pair-phone-submit">
                        "Get code"
                    </button>
                </div>
                <p class="muted field-hint" id="pair-phone-hint">
                    "The number of the phone to link, with its country code. WhatsApp gives a code to type on that phone."
                </p>
                {move || problem.get().map(|text| view! {
                    <p class="field-problem" id="pair-phone-problem" role="alert" data-testid="pair-phone-problem">{text}</p>
                })}
            </div>
            <p class="pair-switch">
                <button class="link-button link-button-plain" type="button" data-testid="pair-by-qr" on:click=move |_| {
                    by_phone.set(ByPhone::No);
                    // Opened on this form (on a phone), no QR pairing is under way yet.
                    if matches!(stage.get_untracked(), Stage::Idle | Stage::Ended) {
                        scan.run(());
                    }
                }>
                    "Scan a QR code instead"
                </button>
            </p>
        </form>
    }
}

/// The code to type on the phone, its countdown, and where on the phone to type it.
#[component]
fn PairCode(
    account_id: i64,
    simulated: bool,
    phase: Signal<Phase>,
    by_phone: RwSignal<ByPhone>,
) -> impl IntoView {
    let shown = Memo::new(move |_| {
        phase.with(|phase| match phase {
            Phase::PairCode { code, expires_at } => {
                Some((code.clone(), expires_at.timestamp_millis()))
            }
            _ => None,
        })
    });
    let code = move || shown.with(|shown| shown.as_ref().map(|(code, _)| code.clone()));
    let expires_ms =
        Signal::derive(move || shown.with(|shown| shown.as_ref().map_or(0, |(_, at)| *at)));
    let on_phone = move || {
        by_phone.with(|by_phone| match by_phone {
            ByPhone::Asked(phone) => format!("Open WhatsApp on the phone with the number {phone}."),
            _ => "Open WhatsApp on the phone to link.".to_owned(),
        })
    };
    view! {
        <div class="qr pair-code">
            <p class="pair-code-value" data-testid="pair-code">{code}</p>
            <Countdown expires_ms />
            <ol class="steps qr-steps">
                <li>{on_phone}</li>
                <li>"Go to " <strong>"Settings → Linked devices → Link a device"</strong> "."</li>
                <li>"Tap " <strong>"Link with phone number instead"</strong> " and enter this code."</li>
            </ol>
            {simulated.then(|| view! { <div class="actions"><SimulateScan account_id text="Simulate entering the code" /></div> })}
        </div>
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

/// The simulator's stand-in for pointing a phone at the code (or typing the code on it).
#[component]
fn SimulateScan(
    account_id: i64,
    #[prop(default = "Simulate scan")] text: &'static str,
) -> impl IntoView {
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
            {text}
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
    fn pairing_by_phone_shows_the_form_then_waits_for_the_code() {
        let asked = ByPhone::Asked("+447700900123".into());
        assert_eq!(Part::of(Stage::Qr, &ByPhone::No), Part::Stage(Stage::Qr));
        assert_eq!(Part::of(Stage::Qr, &ByPhone::Form), Part::PhoneForm);
        assert_eq!(Part::of(Stage::Ended, &ByPhone::Form), Part::PhoneForm);
        // QR codes of the new pairing come before its code: keep waiting for the code.
        assert_eq!(Part::of(Stage::Qr, &asked), Part::AskingForCode);
        assert_eq!(Part::of(Stage::Waiting, &asked), Part::AskingForCode);
        assert_eq!(
            Part::of(Stage::PairCode, &ByPhone::No),
            Part::Stage(Stage::PairCode)
        );
        assert_eq!(
            Part::of(Stage::Linking, &asked),
            Part::Stage(Stage::Linking)
        );
        assert_eq!(Part::of(Stage::Ended, &asked), Part::Stage(Stage::Ended));
        let phase = Phase::PairCode {
            code: "ABCD-EFGH".into(),
            expires_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        assert_eq!(phase_text(&phase), "Enter this code on the phone");
        assert_eq!(
            Part::AskingForCode.text(&phase),
            "Asking WhatsApp for a code…"
        );
    }

    #[test]
    fn labels_become_file_names() {
        assert_eq!(file_safe("Bakery-17"), "Bakery-17");
        assert_eq!(file_safe("Yoga studio/2"), "Yoga-studio-2");
    }
}
