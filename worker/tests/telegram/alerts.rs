//! Alerts reach the operator once: through Telegram outages and worker restarts, with buttons
//! that act on a paused run, and summarised after a long outage.

use std::time::Duration;

use chrono::Utc;
use domain::{
    bus::Event,
    status::{AccountStatus, RunStatus, TargetStatus},
};
use entity::{commands, reminder_run_targets, reminder_runs};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use service::bus::events;
use testkit::TestDb;
use worker::provider::sim::Fault;

use crate::{Harness, OPERATOR, TOKEN, add_account, wait, whitelisted};

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

/// The words that mark an alert sent again because its first sending's fate is unknown.
const REPEAT_MARK: &str = "may repeat an earlier message";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_cut_off_after_telegram_took_it_goes_again_marked_never_plain_twice() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let operator_id = bot.operator_id;
    let bakery = bot.add("Bakery").await;
    // Telegram takes the message and the answer never comes back; the worker stops in the
    // meantime (its bot is cut off mid-send, as a crash would cut it).
    bot.api.swallow("sendMessage");
    publish_missed(&bot.db, operator_id, bakery, "Cut off").await;
    bot.wait_delivered("the alert Telegram took", "“Cut off” was missed")
        .await;
    let api = bot.api.clone();
    bot.stop().await;
    api.heal("sendMessage");

    let bot = Harness::start_with(&test, api).await;
    bot.wait_delivered("the alert sent again", REPEAT_MARK)
        .await;
    publish_missed(&test.db, operator_id, bakery, "Afterwards").await;
    bot.wait_delivered("the next alert", "“Afterwards” was missed")
        .await;
    settle().await;
    let sent = bot.api.delivered(OPERATOR);
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(
        sent[0].contains("“Cut off” was missed") && !sent[0].contains(REPEAT_MARK),
        "{sent:#?}"
    );
    assert!(
        sent[1].contains("“Cut off” was missed") && sent[1].contains(REPEAT_MARK),
        "the second copy says it may repeat the first: {sent:#?}"
    );
    assert!(
        !sent[2].contains(REPEAT_MARK),
        "a later alert goes as usual: {sent:#?}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_whose_answer_was_garbled_is_only_ever_sent_again_marked() {
    let test = TestDb::new().await;
    let bot = Harness::start(&test).await;
    let operator_id = bot.operator_id;
    let bakery = bot.add("Bakery").await;
    bot.api.garble("sendMessage");
    publish_missed(&bot.db, operator_id, bakery, "Garbled").await;
    // The immediate retry and a held retry after it, all while Telegram's answers are garbage.
    wait("three attempts", || async {
        (bot.delivered_count("“Garbled” was missed") >= 3).then_some(())
    })
    .await;
    bot.api.heal("sendMessage");
    publish_missed(&bot.db, operator_id, bakery, "Healed").await;
    bot.wait_delivered(
        "the alert after the answers came back",
        "“Healed” was missed",
    )
    .await;
    settle().await;
    let sent = bot.api.delivered(OPERATOR);
    let garbled: Vec<&String> = sent.iter().filter(|t| t.contains("“Garbled”")).collect();
    assert!(
        !garbled[0].contains(REPEAT_MARK) && garbled[1..].iter().all(|t| t.contains(REPEAT_MARK)),
        "sent plain once, then only marked: {sent:#?}"
    );
    assert_eq!(
        bot.delivered_count("“Healed” was missed"),
        1,
        "the garbled alert is settled and the next one goes once: {sent:#?}"
    );
    assert!(!sent.last().unwrap().contains(REPEAT_MARK), "{sent:#?}");
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
