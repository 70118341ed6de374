//! At start: what a previous process left behind. Jobs it was running go back in line; a target
//! it was sending is `unknown` — WhatsApp may or may not have it — reported and never re-sent;
//! every active reminder's next fire is queued (so a reminder saved while the worker was down,
//! or a lost task, still fires); runs still going continue.

use std::{collections::BTreeMap, sync::Arc};

use domain::{
    bus::Event,
    status::{ReminderStatus, RunStatus, TargetStatus},
};
use entity::{reminder_run_targets as targets, reminder_runs as runs, reminders};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use service::{bus::events, database::begin_write};

use super::Delivery;
use crate::jobs::queue::JobQueue;

const UNKNOWN: &str =
    "unknown: Herald stopped while sending; WhatsApp may have delivered it, so it is not re-sent";

impl Delivery {
    pub(super) async fn recover(self: &Arc<Self>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let requeued = self.queue.reap_stuck(now).await?;
        if requeued > 0 {
            tracing::warn!(
                tasks = requeued,
                "re-queued jobs a previous run left in progress"
            );
        }
        self.mark_unknown().await?;

        let active = reminders::Entity::find()
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::NextFireAt.is_not_null())
            .all(&self.db)
            .await?;
        let waiting = self.queue.waiting(&self.queue_name).await?;
        let mut missing = Vec::new();
        for fire in active.iter().filter_map(|r| self.next_fire(r)) {
            if !waiting.contains(&JobQueue::uniq_hash(&fire)?) {
                missing.push(fire);
            }
        }
        // Batched: one commit per thousand rather than per reminder.
        for batch in missing.chunks(1000) {
            let txn = begin_write(&self.db).await?;
            for fire in batch {
                self.queue.schedule_on(&txn, fire).await?;
            }
            txn.commit().await?;
        }

        let running = runs::Entity::find()
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .order_by_asc(runs::Column::Id)
            .all(&self.db)
            .await?;
        for run in &running {
            self.dispatch(run.id).await?;
        }
        tracing::info!(
            reminders = active.len(),
            runs = running.len(),
            "delivery resumed"
        );
        Ok(())
    }

    /// `sending → unknown`, with one alert per run naming its groups.
    async fn mark_unknown(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let stranded = targets::Entity::find()
            .filter(targets::Column::Status.eq(TargetStatus::Sending))
            .find_also_related(runs::Entity)
            .all(&txn)
            .await?;
        if stranded.is_empty() {
            return Ok(());
        }
        targets::Entity::update_many()
            .col_expr(targets::Column::Status, Expr::value(TargetStatus::Unknown))
            .col_expr(targets::Column::Reason, Expr::value(UNKNOWN))
            .col_expr(targets::Column::UpdatedAt, Expr::value(now))
            .filter(targets::Column::Status.eq(TargetStatus::Sending))
            .exec(&txn)
            .await?;
        let mut by_run: BTreeMap<i64, (runs::Model, Vec<String>)> = BTreeMap::new();
        for (target, run) in stranded {
            if let Some(run) = run {
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
