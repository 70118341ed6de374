//! What a stopped process leaves behind, and the sweep that keeps delivery from ever getting
//! stuck. At start, and then periodically:
//!
//! - jobs left `in_progress` by a worker that died go back in line;
//! - a target left `sending` (its sender died mid-send) becomes `unknown` — WhatsApp may or may
//!   not have it — and is reported, never re-sent;
//! - every active reminder whose next fire is not queued gets it queued (a reminder saved while
//!   the worker was down, or a fire that ran out of retries), and so does every owed occurrence;
//! - every run still `running` gets a delivery pass.
//!
//! With one worker (always, on SQLite) everything a previous process left is orphaned at start.
//! Several workers share PostgreSQL, so there only claims older than the send timeout allows
//! count as orphaned: a peer's send under way is never mistaken for a dead one.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{
    reminder_owed_fires as owed, reminder_run_targets as targets, reminder_runs as runs, reminders,
};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use service::{bus::events, database::begin_write};

use super::Delivery;
use crate::jobs::{queue::JobQueue, tasks::Fire};

const UNKNOWN: &str =
    "unknown: Herald stopped while sending; WhatsApp may have delivered it, so it is not re-sent";

impl Delivery {
    /// At start: `shared` says whether other workers may be running (PostgreSQL).
    pub(super) async fn recover(self: &Arc<Self>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let shared = self.db.get_database_backend() == DbBackend::Postgres;
        let (stuck, orphaned) = if shared {
            (now - self.settings.stuck_after, now - self.orphan_after())
        } else {
            (now, now)
        };
        self.sweep(stuck, orphaned).await
    }

    /// The periodic sweep, with the cut-offs a live peer can never fall behind.
    pub(super) async fn sweep_periodically(self: &Arc<Self>) -> anyhow::Result<()> {
        let now = self.clock.now();
        self.sweep(now - self.settings.stuck_after, now - self.orphan_after())
            .await
    }

    /// Longer than a live claim can go unrenewed: the sender renews it before each part, and a
    /// part takes at most the send timeout (uploads happen before the claim). So it holds for a
    /// message of any number of parts.
    pub(super) fn orphan_after(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.send_timeout * 3)
            .unwrap_or(chrono::Duration::minutes(10))
    }

    async fn sweep(
        self: &Arc<Self>,
        stuck_before: DateTime<Utc>,
        claimed_before: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let requeued = self.queue.reap_stuck(stuck_before).await?;
        if requeued > 0 {
            tracing::warn!(
                tasks = requeued,
                "re-queued jobs a stopped worker left in progress"
            );
        }
        self.mark_unknown(claimed_before).await?;
        let armed = self.arm_missing().await?;

        let running = runs::Entity::find()
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .order_by_asc(runs::Column::Id)
            .all(&self.db)
            .await?;
        for run in &running {
            self.dispatch(run.id).await?;
        }
        if armed > 0 || !running.is_empty() {
            tracing::info!(armed, runs = running.len(), "delivery swept");
        }
        Ok(())
    }

    /// Queues the next fire of every active reminder that has none waiting: one query finds
    /// those queued, the rest are inserted a thousand per commit.
    async fn arm_missing(&self) -> anyhow::Result<usize> {
        let active = reminders::Entity::find()
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::NextFireAt.is_not_null())
            .all(&self.db)
            .await?;
        let owed = owed::Entity::find().all(&self.db).await?;
        let waiting = self.queue.waiting(&self.queue_name).await?;
        let mut missing = Vec::new();
        let owed = owed.into_iter().map(|row| Fire {
            queue: self.queue_name.clone(),
            reminder_id: row.reminder_id,
            occurrence_at: row.occurrence_at,
        });
        for fire in active.iter().filter_map(|r| self.next_fire(r)).chain(owed) {
            if !waiting.contains(&JobQueue::uniq_hash(&fire)?) {
                missing.push(fire);
            }
        }
        for batch in missing.chunks(1000) {
            let txn = begin_write(&self.db).await?;
            for fire in batch {
                self.queue.schedule_on(&txn, fire).await?;
            }
            txn.commit().await?;
        }
        Ok(missing.len())
    }

    /// `sending → unknown` for claims taken before `before`, with one alert per run naming its
    /// groups.
    async fn mark_unknown(&self, before: DateTime<Utc>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // One conditional UPDATE: a claim renewed meanwhile (a live send's next part) stays, and
        // only the rows this sweep changed are reported, so two sweeps never alert twice.
        let stranded = targets::Entity::update_many()
            .col_expr(targets::Column::Status, Expr::value(TargetStatus::Unknown))
            .col_expr(targets::Column::Reason, Expr::value(UNKNOWN))
            .col_expr(targets::Column::UpdatedAt, Expr::value(now))
            .filter(targets::Column::Status.eq(TargetStatus::Sending))
            .filter(targets::Column::ClaimedAt.lte(before))
            .exec_with_returning(&txn)
            .await?;
        if stranded.is_empty() {
            return Ok(());
        }
        let runs: HashMap<i64, runs::Model> = runs::Entity::find()
            .filter(runs::Column::Id.is_in(stranded.iter().map(|t| t.run_id)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|run| (run.id, run))
            .collect();
        let mut by_run: BTreeMap<i64, (&runs::Model, Vec<String>)> = BTreeMap::new();
        for target in stranded {
            if let Some(run) = runs.get(&target.run_id) {
                by_run
                    .entry(run.id)
                    .or_insert_with(|| (run, Vec::new()))
                    .1
                    .push(target.group_name);
            }
        }
        for (run, groups) in by_run.into_values() {
            tracing::warn!(
                run_id = run.id,
                groups = groups.len(),
                "sends interrupted by a stop are unknown"
            );
            let alert = Event::TargetsUnknown {
                account_id: run.account_id.unwrap_or_default(),
                run_id: run.id,
                reminder_name: run.reminder_name.clone(),
                groups,
            };
            events::publish_in(&txn, run.operator_id, &alert).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
