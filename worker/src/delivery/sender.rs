//! One sender per account works through that account's runs, one target at a time: checks the
//! send window and the connection, waits for its pacing slot, claims the target, sends it
//! ([`super::sending`]), records the outcome. Runs of one account never interleave, so the
//! pacing holds whatever the number of reminders.

use std::{collections::VecDeque, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    pacing::Pacer,
    status::{AccountStatus, RunStatus, TargetStatus},
    timezone::TimeZone,
    window,
};
use entity::{
    reminder_run_targets as targets, reminder_runs as runs, reminders,
    whatsapp_accounts as accounts,
};
use sea_orm::EntityTrait;
use tokio::sync::mpsc;

use super::{
    Delivery,
    sending::{Parts, UploadError},
    targets::{self as rows, Claim, Outcome},
};
use crate::provider::SendError;

/// The run and its reminder are re-read at least this often during a run, so a pause, a
/// cancel, a new send window or a deletion made meanwhile applies to the groups still to come.
/// (The message is the run's own copy, which never changes.)
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Due targets are looked up this many at a time; each is still claimed on its own.
const BATCH: u64 = 64;
/// How often a run whose account is away looks again (within the grace window).
const OFFLINE_RECHECK: chrono::Duration = chrono::Duration::seconds(5);
/// How often a run whose last groups are being sent elsewhere (a peer's send, or one a crash
/// left claimed until the sweep reports it) looks again whether it is done.
const CLAIMED_RECHECK: chrono::Duration = chrono::Duration::seconds(5);
/// How long an account WhatsApp rate-limits is left alone before its next send.
const RATE_LIMIT_HOLD: chrono::Duration = chrono::Duration::seconds(60);

/// Why a pass over a run stopped.
pub(super) enum Stop {
    /// Nothing left: roll up.
    Done,
    /// Targets wait (retry delays, an upload retry, the account reconnecting); come back then.
    WaitUntil(DateTime<Utc>),
    /// Paused, cancelled, finished elsewhere, or shutting down.
    Left,
}

/// An account's sender's own state, kept across runs.
struct Pace {
    pacer: Pacer,
    /// WhatsApp rate-limited the account: nothing goes out before this.
    hold_until: Option<DateTime<Utc>>,
}

/// The rows a run's sends depend on, as last read.
struct Snapshot {
    run: runs::Model,
    reminder: reminders::Model,
    parts: Parts,
    read_at: tokio::time::Instant,
}

