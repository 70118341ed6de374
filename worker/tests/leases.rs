//! Several real worker processes on PostgreSQL sharing accounts by leases
//! (docs/architecture.md, "Several workers: leases"): each account runs in at most one worker at
//! a time and every account runs somewhere; a killed worker's accounts move and its run
//! completes with no group sent twice; a worker paused past its lease claims nothing when it
//! wakes; a rolling restart loses and repeats nothing; alerts reach Telegram once.
//!
//! Counted where the outside world sees it: the simulator's connections per account
//! (`sim_connections`, and `sim_overlaps` for a connection replaced while live) and its outbox
//! (`sim_messages`), and the fake Bot API's calls.

mod fleet;

use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use domain::status::{AccountStatus, RunStatus, TargetStatus};
use entity::{
    reminder_run_targets, reminder_runs, sim_connections, sim_messages, whatsapp_accounts,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use testkit::{TestDb, eventually, fake_bot_api::FakeBotApi};

use fleet::{
    Worker, assert_each_part_once, assert_no_overlap, finished_run, holders, paired_accounts,
    postgres_only, reminder_now, run_targets,
};

#[tokio::test]
async fn three_workers_share_thirty_accounts_each_running_in_exactly_one() {
    let test = TestDb::new().await;
    if !postgres_only(&test) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let a = Worker::start(&test, data.path(), "a", &[]).await;
    let b = Worker::start(&test, data.path(), "b", &[]).await;
    let c = Worker::start(&test, data.path(), "c", &[]).await;
    let (_, ids) = paired_accounts(db, 30).await;
    let all: BTreeSet<i64> = ids.iter().copied().collect();

    let shares = eventually("a fair share each", || async {
        let held = holders(&[&a, &b, &c]).await?;
        held.iter().all(|h| h.len() == 10).then_some(held)
    })
    .await;
    // Watched for a while, at every look: disjoint, covering, one live connection each.
    for _ in 0..20 {
        let held = holders(&[&a, &b, &c]).await.expect("all answer");
        let union: BTreeSet<i64> = held.iter().flatten().copied().collect();
        assert_eq!(
            held.iter().map(BTreeSet::len).sum::<usize>(),
            30,
            "{held:?}"
        );
        assert_eq!(union, all, "every account runs somewhere");
        let connections = sim_connections::Entity::find().all(db).await.unwrap();
        assert_eq!(connections.len(), 30);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        holders(&[&a, &b, &c]).await.unwrap(),
        shares,
        "no churn once balanced"
    );
    assert_no_overlap(db).await;
}

#[tokio::test]
async fn a_killed_workers_accounts_move_and_its_run_completes_with_no_group_twice() {
    let test = TestDb::new().await;
    if !postgres_only(&test) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let slow = [("SIM_SEND_LATENCY_MS", "300")];
    let a = Worker::start(&test, data.path(), "a", &slow).await;
    let b = Worker::start(&test, data.path(), "b", &slow).await;
    let (operator_id, ids) = paired_accounts(db, 4).await;
    let held = eventually("two accounts each", || async {
        let held = holders(&[&a, &b]).await?;
        held.iter().all(|h| h.len() == 2).then_some(held)
    })
    .await;
    let account = *held[0].first().unwrap();
    let reminder = reminder_now(db, operator_id, account).await;
    eventually("a few groups sent", || async {
        let run = reminder_runs::Entity::find()
            .filter(reminder_runs::Column::ReminderId.eq(reminder))
            .one(db)
            .await
            .unwrap()?;
        let sent = run_targets(db, run.id)
            .await
            .iter()
            .filter(|t| t.status == TargetStatus::Sent)
            .count();
        (sent >= 3).then_some(())
    })
    .await;
    a.kill();
    let killed_at = tokio::time::Instant::now();

    eventually("the survivor to hold every account", || async {
        let held = b.accounts().await?;
        (held.len() == ids.len()).then_some(())
    })
    .await;
    let run = finished_run(db, reminder).await;
    assert!(
        killed_at.elapsed() < Duration::from_secs(30),
        "failover took {:?}",
        killed_at.elapsed()
    );
    let targets = run_targets(db, run.id).await;
    assert!(
        targets
            .iter()
            .all(|t| matches!(t.status, TargetStatus::Sent | TargetStatus::Unknown)),
        "{targets:#?}"
    );
    assert!(
        targets
            .iter()
            .filter(|t| t.status == TargetStatus::Unknown)
            .count()
            <= 1
    );
    assert_each_part_once(db).await;
    assert_no_overlap(db).await;
}

/// One account and two workers: once the other took the account over, the woken worker has no
/// claim to it (its fair share is taken), so anything it claimed would be a fencing failure.
#[tokio::test]
async fn a_worker_paused_past_its_lease_claims_nothing_when_it_wakes() {
    let test = TestDb::new().await;
    if !postgres_only(&test) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let slow = [("SIM_SEND_LATENCY_MS", "400")];
    let a = Worker::start(&test, data.path(), "a", &slow).await;
    let b = Worker::start(&test, data.path(), "b", &slow).await;
    let (operator_id, ids) = paired_accounts(db, 1).await;
    let account = ids[0];
    let (paused, other) = if a.accounts().await.unwrap().contains(&account) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let instance = paused.instance().await;
    let reminder = reminder_now(db, operator_id, account).await;
    let run = eventually("the run under way", || async {
        let run = reminder_runs::Entity::find()
            .filter(reminder_runs::Column::ReminderId.eq(reminder))
            .one(db)
            .await
            .unwrap()?;
        let sent = run_targets(db, run.id)
            .await
            .iter()
            .any(|t| t.status == TargetStatus::Sent);
        sent.then_some(run)
    })
    .await;

    paused.signal("STOP");
    eventually("the other worker to take the account over", || async {
        other.accounts().await?.contains(&account).then_some(())
    })
    .await;
    // What the paused worker claimed before it stopped: nothing may be added to it.
    let claimed_by_paused = |targets: Vec<reminder_run_targets::Model>| {
        targets
            .into_iter()
            .filter(|t| t.claimed_by.as_deref() == Some(instance.as_str()))
            .map(|t| t.id)
            .collect::<BTreeSet<i64>>()
    };
    let before = claimed_by_paused(run_targets(db, run.id).await);
    paused.signal("CONT");
    let run = finished_run(db, reminder).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The send it was in the middle of may have been handed to the successor since.
    let after = claimed_by_paused(run_targets(db, run.id).await);
    assert!(
        after.is_subset(&before),
        "the woken worker claimed a target of an account it lost: {after:?} ⊄ {before:?}"
    );
    // Every group got its message, but the one whose send the pause cut short: the woken
    // worker cannot know whether it went out, so it is reported unknown, never sent again.
    let targets = run_targets(db, run.id).await;
    let not_sent: Vec<_> = targets
        .iter()
        .filter(|t| t.status != TargetStatus::Sent)
        .collect();
    assert!(not_sent.len() <= 1, "{targets:#?}");
    for t in not_sent {
        assert_eq!(t.status, TargetStatus::Unknown, "{t:#?}");
    }
    assert!(
        paused.accounts().await.unwrap().is_empty(),
        "the woken worker runs nothing"
    );
    let account_row = whatsapp_accounts::Entity::find_by_id(account)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account_row.status,
        AccountStatus::Connected,
        "the woken worker never marks the account it lost disconnected"
    );
    assert_each_part_once(db).await;
    assert_no_overlap(db).await;
}

