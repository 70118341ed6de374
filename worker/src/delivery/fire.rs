//! An occurrence comes due. In one transaction: the reminder moves on to its next occurrence
//! (a conditional UPDATE on the occurrence being fired, so of two workers only one proceeds),
//! the run is recorded with one target per group — or, past the grace window, a `missed` run
//! with none. The reminder's new `next_fire_at` is its next due moment for the due loop. Then
//! the account's sender takes over.
//!
//! A run keeps its own copy of the message (`reminder_run_parts`), taken here: it sends that
//! copy, whatever the operator edits meanwhile. An occurrence that came due and was then
//! overtaken by a change to its reminder (an edit, a pause) is owed (`reminder_owed_fires`): it
//! is still recorded here — fired late within the grace window, or not sent with an alert —
//! so no occurrence that came due is ever erased without a record.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    run::RunCounts,
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{
    reminder_messages as messages, reminder_run_parts as run_parts,
    reminder_run_targets as targets, reminder_runs as runs, reminder_targets, reminders,
    whatsapp_groups as groups,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use service::{bus::events, database::begin_write, reminders::firing};

use super::Delivery;

/// A long outage records at most this many missed runs per fire; the rest follow at once.
const MISSED_PER_FIRE: usize = 500;

const MISSED: &str = "missed: the worker was not running when it was due";
const STOPPED_WHEN_DUE: &str = "not sent: the reminder was paused or stopped after this \
     occurrence came due, before it could fire";

impl Delivery {
    /// Fires `reminder_id`'s `occurrence`, which the due loop found due.
    pub(crate) async fn fire(
        self: &Arc<Self>,
        reminder_id: i64,
        occurrence: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // Locked, so an edit committing meanwhile is either wholly before this fire or after it.
        let Some(reminder) = reminders::Entity::find_by_id(reminder_id)
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            return Ok(());
        };
        if reminder.status != ReminderStatus::Active || reminder.next_fire_at != Some(occurrence) {
            // Edited, paused or already fired since the due loop read it — unless the change came
            // after the occurrence was due: then it is owed, and recorded all the same.
            return self.fire_owed(txn, &reminder, occurrence, now).await;
        }
        let schedule = match service::reminders::schedule_of(&reminder) {
            Ok(schedule) => schedule,
            Err(e) => {
                // Not silently: the occurrence is recorded as skipped, and the operator told.
                let reason = format!("its schedule cannot be read: {e}");
                firing::stop(&txn, &reminder, ReminderStatus::Failed, &reason, now).await?;
                self.record_not_sent(&txn, &reminder, occurrence, &reason, now)
                    .await?;
                txn.commit().await?;
                return Ok(());
            }
        };

        // Occurrences past the grace window are missed; the first one inside it fires.
        let mut missed = Vec::new();
        let mut due = Some(occurrence);
        let mut firing = None;
        while let Some(at) = due.filter(|at| *at <= now) {
            due = schedule.after(at);
            if now - at > self.settings.grace {
                missed.push(at);
                if missed.len() == MISSED_PER_FIRE {
                    break;
                }
            } else {
                firing = Some(at);
                break;
            }
        }
        let last = firing.or(missed.last().copied()).unwrap_or(occurrence);

        // The claim: only the process that moves the reminder on goes further.
        if !firing::move_on(&txn, reminder_id, occurrence, due, last, now).await? {
            return Ok(());
        }

        let mut missed_runs = Vec::new();
        for at in &missed {
            let run = self
                .insert_run(&txn, &reminder, *at, RunStatus::Skipped, Some(MISSED), now)
                .await?;
            missed_runs.push(run);
        }
        let run = match firing {
            Some(at) => Some(self.start_run(&txn, &reminder, at, now).await?),
            None => None,
        };
        let operator = Some(reminder.operator_id);
        let account_id = reminder.account_id;
        events::publish_in(
            &txn,
            operator,
            &Event::ReminderChanged {
                account_id,
                reminder_id,
            },
        )
        .await?;
        // One alert for however many were missed: a long outage is one message, not hundreds.
        if let (Some(first), Some(last)) = (missed_runs.first(), missed_runs.last()) {
            let alert = Event::Missed {
                account_id,
                reminder_id,
                reminder_name: reminder.name.clone(),
                occurrences: u32::try_from(missed_runs.len()).unwrap_or(u32::MAX),
                first: first.occurrence_at,
                last: last.occurrence_at,
            };
            events::publish_in(&txn, operator, &alert).await?;
        }
        txn.commit().await?;
        if !missed.is_empty() {
            tracing::warn!(
                reminder_id,
                missed = missed.len(),
                "occurrences missed while the worker was down"
            );
        }
        if let Some(run) = run {
            tracing::info!(reminder_id, run_id = run.id, occurrence = %run.occurrence_at, "fired");
            self.hand_over(run.id).await;
        }
        Ok(())
    }

    /// Records an owed occurrence (`reminder_owed_fires`): the reminder changed after it came
    /// due and before this fire. It fires late if the change kept it (same schedule) and the
    /// grace window allows, or is recorded as not sent — for the reason the change gave (a
    /// pause, a new schedule), or because it is too late — with an alert. The reminder's own
    /// schedule is left as the change set it.
    async fn fire_owed(
        self: &Arc<Self>,
        txn: DatabaseTransaction,
        reminder: &reminders::Model,
        occurrence: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        // Taking the row is the claim: of two processes only one records the occurrence.
        let Some(row) = firing::take_owed(&txn, reminder.id, occurrence).await? else {
            return Ok(());
        };
        let recorded = runs::Entity::find()
            .filter(runs::Column::ReminderId.eq(reminder.id))
            .filter(runs::Column::OccurrenceAt.eq(occurrence))
            .one(&txn)
            .await?
            .is_some();
        if recorded {
            txn.commit().await?;
            return Ok(());
        }
        // The change decided, when it was made, whether this still goes out.
        let missed = now - occurrence > self.settings.grace;
        let not_sent = match (row.reason.as_deref(), reminder.status) {
            (Some(reason), _) => Some(reason),
            (None, ReminderStatus::Active | ReminderStatus::Ended) if missed => Some(MISSED),
            (None, ReminderStatus::Active | ReminderStatus::Ended) => None,
            (None, _) => Some(STOPPED_WHEN_DUE),
        };
        let operator = Some(reminder.operator_id);
        let run = match not_sent {
            None => Some(self.start_run(&txn, reminder, occurrence, now).await?),
            Some(MISSED) => {
                self.insert_run(
                    &txn,
                    reminder,
                    occurrence,
                    RunStatus::Skipped,
                    Some(MISSED),
                    now,
                )
                .await?;
                let alert = Event::Missed {
                    account_id: reminder.account_id,
                    reminder_id: reminder.id,
                    reminder_name: reminder.name.clone(),
                    occurrences: 1,
                    first: occurrence,
                    last: occurrence,
                };
                events::publish_in(&txn, operator, &alert).await?;
                None
            }
            Some(reason) => {
                self.record_not_sent(&txn, reminder, occurrence, reason, now)
                    .await?;
                None
            }
        };
        firing::fired_late(&txn, reminder, occurrence).await?;
        let changed = Event::ReminderChanged {
            account_id: reminder.account_id,
            reminder_id: reminder.id,
        };
        events::publish_in(&txn, operator, &changed).await?;
        txn.commit().await?;
        match not_sent {
            None => tracing::info!(reminder_id = reminder.id, %occurrence, "owed occurrence fired"),
            Some(reason) => {
                tracing::warn!(reminder_id = reminder.id, %occurrence, reason, "owed occurrence not sent")
            }
        }
        if let Some(run) = run {
            self.hand_over(run.id).await;
        }
        Ok(())
    }

    /// Hands a run just fired to its sender. The fire is done whatever happens here: should the
    /// hand-over fail, the run's `running` row gets it a pass from the due loop.
    async fn hand_over(self: &Arc<Self>, run_id: i64) {
        if let Err(e) = self.dispatch(run_id).await {
            tracing::warn!(run_id, error = %e, "handing a fired run to its sender failed");
        }
    }

    /// A fire that failed until its occurrence was past the grace window: the occurrence can no
    /// longer go out, so it is recorded as not sent, with the last error, and the operator is
    /// told — and a reminder whose next occurrence it was moves on, so its later occurrences are
    /// not held up. The smallest transaction that says so; nothing if the occurrence was
    /// recorded meanwhile.
    pub(super) async fn record_unfired(
        &self,
        reminder_id: i64,
        occurrence: DateTime<Utc>,
        error: &str,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let Some(reminder) = reminders::Entity::find_by_id(reminder_id)
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            return Ok(());
        };
        let recorded = runs::Entity::find()
            .filter(runs::Column::ReminderId.eq(reminder_id))
            .filter(runs::Column::OccurrenceAt.eq(occurrence))
            .one(&txn)
            .await?
            .is_some();
        let next =
            reminder.status == ReminderStatus::Active && reminder.next_fire_at == Some(occurrence);
        let claimed = if next {
            let after = service::reminders::schedule_of(&reminder)
                .ok()
                .and_then(|schedule| schedule.after(occurrence));
            firing::move_on(&txn, reminder_id, occurrence, after, occurrence, now).await?
        } else {
            firing::take_owed(&txn, reminder_id, occurrence)
                .await?
                .is_some()
        };
        if !claimed || recorded {
            txn.commit().await?;
            return Ok(());
        }
        let reason = format!("not sent: it could not be fired: {error}");
        self.record_not_sent(&txn, &reminder, occurrence, &reason, now)
            .await?;
        txn.commit().await?;
        tracing::error!(reminder_id, %occurrence, "a fire that kept failing is recorded as not sent");
        Ok(())
    }

    /// `occurrence` recorded as a `skipped` run saying why it was not sent, and the operator told.
    async fn record_not_sent(
        &self,
        txn: &DatabaseTransaction,
        reminder: &reminders::Model,
        occurrence: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let run = self
            .insert_run(
                txn,
                reminder,
                occurrence,
                RunStatus::Skipped,
                Some(reason),
                now,
            )
            .await?;
        let alert = Event::RunAlert {
            account_id: reminder.account_id,
            run_id: run.id,
            reminder_id: Some(reminder.id),
            reminder_name: reminder.name.clone(),
            status: RunStatus::Skipped,
            counts: RunCounts::default(),
        };
        events::publish_in(txn, Some(reminder.operator_id), &alert).await?;
        Ok(())
    }

    /// A run that sends now: its row, its own copy of the message and one target per group. Its
    /// `running` row is what continues it should this process stop before its sender takes it.
    async fn start_run(
        &self,
        txn: &DatabaseTransaction,
        reminder: &reminders::Model,
        occurrence: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<runs::Model> {
        let run = self
            .insert_run(txn, reminder, occurrence, RunStatus::Running, None, now)
            .await?;
        self.copy_message(txn, reminder.id, run.id).await?;
        self.insert_targets(txn, reminder, run.id, now).await?;
        Ok(run)
    }

    /// The run's own copy of the reminder's message, as it is at the fire: the run sends this
    /// copy, so an edit never changes a run under way. Idempotent: a part already copied stays.
    pub(super) async fn copy_message(
        &self,
        db: &impl ConnectionTrait,
        reminder_id: i64,
        run_id: i64,
    ) -> Result<(), DbErr> {
        let parts: Vec<_> = messages::Entity::find()
            .filter(messages::Column::ReminderId.eq(reminder_id))
            .order_by_asc(messages::Column::Position)
            .all(db)
            .await?
            .into_iter()
            .map(|part| run_parts::ActiveModel {
                run_id: Set(run_id),
                position: Set(part.position),
                kind: Set(part.kind),
                body: Set(part.body),
                media_file_id: Set(part.media_file_id),
                ..Default::default()
            })
            .collect();
        if !parts.is_empty() {
            run_parts::Entity::insert_many(parts)
                .on_conflict_do_nothing_on([run_parts::Column::RunId, run_parts::Column::Position])
                .exec(db)
                .await?;
        }
        Ok(())
    }

    async fn insert_run(
        &self,
        txn: &DatabaseTransaction,
        reminder: &reminders::Model,
        occurrence: DateTime<Utc>,
        status: RunStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<runs::Model, DbErr> {
        let finished = status != RunStatus::Running;
        runs::ActiveModel {
            reminder_id: Set(Some(reminder.id)),
            reminder_name: Set(reminder.name.clone()),
            account_id: Set(Some(reminder.account_id)),
            operator_id: Set(Some(reminder.operator_id)),
            occurrence_at: Set(occurrence),
            status: Set(status),
            reason: Set(reason.map(str::to_owned)),
            started_at: Set((!finished).then_some(now)),
            fire_lag_ms: Set((!finished).then(|| (now - occurrence).num_milliseconds().max(0))),
            finished_at: Set(finished.then_some(now)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
    }

    /// One target per group, in the reminder's order; a group the account has left is decided
    /// at once as skipped.
    async fn insert_targets(
        &self,
        txn: &DatabaseTransaction,
        reminder: &reminders::Model,
        run_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let rows = reminder_targets::Entity::find()
            .filter(reminder_targets::Column::ReminderId.eq(reminder.id))
            .order_by_asc(reminder_targets::Column::Position)
            .find_also_related(groups::Entity)
            .all(txn)
            .await?;
        let targets: Vec<_> = rows
            .into_iter()
            .filter_map(|(_, group)| group)
            .map(|group| {
                let gone = group.archived_at.is_some() || group.account_id != reminder.account_id;
                targets::ActiveModel {
                    run_id: Set(run_id),
                    group_id: Set(Some(group.id)),
                    group_jid: Set(group.jid),
                    group_name: Set(group.name),
                    status: Set(if gone {
                        TargetStatus::Skipped
                    } else {
                        TargetStatus::Pending
                    }),
                    reason: Set(gone.then(|| "the account is no longer in this group".to_owned())),
                    attempts: Set(0),
                    parts_sent: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
            })
            .collect();
        if !targets.is_empty() {
            targets::Entity::insert_many(targets).exec(txn).await?;
        }
        Ok(())
    }
}
