//! Who may use the bot: whitelisted operators, looked up in `operators` on every update so that
//! someone taken off the whitelist is refused at once. Everyone else gets one polite refusal and
//! an audit row; nothing else happens.

use std::sync::Arc;

use entity::operators::Model as Operator;
use serde_json::json;
use service::{
    audit::{self, Actor},
    operators,
};
use teloxide::{
    Bot,
    payloads::AnswerCallbackQuerySetters,
    prelude::Requester,
    types::{Update, UpdateKind},
};

use super::{HandlerResult, Shared, say, texts};

/// The person behind an update.
#[derive(Clone, Debug)]
pub(super) enum Caller {
    Operator(Operator),
    /// Not on the whitelist: their Telegram user id.
    Outsider(u64),
}

/// Identifies the sender of a message or button press. Other updates (and any update while the
/// database cannot be read) are dropped: answering them "private" would be wrong.
pub(super) async fn identify(update: Update, shared: Arc<Shared>) -> Option<Caller> {
    let user = match &update.kind {
        UpdateKind::Message(message) => message.from.as_ref()?,
        UpdateKind::CallbackQuery(query) => &query.from,
        _ => return None,
    };
    let Ok(telegram_id) = i64::try_from(user.id.0) else {
        return Some(Caller::Outsider(user.id.0));
    };
    match operators::find_active_by_telegram_id(&shared.db, telegram_id).await {
        Ok(Some(operator)) => Some(Caller::Operator(operator)),
        Ok(None) => Some(Caller::Outsider(user.id.0)),
        Err(e) => {
            tracing::warn!(error = %e, "checking the Telegram whitelist failed; update dropped");
            None
        }
    }
}

pub(super) fn operator(caller: Caller) -> Option<Operator> {
    match caller {
        Caller::Operator(operator) => Some(operator),
        Caller::Outsider(_) => None,
    }
}

/// Refuses an outsider: audit first (the refusal itself may fail to send), then one reply.
pub(super) async fn refuse(
    bot: Bot,
    update: Update,
    caller: Caller,
    shared: Arc<Shared>,
) -> HandlerResult {
    let Caller::Outsider(telegram_id) = caller else {
        return Ok(());
    };
    let kind = match update.kind {
        UpdateKind::CallbackQuery(_) => "callback_query",
        _ => "message",
    };
    audit::record(
        &shared.db,
        audit::Entry::new(Actor::Telegram, "telegram.refused")
            .detail(json!({ "telegram_user_id": telegram_id, "update": kind })),
    )
    .await?;
    tracing::info!(
        telegram_user_id = telegram_id,
        "refused a Telegram user not on the whitelist"
    );
    match update.kind {
        UpdateKind::Message(message) => {
            say(&bot, message.chat.id, texts::REFUSAL).await?;
        }
        UpdateKind::CallbackQuery(query) => {
            bot.answer_callback_query(query.id)
                .text(texts::REFUSAL)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
