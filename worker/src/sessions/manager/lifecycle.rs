//! A session's connection from start to stop: recovery at start, starting a session as the
//! account's live one, resuming with stored credentials, and reconnecting with backoff after a
//! drop.

use keystore::KeyStore;
use std::{
    sync::{Arc, PoisonError},
    time::Duration,
};

use chrono::Utc;
use domain::{bus::Event, status::AccountStatus};
use sea_orm::Set;

use super::{Down, Input, Live, Manager, Settings, Stage};
use crate::provider::{SessionKey, StartMode};

impl Manager {
    /// An account just taken: a pairing its previous holder left (it stopped or died mid-way)
    /// returns to unpaired; an account with credentials reconnects.
    pub(super) async fn recover(&mut self, account_id: i64) -> anyhow::Result<()> {
        let Some(row) = self.rows.get(account_id).await? else {
            // Deleted: its delete command cleans up.
            return Ok(());
        };
        let keys = KeyStore::new(self.db.clone(), account_id);
        match row.status {
            AccountStatus::Pending => {
                keys.wipe().await?;
                self.reset_with_error(
                    account_id,
                    "Pairing was interrupted by a restart; pair again.".into(),
                )
                .await?;
                tracing::info!(account_id, "interrupted pairing reset");
            }
            AccountStatus::Connected | AccountStatus::Disconnected if keys.exists().await? => {
                tracing::info!(account_id, "resuming session");
                self.resume(account_id).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts `key`'s session on the account's provider and makes it the live one.
    pub(super) async fn start(
        &mut self,
        row: &entity::whatsapp_accounts::Model,
        key: SessionKey,
        mode: StartMode,
        keys: KeyStore,
    ) -> Result<(), String> {
        let provider = self.providers.get(row.provider);
        let stage = match mode {
            StartMode::Pair { .. } => Stage::Pairing,
            StartMode::Resume => Stage::Resuming,
        };
        let session = provider
            .start(key, mode, keys.clone(), self.events.clone())
            .await
            .map_err(|e| e.to_string())?;
        let replaced = self.live.insert(
            key.account_id,
            Live {
                generation: key.generation,
                operator_id: row.operator_id,
                label: row.label.clone(),
                session: Arc::from(session),
                keys,
                stage,
                qr_seq: 0,
                last_sync: None,
            },
        );
        // Every start stops the account's session first; should one be left, it ends here.
        if let Some(old) = replaced {
            old.session.stop().await;
            old.keys.close().await;
        }
        Ok(())
    }

    /// Connects with stored credentials under a new generation.
    pub(super) async fn resume(&mut self, account_id: i64) -> anyhow::Result<()> {
        let Some(row) = self.rows.next_generation(account_id).await? else {
            self.down.remove(&account_id);
            return Ok(());
        };
        let key = SessionKey {
            account_id,
            generation: row.session_generation,
        };
        let keys = KeyStore::new(self.db.clone(), account_id);
        if let Err(message) = self.start(&row, key, StartMode::Resume, keys).await {
            // Counts as a failed attempt: the same backoff applies.
            self.retry_later(account_id, message).await?;
        }
        Ok(())
    }

    /// An unexpected drop. During a first pairing it ends the pairing (no reconnect loop before
    /// the account ever worked); otherwise the account reconnects with backoff.
    pub(super) async fn dropped(&mut self, account_id: i64, reason: String) -> anyhow::Result<()> {
        let Some(stage) = self.live.get(&account_id).map(|l| l.stage) else {
            return Ok(());
        };
        self.stop_live(account_id).await;
        if matches!(stage, Stage::Pairing | Stage::Linking) {
            KeyStore::new(self.db.clone(), account_id).wipe().await?;
            return self.pairing_failed(account_id, reason).await;
        }
        self.retry_later(account_id, reason).await
    }

    /// Marks the account disconnected and schedules the next reconnect attempt.
    async fn retry_later(&mut self, account_id: i64, reason: String) -> anyhow::Result<()> {
        let down = self.down.entry(account_id).or_insert(Down {
            since: Utc::now(),
            attempt: 0,
            alerted: false,
        });
        down.attempt += 1;
        let attempt = down.attempt;
        let delay = backoff(&self.settings, attempt);
        tracing::warn!(account_id, %reason, attempt, retry_in_ms = delay.as_millis() as u64, "connection dropped");
        self.rows
            .update(
                account_id,
                {
                    let reason = reason.clone();
                    move |a| {
                        a.status = Set(AccountStatus::Disconnected);
                        a.status_reason = Set(Some(reason));
                    }
                },
                Some(Event::Disconnected { account_id, reason }),
            )
            .await?;
        self.after(
            delay,
            Input::Reconnect {
                account_id,
                attempt,
            },
        );
        Ok(())
    }

    /// Stops the account's live session, if any. Intentional: nothing is written. Once this
    /// returns the session writes nothing more to the key store, so a wipe after it is final.
    pub(super) async fn stop_live(&mut self, account_id: i64) {
        self.set_online(account_id, None);
        if let Some(live) = self.live.remove(&account_id) {
            tracing::debug!(account_id, generation = live.generation, label = %live.label, "stopping session");
            live.session.stop().await;
            live.keys.close().await;
        }
    }

    pub(super) async fn stop_all(&mut self) {
        self.online
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for (_, live) in self.live.drain() {
            live.session.stop().await;
            live.keys.close().await;
        }
    }
}

/// `reconnect_base × 2^(attempt-1)`, capped, with ±20 % jitter so many accounts dropped together
/// do not reconnect in lockstep.
fn backoff(settings: &Settings, attempt: u32) -> Duration {
    let exp = settings
        .reconnect_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(settings.reconnect_max);
    let jitter = f64::from(getrandom::u32().unwrap_or(0) % 401) / 1000.0 + 0.8;
    exp.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let settings = Settings::default();
        for attempt in 1..=12 {
            let exp = (2u64 << (attempt - 1)).min(300) as f64;
            let d = backoff(&settings, attempt).as_secs_f64();
            assert!(
                d >= exp * 0.8 - 1e-9 && d <= exp * 1.2 + 1e-9,
                "attempt {attempt}: {d}"
            );
        }
    }
}
