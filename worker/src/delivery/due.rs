//! The due loop: the one place where a due moment becomes work. The rows are the truth of when
//! something is due — `reminders.next_fire_at` for an active reminder's next occurrence,
//! `reminder_owed_fires` for occurrences a change overtook, and a `running` run for sends still
//! to make — so the loop reads them, fires what came due, hands runs to their account's sender,
//! and sleeps until the next due moment on the delivery clock, or until something wakes it.
//!
//! It looks only at the accounts this worker holds the lease of, so with several workers each
//! reminder fires and each run is sent where its account's session runs. Should two workers
//! still see the same due moment (a lease changing hands), the fire's conditional UPDATE and the
//! fenced target claim decide (docs/architecture.md, invariants 1, 2 and 16).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Weak},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::status::{ReminderStatus, RunStatus};
use entity::{reminder_owed_fires as owed, reminder_runs as runs, reminders};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Query,
};

use super::Delivery;

/// The longest the loop sleeps without looking: what another worker sharing PostgreSQL saved is
/// seen within this. (This worker's own changes wake it at once.)
const RECHECK: Duration = Duration::from_secs(1);
/// Occurrences fired per pass; a larger backlog continues on the next pass at once.
const FIRES_PER_PASS: u64 = 500;
/// A fire that failed (the database refused it) is tried again after this, doubling, at most
/// [`MAX_BACKOFF`]. Once its occurrence is past the grace window it could no longer go out, so
/// it is recorded as not sent, with the error and an alert, rather than tried forever.
const FIRST_BACKOFF: chrono::Duration = chrono::Duration::seconds(5);
const MAX_BACKOFF: chrono::Duration = chrono::Duration::minutes(10);
/// How long the runs of a sender that ended wait before a new sender takes them.
const SENDER_RESTART: chrono::Duration = chrono::Duration::seconds(30);

/// What the loop remembers between passes; the rows hold everything else.
#[derive(Default)]
pub(super) struct Passes {
    /// Runs handed to a sender: their account, and how many of their passes have not ended.
    in_hand: HashMap<i64, (i64, usize)>,
    /// When a run whose pass ended waiting (pacing, a retry delay, its account away) wants the
    /// next one. Forgotten at a restart, which then gives every running run a pass at once.
    resume_at: HashMap<i64, DateTime<Utc>>,
}

/// A fire that failed: how long it waited last, when it is tried again, and why it failed.
struct Failing {
    wait: chrono::Duration,
    retry_at: DateTime<Utc>,
    error: String,
}

/// Fires that failed, and when each is tried again.
#[derive(Default)]
struct Backoff(HashMap<(i64, DateTime<Utc>), Failing>);

impl Backoff {
    /// Forgets the fires no longer due (fired by a peer, edited, deleted): only what the rows
    /// still say is due may hold the loop's attention.
    fn keep_only(&mut self, due: &[(i64, DateTime<Utc>)]) {
        self.0.retain(|key, _| due.contains(key));
    }

    fn ready(&self, key: &(i64, DateTime<Utc>), now: DateTime<Utc>) -> bool {
        self.0.get(key).is_none_or(|f| f.retry_at <= now)
    }

    /// Why the fire of `key` failed last, if it did.
    fn error(&self, key: &(i64, DateTime<Utc>)) -> Option<&str> {
        self.0.get(key).map(|f| f.error.as_str())
    }

    fn failed(&mut self, key: (i64, DateTime<Utc>), now: DateTime<Utc>, error: String) {
        let wait = self
            .0
            .get(&key)
            .map_or(FIRST_BACKOFF, |f| (f.wait * 2).min(MAX_BACKOFF));
        let retry_at = now + wait;
        self.0.insert(
            key,
            Failing {
                wait,
                retry_at,
                error,
            },
        );
    }

    /// The next retry still to come.
    fn next(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0
            .values()
            .map(|f| f.retry_at)
            .filter(|at| *at > now)
            .min()
    }
}

impl Delivery {
    /// Wakes the due loop: a reminder changed, or a run wants a pass.
    pub(super) fn wake(&self) {
        self.due_changed.notify_one();
    }

    /// When the due loop gives the running `run_id` its next pass, if the run is waiting for one
    /// (not done, not in a sender's hands): for diagnostics and tests.
    pub fn next_pass(&self, run_id: i64) -> Option<DateTime<Utc>> {
        let passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        passes.resume_at.get(&run_id).copied()
    }

    /// `run_id` was handed to the sender of `account_id`.
    pub(super) fn taken(&self, run_id: i64, account_id: i64) {
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        passes.resume_at.remove(&run_id);
        passes.in_hand.entry(run_id).or_insert((account_id, 0)).1 += 1;
    }

