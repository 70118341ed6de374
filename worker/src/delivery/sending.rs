//! Sending one claimed target: its message parts in order, media uploaded once per run.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::status::MessageKind;
use entity::{media_files, reminder_run_parts as run_parts, reminder_run_targets as targets};

use super::{
    Delivery,
    targets::{self as rows, Claim, Outcome, Renewal},
};
use crate::provider::{MediaFile, OutgoingMessage, SendError, Session, UploadedMedia};

/// A run's own message parts, in order, with their media rows.
pub(super) struct Parts(pub Vec<(run_parts::Model, Option<media_files::Model>)>);

impl Parts {
    /// How many messages a target that has had `parts_sent` of them still gets.
    pub fn remaining(&self, parts_sent: i32) -> u32 {
        let sent = usize::try_from(parts_sent).unwrap_or(0);
        u32::try_from(self.0.len().saturating_sub(sent)).unwrap_or(u32::MAX)
    }
}

/// An upload may take this many send timeouts.
const UPLOAD_TIMEOUT_FACTOR: u32 = 4;

/// What a run's media uploads have come to so far (kept across passes over the run).
#[derive(Default)]
pub(super) struct RunUploads {
    media: HashMap<i64, UploadedMedia>,
    failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum UploadError {
    #[error("media_missing: {0} is not on disk")]
    Missing(String),
    #[error("the media upload failed: {0}")]
    Failed(SendError),
    /// A transient failure: try again after the delay.
    #[error("the media upload will be retried")]
    Retry { after: chrono::Duration },
}

impl Delivery {
    /// Uploads each media part of the run once. A transient failure is retried on the retry
    /// delays; then, or on a permanent failure, the run's groups fail.
    pub(super) async fn upload_media(
        &self,
        session: &dyn Session,
        run_id: i64,
        parts: &Parts,
    ) -> Result<(), UploadError> {
        for (part, media) in &parts.0 {
            if part.kind == MessageKind::Text || self.uploaded(run_id, part.id).is_some() {
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
            let file = MediaFile {
                kind: media.kind,
                mime_type: media.mime_type.clone(),
                file_name: media.original_name.clone(),
                sha256: media.sha256.clone(),
                bytes,
            };
            // An upload that never answers must not hold the account's sender forever; it is
            // safe to try again, since nothing reaches a group until a send.
            let limit = self.upload_timeout();
            let uploaded = match tokio::time::timeout(limit, session.upload(file)).await {
                Ok(uploaded) => uploaded,
                Err(_) => Err(SendError::Transient(format!(
                    "the upload did not finish within {} s",
                    limit.as_secs()
                ))),
            };
            let mut uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
            let run = uploads.entry(run_id).or_default();
            match uploaded {
                Ok(uploaded) => {
                    run.media.insert(part.id, uploaded);
                }
                Err(SendError::Permanent(reason)) => {
                    return Err(UploadError::Failed(SendError::Permanent(reason)));
                }
                Err(e) => {
                    run.failures += 1;
                    return match self.settings.retry_delays.get(run.failures - 1) {
                        Some(after) => Err(UploadError::Retry { after: *after }),
                        None => Err(UploadError::Failed(e)),
                    };
                }
            }
        }
        Ok(())
    }

    /// An upload carries up to a whole file, so it gets longer than a send.
    fn upload_timeout(&self) -> std::time::Duration {
        self.settings.send_timeout * UPLOAD_TIMEOUT_FACTOR
    }

    fn uploaded(&self, run_id: i64, part_id: i64) -> Option<UploadedMedia> {
        let uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        uploads.get(&run_id)?.media.get(&part_id).cloned()
    }

    /// Forgets a finished run's uploads.
    pub(super) fn forget_uploads(&self, run_id: i64) {
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&run_id);
    }

