//! The delivery harness: a worker on the simulator with a paired account in 12 groups, on a
//! clock the test moves.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use domain::{
    account::AccountLabel,
    bus::{Command, Event},
    pacing::Rules,
    status::{MessageKind, Provider, RunStatus},
};
use entity::{reminder_run_targets, reminder_runs, reminders, whatsapp_groups};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use service::{
    accounts,
    audit::Actor,
    bus::events,
    reminders::{PartInput, ReminderInput},
};
use testkit::TestDb;
use tokio::sync::oneshot;
use worker::{
    Options,
    clock::{Clock, ManualClock},
    delivery,
    provider::sim::SimProvider,
    sessions::Settings,
};

/// Monday 4 January 2027, 08:00 UTC (London is on GMT then, so local = UTC).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap()
}

pub fn local(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2027, 1, 4)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

pub fn pacing_off() -> Rules {
    Rules {
        min_interval: Duration::ZERO,
        jitter: Duration::ZERO,
        per_minute: 1_000_000,
        per_hour_global: 1_000_000,
    }
}

/// One send a minute, exactly: runs that span a window's end or a stop.
pub fn one_a_minute() -> Rules {
    Rules {
        min_interval: Duration::from_secs(60),
        jitter: Duration::ZERO,
        ..pacing_off()
    }
}

pub fn settings(pacing: Rules) -> delivery::Settings {
    delivery::Settings {
        pacing,
        grace: chrono::Duration::minutes(10),
        retry_delays: [30, 120, 600].map(chrono::Duration::seconds).to_vec(),
        send_timeout: Duration::from_secs(10),
    }
}

pub struct Harness {
    pub db: DatabaseConnection,
    pub clock: Arc<ManualClock>,
    pub sim: Arc<SimProvider>,
    pub delivery: Arc<worker::delivery::Delivery>,
    pub operator_id: i64,
    pub account_id: i64,
    pub groups: Vec<whatsapp_groups::Model>,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    /// A worker with a paired simulated account in 12 groups; sends answer at once.
    pub async fn start(test: &TestDb, data_dir: &std::path::Path, pacing: Rules) -> Self {
        Self::start_with(test, data_dir, settings(pacing), 0).await
    }

    /// As [`Harness::start`], with these delivery settings and sends taking `latency_ms` of real
    /// time.
    pub async fn start_with(
        test: &TestDb,
        data_dir: &std::path::Path,
        settings: delivery::Settings,
        latency_ms: u32,
    ) -> Self {
        let clock = ManualClock::new(t0());
        let mut harness = Self::launch(test, data_dir, clock, settings, latency_ms).await;
        harness.operator_id = {
            service::operators::sync_whitelist(&harness.db, &[], domain::timezone::TimeZone::UTC)
                .await
                .unwrap();
            service::operators::active(&harness.db).await.unwrap()[0].id
        };
        harness.account_id = accounts::add(
            &harness.db,
            Actor::Operator,
            harness.operator_id,
            &AccountLabel::parse("Bakery").unwrap(),
            Provider::Sim,
        )
        .await
        .unwrap()
        .id;
        harness.pair().await;
        harness
    }

    pub async fn launch(
        test: &TestDb,
        data_dir: &std::path::Path,
        clock: Arc<ManualClock>,
        settings: delivery::Settings,
        latency_ms: u32,
    ) -> Self {
        // Simulated delays run at a hundredth of real time, or a tenth for sends slower than
        // the simulator's latency setting allows at a hundredth.
        let (scale, factor) = if latency_ms <= 600 {
            ("0.01", 100)
        } else {
            ("0.1", 10)
        };
        let latency = (latency_ms * factor).to_string();
        let config = testkit::config(&[
            ("DATABASE_URL", test.url.expose()),
            ("DATA_DIR", data_dir.to_str().unwrap()),
            ("WORKER_HEALTH_ADDR", "127.0.0.1:0"),
            ("WA_PROVIDER", "sim"),
            ("SIM_TIME_SCALE", scale),
            ("SIM_SEND_LATENCY_MS", &latency),
            ("SIM_GROUP_COUNT", "12"),
            ("RUST_LOG", "warn"),
        ]);
        let options = Options {
            sessions: Settings::default(),
            delivery: settings,
            clock: clock.clone(),
        };
        let worker = worker::Worker::start_with(config, options)
            .await
            .expect("worker starts");
        let sim = worker.sim();
        let delivery = worker.delivery();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            db: test.db.clone(),
            clock,
            sim,
            delivery,
            operator_id: 0,
            account_id: 0,
            groups: Vec::new(),
            stop: Some(stop),
            stopped: Some(task),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.stopped.take().unwrap().await.unwrap().unwrap();
    }

