//! One trial: a fresh database and data directory, the real server and worker on the
//! simulator, paired accounts and reminders, then random operator actions and faults for the
//! trial's duration, a settling phase with every fault healed, and the checks.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Child,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use domain::status::{ReminderStatus, RunStatus};
use entity::{reminder_owed_fires, reminder_runs, reminders};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter,
};
use serde_json::json;

use crate::{
    api::{CallError, Dashboard, SimControl},
    check::{self, Findings},
    fake_bot::FakeBotApi,
    model::{self, Op, OpKind, Reminder, Repeat, Schedule, Version},
    procs::{self, Setup},
    rng::Rng,
};

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL server (`admin_url` may create databases); `restart` is a shell command
    /// that restarts it, when the harness may.
    Postgres {
        admin_url: String,
        restart: Option<String>,
    },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub short: bool,
    /// Keep every trial's directory and database, not only a failed one's.
    pub keep: bool,
    pub bin_dir: PathBuf,
    pub work_dir: PathBuf,
}

/// What a trial did and found.
#[derive(Debug, Default)]
pub struct Report {
    pub actions: u64,
    pub kills: u64,
    pub terms: u64,
    pub faults: u64,
    pub pg_restarts: u64,
    pub findings: Findings,
    pub log: Vec<String>,
    pub dir: PathBuf,
}

/// Zones offset by full, half and three-quarter hours, in both hemispheres.
const ZONES: [Tz; 8] = [
    chrono_tz::UTC,
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Pacific::Auckland,
    chrono_tz::America::St_Johns,
];

const WORDS: [&str; 8] = [
    "Doors open at nine",
    "Bring your own towel",
    "Rehearsal moves to hall B",
    "Payment is due Friday",
    "The bakery closes early",
    "Training starts sharp",
    "Remember the permission slips",
    "Parking is on the east side",
];

struct Account {
    id: i64,
    label: String,
    groups: Vec<i64>,
}

pub struct Trial {
    seed: u64,
    backend: Backend,
    options: Options,
    rng: Rng,
    began: Instant,
    log: Vec<String>,
    setup: Setup,
    bot: FakeBotApi,
    server: Option<Child>,
    worker: Option<Child>,
    dash: Option<Dashboard>,
    sim: SimControl,
    db: Option<DatabaseConnection>,
    accounts: Vec<Account>,
    reminders: Vec<Reminder>,
    tests: Vec<String>,
    /// Accounts to pair again (after a logout or a ban), and from when.
    repair: Vec<(i64, Instant)>,
    /// When the worker or the database was away: occurrences then may be fired late or missed.
    outages: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    worker_down_since: Option<DateTime<Utc>>,
    /// When Telegram answers again after an outage.
    telegram_back_at: Option<Instant>,
    /// When the chaos phase ends.
    chaos_end: Option<Instant>,
    report: Report,
    pg_database: Option<String>,
}

impl Trial {
    pub async fn run(seed: u64, backend: Backend, options: Options) -> Report {
        let dir = options
            .work_dir
            .join(format!("{}-{seed:016x}", backend.name()));
        let mut trial = match Self::prepare(seed, backend, options, dir.clone()).await {
            Ok(trial) => trial,
            Err(e) => {
                let mut report = Report {
                    dir,
                    ..Report::default()
                };
                report
                    .findings
                    .harness
                    .push(format!("could not set the trial up: {e:#}"));
                return report;
            }
        };
        if let Err(e) = trial.drive().await {
            trial
                .report
                .findings
                .harness
                .push(format!("the trial stopped early: {e:#}"));
        }
        trial.finish().await
    }

