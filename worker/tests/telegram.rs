//! The Telegram bot end to end: the real teloxide client talks to a fake Bot API, and the whole
//! worker runs in-process on the simulator. Each test checks what reached Telegram, and what
//! changed (or did not) in the database.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use domain::{
    account::AccountLabel,
    bus::{Command, Event},
    status::{AccountStatus, Provider, RunStatus, TargetStatus},
};
use entity::{
    audit_log, commands, login_tokens, reminder_run_targets, reminder_runs, whatsapp_accounts,
};
use runtime::config::TelegramUserId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use service::{
    accounts,
    audit::Actor,
    bus::events,
    login_links::{self, Refusal},
    operators,
};
use testkit::{TestDb, fake_bot_api::FakeBotApi};
use tokio::sync::oneshot;
use worker::provider::sim::{Fault, SimProvider, default_phone};

// Shaped like a real token (the configuration checks the shape), and good for the fake only.
const TOKEN: &str = "123456:TEST-token-for-the-fake-bot-api";
const OPERATOR: i64 = 42;
const OUTSIDER: i64 = 7;
const REFUSAL: &str = "Sorry, this bot is private.";

struct Harness {
    api: Arc<FakeBotApi>,
    db: DatabaseConnection,
    sim: std::sync::Arc<SimProvider>,
    operator_id: i64,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    async fn start(test: &TestDb) -> Self {
        Self::start_with(test, Arc::new(FakeBotApi::start(TOKEN).await)).await
    }

    /// A worker talking to `api`, which may have served an earlier worker on the same database:
    /// a restart keeps what Telegram already saw.
    async fn start_with(test: &TestDb, api: Arc<FakeBotApi>) -> Self {
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
        add_account(&self.db, self.operator_id, label).await
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

    /// Waits until Telegram accepted a message to the operator containing `needle`.
    async fn wait_delivered(&self, what: &str, needle: &str) {
        wait(what, || async {
            (self.delivered_count(needle) > 0).then_some(())
        })
        .await;
    }

    /// How many messages containing `needle` Telegram accepted for the operator.
    fn delivered_count(&self, needle: &str) -> usize {
        self.api
            .delivered(OPERATOR)
            .iter()
            .filter(|t| t.contains(needle))
            .count()
    }

    async fn audit_rows(&self, action: &str) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .all(&self.db)
            .await
            .unwrap()
    }
}

async fn add_account(db: &DatabaseConnection, operator_id: i64, label: &str) -> i64 {
    accounts::add(
        db,
        Actor::Operator,
        operator_id,
        &AccountLabel::parse(label).unwrap(),
        Provider::Sim,
    )
    .await
    .unwrap()
    .id
}

