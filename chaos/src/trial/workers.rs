//! The trial's workers: slots `w1`…`wN`, each its own process and health port, killed, stopped
//! with SIGTERM, paused with SIGSTOP and started again, as an operator's machines fail and are
//! scaled; and which worker runs each account now, from their `/health`.

use std::{
    collections::HashMap,
    process::Child,
    time::{Duration, Instant},
};

use anyhow::bail;
use chrono::Utc;

use super::Trial;
use crate::{api::WorkerControl, procs};

/// One worker's place in the trial; its process comes and goes.
pub(super) struct Slot {
    name: String,
    port: u16,
    control: WorkerControl,
    child: Option<Child>,
    /// Its current process's instance, as its leases and simulated connections name it.
    instance: Option<String>,
    /// Paused with SIGSTOP until then.
    paused_until: Option<Instant>,
}

impl Slot {
    pub(super) fn new(index: usize) -> anyhow::Result<Self> {
        let port = procs::free_port()?;
        Ok(Self {
            name: format!("w{}", index + 1),
            port,
            control: WorkerControl::new(port),
            child: None,
            instance: None,
            paused_until: None,
        })
    }

    /// Running and not paused: it answers, and may hold accounts.
    fn live(&self) -> bool {
        self.child.is_some() && self.paused_until.is_none()
    }
}

impl Trial {
    fn multi(&self) -> bool {
        self.workers.len() > 1
    }

    pub(super) fn live_slots(&self) -> Vec<usize> {
        (0..self.workers.len())
            .filter(|&i| self.workers[i].live())
            .collect()
    }

    /// The slots with no process: killed or stopped, and left down.
    pub(super) fn down_slots(&self) -> Vec<usize> {
        (0..self.workers.len())
            .filter(|&i| self.workers[i].child.is_none())
            .collect()
    }

    pub(super) fn control(&self, slot: usize) -> &WorkerControl {
        &self.workers[slot].control
    }

    pub(super) fn worker_name(&self, slot: usize) -> String {
        self.workers[slot].name.clone()
    }

    pub(super) async fn start_worker(&mut self, slot: usize) -> anyhow::Result<()> {
        let name = self.worker_name(slot);
        let child = self.setup.spawn_worker(&name, self.workers[slot].port)?;
        self.workers[slot].child = Some(child);
        let health = self.control(slot).health_url();
        if !procs::wait_up(&health, Duration::from_secs(60)).await {
            bail!("herald-worker {name} did not answer {health} within 60 s");
        }
        let instance = self.control(slot).held().await.map(|h| h.instance);
        self.note(format!(
            "worker {name} up as {}",
            instance.as_deref().unwrap_or("an unknown instance")
        ));
        self.workers[slot].instance = instance;
        Ok(())
    }

    /// The worker's process has ended (from `at` on, it runs nothing): for the overlaps check.
    fn ended(&mut self, slot: usize, at: chrono::DateTime<Utc>) {
        if let Some(instance) = self.workers[slot].instance.take() {
            self.ended.push((instance, at));
        }
    }