    /// The sender of `account_id` ended (a shutdown, or a panic): its runs are in nobody's
    /// hands, so the due loop hands them to a new sender — after a pause, so a sender that
    /// panics again does not restart in a tight loop. Its inbox leaves the map first, so no run
    /// is handed to it meanwhile.
    pub(super) fn sender_ended(&self, account_id: i64) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders.remove(&account_id);
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        let held: Vec<i64> = passes
            .in_hand
            .iter()
            .filter(|(_, (account, _))| *account == account_id)
            .map(|(run, _)| *run)
            .collect();
        let later = self.clock.now() + SENDER_RESTART;
        for run in held {
            passes.in_hand.remove(&run);
            passes.resume_at.insert(run, later);
        }
        drop(passes);
        drop(senders);
        self.wake();
    }

    /// A session connected: every run waiting because its account was away gets its next pass
    /// now rather than at its next recheck.
    fn account_back(&self) {
        let away: Vec<i64> = self
            .away_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        for run in away {
            passes.resume_at.remove(&run);
        }
    }

    /// `run_id`'s pass ended; `resume_at` is when it wants the next one, if it is not done.
    pub(super) fn pass_ended(&self, run_id: i64, resume_at: Option<DateTime<Utc>>) {
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, n)) = passes.in_hand.get_mut(&run_id) {
            *n -= 1;
            if *n == 0 {
                passes.in_hand.remove(&run_id);
            }
        }
        match resume_at {
            Some(at) => passes.resume_at.insert(run_id, at),
            None => passes.resume_at.remove(&run_id),
        };
        drop(passes);
        self.wake();
    }

    /// Runs until delivery shuts down. Holds the delivery weakly, so dropping it ends the loop.
    pub(super) async fn due_loop(delivery: Weak<Self>) {
        let mut backoff = Backoff::default();
        let Some(mut connects) = delivery.upgrade().map(|d| d.sessions.connects()) else {
            return;
        };
        loop {
            let Some(this) = delivery.upgrade() else {
                return;
            };
            if this.stopping() {
                return;
            }
            let next = match this.pass(&mut backoff).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "reading what is due failed; retrying");
                    Some(this.clock.now() + FIRST_BACKOFF)
                }
            };
            let next = [next, backoff.next(this.clock.now())]
                .into_iter()
                .flatten()
                .min();
            let woken = this.due_changed.clone();
            let clock = this.clock.clone();
            let mut stopping = this.stopping.subscribe();
            drop(this);
            tokio::select! {
                // A session connected: the runs waiting for their account go on now.
                Ok(()) = connects.changed() => {
                    if let Some(this) = delivery.upgrade() {
                        this.account_back();
                    }
                }
                _ = async {
                    match next {
                        Some(at) => clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = woken.notified() => {}
                _ = tokio::time::sleep(RECHECK) => {}
                _ = stopping.wait_for(|stopping| *stopping) => {}
            }
        }
    }

    /// One pass: fires what came due and hands waiting runs to their senders. Returns the next
    /// due moment the rows know of (`None` when nothing is scheduled).
    async fn pass(
        self: &Arc<Self>,
        backoff: &mut Backoff,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let now = self.clock.now();
        let held = self.leases.accounts();
        let due = reminders::Entity::find()
            .select_only()
            .columns([reminders::Column::Id, reminders::Column::NextFireAt])
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::AccountId.is_in(held.clone()))
            .filter(reminders::Column::NextFireAt.lte(now))
            .order_by_asc(reminders::Column::NextFireAt)
            .limit(FIRES_PER_PASS)
            .into_tuple::<(i64, DateTime<Utc>)>()
            .all(&self.db)
            .await?;
        // A send now stamped by a server whose clock runs ahead waits for this one's.
        let owed = owed::Entity::find()
            .select_only()
            .columns([owed::Column::ReminderId, owed::Column::OccurrenceAt])
            .filter(owed::Column::OccurrenceAt.lte(now))
            .filter(
                owed::Column::ReminderId.in_subquery(
                    Query::select()
                        .column(reminders::Column::Id)
                        .from(reminders::Entity)
                        .and_where(reminders::Column::AccountId.is_in(held.clone()))
                        .take(),
                ),
            )
            .order_by_asc(owed::Column::OccurrenceAt)
            .into_tuple::<(i64, DateTime<Utc>)>()
            .all(&self.db)
            .await?;
        let keys: Vec<_> = due.into_iter().chain(owed).collect();
        backoff.keep_only(&keys);
        let mut fired = 0u64;
        for key in keys {
            if self.stopping() {
                return Ok(None);
            }
            if !backoff.ready(&key, now) {
                continue;
            }
            fired += 1;
            let (reminder_id, occurrence) = key;
            // A fire that failed and whose occurrence is now past the grace window could no
            // longer go out: it is recorded as not sent, with why it failed.
            let outcome = match backoff.error(&key) {
                Some(error) if now - occurrence > self.settings.grace => {
                    self.record_unfired(reminder_id, occurrence, error).await
                }
                _ => self.fire(reminder_id, occurrence).await,
            };
            match outcome {
                Ok(()) => {
                    backoff.0.remove(&key);
                }
                Err(e) => {
                    tracing::error!(reminder_id, %occurrence, error = %e, "firing failed");
                    backoff.failed(key, now, format!("{e:#}"));
                }
            }
        }
        let resume = self.resume_runs(now).await?;
        // Something fired: the reminders it moved on may still be due (a catch-up after an
        // outage, or a backlog beyond one pass), so look again at once.
        if fired > 0 {
            return Ok(Some(now));
        }
        let next_fire = reminders::Entity::find()
            .select_only()
            .column(reminders::Column::NextFireAt)
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .filter(reminders::Column::AccountId.is_in(held))
            .filter(reminders::Column::NextFireAt.gt(now))
            .order_by_asc(reminders::Column::NextFireAt)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&self.db)
            .await?
            .flatten();
        Ok([next_fire, resume].into_iter().flatten().min())
    }

    /// Hands every running run that is neither in a sender's hands nor waiting to its sender.
    /// Returns the earliest moment a waiting run wants its next pass.
    async fn resume_runs(
        self: &Arc<Self>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        // A run whose account was deleted has no holder: whoever sees it closes it.
        let running: Vec<(i64, Option<i64>)> = runs::Entity::find()
            .select_only()
            .columns([runs::Column::Id, runs::Column::AccountId])
            .filter(runs::Column::Status.eq(RunStatus::Running))
            .filter(
                Condition::any()
                    .add(runs::Column::AccountId.is_in(self.leases.accounts()))
                    .add(runs::Column::AccountId.is_null()),
            )
            .order_by_asc(runs::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        // Runs waiting for their account whose session is up now: ready whatever their next
        // pass said. A session that connected while such a run's sender was still deciding to
        // wait raised its wake-up (`account_back`) before the run waited, so that edge alone
        // could leave it waiting until its recheck; this look catches it within one pass.
        let back: HashSet<i64> = {
            let away = self.away_since.lock().unwrap_or_else(|e| e.into_inner());
            running
                .iter()
                .filter(|(id, _)| away.contains_key(id))
                .filter(|(_, account)| {
                    account.is_some_and(|a| self.sessions.connected(a).is_some())
                })
                .map(|(id, _)| *id)
                .collect()
        };
        let (ready, next) = {
            let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
            // Runs that ended elsewhere (finished, paused, deleted) are forgotten.
            passes
                .resume_at
                .retain(|id, _| running.binary_search_by_key(id, |(run, _)| *run).is_ok());
            let ready: Vec<i64> = running
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| !passes.in_hand.contains_key(id))
                .filter(|id| {
                    back.contains(id) || passes.resume_at.get(id).is_none_or(|at| *at <= now)
                })
                .collect();
            let next = passes
                .resume_at
                .values()
                .filter(|at| **at > now)
                .min()
                .copied();
            (ready, next)
        };
        for run_id in ready {
            // One run's failure must not hold up the others; it is tried on the next pass.
            if let Err(e) = self.dispatch(run_id).await {
                tracing::warn!(run_id, error = %e, "handing a run to its sender failed");
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_failed_fire_waits_doubling_up_to_the_cap() {
        let key = (1, t(0));
        let mut backoff = Backoff::default();
        backoff.failed(key, t(0), "refused".to_owned());
        assert_eq!(backoff.error(&key), Some("refused"));
        assert!(!backoff.ready(&key, t(4)));
        assert!(backoff.ready(&key, t(5)));
        let mut at = t(5);
        for wait in [10, 20, 40, 80, 160, 320, 600, 600] {
            backoff.failed(key, at, String::new());
            assert_eq!(backoff.next(at), Some(at + chrono::Duration::seconds(wait)));
            at += chrono::Duration::seconds(wait);
        }
    }

    #[test]
    fn a_fire_no_longer_due_is_forgotten_and_a_past_retry_never_holds_the_loop_awake() {
        let (gone, kept) = ((1, t(0)), (2, t(0)));
        let mut backoff = Backoff::default();
        backoff.failed(gone, t(0), String::new());
        backoff.failed(kept, t(0), String::new());
        // Fired by a peer meanwhile: no longer among what the rows say is due.
        backoff.keep_only(&[kept]);
        assert_eq!(backoff.0.len(), 1);
        assert!(backoff.ready(&gone, t(0)));
        // A retry time already past is no reason to wake: the pass that is due takes it.
        assert_eq!(backoff.next(t(1)), Some(t(5)));
        assert_eq!(backoff.next(t(5)), None);
    }
}
