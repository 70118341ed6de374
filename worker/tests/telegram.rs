//! The Telegram bot end to end: the real teloxide client talks to a fake Bot API, and the whole
//! worker runs in-process on the simulator. Each test checks what reached Telegram, and what
//! changed (or did not) in the database.

mod support;

use std::time::Duration;

use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, Provider},
};
use entity::{audit_log, commands, login_tokens, whatsapp_accounts};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use service::{
    accounts,
    audit::Actor,
    config::TelegramUserId,
    login_links::{self, Refusal},
    operators,
};
use support::fake_bot_api::FakeBotApi;
use testkit::TestDb;
use tokio::sync::oneshot;
use worker::provider::sim::{Fault, SimProvider, default_phone};

// Shaped like a real token (the configuration checks the shape), and good for the fake only.
const TOKEN: &str = "123456:TEST-token-for-the-fake-bot-api";
const OPERATOR: i64 = 42;
const OUTSIDER: i64 = 7;
const REFUSAL: &str = "Sorry, this bot is private.";

struct Harness {
    api: FakeBotApi,
    db: DatabaseConnection,
    sim: std::sync::Arc<SimProvider>,
    operator_id: i64,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    async fn start(test: &TestDb) -> Self {
        let api = FakeBotApi::start(TOKEN).await;
        let config = testkit::config(&[
            ("DATABASE_URL", test.url.expose()),
            ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
            ("PUBLIC_URL", "http://herald.test"),
            ("WA_PROVIDER", "sim"),
            // First QR code 3 s, then one every second: rotations are quick to observe.
            ("SIM_TIME_SCALE", "0.05"),
            ("SIM_GROUP_COUNT", "5"),
            ("SIM_SEND_LATENCY_MS", "0"),
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", &api.url),
            ("TELEGRAM_ALLOWED_USER_IDS", "42"),
            ("RUST_LOG", "warn"),
        ]);
        let worker = worker::Worker::start(config).await.expect("worker starts");
        let sim = worker.sim();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run_until_stopped(async {
            let _ = stopped.await;
        }));
        // The worker mirrored the whitelist itself.
        let operator_id = operators::find_active_by_telegram_id(&test.db, OPERATOR)
            .await
            .unwrap()
            .expect("the whitelisted operator exists")
            .id;
        Self {
            api,
            db: test.db.clone(),
            sim,
            operator_id,
            stop: Some(stop),
            stopped: Some(task),
        }
    }

    /// Stops the worker and checks the stop is prompt (the bot never holds it up).
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let stopped = tokio::time::timeout(Duration::from_secs(20), self.stopped.take().unwrap())
            .await
            .expect("the worker stops promptly");
        stopped.unwrap().unwrap();
    }

    async fn add(&self, label: &str) -> i64 {
        accounts::add(
            &self.db,
            Actor::Operator,
            self.operator_id,
            &AccountLabel::parse(label).unwrap(),
            Provider::Sim,
        )
        .await
        .unwrap()
        .id
    }

    async fn account(&self, account_id: i64) -> whatsapp_accounts::Model {
        accounts::find(&self.db, self.operator_id, account_id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Pairs an account the way the dashboard does (not through the bot).
    async fn pair_directly(&self, account_id: i64) {
        accounts::request(
            &self.db,
            Actor::Operator,
            self.operator_id,
            &Command::Pair {
                account_id,
                phone: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
        wait("a QR code to scan", || async {
            self.sim.scan(account_id, None).ok()
        })
        .await;
        wait("the account to connect", || async {
            (self.account(account_id).await.status == AccountStatus::Connected).then_some(())
        })
        .await;
    }

    async fn audit_rows(&self, action: &str) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .all(&self.db)
            .await
            .unwrap()
    }
}

/// Polls `check` every 20 ms for at most 20 s.
async fn wait<T, F, Fut>(what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_are_refused_and_audited_and_nothing_changes() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let account_id = bot.add("Bakery").await;
    let commands_before = commands::Entity::find().count(&bot.db).await.unwrap();

    bot.api.message(OUTSIDER, "/login");
    bot.api.message(OUTSIDER, "/pair Bakery");
    bot.api.press(OUTSIDER, &format!("pair:{account_id}"));
    bot.api
        .wait_for("answerCallbackQuery", "the refused button", |c| {
            c.params["text"] == REFUSAL
        })
        .await;
    wait("two refusal messages", || async {
        let refusals = bot
            .api
            .calls("sendMessage")
            .into_iter()
            .filter(|c| c.chat_id() == Some(OUTSIDER))
            .collect::<Vec<_>>();
        (refusals.len() == 2).then_some(refusals)
    })
    .await
    .iter()
    .for_each(|c| assert_eq!(c.text(), REFUSAL));

    let refused = bot.audit_rows("telegram.refused").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    for row in &refused {
        assert_eq!(row.actor, "telegram");
        assert_eq!(row.operator_id, None);
        assert_eq!(row.detail.as_ref().unwrap()["telegram_user_id"], OUTSIDER);
    }
    // Nothing else happened: no link, no new account, no command, nothing sent to anyone else.
    assert_eq!(
        login_tokens::Entity::find().count(&bot.db).await.unwrap(),
        0
    );
    assert_eq!(
        accounts::list(&bot.db, bot.operator_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        commands::Entity::find().count(&bot.db).await.unwrap(),
        commands_before
    );
    assert!(bot.api.calls("sendPhoto").is_empty());
    assert!(
        bot.api
            .calls("sendMessage")
            .iter()
            .all(|c| c.chat_id() == Some(OUTSIDER))
    );

    // Taken off the whitelist: refused at the very next message, no restart needed.
    operators::sync_whitelist(
        &bot.db,
        &[TelegramUserId(99)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    bot.api.message(OPERATOR, "/login");
    bot.api
        .wait_text(OPERATOR, "the removed operator refused", |t| t == REFUSAL)
        .await;
    assert_eq!(
        login_tokens::Entity::find().count(&bot.db).await.unwrap(),
        0
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sends_a_link_the_server_redeems_exactly_once() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    bot.api.message(OPERATOR, "/login");
    let sent = bot
        .api
        .wait_text(OPERATOR, "the login link", |t| {
            t.contains("http://herald.test/login/")
        })
        .await;
    assert_eq!(
        sent.params["link_preview_options"]["is_disabled"], true,
        "a preview would make Telegram fetch the one-time link"
    );
    let token = sent
        .text()
        .split("http://herald.test/login/")
        .nth(1)
        .unwrap()
        .trim();
    let operator = login_links::redeem(&bot.db, token).await.expect("redeemed");
    assert_eq!(operator.id, bot.operator_id);
    assert!(matches!(
        login_links::redeem(&bot.db, token).await,
        Err(login_links::RedeemError::Refused(Refusal::AlreadyUsed))
    ));
    let issued = bot.audit_rows("login_link.issued").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].actor, "telegram");
    assert_eq!(issued[0].operator_id, Some(bot.operator_id));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_shows_a_qr_photo_edited_on_rotation_then_connects() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    bot.api.message(OPERATOR, "/pair Bakery");
    bot.api
        .wait_text(OPERATOR, "pairing started", |t| {
            t.contains("Pairing Bakery")
        })
        .await;
    let photo = bot
        .api
        .wait_for("sendPhoto", "the QR photo", |c| {
            c.chat_id() == Some(OPERATOR)
                && c.caption()
                    .is_some_and(|t| t.starts_with("Scan with WhatsApp on Bakery — expires in "))
        })
        .await;
    assert!(photo.has_photo, "the PNG travels as a photo part");
    let photo_id = photo.message_id.unwrap();
    // The account was created on the configured provider.
    let account = accounts::find_by_label(
        &bot.db,
        bot.operator_id,
        &AccountLabel::parse("Bakery").unwrap(),
    )
    .await
    .unwrap()
    .expect("/pair created the account");
    assert_eq!(account.provider, Provider::Sim);

    let edit = bot
        .api
        .wait_for("editMessageMedia", "the rotated QR code", |c| {
            c.message_id == Some(photo_id)
        })
        .await;
    assert!(edit.has_photo, "the edit carries the new code");
    assert_eq!(edit.chat_id(), Some(OPERATOR));
    assert!(
        edit.caption()
            .is_some_and(|t| t.starts_with("Scan with WhatsApp on Bakery — expires in ")),
        "{edit:?}"
    );
    assert_eq!(edit.params["media"]["type"], "photo");
    assert_eq!(
        bot.api.calls("sendPhoto").len(),
        1,
        "rotations edit the same message"
    );

    wait("a QR code to scan", || async {
        bot.sim.scan(account.id, None).ok()
    })
    .await;
    let phone = default_phone(account.id);
    bot.api
        .wait_text(OPERATOR, "connected", |t| {
            t == format!("✅ Bakery connected as +{phone}")
        })
        .await;
    bot.api
        .wait_text(OPERATOR, "groups synced", |t| t == "Synced 5 groups")
        .await;

    // A connected account is not paired again.
    bot.api.message(OPERATOR, "/pair Bakery");
    bot.api
        .wait_text(OPERATOR, "refusal", |t| {
            t == "Bakery is already connected — /unpair it first"
        })
        .await;
    assert_eq!(
        bot.account(account.id).await.status,
        AccountStatus::Connected
    );
    let pair_requests = bot.audit_rows("account.pair_requested").await;
    assert_eq!(
        pair_requests.len(),
        1,
        "only the first /pair queued a pairing"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_and_malformed_ones_get_a_hint() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;

    let registered = bot
        .api
        .wait_for("setMyCommands", "the command menu", |_| true)
        .await;
    let names: Vec<&str> = registered.params["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "help",
            "login",
            "pair",
            "unpair",
            "accounts",
            "reminders",
            "cancel"
        ]
    );

    for (sent, expected) in [
        ("/pair", "Usage: /pair <account name>, e.g. /pair Bakery"),
        (
            "/unpair   ",
            "Usage: /unpair <account name>, e.g. /unpair Bakery",
        ),
        (
            "/unpair Nowhere",
            "No account called Nowhere — /accounts lists them.",
        ),
        ("/cancel", "No pairing is being followed in this chat."),
        ("/reminders", "No reminders are scheduled."),
        (
            "/frobnicate",
            "I don't know that one — /help lists what I can do.",
        ),
    ] {
        bot.api.message(OPERATOR, sent);
        bot.api.wait_text(OPERATOR, sent, |t| t == expected).await;
    }
    let long = format!("/pair {}", "x".repeat(65));
    bot.api.message(OPERATOR, &long);
    bot.api
        .wait_text(OPERATOR, "a too-long label", |t| {
            t.starts_with("Account name: use at most 64 characters")
                && t.ends_with("Usage: /pair <account name>")
        })
        .await;
    bot.api.message(OPERATOR, "/help");
    bot.api
        .wait_text(OPERATOR, "help", |t| {
            t.contains("/pair — <name>") && t.contains("/login — ")
        })
        .await;
    assert!(
        accounts::list(&bot.db, bot.operator_id)
            .await
            .unwrap()
            .is_empty()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lists_statuses_with_buttons_that_answer() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let bakery = bot.add("Bakery").await;
    let yoga = bot.add("Yoga").await;
    bot.pair_directly(bakery).await;

    bot.api.message(OPERATOR, "/accounts");
    let listing = bot
        .api
        .wait_text(OPERATOR, "the account list", |t| {
            t.starts_with("Your accounts:")
        })
        .await;
    let phone = default_phone(bakery);
    assert!(
        listing
            .text()
            .contains(&format!("Bakery (simulated) — 🟢 connected as +{phone}")),
        "{}",
        listing.text()
    );
    assert!(listing.text().contains("Yoga (simulated) — ⚪ not paired"));
    let buttons: Vec<(String, String)> = listing.params["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .map(|b| {
            (
                b["text"].as_str().unwrap().to_owned(),
                b["callback_data"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        buttons,
        [
            ("Unpair Bakery".to_owned(), format!("unpair:{bakery}")),
            ("Pair Yoga".to_owned(), format!("pair:{yoga}")),
        ]
    );

    // Pressing "Pair Yoga" starts following its pairing in the chat.
    bot.api.press(OPERATOR, &format!("pair:{yoga}"));
    bot.api
        .wait_for("answerCallbackQuery", "the pair button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("Pairing Yoga"))
        })
        .await;
    bot.api
        .wait_for("sendPhoto", "Yoga's QR photo", |c| {
            c.caption()
                .is_some_and(|t| t.starts_with("Scan with WhatsApp on Yoga"))
        })
        .await;
    bot.api.message(OPERATOR, "/cancel");
    bot.api
        .wait_text(OPERATOR, "cancel", |t| {
            t == "Stopped following the pairing of Yoga here."
        })
        .await;

    // Pressing "Unpair Bakery" queues the unpair; the worker carries it out.
    bot.api.press(OPERATOR, &format!("unpair:{bakery}"));
    bot.api
        .wait_for("answerCallbackQuery", "the unpair button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Unpairing Bakery"))
        })
        .await;
    wait("Bakery to be unpaired", || async {
        (bot.account(bakery).await.status == AccountStatus::Unpaired).then_some(())
    })
    .await;

    // A stale or forged button is answered, and does nothing.
    bot.api.press(OPERATOR, "unpair:999999");
    bot.api
        .wait_for("answerCallbackQuery", "the stale button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("That button no longer applies"))
        })
        .await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_operator() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let bakery = bot.add("Bakery").await;
    bot.pair_directly(bakery).await;

    bot.sim.inject(bakery, Fault::LogOut).unwrap();
    bot.api
        .wait_text(OPERATOR, "the logged-out alert", |t| {
            t.starts_with("⚠️ Bakery was logged out of WhatsApp") && t.contains("/pair Bakery")
        })
        .await;
    // Pairing and connecting raise no alerts: only the one message went out.
    assert_eq!(bot.api.calls("sendMessage").len(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_telegram_refuses_is_retried_once_then_audited() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let bakery = bot.add("Bakery").await;
    bot.pair_directly(bakery).await;
    bot.api.fail("sendMessage");

    bot.sim.inject(bakery, Fault::LogOut).unwrap();
    let failed = wait("the failed alert's audit row", || async {
        let rows = bot.audit_rows("telegram.alert_failed").await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].operator_id, Some(bot.operator_id));
    let detail = failed[0].detail.as_ref().unwrap();
    assert_eq!(detail["kind"], "session.logged_out");
    assert_eq!(detail["account_id"], bakery);
    assert!(!detail["error"].as_str().unwrap().contains(TOKEN));

    // Exactly two attempts, and no third however long we look.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let attempts = bot.api.calls("sendMessage");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts
            .iter()
            .all(|c| !c.ok && c.chat_id() == Some(OPERATOR))
    );

    // The worker carries on: once Telegram is back, the bot answers again.
    bot.api.heal("sendMessage");
    bot.api.message(OPERATOR, "/help");
    bot.api
        .wait_text(OPERATOR, "help after the outage", |t| {
            t.starts_with("Herald")
        })
        .await;
    assert_eq!(bot.account(bakery).await.status, AccountStatus::LoggedOut);
    bot.stop().await;
}

#[tokio::test]
async fn a_paused_runs_alert_offers_resume_and_cancel_buttons_that_work() {
    use chrono::Utc;
    use domain::{bus::Event, run::RunCounts, status::RunStatus};
    use entity::reminder_runs;
    use sea_orm::{ActiveModelTrait, Set};

    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let bakery = bot.add("Bakery").await;
    // A run the send window paused, as delivery leaves it.
    let run = reminder_runs::ActiveModel {
        reminder_name: Set("Opening hours".to_owned()),
        account_id: Set(Some(bakery)),
        operator_id: Set(Some(bot.operator_id)),
        occurrence_at: Set(Utc::now()),
        status: Set(RunStatus::Paused),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&bot.db)
    .await
    .unwrap();
    let counts = RunCounts {
        sent: 3,
        pending: 2,
        ..Default::default()
    };
    let alert = Event::RunAlert {
        account_id: bakery,
        run_id: run.id,
        reminder_id: None,
        reminder_name: "Opening hours".to_owned(),
        status: RunStatus::Paused,
        counts,
    };
    service::bus::events::publish(&bot.db, Some(bot.operator_id), &alert)
        .await
        .unwrap();

    let message = bot
        .api
        .wait_text(OPERATOR, "the paused alert", |t| {
            t.starts_with("⏸ “Opening hours” paused")
        })
        .await;
    let buttons: Vec<String> = message.params["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["callback_data"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        buttons,
        [format!("resume:{}", run.id), format!("cancel:{}", run.id)]
    );

    bot.api.press(OPERATOR, &format!("resume:{}", run.id));
    bot.api
        .wait_for("answerCallbackQuery", "the resume button", |c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Resuming"))
        })
        .await;
    let queued = commands::Entity::find()
        .filter(commands::Column::Kind.eq("run.resume"))
        .count(&bot.db)
        .await
        .unwrap();
    assert_eq!(
        queued, 1,
        "the resume goes to the worker as the dashboard's would"
    );
    assert_eq!(bot.audit_rows("run.resumed").await.len(), 1);
    bot.stop().await;
}
