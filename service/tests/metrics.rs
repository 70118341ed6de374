//! The metrics read from the database on the test engine: each family counts what its rows say,
//! every status is listed even at zero, and a database that stops answering is reported by
//! `herald_database_up 0` rather than by a failed scrape.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use domain::{
    bus::{Command, Event},
    status::{AccountStatus, CommandStatus, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{commands, reminder_owed_fires, reminder_run_targets, reminder_runs, reminders};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};
use service::{
    bus, jobs,
    metrics::{self, Histogram, Process, Snapshot},
};
use testkit::{TestDb, seed};
use uuid::Uuid;

fn t(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 3, 10, 0, second).unwrap()
}

fn process() -> Process {
    Process {
        name: "worker",
        started_at: Utc.with_ymd_and_hms(2031, 3, 3, 9, 0, 0).unwrap(),
    }
}

#[tokio::test]
async fn an_empty_installation_lists_every_status_at_zero() {
    let test = TestDb::new().await;
    let snapshot = metrics::gather(&test.db, t(0)).await.unwrap();
    assert_eq!(
        snapshot,
        Snapshot {
            sessions: AccountStatus::ALL.map(|s| (s, 0)).to_vec(),
            sends: TargetStatus::ALL.map(|s| (s, 0)).to_vec(),
            fire_lag: Histogram {
                buckets: metrics::FIRE_LAG_BUCKETS_MS
                    .map(|ms| (ms as f64 / 1000.0, 0))
                    .to_vec(),
                sum: 0.0,
                count: 0,
            },
            fires_due: 0,
            queue: vec![
                ("new", 0),
                ("in_progress", 0),
                ("retried", 0),
                ("failed", 0),
                ("finished", 0)
            ],
            queue_due: 0,
            commands: CommandStatus::ALL.map(|s| (s, 0)).to_vec(),
            oldest_pending_command_secs: 0.0,
            events_retained: 0,
        }
    );
}

#[tokio::test]
async fn each_family_counts_its_rows() {
    let test = TestDb::new().await;
    let db = &test.db;
    let now = t(30);
    let operator = seed::operator(db, 1, "UTC").await.id;
    let mut accounts = Vec::new();
    for (label, status) in [
        ("office", AccountStatus::Connected),
        ("shop", AccountStatus::Connected),
        ("depot", AccountStatus::Banned),
    ] {
        accounts.push(seed::account(db, operator, label, status).await.id);
    }
    let reminder = seed::reminder(
        db,
        operator,
        accounts[0],
        "Standup",
        ReminderStatus::Active,
        t(0),
    )
    .await
    .id;

    // Fired 10 ms, 40 ms, 0.7 s and 90 s late; one missed (never fired, no lag).
    let mut runs = Vec::new();
    for (i, lag) in [Some(10), Some(40), Some(700), Some(90_000), None]
        .into_iter()
        .enumerate()
    {
        runs.push(run(db, operator, reminder, i as u32, lag).await);
    }
    for (i, status) in [
        TargetStatus::Sent,
        TargetStatus::Sent,
        TargetStatus::Sent,
        TargetStatus::Failed,
        TargetStatus::Unknown,
        TargetStatus::Pending,
        TargetStatus::Pending,
        TargetStatus::Sending,
    ]
    .into_iter()
    .enumerate()
    {
        target(db, runs[i % 4], i, status).await;
    }

    // Two occurrences due and not fired (one next, one owed); one due later, one paused.
    for (name, status, next) in [
        ("Due", ReminderStatus::Active, now - Duration::seconds(1)),
        ("Later", ReminderStatus::Active, now + Duration::minutes(1)),
        ("Paused", ReminderStatus::Paused, now - Duration::minutes(1)),
    ] {
        let mut row: reminders::ActiveModel =
            seed::reminder(db, operator, accounts[1], name, status, t(0))
                .await
                .into();
        row.next_fire_at = Set(Some(next));
        row.update(db).await.unwrap();
    }
    reminder_owed_fires::ActiveModel {
        reminder_id: Set(reminder),
        occurrence_at: Set(now - Duration::minutes(2)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();

    // Two tasks due and waiting, one due later, one taken, one failed for good.
    for (state, scheduled) in [
        ("new", now - Duration::seconds(5)),
        ("retried", now),
        ("new", now + Duration::minutes(5)),
        ("in_progress", now - Duration::seconds(1)),
        ("failed", now - Duration::hours(1)),
    ] {
        task(db, state, scheduled).await;
    }

    // Two commands waiting (the older for 90 s), one taken, one done.
    for (age, status) in [
        (90, CommandStatus::Pending),
        (20, CommandStatus::Pending),
        (60, CommandStatus::Running),
        (120, CommandStatus::Done),
    ] {
        command(db, accounts[0], now - Duration::seconds(age), status).await;
    }
    for _ in 0..3 {
        bus::events::publish(
            db,
            Some(operator),
            &Event::Pending {
                account_id: accounts[0],
                generation: 1,
            },
        )
        .await
        .unwrap();
    }

    let s = metrics::gather(db, now).await.unwrap();
    let count =
        |list: &[(AccountStatus, u64)], status| list.iter().find(|(s, _)| *s == status).unwrap().1;
    assert_eq!(count(&s.sessions, AccountStatus::Connected), 2);
    assert_eq!(count(&s.sessions, AccountStatus::Banned), 1);
    assert_eq!(s.sessions.iter().map(|(_, n)| n).sum::<u64>(), 3);
    assert_eq!(
        s.sends,
        vec![
            (TargetStatus::Pending, 2),
            (TargetStatus::Sending, 1),
            (TargetStatus::Sent, 3),
            (TargetStatus::Failed, 1),
            (TargetStatus::Skipped, 0),
            (TargetStatus::Unknown, 1),
        ]
    );
    assert_eq!(s.fire_lag.count, 4);
    assert_eq!(s.fires_due, 2);
    assert!((s.fire_lag.sum - 90.75).abs() < 1e-9, "{}", s.fire_lag.sum);
    let cumulative: Vec<u64> = s.fire_lag.buckets.iter().map(|(_, n)| *n).collect();
    //                     25ms 50 100 250 500 1s 2.5 5 10 30 60 300 600
    assert_eq!(cumulative, [1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4]);
    assert_eq!(
        s.queue,
        vec![
            ("new", 2),
            ("in_progress", 1),
            ("retried", 1),
            ("failed", 1),
            ("finished", 0)
        ]
    );
    assert_eq!(s.queue_due, 2);
    assert_eq!(
        s.commands,
        vec![
            (CommandStatus::Pending, 2),
            (CommandStatus::Running, 1),
            (CommandStatus::Done, 1),
            (CommandStatus::Error, 0),
        ]
    );
    assert!((s.oldest_pending_command_secs - 90.0).abs() < 1e-6);
    assert_eq!(s.events_retained, 3);

    let text = metrics::render(&process(), Some(&s));
    for line in [
        "herald_database_up 1",
        "herald_sessions{status=\"connected\"} 2",
        "herald_sessions{status=\"logged_out\"} 0",
        "herald_sends_total{outcome=\"sent\"} 3",
        "herald_sends_total{outcome=\"unknown\"} 1",
        "herald_sends_pending{status=\"pending\"} 2",
        "herald_fire_lag_seconds_bucket{le=\"0.05\"} 2",
        "herald_fire_lag_seconds_bucket{le=\"+Inf\"} 4",
        "herald_fire_lag_seconds_sum 90.75",
        "herald_fire_lag_seconds_count 4",
        "herald_fires_due 2",
        "herald_queue_tasks{state=\"new\"} 2",
        "herald_queue_due_tasks 2",
        "herald_commands{status=\"pending\"} 2",
        "herald_commands_oldest_pending_seconds 90.0",
        "herald_events_retained 3",
        "process_start_time_seconds 1930294800.0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from\n{text}"
        );
    }
    // Pending sends are a gauge of their own, not outcomes.
    assert!(!text.contains("herald_sends_total{outcome=\"pending\"}"));
    // Every family is introduced once, before its samples.
    for family in [
        "herald_build_info",
        "herald_sessions",
        "herald_sends_total",
        "herald_fire_lag_seconds",
        "herald_queue_tasks",
    ] {
        assert_eq!(
            text.matches(&format!("# TYPE {family} ")).count(),
            1,
            "{family}"
        );
    }
}

#[tokio::test]
async fn a_database_that_stops_answering_reads_as_down() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    assert!(
        metrics::scrape(&db, &process(), t(0))
            .await
            .contains("herald_database_up 1\n")
    );
    test.db.clone().close().await.unwrap();
    let text = metrics::scrape(&db, &process(), t(0)).await;
    assert!(text.contains("herald_database_up 0\n"), "{text}");
    assert!(
        text.contains("herald_build_info{process=\"worker\""),
        "{text}"
    );
    assert!(!text.contains("herald_sessions"), "{text}");
}

