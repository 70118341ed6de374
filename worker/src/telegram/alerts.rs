//! Alerts: tells each operator about what needs them — an account logged out, banned or down, a
//! run that failed, went partly out, paused or was missed, an account offline at fire time, sends
//! whose fate is unknown — as the event stream reports it.
//!
//! Each operator's place in the stream is stored (`telegram_alert_cursors`) and moves past an
//! alert only once Telegram accepted it, so alerts raised while the worker or the bot was down,
//! or while the worker was starting, still go out, and none goes out twice. A message Telegram
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
    let backlog = Backlog::read(shared, operator, cursor).await?;
    let mut done = cursor;
    if backlog.summarised > 0 {
        if !leases::still_held(db, &shared.lease).await? {
            return Ok(Outcome::Done);
        }
        let text = texts::backlog(backlog.summarised, backlog.shown.len(), &shared.public_url);
        if let Err(e) = deliver(shared, bot, chat, &text, None).await? {
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
        done = backlog.summarised_through;
        save_cursor(shared, operator.id, done).await?;
    }
    for stored in &backlog.shown {
        // Another worker runs the bot now (this one was paused past its lease): it sends what
        // is left, from the cursor.
        if !leases::still_held(db, &shared.lease).await? {
            tracing::debug!(
                operator_id = operator.id,
                "the Telegram lease is elsewhere now"
            );
            return Ok(Outcome::Done);
        }
        if let Err(e) = alert(shared, bot, operator, chat, stored).await? {
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
            // Telegram refuses this message itself: sending it again would hold every later
            // alert forever.
            tracing::error!(
                operator_id = operator.id,
                event_id = stored.id,
                kind,
                error = %e,
                "Telegram refused an alert; it is left unsent"
            );
        }
        done = stored.id;
        save_cursor(shared, operator.id, done).await?;
    }
    if backlog.end > done {
        save_cursor(shared, operator.id, backlog.end).await?;
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

async fn load_cursor(db: &DatabaseConnection, operator_id: i64) -> Result<i64, DbErr> {
    Ok(telegram_alert_cursors::Entity::find_by_id(operator_id)
        .one(db)
        .await?
        .map_or(0, |cursor| cursor.last_event_id))
}

/// Moves the operator's cursor, only while this bot's lease holds (its successor's cursor is
/// the one that counts then).
async fn save_cursor(shared: &Shared, operator_id: i64, last_event_id: i64) -> Result<(), DbErr> {
    let txn = begin_write(&shared.db).await?;
    if !leases::lock_for_write(&txn, &shared.lease).await? {
        return Ok(());
    }
    telegram_alert_cursors::Entity::insert(telegram_alert_cursors::ActiveModel {
        operator_id: Set(operator_id),
        last_event_id: Set(last_event_id),
    })
    .on_conflict(
        OnConflict::column(telegram_alert_cursors::Column::OperatorId)
            .update_column(telegram_alert_cursors::Column::LastEventId)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await
}

/// Sends one event's alert. The outer error is the database's, the inner one Telegram's.
async fn alert(
    shared: &Shared,
    bot: &Bot,
    operator: &Operator,
    chat: ChatId,
    stored: &Stored,
) -> Result<Result<(), RequestError>, DbErr> {
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
        return Ok(Ok(()));
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
    deliver(shared, bot, chat, &text, buttons).await
}

/// Sends `text` (with `buttons`), and once more if the first attempt fails — while the bot's
/// lease still holds: a worker paused mid-send wakes to a failed attempt, and by then its
/// successor may be sending the same alert. The outer error is the database's.
async fn deliver(
    shared: &Shared,
    bot: &Bot,
    chat: ChatId,
    text: &str,
    buttons: Option<InlineKeyboardMarkup>,
) -> Result<Result<(), RequestError>, DbErr> {
    let send = || {
        let message = bot
            .send_message(chat, text)
            .link_preview_options(no_preview());
        match buttons.clone() {
            Some(buttons) => message.reply_markup(buttons),
            None => message,
        }
    };
    let Err(first) = send().await else {
        return Ok(Ok(()));
    };
    let pause = retry_after(&first)
        .unwrap_or(RETRY_AFTER)
        .min(RETRY_AFTER_MAX);
    tracing::warn!(error = %first, "a Telegram alert failed; retrying once");
    tokio::time::sleep(pause).await;
    if !leases::still_held(&shared.db, &shared.lease).await? {
        return Ok(Err(first));
    }
    Ok(send().await.map(|_| ()))
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