    /// Asks every live worker what it holds: the workers listing each account. Also follows
    /// when some account has no single holder, as an outage of that account for the checks, and
    /// notices a worker that exited by itself.
    pub(super) async fn look_at_workers(&mut self) -> HashMap<i64, Vec<usize>> {
        for slot in self.live_slots() {
            let exited = self.workers[slot]
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let name = self.worker_name(slot);
                self.workers[slot].child = None;
                self.ended(slot, Utc::now());
                self.note(format!("worker {name} exited by itself: {status}"));
                self.report
                    .findings
                    .other
                    .push(format!("worker {name} exited by itself: {status}"));
            }
        }
        let mut holders: HashMap<i64, Vec<usize>> = HashMap::new();
        for slot in self.live_slots() {
            if let Some(held) = self.control(slot).held().await {
                for account in held.accounts {
                    holders.entry(account).or_default().push(slot);
                }
            }
        }
        let now = Utc::now();
        let covered = self
            .accounts
            .iter()
            .all(|a| holders.get(&a.id).is_some_and(|h| h.len() == 1));
        if covered {
            if let Some(since) = self.gap_since.take() {
                self.outages.push((since, now));
            }
            self.covered_at = now;
        } else {
            // It began at the latest after the last look that found every account held.
            let since = self.covered_at;
            self.gap_since.get_or_insert(since);
        }
        holders
    }

    /// The one worker holding the account now, asked again for up to `patience` while the
    /// account is between holders (or listed by two: a worker just woken has not yet noticed
    /// that it lost it).
    pub(super) async fn holder(&mut self, account_id: i64, patience: Duration) -> Option<usize> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(&[slot]) = self
                .look_at_workers()
                .await
                .get(&account_id)
                .map(Vec::as_slice)
            {
                return Some(slot);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGKILL (`hard`) or SIGTERM to a live worker, then a start again after a short pause. With
    /// several, the operator sometimes leaves it down for a while: the others hold its accounts.
    pub(super) async fn kill_worker(&mut self, hard: bool) -> anyhow::Result<()> {
        let live = self.live_slots();
        let Some(&slot) = self.rng.pick(&live) else {
            return Ok(());
        };
        let Some(mut child) = self.workers[slot].child.take() else {
            return Ok(());
        };
        let name = self.worker_name(slot);
        self.gap_since.get_or_insert(Utc::now());
        if hard {
            self.ended(slot, Utc::now());
            procs::kill9(&mut child);
            self.report.kills += 1;
            self.note(format!("worker {name}: kill -9"));
        } else {
            self.report.terms += 1;
            self.note(format!("worker {name}: SIGTERM"));
            let stopped = procs::terminate(&mut child, Duration::from_secs(20)).await;
            self.ended(slot, Utc::now());
            match stopped {
                Ok(status) => self.note(format!("worker {name} stopped: {status}")),
                Err(why) => {
                    self.note(format!("worker {name} did not stop cleanly: {why}"));
                    self.report.findings.other.push(format!(
                        "worker {name} did not stop cleanly on SIGTERM: {why}"
                    ));
                }
            }
        }
        if self.multi() && !self.live_slots().is_empty() && self.rng.chance(30) {
            self.note(format!("worker {name} stays down for now"));
            return Ok(());
        }
        let pause = self.rng.range(300, 3000);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        self.start_worker(slot).await
    }

    /// SIGSTOP for 6–9 s, past the lease lifetime, to a live worker (one holding an account if
    /// any does): its accounts move to the others, and once woken it must claim nothing. One
    /// worker at least keeps running.
    pub(super) async fn pause_worker(&mut self) {
        let live = self.live_slots();
        if live.len() < 2 {
            return;
        }
        let holders = self.look_at_workers().await;
        let holding: Vec<usize> = live
            .iter()
            .copied()
            .filter(|slot| holders.values().any(|h| h.contains(slot)))
            .collect();
        let candidates = if holding.is_empty() { live } else { holding };
        let Some(&slot) = self.rng.pick(&candidates) else {
            return;
        };
        let millis = self.rng.range(6000, 9000);
        let Some(child) = &self.workers[slot].child else {
            return;
        };
        procs::signal(child, "STOP");
        self.workers[slot].paused_until = Some(Instant::now() + Duration::from_millis(millis));
        self.gap_since.get_or_insert(Utc::now());
        self.report.stops += 1;
        let name = self.worker_name(slot);
        self.note(format!("worker {name}: SIGSTOP for {millis} ms"));
    }

    /// SIGCONT to the paused workers whose time has come (to all of them with `all`).
    pub(super) fn wake_due(&mut self, all: bool) {
        let now = Instant::now();
        for slot in 0..self.workers.len() {
            let due = self.workers[slot]
                .paused_until
                .is_some_and(|at| all || at <= now);
            if !due {
                continue;
            }
            if let Some(child) = &self.workers[slot].child {
                procs::signal(child, "CONT");
            }
            self.workers[slot].paused_until = None;
            let name = self.worker_name(slot);
            self.note(format!("worker {name}: SIGCONT"));
        }
    }

    /// The operator scales out again: a worker left down starts.
    pub(super) async fn start_one_down(&mut self) -> anyhow::Result<()> {
        let down = self.down_slots();
        match self.rng.pick(&down) {
            Some(&slot) => self.start_worker(slot).await,
            None => Ok(()),
        }
    }

    /// Every worker running again, none paused.
    pub(super) async fn heal_workers(&mut self) -> anyhow::Result<()> {
        self.wake_due(true);
        for slot in self.down_slots() {
            self.start_worker(slot).await?;
        }
        Ok(())
    }

    /// SIGTERM to every worker at the end; each must exit 0, as after every SIGTERM.
    pub(super) async fn stop_workers(&mut self) {
        self.wake_due(true);
        for slot in 0..self.workers.len() {
            let Some(mut child) = self.workers[slot].child.take() else {
                continue;
            };
            if let Err(why) = procs::terminate(&mut child, Duration::from_secs(20)).await {
                let name = self.worker_name(slot);
                self.report.findings.other.push(format!(
                    "worker {name} did not stop cleanly at the end: {why}"
                ));
            }
        }
    }
}
