//! An account's groups, and sending a test message to one of them.

use domain::status::AccountStatus;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

use crate::{
    components::feedback::error_text,
    functions::accounts::{TEST_TEXT_MAX_CHARS, send_test},
    wire::AccountDetail,
};

/// Every group the account is in, current ones first; archived ones stay listed, marked.
#[component]
pub fn GroupsCard(detail: RwSignal<AccountDetail>) -> impl IntoView {
    let groups = Memo::new(move |_| detail.with(|d| d.groups.clone()));
    view! {
        <div class="card stack">
            <h2>"Groups"</h2>
            {move || {
                let groups = groups.get();
                if groups.is_empty() {
                    return view! {
                        <p class="muted" data-testid="groups-empty">
                            "No groups yet. Herald lists the phone's groups once the account is connected."
                        </p>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="groups-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Group"</th>
                                    <th scope="col" class="num">"Members"</th>
                                    <th scope="col">"Last synced (UTC)"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {groups.into_iter().map(|group| view! {
                                    <tr class:archived=group.archived data-testid="group-row">
                                        <td>
                                            {group.name}
                                            {group.archived.then(|| view! { " " <span class="tag tag-muted" data-testid="archived-tag">"Archived"</span> })}
                                        </td>
                                        <td class="num">{group.participants}</td>
                                        <td>{group.last_synced_at}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </div>
    }
}

/// Where the page's latest test send stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendState {
    Idle,
    /// The server function has not answered yet.
    Requesting,
    /// Queued as this request id; the worker's `send_test.done` will say how it went.
    Sending(String),
    Sent,
    Failed(String),
}

/// Matches `send_test.done` events to the send this page asked for. The event can beat the
/// server function's own answer, so a few outcomes for not-yet-known ids are kept.
#[derive(Clone, Copy)]
pub struct SendTracker {
    state: RwSignal<SendState>,
    early: StoredValue<Vec<(String, Option<String>)>>,
}

impl Default for SendTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SendTracker {
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(SendState::Idle),
            early: StoredValue::new(Vec::new()),
        }
    }

    /// An outcome from the live stream.
    pub fn done(self, request_id: &str, error: Option<String>) {
        let ours = self
            .state
            .with_untracked(|state| matches!(state, SendState::Sending(id) if id == request_id));
        if ours {
            self.state.set(outcome(error));
        } else {
            self.early.update_value(|early| {
                early.push((request_id.to_owned(), error));
                if early.len() > 8 {
                    early.remove(0);
                }
            });
        }
    }

    /// The server queued the send as `request_id`.
    fn accepted(self, request_id: String) {
        let early = self.early.try_update_value(|early| {
            let at = early.iter().position(|(id, _)| *id == request_id)?;
            Some(early.remove(at).1)
        });
        match early.flatten() {
            Some(error) => self.state.set(outcome(error)),
            None => self.state.set(SendState::Sending(request_id)),
        }
    }
}

fn outcome(error: Option<String>) -> SendState {
    match error {
        None => SendState::Sent,
        Some(error) => SendState::Failed(error),
    }
}

/// What the send-test card can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readiness {
    NotConnected,
    NoGroups,
    Ready,
}

#[component]
pub fn SendTestCard(
    account_id: i64,
    detail: RwSignal<AccountDetail>,
    tracker: SendTracker,
) -> impl IntoView {
    // Archived groups cannot receive: the account is no longer in them.
    let current = Memo::new(move |_| {
        detail.with(|d| {
            d.groups
                .iter()
                .filter(|group| !group.archived)
                .map(|group| (group.id, group.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    let readiness = Memo::new(move |_| {
        if detail.with(|d| d.account.status != AccountStatus::Connected) {
            Readiness::NotConnected
        } else if current.with(Vec::is_empty) {
            Readiness::NoGroups
        } else {
            Readiness::Ready
        }
    });
    view! {
        <div class="card stack">
            <h2>"Send a test"</h2>
            {move || match readiness.get() {
                Readiness::NotConnected => view! {
                    <p class="muted">"Connect the account to send a test message."</p>
                }
                .into_any(),
                Readiness::NoGroups => view! {
                    <p class="muted">"No current groups to send to. Add the phone to a group, then sync groups."</p>
                }
                .into_any(),
                Readiness::Ready => view! { <SendTestForm account_id current tracker /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn SendTestForm(
    account_id: i64,
    current: Memo<Vec<(i64, String)>>,
    tracker: SendTracker,
) -> impl IntoView {
    let picked = RwSignal::new(None::<i64>);
    // The picked group while it is still listed, else the first one.
    let chosen = move || {
        current.with(|groups| {
            picked
                .get()
                .filter(|id| groups.iter().any(|(group, _)| group == id))
                .or_else(|| groups.first().map(|(id, _)| *id))
        })
    };
    let text = RwSignal::new("Test message from Herald".to_owned());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(group_id) = chosen() else {
            return;
        };
        tracker.state.set(SendState::Requesting);
        let message = text.get_untracked();
        spawn_local(async move {
            match send_test(account_id, group_id, message).await {
                Ok(request_id) => tracker.accepted(request_id),
                Err(e) => tracker.state.set(SendState::Failed(error_text(&e))),
            }
        });
    };
    let result = move || match tracker.state.get() {
        SendState::Idle => String::new(),
        SendState::Requesting | SendState::Sending(_) => "sending…".to_owned(),
        SendState::Sent => "sent ✓".to_owned(),
        SendState::Failed(error) => format!("not sent: {error}"),
    };
    let failed = move || matches!(tracker.state.get(), SendState::Failed(_));
    view! {
        <form class="stack" on:submit=submit>
            <div>
                <label class="field-label" for="send-test-group">"Group"</label>
                <select
                    class="input"
                    id="send-test-group"
                    data-testid="send-test-group"
                    on:change=move |ev| picked.set(event_target_value(&ev).parse().ok())
                >
                    {move || current.get().into_iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=move || chosen() == Some(id)>{name}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label class="field-label" for="send-test-text">"Message"</label>
                <input
                    class="input"
                    id="send-test-text"
                    type="text"
                    maxlength=TEST_TEXT_MAX_CHARS.to_string()
                    data-testid="send-test-text"
                    bind:value=text
                />
            </div>
            <div class="field-row">
                <button
                    class="button"
                    type="submit"
                    disabled=move || tracker.state.get() == SendState::Requesting
                    data-testid="send-test-submit"
                >
                    "Send test"
                </button>
                <p class="send-result" class:error=failed role="status" data-testid="send-test-result">{result}</p>
            </div>
        </form>
    }
}
