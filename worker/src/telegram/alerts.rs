//! Alerts: tells each operator about what needs them — an account logged out, banned or down, a
//! run that failed, went partly out, paused or was missed, an account offline at fire time, sends
//! whose fate is unknown — as the event stream reports it.
//!
//! Each operator's place in the stream is stored (`telegram_alert_cursors`) and moves past an
//! alert only once Telegram accepted it, so alerts raised while the worker or the bot was down,
//! or while the worker was starting, still go out. Telegram cannot be asked whether a message
//! arrived, so each message is recorded as in flight before it is handed over: one whose fate a
//! stopped bot (or an unanswered request) left unknown goes again marked as a possible repeat,
//! and no message ever goes twice unmarked (docs/architecture.md, invariant 9). A message Telegram
//! refuses is retried once at once; then it is audited (once) and held, and tried again after
//! growing pauses while that operator's later alerts wait behind it. A backlog of more than
//! [`SHOWN`] alerts, as a long outage leaves, goes out as one summary and its newest alerts.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use domain::bus::{Event, stored};
use domain::status::RunStatus;
use entity::{events as event_rows, operators::Model as Operator};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use service::{
    accounts,
    audit::{self, Actor},
    bus::events::Stored,
    leases, operators,
};
use teloxide::{
    Bot,
    types::{ChatId, InlineKeyboardMarkup},
};
use tokio::{sync::watch, time::Instant};

use super::{Shared, accounts::Action, texts, zone_of};

mod handover;

use handover::{
    Handed, InFlight, hand_over, load_cursor, retry_after, store_cursor, undeliverable,
};

/// Events read per query.
const BATCH: u64 = 200;
/// The most alerts of one backlog sent one by one; the older ones are only counted, in a summary
/// sent first, so an outage's worth of alerts does not bury the chat.
const SHOWN: usize = 10;
/// Pauses before trying a held alert again: doubling from the first up to the longest.
const HOLD_FIRST: Duration = Duration::from_secs(2);
const HOLD_MAX: Duration = Duration::from_secs(120);

/// An operator whose oldest unsent alert Telegram refused: nothing is tried for them until
/// `until`.
struct Hold {
    until: Instant,
    pause: Duration,
    /// The message (by the event it moves the cursor to) whose failure was audited: one row per
    /// alert, not one per attempt.
    audited: Option<i64>,
}

/// How one operator's catch-up ended.
enum Outcome {
    /// Everything up to the end of the stream is done.
    Done,
    /// Telegram refused the message that moves the cursor to `event`; it waits.
    Held {
        event: i64,
        retry_after: Option<Duration>,
    },
}

