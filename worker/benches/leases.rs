//! Several workers on PostgreSQL, printed (not asserted): failover time — from `kill -9` of the
//! worker holding an account to that account's next successful send — p50 and max over 10 kills
//! at the production lease lifetime (20 s), and dispatch throughput with 1, 2 and 3 workers,
//! pacing off and the simulator answering at once. Needs TEST_DATABASE_URL (PostgreSQL; `make
//! bench` starts a throw-away server); prints why not and exits otherwise.

#[allow(dead_code)]
#[path = "../tests/fleet/mod.rs"]
mod fleet;

use std::time::{Duration, Instant};

use chrono::Utc;
use entity::sim_messages;
use runtime::config::Backend;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use testkit::{TestDb, eventually};

use fleet::{GROUPS, Worker, finished_run, paired_accounts, reminder_at};

const KILLS: usize = 10;
const PRODUCTION_TTL: &str = "20";
/// Pacing off; the simulator answers at once.
const FAST: [(&str, &str); 5] = [
    ("SIM_SEND_LATENCY_MS", "0"),
    ("SEND_PER_MINUTE", "100000"),
    ("SEND_PER_HOUR", "10000000"),
    ("SIM_TIME_SCALE", "0.05"),
    ("RUST_LOG", "error"),
];

async fn sent_to(db: &DatabaseConnection, account_id: i64) -> u64 {
    sim_messages::Entity::find()
        .filter(sim_messages::Column::AccountId.eq(account_id))
        .count(db)
        .await
        .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn failover(test: &TestDb) {
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let env = [("LEASE_TTL_SECS", PRODUCTION_TTL), ("RUST_LOG", "error")];
    let mut workers = vec![
        Worker::start(test, data.path(), "a", &env).await,
        Worker::start(test, data.path(), "b", &env).await,
    ];
    let (operator_id, ids) = paired_accounts(db, 4).await;
    let mut times = Vec::new();
    for kill in 0..KILLS {
        let held = eventually("two accounts each", || async {
            let a = workers[0].accounts().await?;
            let b = workers[1].accounts().await?;
            (a.len() == 2 && b.len() == 2).then_some(a)
        })
        .await;
        let account = *held.first().unwrap();
        let before = sent_to(db, account).await;
        let victim = workers.remove(0);
        victim.kill();
        let killed = Instant::now();
        // Due at once: the send waits only for the account to come back.
        reminder_at(db, operator_id, account, Utc::now()).await;
        eventually("the account's next send", || async {
            (sent_to(db, account).await > before).then_some(())
        })
        .await;
        let took = killed.elapsed();
        println!("  kill {}: {:.1} s", kill + 1, took.as_secs_f64());
        times.push(took);
        let name = format!("r{kill}");
        workers.push(Worker::start(test, data.path(), &name, &env).await);
    }
    times.sort();
    println!(
        "failover (kill -9 → the account's next send), lease {PRODUCTION_TTL} s, {KILLS} kills, {} accounts: p50 {:.1} s, max {:.1} s",
        ids.len(),
        percentile(&times, 0.5).as_secs_f64(),
        times.last().unwrap().as_secs_f64()
    );
}

async fn throughput(workers: usize) {
    const ACCOUNTS: usize = 30;
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let db = &test.db;
    let mut running = Vec::new();
    for i in 0..workers {
        running.push(Worker::start(&test, data.path(), &format!("w{i}"), &FAST).await);
    }
    let (operator_id, ids) = paired_accounts(db, ACCOUNTS).await;
    let share = ACCOUNTS.div_ceil(workers);
    eventually("a fair share each", || async {
        let mut total = 0;
        for w in &running {
            let held = w.accounts().await?.len();
            if held > share {
                return None;
            }
            total += held;
        }
        (total == ACCOUNTS).then_some(())
    })
    .await;
    let due = Utc::now() + chrono::Duration::seconds(4);
    let mut reminders = Vec::new();
    for account in &ids {
        reminders.push(reminder_at(db, operator_id, *account, due).await);
    }
    for reminder in reminders {
        finished_run(db, reminder).await;
    }
    let messages = sim_messages::Entity::find().all(db).await.unwrap();
    let last = messages.iter().map(|m| m.sent_at).max().unwrap();
    let due = due - chrono::Duration::nanoseconds(due.timestamp_subsec_nanos().into());
    let secs = (last - due).as_seconds_f64();
    let targets = ACCOUNTS * GROUPS;
    println!(
        "throughput with {workers} worker(s): {targets} targets ({} messages) in {secs:.2} s: {:.0} targets/s",
        messages.len(),
        targets as f64 / secs
    );
    drop(running);
}

#[tokio::main]
async fn main() {
    let test = TestDb::new().await;
    if test.backend() != Backend::Postgres {
        println!("several workers share a database only on PostgreSQL: set TEST_DATABASE_URL");
        return;
    }
    let started = Instant::now();
    for workers in 1..=3 {
        throughput(workers).await;
    }
    failover(&test).await;
    println!("[{:.0} s]", started.elapsed().as_secs_f64());
}
