//! Several real worker processes on PostgreSQL sharing accounts by leases
//! (docs/architecture.md, "Several workers: leases"): each account runs in at most one worker at
//! a time and every account runs somewhere; a killed worker's accounts move and its run
//! completes with no group sent twice; a worker paused past its lease claims nothing when it
//! wakes; a rolling restart loses and repeats nothing; alerts reach Telegram once.
//!
//! Counted where the outside world sees it: the simulator's connections per account
//! (`sim_connections`, and `sim_overlaps` for a connection replaced while live) and its outbox
//! (`sim_messages`), and the fake Bot API's calls.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    process::{Child, Command as Process},
    time::Duration,
};

use chrono::Utc;
use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, MessageKind, Provider, RunStatus, TargetStatus},
};
use entity::{
    reminder_run_targets, reminder_runs, sim_connections, sim_messages, sim_overlaps,
    whatsapp_accounts,
};
use runtime::config::Backend;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use service::{
    accounts,
    audit::Actor,
    reminders::{PartInput, ReminderInput},
};
use testkit::{TestDb, eventually, fake_bot_api::FakeBotApi};

/// Short leases, so failover is quick to watch: a dead worker's accounts move within ~5 s.
const LEASE_TTL_SECS: &str = "5";

struct Worker {
    child: Child,
    health: String,
}

impl Worker {
    async fn start(test: &TestDb, data: &Path, name: &str, extra: &[(&str, &str)]) -> Self {
        let port = testkit::free_port();
        let mut process = Process::new(env!("CARGO_BIN_EXE_herald-worker"));
        process
            .env("DATABASE_URL", test.url.expose())
            .env("DATA_DIR", data)
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("WORKER_ID", name)
            .env("LEASE_TTL_SECS", LEASE_TTL_SECS)
            .env("WA_PROVIDER", "sim")
            .env("SIM_TIME_SCALE", "1")
            .env("SIM_AUTO_SCAN_SECS", "1")
            .env("SIM_GROUP_COUNT", "10")
            .env("SEND_MIN_INTERVAL_MS", "0")
            .env("SEND_JITTER_MS", "0")
            .env("SEND_TIMEOUT_SECS", "2")
            .env("RUST_LOG", "warn");
        for (key, value) in extra {
            process.env(key, value);
        }
        let child = process.spawn().expect("herald-worker starts");
        let health = format!("http://127.0.0.1:{port}/health");
        testkit::expect_up(&health, "herald-worker").await;
        Self { child, health }
    }

    /// The accounts this worker says it holds; `None` while it does not answer.
    async fn accounts(&self) -> Option<BTreeSet<i64>> {
        let body: serde_json::Value = reqwest::get(&self.health).await.ok()?.json().await.ok()?;
        Some(
            body["accounts"]
                .as_array()?
                .iter()
                .filter_map(serde_json::Value::as_i64)
                .collect(),
        )
    }

