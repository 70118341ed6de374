//! The operator's commands to delivery: a reminder changed (re-arm it), and resume or cancel a
//! run paused by its send window. Resuming sends the rest now, past the window; either way the
//! reminder the pause stopped becomes active again from its next occurrence.

use std::sync::Arc;

use domain::{
    bus::{Command, Event},
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_runs as runs, reminders};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set};
use service::{bus::events, database::begin_write};

use super::{Delivery, targets as rows};

impl Delivery {
    /// Runs a delivery command; `Err` holds the reason, for the command row.
    pub async fn execute(self: &Arc<Self>, command: Command) -> Result<(), String> {
        let outcome = match command {
            Command::ReminderChanged { reminder_id, .. } => self.rearm(reminder_id).await,
            Command::ResumeRun { run_id, .. } => self.resume_run(run_id).await,
            Command::CancelRun { run_id, .. } => self.cancel_run(run_id).await,
            other => return Err(format!("{other:?} is not a delivery command")),
        };
        outcome.map_err(|e| {
            tracing::error!(error = %e, "delivery command failed");
            e.to_string()
        })
    }

    async fn rearm(&self, reminder_id: i64) -> anyhow::Result<()> {
        if let Some(reminder) = reminders::Entity::find_by_id(reminder_id)
            .one(&self.db)
            .await?
        {
            self.arm(&self.db, &reminder).await?;
        }
        Ok(())
    }

    async fn resume_run(self: &Arc<Self>, run_id: i64) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        if !rows::set_run_status(
            &txn,
            run_id,
            RunStatus::Paused,
            RunStatus::Running,
            None,
            now,
        )
        .await?
        {
            return Ok(());
        }
        self.reactivate(&txn, run_id).await?;
        txn.commit().await?;
        tracing::info!(run_id, "paused run resumed");
        self.dispatch(run_id).await
    }

    async fn cancel_run(&self, run_id: i64) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let Some(run) = runs::Entity::find_by_id(run_id).one(&txn).await? else {
            return Ok(());
        };
        let reason = "cancelled by the operator";
        if !rows::set_run_status(
            &txn,
            run_id,
            RunStatus::Paused,
            RunStatus::Cancelled,
            Some(reason),
            now,
        )
        .await?
        {
            return Ok(());
        }
        rows::close_pending(&txn, run_id, TargetStatus::Skipped, reason, now).await?;
        let counts = rows::counts(&txn, run_id).await?;
        let event = Event::RunFinished {
            account_id: run.account_id.unwrap_or_default(),
            run_id,
            reminder_id: run.reminder_id,
            status: RunStatus::Cancelled,
            counts,
        };
        events::publish_in(&txn, run.operator_id, &event).await?;
        self.reactivate(&txn, run_id).await?;
        txn.commit().await?;
        tracing::info!(run_id, "paused run cancelled");
        Ok(())
    }

    /// The reminder a window pause stopped fires again, from its next occurrence after now.
    async fn reactivate(&self, txn: &DatabaseTransaction, run_id: i64) -> anyhow::Result<()> {
        let Some(run) = runs::Entity::find_by_id(run_id).one(txn).await? else {
            return Ok(());
        };
        let reminder = match run.reminder_id {
            Some(id) => reminders::Entity::find_by_id(id).one(txn).await?,
            None => None,
        };
        let Some(reminder) = reminder.filter(|r| r.status == ReminderStatus::Paused) else {
            return Ok(());
        };
        let now = self.clock.now();
        let next = service::reminders::schedule_of(&reminder)
            .ok()
            .and_then(|schedule| schedule.next_from(now));
        let mut row: reminders::ActiveModel = reminder.clone().into();
        row.status = Set(if next.is_some() {
            ReminderStatus::Active
        } else {
            ReminderStatus::Ended
        });
        row.status_reason = Set(next.is_none().then(|| "no occurrences left".to_owned()));
        row.next_fire_at = Set(next);
        row.updated_at = Set(now);
        let reminder = row.update(txn).await?;
        self.arm(txn, &reminder).await?;
        events::publish_in(
            txn,
            Some(reminder.operator_id),
            &Event::ReminderChanged {
                account_id: reminder.account_id,
                reminder_id: reminder.id,
            },
        )
        .await?;
        Ok(())
    }
}
