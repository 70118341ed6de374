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
use entity::{events as event_rows, operators::Model as Operator, telegram_alert_cursors};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service::{
    accounts,
    audit::{self, Actor},
    bus::events::Stored,
    database::begin_write,
    leases, operators,
};
use teloxide::{
    ApiError, Bot, RequestError,
    payloads::SendMessageSetters,
    prelude::Requester,
    types::{ChatId, InlineKeyboardMarkup},
};
use tokio::{sync::watch, time::Instant};

use super::{Shared, accounts::Action, no_preview, texts, zone_of};

/// Events read per query.
const BATCH: u64 = 200;
/// The most alerts of one backlog sent one by one; the older ones are only counted, in a summary
/// sent first, so an outage's worth of alerts does not bury the chat.
const SHOWN: usize = 10;
/// Pause before the immediate retry, unless Telegram asks for a longer one (capped).
const RETRY_AFTER: Duration = Duration::from_secs(1);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);
/// Pauses before trying a held alert again: doubling from the first up to the longest.
const HOLD_FIRST: Duration = Duration::from_secs(2);
const HOLD_MAX: Duration = Duration::from_secs(120);

/// An operator whose oldest unsent alert Telegram refused: nothing is tried for them until
/// `until`.
struct Hold {
    until: Instant,
    pause: Duration,
    /// The event whose failure was audited: one row per alert, not one per attempt.
    audited: Option<i64>,
}

/// How one operator's catch-up ended.
enum Outcome {
    /// Everything up to the end of the stream is done.
    Done,
    /// Telegram refused the message for `event` (`None`: the summary); it waits.
    Held {
        event: Option<i64>,
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
                hold.audited = event.or(hold.audited);
            }
        }
    }
    Ok(())
}

/// Sends the operator's alerts after their cursor, oldest first, moving the cursor past each one
/// Telegram accepted. `audited`: the event whose failure is already audited.
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
    // A message an earlier bot handed to Telegram without hearing back: it may have arrived, so
    // it goes again, saying so, before anything newer.
    if let Some(message) = cursor.in_flight.filter(|m| m.through > done) {
        if !leases::still_held(db, &shared.lease).await? {
            return Ok(Outcome::Done);
        }
        match hand_over(shared, bot, operator.id, chat, done, &message, true).await? {
            Handed::Accepted => done = message.through,
            Handed::LeaseGone => return Ok(Outcome::Done),
            Handed::Refused(e) => {
                tracing::warn!(
                    operator_id = operator.id,
                    error = %e,
                    "a Telegram alert of unknown fate could not be sent again; trying later"
                );
                return Ok(Outcome::Held {
                    event: None,
                    retry_after: retry_after(&e),
                });
            }
        }
    }
    let backlog = Backlog::read(shared, operator, done).await?;
    if backlog.summarised > 0 {
        let message = InFlight {
            through: backlog.summarised_through,
            text: texts::backlog(backlog.summarised, backlog.shown.len(), &shared.public_url),
            buttons: None,
        };
        match hand_over(shared, bot, operator.id, chat, done, &message, false).await? {
            Handed::Accepted => done = message.through,
            Handed::LeaseGone => return Ok(Outcome::Done),
            Handed::Refused(e) => {
                tracing::warn!(
                    operator_id = operator.id,
                    alerts = backlog.summarised,
                    error = %e,
                    "the summary of missed Telegram alerts could not be delivered; trying later"
                );
                return Ok(Outcome::Held {
                    event: None,
                    retry_after: retry_after(&e),
                });
            }
        }
    }
    for stored in &backlog.shown {
        let handed = match alert_message(shared, operator, stored).await? {
            Some(message) => {
                hand_over(shared, bot, operator.id, chat, done, &message, false).await?
            }
            None => Handed::Accepted,
        };
        match handed {
            Handed::Accepted => {}
            // Another worker runs the bot now (this one was paused past its lease): it sends
            // what is left, from the cursor.
            Handed::LeaseGone => {
                tracing::debug!(
                    operator_id = operator.id,
                    "the Telegram lease is elsewhere now"
                );
                return Ok(Outcome::Done);
            }
            Handed::Refused(e) => {
                let kind = stored::split(&stored.event).0;
                let given_up = undeliverable(&e);
                if audited != Some(stored.id) {
                    audit::record(
                        db,
                        audit::Entry::new(Actor::System, "telegram.alert_failed")
                            .operator(operator.id)
                            .target("event", stored.id)
                            .detail(json!({
                                "kind": kind,
                                "account_id": stored.event.account_id(),
                                "error": e.to_string(),
                                "given_up": given_up,
                            })),
                    )
                    .await?;
                }
                if !given_up {
                    tracing::warn!(
                        operator_id = operator.id,
                        event_id = stored.id,
                        kind,
                        error = %e,
                        "a Telegram alert could not be delivered; trying later"
                    );
                    return Ok(Outcome::Held {
                        event: Some(stored.id),
                        retry_after: retry_after(&e),
                    });
                }
                // Telegram refuses this message itself: sending it again would hold every
                // later alert forever.
                tracing::error!(
                    operator_id = operator.id,
                    event_id = stored.id,
                    kind,
                    error = %e,
                    "Telegram refused an alert; it is left unsent"
                );
            }
        }
        done = stored.id;
        store_cursor(shared, operator.id, done, None).await?;
    }
    if backlog.end > done {
        store_cursor(shared, operator.id, backlog.end, None).await?;
    }
    Ok(Outcome::Done)
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

