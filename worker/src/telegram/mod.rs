//! The private Telegram bot (README.md, "Telegram bot"): long polling with teloxide, a whitelist
//! read from the database at the root of the handler tree, commands for logging in and pairing
//! accounts, QR codes as a photo edited in place, and alerts from the event stream.
//!
//! - [`access`]: who may talk to the bot; everyone else is refused and audited.
//! - [`commands`]: the slash commands.
//! - [`pairing`]: following one pairing in a chat, from QR photo to "connected".
//! - [`accounts`]: the account list with its pair/unpair buttons.
//! - [`alerts`]: the event tail that tells operators what went wrong, each alert once.
//! - [`texts`]: everything the bot says.

mod access;
mod accounts;
mod alerts;
mod commands;
mod pairing;
mod texts;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use runtime::config::{Config, PublicUrl, TelegramConfig};
use sea_orm::DatabaseConnection;
use service::{
    bus::wake::{Topic, Waker},
    leases::Fence,
    operators,
};
use teloxide::{
    Bot,
    dispatching::{DefaultKey, Dispatcher, ShutdownToken, UpdateFilterExt, UpdateHandler},
    dptree,
    payloads::SendMessageSetters,
    prelude::Requester,
    types::{LinkPreviewOptions, Recipient, Update},
    update_listeners::Polling,
};
use tokio::{sync::watch, task::JoinHandle};

use domain::{status::Provider, timezone::TimeZone};
use entity::operators::Model as Operator;

type HandlerResult = anyhow::Result<()>;

/// How long one getUpdates call waits for news; shorter than the client's 17 s timeout.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before trying Telegram again when it could not be reached at start.
const RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// How long the stop waits for each task to finish on its own before cutting it off.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the handlers share.
struct Shared {
    db: DatabaseConnection,
    public_url: PublicUrl,
    /// The provider accounts created by /pair use.
    provider: Provider,
    /// Wakes readers of the event stream; one listener for the whole bot.
    events: Waker,
    pairings: pairing::Pairings,
    /// The `telegram` lease this bot runs under: an alert goes out only while it holds.
    lease: Fence,
}

/// The running bot: its dispatcher and its alert task.
pub struct TelegramBot {
    shared: Arc<Shared>,
    shutdown: ShutdownToken,
    stop: watch::Sender<bool>,
    dispatcher: JoinHandle<()>,
    alerts: JoinHandle<()>,
}

impl TelegramBot {
    /// Mirrors the whitelist into `operators` (so the bot works even if the worker starts before
    /// the server), then starts polling and sending each operator the alerts not sent yet,
    /// so those raised while it was down or starting go out too. Telegram being unreachable does
    /// not fail the start: the bot keeps trying in the background.
    pub async fn start(
        db: DatabaseConnection,
        telegram: &TelegramConfig,
        config: &Config,
        lease: Fence,
    ) -> anyhow::Result<Self> {
        if config.allowed_user_ids.is_empty() {
            tracing::warn!(
                "TELEGRAM_ALLOWED_USER_IDS is empty: the Telegram bot will refuse everyone"
            );
        } else {
            operators::sync_whitelist(&db, &config.allowed_user_ids, config.default_timezone)
                .await
                .context("syncing the Telegram whitelist")?;
        }
        let events_waker = Waker::start(&db, Topic::Events)
            .await
            .context("listening for events")?;
        let shared = Arc::new(Shared {
            db,
            public_url: config.public_url.clone(),
            provider: config.wa_provider,
            events: events_waker,
            pairings: pairing::Pairings::default(),
            lease,
        });
        let bot = Bot::new(telegram.bot_token.expose()).set_api_url(telegram.api_url.clone());
        let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
            .dependencies(dptree::deps![shared.clone()])
            // Updates the tree does not handle (edits, joins, …) are ignored on purpose.
            .default_handler(|_| async {})
            .error_handler(Arc::new(|e: anyhow::Error| async move {
                tracing::warn!(error = format!("{e:#}"), "a Telegram update failed");
            }))
            .build();
        let shutdown = dispatcher.shutdown_token();
        let (stop, stopped) = watch::channel(false);
        let dispatcher = tokio::spawn({
            let bot = bot.clone();
            let mut stopped = stopped.clone();
            async move {
                tokio::select! {
                    () = poll(&mut dispatcher, bot) => {}
                    _ = stopped.wait_for(|s| *s) => {}
                }
            }
        });
        let alerts = tokio::spawn(alerts::run(shared.clone(), bot, stopped));
        tracing::info!(api = %telegram.api_url, "Telegram bot started");
        Ok(Self {
            shared,
            shutdown,
            stop,
            dispatcher,
            alerts,
        })
    }

    /// Stops polling (letting updates being handled finish and confirming them to Telegram, so
    /// they are not handled again after a restart), then the pairings it follows and the alert
    /// tail. Bounded: a task that does not finish in time is cut off.
    pub async fn stop(self) {
        if let Ok(done) = self.shutdown.shutdown() {
            let _ = tokio::time::timeout(STOP_GRACE, done).await;
        }
        let _ = self.stop.send(true);
        for (what, mut task) in [("dispatcher", self.dispatcher), ("alerts", self.alerts)] {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                tracing::warn!(task = what, "Telegram task did not stop in time; aborted");
                task.abort();
            }
        }
        self.shared.pairings.stop_all();
    }
}

/// Registers the command list, then long-polls until shut down; when Telegram cannot be reached
/// at all (getMe fails), tries again after a pause.
async fn poll(dispatcher: &mut Dispatcher<Bot, anyhow::Error, DefaultKey>, bot: Bot) {
    let mut registered = false;
    loop {
        if !registered {
            match bot.set_my_commands(commands::menu()).await {
                Ok(_) => registered = true,
                Err(e) => tracing::warn!(error = %e, "registering the bot's commands failed"),
            }
        }
        let listener = Polling::builder(bot.clone())
            .timeout(POLL_TIMEOUT)
            .delete_webhook()
            .await
            .build();
        let listener_errors = Arc::new(|e: teloxide::RequestError| async move {
            tracing::warn!(error = %e, "polling Telegram failed; retrying");
        });
        match dispatcher
            .try_dispatch_with_listener(listener, listener_errors)
            .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "Telegram is unreachable; trying again shortly");
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        }
    }
}

/// The handler tree: the whitelist decides first; only operators reach the commands and
/// buttons, everyone else is refused.
fn schema() -> UpdateHandler<anyhow::Error> {
    let operator_tree = dptree::filter_map(access::operator)
        .branch(Update::filter_message().endpoint(commands::handle))
        .branch(Update::filter_callback_query().endpoint(accounts::on_callback));
    dptree::entry()
        .filter_map_async(access::identify)
        .branch(operator_tree)
        .branch(dptree::endpoint(access::refuse))
}

/// Sends a plain text message without a link preview: a preview would make Telegram's servers
/// fetch links (such as a one-time login link) before the operator does.
async fn say(
    bot: &Bot,
    chat: impl Into<Recipient>,
    text: impl Into<String>,
) -> Result<teloxide::types::Message, teloxide::RequestError> {
    bot.send_message(chat, text)
        .link_preview_options(no_preview())
        .await
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// The operator's time zone, for showing times; UTC if the stored name is unknown.
fn zone_of(operator: &Operator) -> chrono_tz::Tz {
    operator
        .timezone
        .parse::<TimeZone>()
        .unwrap_or(TimeZone::UTC)
        .tz()
}
