//! Pairing by Telegram: the same phases as the dashboard's QR modal and the terminal `pair`
//! command (one fold, [`Phase::apply`]), shown as one photo whose QR code and caption are edited
//! in place on every rotation — or, paired by phone number, as one message with the code to
//! enter, edited when the code changes — then "connected" and the group count.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::{
    account::{AccountLabel, PhoneNumber},
    bus::{Command, Event},
    pairing::Phase,
    status::AccountStatus,
};
use entity::whatsapp_accounts::Model as Account;
use service::{
    accounts::{self as account_store, AddError},
    audit::Actor,
    bus::events,
};
use teloxide::{
    Bot,
    payloads::SendPhotoSetters,
    prelude::Requester,
    types::{ChatId, InputFile, InputMedia, InputMediaPhoto, MessageId},
};
use tokio::{task::JoinHandle, time::Instant};

use super::{HandlerResult, Shared, say, texts};

/// A chat stops following a pairing that has not ended by then (the worker gives up sooner).
const FOLLOW_AT_MOST: Duration = Duration::from_secs(15 * 60);
/// After "connected", how long to wait for the first group sync to report.
const SYNC_WAIT: Duration = Duration::from_secs(120);
/// Events read per query.
const BATCH: u64 = 100;

/// The pairing each chat follows: at most one, a new /pair replaces it.
#[derive(Default)]
pub(super) struct Pairings {
    by_chat: Mutex<HashMap<ChatId, Following>>,
}

struct Following {
    label: String,
    task: JoinHandle<()>,
}

impl Pairings {
    fn follow(&self, chat: ChatId, label: String, task: JoinHandle<()>) {
        let mut by_chat = self.by_chat.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(previous) = by_chat.insert(chat, Following { label, task }) {
            previous.task.abort();
        }
    }

    /// Stops following in `chat`; the label of the pairing that was still being followed.
    pub(super) fn cancel(&self, chat: ChatId) -> Option<String> {
        let following = self
            .by_chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&chat)?;
        let running = !following.task.is_finished();
        following.task.abort();
        running.then_some(following.label)
    }

    /// Followers only read events and send messages, so cutting them off loses nothing.
    pub(super) fn stop_all(&self) {
        for (_, following) in self
            .by_chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            following.task.abort();
        }
    }
}

/// `/pair <label> [+phone]`: adds the account when it is new (on the configured provider), then
/// pairs it, by code on that phone when a number is given.
pub(super) async fn pair_by_label(
    shared: &Arc<Shared>,
    bot: &Bot,
    chat: ChatId,
    operator_id: i64,
    label: &AccountLabel,
    phone: Option<PhoneNumber>,
) -> HandlerResult {
    let db = &shared.db;
    let (account, added) = match account_store::find_by_label(db, operator_id, label).await? {
        Some(account) => (account, false),
        None => {
            match account_store::add(db, Actor::Telegram, operator_id, label, shared.provider).await
            {
                Ok(account) => (account, true),
                // Added elsewhere a moment ago: pair that one.
                Err(AddError::Taken(_)) => {
                    match account_store::find_by_label(db, operator_id, label).await? {
                        Some(account) => (account, false),
                        None => anyhow::bail!("account {label:?} vanished while being added"),
                    }
                }
                Err(AddError::Db(e)) => return Err(e.into()),
            }
        }
    };
    begin(shared, bot, chat, operator_id, account, added, phone).await?;
    Ok(())
}

/// Asks the worker to pair `account` (by code on `phone`, or by QR code) and follows the pairing
/// in `chat`. Tells the chat what happened and returns the same words (a button press echoes
/// them). A connected account is refused: re-pairing it would silently drop a working session.
pub(super) async fn begin(
    shared: &Arc<Shared>,
    bot: &Bot,
    chat: ChatId,
    operator_id: i64,
    account: Account,
    added: bool,
    phone: Option<PhoneNumber>,
) -> anyhow::Result<String> {
    let label = account.label.clone();
    if account.status == AccountStatus::Connected {
        let text = texts::already_connected(&label);
        say(bot, chat, text.clone()).await?;
        return Ok(text);
    }
    // Read the cursor before asking, so none of this pairing's events can be missed.
    let cursor = events::latest_id(&shared.db).await?;
    let requested = account_store::request(
        &shared.db,
        Actor::Telegram,
        operator_id,
        &Command::Pair {
            account_id: account.id,
            phone: phone.clone(),
        },
    )
    .await?;
    if requested.is_none() {
        let text = texts::unknown_account(&label);
        say(bot, chat, text.clone()).await?;
        return Ok(text);
    }
    let text = texts::pairing_started(&label, added, phone.as_ref());
    say(bot, chat, text.clone()).await?;
    let follower = Follower {
        shared: shared.clone(),
        bot: bot.clone(),
        chat,
        operator_id,
        account_id: account.id,
        label: label.clone(),
        by_phone: phone.is_some(),
        photo: None,
        code: None,
    };
    let task = tokio::spawn(follower.run(cursor));
    shared.pairings.follow(chat, label, task);
    Ok(text)
}

