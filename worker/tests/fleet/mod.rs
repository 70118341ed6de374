//! Real `herald-worker` processes on one database, for the tests and benchmarks of several
//! workers: started with the simulator, asked over `/health` what they hold, signalled.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    process::{Child, Command as Process},
};

use chrono::{DateTime, Utc};
use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, MessageKind, Provider, RunStatus},
};
use entity::{reminder_run_targets, reminder_runs, sim_messages, sim_overlaps, whatsapp_accounts};
use runtime::config::Backend;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use service::{
    accounts,
    audit::Actor,
    reminders::{PartInput, ReminderInput},
};
use testkit::{TestDb, eventually};

/// Short leases, so failover is quick to watch: a dead worker's accounts move within ~5 s.
pub const LEASE_TTL_SECS: &str = "5";

/// Each simulated account is in this many groups.
pub const GROUPS: usize = 10;

pub struct Worker {
    child: Child,
    health: String,
}

impl Worker {
    pub async fn start(test: &TestDb, data: &Path, name: &str, extra: &[(&str, &str)]) -> Self {
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
            .env("SIM_GROUP_COUNT", GROUPS.to_string())
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

    /// Its `/health` answer; `None` while it does not answer.
    async fn health(&self) -> Option<serde_json::Value> {
        reqwest::get(&self.health).await.ok()?.json().await.ok()
    }

    /// The accounts this worker says it holds; `None` while it does not answer.
    pub async fn accounts(&self) -> Option<BTreeSet<i64>> {
        let body = self.health().await?;
        Some(
            body["accounts"]
                .as_array()?
                .iter()
                .filter_map(serde_json::Value::as_i64)
                .collect(),
        )
    }

    /// The singleton jobs this worker runs (`telegram`, `maintenance`).
    pub async fn singletons(&self) -> Vec<String> {
        let body = self.health().await.expect("the worker answers");
        body["singletons"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }

    /// The holder name of this worker's leases and claims.
    pub async fn instance(&self) -> String {
        let body = self.health().await.expect("the worker answers");
        body["instance"].as_str().unwrap().to_owned()
    }

    pub fn signal(&self, signal: &str) {
        let status = Process::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    pub fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    pub async fn stop(mut self) {
        testkit::expect_clean_stop(&mut self.child, "TERM").await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn postgres_only(test: &TestDb) -> bool {
    if test.backend() == Backend::Postgres {
        return true;
    }
    eprintln!("several workers share a database only on PostgreSQL; this runs in that pass");
    false
}

/// An operator with `n` simulated accounts, each paired (the simulator scans by itself) by
/// whichever worker holds it, with its [`GROUPS`] groups synced.
pub async fn paired_accounts(db: &DatabaseConnection, n: usize) -> (i64, Vec<i64>) {
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
            with_groups += usize::from(accounts::groups(db, *id).await.unwrap().len() == GROUPS);
        }
        (connected == n && with_groups == n).then_some(())
    })
    .await;
    (operator_id, ids)
}

/// A one-off two-part text reminder of `account_id` to all its groups, due in two seconds.
pub async fn reminder_now(db: &DatabaseConnection, operator_id: i64, account_id: i64) -> i64 {
    let due = Utc::now() + chrono::Duration::seconds(2);
    reminder_at(db, operator_id, account_id, due).await
}

/// The same, due at `due` (to the second).
pub async fn reminder_at(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    due: DateTime<Utc>,
) -> i64 {
    let due = due - chrono::Duration::nanoseconds(due.timestamp_subsec_nanos().into());
    let groups = accounts::groups(db, account_id).await.unwrap();
    let input = ReminderInput {
        account_id,
        name: format!("Opening hours {account_id} at {}", due.format("%H:%M:%S")),
        timezone: "UTC".to_owned(),
        start_local: due.naive_utc(),
        rrule: None,
        skip_dates: vec![],
        skip_base: None,
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

pub async fn finished_run(db: &DatabaseConnection, reminder_id: i64) -> reminder_runs::Model {
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

pub async fn run_targets(db: &DatabaseConnection, run_id: i64) -> Vec<reminder_run_targets::Model> {
    reminder_run_targets::Entity::find()
        .filter(reminder_run_targets::Column::RunId.eq(run_id))
        .all(db)
        .await
        .unwrap()
}

/// Every message reached its group once: no id delivered twice, no send repeated.
pub async fn assert_each_part_once(db: &DatabaseConnection) {
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

pub async fn assert_no_overlap(db: &DatabaseConnection) {
    let overlaps = sim_overlaps::Entity::find().all(db).await.unwrap();
    assert!(
        overlaps.is_empty(),
        "an account ran in two workers at once: {overlaps:?}"
    );
}

/// Who holds each account, from the workers' own word: each account exactly once.
pub async fn holders(workers: &[&Worker]) -> Option<Vec<BTreeSet<i64>>> {
    let mut all = Vec::new();
    for w in workers {
        all.push(w.accounts().await?);
    }
    Some(all)
}
