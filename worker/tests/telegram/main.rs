//! The Telegram bot end to end: the real teloxide client talks to a fake Bot API, and the whole
//! worker runs in-process on the simulator. Each test checks what reached Telegram, and what
//! changed (or did not) in the database.

mod access;
mod alerts;
mod bot_commands;

use std::{sync::Arc, time::Duration};

use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, Provider},
};
use entity::{audit_log, whatsapp_accounts};
use runtime::config::TelegramUserId;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use service::{accounts, audit::Actor, operators};
use testkit::{TestDb, fake_bot_api::FakeBotApi};
use tokio::sync::oneshot;
use worker::provider::sim::SimProvider;

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
