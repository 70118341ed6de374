//! One sender per account works through that account's runs, one target at a time: checks the
//! send window and the connection, waits for its pacing slot, claims the target, sends every
//! message part, records the outcome. Runs of one account never interleave, so the pacing
//! holds whatever the number of reminders.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    bus::Event,
    pacing::Pacer,
    status::{AccountStatus, MessageKind, ReminderStatus, RunStatus, TargetStatus},
    timezone::TimeZone,
    window,
};
use entity::{
    media_files, reminder_messages as messages, reminder_run_targets as targets,
    reminder_runs as runs, reminders,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use service::{bus::events, database::begin_write};
use tokio::sync::mpsc;

use super::{
    Delivery,
    targets::{self as rows, Outcome},
};
use crate::{
    jobs::tasks::Deliver,
    provider::{MediaFile, OutgoingMessage, SendError, Session, UploadedMedia},
};

/// Progress events for one run at most this often (the final one always goes out).
const PROGRESS_EVERY: chrono::Duration = chrono::Duration::milliseconds(500);
/// How long to wait for a session this process is still bringing up (after a restart).
const RESUMING_WAIT: chrono::Duration = chrono::Duration::seconds(5);

/// The run, its reminder and message parts are re-read at least this often during a run, so an
/// edit or a deletion made meanwhile applies to the groups still to come.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Due targets are looked up this many at a time; each is still claimed on its own.
const BATCH: u64 = 64;

/// What a sender keeps about the run it is on.
struct RunState {
    uploads: HashMap<i64, UploadedMedia>,
    last_progress: Option<DateTime<Utc>>,
}

/// The rows a run's sends depend on, as last read.
struct Snapshot {
    run: runs::Model,
    reminder: reminders::Model,
    parts: Vec<(messages::Model, Option<media_files::Model>)>,
    read_at: tokio::time::Instant,
}

/// Why a run stopped for now.
enum Stop {
    /// Nothing left: roll up.
    Done,
    /// Targets wait out retry delays; come back then.
    WaitUntil(DateTime<Utc>),
    /// Paused, cancelled or finished elsewhere, or handled here already.
    Left,
}

impl Delivery {
    /// Hands `run_id` to its account's sender (starting one if needed).
    pub(crate) async fn dispatch(self: &Arc<Self>, run_id: i64) -> anyhow::Result<()> {
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(());
        };
        if run.status != RunStatus::Running {
            return Ok(());
        }
        let Some(account_id) = run.account_id else {
            let now = self.clock.now();
            rows::close_pending(
                &self.db,
                run_id,
                TargetStatus::Skipped,
                "the account was deleted",
                now,
            )
            .await?;
            return self.finish(&run, account_id_of(&run)).await;
        };
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        let sender = senders.entry(account_id).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(Arc::clone(self).sender(account_id, rx));
            tx
        });
        if sender.send(run_id).is_err() {
            anyhow::bail!("the sender of account {account_id} has stopped");
        }
        Ok(())
    }

    async fn sender(self: Arc<Self>, account_id: i64, mut runs: mpsc::UnboundedReceiver<i64>) {
        let mut pacer = Pacer::new(&self.settings.pacing);
        while let Some(run_id) = runs.recv().await {
            if let Err(e) = self.send_run(account_id, run_id, &mut pacer).await {
                tracing::error!(account_id, run_id, error = %e, "sending a run failed; retrying in 30 s");
                let at = self.clock.now() + chrono::Duration::seconds(30);
                if let Err(e) = self.deliver_at(run_id, at).await {
                    tracing::error!(run_id, error = %e, "could not queue the run's retry");
                }
            }
        }
    }

    /// Queues a delivery pass over `run_id` at `at`.
    pub(crate) async fn deliver_at(&self, run_id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.queue
            .schedule_on(
                &self.db,
                &Deliver {
                    queue: self.queue_name.clone(),
                    run_id,
                    at,
                },
            )
            .await?;
        Ok(())
    }

    async fn send_run(
        &self,
        account_id: i64,
        run_id: i64,
        pacer: &mut Pacer,
    ) -> anyhow::Result<()> {
        let mut state = RunState {
            uploads: HashMap::new(),
            last_progress: None,
        };
        let stop = self
            .send_targets(account_id, run_id, pacer, &mut state)
            .await?;
        let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
            return Ok(());
        };
        match stop {
            Stop::Done => self.finish(&run, account_id).await,
            Stop::WaitUntil(at) => {
                self.progress(&run, account_id, &mut state, true).await?;
                self.deliver_at(run_id, at).await
            }
            Stop::Left => Ok(()),
        }
    }

    async fn send_targets(
        &self,
        account_id: i64,
        run_id: i64,
        pacer: &mut Pacer,
        state: &mut RunState,
    ) -> anyhow::Result<Stop> {
        let mut jitter = jitter_unit();
        let mut snapshot: Option<Snapshot> = None;
        let mut due: std::collections::VecDeque<targets::Model> = Default::default();
        loop {
            if self.stopping() {
                return Ok(Stop::Left);
            }
            let now = self.clock.now();
            if snapshot
                .as_ref()
                .is_none_or(|s| s.read_at.elapsed() >= REFRESH_EVERY)
            {
                let Some(run) = runs::Entity::find_by_id(run_id).one(&self.db).await? else {
                    return Ok(Stop::Left);
                };
                if run.status != RunStatus::Running {
                    return Ok(Stop::Left);
                }
                let reminder = match run.reminder_id {
                    Some(id) => reminders::Entity::find_by_id(id).one(&self.db).await?,
                    None => None,
                };
                let Some(reminder) = reminder else {
                    let reason = "the reminder was deleted";
                    rows::close_pending(&self.db, run_id, TargetStatus::Skipped, reason, now)
                        .await?;
                    return Ok(Stop::Done);
                };
                let parts = messages::Entity::find()
                    .filter(messages::Column::ReminderId.eq(reminder.id))
                    .order_by_asc(messages::Column::Position)
                    .find_also_related(media_files::Entity)
                    .all(&self.db)
                    .await?;
                snapshot = Some(Snapshot {
                    run,
                    reminder,
                    parts,
                    read_at: tokio::time::Instant::now(),
                });
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
                let account = entity::whatsapp_accounts::Entity::find_by_id(account_id)
                    .one(&self.db)
                    .await?;
                if account
                    .as_ref()
                    .is_some_and(|a| a.status == AccountStatus::Connected)
                {
                    // Connected as far as the row knows: this process is still resuming it.
                    return Ok(Stop::WaitUntil(now + RESUMING_WAIT));
                }
                self.skip_offline(run, reminder, account).await?;
                return Ok(Stop::Done);
            };
            if due.is_empty() {
                due.extend(rows::next_due(&self.db, run_id, now, BATCH).await?);
            }
            let Some(target) = due.front().cloned() else {
                return Ok(match rows::next_retry_at(&self.db, run_id).await? {
                    Some(at) => Stop::WaitUntil(at),
                    None => Stop::Done,
                });
            };
            if let Err(missing) = self.upload_media(&*session, parts, state).await {
                let reason = match missing {
                    UploadError::Missing(name) => format!("media_missing: {name} is not on disk"),
                    UploadError::Send(e) => format!("the media upload failed: {e}"),
                };
                rows::close_pending(&self.db, run_id, TargetStatus::Failed, &reason, now).await?;
                return Ok(Stop::Done);
            }

            // After any wait the window, the connection and the target are checked again.
            let slot = pacer.next_slot(now, jitter);
            if slot > now {
                self.clock.sleep_until(slot).await;
                continue;
            }
            if let Some(later) = self.reserve_hourly_slot() {
                self.clock.sleep_until(later).await;
                continue;
            }
            due.pop_front();
            // Counted before the claim, so a shutdown waits for any send it lets start.
            self.sending.send_modify(|n| *n += 1);
            let _sending = scopeguard(|| self.sending.send_modify(|n| *n -= 1));
            if self.stopping() || !rows::claim(&self.db, target.id, now).await? {
                continue;
            }
            let outcome = self
                .send_parts(&*session, &target, parts, state, run.occurrence_at)
                .await;
            // The next interval counts from the end of this send, however long it took.
            pacer.record(self.clock.now());
            jitter = jitter_unit();
            rows::settle(&self.db, target.id, outcome, self.clock.now()).await?;
            let run = run.clone();
            self.progress(&run, account_id, state, false).await?;
        }
    }

    /// Takes a send from the hourly budget all accounts share, or says when one frees up. Taken
    /// under one lock, so two accounts cannot both spend the last one.
    fn reserve_hourly_slot(&self) -> Option<DateTime<Utc>> {
        let mut hourly = self.hourly.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        let slot = hourly.next_slot(now);
        if slot > now {
            return Some(slot);
        }
        hourly.record(now);
        None
    }

    /// Uploads each media part once per run.
    async fn upload_media(
        &self,
        session: &dyn Session,
        parts: &[(messages::Model, Option<media_files::Model>)],
        state: &mut RunState,
    ) -> Result<(), UploadError> {
        for (part, media) in parts {
            if part.kind == MessageKind::Text || state.uploads.contains_key(&part.id) {
                continue;
            }
            let Some(media) = media else {
                return Err(UploadError::Missing(format!("part {}", part.position + 1)));
            };
            let bytes = match service::media::path(&self.data_dir, media) {
                Ok(path) => tokio::fs::read(path).await.ok(),
                Err(_) => None,
            };
            let Some(bytes) = bytes else {
                return Err(UploadError::Missing(media.original_name.clone()));
            };
            let uploaded = session
                .upload(MediaFile {
                    kind: media.kind,
                    mime_type: media.mime_type.clone(),
                    file_name: media.original_name.clone(),
                    sha256: media.sha256.clone(),
                    bytes,
                })
                .await
                .map_err(UploadError::Send)?;
            state.uploads.insert(part.id, uploaded);
        }
        Ok(())
    }

    /// Sends the parts the target has not had yet, in order.
    async fn send_parts(
        &self,
        session: &dyn Session,
        target: &targets::Model,
        parts: &[(messages::Model, Option<media_files::Model>)],
        state: &RunState,
        occurrence: DateTime<Utc>,
    ) -> Outcome {
        let mut sent = target.parts_sent;
        let mut last_id = None;
        for (part, _) in parts.iter().skip(usize::try_from(sent).unwrap_or(0)) {
            let message = match part.kind {
                MessageKind::Text => OutgoingMessage::Text(part.body.clone().unwrap_or_default()),
                _ => match state.uploads.get(&part.id) {
                    Some(media) => OutgoingMessage::Media {
                        media: media.clone(),
                        caption: part.body.clone().filter(|c| !c.is_empty()),
                    },
                    None => {
                        return Outcome::Failed {
                            reason: "media_missing".to_owned(),
                            parts_sent: sent,
                        };
                    }
                },
            };
            let result = tokio::time::timeout(
                self.settings.send_timeout,
                session.send(&target.group_jid, &message),
            )
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Transient(
                    "WhatsApp did not answer in time".to_owned(),
                ))
            });
            match result {
                Ok(done) => {
                    sent += 1;
                    last_id = Some(done.wa_message_id);
                }
                Err(SendError::Permanent(reason)) => {
                    return Outcome::Failed {
                        reason,
                        parts_sent: sent,
                    };
                }
                Err(e) => return self.retry_or_fail(target, e.to_string(), sent),
            }
        }
        let now = self.clock.now();
        Outcome::Sent {
            wa_message_id: last_id.unwrap_or_default(),
            latency_ms: (now - occurrence).num_milliseconds().max(0),
        }
    }

    fn retry_or_fail(&self, target: &targets::Model, reason: String, parts_sent: i32) -> Outcome {
        // `attempts` already counts the attempt that just failed.
        let attempt = usize::try_from(target.attempts + 1).unwrap_or(usize::MAX);
        match self.settings.retry_delays.get(attempt - 1) {
            Some(delay) => Outcome::Retry {
                at: self.clock.now() + *delay,
                reason: format!("{reason} (attempt {attempt}; retrying)"),
                parts_sent,
            },
            None => Outcome::Failed {
                reason: format!("{reason} (gave up after {attempt} attempts)"),
                parts_sent,
            },
        }
    }

    /// Publishes `run.progress`, at most every [`PROGRESS_EVERY`] unless `force`d.
    async fn progress(
        &self,
        run: &runs::Model,
        account_id: i64,
        state: &mut RunState,
        force: bool,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        if !force
            && state
                .last_progress
                .is_some_and(|at| now - at < PROGRESS_EVERY)
        {
            return Ok(());
        }
        state.last_progress = Some(now);
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

    /// Rolls the run up once nothing is left to send, and tells the operator how it went.
    pub(crate) async fn finish(&self, run: &runs::Model, account_id: i64) -> anyhow::Result<()> {
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let counts = rows::counts(&txn, run.id).await?;
        if counts.open() > 0 {
            return Ok(());
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
            return Ok(());
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
        tracing::info!(run_id = run.id, %status, sent = counts.sent, failed = counts.failed, "run finished");
        Ok(())
    }

    /// The account is not connected: its groups are skipped, and the operator hears of it.
    async fn skip_offline(
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
        rows::close_pending(&txn, run.id, TargetStatus::Skipped, &reason, now).await?;
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
    async fn pause(
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
            self.stop_reminder(&txn, reminder, ReminderStatus::Paused, &why, now)
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
        tracing::info!(
            run_id = run.id,
            pending = counts.pending,
            "send window closed; run paused"
        );
        Ok(())
    }
}

enum UploadError {
    Missing(String),
    Send(SendError),
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

fn account_id_of(run: &runs::Model) -> i64 {
    run.account_id.unwrap_or_default()
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