/// One chat following one account's pairing.
struct Follower {
    shared: Arc<Shared>,
    bot: Bot,
    chat: ChatId,
    operator_id: i64,
    account_id: i64,
    label: String,
    /// Asked for a code: QR codes the session shows meanwhile are not what was asked for.
    by_phone: bool,
    /// The QR photo message, once sent; rotations edit it.
    photo: Option<MessageId>,
    /// The pairing code's message, once sent; a new code edits it.
    code: Option<MessageId>,
}

impl Follower {
    async fn run(mut self, mut cursor: i64) {
        let mut waker = self.shared.events.clone();
        let mut phase = Phase::Idle;
        let mut connected = false;
        let mut deadline = Instant::now() + FOLLOW_AT_MOST;
        loop {
            let batch = match events::after(&self.shared.db, self.operator_id, cursor, BATCH).await
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(account_id = self.account_id, error = %e, "reading pairing events failed");
                    Vec::new()
                }
            };
            let full = batch.len() as u64 == BATCH;
            let mine: Vec<Event> = batch
                .into_iter()
                .inspect(|stored| cursor = stored.id)
                .map(|stored| stored.event)
                .filter(|event| event.account_id() == self.account_id)
                .collect();
            for (index, event) in mine.iter().enumerate() {
                if connected {
                    if let Event::GroupsSynced { total, .. } = event {
                        self.say(texts::synced(*total)).await;
                        return;
                    }
                    continue;
                }
                let next = phase.clone().apply(event);
                if next == phase {
                    continue;
                }
                phase = next;
                match &phase {
                    Phase::Qr { expires_at, .. } => {
                        // A code already replaced within this batch is not worth showing.
                        let superseded = mine[index + 1..]
                            .iter()
                            .any(|later| matches!(later, Event::Qr { .. }));
                        if !superseded && !self.by_phone {
                            self.show_qr(*expires_at).await;
                        }
                    }
                    // Pairing by phone number (from here, the dashboard or the terminal).
                    Phase::PairCode { code, expires_at } => {
                        let secs = (*expires_at - Utc::now()).num_seconds().max(0);
                        self.show_code(texts::pair_code(&self.label, code, secs))
                            .await;
                    }
                    Phase::Connected { phone } => {
                        self.say(texts::connected(&self.label, phone)).await;
                        connected = true;
                        deadline = Instant::now() + SYNC_WAIT;
                    }
                    Phase::TimedOut => return self.say(texts::TIMED_OUT.to_owned()).await,
                    Phase::Duplicate { existing_label } => {
                        return self
                            .say(texts::duplicate(&self.label, existing_label))
                            .await;
                    }
                    Phase::Failed { message } => {
                        return self.say(texts::pairing_failed(&self.label, message)).await;
                    }
                    // Unpaired while pairing: someone cancelled it (dashboard, /unpair).
                    Phase::Idle => return self.say(texts::pairing_abandoned(&self.label)).await,
                    Phase::Waiting | Phase::Linking => {}
                }
            }
            if full {
                continue;
            }
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                () = waker.wait() => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// Shows the account's current code: a new photo the first time, then the same message
    /// edited (a new photo is sent if the old one cannot be edited, e.g. it was deleted).
    async fn show_qr(&mut self, expires_at: DateTime<Utc>) {
        let png = match account_store::find(&self.shared.db, self.operator_id, self.account_id)
            .await
        {
            Ok(Some(account)) => account.last_qr_png,
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(account_id = self.account_id, error = %e, "reading the QR code failed");
                None
            }
        };
        // Already scanned or replaced: the next event says which.
        let Some(png) = png else { return };
        let secs = (expires_at - Utc::now()).num_seconds().max(0);
        let caption = texts::scan_caption(&self.label, secs);
        if let Some(message_id) = self.photo {
            let media = InputMedia::Photo(
                InputMediaPhoto::new(InputFile::memory(png.clone()).file_name("qr.png"))
                    .caption(caption.clone()),
            );
            match self
                .bot
                .edit_message_media(self.chat, message_id, media)
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(account_id = self.account_id, error = %e, "editing the QR photo failed; sending a new one");
                }
            }
        }
        match self
            .bot
            .send_photo(self.chat, InputFile::memory(png).file_name("qr.png"))
            .caption(caption)
            .await
        {
            Ok(message) => self.photo = Some(message.id),
            Err(e) => {
                tracing::warn!(account_id = self.account_id, error = %e, "sending the QR photo failed");
            }
        }
    }

    /// Shows the pairing code: a message the first time, then the same message edited.
    async fn show_code(&mut self, text: String) {
        if let Some(message_id) = self.code {
            match self
                .bot
                .edit_message_text(self.chat, message_id, text.clone())
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(account_id = self.account_id, error = %e, "editing the pairing code failed; sending it again");
                }
            }
        }
        match say(&self.bot, self.chat, text).await {
            Ok(message) => self.code = Some(message.id),
            Err(e) => {
                tracing::warn!(account_id = self.account_id, error = %e, "sending the pairing code failed");
            }
        }
    }

    async fn say(&self, text: String) {
        if let Err(e) = say(&self.bot, self.chat, text).await {
            tracing::warn!(account_id = self.account_id, error = %e, "sending a pairing update failed");
        }
    }
}