impl Delivery {
    /// Hands `run_id` to its account's sender, starting one if there is none (or it died).
    /// Nothing once shutting down: a sender started then would outlive the delivery.
    pub(crate) async fn dispatch(self: &Arc<Self>, run_id: i64) -> anyhow::Result<()> {
        if self.stopping() {
            return Ok(());
        }
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(());
        };
        if run.status != RunStatus::Running {
            return Ok(());
        }
        let Some(account_id) = run.account_id else {
            let reason = "the account was deleted";
            let now = self.clock.now();
            rows::close_pending(&self.db, run_id, TargetStatus::Skipped, reason, now).await?;
            if !self.finish(&run, 0).await? {
                self.pass_ended(run_id, Some(now + CLAIMED_RECHECK));
            }
            return Ok(());
        };
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if senders.get(&account_id).is_none_or(|tx| tx.is_closed()) {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(Arc::clone(self).sender(account_id, rx));
            senders.insert(account_id, tx);
        }
        // Counted before the send: the sender may end the pass before this line returns.
        self.taken(run_id, account_id);
        let handed = senders
            .get(&account_id)
            .is_some_and(|tx| tx.send(run_id).is_ok());
        if !handed {
            drop(senders);
            self.pass_ended(run_id, None);
            anyhow::bail!("the sender of account {account_id} stopped");
        }
        Ok(())
    }

    async fn sender(self: Arc<Self>, account_id: i64, mut runs: mpsc::UnboundedReceiver<i64>) {
        let _ended = scopeguard(|| self.sender_ended(account_id));
        let mut pace = Pace {
            pacer: self.pacer_for(account_id).await,
            hold_until: None,
        };
        while let Some(run_id) = runs.recv().await {
            let next_pass = match self.send_run(account_id, run_id, &mut pace).await {
                Ok(next_pass) => next_pass,
                Err(e) => {
                    // The run stays `running`: the due loop gives it another pass.
                    tracing::error!(account_id, run_id, error = %e, "sending a run failed; retrying in 30 s");
                    Some(self.clock.now() + chrono::Duration::seconds(30))
                }
            };
            self.pass_ended(run_id, next_pass);
        }
    }

    /// A pacer that remembers this account's sends of the last minute, so a restart does not
    /// reset its pace.
    async fn pacer_for(&self, account_id: i64) -> Pacer {
        let mut pacer = Pacer::new(&self.settings.pacing);
        let since = self.clock.now() - chrono::Duration::minutes(1);
        match rows::recent_sends(&self.db, Some(account_id), since).await {
            Ok(sends) => sends.into_iter().for_each(|at| pacer.record(at)),
            Err(e) => tracing::warn!(account_id, error = %e, "could not read recent sends"),
        }
        pacer
    }

    /// One pass over `run_id`; returns when the run wants its next pass, if it is not done.
    async fn send_run(
        &self,
        account_id: i64,
        run_id: i64,
        pace: &mut Pace,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut last_progress = None;
        let stop = self
            .send_targets(account_id, run_id, pace, &mut last_progress)
            .await?;
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(None);
        };
        match stop {
            Stop::Done => match self.finish(&run, account_id).await? {
                true => Ok(None),
                false => Ok(Some(self.clock.now() + CLAIMED_RECHECK)),
            },
            Stop::WaitUntil(at) => {
                if last_progress.is_some() {
                    self.progress(&run, account_id, &mut last_progress, true)
                        .await?;
                }
                Ok(Some(at))
            }
            Stop::Left => Ok(None),
        }
    }

    async fn send_targets(
        &self,
        account_id: i64,
        run_id: i64,
        pace: &mut Pace,
        last_progress: &mut Option<DateTime<Utc>>,
    ) -> anyhow::Result<Stop> {
        let mut jitter = jitter_unit();
        let mut snapshot: Option<Snapshot> = None;
        let mut due: VecDeque<targets::Model> = VecDeque::new();
        loop {
            // The account went to another worker: its new holder continues the run.
            if self.stopping() || !self.leases.holds(account_id) {
                return Ok(Stop::Left);
            }
            let now = self.clock.now();
            if snapshot
                .as_ref()
                .is_none_or(|s| s.read_at.elapsed() >= REFRESH_EVERY)
            {
                match self.snapshot(run_id, now).await? {
                    Ok(fresh) => snapshot = Some(fresh),
                    Err(stop) => return Ok(stop),
                }
            }
            let Some(Snapshot {
                run,
                reminder,
                parts,
                ..
            }) = snapshot.as_ref()
            else {
                continue;
            };
            if let Some(closes) = window_closes(run, reminder)
                && now >= closes
            {
                self.pause(run, reminder, closes).await?;
                return Ok(Stop::Left);
            }
            let Some(session) = self.sessions.connected(account_id) else {
                return self.away(run, reminder, account_id, now).await;
            };
            self.back(run_id);
            if due.is_empty() {
                due.extend(rows::next_due(&self.db, run_id, now, BATCH).await?);
            }
            let Some(target) = due.front().cloned() else {
                return Ok(match rows::next_retry_at(&self.db, run_id).await? {
                    Some(at) => Stop::WaitUntil(at),
                    None => Stop::Done,
                });
            };
            match self.upload_media(&*session, run_id, parts).await {
                Ok(()) => {}
                Err(UploadError::Retry { after }) => return Ok(Stop::WaitUntil(now + after)),
                Err(failed) => {
                    let reason = failed.to_string();
                    rows::close_pending(&self.db, run_id, TargetStatus::Failed, &reason, now)
                        .await?;
                    return Ok(Stop::Done);
                }
            }

            // After any wait the window, the connection and the target are checked again.
            let slot = pace
                .pacer
                .next_slot(now, jitter)
                .max(pace.hold_until.unwrap_or(now));
            if slot > now {
                self.clock.sleep_until(slot).await;
                continue;
            }
            let messages = parts.remaining(target.parts_sent);
            if let Some(later) = self.reserve_hourly(messages) {
                self.clock.sleep_until(later).await;
                continue;
            }
            due.pop_front();
            // Counted before the claim, so a shutdown or a hand-over waits for any send it lets
            // start.
            self.sending.send_modify(|s| s.push(account_id));
            let _sending = scopeguard(|| {
                self.sending.send_modify(|s| {
                    if let Some(i) = s.iter().position(|a| *a == account_id) {
                        s.swap_remove(i);
                    }
                })
            });
            let fence = self.leases.fence(account_id);
            let Some(fence) = fence.filter(|_| !self.stopping()) else {
                continue;
            };
            // The claim returns the row as claimed: another process may have moved it on. Its
            // time is read now, after any upload, so it is the send's own start.
            let claimed = rows::claim(&self.db, target.id, self.clock.now(), &fence).await?;
            let Some(target) = claimed else {
                continue;
            };
            let (outcome, error) = self
                .send_target(&*session, account_id, &target, parts, run.occurrence_at)
                .await;
            // The next interval counts from the end of this send, however long it took.
            let ended = self.clock.now();
            for _ in 0..messages.max(1) {
                pace.pacer.record(ended);
            }
            if matches!(error, Some(SendError::RateLimited)) {
                pace.hold_until = Some(ended + RATE_LIMIT_HOLD);
            }
            jitter = jitter_unit();
            let unknown = matches!(outcome, Outcome::Unknown { .. });
            // Reported already when a sweep took the send for abandoned.
            if self.settle(Claim::of(&target), outcome).await && unknown {
                self.report_unknown(run, &target).await?;
            }
            self.progress(run, account_id, last_progress, false).await?;
        }
    }

    /// The run, its reminder and parts, or why the pass ends here.
    async fn snapshot(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<Snapshot, Stop>> {
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(Err(Stop::Left));
        };
        if run.status != RunStatus::Running {
            return Ok(Err(Stop::Left));
        }
        let reminder = match run.reminder_id {
            Some(id) => reminders::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        };
        let Some(reminder) = reminder else {
            // Deleted moments ago: Undo may still put it back, and with it this run.
            if let Some(operator_id) = run.operator_id
                && let Some(until) =
                    service::reminders::held_for_undo(&self.db, operator_id, run_id, now).await?
            {
                return Ok(Err(Stop::WaitUntil(until)));
            }
            let reason = "the reminder was deleted";
            rows::close_pending(&self.db, run_id, TargetStatus::Skipped, reason, now).await?;
            return Ok(Err(Stop::Done));
        };
        // The run's own copy of the message: an edit since the fire changes the next run only.
        let mut parts = service::runs::message(&self.db, run_id).await?;
        if parts.is_empty() {
            // Fired by a worker older than the copies (during an upgrade): it takes the
            // message as it is now.
            self.copy_message(&self.db, reminder.id, run_id).await?;
            parts = service::runs::message(&self.db, run_id).await?;
        }
        if parts.is_empty() {
            let reason = "this run has no message to send";
            rows::close_pending(&self.db, run_id, TargetStatus::Failed, reason, now).await?;
            return Ok(Err(Stop::Done));
        }
        Ok(Ok(Snapshot {
            run,
            reminder,
            parts: Parts(parts),
            read_at: tokio::time::Instant::now(),
        }))
    }

    /// The account has no connected session here. Not connected when the run starts: its
    /// groups are skipped at once. Dropped mid-run, or still being resumed by this process:
    /// wait for it, within the grace window counted from when this run found it away (in this
    /// process: after a restart late in a long run the wait for the resuming session starts
    /// afresh), then skip.
    async fn away(
        &self,
        run: &runs::Model,
        reminder: &reminders::Model,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Stop> {
        let account = accounts::Entity::find_by_id(account_id)
            .one(&self.db)
            .await?;
        let resuming = account
            .as_ref()
            .is_some_and(|a| a.status == AccountStatus::Connected);
        let gone = *self
            .away_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(run.id)
            .or_insert(now);
        let waiting = resuming || rows::attempted(&self.db, run.id).await?;
        if waiting && now - gone < self.settings.grace {
            return Ok(Stop::WaitUntil(now + OFFLINE_RECHECK));
        }
        // Only the account's holder decides its groups are skipped.
        if !self.leases.holds(account_id) {
            return Ok(Stop::Left);
        }
        self.skip_offline(run, reminder, account).await?;
        Ok(Stop::Done)
    }

    /// The run's account has its session: should it go away again, the wait starts afresh.
    pub(super) fn back(&self, run_id: i64) {
        self.away_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&run_id);
    }

    /// Takes `messages` sends from the hourly budget all accounts share, or says when there is
    /// room again. Under one lock, so two accounts cannot both spend the last of it.
    fn reserve_hourly(&self, messages: u32) -> Option<DateTime<Utc>> {
        let mut hourly = self.hourly.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        let slot = hourly.next_slot(now);
        if slot > now {
            return Some(slot);
        }
        for _ in 0..messages.max(1) {
            hourly.record(now);
        }
        None
    }

    /// Stores an outcome; a send that happened must not go unrecorded, so this waits out a
    /// database hiccup rather than giving up. `true` when it landed on this sender's claim.
    async fn settle(&self, claim: Claim, outcome: Outcome) -> bool {
        let mut delay = std::time::Duration::from_millis(200);
        loop {
            match rows::settle(&self.db, claim, &outcome, self.clock.now()).await {
                Ok(own) => return own,
                Err(e) => {
                    tracing::warn!(target_id = claim.target_id, error = %e, "recording a send's outcome failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(30));
                }
            }
        }
    }
}

/// When the run's send window closes; `None` when it has none or the operator resumed it past.
fn window_closes(run: &runs::Model, reminder: &reminders::Model) -> Option<DateTime<Utc>> {
    if run.resumed_at.is_some() {
        return None;
    }
    let end_hour = u8::try_from(reminder.send_window_end_hour?).ok()?;
    let zone = reminder.timezone.parse::<TimeZone>().ok()?;
    Some(window::closes_at(run.occurrence_at, zone, end_hour))
}

/// Runs `f` when dropped.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// A uniform sample in [-1, 1] for the pacing jitter.
fn jitter_unit() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.0;
    }
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) * 2.0 - 1.0
}
