//! What a Prometheus scrape costs on a long-lived installation, printed (not asserted): every
//! `herald_` figure is read from the database at scrape time, so `metrics::gather` is timed over
//! a year of history. Runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL names a server
//! (`make bench` runs both).

use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use domain::status::{AccountStatus, ReminderStatus, RunStatus, TargetStatus};
use entity::{reminder_run_targets, reminder_runs};
use sea_orm::{EntityTrait, QueryOrder, Set};
use service::metrics;
use testkit::{TestDb, seed};

/// A year of a busy installation: 300 runs a day, 10 groups each.
const RUNS: usize = 100_000;
const TARGETS_PER_RUN: usize = 10;
const SCRAPES: usize = 20;

#[tokio::main]
async fn main() {
    let test = TestDb::new().await;
    let db = &test.db;
    let backend = format!("{:?}", test.backend());
    let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let operator = seed::operator(db, 1, "UTC").await.id;
    let mut accounts = Vec::new();
    for i in 0..10 {
        let status = if i == 9 {
            AccountStatus::Disconnected
        } else {
            AccountStatus::Connected
        };
        accounts.push(
            seed::account(db, operator, &format!("line {i}"), status)
                .await
                .id,
        );
    }
    let reminder = seed::reminder(
        db,
        operator,
        accounts[0],
        "Daily",
        ReminderStatus::Active,
        start,
    )
    .await
    .id;

    let seeding = Instant::now();
    // Batches stay under SQLite's limit of bound parameters per statement.
    for chunk in (0..RUNS).collect::<Vec<_>>().chunks(2_000) {
        let runs = chunk.iter().map(|&i| {
            let at = start + chrono::Duration::minutes(5 * i as i64);
            reminder_runs::ActiveModel {
                reminder_id: Set(Some(reminder)),
                reminder_name: Set("Daily".into()),
                account_id: Set(Some(accounts[i % accounts.len()])),
                occurrence_at: Set(at),
                status: Set(RunStatus::Success),
                started_at: Set(Some(at)),
                finished_at: Set(Some(at)),
                created_at: Set(at),
                operator_id: Set(Some(operator)),
                fire_lag_ms: Set(Some((i % 400) as i64)),
                ..Default::default()
            }
        });
        reminder_runs::Entity::insert_many(runs)
            .exec(db)
            .await
            .unwrap();
    }
    let first_run = reminder_runs::Entity::find()
        .order_by_asc(reminder_runs::Column::Id)
        .one(db)
        .await
        .unwrap()
        .expect("the runs just inserted")
        .id;
    let targets: Vec<(i64, usize)> = (0..RUNS)
        .flat_map(|run| (0..TARGETS_PER_RUN).map(move |g| (first_run + run as i64, g)))
        .collect();
    for chunk in targets.chunks(2_000) {
        let rows = chunk
            .iter()
            .map(|&(run_id, g)| reminder_run_targets::ActiveModel {
                run_id: Set(run_id),
                group_jid: Set(format!("{g}@g.us")),
                group_name: Set(format!("Group {g}")),
                status: Set(match (run_id as usize + g) % 100 {
                    0 => TargetStatus::Failed,
                    1 => TargetStatus::Unknown,
                    2 => TargetStatus::Skipped,
                    _ => TargetStatus::Sent,
                }),
                attempts: Set(1),
                parts_sent: Set(1),
                created_at: Set(start),
                updated_at: Set(start),
                ..Default::default()
            });
        reminder_run_targets::Entity::insert_many(rows)
            .exec(db)
            .await
            .unwrap();
    }
    println!(
        "{backend}: seeded {RUNS} runs and {} sends in {:.1} s",
        RUNS * TARGETS_PER_RUN,
        seeding.elapsed().as_secs_f64()
    );

    let now = Utc::now();
    let mut times: Vec<Duration> = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        let began = Instant::now();
        let snapshot = metrics::gather(db, now).await.unwrap();
        times.push(began.elapsed());
        assert_eq!(snapshot.fire_lag.count, RUNS as u64);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{backend}: one scrape's database reads over {} sends: p50 {:.1} ms, max {:.1} ms ({SCRAPES} scrapes)",
        RUNS * TARGETS_PER_RUN,
        ms(times[SCRAPES / 2]),
        ms(times[SCRAPES - 1])
    );
}
