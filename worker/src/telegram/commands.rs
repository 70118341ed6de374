//! The slash commands. Parsing is done here rather than by teloxide's derive so that labels with
//! spaces ("/pair Yoga studio") and malformed commands get exactly the answers we want.

use std::sync::Arc;

use domain::account::{AccountLabel, PhoneNumber};
use entity::operators::Model as Operator;
use service::{accounts as account_store, audit::Actor, login_links, reminders};
use teloxide::{
    Bot,
    types::{BotCommand, ChatId, Me, Message},
};

use super::{HandlerResult, Shared, accounts, pairing, say, texts, zone_of};

/// How many upcoming fires /reminders lists.
const UPCOMING: usize = 10;

pub(super) fn menu() -> Vec<BotCommand> {
    texts::COMMANDS
        .iter()
        .map(|(command, description)| BotCommand::new(*command, *description))
        .collect()
}

/// Splits `/name@bot rest` into the lower-cased name and the trimmed rest. `None` for text that
/// is not a command, or a command addressed to another bot.
pub(super) fn split<'a>(text: &'a str, bot_username: Option<&str>) -> Option<(String, &'a str)> {
    let text = text.trim_start().strip_prefix('/')?;
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let (name, addressee) = match head.split_once('@') {
        Some((name, addressee)) => (name, Some(addressee)),
        None => (head, None),
    };
    if let (Some(addressee), Some(me)) = (addressee, bot_username)
        && !addressee.eq_ignore_ascii_case(me)
    {
        return None;
    }
    Some((name.to_lowercase(), rest.trim()))
}

/// The account name a command was given, or the one-line hint to send back.
fn label_arg(command: &str, raw: &str) -> Result<AccountLabel, String> {
    if raw.is_empty() {
        return Err(texts::usage(command));
    }
    AccountLabel::parse(raw).map_err(|e| texts::bad_label(command, &e.to_string()))
}

/// `/pair <name> [+phone]`: the account's name, and the number to link by code when the last
/// words start with `+` (a name may have spaces; a number always has its `+` here).
fn pair_args(raw: &str) -> Result<(AccountLabel, Option<PhoneNumber>), String> {
    if raw.is_empty() || raw.starts_with('+') {
        return Err(texts::PAIR_USAGE.to_owned());
    }
    match raw.rfind(" +") {
        Some(at) => {
            let phone =
                PhoneNumber::parse(&raw[at + 1..]).map_err(|_| texts::BAD_PHONE.to_owned())?;
            Ok((label_arg("pair", raw[..at].trim())?, Some(phone)))
        }
        None => Ok((label_arg("pair", raw)?, None)),
    }
}

/// Every operator message lands here. Failures are logged and the operator is told to retry.
pub(super) async fn handle(
    bot: Bot,
    message: Message,
    me: Me,
    operator: Operator,
    shared: Arc<Shared>,
) -> HandlerResult {
    let chat = message.chat.id;
    if !message.chat.is_private() {
        // Login links and QR codes must never land in a group.
        say(&bot, chat, texts::PRIVATE_ONLY).await?;
        return Ok(());
    }
    let Some((command, rest)) = message
        .text()
        .and_then(|text| split(text, me.user.username.as_deref()))
    else {
        say(&bot, chat, texts::UNKNOWN_COMMAND).await?;
        return Ok(());
    };
    if let Err(e) = run(&bot, &shared, chat, &operator, &command, rest).await {
        tracing::warn!(
            operator_id = operator.id,
            command,
            error = format!("{e:#}"),
            "a Telegram command failed"
        );
        say(&bot, chat, texts::TRY_AGAIN).await?;
    }
    Ok(())
}

