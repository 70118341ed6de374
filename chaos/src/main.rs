//! `herald-chaos`: starts the real `herald-server` and `herald-worker` on the simulator, on
//! SQLite and on PostgreSQL, and for each trial drives random operator actions through the
//! dashboard's endpoints while injecting faults (send failures, rate limits, disconnects,
//! logouts, bans, lost answers, kill -9 and SIGTERM of a worker, SIGSTOP of one of several, a
//! PostgreSQL restart, a Telegram outage), then checks Herald's delivery invariants. See
//! docs/reliability.md.
//!
//! ```text
//! herald-chaos [--short] [--verbose] [--keep] [--trials N] [--seed S] [--db sqlite|postgres|both]
//!              [--workers 1|2|3] [--bin-dir DIR] [--work-dir DIR]
//! ```
//!
//! PostgreSQL trials need `TEST_DATABASE_URL` (a server the harness may create databases on);
//! `CHAOS_PG_RESTART`, a shell command restarting that server, enables the restart fault.
//! Several workers run on PostgreSQL only: on SQLite exactly one worker may run.

mod api;
mod check;
mod model;
mod procs;
mod rng;
mod trial;

use std::{path::PathBuf, process::ExitCode, time::Instant};

use anyhow::{Context, bail};

use crate::trial::{Backend, Options, Report, Trial};

struct Args {
    short: bool,
    verbose: bool,
    keep: bool,
    trials: Option<u64>,
    seed: Option<u64>,
    /// None: both databases, as none was named.
    databases: Option<Vec<String>>,
    workers: usize,
    bin_dir: PathBuf,
    work_dir: PathBuf,
}

