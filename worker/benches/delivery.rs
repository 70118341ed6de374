//! Delivery's speed, printed (not asserted): fire lag from an occurrence's due time to its first
//! send with 10,000 active reminders and 1,000 of them due within one minute, and dispatch
//! throughput in targets per second. Pacing is off and the simulator answers at once, so the
//! figures are Herald's own overhead. Runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL
//! names a server (`make bench` runs both).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::{
    account::AccountLabel,
    bus::Command,
    pacing::Rules,
    status::{MessageKind, Provider, ReminderStatus},
};
use entity::{reminder_messages, reminder_targets, reminders, sim_messages, whatsapp_groups};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use service::{accounts, audit::Actor};
use testkit::TestDb;
use tokio::sync::oneshot;
use worker::{Options, Worker, clock::SystemClock, delivery, sessions::Settings};

const ACCOUNTS: usize = 10;
const GROUPS: usize = 500;
const REMINDERS: usize = 10_000;
const DUE: usize = 1_000;

struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    sim: std::sync::Arc<worker::provider::sim::SimProvider>,
}

async fn start(test: &TestDb, data: &std::path::Path) -> Running {
    let config = testkit::config(&[
        ("DATABASE_URL", test.url.expose()),
        ("DATA_DIR", data.to_str().unwrap()),
        ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
        ("WA_PROVIDER", "sim"),
        ("SIM_TIME_SCALE", "0.001"),
        ("SIM_SEND_LATENCY_MS", "0"),
        ("SIM_GROUP_COUNT", &GROUPS.to_string()),
        ("RUST_LOG", "error"),
    ]);
    let mut delivery = delivery::Settings::from_config(&config.delivery);
    delivery.pacing = Rules {
        min_interval: Duration::ZERO,
        jitter: Duration::ZERO,
        per_minute: u32::MAX,
        per_hour_global: u32::MAX,
    };
    let options = Options {
        sessions: Settings::default(),
        delivery,
        clock: std::sync::Arc::new(SystemClock),
    };
    let worker = Worker::start_with(config, options)
        .await
        .expect("worker starts");
    let sim = worker.sim();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Running { stop, task, sim }
}

async fn stop(running: Running) {
    let _ = running.stop.send(());
    running.task.await.unwrap().unwrap();
}