/// The whitelisted operator, created as the server does before any worker has run.
async fn whitelisted(db: &DatabaseConnection) -> i64 {
    operators::sync_whitelist(
        db,
        &[TelegramUserId(OPERATOR)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    operators::find_active_by_telegram_id(db, OPERATOR)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Publishes that `reminder` was missed once, as the worker does for an occurrence it was not
/// running for.
async fn publish_missed(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    reminder: &str,
) {
    let at = Utc::now();
    let event = Event::Missed {
        account_id,
        reminder_id: 1,
        reminder_name: reminder.to_owned(),
        occurrences: 1,
        first: at,
        last: at,
    };
    events::publish(db, Some(operator_id), &event)
        .await
        .unwrap();
}

/// A send a stopped worker left `sending`: the next start reports its fate as unknown.
async fn strand_a_send(db: &DatabaseConnection, operator_id: i64, account_id: i64) {
    let claimed = Utc::now() - chrono::Duration::hours(1);
    let run = reminder_runs::ActiveModel {
        reminder_name: Set("Opening hours".to_owned()),
        account_id: Set(Some(account_id)),
        operator_id: Set(Some(operator_id)),
        occurrence_at: Set(claimed),
        status: Set(RunStatus::Running),
        started_at: Set(Some(claimed)),
        created_at: Set(claimed),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    reminder_run_targets::ActiveModel {
        run_id: Set(run.id),
        group_jid: Set("120363000000000001@g.us".to_owned()),
        group_name: Set("Front desk".to_owned()),
        status: Set(TargetStatus::Sending),
        attempts: Set(1),
        parts_sent: Set(0),
        claimed_at: Set(Some(claimed)),
        created_at: Set(claimed),
        updated_at: Set(claimed),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

/// Gives a late or repeated message the time to show up before counting.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
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
async fn an_alert_telegram_refuses_is_audited_once_and_arrives_when_telegram_is_back() {
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
    assert_eq!(failed[0].operator_id, Some(bot.operator_id));
    let detail = failed[0].detail.as_ref().unwrap();
    assert_eq!(detail["kind"], "session.logged_out");
    assert_eq!(detail["account_id"], bakery);
    assert!(!detail["error"].as_str().unwrap().contains(TOKEN));

    // Held, not dropped: tried again later, and audited once however often it fails.
    wait("the alert to be tried again", || async {
        (bot.api.calls("sendMessage").len() >= 4).then_some(())
    })
    .await;
    assert_eq!(bot.audit_rows("telegram.alert_failed").await.len(), 1);

    bot.api.heal("sendMessage");
    bot.wait_delivered("the held alert", "Bakery was logged out")
        .await;
    settle().await;
    assert_eq!(bot.delivered_count("Bakery was logged out"), 1);
    assert_eq!(bot.audit_rows("telegram.alert_failed").await.len(), 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_raised_while_the_worker_was_down_or_starting_arrive_once() {
    let test = TestDb::new().await;
    let operator_id = whitelisted(&test.db).await;
    let bakery = add_account(&test.db, operator_id, "Bakery").await;
    publish_missed(&test.db, operator_id, bakery, "Class").await;
    strand_a_send(&test.db, operator_id, bakery).await;

    let bot = Harness::start(&test).await;
    bot.wait_delivered("the alert raised while down", "“Class” was missed")
        .await;
    bot.wait_delivered(
        "the alert the start-up raised",
        "“Opening hours”: the send to Front desk was interrupted",
    )
    .await;
    settle().await;
    assert_eq!(bot.delivered_count("“Class” was missed"), 1);
    assert_eq!(bot.delivered_count("the send to Front desk"), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_send_no_alert_twice_and_catch_up_on_those_raised_while_down() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let operator_id = bot.operator_id;
    let bakery = bot.add("Bakery").await;
    publish_missed(&bot.db, operator_id, bakery, "Before").await;
    bot.wait_delivered("the alert raised while running", "“Before” was missed")
        .await;
    let api = bot.api.clone();
    bot.stop().await;

    publish_missed(&test.db, operator_id, bakery, "Meanwhile").await;
    let bot = Harness::start_with(&test, api).await;
    bot.wait_delivered("the alert raised while down", "“Meanwhile” was missed")
        .await;
    let api = bot.api.clone();
    bot.stop().await;

    // Nothing new: a start sends nothing at all.
    let bot = Harness::start_with(&test, api).await;
    wait("the third start's bot to be up", || async {
        (bot.api.calls("setMyCommands").len() == 3).then_some(())
    })
    .await;
    settle().await;
    let sent = bot.api.delivered(OPERATOR);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(bot.delivered_count("“Before” was missed"), 1);
    assert_eq!(bot.delivered_count("“Meanwhile” was missed"), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outages_alerts_are_summarised_not_flooded() {
    const RAISED: usize = 300;
    let test = TestDb::new().await;
    let operator_id = whitelisted(&test.db).await;
    let bakery = add_account(&test.db, operator_id, "Bakery").await;
    for i in 1..=RAISED {
        publish_missed(&test.db, operator_id, bakery, &format!("Class {i}")).await;
    }

    let bot = Harness::start(&test).await;
    bot.wait_delivered("the newest alert", &format!("“Class {RAISED}” was missed"))
        .await;
    settle().await;
    let sent = bot.api.delivered(OPERATOR);
    let shown: Vec<&String> = sent.iter().filter(|t| t.contains("was missed")).collect();
    assert!(
        !shown.is_empty() && shown.len() <= 20,
        "a bounded number shown one by one: {sent:#?}"
    );
    assert_eq!(
        sent.len(),
        shown.len() + 1,
        "one summary besides: {sent:#?}"
    );
    let summary = &sent[0];
    assert!(
        summary.contains(&format!("{} earlier alerts", RAISED - shown.len())),
        "the summary comes first and counts the rest: {summary}"
    );
    // The newest ones, in order.
    for (text, i) in shown.iter().zip(RAISED - shown.len() + 1..) {
        assert!(text.contains(&format!("“Class {i}” was missed")), "{text}");
    }
    bot.stop().await;
}
