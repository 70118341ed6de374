//! One trial: a fresh database and data directory, the real server and one or more workers on
//! the simulator, paired accounts and reminders, then random operator actions and faults for the
//! trial's duration, a settling phase with every fault healed, and the checks.

mod actions;
mod faults;
mod pairing;
mod settle;
mod workers;

use std::{
    path::PathBuf,
    process::Child,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use testkit::fake_bot_api::FakeBotApi;

use crate::{
    api::Dashboard,
    check::{self, Findings},
    model::Reminder,
    procs::{self, Setup},
    rng::Rng,
};

use self::workers::Slot;

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
    /// How many workers run at once (several only on PostgreSQL).
    pub workers: usize,
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
    /// SIGSTOPs of a worker (with several).
    pub stops: u64,
    pub faults: u64,
    pub pg_restarts: u64,
    pub findings: Findings,
    pub log: Vec<String>,
    pub dir: PathBuf,
}

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
    workers: Vec<Slot>,
    dash: Option<Dashboard>,
    db: Option<DatabaseConnection>,
    accounts: Vec<Account>,
    reminders: Vec<Reminder>,
    tests: Vec<String>,
    /// Accounts to pair again (after a logout or a ban), and from when.
    repair: Vec<(i64, Instant)>,
    /// When some account had no worker running it, or the database was away: occurrences then
    /// may be fired late or missed.
    outages: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Since when some account has had no single live holder, and when every one last had.
    gap_since: Option<DateTime<Utc>>,
    covered_at: DateTime<Utc>,
    /// Each worker process that ended (its instance), and when.
    ended: Vec<(String, DateTime<Utc>)>,
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
        let bot = FakeBotApi::try_start(procs::BOT_TOKEN).await?;
        let setup = Setup {
            bin_dir: options.bin_dir.clone(),
            dir: dir.clone(),
            database_url,
            server_port: procs::free_port()?,
            bot_api_url: bot.url.clone(),
            // Several workers fail over within a trial: a lost worker's accounts move after this.
            lease_ttl_secs: (options.workers > 1).then_some(5),
        };
        let workers = (0..options.workers)
            .map(Slot::new)
            .collect::<anyhow::Result<_>>()?;
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
            workers,
            dash: None,
            db: None,
            accounts: Vec::new(),
            reminders: Vec::new(),
            tests: Vec::new(),
            repair: Vec::new(),
            outages: Vec::new(),
            gap_since: None,
            covered_at: Utc::now(),
            ended: Vec::new(),
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

    async fn drive(&mut self) -> anyhow::Result<()> {
        self.note(format!(
            "trial seed {:016x} on {}, {} worker(s)",
            self.seed,
            self.backend.name(),
            self.workers.len()
        ));
        self.start_server().await?;
        for slot in 0..self.workers.len() {
            self.start_worker(slot).await?;
        }
        let token = self.setup.login_token()?;
        self.dash = Some(Dashboard::sign_in(&self.setup.base(), &token).await?);
        let mut options = ConnectOptions::new(self.setup.database_url.clone());
        options.max_connections(2).sqlx_logging(false);
        self.db = Some(Database::connect(options).await?);

        let multi = self.workers.len() > 1;
        // With several workers, accounts enough that more than one of them holds some.
        let accounts = if multi {
            self.rng.range(2, 3) as usize
        } else if self.rng.chance(50) {
            2
        } else {
            1
        };
        for label in ["Chaos A", "Chaos B", "Chaos C"].into_iter().take(accounts) {
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
        // With several workers, one is paused once at least (drawn last: one worker's trials
        // draw what they drew before).
        let mut pause_at =
            multi.then(|| start + chaos.mul_f64(self.rng.range(20, 60) as f64 / 100.0));
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
            self.wake_due(false);
            // Who holds what, for the outages the checks allow for.
            self.look_at_workers().await;
            // A pairing a restart interrupted leaves the account unpaired: pair it again.
            if looked.elapsed() > Duration::from_secs(3) && !self.live_slots().is_empty() {
                looked = Instant::now();
                self.queue_unpaired().await;
            }
            self.repair_due(false).await;
            if self.telegram_back_at.is_some_and(|at| at <= Instant::now()) {
                self.telegram_back_at = None;
                self.set_telegram_down(false);
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
            if pause_at.is_some_and(|at| Instant::now() >= at) {
                pause_at = None;
                if self.live_slots().len() < 2 {
                    self.start_one_down().await?;
                }
                self.pause_worker().await;
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
        self.set_telegram_down(false);
        self.heal_workers().await?;
        self.settle().await?;
        if let Some(since) = self.gap_since.take() {
            self.outages.push((since, Utc::now()));
        }
        let findings = check::run(&self.for_checks()?, cutoff).await?;
        self.report.findings.merge(findings);
        Ok(())
    }

    async fn finish(mut self) -> Report {
        self.stop_workers().await;
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

    /// What the checks read of this trial.
    fn for_checks(&self) -> anyhow::Result<check::Record<'_>> {
        Ok(check::Record {
            db: self.db.as_ref().context("no database connection")?,
            bot: &self.bot,
            reminders: &self.reminders,
            tests: &self.tests,
            outages: &self.outages,
            ended: &self.ended,
            account_labels: self
                .accounts
                .iter()
                .map(|a| (a.id, a.label.clone()))
                .collect(),
        })
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
