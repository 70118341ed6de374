//! `/accounts/:id`: one account, its pairing, its groups and a test send, kept current by the
//! live event stream.

use domain::{
    bus::Event,
    pairing::Phase,
    status::{AccountStatus, Provider},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{
    groups::{GroupsCard, SendTestCard, SendTracker},
    plural,
};
use crate::{
    components::{
        dialog::Dialog,
        feedback::{LoadFailed, error_text},
        live::follow_account,
        qr_modal::QrModal,
        status_badge::{SimulatedTag, StatusBadge},
    },
    functions::{
        AppError,
        accounts::{account_detail, delete_account, pair_account, sync_groups, unpair_account},
    },
    routes::id_param,
    wire::AccountDetail,
};

#[component]
pub fn AccountDetailPage() -> impl IntoView {
    let id = id_param("id");
    // Loaded once per account; afterwards the page refreshes itself from live events.
    let initial = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => account_detail(id).await,
                None => Err(AppError::new("No such account.")),
            }
        },
    );
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || initial.get().map(|result| match result {
                    Ok(initial) => view! { <AccountScreen initial /> }.into_any(),
                    Err(error) => view! { <LoadFailed title="Account" error back=("/accounts", "your accounts") /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// A confirmation the page is asking for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Confirm {
    Unpair,
    Delete,
}

/// A line under the actions: what was just asked for, or why it did not work.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Notice {
    text: String,
    error: bool,
}

impl Notice {
    fn ok(text: impl Into<String>) -> Option<Self> {
        Some(Self {
            text: text.into(),
            error: false,
        })
    }

    fn failed(e: &AppError) -> Option<Self> {
        Some(Self {
            text: error_text(e),
            error: true,
        })
    }
}

#[component]
fn AccountScreen(initial: AccountDetail) -> impl IntoView {
    let account_id = initial.account.id;
    let simulated = initial.account.provider == Provider::Sim;
    let follow_from = initial.pairing.event_id;
    let resume = matches!(
        initial.pairing.phase,
        Phase::Waiting | Phase::Qr { .. } | Phase::PairCode { .. } | Phase::Linking
    );
    let phase = RwSignal::new(initial.pairing.phase.clone());
    let detail = RwSignal::new(initial);
    let qr_open = RwSignal::new(false);
    let confirm = RwSignal::new(None::<Confirm>);
    let notice = RwSignal::new(None::<Notice>);
    let tracker = SendTracker::new();
    let reload = reloader(account_id, detail);

    follow_account(account_id, follow_from, move |event| {
        match &event {
            Event::SendTestDone {
                request_id, error, ..
            } => {
                tracker.done(request_id, error.clone());
                return;
            }
            Event::GroupsSynced {
                total,
                added,
                archived,
                ..
            } => notice.set(Notice::ok(format!(
                "Groups synced: {total} in all, {added} new, {archived} archived."
            ))),
            _ => {}
        }
        phase.update(|phase| *phase = std::mem::replace(phase, Phase::Idle).apply(&event));
        reload();
    });
    // Back on the page mid-pairing (a refresh, another tab): the dialog picks up where it was.
    // An effect, so it opens in the browser only and the server's HTML matches the hydrated one.
    Effect::new(move |_| {
        if resume {
            qr_open.set(true);
        }
    });

    let start_pairing = Callback::new(move |()| {
        // The dialog says "waiting" at once; the worker's events take it from there.
        phase.set(Phase::Waiting);
        qr_open.set(true);
        spawn_local(async move {
            if let Err(e) = pair_account(account_id).await {
                phase.set(Phase::Failed {
                    message: error_text(&e),
                });
            }
        });
    });
    // On a phone the dialog opens on the phone number form; "Scan a QR code instead" starts the
    // QR pairing from there.
    let phone_first = RwSignal::new(false);
    let open_pairing = Callback::new(move |()| {
        if crate::device::is_phone() {
            phone_first.set(true);
            phase.set(Phase::Idle);
            qr_open.set(true);
        } else {
            phone_first.set(false);
            start_pairing.run(());
        }
    });
    let label = Signal::derive(move || detail.with(|d| d.account.label.clone()));
    let status = Signal::derive(move || detail.with(|d| d.account.status));

    view! {
        <Title text=move || label.get() />
        <AccountHeader detail simulated />
        <div class="card stack">
            <AccountFacts detail />
            {move || domain::account::remedy(status.get()).map(|text| view! {
                <p class="notice" data-testid="account-remedy">{text}</p>
            })}
            <AccountActions account_id status qr_open open_pairing confirm notice />
        </div>
        <GroupsCard detail />
        <SendTestCard account_id detail tracker />
        <Show when=move || qr_open.get()>
            <QrModal
                account_id
                label
                simulated
                phase
                phone_first=phone_first.get_untracked()
                on_close=Callback::new(move |()| qr_open.set(false))
                on_pair=start_pairing
            />
        </Show>
        <Show when=move || confirm.get() == Some(Confirm::Unpair)>
            <UnpairDialog account_id label confirm notice />
        </Show>
        <Show when=move || confirm.get() == Some(Confirm::Delete)>
            <DeleteDialog account_id detail confirm />
        </Show>
    }
}

/// Fetches the account again after an event. Answers can overtake each other; only the latest
/// request's answer is shown. A failed refresh keeps what is shown: the next event retries.
fn reloader(account_id: i64, detail: RwSignal<AccountDetail>) -> impl Fn() + Copy + 'static {
    let latest = StoredValue::new(0u64);
    move || {
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            if let Ok(fresh) = account_detail(account_id).await
                && latest.try_get_value() == Some(ticket)
            {
                detail.set(fresh);
            }
        });
    }
}

