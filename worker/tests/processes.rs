//! Delivery's guarantees across real worker processes: one killed with SIGKILL in the middle of
//! a run. (Several workers sharing accounts are in `leases.rs`.)

use std::{
    collections::HashMap,
    path::Path,
    process::{Child, Command as Process},
};

use chrono::{DateTime, Utc};
use domain::{
    account::AccountLabel,
    bus::{Command, Event},
    status::{MessageKind, Provider, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets, reminder_runs, sim_messages, whatsapp_groups};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use service::{
    accounts,
    audit::Actor,
    bus::events,
    reminders::{PartInput, ReminderInput},
};
use testkit::{TestDb, eventually};

struct WorkerProcess {
    child: Child,
    control: String,
}

impl WorkerProcess {
    /// A worker whose simulated sends take `latency_ms` (real time: the scale is 1).
    async fn start(test: &TestDb, data_dir: &Path, latency_ms: u32) -> Self {
        let port = testkit::free_port();
        let child = Process::new(env!("CARGO_BIN_EXE_herald-worker"))
            .env("DATABASE_URL", test.url.expose())
            .env("DATA_DIR", data_dir)
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("WA_PROVIDER", "sim")
            .env("SIM_TIME_SCALE", "1")
            .env("SIM_GROUP_COUNT", "20")
            .env("SIM_SEND_LATENCY_MS", latency_ms.to_string())
            .env("SEND_MIN_INTERVAL_MS", "0")
            .env("SEND_JITTER_MS", "0")
            // A send unanswered for 3 × 2 s is orphaned: a peer on PostgreSQL sweeps it soon.
            .env("SEND_TIMEOUT_SECS", "2")
            // On PostgreSQL the successor waits for the killed worker's lease to lapse.
            .env("LEASE_TTL_SECS", "5")
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("herald-worker starts");
        let control = format!("http://127.0.0.1:{port}");
        testkit::expect_up(&format!("{control}/health"), "herald-worker").await;
        Self { child, control }
    }

    /// SIGKILL: no shutdown, no cleanup, exactly as a crash or an OOM kill.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    async fn scan(&self, account_id: i64) -> bool {
        reqwest::Client::new()
            .post(format!("{}/sim/accounts/{account_id}/scan", self.control))
            .json(&serde_json::json!({}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An operator with one simulated account, paired through `worker`, in 20 groups.
async fn paired_account(
    db: &DatabaseConnection,
    worker: &WorkerProcess,
) -> (i64, i64, Vec<whatsapp_groups::Model>) {
    service::operators::sync_whitelist(db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    let operator_id = service::operators::active(db).await.unwrap()[0].id;
    let account_id = accounts::add(
        db,
        Actor::Operator,
        operator_id,
        &AccountLabel::parse("Bakery").unwrap(),
        Provider::Sim,
    )
    .await
    .unwrap()
    .id;
    accounts::request(
        db,
        Actor::Operator,
        operator_id,
        &Command::Pair {
            account_id,
            phone: None,
        },
    )
    .await
    .unwrap();
    eventually("a QR code to scan", || async {
        worker.scan(account_id).await.then_some(())
    })
    .await;
    let groups = eventually("the groups", || async {
        let groups = accounts::groups(db, account_id).await.unwrap();
        (groups.len() == 20).then_some(groups)
    })
    .await;
    (operator_id, account_id, groups)
}

/// A one-off text reminder to every group, due `lead` from now.
async fn reminder_soon(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    groups: &[whatsapp_groups::Model],
    lead: chrono::Duration,
) -> (i64, DateTime<Utc>) {
    let due = (Utc::now() + lead).with_timezone(&Utc);
    let due = due - chrono::Duration::nanoseconds(due.timestamp_subsec_nanos().into());
    let input = ReminderInput {
        account_id,
        name: "Opening hours".to_owned(),
        timezone: "UTC".to_owned(),
        start_local: due.naive_utc(),
        rrule: None,
        skip_dates: vec![],
        skip_base: None,
        send_window_end_hour: None,
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some("We open at 9 today".to_owned()),
            media_file_id: None,
        }],
        group_ids: groups.iter().map(|g| g.id).collect(),
    };
    let reminder = service::reminders::create(db, Actor::Operator, operator_id, &input, Utc::now())
        .await
        .expect("a valid reminder");
    (reminder.id, due)
}

async fn run_of(db: &DatabaseConnection, reminder_id: i64) -> Option<reminder_runs::Model> {
    reminder_runs::Entity::find()
        .filter(reminder_runs::Column::ReminderId.eq(reminder_id))
        .one(db)
        .await
        .unwrap()
}

async fn targets(db: &DatabaseConnection, run_id: i64) -> Vec<reminder_run_targets::Model> {
    reminder_run_targets::Entity::find()
        .filter(reminder_run_targets::Column::RunId.eq(run_id))
        .order_by_asc(reminder_run_targets::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// How many times the simulator delivered to each group.
async fn deliveries(db: &DatabaseConnection) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in sim_messages::Entity::find().all(db).await.unwrap() {
        *counts.entry(message.group_jid).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_worker_killed_mid_run_never_sends_twice_and_reports_the_interrupted_send() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let first = WorkerProcess::start(&test, data.path(), 600).await;
    let db = &test.db;
    let (operator_id, account_id, groups) = paired_account(db, &first).await;
    let (reminder_id, _) = reminder_soon(
        db,
        operator_id,
        account_id,
        &groups,
        chrono::Duration::seconds(2),
    )
    .await;

    // Kill it 100 ms into a 0.6 s send, after a few groups got theirs.
    let run = eventually("the run", || run_of(db, reminder_id)).await;
    let in_flight = eventually("a send in flight", || async {
        let targets = targets(db, run.id).await;
        let sent = targets
            .iter()
            .filter(|t| t.status == TargetStatus::Sent)
            .count();
        targets.into_iter().find(|t| {
            sent >= 3
                && t.status == TargetStatus::Sending
                && t.claimed_at
                    .is_some_and(|at| Utc::now() - at > chrono::Duration::milliseconds(100))
        })
    })
    .await;
    first.kill();

    let _second = WorkerProcess::start(&test, data.path(), 600).await;
    let run = eventually("the run to finish", || async {
        run_of(db, reminder_id)
            .await
            .filter(|r| r.status != RunStatus::Running)
    })
    .await;
    assert_eq!(run.status, RunStatus::Partial);

    let targets = targets(db, run.id).await;
    let unknown: Vec<_> = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Unknown)
        .collect();
    assert_eq!(unknown.len(), 1, "{targets:#?}");
    assert_eq!(unknown[0].id, in_flight.id);
    assert!(
        unknown[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not re-sent")
    );
    assert_eq!(
        targets
            .iter()
            .filter(|t| t.status == TargetStatus::Sent)
            .count(),
        19,
        "the rest finish"
    );
    let delivered = deliveries(db).await;
    assert!(
        delivered.values().all(|&n| n == 1),
        "no group twice: {delivered:?}"
    );
    for target in targets.iter().filter(|t| t.status == TargetStatus::Sent) {
        assert_eq!(delivered.get(&target.group_jid), Some(&1));
    }
    let alerted = events::after(db, operator_id, 0, 10_000).await.unwrap();
    assert!(alerted.iter().any(|s| matches!(
        &s.event,
        Event::TargetsUnknown { run_id, groups, .. }
            if *run_id == run.id && groups == std::slice::from_ref(&in_flight.group_name)
    )));
}
