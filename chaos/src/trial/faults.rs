//! The faults a trial injects: the worker killed or stopped, PostgreSQL restarted, Telegram
//! down, and the simulator's send and connection faults.

use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use serde_json::json;

use super::{Backend, Trial};
use crate::procs;

/// The Bot API methods that send to the operator: those an outage refuses.
const TELEGRAM_SENDS: [&str; 4] = [
    "sendMessage",
    "sendPhoto",
    "editMessageMedia",
    "editMessageText",
];

impl Trial {
    /// Telegram answers 500 to every send while `down`.
    pub(super) fn set_telegram_down(&self, down: bool) {
        for method in TELEGRAM_SENDS {
            if down {
                self.bot.fail(method);
            } else {
                self.bot.heal(method);
            }
        }
    }

    pub(super) async fn fault(&mut self) -> anyhow::Result<()> {
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
            self.set_telegram_down(true);
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
    pub(super) async fn kill_worker(&mut self, hard: bool) -> anyhow::Result<()> {
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

    pub(super) async fn restart_postgres(&mut self) -> anyhow::Result<()> {
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
}
