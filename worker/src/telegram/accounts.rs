//! `/accounts`: each account's status, with a button to pair or unpair it; and what the bot's
//! buttons do when pressed (those two, and resume or cancel on a paused run's alert).

use std::sync::Arc;

use domain::{bus::Command, status::AccountStatus};
use entity::{operators::Model as Operator, whatsapp_accounts::Model as Account};
use service::{
    accounts as account_store,
    audit::Actor,
    runs::{self, RunActionError},
};
use teloxide::{
    Bot,
    payloads::{AnswerCallbackQuerySetters, SendMessageSetters},
    prelude::Requester,
    types::{CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup},
};

use super::{HandlerResult, Shared, no_preview, pairing, say, texts, zone_of};

/// What a button asks for; its callback data is `pair:<id>`, `unpair:<id>` (accounts),
/// `resume:<id>` or `cancel:<id>` (runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Pair(i64),
    Unpair(i64),
    ResumeRun(i64),
    CancelRun(i64),
}

impl Action {
    fn parse(data: &str) -> Option<Self> {
        let (verb, id) = data.split_once(':')?;
        let id = id.parse().ok()?;
        match verb {
            "pair" => Some(Self::Pair(id)),
            "unpair" => Some(Self::Unpair(id)),
            "resume" => Some(Self::ResumeRun(id)),
            "cancel" => Some(Self::CancelRun(id)),
            _ => None,
        }
    }

    fn data(self) -> String {
        match self {
            Self::Pair(id) => format!("pair:{id}"),
            Self::Unpair(id) => format!("unpair:{id}"),
            Self::ResumeRun(id) => format!("resume:{id}"),
            Self::CancelRun(id) => format!("cancel:{id}"),
        }
    }

    pub(super) fn button(self, label: &str) -> InlineKeyboardButton {
        let text = match self {
            Self::Pair(_) => format!("Pair {label}"),
            Self::Unpair(_) => format!("Unpair {label}"),
            Self::ResumeRun(_) => "▶ Resume".to_owned(),
            Self::CancelRun(_) => "✖ Cancel the rest".to_owned(),
        };
        InlineKeyboardButton::callback(text, self.data())
    }
}

/// The buttons an account in this state offers.
fn actions(account: &Account) -> Vec<Action> {
    match account.status {
        AccountStatus::Connected => vec![Action::Unpair(account.id)],
        AccountStatus::Unpaired => vec![Action::Pair(account.id)],
        _ => vec![Action::Pair(account.id), Action::Unpair(account.id)],
    }
}

pub(super) async fn show(
    shared: &Arc<Shared>,
    bot: &Bot,
    chat: ChatId,
    operator: &Operator,
) -> HandlerResult {
    let accounts = account_store::list(&shared.db, operator.id).await?;
    if accounts.is_empty() {
        say(bot, chat, texts::NO_ACCOUNTS).await?;
        return Ok(());
    }
    let keyboard = InlineKeyboardMarkup::new(accounts.iter().map(|account| {
        actions(account)
            .into_iter()
            .map(|action| action.button(&account.label))
            .collect::<Vec<_>>()
    }));
    bot.send_message(chat, texts::accounts(&accounts, zone_of(operator)))
        .link_preview_options(no_preview())
        .reply_markup(keyboard)
        .await?;
    Ok(())
}

/// Asks the worker to unpair `account`; says so in `chat` and returns the words.
pub(super) async fn unpair(
    shared: &Arc<Shared>,
    bot: &Bot,
    chat: ChatId,
    operator_id: i64,
    account: Account,
) -> anyhow::Result<String> {
    let text = if account.status == AccountStatus::Unpaired {
        texts::not_paired(&account.label)
    } else {
        let command = Command::Unpair {
            account_id: account.id,
        };
        match account_store::request(&shared.db, Actor::Telegram, operator_id, &command).await? {
            Some(_) => texts::unpairing(&account.label),
            None => texts::unknown_account(&account.label),
        }
    };
    say(bot, chat, text.clone()).await?;
    Ok(text)
}

/// A button press: every press is answered (Telegram shows a spinner until it is), with the
/// outcome or a hint that the button is stale.
pub(super) async fn on_callback(
    bot: Bot,
    query: CallbackQuery,
    operator: Operator,
    shared: Arc<Shared>,
) -> HandlerResult {
    let chat = query.message.as_ref().map(|message| message.chat().id);
    let action = query.data.as_deref().and_then(Action::parse);
    let answer = match (action, chat) {
        (Some(action), Some(chat)) => match act(&shared, &bot, chat, &operator, action).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(
                    operator_id = operator.id,
                    error = format!("{e:#}"),
                    "a Telegram button failed"
                );
                texts::TRY_AGAIN.to_owned()
            }
        },
        _ => texts::STALE_BUTTON.to_owned(),
    };
    bot.answer_callback_query(query.id).text(answer).await?;
    Ok(())
}

async fn act(
    shared: &Arc<Shared>,
    bot: &Bot,
    chat: ChatId,
    operator: &Operator,
    action: Action,
) -> anyhow::Result<String> {
    let account_id = match action {
        Action::Pair(id) | Action::Unpair(id) => id,
        Action::ResumeRun(run_id) | Action::CancelRun(run_id) => {
            return run_action(shared, operator, action, run_id).await;
        }
    };
    let Some(account) = account_store::find(&shared.db, operator.id, account_id).await? else {
        return Ok(texts::STALE_BUTTON.to_owned());
    };
    match action {
        Action::Pair(_) => {
            pairing::begin(shared, bot, chat, operator.id, account, false, None).await
        }
        _ => unpair(shared, bot, chat, operator.id, account).await,
    }
}

/// Resume or cancel a paused run, as the dashboard does.
async fn run_action(
    shared: &Arc<Shared>,
    operator: &Operator,
    action: Action,
    run_id: i64,
) -> anyhow::Result<String> {
    let done = match action {
        Action::ResumeRun(_) => {
            runs::resume(&shared.db, Actor::Telegram, operator.id, run_id).await
        }
        _ => runs::cancel(&shared.db, Actor::Telegram, operator.id, run_id).await,
    };
    Ok(match (done, action) {
        (Ok(_), Action::ResumeRun(_)) => texts::RUN_RESUMING.to_owned(),
        (Ok(_), _) => texts::RUN_CANCELLING.to_owned(),
        (Err(RunActionError::NotPaused(_)), _) => texts::RUN_NOT_PAUSED.to_owned(),
        (Err(RunActionError::NotFound | RunActionError::AccountGone), _) => {
            texts::STALE_BUTTON.to_owned()
        }
        (
            Err(
                e @ (RunActionError::NotRetryable(_)
                | RunActionError::NoMessage
                | RunActionError::ReminderGone
                | RunActionError::MediaGone
                | RunActionError::NothingToRetry),
            ),
            _,
        ) => format!("{e}."),
        (Err(RunActionError::Db(e)), _) => return Err(e.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_rejects_junk() {
        for action in [
            Action::Pair(7),
            Action::Unpair(12),
            Action::ResumeRun(3),
            Action::CancelRun(4),
        ] {
            assert_eq!(Action::parse(&action.data()), Some(action));
            assert!(action.data().len() <= 64, "Telegram's callback data limit");
        }
        for junk in ["", "pair", "pair:", "pair:x", "delete:3", "unpair:3:4"] {
            assert_eq!(Action::parse(junk), None, "{junk:?}");
        }
    }
}
