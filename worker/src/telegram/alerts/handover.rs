//! Handing one message to Telegram: the in-flight record written before it and cleared with
//! the cursor's move, the attempts, and what a failed attempt proves about the message's fate.

use std::time::Duration;

use entity::telegram_alert_cursors;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, Set, sea_query::OnConflict};
use serde::{Deserialize, Serialize};
use service::{database::begin_write, leases};
use teloxide::{
    ApiError, Bot, RequestError,
    payloads::SendMessageSetters,
    prelude::Requester,
    types::{ChatId, InlineKeyboardMarkup},
};

use super::{Attempt, Shared, texts};
use crate::telegram::no_preview;

/// Pause before the immediate retry, unless Telegram asks for a longer one (capped).
const RETRY_AFTER: Duration = Duration::from_secs(1);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);

/// One operator's place in the event stream.
pub(super) struct Cursor {
    pub(super) last: i64,
    pub(super) in_flight: Option<InFlight>,
}

/// A message handed to Telegram whose acceptance is not recorded yet
/// (`telegram_alert_cursors.in_flight`).
#[derive(Serialize, Deserialize)]
pub(super) struct InFlight {
    /// The event the cursor moves to once Telegram accepted the message.
    pub(super) through: i64,
    pub(super) text: String,
    pub(super) buttons: Option<InlineKeyboardMarkup>,
}

pub(super) async fn load_cursor(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Cursor, DbErr> {
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
            .inspect_err(|e| tracing::warn!(operator_id, error = %e, "an in-flight alert record is unreadable; the alerts go on from the cursor"))
            .ok()
    });
    Ok(Cursor {
        last: row.last_event_id,
        in_flight,
    })
}

/// Writes the operator's cursor and in-flight message, only while this bot's lease holds (its
/// successor's cursor is the one that counts then). `false`: the lease is gone, nothing written.
pub(super) async fn store_cursor(
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

/// What became of a message handed to Telegram.
pub(super) enum Handed {
    /// Telegram accepted it and the cursor moved past it.
    Accepted,
    /// Telegram did not take it, or did not say that it did.
    Refused(RequestError),
    /// The bot's lease is elsewhere: its successor sends from the cursor.
    LeaseGone,
}

/// Sends the attempt's message under the in-flight record: the record is written before the
/// first attempt and cleared with the cursor's move, so a bot stopped in between leaves the
/// message marked as of unknown fate for its successor, which sends it again as a possible
/// repeat. A refusal that proves a fresh message did not arrive clears the record; any other
/// refusal keeps it (and a repeat's record stays until a copy is accepted).
pub(super) async fn hand_over(
    shared: &Shared,
    bot: &Bot,
    attempt: &Attempt,
) -> Result<Handed, DbErr> {
    let Attempt {
        operator_id,
        chat,
        done,
        ref message,
        repeat,
        ..
    } = *attempt;
    if !repeat && !store_cursor(shared, operator_id, done, Some(message)).await? {
        return Ok(Handed::LeaseGone);
    }
    match deliver(shared, bot, chat, message, repeat).await? {
        Delivery::Accepted => {
            if !store_cursor(shared, operator_id, message.through, None).await? {
                return Ok(Handed::LeaseGone);
            }
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
    let first = match send(repeat).await {
        Ok(_) => return Ok(Delivery::Accepted),
        Err(e) if accepted_anyway(&e) => return Ok(Delivery::Accepted),
        Err(e) => e,
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
        Err(second) if accepted_anyway(&second) => Delivery::Accepted,
        Err(second) => Delivery::Refused {
            maybe_arrived: maybe_arrived || !surely_not_arrived(&second),
            error: second,
        },
    })
}

/// Telegram refused the message with a reason it gives for requests it did not carry out, or
/// was never reached: the message surely did not arrive. A timeout, a broken answer, or an error
/// teloxide does not know (as a 5xx carries) proves nothing either way.
fn surely_not_arrived(e: &RequestError) -> bool {
    match e {
        RequestError::Api(ApiError::Unknown(_)) => false,
        RequestError::Api(_) | RequestError::RetryAfter(_) | RequestError::MigrateToChatId(_) => {
            true
        }
        RequestError::Network(e) => e.is_connect(),
        RequestError::InvalidJson { .. } | RequestError::Io(_) => false,
    }
}

/// Telegram said it took the message, in an answer teloxide could not read in full (a field
/// of a newer Bot API, say).
fn accepted_anyway(e: &RequestError) -> bool {
    let RequestError::InvalidJson { raw, .. } = e else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(raw)
        .is_ok_and(|answer| answer["ok"] == serde_json::Value::Bool(true))
}

/// The wait Telegram asked for, if it did.
pub(super) fn retry_after(e: &RequestError) -> Option<Duration> {
    match e {
        RequestError::RetryAfter(secs) => Some(secs.duration()),
        _ => None,
    }
}

/// Telegram refuses this message whatever the moment: its text or buttons are at fault. Anything
/// else (Telegram or the network down, the bot blocked, the chat not started yet) may pass later.
pub(super) fn undeliverable(e: &RequestError) -> bool {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use teloxide::types::Seconds;

    use super::*;

    fn unreadable(raw: &str) -> RequestError {
        RequestError::InvalidJson {
            source: Arc::new(serde_json::from_str::<u8>("x").unwrap_err()),
            raw: raw.into(),
        }
    }

    #[test]
    fn only_a_refusal_telegram_explains_proves_a_message_did_not_arrive() {
        assert!(surely_not_arrived(&RequestError::Api(ApiError::BotBlocked)));
        assert!(surely_not_arrived(&RequestError::RetryAfter(
            Seconds::from_seconds(3)
        )));
        // A 5xx's "Internal Server Error", or any error teloxide does not know.
        assert!(!surely_not_arrived(&RequestError::Api(ApiError::Unknown(
            "Internal Server Error".to_owned()
        ))));
        assert!(!surely_not_arrived(&unreadable("<html>bad gateway</html>")));
    }

    #[test]
    fn an_unreadable_answer_that_says_ok_counts_as_accepted() {
        assert!(accepted_anyway(&unreadable(
            r#"{"ok":true,"result":{"message_id":7,"new_field":{}}}"#
        )));
        assert!(!accepted_anyway(&unreadable(
            r#"{"ok":false,"error_code":500}"#
        )));
        assert!(!accepted_anyway(&unreadable("<html>bad gateway</html>")));
        assert!(!accepted_anyway(&RequestError::Api(ApiError::BotBlocked)));
    }
}