    pub async fn pair(&mut self) {
        let account_id = self.account_id;
        accounts::request(
            &self.db,
            Actor::Operator,
            self.operator_id,
            &Command::Pair {
                account_id,
                phone: None,
            },
        )
        .await
        .unwrap();
        self.wait("a QR code", || async {
            self.sim.scan(account_id, None).ok()
        })
        .await;
        self.wait("groups to sync", || async {
            let groups = accounts::groups(&self.db, account_id).await.unwrap();
            (groups.len() == 12).then_some(())
        })
        .await;
        self.groups = accounts::groups(&self.db, account_id).await.unwrap();
    }

    /// Polls `check` (every 10 ms, for at most 30 s of real time: every test of the file runs
    /// at once, each with a worker, on as few as two cores) until it yields a value.
    pub async fn wait<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = check().await {
                return found;
            }
            if std::time::Instant::now() >= deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn input(&self, name: &str, start: NaiveDateTime, groups: &[usize]) -> ReminderInput {
        ReminderInput {
            account_id: self.account_id,
            name: name.to_owned(),
            timezone: "Europe/London".to_owned(),
            start_local: start,
            rrule: None,
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: None,
            parts: vec![PartInput {
                kind: MessageKind::Text,
                body: Some(format!("{name}: see you there")),
                media_file_id: None,
            }],
            group_ids: groups.iter().map(|&i| self.groups[i].id).collect(),
        }
    }

    pub async fn create(&self, input: ReminderInput) -> reminders::Model {
        service::reminders::create(
            &self.db,
            Actor::Operator,
            self.operator_id,
            &input,
            self.clock.now(),
        )
        .await
        .expect("a valid reminder")
    }

    pub async fn runs(&self, reminder_id: i64) -> Vec<reminder_runs::Model> {
        reminder_runs::Entity::find()
            .filter(reminder_runs::Column::ReminderId.eq(reminder_id))
            .order_by_asc(reminder_runs::Column::OccurrenceAt)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// Waits for the reminder's run of `occurrence` to reach a status other than running.
    pub async fn settled_run(
        &self,
        reminder_id: i64,
        occurrence: DateTime<Utc>,
    ) -> reminder_runs::Model {
        self.wait("the run to settle", || async {
            self.runs(reminder_id)
                .await
                .into_iter()
                .find(|r| r.occurrence_at == occurrence && r.status != RunStatus::Running)
        })
        .await
    }

    pub async fn targets(&self, run_id: i64) -> Vec<reminder_run_targets::Model> {
        reminder_run_targets::Entity::find()
            .filter(reminder_run_targets::Column::RunId.eq(run_id))
            .order_by_asc(reminder_run_targets::Column::Id)
            .all(&self.db)
            .await
            .unwrap()
    }

    pub async fn events(&self) -> Vec<Event> {
        events::after(&self.db, self.operator_id, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .collect()
    }

    /// Moves the clock in `step`s until `until`, letting the worker act between steps.
    pub async fn tick_until(&self, until: DateTime<Utc>, step: chrono::Duration) {
        while self.clock.now() < until {
            self.clock.advance(step);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Moves the clock in `step`s, letting the worker act between steps, until the reminder's
    /// run of `occurrence` has a status `done` accepts. Ticks wait for the worker, so a slow
    /// machine only makes the test slower.
    pub async fn tick_until_run(
        &self,
        reminder_id: i64,
        occurrence: DateTime<Utc>,
        step: chrono::Duration,
        done: impl Fn(RunStatus) -> bool,
    ) -> reminder_runs::Model {
        for _ in 0..20_000 {
            let runs = self.runs(reminder_id).await;
            if let Some(run) = runs
                .into_iter()
                .find(|r| r.occurrence_at == occurrence && done(r.status))
            {
                return run;
            }
            self.clock.advance(step);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("timed out ticking towards the run of {occurrence}");
    }

    /// Messages in the simulator's outbox, by group.
    pub async fn outbox(&self) -> std::collections::HashMap<String, usize> {
        let mut by_group = std::collections::HashMap::new();
        for message in self.sim.sent(self.account_id).await.unwrap() {
            *by_group.entry(message.group_jid).or_default() += 1;
        }
        by_group
    }

    /// Waits for the simulator to have sent `n` messages.
    pub async fn sent_count(&self, n: usize) {
        self.wait("sends", || async {
            (self.sim.sent(self.account_id).await.unwrap().len() >= n).then_some(())
        })
        .await;
    }
}

pub fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, h, m, s).unwrap()
}

impl Harness {
    /// A fresh worker on an installation an earlier harness set up and stopped.
    pub async fn restart_from(
        test: &TestDb,
        data_dir: &std::path::Path,
        clock: Arc<ManualClock>,
        pacing: Rules,
    ) -> Self {
        let mut h = Self::launch(test, data_dir, clock, settings(pacing), 0).await;
        h.operator_id = service::operators::active(&h.db).await.unwrap()[0].id;
        h.account_id = accounts::list(&h.db, h.operator_id).await.unwrap()[0].id;
        h.groups = accounts::groups(&h.db, h.account_id).await.unwrap();
        h
    }
}
