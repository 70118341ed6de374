//! How a run ends, pauses or reports along the way: the roll-up, the offline skip, the send
//! window pause, progress events and unknown sends — each with the events the dashboard and
//! the Telegram bot read.

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets as targets, reminder_runs as runs, reminders};
use sea_orm::{EntityTrait, QuerySelect};
use service::{bus::events, database::begin_write};

use super::{Delivery, targets as rows};

/// Progress events for one run at most this often (the final one always goes out).
const PROGRESS_EVERY: chrono::Duration = chrono::Duration::milliseconds(500);

impl Delivery {
    /// Publishes `run.progress`, at most every [`PROGRESS_EVERY`] unless `force`d.
    pub(super) async fn progress(
        &self,
        run: &runs::Model,
        account_id: i64,
        last: &mut Option<DateTime<Utc>>,
        force: bool,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        if !force && last.is_some_and(|at| now - at < PROGRESS_EVERY) {
            return Ok(());
        }
        *last = Some(now);
        let counts = rows::counts(&self.db, run.id).await?;
        events::publish(
            &self.db,
            run.operator_id,
            &Event::RunProgress {
                account_id,
                run_id: run.id,
                reminder_id: run.reminder_id,
                counts,
            },
        )
        .await?;
        Ok(())
    }

    /// A send that timed out is `unknown`: the operator hears of it, Herald does not resend.
    pub(super) async fn report_unknown(
        &self,
        run: &runs::Model,
        target: &targets::Model,
    ) -> anyhow::Result<()> {
        let alert = Event::TargetsUnknown {
            account_id: run.account_id.unwrap_or_default(),
            run_id: run.id,
            reminder_name: run.reminder_name.clone(),
            groups: vec![target.group_name.clone()],
        };
        events::publish(&self.db, run.operator_id, &alert).await?;
        Ok(())
    }

    /// Rolls the run up once nothing is left to send, and tells the operator how it went.
    /// `false` when a group is still open: being sent (by a peer, or by a send this process lost
    /// track of, until the sweep reports it unknown), so the run is not done yet.
    pub(crate) async fn finish(&self, run: &runs::Model, account_id: i64) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // Counting under the run's row lock: a retry reopening the run (`control.rs`) takes it
        // too, so a count taken before the reopen cannot close the run after it (PostgreSQL;
        // SQLite's write transactions are serial already).
        runs::Entity::find_by_id(run.id)
            .lock_exclusive()
            .one(&txn)
            .await?;
        let counts = rows::counts(&txn, run.id).await?;
        if counts.open() > 0 {
            return Ok(false);
        }
        let status = counts.roll_up();
        if !rows::set_run_status(
            &txn,
            run.id,
            RunStatus::Running,
            status,
            run.reason.as_deref(),
            now,
        )
        .await?
        {
            // Finished or paused elsewhere meanwhile: not open here either.
            return Ok(true);
        }
        let event = Event::RunFinished {
            account_id,
            run_id: run.id,
            reminder_id: run.reminder_id,
            status,
            counts,
        };
        events::publish_in(&txn, run.operator_id, &event).await?;
        if matches!(status, RunStatus::Failed | RunStatus::Partial) {
            let alert = Event::RunAlert {
                account_id,
                run_id: run.id,
                reminder_id: run.reminder_id,
                reminder_name: run.reminder_name.clone(),
                status,
                counts,
            };
            events::publish_in(&txn, run.operator_id, &alert).await?;
        }
        txn.commit().await?;
        self.forget_uploads(run.id);
        self.back(run.id);
        tracing::info!(run_id = run.id, %status, sent = counts.sent, failed = counts.failed, "run finished");
        Ok(true)
    }

    /// The account is not connected: its groups are skipped, and the operator hears of it.
    pub(super) async fn skip_offline(
        &self,
        run: &runs::Model,
        reminder: &reminders::Model,
        account: Option<entity::whatsapp_accounts::Model>,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let (label, status) = account
            .map(|a| (a.label, a.status.to_string()))
            .unwrap_or_else(|| ("(deleted)".to_owned(), "deleted".to_owned()));
        let reason = format!("the account was not connected ({status})");
        let txn = begin_write(&self.db).await?;
        // Another process may have decided these groups already: it told the operator then.
        if rows::close_pending(&txn, run.id, TargetStatus::Skipped, &reason, now).await? == 0 {
            return Ok(());
        }
        events::publish_in(
            &txn,
            run.operator_id,
            &Event::AccountOffline {
                account_id: reminder.account_id,
                label,
                run_id: run.id,
                reminder_name: run.reminder_name.clone(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The send window closed mid-run: the rest stay pending; run and reminder pause until the
    /// operator resumes or cancels the run.
    pub(super) async fn pause(
        &self,
        run: &runs::Model,
        reminder: &reminders::Model,
        closed: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let reason = format!(
            "the send window closed at {}",
            closed.format("%Y-%m-%d %H:%M UTC")
        );
        let txn = begin_write(&self.db).await?;
        if !rows::set_run_status(
            &txn,
            run.id,
            RunStatus::Running,
            RunStatus::Paused,
            Some(&reason),
            now,
        )
        .await?
        {
            return Ok(());
        }
        // A one-off has already ended with its fire; it too waits on this run now.
        if matches!(
            reminder.status,
            ReminderStatus::Active | ReminderStatus::Ended
        ) {
            let why = format!(
                "paused with its run of {}: {reason}",
                run.occurrence_at.format("%Y-%m-%d %H:%M UTC")
            );
            service::reminders::firing::stop(&txn, reminder, ReminderStatus::Paused, &why, now)
                .await?;
        }
        let counts = rows::counts(&txn, run.id).await?;
        let account_id = reminder.account_id;
        for event in [
            Event::RunFinished {
                account_id,
                run_id: run.id,
                reminder_id: run.reminder_id,
                status: RunStatus::Paused,
                counts,
            },
            Event::RunAlert {
                account_id,
                run_id: run.id,
                reminder_id: run.reminder_id,
                reminder_name: run.reminder_name.clone(),
                status: RunStatus::Paused,
                counts,
            },
        ] {
            events::publish_in(&txn, run.operator_id, &event).await?;
        }
        txn.commit().await?;
        // Resumed later, the run waits afresh for an account that is away then.
        self.back(run.id);
        tracing::info!(
            run_id = run.id,
            pending = counts.pending,
            "send window closed; run paused"
        );
        Ok(())
    }
}
