//! The dashboard's queries on the test engine: today's figures in the operator's zone, the
//! activity feed and clearing it (the runs stay), the runs list's filters and keyset pages,
//! account health order, and the day and time words the pages show.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use domain::{
    run::RunCounts,
    status::{AccountStatus, ReminderStatus, RunStatus, TargetStatus},
    timezone::TimeZone,
};
use entity::{audit_log, operators, reminder_run_targets, reminder_runs, reminders};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, Set,
};
use service::{
    audit::Actor,
    dashboard::{
        self, RunCursor, RunFilter, RunPage, StatusFilter, day_range, parse_day, today, when,
    },
};
use testkit::{TestDb, seed};

/// Monday 2031-03-03, 10:00 UTC (18:00 in Kuala Lumpur): the clock every test runs on.
fn now() -> DateTime<Utc> {
    utc(2031, 3, 3, 10, 0)
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn zone(name: &str) -> TimeZone {
    name.parse().unwrap()
}

/// An operator in Kuala Lumpur (UTC+8, no daylight saving) with one account and reminder.
struct Operator {
    id: i64,
    account: i64,
    reminder: reminders::Model,
}

struct World {
    test: TestDb,
    me: Operator,
    other: Operator,
}

impl World {
    async fn new() -> Self {
        let test = TestDb::new().await;
        let me = operator(&test.db, 1).await;
        let other = operator(&test.db, 2).await;
        Self { test, me, other }
    }

    fn db(&self) -> &DatabaseConnection {
        &self.test.db
    }

    async fn me(&self) -> operators::Model {
        operators::Entity::find_by_id(self.me.id)
            .one(self.db())
            .await
            .unwrap()
            .unwrap()
    }

    /// A run of my reminder at `at`, recorded at `at`, with one target per status in `targets`.
    async fn run(&self, at: DateTime<Utc>, status: RunStatus, targets: &[TargetStatus]) -> i64 {
        run_of(self.db(), &self.me.reminder, at, status, targets).await
    }

    async fn ids(&self, filter: &RunFilter) -> Vec<i64> {
        let page = dashboard::runs(self.db(), self.me.id, filter, None, 500)
            .await
            .unwrap();
        assert_eq!(page.next, None);
        page.runs.iter().map(|r| r.run.id).collect()
    }

    async fn activity(&self) -> Vec<i64> {
        let page = dashboard::activity(self.db(), &self.me().await, None, 20)
            .await
            .unwrap();
        page.runs.iter().map(|r| r.run.id).collect()
    }
}

async fn operator(db: &DatabaseConnection, n: i64) -> Operator {
    let _now = now();
    let id = seed::operator(db, 1000 + n, "Asia/Kuala_Lumpur").await.id;
    let account = account(db, id, "office", AccountStatus::Connected).await;
    let reminder = reminder(db, id, account, "Standup", ReminderStatus::Active).await;
    Operator {
        id,
        account,
        reminder,
    }
}

async fn account(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
    status: AccountStatus,
) -> i64 {
    seed::account(db, operator_id, label, status).await.id
}

async fn reminder(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    name: &str,
    status: ReminderStatus,
) -> reminders::Model {
    reminders::ActiveModel {
        operator_id: Set(operator_id),
        account_id: Set(account_id),
        name: Set(name.into()),
        timezone: Set("Asia/Kuala_Lumpur".into()),
        status: Set(status),
        dtstart: Set(utc(2031, 3, 4, 1, 0)),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

async fn run_of(
    db: &DatabaseConnection,
    reminder: &reminders::Model,
    at: DateTime<Utc>,
    status: RunStatus,
    targets: &[TargetStatus],
) -> i64 {
    let run = reminder_runs::ActiveModel {
        reminder_id: Set(Some(reminder.id)),
        reminder_name: Set(reminder.name.clone()),
        account_id: Set(Some(reminder.account_id)),
        occurrence_at: Set(at),
        status: Set(status),
        created_at: Set(at),
        operator_id: Set(Some(reminder.operator_id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    for (n, status) in targets.iter().enumerate() {
        reminder_run_targets::ActiveModel {
            run_id: Set(run),
            group_jid: Set(format!("{run}-{n}@g.us")),
            group_name: Set(format!("Group {n}")),
            status: Set(*status),
            attempts: Set(0),
            parts_sent: Set(0),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    run
}

#[tokio::test]
async fn todays_figures_count_the_operators_own_day() {
    let w = World::new().await;
    let db = w.db();
    account(db, w.me.id, "shop", AccountStatus::LoggedOut).await;
    account(db, w.me.id, "spare", AccountStatus::Unpaired).await;
    reminder(db, w.me.id, w.me.account, "Weekly", ReminderStatus::Active).await;
    reminder(db, w.me.id, w.me.account, "Held", ReminderStatus::Paused).await;

    // Today in Kuala Lumpur is 2031-03-02 16:00 UTC up to 2031-03-03 16:00 UTC.
    w.run(utc(2031, 3, 2, 15, 59), RunStatus::Failed, &[]).await; // yesterday there
    w.run(utc(2031, 3, 2, 16, 0), RunStatus::Success, &[]).await;
    w.run(utc(2031, 3, 3, 9, 0), RunStatus::Failed, &[]).await;
    w.run(utc(2031, 3, 3, 9, 30), RunStatus::Partial, &[]).await;
    // Skipped (its account was offline) reached no group: a problem like a failure. A run the
    // operator cancelled is not one.
    w.run(utc(2031, 3, 3, 9, 45), RunStatus::Skipped, &[]).await;
    w.run(utc(2031, 3, 3, 9, 50), RunStatus::Cancelled, &[])
        .await;
    w.run(utc(2031, 3, 3, 16, 0), RunStatus::Pending, &[]).await; // tomorrow there
    run_of(
        db,
        &w.other.reminder,
        utc(2031, 3, 3, 9, 0),
        RunStatus::Failed,
        &[],
    )
    .await;

    let stats = dashboard::stats(db, w.me.id, zone("Asia/Kuala_Lumpur"), now())
        .await
        .unwrap();
    assert_eq!(
        stats,
        dashboard::Stats {
            accounts_connected: 1,
            accounts_total: 3,
            active_reminders: 2,
            reminders_total: 3,
            runs_today: 5,
            problems_today: 3,
        }
    );

    // The same runs on a London clock: today there is 2031-03-03 00:00–24:00 UTC.
    let london = dashboard::stats(db, w.me.id, zone("Europe/London"), now())
        .await
        .unwrap();
    assert_eq!((london.runs_today, london.problems_today), (5, 3));
}

#[tokio::test]
async fn clearing_the_feed_keeps_every_run_and_is_audited() {
    let w = World::new().await;
    let db = w.db();
    let older = w.run(utc(2031, 3, 3, 8, 0), RunStatus::Success, &[]).await;
    let newer = w.run(utc(2031, 3, 3, 9, 0), RunStatus::Failed, &[]).await;
    run_of(
        db,
        &w.other.reminder,
        utc(2031, 3, 3, 9, 30),
        RunStatus::Success,
        &[],
    )
    .await;
    assert_eq!(w.activity().await, [newer, older]);

    service::operators::clear_activity(db, Actor::Operator, w.me.id, now())
        .await
        .unwrap();
    assert_eq!(w.me().await.activity_cleared_at, Some(now()));
    assert_eq!(w.activity().await, Vec::<i64>::new());
    // History is untouched: the runs list (and the reminder's page) still has both.
    assert_eq!(w.ids(&RunFilter::default()).await, [newer, older]);
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("dashboard.activity_cleared"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator_id, Some(w.me.id));
    assert_eq!(audit[0].actor, "operator");

    // A run recorded afterwards appears, even for an occurrence from before the clearing (a
    // missed one recorded late); the other operator's feed never had anything to clear.
    let late = w.run(utc(2031, 3, 3, 10, 1), RunStatus::Success, &[]).await;
    let missed = run_of(
        db,
        &w.me.reminder,
        utc(2031, 3, 3, 7, 0),
        RunStatus::Skipped,
        &[],
    )
    .await;
    reminder_runs::Entity::update(reminder_runs::ActiveModel {
        id: Set(missed),
        created_at: Set(utc(2031, 3, 3, 10, 2)),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();
    assert_eq!(w.activity().await, [late, missed]);
    let others = operators::Entity::find_by_id(w.other.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(others.activity_cleared_at, None);
    let page = dashboard::activity(db, &others, None, 20).await.unwrap();
    assert_eq!(page.runs.len(), 1);
}

#[tokio::test]
async fn a_deleted_reminders_runs_keep_their_name() {
    let w = World::new().await;
    let db = w.db();
    let gone = reminder(
        db,
        w.me.id,
        w.me.account,
        "Old promo",
        ReminderStatus::Ended,
    )
    .await;
    let run = run_of(db, &gone, utc(2031, 3, 3, 9, 0), RunStatus::Success, &[]).await;
    gone.delete(db).await.unwrap();

    let page = dashboard::activity(db, &w.me().await, None, 20)
        .await
        .unwrap();
    let summary = &page.runs[0];
    assert_eq!(summary.run.id, run);
    assert_eq!(summary.run.reminder_id, None);
    assert_eq!(summary.run.reminder_name, "Old promo");
}

#[tokio::test]
async fn the_last_fire_is_the_operators_newest_run() {
    let w = World::new().await;
    assert_eq!(dashboard::last_fire(w.db(), w.me.id).await.unwrap(), None);
    w.run(utc(2031, 3, 3, 9, 0), RunStatus::Success, &[]).await;
    w.run(utc(2031, 3, 3, 11, 0), RunStatus::Failed, &[]).await;
    w.run(utc(2031, 3, 3, 10, 0), RunStatus::Success, &[]).await;
    // Another operator's later run is not mine.
    run_of(
        w.db(),
        &w.other.reminder,
        utc(2031, 3, 3, 12, 0),
        RunStatus::Success,
        &[],
    )
    .await;
    assert_eq!(
        dashboard::last_fire(w.db(), w.me.id).await.unwrap(),
        Some((utc(2031, 3, 3, 11, 0), "Standup".to_owned()))
    );
}

#[tokio::test]
async fn each_run_carries_the_tally_of_its_groups() {
    let w = World::new().await;
    use TargetStatus::*;
    let partial = w
        .run(
            utc(2031, 3, 3, 9, 0),
            RunStatus::Partial,
            &[Sent, Sent, Failed, Unknown],
        )
        .await;
    let running = w
        .run(
            utc(2031, 3, 3, 9, 30),
            RunStatus::Running,
            &[Sent, Sending, Pending],
        )
        .await;
    let empty = w.run(utc(2031, 3, 3, 9, 45), RunStatus::Skipped, &[]).await;

    let page = dashboard::runs(w.db(), w.me.id, &RunFilter::default(), None, 50)
        .await
        .unwrap();
    let tallies: Vec<(i64, u32, u32)> = page
        .runs
        .iter()
        .map(|r| (r.run.id, r.counts.sent, r.counts.total()))
        .collect();
    assert_eq!(tallies, [(empty, 0, 0), (running, 1, 3), (partial, 2, 4)]);
    assert_eq!(
        page.runs[2].counts,
        RunCounts {
            sent: 2,
            failed: 1,
            unknown: 1,
            ..RunCounts::default()
        }
    );
}

#[tokio::test]
async fn the_runs_list_filters_by_day_and_status() {
    let w = World::new().await;
    let db = w.db();
    let kl = zone("Asia/Kuala_Lumpur");
    let yesterday = w.run(utc(2031, 3, 2, 9, 0), RunStatus::Failed, &[]).await;
    let failed = w.run(utc(2031, 3, 3, 9, 0), RunStatus::Failed, &[]).await;
    let partial = w.run(utc(2031, 3, 3, 9, 30), RunStatus::Partial, &[]).await;
    let sent = w.run(utc(2031, 3, 3, 9, 45), RunStatus::Success, &[]).await;
    let skipped = w.run(utc(2031, 3, 3, 9, 50), RunStatus::Skipped, &[]).await;
    let cancelled = w
        .run(utc(2031, 3, 3, 9, 55), RunStatus::Cancelled, &[])
        .await;
    run_of(
        db,
        &w.other.reminder,
        utc(2031, 3, 3, 9, 0),
        RunStatus::Failed,
        &[],
    )
    .await;

    let today_range = day_range(kl, parse_day("today", kl, now()).unwrap());
    let on = |occurred, status: Option<&str>| RunFilter {
        occurred: Some(occurred),
        status: status.map(|s| s.parse().unwrap()),
        ..RunFilter::default()
    };
    assert_eq!(
        w.ids(&RunFilter::default()).await,
        [cancelled, skipped, sent, partial, failed, yesterday]
    );
    assert_eq!(
        w.ids(&on(today_range.clone(), None)).await,
        [cancelled, skipped, sent, partial, failed]
    );
    // Problems: every run that left a wanted group unreached.
    assert_eq!(
        w.ids(&on(today_range.clone(), Some("problems"))).await,
        [skipped, partial, failed]
    );
    assert_eq!(
        w.ids(&on(today_range.clone(), Some("failed"))).await,
        [failed]
    );
    assert_eq!(w.ids(&on(today_range, Some("partial"))).await, [partial]);
    let march_2 = day_range(kl, parse_day("2031-03-02", kl, now()).unwrap());
    assert_eq!(w.ids(&on(march_2, Some("problems"))).await, [yesterday]);
    let problems_any_day = RunFilter {
        status: Some(StatusFilter::Problems),
        ..RunFilter::default()
    };
    assert_eq!(
        w.ids(&problems_any_day).await,
        [skipped, partial, failed, yesterday]
    );

    assert_eq!("problems".parse(), Ok(StatusFilter::Problems));
    assert_eq!("failed".parse(), Ok(StatusFilter::Only(RunStatus::Failed)));
    assert_eq!(
        "skipped".parse(),
        Ok(StatusFilter::Only(RunStatus::Skipped))
    );
    assert!("broken".parse::<StatusFilter>().is_err());
    assert_eq!(parse_day(" 2031-03-02 ", kl, now()), Ok(date(2031, 3, 2)));
    assert!(parse_day("03/02/2031", kl, now()).is_err());
    assert!(parse_day("2031-02-30", kl, now()).is_err());
}

#[tokio::test]
async fn keyset_pages_visit_every_run_once_in_order() {
    let w = World::new().await;
    // Two reminders firing at the same minutes: ties on the occurrence are broken by id.
    let second = reminder(
        w.db(),
        w.me.id,
        w.me.account,
        "Second",
        ReminderStatus::Active,
    )
    .await;
    let mut all = Vec::new();
    for minute in 0..4 {
        let at = utc(2031, 3, 3, 9, minute);
        all.push(w.run(at, RunStatus::Success, &[]).await);
        all.push(run_of(w.db(), &second, at, RunStatus::Success, &[]).await);
    }
    // Newest occurrence first, then the higher id.
    all.reverse();

    let mut seen = Vec::new();
    let mut before: Option<RunCursor> = None;
    let mut pages = 0;
    loop {
        let RunPage { runs, next } =
            dashboard::runs(w.db(), w.me.id, &RunFilter::default(), before, 3)
                .await
                .unwrap();
        pages += 1;
        seen.extend(runs.iter().map(|r| r.run.id));
        let Some(next) = next else { break };
        // The cursor survives a trip through the URL.
        let written = next.to_string();
        assert_eq!(written.parse::<RunCursor>(), Ok(next));
        before = Some(written.parse().unwrap());
    }
    assert_eq!(seen, all);
    assert_eq!(pages, 3);
    // A page that ends exactly at the last run says there is nothing more.
    let exact = dashboard::runs(w.db(), w.me.id, &RunFilter::default(), None, 8)
        .await
        .unwrap();
    assert_eq!((exact.runs.len(), exact.next), (8, None));
    assert!("12".parse::<RunCursor>().is_err());
    assert!("x.3".parse::<RunCursor>().is_err());
}

#[tokio::test]
async fn accounts_that_need_attention_come_first() {
    let w = World::new().await;
    let db = w.db();
    let spare = account(db, w.me.id, "spare", AccountStatus::Unpaired).await;
    let dropped = account(db, w.me.id, "dropped", AccountStatus::Disconnected).await;
    let banned = account(db, w.me.id, "banned", AccountStatus::Banned).await;
    let out = account(db, w.me.id, "out", AccountStatus::LoggedOut).await;
    let order: Vec<i64> = dashboard::account_health(db, w.me.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(order, [banned, out, dropped, w.me.account, spare]);
}

#[test]
fn a_day_runs_from_its_first_instant_to_the_next_days() {
    let kl = zone("Asia/Kuala_Lumpur");
    assert_eq!(today(kl, utc(2031, 3, 3, 15, 59)), date(2031, 3, 3));
    assert_eq!(today(kl, utc(2031, 3, 3, 16, 0)), date(2031, 3, 4));
    assert_eq!(
        day_range(kl, date(2031, 3, 3)),
        utc(2031, 3, 2, 16, 0)..utc(2031, 3, 3, 16, 0)
    );
    // London springs forward at 01:00: a 23-hour day.
    assert_eq!(
        day_range(zone("Europe/London"), date(2031, 3, 30)),
        utc(2031, 3, 30, 0, 0)..utc(2031, 3, 30, 23, 0)
    );
    // Santiago skips midnight itself (00:00 → 01:00): the day starts at 01:00 local.
    assert_eq!(
        day_range(zone("America/Santiago"), date(2024, 9, 8)),
        utc(2024, 9, 8, 4, 0)..utc(2024, 9, 9, 3, 0)
    );
    // Samoa skipped 30 December 2011 altogether.
    let samoa = day_range(zone("Pacific/Apia"), date(2011, 12, 30));
    assert!(samoa.is_empty(), "{samoa:?}");
}

#[test]
fn times_read_on_the_operators_clock() {
    let kl = zone("Asia/Kuala_Lumpur");
    assert_eq!(when(utc(2031, 3, 3, 1, 5), kl, now()), "Today 09:05");
    assert_eq!(when(utc(2031, 3, 2, 10, 30), kl, now()), "Yesterday 18:30");
    assert_eq!(when(utc(2031, 3, 4, 1, 0), kl, now()), "Tomorrow 09:00");
    assert_eq!(when(utc(2031, 2, 24, 1, 0), kl, now()), "Mon 24 Feb 09:00");
    assert_eq!(when(utc(2030, 12, 31, 17, 0), kl, now()), "Wed 1 Jan 01:00");
    assert_eq!(
        when(utc(2030, 12, 31, 15, 0), kl, now()),
        "31 Dec 2030 23:00"
    );
}
