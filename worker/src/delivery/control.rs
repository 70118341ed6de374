//! The operator's commands to delivery: a reminder changed (look at what is due again), and
//! resume or cancel a run paused by its send window. Resuming sends the rest now, past the window; either way the
//! reminder the pause stopped becomes active again from its next occurrence.

use std::sync::Arc;

use domain::{
    bus::{Command, Event, UnknownSend},
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::reminder_runs as runs;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use service::{
    audit::Actor,
    bus::events,
    database::begin_write,
    reminders::{self, ReminderError},
};

use super::{Delivery, targets as rows};

impl Delivery {
    /// Runs a delivery command; `Err` holds the reason, for the command row.
    pub async fn execute(self: &Arc<Self>, command: Command) -> Result<(), String> {
        let outcome = match command {
            // The reminder's rows already say when it is due and what the change left owed: the
            // due loop only needs to look again now, not at the moment it was sleeping until.
            Command::ReminderChanged { reminder_id, .. } => {
                self.wake();
                self.continue_runs_of(reminder_id).await
            }
            Command::ResumeRun { run_id, .. } => self.resume_run(run_id).await,
            Command::CancelRun { run_id, .. } => self.cancel_run(run_id).await,
            Command::RetryRun {
                run_id, unknown, ..
            } => self.retry_run(run_id, &unknown).await,
            other => return Err(format!("{other:?} is not a delivery command")),
        };
        outcome.map_err(|e| {
            tracing::error!(error = %e, "delivery command failed");
            e.to_string()
        })
    }

    /// Hands a reminder's running runs to their sender at once: one that waited for Undo of
    /// its reminder's delete goes on as soon as it is put back.
    async fn continue_runs_of(self: &Arc<Self>, reminder_id: i64) -> anyhow::Result<()> {
        let running: Vec<i64> = runs::Entity::find()
            .select_only()
            .column(runs::Column::Id)
            .filter(runs::Column::ReminderId.eq(reminder_id))
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .into_tuple()
            .all(&self.db)
            .await?;
        for run_id in running {
            self.dispatch(run_id).await?;
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
            drop(txn);
            // Resumed already: by this command's first run, which may have died before it
            // reactivated the reminder (the command is then run again).
            if runs::Entity::find_by_id(run_id)
                .one(&self.db)
                .await?
                .is_some_and(|run| run.resumed_at.is_some())
            {
                self.reactivate(run_id).await?;
            }
            return Ok(());
        }
        // Should this process stop before its sender takes the run, its `running` row makes the
        // due loop give it a pass at the next start.
        txn.commit().await?;
        tracing::info!(run_id, "paused run resumed");
        self.reactivate(run_id).await?;
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
            drop(txn);
            // Cancelled already, maybe by a first run of this command that died before it
            // reactivated the reminder.
            if run.status == RunStatus::Cancelled {
                self.reactivate(run_id).await?;
            }
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
        txn.commit().await?;
        tracing::info!(run_id, "paused run cancelled");
        self.reactivate(run_id).await
    }

    /// Reopens the groups a finished run did not reach (`service::runs::unreached_targets`:
    /// skipped or failed, and still the account's) — none of which has the message (a failure
    /// proves the send did not land) — and hands the run back to its sender, which resumes each
    /// from the parts it already has. A send that may have landed (`unknown`) is reopened only
    /// when named in `unknown` under the claim that left it so, which the operator confirmed
    /// knowing the group could get it twice; its claim number keeps a frozen sender's late
    /// outcome off the new claim. Carried out twice, the second finds nothing to reopen or only
    /// groups that failed again (a resend that went unknown again is under a later claim).
    async fn retry_run(
        self: &Arc<Self>,
        run_id: i64,
        unknown: &[UnknownSend],
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // The row lock orders this against a roll-up counting the run's groups (`finish` takes
        // it too), which could otherwise close the reopened run over its pending groups.
        let Some(run) = runs::Entity::find_by_id(run_id)
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            return Ok(());
        };
        if !run.status.is_problem() || !rows::reopen_run(&txn, run_id, run.status, now).await? {
            return Ok(());
        }
        if rows::reopen_unreached(&txn, &run, unknown, now).await? == 0 {
            drop(txn);
            return Ok(());
        }
        txn.commit().await?;
        tracing::info!(
            run_id,
            unknown = unknown.len(),
            "run retried to the groups it did not reach"
        );
        self.dispatch(run_id).await
    }

    /// The reminder a window pause stopped fires again from its next occurrence, resumed the way
    /// the operator resumes one; one with none left ends.
    async fn reactivate(&self, run_id: i64) -> anyhow::Result<()> {
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(());
        };
        let (Some(reminder_id), Some(operator_id)) = (run.reminder_id, run.operator_id) else {
            return Ok(());
        };
        let now = self.clock.now();
        match reminders::resume(&self.db, Actor::System, operator_id, reminder_id, now).await {
            Ok(_) | Err(ReminderError::NotFound | ReminderError::NotPaused(_)) => Ok(()),
            Err(ReminderError::TimePassed | ReminderError::NoOccurrenceLeft) => {
                let Some(reminder) = entity::reminders::Entity::find_by_id(reminder_id)
                    .one(&self.db)
                    .await?
                else {
                    return Ok(());
                };
                let txn = begin_write(&self.db).await?;
                service::reminders::firing::stop(
                    &txn,
                    &reminder,
                    ReminderStatus::Ended,
                    "no occurrences left",
                    now,
                )
                .await?;
                txn.commit().await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