#[component]
fn AccountHeader(detail: RwSignal<AccountDetail>, simulated: bool) -> impl IntoView {
    let status = Signal::derive(move || detail.with(|d| d.account.status));
    view! {
        <header class="page-header">
            <p class="breadcrumb"><a href="/accounts">"← Accounts"</a></p>
            <h1 class="account-title">{move || detail.with(|d| d.account.label.clone())}</h1>
            <p class="tags">
                <StatusBadge status />
                {simulated.then(|| view! { <SimulatedTag /> })}
            </p>
        </header>
    }
}

#[component]
fn AccountFacts(detail: RwSignal<AccountDetail>) -> impl IntoView {
    let account = Memo::new(move |_| detail.with(|d| d.account.clone()));
    let utc = |at: Option<String>, never: &'static str| {
        at.map_or_else(|| never.to_owned(), |at| format!("{at} UTC"))
    };
    view! {
        <dl class="facts">
            <dt>"Phone"</dt>
            <dd data-testid="account-phone">
                {move || account.with(|a| a.phone.clone()).unwrap_or_else(|| "Not linked".to_owned())}
            </dd>
            <dt>"Last seen"</dt>
            <dd data-testid="account-last-seen">{move || utc(account.with(|a| a.last_seen_at.clone()), "Never")}</dd>
            <dt>"Last connected"</dt>
            <dd>{move || utc(account.with(|a| a.last_connected_at.clone()), "Never")}</dd>
            <dt>"Added"</dt>
            <dd>{move || format!("{} UTC", account.with(|a| a.created_at.clone()))}</dd>
            {move || account.with(|a| a.status_reason.clone()).map(|reason| view! {
                <dt>"Reason"</dt>
                <dd data-testid="status-reason">{reason}</dd>
            })}
        </dl>
    }
}

