//! `/`: the dashboard. Today's figures, the health of every account and the latest runs, kept
//! current by the live event stream.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    components::{
        dialog::Dialog,
        feedback::error_text,
        live::keep_current,
        run_list::RunList,
        status_badge::{SimulatedTag, StatusBadge},
    },
    functions::dashboard::{clear_activity, load_dashboard},
    wire::{AccountChipView, ActivityView, DashboardView, NextFireView, StatsView},
};

#[component]
pub fn Dashboard() -> impl IntoView {
    // Loaded once; afterwards the page refreshes itself from live events.
    let initial = Resource::new(|| (), |()| load_dashboard());
    view! {
        <Title text="Dashboard" />
        <section class="page dashboard">
            <header class="page-header">
                <h1>"Dashboard"</h1>
                <p class="lede">"Your WhatsApp accounts, reminders and deliveries at a glance."</p>
            </header>
            <Transition fallback=|| view! { <StatCards stats=Signal::stored(None) flagged=Signal::stored(0) /> }>
                {move || initial.get().map(|result| match result {
                    Ok(initial) => view! { <DashboardScreen initial /> }.into_any(),
                    Err(e) => view! { <p class="notice notice-bad" role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DashboardScreen(initial: DashboardView) -> impl IntoView {
    let follow_from = initial.event_id;
    let data = RwSignal::new(initial);
    // Any event may change a figure, a chip or the feed; bursts cost at most two fetches. A
    // failed refresh keeps what is shown: the next event retries.
    let refresh = keep_current(data, follow_from, |_| true, load_dashboard);

    let stats = Memo::new(move |_| data.with(|d| Some(d.stats)));
    let accounts = Memo::new(move |_| data.with(|d| d.accounts.clone()));
    let flagged =
        Memo::new(move |_| accounts.with(|list| list.iter().filter(|a| a.needs_attention).count()));
    let activity = Memo::new(move |_| data.with(|d| d.activity.clone()));
    // Each section's view is type-erased (`into_any`): nested whole, the page's view type is
    // deeper than the compiler's query limit allows in the server build.
    let next = Memo::new(move |_| data.with(|d| d.activity.next_fire.clone()));
    view! {
        <NextSend next />
        <StatCards stats flagged />
        <HealthStrip accounts flagged />
        <ActivityCard activity refresh=Callback::new(move |()| refresh()) />
    }
    .into_any()
}

/// What goes out next, first on a phone: the way into the agenda.
#[component]
fn NextSend(next: Memo<Option<NextFireView>>) -> impl IntoView {
    move || {
        next.get().map(|send| {
            let groups = match send.groups {
                1 => "1 group".to_owned(),
                n => format!("{n} groups"),
            };
            view! {
                <a class="card next-send" href="/agenda" data-testid="next-send" class:next-send-warn=send.account_away>
                    <span class="muted">"Next"</span>
                    <strong>{format!("{}: {}", send.when, send.reminder_name)}</strong>
                    <span>{format!("{} → {groups}", send.account_label)}</span>
                    {send.account_away.then(|| view! { <span class="agenda-warning">"Its account is not connected"</span> })}
                </a>
            }
        })
    }
}

/// Four figures, each a way into its list. `None` while loading: the cards keep their size.
#[component]
fn StatCards(
    #[prop(into)] stats: Signal<Option<StatsView>>,
    #[prop(into)] flagged: Signal<usize>,
) -> impl IntoView {
    let figure = move |pick: fn(&StatsView) -> String| {
        Signal::derive(move || stats.get().as_ref().map_or_else(|| "–".to_owned(), pick))
    };
    let problems = move || stats.get().is_some_and(|s| s.problems_today > 0);
    view! {
        <ul class="stat-grid" data-testid="stats">
            <StatCard
                href="/accounts"
                testid="stat-accounts"
                value=figure(|s| format!("{} / {}", s.accounts_connected, s.accounts_total))
                label="Accounts connected"
                tone=Signal::derive(move || if flagged.get() > 0 { "stat-card stat-card-warn" } else { "stat-card" })
            />
            <StatCard
                href="/reminders?status=active"
                testid="stat-reminders"
                value=figure(|s| s.active_reminders.to_string())
                label="Active reminders"
                tone=Signal::stored("stat-card")
            />
            <StatCard
                href="/runs?day=today"
                testid="stat-runs-today"
                value=figure(|s| s.runs_today.to_string())
                label="Runs today"
                tone=Signal::stored("stat-card")
            />
            <StatCard
                href="/runs?day=today&status=problems"
                testid="stat-problems-today"
                value=figure(|s| s.problems_today.to_string())
                label="Problems today"
                tone=Signal::derive(move || if problems() { "stat-card stat-card-bad" } else { "stat-card" })
            />
        </ul>
    }
    .into_any()
}

#[component]
fn StatCard(
    href: &'static str,
    testid: &'static str,
    value: Signal<String>,
    label: &'static str,
    /// The card's classes: its tone says whether the figure needs a look.
    tone: Signal<&'static str>,
) -> impl IntoView {
    view! {
        <li>
            <a class=tone href=href data-testid=testid>
                <span class="stat-value" data-testid="stat-value">{value}</span>
                <span class="stat-label">{label}</span>
            </a>
        </li>
    }
}

/// Every account as a chip; those that cannot send come first, flagged.
#[component]
fn HealthStrip(accounts: Memo<Vec<AccountChipView>>, flagged: Memo<usize>) -> impl IntoView {
    let empty = Memo::new(move |_| accounts.with(Vec::is_empty));
    view! {
        <section class="card dashboard-section" aria-labelledby="health-title" data-testid="account-health">
            <header class="card-head">
                <h2 id="health-title">"Accounts"</h2>
                <Show when=move || { flagged.get() > 0 }>
                    <span class="badge badge-bad" data-testid="health-flagged">
                        {move || match flagged.get() {
                            1 => "1 needs attention".to_owned(),
                            n => format!("{n} need attention"),
                        }}
                    </span>
                </Show>
                <div class="card-head-actions">
                    <a href="/accounts">"Manage accounts"</a>
                </div>
            </header>
            <Show
                when=move || !empty.get()
                fallback=|| view! {
                    <div class="empty-state" data-testid="health-empty">
                        <h3>"No accounts yet"</h3>
                        <p>"Add a WhatsApp account and pair it with its phone; its health shows here."</p>
                        <p><a class="button" href="/accounts">"Add an account"</a></p>
                    </div>
                }
            >
                <ul class="health-strip">
                    <For each=move || accounts.get() key=|account| account.clone() let:account>
                        <AccountChip account />
                    </For>
                </ul>
            </Show>
        </section>
    }
    .into_any()
}

#[component]
fn AccountChip(account: AccountChipView) -> impl IntoView {
    // A long label is cut short on the chip; hovering shows it whole.
    let full_label = account.label.clone();
    let seen = account.last_seen.map_or_else(
        || "Never seen".to_owned(),
        |at| format!("Seen {}", mid_sentence(&at)),
    );
    view! {
        <li
            class="health-chip"
            class:health-chip-alert=account.needs_attention
            data-testid="health-chip"
            data-account-id=account.id
        >
            <a class="health-chip-link" href=format!("/accounts/{}", account.id)>
                {account.needs_attention.then(|| view! {
                    <span class="health-chip-flag" data-testid="health-flag">
                        <span aria-hidden="true">"⚠ "</span>
                        "Needs attention"
                    </span>
                })}
                <span class="health-chip-label" title=full_label data-testid="health-label">
                    {account.label}
                </span>
                <span class="tags">
                    <StatusBadge status=account.status />
                    {account.simulated.then(|| view! { <SimulatedTag /> })}
                </span>
                <span class="muted">{seen}</span>
            </a>
        </li>
    }
    .into_any()
}

#[component]
fn ActivityCard(activity: Memo<ActivityView>, refresh: Callback<()>) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let runs = Memo::new(move |_| activity.with(|a| a.runs.clone()));
    let empty = Memo::new(move |_| runs.with(Vec::is_empty));
    view! {
        <section class="card dashboard-section" aria-labelledby="activity-title" data-testid="activity">
            <header class="card-head">
                <h2 id="activity-title">"Recent activity"</h2>
                <div class="card-head-actions">
                    <a href="/runs">"All runs"</a>
                    <Show when=move || !empty.get()>
                        <button
                            class="button button-secondary"
                            type="button"
                            data-testid="clear-activity"
                            on:click=move |_| confirm.set(true)
                        >
                            "Clear history"
                        </button>
                    </Show>
                </div>
            </header>
            <Show when=move || !empty.get() fallback=move || view! { <ActivityEmpty activity /> }>
                <RunList runs testid="activity-list" />
            </Show>
            <Show when=move || confirm.get()>
                <ClearDialog confirm refresh />
            </Show>
        </section>
    }
    .into_any()
}

/// Why the feed is empty, and what would fill it.
#[component]
fn ActivityEmpty(activity: Memo<ActivityView>) -> impl IntoView {
    move || {
        activity.with(|a| match (&a.cleared_at, a.has_reminders, &a.next_fire) {
            (Some(at), _, _) => view! {
                <div class="empty-state" data-testid="activity-empty" data-reason="cleared">
                    <h3>"Nothing since you cleared the feed"</h3>
                    <p data-testid="activity-cleared-at">{format!("Cleared {}.", mid_sentence(at))}</p>
                    <p>"New runs appear here as they happen. Earlier runs are still on each reminder's page and under All runs."</p>
                </div>
            }
            .into_any(),
            (None, false, _) => view! {
                <div class="empty-state" data-testid="activity-empty" data-reason="no-reminders">
                    <h3>"No reminders yet"</h3>
                    <p>"Each time a reminder goes out, its run shows here with how many groups got it."</p>
                    <p><a class="button" href="/reminders/new" data-testid="create-reminder">"Create a reminder"</a></p>
                </div>
            }
            .into_any(),
            (None, true, Some(next)) => view! {
                <div class="empty-state" data-testid="activity-empty" data-reason="not-yet">
                    <h3>"Nothing has gone out yet"</h3>
                    <p>
                        "Next up: "
                        <a href=format!("/reminders/{}", next.reminder_id)>{next.reminder_name.clone()}</a>
                        {format!(", {}.", mid_sentence(&next.when))}
                    </p>
                </div>
            }
            .into_any(),
            (None, true, None) => view! {
                <div class="empty-state" data-testid="activity-empty" data-reason="none-active">
                    <h3>"Nothing has gone out yet"</h3>
                    <p>"No reminder is active, so nothing is due. Resume or create one on the Reminders page."</p>
                </div>
            }
            .into_any(),
        })
    }
}

#[component]
fn ClearDialog(confirm: RwSignal<bool>, refresh: Callback<()>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| confirm.set(false));
    let clear = move |_| {
        busy.set(true);
        spawn_local(async move {
            match clear_activity().await {
                Ok(()) => {
                    confirm.set(false);
                    refresh.run(());
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(error_text(&e)));
                }
            }
        });
    };
    view! {
        <Dialog title_id="clear-title" title="Clear recent activity?" testid="clear-dialog" on_close=close>
            <p>"The feed starts empty and shows only runs from now on."</p>
            <p class="muted">"Nothing is deleted: every run stays in its reminder's history and on the Runs page."</p>
            {move || error.get().map(|message| view! { <p class="notice notice-bad" role="alert">{message}</p> })}
            <div class="actions">
                <button class="button" type="button" disabled=busy data-testid="clear-confirm" on:click=clear>
                    "Clear history"
                </button>
                <button class="button button-secondary" type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Dialog>
    }
    .into_any()
}

/// A time in words for the middle of a sentence: "Today 09:00" becomes "today 09:00".
fn mid_sentence(when: &str) -> String {
    for day in ["Today", "Yesterday", "Tomorrow"] {
        if let Some(rest) = when.strip_prefix(day) {
            return format!("{}{rest}", day.to_lowercase());
        }
    }
    when.to_owned()
}