/// One operator's place in the event stream.
struct Cursor {
    last: i64,
    in_flight: Option<InFlight>,
}

/// A message handed to Telegram whose acceptance is not recorded yet
/// (`telegram_alert_cursors.in_flight`).
#[derive(Serialize, Deserialize)]
struct InFlight {
    /// The event the cursor moves to once Telegram accepted the message.
    through: i64,
    text: String,
    buttons: Option<InlineKeyboardMarkup>,
}

async fn load_cursor(db: &DatabaseConnection, operator_id: i64) -> Result<Cursor, DbErr> {
    let Some(row) = telegram_alert_cursors::Entity::find_by_id(operator_id)
        .one(db)
        .await?
    else {
        return Ok(Cursor {
            last: 0,
            in_flight: None,
        });
    };
    let in_flight = row.in_flight.and_then(|raw| {
        serde_json::from_str(&raw)
            .inspect_err(|e| tracing::warn!(operator_id, error = %e, "an unreadable in-flight alert is dropped"))
            .ok()
    });
    Ok(Cursor {
        last: row.last_event_id,
        in_flight,
    })
}

/// Writes the operator's cursor and in-flight message, only while this bot's lease holds (its
/// successor's cursor is the one that counts then). `false`: the lease is gone, nothing written.
async fn store_cursor(
    shared: &Shared,
    operator_id: i64,
    last_event_id: i64,
    in_flight: Option<&InFlight>,
) -> Result<bool, DbErr> {
    let in_flight = in_flight
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| DbErr::Custom(format!("an alert could not be recorded: {e}")))?;
    let txn = begin_write(&shared.db).await?;
    if !leases::lock_for_write(&txn, &shared.lease).await? {
        return Ok(false);
    }
    telegram_alert_cursors::Entity::insert(telegram_alert_cursors::ActiveModel {
        operator_id: Set(operator_id),
        last_event_id: Set(last_event_id),
        in_flight: Set(in_flight),
    })
    .on_conflict(
        OnConflict::column(telegram_alert_cursors::Column::OperatorId)
            .update_columns([
                telegram_alert_cursors::Column::LastEventId,
                telegram_alert_cursors::Column::InFlight,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
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

/// What became of a message handed to Telegram.
enum Handed {
    /// Telegram accepted it and the cursor moved past it.
    Accepted,
    /// Telegram did not take it (or did not answer); the message waits.
    Refused(RequestError),
    /// The bot's lease is elsewhere: its successor sends from the cursor.
    LeaseGone,
}

/// Sends `message` under the in-flight record: the record is written before the first attempt
/// and cleared with the cursor's move, so a bot stopped in between leaves the message marked as
/// of unknown fate for its successor (which then sends it again as a possible repeat, `repeat`).
/// A refusal that proves the message did not arrive clears the record; one that does not keeps
/// it. `done`: where the cursor stands now.
async fn hand_over(
    shared: &Shared,
    bot: &Bot,
    operator_id: i64,
    chat: ChatId,
    done: i64,
    message: &InFlight,
    repeat: bool,
) -> Result<Handed, DbErr> {
    if !repeat && !store_cursor(shared, operator_id, done, Some(message)).await? {
        return Ok(Handed::LeaseGone);
    }
    match deliver(shared, bot, chat, message, repeat).await? {
        Delivery::Accepted => {
            store_cursor(shared, operator_id, message.through, None).await?;
            Ok(Handed::Accepted)
        }
        Delivery::Refused {
            error,
            maybe_arrived,
        } => {
            if !maybe_arrived && !repeat {
                store_cursor(shared, operator_id, done, None).await?;
            }
            Ok(Handed::Refused(error))
        }
    }
}

/// How one [`deliver`] ended.
enum Delivery {
    Accepted,
    /// `maybe_arrived`: an attempt failed in a way that does not prove Telegram did not take it.
    Refused {
        error: RequestError,
        maybe_arrived: bool,
    },
}

/// Sends `message`, and once more if the first attempt fails — while the bot's lease still
/// holds: a worker paused mid-send wakes to a failed attempt, and by then its successor may be
/// sending the same alert. A message that may already have arrived (`repeat`, or a first attempt
/// that failed without proof it did not arrive) goes out marked as a possible repeat. The outer
/// error is the database's.
async fn deliver(
    shared: &Shared,
    bot: &Bot,
    chat: ChatId,
    message: &InFlight,
    repeat: bool,
) -> Result<Delivery, DbErr> {
    let send = |repeat: bool| {
        let text = if repeat {
            texts::possible_repeat(&message.text)
        } else {
            message.text.clone()
        };
        let request = bot
            .send_message(chat, text)
            .link_preview_options(no_preview());
        match message.buttons.clone() {
            Some(buttons) => request.reply_markup(buttons),
            None => request,
        }
    };
    let Err(first) = send(repeat).await else {
        return Ok(Delivery::Accepted);
    };
    let maybe_arrived = !surely_not_arrived(&first);
    let pause = retry_after(&first)
        .unwrap_or(RETRY_AFTER)
        .min(RETRY_AFTER_MAX);
    tracing::warn!(error = %first, "a Telegram alert failed; retrying once");
    tokio::time::sleep(pause).await;
    if !leases::still_held(&shared.db, &shared.lease).await? {
        return Ok(Delivery::Refused {
            error: first,
            maybe_arrived,
        });
    }
    Ok(match send(repeat || maybe_arrived).await {
        Ok(_) => Delivery::Accepted,
        Err(second) => Delivery::Refused {
            maybe_arrived: maybe_arrived || !surely_not_arrived(&second),
            error: second,
        },
    })
}

/// Telegram answered with a refusal, or was never reached: the message surely did not arrive.
/// A timeout or a broken answer proves nothing either way.
fn surely_not_arrived(e: &RequestError) -> bool {
    match e {
        RequestError::Api(_) | RequestError::RetryAfter(_) | RequestError::MigrateToChatId(_) => {
            true
        }
        RequestError::Network(e) => e.is_connect(),
        RequestError::InvalidJson { .. } | RequestError::Io(_) => false,
    }
}

/// The wait Telegram asked for, if it did.
fn retry_after(e: &RequestError) -> Option<Duration> {
    match e {
        RequestError::RetryAfter(secs) => Some(secs.duration()),
        _ => None,
    }
}

/// Telegram refuses this message whatever the moment: its text or buttons are at fault. Anything
/// else (Telegram or the network down, the bot blocked, the chat not started yet) may pass later.
fn undeliverable(e: &RequestError) -> bool {
    matches!(
        e,
        RequestError::Api(
            ApiError::MessageIsTooLong
                | ApiError::MessageTextIsEmpty
                | ApiError::CantParseEntities(_)
                | ApiError::ButtonDataInvalid
                | ApiError::ButtonUrlInvalid
                | ApiError::TextButtonsAreUnallowed
        )
    )
}