    fn signal(&self, signal: &str) {
        let status = Process::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    async fn stop(mut self) {
        testkit::expect_clean_stop(&mut self.child, "TERM").await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postgres_only(test: &TestDb) -> bool {
    if test.backend() == Backend::Postgres {
        return true;
    }
    eprintln!("several workers share a database only on PostgreSQL; this runs in that pass");
    false
}

/// An operator with `n` simulated accounts, each paired (the simulator scans by itself) by
/// whichever worker holds it.
async fn paired_accounts(db: &DatabaseConnection, n: usize) -> (i64, Vec<i64>) {
    service::operators::sync_whitelist(db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    let operator_id = service::operators::active(db).await.unwrap()[0].id;
    let mut ids = Vec::new();
    for i in 0..n {
        let label = AccountLabel::parse(&format!("Line {i}")).unwrap();
        let id = accounts::add(db, Actor::Operator, operator_id, &label, Provider::Sim)
            .await
            .unwrap()
            .id;
        let pair = Command::Pair {
            account_id: id,
            phone: None,
        };
        accounts::request(db, Actor::Operator, operator_id, &pair)
            .await
            .unwrap();
        ids.push(id);
    }
    eventually("every account connected with its groups", || async {
        let rows = whatsapp_accounts::Entity::find().all(db).await.unwrap();
        let connected = rows
            .iter()
            .filter(|a| a.status == AccountStatus::Connected)
            .count();
        let mut with_groups = 0;
        for id in &ids {
            with_groups += usize::from(accounts::groups(db, *id).await.unwrap().len() == 10);
        }
        (connected == n && with_groups == n).then_some(())
    })
    .await;
    (operator_id, ids)
}

/// A one-off text reminder of `account_id` to all its groups, due in two seconds.
async fn reminder_now(db: &DatabaseConnection, operator_id: i64, account_id: i64) -> i64 {
    let due = Utc::now() + chrono::Duration::seconds(2);
    let due = due - chrono::Duration::nanoseconds(due.timestamp_subsec_nanos().into());
    let groups = accounts::groups(db, account_id).await.unwrap();
    let input = ReminderInput {
        account_id,
        name: format!("Opening hours {account_id}"),
        timezone: "UTC".to_owned(),
        start_local: due.naive_utc(),
        rrule: None,
        send_window_end_hour: None,
        parts: ["We open at 9", "Bring your card"]
            .map(|body| PartInput {
                kind: MessageKind::Text,
                body: Some(body.to_owned()),
                media_file_id: None,
            })
            .to_vec(),
        group_ids: groups.iter().map(|g| g.id).collect(),
    };
    service::reminders::create(db, Actor::Operator, operator_id, &input, Utc::now())
        .await
        .expect("a valid reminder")
        .id
}

async fn finished_run(db: &DatabaseConnection, reminder_id: i64) -> reminder_runs::Model {
    eventually("the run to finish", || async {
        reminder_runs::Entity::find()
            .filter(reminder_runs::Column::ReminderId.eq(reminder_id))
            .one(db)
            .await
            .unwrap()
            .filter(|r| r.status != RunStatus::Running)
    })
    .await
}

async fn run_targets(db: &DatabaseConnection, run_id: i64) -> Vec<reminder_run_targets::Model> {
    reminder_run_targets::Entity::find()
        .filter(reminder_run_targets::Column::RunId.eq(run_id))
        .all(db)
        .await
        .unwrap()
}

/// Every message reached its group once: no id delivered twice, no send repeated.
async fn assert_each_part_once(db: &DatabaseConnection) {
    let messages = sim_messages::Entity::find().all(db).await.unwrap();
    let mut per_group_body: HashMap<(String, String), usize> = HashMap::new();
    for m in &messages {
        assert_eq!(m.repeats, 0, "a send repeated: {m:?}");
        *per_group_body
            .entry((m.group_jid.clone(), m.body.clone()))
            .or_default() += 1;
    }
    assert!(
        per_group_body.values().all(|&n| n == 1),
        "a group got a part twice: {per_group_body:?}"
    );
}

async fn assert_no_overlap(db: &DatabaseConnection) {
    let overlaps = sim_overlaps::Entity::find().all(db).await.unwrap();
    assert!(
        overlaps.is_empty(),
        "an account ran in two workers at once: {overlaps:?}"
    );
}

/// Who holds each account, from the workers' own word: each account exactly once.
async fn holders(workers: &[&Worker]) -> Option<Vec<BTreeSet<i64>>> {
    let mut all = Vec::new();
    for w in workers {
        all.push(w.accounts().await?);
    }
    Some(all)
}

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
    let (operator_id, _) = paired_accounts(db, 2).await;
    let held = eventually("one account each", || async {
        let held = holders(&[&a, &b]).await?;
        held.iter().all(|h| h.len() == 1).then_some(held)
    })
    .await;
    let account = *held[0].first().unwrap();
    let reminder = reminder_now(db, operator_id, account).await;
    eventually("the run under way", || async {
        let run = reminder_runs::Entity::find()
            .filter(reminder_runs::Column::ReminderId.eq(reminder))
            .one(db)
            .await
            .unwrap()?;
        let claimed = run_targets(db, run.id)
            .await
            .iter()
            .any(|t| t.status == TargetStatus::Sent);
        claimed.then_some(())
    })
    .await;

    a.signal("STOP");
    eventually("the other worker to take the account over", || async {
        b.accounts().await?.contains(&account).then_some(())
    })
    .await;
    let resumed_at = Utc::now();
    a.signal("CONT");
    let run = finished_run(db, reminder).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let a_instance = "a/";
    let late_claims: Vec<_> = run_targets(db, run.id)
        .await
        .into_iter()
        .filter(|t| {
            t.claimed_by
                .as_deref()
                .is_some_and(|h| h.starts_with(a_instance))
                && t.updated_at > resumed_at
                && t.status == TargetStatus::Sending
        })
        .collect();
    assert!(
        late_claims.is_empty(),
        "the woken worker claimed: {late_claims:#?}"
    );
    let claimed_by_a_after: Vec<_> = run_targets(db, run.id)
        .await
        .into_iter()
        .filter(|t| {
            t.claimed_by
                .as_deref()
                .is_some_and(|h| h.starts_with(a_instance))
                && t.sent_at.is_some_and(|at| at > resumed_at)
        })
        .collect();
    assert!(
        claimed_by_a_after.is_empty(),
        "the woken worker sent after a successor took over: {claimed_by_a_after:#?}"
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
    for i in 0..3 {
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
    }
    for i in 0..3 {
        api.wait_text(OPERATOR, "the alert", |t| t.contains(&format!("Line {i}")))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = api.delivered(OPERATOR);
    for i in 0..3 {
        let copies = delivered
            .iter()
            .filter(|t| t.contains(&format!("Line {i}")))
            .count();
        assert_eq!(copies, 1, "alert {i} once: {delivered:#?}");
    }
}
