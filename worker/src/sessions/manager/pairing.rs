//! Linking a device (Pair / Re-pair, and how a pairing ends when it does not link) and unlinking
//! one (Unpair, and the cleanup after a Delete).

use domain::{account::PhoneNumber, bus::Event, status::AccountStatus};
use keystore::KeyStore;
use sea_orm::Set;
use service::accounts::session_state::reset_unpaired;
use tokio::{sync::mpsc, time::timeout};

use super::{Input, Manager};
use crate::provider::{SessionEvent, SessionKey, StartMode};

impl Manager {
    /// Pair / Re-pair: a fresh key store, a new generation, QR codes — and with `phone`, a code
    /// to type on that phone as well.
    pub(super) async fn pair(
        &mut self,
        account_id: i64,
        phone: Option<PhoneNumber>,
    ) -> anyhow::Result<()> {
        let Some(row) = self.rows.get(account_id).await? else {
            return Ok(());
        };
        self.stop_live(account_id).await;
        self.down.remove(&account_id);
        let keys = KeyStore::new(self.db.clone(), account_id);
        keys.wipe().await?;
        let generation = row.session_generation + 1;
        self.rows
            .update(
                account_id,
                |a| {
                    reset_unpaired(a, None);
                    a.status = Set(AccountStatus::Pending);
                    a.session_generation = Set(generation);
                },
                Some(Event::Pending {
                    account_id,
                    generation,
                }),
            )
            .await?;
        let key = SessionKey {
            account_id,
            generation,
        };
        match self.start(&row, key, StartMode::Pair { phone }, keys).await {
            Ok(()) => {
                self.after(self.settings.pair_window, Input::PairDeadline(key));
            }
            Err(message) => {
                tracing::warn!(account_id, %message, "pairing could not start");
                self.reset_with_error(account_id, message).await?;
            }
        }
        Ok(())
    }

    /// Unpair: unlink the device on WhatsApp's side, wipe the keys, keep the row. Never writes
    /// `disconnected` and never schedules a reconnect.
    pub(super) async fn unpair(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.down.remove(&account_id);
        let unlinked = self.log_out(account_id).await;
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        let reason = unlinked.err().map(|e| {
            format!(
                "Herald could not reach WhatsApp to unlink this device ({e}); \
                 remove it on the phone under Linked devices."
            )
        });
        self.rows
            .update(
                account_id,
                |a| reset_unpaired(a, reason),
                Some(Event::Unpaired { account_id }),
            )
            .await?;
        Ok(())
    }

    /// After a delete (the row is already gone): unlink the device, then wipe its keys.
    pub(super) async fn forget(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.down.remove(&account_id);
        if let Err(e) = self.log_out(account_id).await {
            tracing::warn!(account_id, error = %e, "could not unlink a deleted account's device");
        }
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        Ok(())
    }

    /// Logs the account's device out on WhatsApp's side, before its keys are wiped: through the
    /// live session, or by briefly connecting with the stored credentials.
    pub(super) async fn log_out(&mut self, account_id: i64) -> Result<(), String> {
        let limit = self.settings.logout_connect_timeout;
        self.set_online(account_id, None);
        if let Some(live) = self.live.remove(&account_id) {
            let result = match timeout(limit, live.session.logout()).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => {
                    live.session.stop().await;
                    Err("WhatsApp did not answer".into())
                }
            };
            live.keys.close().await;
            return result;
        }
        let keys = KeyStore::new(self.db.clone(), account_id);
        let Some(kind) = keys.provider().await.map_err(|e| e.to_string())? else {
            return Ok(()); // never linked: nothing to unlink
        };
        let provider = self.providers.get(kind);
        // A private channel: this session's events concern nobody else.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let key = SessionKey {
            account_id,
            generation: 0,
        };
        let session = provider
            .start(key, StartMode::Resume, keys.clone(), tx)
            .await
            .map_err(|e| e.to_string())?;
        let connected = timeout(limit, async {
            while let Some(event) = rx.recv().await {
                match event.event {
                    SessionEvent::Connected { .. } => return Ok(()),
                    SessionEvent::LoggedOut { .. } => return Err("already logged out"),
                    SessionEvent::Banned { .. } | SessionEvent::Failed { .. } => {
                        return Err("WhatsApp refused the connection");
                    }
                    _ => {}
                }
            }
            Err("the session ended")
        })
        .await;
        let result = match connected {
            Ok(Ok(())) => session.logout().await.map_err(|e| e.to_string()),
            // The phone already dropped the device: nothing left to unlink.
            Ok(Err("already logged out")) => Ok(()),
            Ok(Err(e)) => Err(e.to_owned()),
            Err(_) => Err("WhatsApp did not answer".to_owned()),
        };
        session.stop().await;
        keys.close().await;
        result
    }

    pub(super) async fn pairing_timed_out(&mut self, account_id: i64) -> anyhow::Result<()> {
        self.stop_live(account_id).await;
        KeyStore::new(self.db.clone(), account_id).wipe().await?;
        tracing::info!(account_id, "pairing timed out");
        self.rows
            .update(
                account_id,
                |a| reset_unpaired(a, Some("Pairing timed out: no QR code was scanned.".into())),
                Some(Event::Timeout { account_id }),
            )
            .await?;
        Ok(())
    }

    pub(super) async fn pairing_failed(
        &mut self,
        account_id: i64,
        reason: String,
    ) -> anyhow::Result<()> {
        let message = format!("Pairing failed: {reason}");
        tracing::warn!(account_id, %message);
        self.reset_with_error(account_id, message).await
    }

    /// Back to `unpaired`, with `message` on the row and in a `session.error` event.
    pub(super) async fn reset_with_error(
        &self,
        account_id: i64,
        message: String,
    ) -> anyhow::Result<()> {
        let reason = message.clone();
        self.rows
            .update(
                account_id,
                move |a| reset_unpaired(a, Some(reason)),
                Some(Event::Error {
                    account_id,
                    message,
                }),
            )
            .await?;
        Ok(())
    }
}
