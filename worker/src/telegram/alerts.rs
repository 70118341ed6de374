//! Alerts: tails the event stream from where it stood at start (history is never replayed) and
//! tells each event's operator about what needs them — an account logged out, banned or down, a
//! run that failed, went partly out, paused or was missed, an account offline at fire time,
//! sends whose fate is unknown. A message Telegram refuses is retried once, then only audited:
//! an alert about Telegram being down could never arrive by Telegram anyway.

use std::{collections::HashMap, sync::Arc, time::Duration};

use domain::bus::Event;
use domain::status::RunStatus;
use entity::operators::Model as Operator;
use serde_json::json;
use service::{
    accounts,
    audit::{self, Actor},
    bus::events::{self, Stored},
    operators,
};
use teloxide::{
    Bot, RequestError,
    payloads::SendMessageSetters,
    prelude::Requester,
    types::{ChatId, InlineKeyboardMarkup},
};
use tokio::sync::watch;

use super::{Shared, accounts::Action, commands::zone_of, no_preview, texts};

/// Events read per operator per query.
const BATCH: u64 = 100;
/// Pause before the one retry, unless Telegram asks for a longer one (capped).
const RETRY_AFTER: Duration = Duration::from_secs(1);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);

pub(super) async fn run(
    shared: Arc<Shared>,
    bot: Bot,
    start: i64,
    mut stopped: watch::Receiver<bool>,
) {
    let mut waker = shared.events.clone();
    // Per operator, since events are read per operator; a newly whitelisted operator starts
    // where the bot did.
    let mut cursors: HashMap<i64, i64> = HashMap::new();
    loop {
        let more = match tail_once(&shared, &bot, start, &mut cursors).await {
            Ok(more) => more,
            Err(e) => {
                tracing::warn!(error = %e, "reading events for Telegram alerts failed");
                false
            }
        };
        if *stopped.borrow() {
            return;
        }
        if more {
            continue;
        }
        tokio::select! {
            () = waker.wait() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

/// One pass over every active operator's new events. `true` when a batch came back full.
async fn tail_once(
    shared: &Shared,
    bot: &Bot,
    start: i64,
    cursors: &mut HashMap<i64, i64>,
) -> Result<bool, sea_orm::DbErr> {
    let mut more = false;
    for operator in operators::active(&shared.db).await? {
        let cursor = cursors.entry(operator.id).or_insert(start);
        let batch = events::after(&shared.db, operator.id, *cursor, BATCH).await?;
        more |= batch.len() as u64 == BATCH;
        for stored in batch {
            *cursor = stored.id;
            alert(shared, bot, &operator, &stored).await?;
        }
    }
    Ok(more)
}

async fn alert(
    shared: &Shared,
    bot: &Bot,
    operator: &Operator,
    stored: &Stored,
) -> Result<(), sea_orm::DbErr> {
    // Embedded mode's local operator has no Telegram chat.
    let Some(chat) = operator.telegram_user_id.map(ChatId) else {
        return Ok(());
    };
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
        return Ok(());
    };
    let kind = domain::bus::stored::split(&stored.event).0;
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
    let Err(e) = deliver(bot, chat, &text, buttons).await else {
        return Ok(());
    };
    tracing::error!(
        operator_id = operator.id,
        event_id = stored.id,
        kind,
        error = %e,
        "a Telegram alert could not be delivered"
    );
    audit::record(
        &shared.db,
        audit::Entry::new(Actor::System, "telegram.alert_failed")
            .operator(operator.id)
            .target("event", stored.id)
            .detail(json!({ "kind": kind, "account_id": account_id, "error": e.to_string() })),
    )
    .await
}

/// Sends `text` (with `buttons`), and once more if the first attempt fails.
async fn deliver(
    bot: &Bot,
    chat: ChatId,
    text: &str,
    buttons: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
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
        return Ok(());
    };
    let pause = match &first {
        RequestError::RetryAfter(secs) => secs.duration().min(RETRY_AFTER_MAX),
        _ => RETRY_AFTER,
    };
    tracing::warn!(error = %first, "a Telegram alert failed; retrying once");
    tokio::time::sleep(pause).await;
    send().await.map(|_| ())
}