/// What can be done with the account in its current status.
#[component]
fn AccountActions(
    account_id: i64,
    status: Signal<AccountStatus>,
    qr_open: RwSignal<bool>,
    open_pairing: Callback<()>,
    confirm: RwSignal<Option<Confirm>>,
    notice: RwSignal<Option<Notice>>,
) -> impl IntoView {
    let pair_text = move || match status.get() {
        AccountStatus::Pending => "Show QR",
        AccountStatus::Connected | AccountStatus::Disconnected => "Re-pair",
        AccountStatus::Unpaired | AccountStatus::LoggedOut | AccountStatus::Banned => "Pair",
    };
    let pair = move |_| {
        // A pairing under way already has a dialog to show; anything else starts one.
        if status.get_untracked() == AccountStatus::Pending {
            qr_open.set(true);
        } else {
            open_pairing.run(());
        }
    };
    // A working account's Re-pair is not what the page is for: it is a secondary action.
    let pair_class = move || match status.get() {
        AccountStatus::Connected => "button button-secondary",
        _ => "button",
    };
    let sync = move |_| {
        notice.set(Notice::ok("Syncing groups…"));
        spawn_local(async move {
            if let Err(e) = sync_groups(account_id).await {
                notice.set(Notice::failed(&e));
            }
        });
    };
    view! {
        <div class="actions">
            <button class=pair_class type="button" data-testid="pair-button" on:click=pair>{pair_text}</button>
            <Show when=move || status.get() == AccountStatus::Connected>
                <button class="button button-secondary" type="button" data-testid="sync-groups" on:click=sync>
                    "Sync groups"
                </button>
            </Show>
            <Show when=move || status.get() != AccountStatus::Unpaired>
                <button
                    class="button button-secondary"
                    type="button"
                    data-testid="unpair-button"
                    on:click=move |_| confirm.set(Some(Confirm::Unpair))
                >
                    "Unpair"
                </button>
            </Show>
            <button
                class="button button-quiet-danger"
                type="button"
                data-testid="delete-button"
                on:click=move |_| confirm.set(Some(Confirm::Delete))
            >
                "Delete"
            </button>
        </div>
        {move || notice.get().map(|notice| {
            let (class, role) = if notice.error { ("notice notice-bad", "alert") } else { ("notice notice-ok", "status") };
            view! { <p class=class role=role data-testid="account-notice">{notice.text}</p> }
        })}
    }
}

#[component]
fn UnpairDialog(
    account_id: i64,
    label: Signal<String>,
    confirm: RwSignal<Option<Confirm>>,
    notice: RwSignal<Option<Notice>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| confirm.set(None));
    let unpair = move |_| {
        spawn_local(async move {
            match unpair_account(account_id).await {
                Ok(()) => {
                    notice.set(Notice::ok(
                        "Unpairing: Herald is logging out of WhatsApp on the phone…",
                    ));
                    confirm.set(None);
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    view! {
        <Dialog title_id="unpair-title" title=Signal::derive(move || format!("Unpair “{}”?", label.get())) testid="unpair-dialog" on_close=close>
            <p>"Herald logs out of WhatsApp, which removes it from the phone's linked devices."</p>
            <p class="muted">"The account, its groups and its reminders stay. Pair again to send from it."</p>
            {move || error.get().map(|message| view! { <p class="notice notice-bad" role="alert">{message}</p> })}
            <div class="actions">
                <button class="button button-danger" type="button" data-testid="unpair-confirm" on:click=unpair>"Unpair"</button>
                <button class="button button-secondary" type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Dialog>
    }
}

/// Names what deleting takes with it, and what stays, before anything is deleted.
#[component]
fn DeleteDialog(
    account_id: i64,
    detail: RwSignal<AccountDetail>,
    confirm: RwSignal<Option<Confirm>>,
) -> impl IntoView {
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| confirm.set(None));
    let title = Signal::derive(move || detail.with(|d| format!("Delete “{}”?", d.account.label)));
    let groups = move || plural(detail.with(|d| d.impact.groups), "group");
    let reminders = move || plural(detail.with(|d| d.impact.reminders), "reminder");
    let device = move || match detail.with(|d| d.account.status) {
        AccountStatus::Connected | AccountStatus::Disconnected => {
            Some("the linked device: Herald logs it out of WhatsApp on the phone")
        }
        AccountStatus::Pending => Some("the pairing under way"),
        AccountStatus::Unpaired | AccountStatus::LoggedOut | AccountStatus::Banned => None,
    };
    let delete = move |_| {
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match delete_account(account_id).await {
                Ok(()) => navigate("/accounts", Default::default()),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(error_text(&e)));
                }
            }
        });
    };
    view! {
        <Dialog title_id="delete-title" title testid="delete-dialog" on_close=close>
            <p>"Deleting the account removes for good:"</p>
            <ul class="impact" data-testid="delete-impact">
                <li>"its list of " {groups}</li>
                <li>{reminders} " that send from it"</li>
                {move || device().map(|device| view! { <li>{device}</li> })}
            </ul>
            <p class="muted">"Kept: the run history, so past deliveries stay on record."</p>
            {move || error.get().map(|message| view! { <p class="notice notice-bad" role="alert">{message}</p> })}
            <div class="actions">
                <button class="button button-danger" type="button" disabled=busy data-testid="delete-confirm" on:click=delete>
                    "Delete account"
                </button>
                <button class="button button-secondary" type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Dialog>
    }
}