pub(super) async fn run(shared: Arc<Shared>, bot: Bot, mut stopped: watch::Receiver<bool>) {
    let mut waker = shared.events.clone();
    let mut holds: HashMap<i64, Hold> = HashMap::new();
    loop {
        if let Err(e) = tail_once(&shared, &bot, &mut holds).await {
            tracing::warn!(error = %e, "reading events for Telegram alerts failed");
        }
        if *stopped.borrow() {
            return;
        }
        let next_try = holds.values().map(|hold| hold.until).min();
        tokio::select! {
            () = waker.wait() => {}
            () = sleep_until(next_try) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One pass over every active operator that is not held.
async fn tail_once(
    shared: &Shared,
    bot: &Bot,
    holds: &mut HashMap<i64, Hold>,
) -> Result<(), DbErr> {
    let active = operators::active(&shared.db).await?;
    holds.retain(|id, _| active.iter().any(|operator| operator.id == *id));
    for operator in active {
        // Embedded mode's local operator has no Telegram chat.
        let Some(chat) = operator.telegram_user_id.map(ChatId) else {
            continue;
        };
        let audited = match holds.get(&operator.id) {
            Some(hold) if hold.until > Instant::now() => continue,
            Some(hold) => hold.audited,
            None => None,
        };
        match catch_up(shared, bot, &operator, chat, audited).await? {
            Outcome::Done => {
                holds.remove(&operator.id);
            }
            Outcome::Held { event, retry_after } => {
                let hold = holds.entry(operator.id).or_insert(Hold {
                    until: Instant::now(),
                    pause: Duration::ZERO,
                    audited: None,
                });
                // Telegram's own flood-control wait counts, within the same bound.
                hold.pause = (hold.pause * 2)
                    .max(retry_after.unwrap_or_default())
                    .clamp(HOLD_FIRST, HOLD_MAX);
                hold.until = Instant::now() + hold.pause;
                hold.audited = Some(event);
            }
        }
    }
    Ok(())
}

/// Sends the operator's alerts after their cursor, oldest first, moving the cursor past each one
/// Telegram accepted. `audited`: the message whose failure is already audited.
async fn catch_up(
    shared: &Shared,
    bot: &Bot,
    operator: &Operator,
    chat: ChatId,
    audited: Option<i64>,
) -> Result<Outcome, DbErr> {
    let db = &shared.db;
    let cursor = load_cursor(db, operator.id).await?;
    let mut done = cursor.last;
    let attempt = |done, message, repeat, about| Attempt {
        operator_id: operator.id,
        chat,
        done,
        message,
        repeat,
        about,
        audited,
    };
    // A message an earlier bot handed to Telegram without hearing back: it may have arrived, so
    // it goes again, saying so, before anything newer. (One at or behind the cursor is stale: a
    // bot of an older version moved the cursor without clearing it.)
    if let Some(message) = cursor.in_flight.filter(|m| m.through > done) {
        if !leases::still_held(db, &shared.lease).await? {
            return Ok(Outcome::Done);
        }
        let through = message.through;
        match send(
            shared,
            bot,
            attempt(done, message, true, About::no_event("repeat")),
        )
        .await?
        {
            Step::Next => done = through,
            Step::Stop(outcome) => return Ok(outcome),
        }
    }
    let backlog = Backlog::read(shared, operator, done).await?;
    if backlog.summarised > 0 {
        let message = InFlight {
            through: backlog.summarised_through,
            text: texts::backlog(backlog.summarised, backlog.shown.len(), &shared.public_url),
            buttons: None,
        };
        match send(
            shared,
            bot,
            attempt(done, message, false, About::no_event("summary")),
        )
        .await?
        {
            Step::Next => done = backlog.summarised_through,
            Step::Stop(outcome) => return Ok(outcome),
        }
    }
    for stored in &backlog.shown {
        // The backlog holds only events that raise an alert.
        let Some(message) = alert_message(shared, operator, stored).await? else {
            continue;
        };
        let about = About {
            kind: stored::split(&stored.event).0,
            account_id: Some(stored.event.account_id()),
        };
        match send(shared, bot, attempt(done, message, false, about)).await? {
            Step::Next => done = stored.id,
            Step::Stop(outcome) => return Ok(outcome),
        }
    }
    if backlog.end > done {
        store_cursor(shared, operator.id, backlog.end, None).await?;
    }
    Ok(Outcome::Done)
}

/// What a message is, for the audit of its failure.
struct About {
    kind: String,
    account_id: Option<i64>,
}

impl About {
    fn no_event(kind: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            account_id: None,
        }
    }
}

/// One message to send, and where the operator's cursor stands (`done`).
struct Attempt {
    operator_id: i64,
    chat: ChatId,
    done: i64,
    message: InFlight,
    /// It may have arrived already (an earlier bot's message of unknown fate).
    repeat: bool,
    about: About,
    /// The message whose failure is already audited.
    audited: Option<i64>,
}

/// Whether a catch-up goes on after one message.
enum Step {
    Next,
    Stop(Outcome),
}

/// Sends one message and deals with a refusal: audited once, then held for a later try — or,
/// when Telegram refuses this message whatever the moment, passed over (the cursor moves on).
async fn send(shared: &Shared, bot: &Bot, attempt: Attempt) -> Result<Step, DbErr> {
    let error = match hand_over(shared, bot, &attempt).await? {
        Handed::Accepted => return Ok(Step::Next),
        // Another worker runs the bot now (this one was paused past its lease): it sends what
        // is left, from the cursor.
        Handed::LeaseGone => {
            tracing::debug!(
                operator_id = attempt.operator_id,
                "the Telegram lease is elsewhere now"
            );
            return Ok(Step::Stop(Outcome::Done));
        }
        Handed::Refused(e) => e,
    };
    let through = attempt.message.through;
    let About { kind, account_id } = &attempt.about;
    let kind = kind.as_str();
    let given_up = undeliverable(&error);
    if attempt.audited != Some(through) {
        audit::record(
            &shared.db,
            audit::Entry::new(Actor::System, "telegram.alert_failed")
                .operator(attempt.operator_id)
                .target("event", through)
                .detail(json!({
                    "kind": kind,
                    "account_id": account_id,
                    "error": error.to_string(),
                    "given_up": given_up,
                })),
        )
        .await?;
    }
    if !given_up {
        tracing::warn!(
            operator_id = attempt.operator_id,
            event_id = through,
            kind,
            error = %error,
            "a Telegram alert could not be delivered; trying later"
        );
        return Ok(Step::Stop(Outcome::Held {
            event: through,
            retry_after: retry_after(&error),
        }));
    }
    // Sending it again would hold every later alert forever.
    tracing::error!(
        operator_id = attempt.operator_id,
        event_id = through,
        kind,
        error = %error,
        "Telegram refused an alert; it is left unsent"
    );
    store_cursor(shared, attempt.operator_id, through, None).await?;
    Ok(Step::Next)
}

/// The operator's alerts after their cursor: the newest [`SHOWN`] to send, and a count of the
/// older ones. Only those are kept in memory, however long the backlog.
struct Backlog {
    summarised: usize,
    /// The newest summarised alert's event.
    summarised_through: i64,
    shown: VecDeque<Stored>,
    /// The newest event read, alert or not: the cursor's place once everything went out.
    end: i64,
}

impl Backlog {
    async fn read(shared: &Shared, operator: &Operator, cursor: i64) -> Result<Self, DbErr> {
        let tz = zone_of(operator);
        let mut backlog = Self {
            summarised: 0,
            summarised_through: cursor,
            shown: VecDeque::new(),
            end: cursor,
        };
        loop {
            let rows = event_rows::Entity::find()
                .filter(event_rows::Column::OperatorId.eq(operator.id))
                .filter(event_rows::Column::Id.gt(backlog.end))
                .order_by_asc(event_rows::Column::Id)
                .limit(BATCH)
                .all(&shared.db)
                .await?;
            let last_page = (rows.len() as u64) < BATCH;
            for row in rows {
                backlog.end = row.id;
                let Some(stored) = decode(row) else {
                    continue;
                };
                // Whether it alerts does not depend on the account's label.
                if texts::alert(&stored.event, "", tz, &shared.public_url).is_none() {
                    continue;
                }
                backlog.shown.push_back(stored);
                if backlog.shown.len() > SHOWN
                    && let Some(oldest) = backlog.shown.pop_front()
                {
                    backlog.summarised += 1;
                    backlog.summarised_through = oldest.id;
                }
            }
            if last_page {
                return Ok(backlog);
            }
        }
    }
}

/// An event row, or `None` (with a warning) for one written by a newer version.
fn decode(row: event_rows::Model) -> Option<Stored> {
    match stored::join::<Event>(&row.kind, row.payload) {
        Ok(event) => Some(Stored {
            id: row.id,
            operator_id: row.operator_id,
            event,
        }),
        Err(e) => {
            tracing::warn!(id = row.id, kind = %row.kind, error = %e, "skipping undecodable event");
            None
        }
    }
}

/// The message for one event's alert, if it raises one.
async fn alert_message(
    shared: &Shared,
    operator: &Operator,
    stored: &Stored,
) -> Result<Option<InFlight>, DbErr> {
    let account_id = stored.event.account_id();
    let label = match &stored.event {
        Event::LoggedOut { .. } | Event::Banned { .. } => {
            accounts::find(&shared.db, operator.id, account_id)
                .await?
                .map_or_else(|| format!("account #{account_id}"), |a| a.label)
        }
        _ => String::new(),
    };
    let Some(text) = texts::alert(&stored.event, &label, zone_of(operator), &shared.public_url)
    else {
        return Ok(None);
    };
    // A paused run can be resumed or cancelled right from its alert.
    let buttons = match &stored.event {
        Event::RunAlert {
            run_id,
            status: RunStatus::Paused,
            ..
        } => Some(InlineKeyboardMarkup::new([[
            Action::ResumeRun(*run_id).button(""),
            Action::CancelRun(*run_id).button(""),
        ]])),
        _ => None,
    };
    Ok(Some(InFlight {
        through: stored.id,
        text,
        buttons,
    }))
}