#[tokio::test]
async fn a_rolling_restart_of_three_workers_mid_run_loses_and_repeats_nothing() {
    let test = TestDb::new().await;
    if !postgres_only(&test) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let pace = [("SIM_SEND_LATENCY_MS", "60")];
    let mut workers = Vec::new();
    for name in ["a", "b", "c"] {
        workers.push(Worker::start(&test, data.path(), name, &pace).await);
    }
    // 30 accounts × 10 groups: a 300-target occurrence.
    let (operator_id, ids) = paired_accounts(db, 30).await;
    let mut reminders = Vec::new();
    for account in &ids {
        reminders.push(reminder_now(db, operator_id, *account).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let old = std::mem::replace(
            &mut workers[i],
            Worker::start(&test, data.path(), &format!("{name}2"), &pace).await,
        );
        old.stop().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut sent = 0;
    for reminder in reminders {
        let run = finished_run(db, reminder).await;
        assert_eq!(run.status, RunStatus::Success, "{run:?}");
        sent += run_targets(db, run.id)
            .await
            .iter()
            .filter(|t| t.status == TargetStatus::Sent)
            .count();
    }
    assert_eq!(sent, 300, "no group lost");
    assert_eq!(
        sim_messages::Entity::find().all(db).await.unwrap().len(),
        600,
        "two parts to each of 300 groups"
    );
    assert_each_part_once(db).await;
    assert_no_overlap(db).await;
}

#[tokio::test]
async fn alerts_reach_telegram_once_with_three_workers() {
    let test = TestDb::new().await;
    if !postgres_only(&test) {
        return;
    }
    const TOKEN: &str = "123456:TEST-token-for-the-fake-bot-api";
    const OPERATOR: i64 = 4242;
    let api = FakeBotApi::start(TOKEN).await;
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let telegram = [
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_API_URL", api.url.as_str()),
        ("TELEGRAM_ALLOWED_USER_IDS", "4242"),
    ];
    let mut workers = Vec::new();
    for name in ["a", "b", "c"] {
        workers.push(Worker::start(&test, data.path(), name, &telegram).await);
    }
    let operator_id = eventually("the whitelisted operator", || async {
        service::operators::active(db)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.telegram_user_id == Some(OPERATOR))
            .map(|o| o.id)
    })
    .await;
    let alert = |i: i64| async move {
        service::bus::events::publish(
            db,
            Some(operator_id),
            &domain::bus::Event::AccountDown {
                account_id: 900 + i,
                label: format!("Line {i}"),
                since: Utc::now(),
            },
        )
        .await
        .unwrap();
    };
    for i in 0..3 {
        alert(i).await;
    }
    for i in 0..3 {
        api.wait_text(OPERATOR, "the alert", |t| t.contains(&format!("Line {i}")))
            .await;
    }

    // The bot's worker dies: another takes the bot over, and what is raised meanwhile and after
    // still arrives, once.
    let mut bot = None;
    for (i, w) in workers.iter().enumerate() {
        if w.singletons().await.iter().any(|s| s == "telegram") {
            bot = Some(i);
        }
    }
    workers.remove(bot.expect("one worker runs the bot")).kill();
    for i in 3..6 {
        alert(i).await;
    }
    for i in 3..6 {
        api.wait_text(OPERATOR, "the alert after the failover", |t| {
            t.contains(&format!("Line {i}"))
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = api.delivered(OPERATOR);
    for i in 0..6 {
        let copies = delivered
            .iter()
            .filter(|t| t.contains(&format!("Line {i} ")))
            .count();
        assert_eq!(copies, 1, "alert {i} once: {delivered:#?}");
    }
}
