//! Accounts paired through the dashboard and the simulator, and paired again after a logout, a
//! ban or an interrupted pairing.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::Trial;

impl Trial {
    /// Starts a pairing through the dashboard and scans its QR code through the simulator of the
    /// worker holding the account (only there does its pairing run).
    pub(super) async fn pair(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.dash()?
            .pair_account(account_id)
            .await
            .map_err(|e| anyhow::anyhow!("pairing #{account_id}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(slot) = self.holder(account_id, Duration::ZERO).await
                && self.control(slot).scan(account_id).await
            {
                let name = self.worker_name(slot);
                self.note(format!("scanned the QR code of #{account_id} in {name}"));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("no QR code to scan for #{account_id} within 30 s")
    }

    pub(super) async fn wait_for_groups(&mut self, account_id: i64) -> anyhow::Result<Vec<i64>> {
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
    pub(super) async fn repair_due(&mut self, all: bool) {
        if self.live_slots().is_empty() {
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

    pub(super) async fn reconnect_accounts(&mut self) {
        self.queue_unpaired().await;
        self.repair_due(true).await;
    }

    /// Queues a pairing for every account that is neither connected nor reconnecting.
    pub(super) async fn queue_unpaired(&mut self) {
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
}
