//! What a stopped process leaves behind, and the sweep that keeps delivery from ever getting
//! stuck. At start, and then periodically, a target left `sending` (its sender died mid-send)
//! becomes `unknown` — WhatsApp may or may not have it — and is reported, never re-sent unless
//! the operator confirms the risk of a duplicate.
//!
//! Nothing else needs recovering: what is due lives in the rows, so the due loop's first pass
//! fires what came due while the worker was down and gives every `running` run a pass.
//!
//! With one worker (always, on SQLite) everything a previous process left is orphaned at start.
//! Several workers share PostgreSQL, so there only claims older than the send timeout allows
//! count as orphaned: a peer's send under way is never mistaken for a dead one.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use domain::{bus::Event, status::TargetStatus};
use entity::{reminder_run_targets as targets, reminder_runs as runs};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, sea_query::Expr};
use service::{bus::events, database::begin_write};

use super::Delivery;

const UNKNOWN: &str =
    "unknown: Herald stopped while sending; WhatsApp may have delivered it, so it is not re-sent";

impl Delivery {
    /// At start: `shared` says whether other workers may be running (PostgreSQL).
    pub(super) async fn recover(self: &Arc<Self>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let shared = self.db.get_database_backend() == DbBackend::Postgres;
        let orphaned = if shared {
            now - self.orphan_after()
        } else {
            now
        };
        self.mark_unknown(orphaned).await
    }

    /// The periodic sweep, with the cut-offs a live peer can never fall behind.
    pub(super) async fn sweep_periodically(self: &Arc<Self>) -> anyhow::Result<()> {
        let now = self.clock.now();
        self.mark_unknown(now - self.orphan_after()).await
    }

    /// Longer than a live claim can go unrenewed: the sender renews it before each part, and a
    /// part takes at most the send timeout (uploads happen before the claim). So it holds for a
    /// message of any number of parts.
    pub(super) fn orphan_after(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.send_timeout * 3)
            .unwrap_or(chrono::Duration::minutes(10))
    }

    /// `sending → unknown` for claims taken before `before`, with one alert per run naming its
    /// groups.
    async fn mark_unknown(&self, before: DateTime<Utc>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // One conditional UPDATE: a claim renewed meanwhile (a live send's next part) stays, and
        // only the rows this sweep changed are reported, so two sweeps never alert twice. The
        // claim number stays too: should the sender only have been frozen, its own outcome may
        // still correct the guess, but never a later claim's once a retry reopened the target.
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