fn parse_seed(raw: &str) -> anyhow::Result<u64> {
    let raw = raw.trim();
    match raw.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    }
    .with_context(|| format!("--seed takes a number (decimal, or hex with 0x), got {raw:?}"))
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        short: false,
        verbose: false,
        keep: false,
        trials: None,
        seed: None,
        databases: None,
        workers: 1,
        bin_dir: procs::default_bin_dir(),
        work_dir: PathBuf::from("target/chaos"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--short" => args.short = true,
            "--verbose" => args.verbose = true,
            "--keep" => args.keep = true,
            "--trials" => args.trials = Some(value("--trials")?.parse().context("--trials")?),
            "--seed" => args.seed = Some(parse_seed(&value("--seed")?)?),
            "--db" => {
                args.databases = Some(match value("--db")?.as_str() {
                    "both" => vec!["sqlite".to_owned(), "postgres".to_owned()],
                    one @ ("sqlite" | "postgres") => vec![one.to_owned()],
                    other => bail!("--db takes sqlite, postgres or both, got {other:?}"),
                })
            }
            "--workers" => {
                args.workers = match value("--workers")?.as_str() {
                    n @ ("1" | "2" | "3") => n.parse().context("--workers")?,
                    other => bail!("--workers takes 1, 2 or 3, got {other:?}"),
                }
            }
            "--bin-dir" => args.bin_dir = value("--bin-dir")?.into(),
            "--work-dir" => args.work_dir = value("--work-dir")?.into(),
            "-h" | "--help" => {
                println!(
                    "herald-chaos [--short] [--verbose] [--keep] [--trials N per database] [--seed S] \
                     [--db sqlite|postgres|both] [--workers 1|2|3 (over 1: PostgreSQL only)] \
                     [--bin-dir DIR] [--work-dir DIR]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(args)
}

/// The databases a run covers: several workers share PostgreSQL only, as on SQLite exactly one
/// worker may run (a lock file beside the database).
fn databases(named: Option<Vec<String>>, workers: usize) -> anyhow::Result<Vec<String>> {
    match named {
        Some(named) if workers > 1 && named.iter().any(|d| d == "sqlite") => bail!(
            "--workers {workers} needs PostgreSQL (--db postgres): on SQLite exactly one worker may run"
        ),
        Some(named) => Ok(named),
        None if workers > 1 => {
            println!(
                "  (--workers {workers}: PostgreSQL only, as on SQLite exactly one worker may run)"
            );
            Ok(vec!["postgres".to_owned()])
        }
        None => Ok(vec!["sqlite".to_owned(), "postgres".to_owned()]),
    }
}

/// Sums per database, for the closing table.
#[derive(Default)]
struct Totals {
    trials: u64,
    failed: u64,
    actions: u64,
    kills: u64,
    terms: u64,
    stops: u64,
    faults: u64,
    pg_restarts: u64,
    sends: u64,
    duplicates: u64,
    lost: u64,
    unreported: u64,
    overlaps: u64,
    other: u64,
}

impl Totals {
    fn add(&mut self, report: &Report) {
        let f = &report.findings;
        self.trials += 1;
        self.failed += u64::from(f.failed());
        self.actions += report.actions;
        self.kills += report.kills;
        self.terms += report.terms;
        self.stops += report.stops;
        self.faults += report.faults;
        self.pg_restarts += report.pg_restarts;
        self.sends += f.sends;
        self.duplicates += f.duplicates.len() as u64;
        self.lost += f.lost.len() as u64;
        self.unreported += f.unreported.len() as u64;
        self.overlaps += f.overlaps.len() as u64;
        self.other += (f.other.len() + f.harness.len()) as u64;
    }
}

fn seed_now() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    rng::Rng::new(nanos as u64 ^ u64::from(std::process::id())).next_u64()
}

async fn main_inner() -> anyhow::Result<bool> {
    let args = parse_args()?;
    let databases = databases(args.databases, args.workers)?;
    for binary in ["herald-server", "herald-worker"] {
        let path = args.bin_dir.join(binary);
        if !path.exists() {
            bail!(
                "{} not found; build it first (cargo build -p server -p worker --bins) or pass --bin-dir",
                path.display()
            );
        }
    }
    let trials = args.trials.unwrap_or(if args.short { 2 } else { 25 });
    let base = args.seed.unwrap_or_else(seed_now);
    // The binaries run in the trial's directory: every path they are given is absolute.
    std::fs::create_dir_all(&args.work_dir)?;
    let work_dir = std::path::absolute(&args.work_dir)?;
    // A copy, so a rebuild in the shared target directory cannot swap them mid-run.
    let bin_dir = work_dir.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    for binary in ["herald-server", "herald-worker"] {
        // Copied beside, then renamed over: a run still using the old copy keeps its file.
        let staged = bin_dir.join(format!(".{binary}.{}", std::process::id()));
        std::fs::copy(args.bin_dir.join(binary), &staged)
            .and_then(|_| std::fs::rename(&staged, bin_dir.join(binary)))
            .with_context(|| format!("copying {binary} to {}", bin_dir.display()))?;
    }
    let options = Options {
        short: args.short,
        workers: args.workers,
        keep: args.keep,
        bin_dir,
        work_dir,
    };
    let workers = match args.workers {
        1 => "1 worker".to_owned(),
        n => format!("{n} workers"),
    };
    println!(
        "herald-chaos: {} version, {trials} trial(s) per database on {}, {workers}, base seed 0x{base:016x}",
        if args.short { "short" } else { "long" },
        databases.join(" and ")
    );
    let mut table: Vec<(String, Totals)> = Vec::new();
    for (position, database) in databases.iter().enumerate() {
        let backend = match database.as_str() {
            "postgres" => {
                let admin_url = std::env::var("TEST_DATABASE_URL")
                    .ok()
                    .filter(|u| !u.is_empty())
                    .context("PostgreSQL trials need TEST_DATABASE_URL (scripts/chaos.sh starts a throw-away server)")?;
                let restart = std::env::var("CHAOS_PG_RESTART")
                    .ok()
                    .filter(|c| !c.is_empty());
                if restart.is_none() {
                    println!("  (CHAOS_PG_RESTART unset: PostgreSQL is not restarted)");
                }
                Backend::Postgres { admin_url, restart }
            }
            _ => Backend::Sqlite,
        };
        let mut totals = Totals::default();
        for index in 0..trials {
            // Each database gets trials of its own; the first one listed starts at the base seed.
            let seed = rng::trial_seed(base, position as u64 * trials + index);
            let started = Instant::now();
            let report = Trial::run(seed, backend.clone(), options.clone()).await;
            totals.add(&report);
            let f = &report.findings;
            println!(
                "{database}, {workers}, trial {}/{trials} seed 0x{seed:016x}: {} — {} actions, {} kill -9, {} SIGTERM, {} SIGSTOP, {} faults, {} sends [{:.0} s]",
                index + 1,
                if f.failed() { "FAILED" } else { "ok" },
                report.actions,
                report.kills,
                report.terms,
                report.stops,
                report.faults + report.pg_restarts,
                f.sends,
                started.elapsed().as_secs_f64()
            );
            if f.failed() {
                println!(
                    "  replay: herald-chaos --seed 0x{seed:016x} --trials 1 --db {database} --workers {}{}",
                    args.workers,
                    if args.short { " --short" } else { "" }
                );
                for (kind, violation) in f.violations() {
                    println!("  {kind}: {violation}");
                }
                for note in &f.notes {
                    println!("  note: {note}");
                }
                println!("  event log:");
                for line in &report.log {
                    println!("    {line}");
                }
                println!("  logs and database kept in {}", report.dir.display());
            } else {
                for note in f
                    .notes
                    .iter()
                    .filter(|n| args.verbose || !n.contains("alerts delivered"))
                {
                    println!("  note: {note}");
                }
                if args.verbose {
                    for line in &report.log {
                        println!("    {line}");
                    }
                }
            }
        }
        table.push((database.clone(), totals));
    }
    print_table(&table, args.workers);
    Ok(table.iter().all(|(_, t)| t.failed == 0))
}

fn print_table(table: &[(String, Totals)], workers: usize) {
    let header = [
        "database",
        "workers",
        "trials",
        "failed",
        "actions",
        "kill -9",
        "SIGTERM",
        "SIGSTOP",
        "faults",
        "sends",
        "duplicates",
        "lost occurrences",
        "unreported problems",
        "overlaps",
        "other violations",
    ];
    let rows: Vec<Vec<String>> = table
        .iter()
        .map(|(db, t)| {
            vec![
                db.clone(),
                workers.to_string(),
                t.trials.to_string(),
                t.failed.to_string(),
                t.actions.to_string(),
                t.kills.to_string(),
                t.terms.to_string(),
                t.stops.to_string(),
                (t.faults + t.pg_restarts).to_string(),
                t.sends.to_string(),
                t.duplicates.to_string(),
                t.lost.to_string(),
                t.unreported.to_string(),
                t.overlaps.to_string(),
                t.other.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        format!("| {} |", cells.join(" | "))
    };
    println!();
    println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        println!("{}", line(row));
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("herald-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}