    async fn prepare(
        seed: u64,
        backend: Backend,
        options: Options,
        dir: PathBuf,
    ) -> anyhow::Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(dir.join("data"))?;
        let (database_url, pg_database) = match &backend {
            Backend::Sqlite => (format!("sqlite://{}/herald.db", dir.display()), None),
            Backend::Postgres { admin_url, .. } => {
                let name = format!("herald_chaos_{seed:016x}");
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .context("connecting to the PostgreSQL server")?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await.ok();
                (url_with_path(admin_url, &name)?, Some(name))
            }
        };
        let bot = FakeBotApi::start().await?;
        let setup = Setup {
            bin_dir: options.bin_dir.clone(),
            dir: dir.clone(),
            database_url,
            server_port: procs::free_port()?,
            worker_port: procs::free_port()?,
            bot_api_url: bot.url.clone(),
        };
        let sim = SimControl::new(setup.control());
        Ok(Self {
            seed,
            backend,
            options,
            rng: Rng::new(seed),
            began: Instant::now(),
            log: Vec::new(),
            setup,
            bot,
            server: None,
            worker: None,
            dash: None,
            sim,
            db: None,
            accounts: Vec::new(),
            reminders: Vec::new(),
            tests: Vec::new(),
            repair: Vec::new(),
            outages: Vec::new(),
            worker_down_since: None,
            telegram_back_at: None,
            chaos_end: None,
            report: Report {
                dir,
                ..Report::default()
            },
            pg_database,
        })
    }

    fn note(&mut self, line: impl AsRef<str>) {
        let at = self.began.elapsed().as_secs_f64();
        self.log.push(format!("[{at:7.3}s] {}", line.as_ref()));
    }

    fn dash(&self) -> anyhow::Result<&Dashboard> {
        self.dash.as_ref().context("not signed in")
    }

    async fn start_server(&mut self) -> anyhow::Result<()> {
        self.server = Some(self.setup.spawn_server()?);
        let health = format!("{}/api/health", self.setup.base());
        if !procs::wait_up(&health, Duration::from_secs(60)).await {
            bail!("herald-server did not answer {health} within 60 s");
        }
        self.note("server up");
        Ok(())
    }

    async fn start_worker(&mut self) -> anyhow::Result<()> {
        self.worker = Some(self.setup.spawn_worker()?);
        let health = format!("{}/health", self.setup.control());
        if !procs::wait_up(&health, Duration::from_secs(60)).await {
            bail!("herald-worker did not answer {health} within 60 s");
        }
        if let Some(since) = self.worker_down_since.take() {
            self.outages.push((since, Utc::now()));
        }
        self.note("worker up");
        Ok(())
    }

    async fn drive(&mut self) -> anyhow::Result<()> {
        self.note(format!(
            "trial seed {:016x} on {}",
            self.seed,
            self.backend.name()
        ));
        self.start_server().await?;
        self.start_worker().await?;
        let token = self.setup.login_token()?;
        self.dash = Some(Dashboard::sign_in(&self.setup.base(), &token).await?);
        let mut options = ConnectOptions::new(self.setup.database_url.clone());
        options.max_connections(2).sqlx_logging(false);
        self.db = Some(Database::connect(options).await?);

        let accounts = if self.rng.chance(50) { 2 } else { 1 };
        for label in ["Chaos A", "Chaos B"].into_iter().take(accounts) {
            let id = self
                .dash()?
                .add_account(label)
                .await
                .map_err(|e| anyhow::anyhow!("adding {label}: {e}"))?;
            self.pair(id).await?;
            let groups = self.wait_for_groups(id).await?;
            self.note(format!("{label} (#{id}) paired, {} groups", groups.len()));
            self.accounts.push(Account {
                id,
                label: label.to_owned(),
                groups,
            });
        }

        let initial = self.rng.range(3, 5);
        for _ in 0..initial {
            self.create().await;
        }

        let seconds = if self.options.short {
            self.rng.range(12, 16)
        } else {
            self.rng.range(20, 40)
        };
        let chaos = Duration::from_secs(seconds);
        let start = Instant::now();
        self.chaos_end = Some(start + chaos);
        let kill_at = start + chaos.mul_f64(self.rng.range(15, 70) as f64 / 100.0);
        let mut killed = false;
        let pg_restart_at = start + chaos.mul_f64(self.rng.range(30, 70) as f64 / 100.0);
        let mut pg_restarted = false;
        // CHAOS_CALM=1: operator actions only, no faults — a baseline when a trial fails.
        let calm = std::env::var("CHAOS_CALM").is_ok_and(|v| v == "1");
        self.note(format!(
            "chaos for {seconds} s{}",
            if calm { " (calm)" } else { "" }
        ));
        let mut looked = Instant::now();
        while start.elapsed() < chaos {
            let pause = self.rng.range(150, 700);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            // A pairing a restart interrupted leaves the account unpaired: pair it again.
            if looked.elapsed() > Duration::from_secs(3) && self.worker.is_some() {
                looked = Instant::now();
                self.queue_unpaired().await;
            }
            self.repair_due(false).await;
            if self.telegram_back_at.is_some_and(|at| at <= Instant::now()) {
                self.telegram_back_at = None;
                self.bot.set_down(false);
                self.note("Telegram answers again");
            }
            if calm {
                self.action().await;
                continue;
            }
            if !killed && Instant::now() >= kill_at {
                killed = true;
                self.kill_worker(true).await?;
                continue;
            }
            if !pg_restarted && Instant::now() >= pg_restart_at {
                pg_restarted = true;
                self.restart_postgres().await?;
                continue;
            }
            if self.rng.chance(70) {
                self.action().await;
            } else {
                self.fault().await?;
            }
        }
        let cutoff = Utc::now();
        self.note("chaos over: healing everything");
        self.bot.set_down(false);
        if self.worker.is_none() {
            self.start_worker().await?;
        }
        self.settle().await?;
        let findings = check::run(self, cutoff).await?;
        self.report.findings.merge(findings);
        Ok(())
    }

    /// Starts a pairing through the dashboard and scans its QR code through the simulator.
    async fn pair(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.dash()?
            .pair_account(account_id)
            .await
            .map_err(|e| anyhow::anyhow!("pairing #{account_id}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.sim.scan(account_id).await {
                self.note(format!("scanned the QR code of #{account_id}"));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("no QR code to scan for #{account_id} within 30 s")
    }

    async fn wait_for_groups(&mut self, account_id: i64) -> anyhow::Result<Vec<i64>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let connected = self.dash()?.account_statuses().await.is_ok_and(|all| {
                all.iter()
                    .any(|(id, s)| *id == account_id && s == "connected")
            });
            if connected
                && let Ok(groups) = self.dash()?.group_choices(account_id).await
                && !groups.is_empty()
            {
                return Ok(groups);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("account #{account_id} was not connected with its groups within 30 s")
    }

    /// Pairs again the accounts a logout or ban took away (all of them with `all`).
    async fn repair_due(&mut self, all: bool) {
        if self.worker.is_none() {
            return;
        }
        let now = Instant::now();
        let due: Vec<i64> = self
            .repair
            .iter()
            .filter(|(_, at)| all || *at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            match self.pair(id).await {
                Ok(()) => self.repair.retain(|(a, _)| *a != id),
                Err(e) => {
                    self.note(format!("re-pairing #{id} failed for now: {e:#}"));
                    for entry in self.repair.iter_mut().filter(|(a, _)| *a == id) {
                        entry.1 = Instant::now() + Duration::from_secs(1);
                    }
                }
            }
        }
    }

    // ---- operator actions -------------------------------------------------------------

    async fn action(&mut self) {
        self.report.actions += 1;
        let alive = self.reminders.iter().filter(|r| !r.deleted()).count();
        let create = if alive > 12 { 2 } else { 14 };
        match self.rng.weighted(&[create, 22, 8, 8, 6, 4, 8, 4]) {
            0 => self.create().await,
            1 => self.edit().await,
            2 => self.pause().await,
            3 => self.resume().await,
            4 => self.duplicate().await,
            5 => self.delete().await,
            6 => self.send_test().await,
            _ => self.paused_run().await,
        }
    }

    /// A schedule a few seconds ahead, in a random zone; sometimes recurring.
    fn schedule(&mut self) -> Schedule {
        let lead = TimeDelta::seconds(self.rng.range(3, 22) as i64);
        let (zone, start) = loop {
            let zone = *self.rng.pick(&ZONES).unwrap_or(&chrono_tz::UTC);
            let at = Utc::now() + lead;
            let local = at.with_timezone(&zone).naive_local();
            let local = local.with_nanosecond(0).unwrap_or(local);
            // A wall time that names one instant (never in a clock change).
            if zone.from_local_datetime(&local).single().is_some() {
                break (zone, local);
            }
        };
        let repeat = match self.rng.weighted(&[55, 25, 12, 8]) {
            0 => Repeat::Once,
            1 => Repeat::Daily { count: None },
            2 => {
                let today = start.weekday();
                let other = today.succ().succ().succ();
                let mut weekdays = vec![today];
                if self.rng.chance(50) {
                    weekdays.push(other);
                }
                weekdays.sort_by_key(|d| d.num_days_from_monday());
                Repeat::Weekly { weekdays }
            }
            _ => Repeat::Daily {
                count: Some(self.rng.range(1, 3) as u32),
            },
        };
        // A recurring start may lie in the past: the first occurrence is still today's.
        let start = match repeat {
            Repeat::Daily { count: None } if self.rng.chance(30) => start - TimeDelta::days(1),
            _ => start,
        };
        Schedule {
            zone,
            start,
            repeat,
        }
    }

    /// A one-off due a second or two before some zone's clock reaches a full hour, with its send
    /// window ending at that hour: its run pauses mid-way. Only when such an hour falls within
    /// the rest of the chaos phase (zones here change hour every 15 minutes of UTC).
    fn closing_window(&mut self) -> Option<(Schedule, u8)> {
        let end = self.chaos_end?;
        let now = Utc::now();
        let left = TimeDelta::from_std(end.saturating_duration_since(Instant::now())).ok()?;
        let mut candidates = Vec::new();
        for zone in ZONES {
            let local = now.with_timezone(&zone).naive_local();
            let hour = local.date().and_hms_opt(local.hour(), 0, 0)? + TimeDelta::hours(1);
            let Some(at) = zone.from_local_datetime(&hour).single() else {
                continue;
            };
            let lead = at.with_timezone(&Utc) - now;
            if lead > TimeDelta::seconds(5) && lead < left - TimeDelta::seconds(2) {
                candidates.push((zone, hour));
            }
        }
        let (zone, hour) = *self.rng.pick(&candidates)?;
        let start = hour - TimeDelta::seconds(self.rng.range(1, 2) as i64);
        zone.from_local_datetime(&start).single()?;
        let schedule = Schedule {
            zone,
            start,
            repeat: Repeat::Once,
        };
        Some((schedule, hour.hour() as u8))
    }

    /// A window end far from now, so it never closes during the trial.
    fn window(&mut self, schedule: &Schedule) -> Option<u8> {
        if !self.rng.chance(15) {
            return None;
        }
        let hour = Utc::now().with_timezone(&schedule.zone).hour();
        Some(((hour + self.rng.range(3, 20) as u32) % 24) as u8)
    }

    fn groups_of(&mut self, account: usize) -> Vec<i64> {
        let all = &self.accounts[account].groups;
        let take = self.rng.range(1, all.len() as u64) as usize;
        let skip = self.rng.range(0, (all.len() - take) as u64) as usize;
        all.iter().skip(skip).take(take).copied().collect()
    }

    fn parts(&mut self, local: usize, version: usize, count: usize) -> Vec<String> {
        (0..count)
            .map(|part| {
                let words = *self.rng.pick(&WORDS).unwrap_or(&"Hello");
                model::body(self.seed, local, version, part, words)
            })
            .collect()
    }

    async fn create(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let account = self.rng.range(0, self.accounts.len() as u64 - 1) as usize;
        let local = self.reminders.len();
        let count = self.rng.range(1, 3) as usize;
        let closing = if self.rng.chance(30) {
            self.closing_window()
        } else {
            None
        };
        let (schedule, window_end_hour) = match closing {
            Some((schedule, hour)) => (schedule, Some(hour)),
            None => {
                let schedule = self.schedule();
                let window = self.window(&schedule);
                (schedule, window)
            }
        };
        let version = Version {
            name: model::name(local, 0),
            parts: self.parts(local, 0, count),
            schedule,
            group_ids: self.groups_of(account),
            window_end_hour,
        };
        let account_id = self.accounts[account].id;
        let draft = version.draft(account_id);
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.save_reminder(None, &draft).await;
        let answered = Utc::now();
        let mut reminder = Reminder {
            local,
            id: None,
            account_id,
            versions: vec![version],
            ops: Vec::new(),
            uncertain: false,
            unedited_copy: false,
        };
        match result {
            Ok(id) => {
                reminder.id = Some(id);
                reminder.ops.push(Op {
                    kind: OpKind::Create(0),
                    sent,
                    answered,
                });
                let first = &reminder.versions[0];
                self.note(format!(
                    "created r{local} = #{id}: {} part(s), {} group(s), {:?} at {} {}, window end {:?}",
                    first.parts.len(),
                    first.group_ids.len(),
                    first.schedule.repeat,
                    first.schedule.start,
                    first.schedule.zone,
                    first.window_end_hour
                ));
            }
            Err(CallError::Refused(why)) => {
                self.note(format!("creating r{local} refused: {why}"));
                return;
            }
            Err(CallError::Uncertain(why)) => {
                reminder.uncertain = true;
                self.note(format!("creating r{local} uncertain: {why}"));
            }
        }
        self.reminders.push(reminder);
    }

    /// A reminder with a known id, not deleted, that `eligible` accepts.
    fn pick_reminder(&mut self, eligible: impl Fn(&Reminder) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = self
            .reminders
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id.is_some() && !r.deleted() && eligible(r))
            .map(|(i, _)| i)
            .collect();
        self.rng.pick(&candidates).copied()
    }

    /// Applies the outcome of a change to reminder `index`.
    fn record(
        &mut self,
        index: usize,
        kind: OpKind,
        sent: DateTime<Utc>,
        result: &Result<(), CallError>,
    ) {
        let local = self.reminders[index].local;
        let answered = Utc::now();
        match result {
            Ok(()) => {
                self.reminders[index].ops.push(Op {
                    kind,
                    sent,
                    answered,
                });
                let detail = match kind {
                    OpKind::Edit(v) => self.reminders[index].versions.get(v).map(|v| {
                        format!(
                            " to {} part(s), {} group(s), {:?} at {} {}",
                            v.parts.len(),
                            v.group_ids.len(),
                            v.schedule.repeat,
                            v.schedule.start,
                            v.schedule.zone
                        )
                    }),
                    _ => None,
                };
                self.note(format!("r{local}: {kind:?}{}", detail.unwrap_or_default()));
            }
            Err(CallError::Refused(why)) => {
                self.note(format!("r{local}: {kind:?} refused: {why}"));
            }
            Err(CallError::Uncertain(why)) => {
                self.reminders[index].uncertain = true;
                self.note(format!("r{local}: {kind:?} uncertain: {why}"));
            }
        }
    }

    /// A new version of reminder `index`: new bodies throughout (so every delivery names its
    /// version), and some of: parts changed, prepended or removed, a new time, new groups.
    fn next_version(&mut self, index: usize) -> Option<Version> {
        let current = self.reminders[index].current()?.clone();
        let local = self.reminders[index].local;
        let number = self.reminders[index].versions.len();
        let account = self
            .accounts
            .iter()
            .position(|a| a.id == self.reminders[index].account_id)?;
        let mut count = current.parts.len();
        match self.rng.range(0, 2) {
            0 => {}
            1 => count = (count + 1).min(4),
            _ => count = count.saturating_sub(1).max(1),
        }
        let mut version = Version {
            name: model::name(local, number),
            parts: self.parts(local, number, count),
            ..current
        };
        if self.rng.chance(60) {
            version.schedule = self.schedule();
            version.window_end_hour = self.window(&version.schedule);
        }
        if self.rng.chance(30) {
            version.group_ids = self.groups_of(account);
        }
        Some(version)
    }

    async fn edit_to(&mut self, index: usize, version: Version) -> Result<(), CallError> {
        let id = self.reminders[index].id.unwrap_or_default();
        let draft = version.draft(self.reminders[index].account_id);
        let dash = self.dash().map_err(|e| CallError::Refused(e.to_string()))?;
        let result = dash.save_reminder(Some(id), &draft).await.map(drop);
        if !matches!(result, Err(CallError::Refused(_))) {
            self.reminders[index].versions.push(version);
        }
        result
    }

    async fn edit(&mut self) {
        let Some(index) = self.pick_reminder(|r| !r.uncertain) else {
            return;
        };
        let Some(version) = self.next_version(index) else {
            return;
        };
        let number = self.reminders[index].versions.len();
        let sent = Utc::now();
        let result = self.edit_to(index, version).await;
        self.record(index, OpKind::Edit(number), sent, &result);
        if result.is_ok() {
            self.reminders[index].unedited_copy = false;
        }
    }

    async fn pause(&mut self) {
        let Some(index) = self.pick_reminder(|r| !r.paused()) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.pause(id).await;
        self.record(index, OpKind::Pause, sent, &result);
    }

    async fn resume(&mut self) {
        let Some(index) = self.pick_reminder(|r| r.paused() && !r.unedited_copy) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.resume(id).await;
        self.record(index, OpKind::Resume, sent, &result);
    }

    async fn delete(&mut self) {
        let Some(index) = self.pick_reminder(|_| true) else {
            return;
        };
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.delete(id).await;
        self.record(index, OpKind::Delete, sent, &result);
    }

    /// Duplicates a reminder, then edits the copy (it starts paused, so it cannot fire with its
    /// source's bodies first), and sometimes resumes it.
    async fn duplicate(&mut self) {
        let Some(source) = self.pick_reminder(|r| !r.uncertain) else {
            return;
        };
        let Some(version) = self.reminders[source].current().cloned() else {
            return;
        };
        let source_id = self.reminders[source].id.unwrap_or_default();
        let local = self.reminders.len();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.duplicate(source_id).await;
        let answered = Utc::now();
        let mut copy = Reminder {
            local,
            id: None,
            account_id: self.reminders[source].account_id,
            versions: vec![Version {
                name: format!("{} (copy)", version.name),
                ..version
            }],
            ops: vec![Op {
                kind: OpKind::Copy(0),
                sent,
                answered,
            }],
            uncertain: false,
            unedited_copy: true,
        };
        match result {
            Ok(id) => copy.id = Some(id),
            Err(CallError::Refused(why)) => {
                self.note(format!(
                    "duplicating r{} refused: {why}",
                    self.reminders[source].local
                ));
                return;
            }
            Err(CallError::Uncertain(why)) => {
                // A copy may exist, paused with its source's bodies; it is never resumed.
                self.note(format!(
                    "duplicating r{} uncertain: {why}",
                    self.reminders[source].local
                ));
                return;
            }
        }
        let source_local = self.reminders[source].local;
        self.note(format!(
            "duplicated r{source_local} as r{local} = #{}",
            copy.id.unwrap_or_default()
        ));
        self.reminders.push(copy);
        let index = self.reminders.len() - 1;
        let Some(version) = self.next_version(index) else {
            return;
        };
        let sent = Utc::now();
        let result = self.edit_to(index, version).await;
        self.record(index, OpKind::Edit(1), sent, &result);
        if result.is_ok() {
            self.reminders[index].unedited_copy = false;
            if self.rng.chance(60) {
                self.resume_index(index).await;
            }
        }
    }

    async fn resume_index(&mut self, index: usize) {
        let id = self.reminders[index].id.unwrap_or_default();
        let sent = Utc::now();
        let Ok(dash) = self.dash() else { return };
        let result = dash.resume(id).await;
        self.record(index, OpKind::Resume, sent, &result);
    }

    async fn send_test(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let account = self.rng.range(0, self.accounts.len() as u64 - 1) as usize;
        let Some(&group) = self.rng.pick(&self.accounts[account].groups) else {
            return;
        };
        let account_id = self.accounts[account].id;
        let text = format!("{}{:x}-{}", check::TEST_PREFIX, self.seed, self.tests.len());
        let Ok(dash) = self.dash() else { return };
        let result = dash.send_test(account_id, group, &text).await;
        self.note(format!("send test {text:?} to group #{group}: {result:?}"));
        // Even an uncertain request may have been queued: its text is watched either way.
        if !matches!(result, Err(CallError::Refused(_))) {
            self.tests.push(text);
        }
    }

    async fn paused_run(&mut self) {
        let Ok(dash) = self.dash() else { return };
        let Ok(runs) = dash.paused_runs().await else {
            return;
        };
        let Some(&run) = self.rng.pick(&runs) else {
            return;
        };
        let resume = self.rng.chance(50);
        let Ok(dash) = self.dash() else { return };
        let result = if resume {
            dash.resume_run(run).await
        } else {
            dash.cancel_run(run).await
        };
        let what = if resume { "resumed" } else { "cancelled" };
        self.note(format!("paused run #{run} {what}: {result:?}"));
    }

    // ---- faults -----------------------------------------------------------------------

    async fn fault(&mut self) -> anyhow::Result<()> {
        let long = !self.options.short;
        let weights = [
            10,
            6,
            8,
            5,
            if long { 3 } else { 0 },
            if long { 6 } else { 0 },
            if long { 4 } else { 0 },
            if long { 3 } else { 0 },
            5,
            4,
        ];
        let kind = self.rng.weighted(&weights);
        if kind == 0 {
            return self.kill_worker(true).await;
        }
        if kind == 1 {
            return self.kill_worker(false).await;
        }
        if kind == 9 {
            let secs = self.rng.range(2, 6);
            self.report.faults += 1;
            self.note(format!("Telegram answers 500 for {secs} s"));
            self.bot.set_down(true);
            // Comes back by itself while the trial goes on.
            self.telegram_back_at = Some(Instant::now() + Duration::from_secs(secs));
            return Ok(());
        }
        if self.worker.is_none() || self.accounts.is_empty() {
            return Ok(());
        }
        let account = self.rng.range(0, self.accounts.len() as u64 - 1) as usize;
        let id = self.accounts[account].id;
        let fault = match kind {
            2 => json!({ "fault": "disconnect" }),
            3 => json!({ "fault": "log_out" }),
            4 => json!({ "fault": "temp_ban", "secs": 2 }),
            5 => json!({ "fault": "fail_sends", "count": self.rng.range(1, 2) }),
            6 => json!({ "fault": "fail_sends_after", "after": self.rng.range(1, 5), "count": 1 }),
            7 => json!({ "fault": "rate_limit", "count": 1 }),
            _ => json!({ "fault": "lose_answers", "count": 1 }),
        };
        let outcome = self.sim.fault(id, &fault).await;
        self.note(format!("fault {fault} on #{id}: {outcome:?}"));
        if outcome.is_ok() {
            self.report.faults += 1;
            if matches!(kind, 3 | 4) {
                let later = Duration::from_millis(self.rng.range(1000, 3000));
                self.repair.push((id, Instant::now() + later));
            }
        }
        Ok(())
    }

    /// SIGKILL (`hard`) or SIGTERM to the worker, then a restart after a short pause.
    async fn kill_worker(&mut self, hard: bool) -> anyhow::Result<()> {
        let Some(mut child) = self.worker.take() else {
            return Ok(());
        };
        self.worker_down_since = Some(Utc::now());
        if hard {
            procs::kill9(&mut child);
            self.report.kills += 1;
            self.note("worker: kill -9");
        } else {
            self.report.terms += 1;
            self.note("worker: SIGTERM");
            match procs::terminate(&mut child, Duration::from_secs(20)).await {
                Ok(status) => self.note(format!("worker stopped: {status}")),
                Err(why) => {
                    self.note(format!("worker did not stop cleanly: {why}"));
                    self.report
                        .findings
                        .other
                        .push(format!("the worker did not stop cleanly on SIGTERM: {why}"));
                }
            }
        }
        let pause = self.rng.range(300, 3000);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        self.start_worker().await
    }

    async fn restart_postgres(&mut self) -> anyhow::Result<()> {
        let Backend::Postgres {
            restart: Some(command),
            ..
        } = &self.backend
        else {
            return Ok(());
        };
        let command = command.clone();
        self.note("PostgreSQL: restart");
        let down = Utc::now();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                // The server it restarts inherits these: never the harness's own output.
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
        })
        .await??;
        self.outages.push((down, Utc::now()));
        if !status.success() {
            bail!("restarting PostgreSQL failed: {status}");
        }
        self.report.pg_restarts += 1;
        self.note("PostgreSQL: back");
        Ok(())
    }

    // ---- settling ---------------------------------------------------------------------

    /// Everything healed: accounts paired again, paused runs resumed or cancelled, until no run
    /// is running and nothing due is waiting.
    async fn settle(&mut self) -> anyhow::Result<()> {
        let timeout = if self.options.short { 120 } else { 300 };
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let mut calm = 0;
        while Instant::now() < deadline {
            self.reconnect_accounts().await;
            if let Ok(dash) = self.dash()
                && let Ok(paused) = dash.paused_runs().await
            {
                for run in paused {
                    let resume = self.rng.chance(50);
                    let Ok(dash) = self.dash() else { break };
                    let result = if resume {
                        dash.resume_run(run).await
                    } else {
                        dash.cancel_run(run).await
                    };
                    self.note(format!(
                        "settling: paused run #{run} resume={resume}: {result:?}"
                    ));
                }
            }
            let busy = self.busy().await?;
            if busy.is_empty() {
                calm += 1;
                if calm >= 3 {
                    self.note("settled");
                    return Ok(());
                }
            } else {
                calm = 0;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        let busy = self.busy().await?;
        self.report.findings.other.push(format!(
            "did not settle within {timeout} s after the faults stopped: {}",
            busy.join("; ")
        ));
        Ok(())
    }

    async fn reconnect_accounts(&mut self) {
        self.queue_unpaired().await;
        self.repair_due(true).await;
    }

    /// Queues a pairing for every account that is neither connected nor reconnecting.
    async fn queue_unpaired(&mut self) {
        let Ok(dash) = self.dash() else { return };
        let Ok(statuses) = dash.account_statuses().await else {
            return;
        };
        for (id, status) in statuses {
            let reconnecting = status == "disconnected" || status == "pending";
            if status != "connected" && !reconnecting && !self.repair.iter().any(|(a, _)| *a == id)
            {
                self.note(format!("account #{id} is {status}: pairing it again"));
                self.repair.push((id, Instant::now()));
            }
        }
    }

    /// What is still under way: runs pending or running, fires due and not taken, owed fires.
    async fn busy(&self) -> anyhow::Result<Vec<String>> {
        let db = self.db.as_ref().context("no database connection")?;
        let now = Utc::now();
        let mut busy = Vec::new();
        let runs = reminder_runs::Entity::find()
            .filter(reminder_runs::Column::Status.is_in([RunStatus::Pending, RunStatus::Running]))
            .all(db)
            .await?;
        if !runs.is_empty() {
            busy.push(format!(
                "runs {:?} still running",
                runs.iter().map(|r| r.id).collect::<Vec<_>>()
            ));
        }
        let due = reminders::Entity::find()
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::NextFireAt.lte(now - TimeDelta::seconds(2)))
            .all(db)
            .await?;
        if !due.is_empty() {
            busy.push(format!(
                "reminders {:?} due and not fired",
                due.iter().map(|r| r.id).collect::<Vec<_>>()
            ));
        }
        let owed = reminder_owed_fires::Entity::find().all(db).await?;
        if !owed.is_empty() {
            busy.push(format!("{} owed fires not recorded", owed.len()));
        }
        Ok(busy)
    }

    async fn finish(mut self) -> Report {
        if let Some(mut worker) = self.worker.take()
            && let Err(why) = procs::terminate(&mut worker, Duration::from_secs(20)).await
        {
            self.report
                .findings
                .other
                .push(format!("the worker did not stop cleanly at the end: {why}"));
        }
        if let Some(mut server) = self.server.take() {
            let _ = procs::terminate(&mut server, Duration::from_secs(20)).await;
        }
        if let Some(db) = self.db.take() {
            db.close().await.ok();
        }
        let failed = self.report.findings.failed() || self.options.keep;
        if let (Backend::Postgres { admin_url, .. }, Some(name)) =
            (&self.backend, &self.pg_database)
            && !failed
            && let Ok(admin) = Database::connect(admin_url.as_str()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
        if !failed {
            let _ = std::fs::remove_dir_all(&self.report.dir);
        }
        self.report.log = std::mem::take(&mut self.log);
        self.report
    }

    // ---- what the checks read ---------------------------------------------------------

    pub fn db(&self) -> anyhow::Result<&DatabaseConnection> {
        self.db.as_ref().context("no database connection")
    }

    pub fn bot(&self) -> &FakeBotApi {
        &self.bot
    }

    pub fn reminders(&self) -> &[Reminder] {
        &self.reminders
    }

    pub fn tests(&self) -> &[String] {
        &self.tests
    }

    pub fn outages(&self) -> &[(DateTime<Utc>, DateTime<Utc>)] {
        &self.outages
    }

    pub fn account_labels(&self) -> HashMap<i64, String> {
        self.accounts
            .iter()
            .map(|a| (a.id, a.label.clone()))
            .collect()
    }
}

/// `admin_url` with its database replaced by `name`.
fn url_with_path(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (head, query) = match admin_url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = head.find("://").context("a PostgreSQL URL")? + 3;
    let path_start = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &head[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}
