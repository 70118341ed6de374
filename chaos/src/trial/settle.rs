//! The settling phase: every fault healed, until nothing is under way any more.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use domain::status::{ReminderStatus, RunStatus};
use entity::{reminder_owed_fires, reminder_runs, reminders};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::Trial;

/// How soon a reminder's next fire must be for settling to wait for it: longer than the three
/// calm checks (700 ms apart) that end settling.
const ABOUT_TO_FIRE: TimeDelta = TimeDelta::seconds(5);

impl Trial {
    /// Everything healed: accounts paired again, paused runs resumed or cancelled, until no run
    /// is running and nothing due is waiting.
    pub(super) async fn settle(&mut self) -> anyhow::Result<()> {
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
        // Also one about to come due: settling before it fires would stop the worker in the
        // middle of its run, which the checks would then count as a run that never finished.
        let due = reminders::Entity::find()
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::NextFireAt.lte(now + ABOUT_TO_FIRE))
            .all(db)
            .await?;
        if !due.is_empty() {
            busy.push(format!(
                "reminders {:?} due or about to be, not fired",
                due.iter().map(|r| r.id).collect::<Vec<_>>()
            ));
        }
        let owed = reminder_owed_fires::Entity::find().all(db).await?;
        if !owed.is_empty() {
            busy.push(format!("{} owed fires not recorded", owed.len()));
        }
        Ok(busy)
    }
}