/// A run of `reminder` that fired `lag_ms` late, or (`None`) was missed.
async fn run(
    db: &DatabaseConnection,
    operator: i64,
    reminder: i64,
    n: u32,
    lag_ms: Option<i64>,
) -> i64 {
    reminder_runs::ActiveModel {
        reminder_id: Set(Some(reminder)),
        reminder_name: Set("Standup".into()),
        occurrence_at: Set(t(n)),
        status: Set(if lag_ms.is_some() {
            RunStatus::Running
        } else {
            RunStatus::Skipped
        }),
        created_at: Set(t(n)),
        operator_id: Set(Some(operator)),
        fire_lag_ms: Set(lag_ms),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn target(db: &DatabaseConnection, run_id: i64, n: usize, status: TargetStatus) {
    reminder_run_targets::ActiveModel {
        run_id: Set(run_id),
        group_jid: Set(format!("{n}@g.us")),
        group_name: Set(format!("Group {n}")),
        status: Set(status),
        attempts: Set(0),
        parts_sent: Set(0),
        created_at: Set(t(0)),
        updated_at: Set(t(0)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

async fn task(db: &DatabaseConnection, state: &str, scheduled: DateTime<Utc>) {
    let backend = db.get_database_backend();
    let cast = if backend == sea_orm::DbBackend::Postgres {
        "::fang_task_state"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO fang_tasks (id, metadata, state, task_type, retries, scheduled_at, \
         created_at, updated_at) VALUES ($1, $2, $3{cast}, 'herald:test', 0, $4, $4, $4)"
    );
    db.execute_raw(jobs::statement(
        backend,
        &sql,
        [
            jobs::task_id(backend, &Uuid::new_v4()),
            jobs::metadata(backend, serde_json::json!({ "type": "SweepMedia" })),
            state.to_owned().into(),
            jobs::timestamp(backend, scheduled),
        ],
    ))
    .await
    .unwrap();
}

async fn command(
    db: &DatabaseConnection,
    account_id: i64,
    created: DateTime<Utc>,
    status: CommandStatus,
) {
    let id = bus::commands::enqueue(
        db,
        &Command::Pair {
            account_id,
            phone: None,
        },
    )
    .await
    .unwrap();
    commands::Entity::update_many()
        .col_expr(commands::Column::CreatedAt, Expr::value(created))
        .col_expr(commands::Column::Status, Expr::value(status))
        .filter(commands::Column::Id.eq(id))
        .exec(db)
        .await
        .unwrap();
}