    /// Sends the parts the target has not had yet, in order, and says how it went (with the
    /// error, if any, for the sender's pacing). `target` is the row as its claim returned it.
    pub(super) async fn send_target(
        &self,
        session: &dyn Session,
        account_id: i64,
        target: &targets::Model,
        parts: &Parts,
        occurrence: DateTime<Utc>,
    ) -> (Outcome, Option<SendError>) {
        let mut sent = target.parts_sent;
        let mut last_id = None;
        for (part, _) in parts.0.iter().skip(usize::try_from(sent).unwrap_or(0)) {
            // Each part renews the claim, so a long message is never taken for an abandoned
            // send; a claim someone else has since decided is left alone.
            let Some(fence) = self.leases.fence(account_id) else {
                return (Outcome::Released { parts_sent: sent }, None);
            };
            let claim = Claim::of(target);
            match rows::renew_claim(&self.db, claim, sent, self.clock.now(), &fence).await {
                Ok(Renewal::Renewed) => {}
                // Every part before this one went out and this one has not: the account's new
                // holder continues from here.
                Ok(Renewal::Fenced) => return (Outcome::Released { parts_sent: sent }, None),
                Ok(Renewal::Taken) => {
                    let reason = "unknown: the send was taken for abandoned; not re-sent".into();
                    return (
                        Outcome::Unknown {
                            reason,
                            parts_sent: sent,
                        },
                        None,
                    );
                }
                Err(e) => {
                    let reason = format!("could not renew the claim: {e}");
                    return (self.retry_or_fail(target, reason, sent), None);
                }
            }
            let message = match part.kind {
                MessageKind::Text => OutgoingMessage::Text(part.body.clone().unwrap_or_default()),
                _ => match self.uploaded(target.run_id, part.id) {
                    Some(media) => OutgoingMessage::Media {
                        media,
                        caption: part.body.clone().filter(|c| !c.is_empty()),
                    },
                    // Uploads are kept in memory for the run; the next pass uploads again.
                    None => {
                        let reason = "the file's upload was not at hand".to_owned();
                        return (self.retry_or_fail(target, reason, sent), None);
                    }
                },
            };
            // The same part to the same target always carries the same id: a repeat is dropped.
            let id = crate::provider::MessageId::for_part(target.run_id, target.id, sent);
            let sending = session.send(&target.group_jid, &message, &id);
            let Ok(result) = tokio::time::timeout(self.settings.send_timeout, sending).await else {
                // The message may have gone out: never send it again on a guess.
                let reason = format!(
                    "unknown: WhatsApp did not answer within {} s, so it is not re-sent",
                    self.settings.send_timeout.as_secs()
                );
                return (
                    Outcome::Unknown {
                        reason,
                        parts_sent: sent,
                    },
                    None,
                );
            };
            match result {
                Ok(done) => {
                    sent += 1;
                    last_id = Some(done.wa_message_id);
                }
                Err(SendError::Permanent(reason)) => {
                    let outcome = Outcome::Failed {
                        reason: reason.clone(),
                        parts_sent: sent,
                    };
                    return (outcome, Some(SendError::Permanent(reason)));
                }
                Err(SendError::Ambiguous(reason)) => {
                    let outcome = Outcome::Unknown {
                        reason: format!("unknown: {reason}; it is not re-sent"),
                        parts_sent: sent,
                    };
                    return (outcome, None);
                }
                Err(e) => return (self.retry_or_fail(target, e.to_string(), sent), Some(e)),
            }
        }
        let latency = self.clock.now() - occurrence;
        let outcome = Outcome::Sent {
            wa_message_id: last_id.unwrap_or_default(),
            latency_ms: latency.num_milliseconds().max(0),
            parts_sent: sent,
        };
        (outcome, None)
    }

    /// A retry after the next delay, or failed once the delays are used up. `attempts` on a
    /// claimed target includes the attempt that just failed.
    fn retry_or_fail(&self, target: &targets::Model, reason: String, parts_sent: i32) -> Outcome {
        let attempt = usize::try_from(target.attempts).unwrap_or(usize::MAX);
        match self.settings.retry_delays.get(attempt.saturating_sub(1)) {
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
}