async fn run(
    bot: &Bot,
    shared: &Arc<Shared>,
    chat: ChatId,
    operator: &Operator,
    command: &str,
    rest: &str,
) -> HandlerResult {
    match command {
        "start" | "help" => {
            say(bot, chat, texts::help()).await?;
        }
        "login" => {
            let link =
                login_links::issue(&shared.db, operator.id, &shared.public_url, Actor::Telegram)
                    .await?;
            say(bot, chat, texts::login_link(&link.url)).await?;
        }
        "pair" => match pair_args(rest) {
            Ok((label, phone)) => {
                pairing::pair_by_label(shared, bot, chat, operator.id, &label, phone).await?
            }
            Err(hint) => {
                say(bot, chat, hint).await?;
            }
        },
        "unpair" => {
            let account = match label_arg(command, rest) {
                Ok(label) => account_store::find_by_label(&shared.db, operator.id, &label)
                    .await?
                    .ok_or_else(|| texts::unknown_account(label.as_str())),
                Err(hint) => Err(hint),
            };
            match account {
                Ok(account) => {
                    accounts::unpair(shared, bot, chat, operator.id, account).await?;
                }
                Err(hint) => {
                    say(bot, chat, hint).await?;
                }
            };
        }
        "accounts" => accounts::show(shared, bot, chat, operator).await?,
        "reminders" => {
            let fires = reminders::upcoming(&shared.db, operator.id, UPCOMING).await?;
            if fires.is_empty() {
                say(bot, chat, texts::NO_REMINDERS).await?;
                return Ok(());
            }
            let labels = account_store::list(&shared.db, operator.id).await?;
            let fires: Vec<_> = fires
                .into_iter()
                .map(|(reminder, at)| {
                    let label = labels
                        .iter()
                        .find(|a| a.id == reminder.account_id)
                        .map_or_else(String::new, |a| a.label.clone());
                    (reminder.name, label, at)
                })
                .collect();
            say(bot, chat, texts::upcoming(&fires, zone_of(operator))).await?;
        }
        "cancel" => {
            let text = match shared.pairings.cancel(chat) {
                Some(label) => texts::cancelled_following(&label),
                None => texts::NOTHING_TO_CANCEL.to_owned(),
            };
            say(bot, chat, text).await?;
        }
        _ => {
            say(bot, chat, texts::UNKNOWN_COMMAND).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_into_name_and_argument() {
        let bot = Some("herald_bot");
        assert_eq!(
            split("/pair Yoga studio ", bot),
            Some(("pair".into(), "Yoga studio"))
        );
        assert_eq!(
            split("/PAIR@Herald_Bot Bakery", bot),
            Some(("pair".into(), "Bakery"))
        );
        assert_eq!(split("/login", bot), Some(("login".into(), "")));
        assert_eq!(split("/pair@other_bot Bakery", bot), None);
        assert_eq!(split("hello", bot), None);
        assert_eq!(split("/", bot), Some((String::new(), "")));
    }

    #[test]
    fn labels_are_validated_with_a_hint() {
        assert_eq!(label_arg("pair", "Bakery").unwrap().as_str(), "Bakery");
        assert_eq!(
            label_arg("pair", "").unwrap_err(),
            "Usage: /pair <account name>, e.g. /pair Bakery"
        );
        let long = "x".repeat(65);
        let hint = label_arg("unpair", &long).unwrap_err();
        assert!(hint.contains("at most 64") && hint.contains("/unpair <account name>"));
    }

    #[test]
    fn pair_takes_a_name_and_optionally_a_phone_number_with_its_plus() {
        let (label, phone) = pair_args("Yoga studio").unwrap();
        assert_eq!((label.as_str(), phone), ("Yoga studio", None));
        let (label, phone) = pair_args("Yoga studio +44 7700 900123").unwrap();
        assert_eq!(label.as_str(), "Yoga studio");
        assert_eq!(phone.unwrap().digits(), "447700900123");
        assert_eq!(pair_args("Bakery +12ab").unwrap_err(), texts::BAD_PHONE);
        for bare in ["", "+447700900123"] {
            assert_eq!(pair_args(bare).unwrap_err(), texts::PAIR_USAGE);
        }
    }

    #[test]
    fn the_menu_matches_telegram_rules() {
        for command in menu() {
            assert!(
                (1..=32).contains(&command.command.len())
                    && command
                        .command
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                command.command
            );
            assert!((1..=256).contains(&command.description.len()));
        }
    }
}