/// Ten simulated accounts, paired, each in `GROUPS` groups.
async fn accounts_with_groups(
    db: &DatabaseConnection,
    running: &Running,
) -> (i64, Vec<Vec<whatsapp_groups::Model>>) {
    service::operators::sync_whitelist(db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    let operator_id = service::operators::active(db).await.unwrap()[0].id;
    let mut all = Vec::new();
    for n in 0..ACCOUNTS {
        let label = AccountLabel::parse(&format!("Line {n}")).unwrap();
        let id = accounts::add(db, Actor::Operator, operator_id, &label, Provider::Sim)
            .await
            .unwrap()
            .id;
        accounts::request(
            db,
            Actor::Operator,
            operator_id,
            &Command::Pair {
                account_id: id,
                phone: None,
            },
        )
        .await
        .unwrap();
        while running.sim.scan(id, None).is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        loop {
            let groups = accounts::groups(db, id).await.unwrap();
            if groups.len() == GROUPS {
                all.push(groups);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (operator_id, all)
}

/// Inserts one-off reminders due at `due`, each with one text part naming it, to `groups`.
async fn insert_reminders(
    db: &DatabaseConnection,
    operator_id: i64,
    plan: Vec<(i64, DateTime<Utc>, Vec<i64>)>,
) -> Vec<(i64, DateTime<Utc>)> {
    let now = Utc::now();
    let mut made = Vec::with_capacity(plan.len());
    for chunk in plan.chunks(500) {
        let txn = service::database::begin_write(db).await.unwrap();
        for (account_id, due, groups) in chunk {
            let reminder = reminders::Entity::insert(reminders::ActiveModel {
                operator_id: Set(operator_id),
                account_id: Set(*account_id),
                name: Set("bench".to_owned()),
                timezone: Set("UTC".to_owned()),
                status: Set(ReminderStatus::Active),
                dtstart: Set(*due),
                next_fire_at: Set(Some(*due)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(&txn)
            .await
            .unwrap()
            .last_insert_id;
            reminder_messages::Entity::insert(reminder_messages::ActiveModel {
                reminder_id: Set(reminder),
                position: Set(0),
                kind: Set(MessageKind::Text),
                body: Set(Some(format!("bench {reminder}"))),
                ..Default::default()
            })
            .exec(&txn)
            .await
            .unwrap();
            reminder_targets::Entity::insert_many(groups.iter().enumerate().map(|(i, g)| {
                reminder_targets::ActiveModel {
                    reminder_id: Set(reminder),
                    group_id: Set(*g),
                    position: Set(i32::try_from(i).unwrap()),
                    ..Default::default()
                }
            }))
            .exec(&txn)
            .await
            .unwrap();
            made.push((reminder, *due));
        }
        txn.commit().await.unwrap();
    }
    made
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn first_sends(db: &DatabaseConnection) -> std::collections::HashMap<String, DateTime<Utc>> {
    let mut first = std::collections::HashMap::new();
    for m in sim_messages::Entity::find().all(db).await.unwrap() {
        let at = first.entry(m.body).or_insert(m.sent_at);
        *at = (*at).min(m.sent_at);
    }
    first
}

#[tokio::main]
async fn main() {
    let test = TestDb::new().await;
    let engine = format!("{:?}", test.backend());
    let data = tempfile::tempdir().unwrap();
    let db = test.db.clone();

    let running = start(&test, data.path()).await;
    let (operator_id, groups) = accounts_with_groups(&db, &running).await;
    stop(running).await;

    // 9,000 reminders due next week, 1,000 spread over one minute starting a minute from now.
    let base = Utc::now() + chrono::Duration::seconds(60);
    let plan = (0..REMINDERS)
        .map(|i| {
            let account = &groups[i % ACCOUNTS];
            let due = if i < DUE {
                base + chrono::Duration::milliseconds((i as i64) * 60_000 / DUE as i64)
            } else {
                base + chrono::Duration::days(7)
            };
            (account[0].account_id, due, vec![account[i % GROUPS].id])
        })
        .collect();
    let due = insert_reminders(&db, operator_id, plan).await;
    let due = &due[..DUE];

    let started = Instant::now();
    let running = start(&test, data.path()).await;
    let start_secs = started.elapsed().as_secs_f64();
    assert!(
        Utc::now() < base,
        "start-up took past the first due time; raise the lead"
    );

    // Wait for every due reminder's first send.
    let deadline = Instant::now() + Duration::from_secs(300);
    let firsts = loop {
        let firsts = first_sends(&db).await;
        if due
            .iter()
            .all(|(id, _)| firsts.contains_key(&format!("bench {id}")))
            || Instant::now() > deadline
        {
            break firsts;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut lags: Vec<f64> = due
        .iter()
        .filter_map(|(id, at)| firsts.get(&format!("bench {id}")).map(|sent| *sent - *at))
        .map(|lag| lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
        .collect();
    lags.sort_by(f64::total_cmp);

    // Throughput: one reminder per account to all its groups, all due at the same instant.
    let burst_at = Utc::now() + chrono::Duration::seconds(3);
    let plan = groups
        .iter()
        .map(|g| (g[0].account_id, burst_at, g.iter().map(|g| g.id).collect()))
        .collect();
    let burst = insert_reminders(&db, operator_id, plan).await;
    for (id, _) in &burst {
        let reminder = reminders::Entity::find_by_id(*id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        service::bus::commands::enqueue(
            &db,
            &Command::ReminderChanged {
                account_id: reminder.account_id,
                reminder_id: *id,
            },
        )
        .await
        .unwrap();
    }
    let bodies: Vec<String> = burst.iter().map(|(id, _)| format!("bench {id}")).collect();
    let total = ACCOUNTS * GROUPS;
    let deadline = Instant::now() + Duration::from_secs(300);
    let sends = loop {
        let sends = sim_messages::Entity::find()
            .filter(sim_messages::Column::Body.is_in(bodies.clone()))
            .all(&db)
            .await
            .unwrap();
        if sends.len() >= total || Instant::now() > deadline {
            break sends;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let first = sends.iter().map(|m| m.sent_at).min().unwrap();
    let last = sends.iter().map(|m| m.sent_at).max().unwrap();
    let span = (last - first).num_milliseconds().max(1) as f64 / 1000.0;
    stop(running).await;

    println!("delivery benchmark on {engine} (pacing off, simulated sends answer at once)");
    println!("  worker start with {REMINDERS} active reminders: {start_secs:.2} s");
    println!(
        "  fire lag, {} of {DUE} due within one minute: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        percentile(&lags, 50.0),
        percentile(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "  dispatch: {} of {total} targets over {ACCOUNTS} accounts in {span:.2} s = {:.0} targets/s (first send {} ms after due)",
        sends.len(),
        sends.len() as f64 / span,
        (first - burst_at).num_milliseconds(),
    );
}
