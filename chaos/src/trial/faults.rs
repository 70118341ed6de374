//! The faults a trial injects: a worker killed, stopped or paused (and, with several, one left
//! down started again), PostgreSQL restarted, Telegram down, and the simulator's send and
//! connection faults, sent to the worker holding the account.

use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use serde_json::json;

use super::{Backend, Trial};

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
        let multi = self.options.workers > 1;
        let any_down = !self.down_slots().is_empty();
        // The kinds of several workers come last, weighing nothing with one: a seed picks the
        // same faults with one worker as before they existed.
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
            if multi { 6 } else { 0 },
            if multi && any_down { 3 } else { 0 },
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
        if kind == 10 {
            self.pause_worker().await;
            return Ok(());
        }
        if kind == 11 {
            return self.start_one_down().await;
        }
        if self.accounts.is_empty() {
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
        // Only the holder's simulator runs the account's session.
        let Some(slot) = self.holder(id, Duration::from_secs(2)).await else {
            self.note(format!(
                "fault {fault} on #{id} skipped: no worker holds the account now"
            ));
            return Ok(());
        };
        let outcome = self.control(slot).fault(id, &fault).await;
        let name = self.worker_name(slot);
        self.note(format!("fault {fault} on #{id} in {name}: {outcome:?}"));
        if outcome.is_ok() {
            self.report.faults += 1;
            if matches!(kind, 3 | 4) {
                let later = Duration::from_millis(self.rng.range(1000, 3000));
                self.repair.push((id, Instant::now() + later));
            }
        }
        Ok(())
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
