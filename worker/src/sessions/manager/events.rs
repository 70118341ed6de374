//! What a live session reports: codes to show while pairing, the scan, the login, and how the
//! connection ended. Events from any generation but the account's live one are dropped here.

use chrono::Utc;
use domain::{bus::Event, pairing::display_pair_code, status::AccountStatus};
use keystore::KeyStore;
use sea_orm::Set;
use service::accounts::session_state::{PhoneHolder, clear_qr, reset_unpaired};
use tokio::time::Instant;

use super::{Manager, Stage};
use crate::provider::{ProviderEvent, SessionEvent};

/// Why pairing stopped when the phone is already another operator's link; a sentence to show,
/// without a final period so it can be embedded.
const LINKED_BY_ANOTHER_OPERATOR: &str =
    "This phone is already linked to another operator's account";

impl Manager {
    pub(super) async fn on_event(
        &mut self,
        ProviderEvent { key, event }: ProviderEvent,
    ) -> anyhow::Result<()> {
        let account_id = key.account_id;
        if !self.leases.holds(account_id) {
            // A session of an account this worker let go (or lost): it ends here, unrecorded.
            tracing::debug!(
                account_id,
                ?event,
                "event of an account not held here ignored"
            );
            self.stop_live(account_id).await;
            return Ok(());
        }
        let Some(live) = self
            .live
            .get_mut(&account_id)
            .filter(|l| l.generation == key.generation)
        else {
            tracing::debug!(
                account_id,
                generation = key.generation,
                ?event,
                "stale session event ignored"
            );
            return Ok(());
        };
        match event {
            // A code or an expiry racing with a scan must not undo it: once scanned, only the
            // login (or its failure) decides.
            SessionEvent::Qr { .. } | SessionEvent::PairCode { .. } | SessionEvent::QrExhausted
                if live.stage != Stage::Pairing =>
            {
                tracing::debug!(account_id, "code event after the scan ignored");
            }
            SessionEvent::Qr { code, valid_for } => {
                live.qr_seq += 1;
                let seq = live.qr_seq;
                let png = qr::png(&code)?;
                let expires_at = Utc::now() + valid_for;
                self.rows
                    .update(
                        account_id,
                        |a| {
                            a.last_qr_png = Set(Some(png));
                            a.last_qr_code = Set(Some(code));
                            a.last_qr_at = Set(Some(Utc::now()));
                        },
                        Some(Event::Qr {
                            account_id,
                            generation: key.generation,
                            seq,
                            expires_at,
                        }),
                    )
                    .await?;
            }
            SessionEvent::PairCode { code, valid_for } => {
                let code = display_pair_code(&code);
                let expires_at = Utc::now() + valid_for;
                tracing::info!(account_id, "pairing code to type on the phone issued");
                self.rows
                    .update(
                        account_id,
                        {
                            let code = code.clone();
                            move |a| a.last_pair_code = Set(Some(code))
                        },
                        Some(Event::PairCode {
                            account_id,
                            generation: key.generation,
                            code,
                            expires_at,
                        }),
                    )
                    .await?;
            }
            SessionEvent::QrExhausted => self.pairing_timed_out(account_id).await?,
            SessionEvent::PairSuccess { phone } => {
                live.stage = Stage::Linking;
                tracing::info!(account_id, "pairing scanned; waiting for the login");
                self.rows
                    .update(
                        account_id,
                        |a| {
                            clear_qr(a);
                            a.phone_number = Set(Some(phone));
                        },
                        Some(Event::Paired {
                            account_id,
                            generation: key.generation,
                        }),
                    )
                    .await?;
            }
            SessionEvent::Connected { phone } => self.connected(account_id, phone).await?,
            SessionEvent::Disconnected { reason } => self.dropped(account_id, reason).await?,
            SessionEvent::LoggedOut { reason } => {
                let stage = live.stage;
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                KeyStore::new(self.db.clone(), account_id).wipe().await?;
                if matches!(stage, Stage::Pairing | Stage::Linking) {
                    self.pairing_failed(account_id, reason).await?;
                } else {
                    tracing::warn!(account_id, %reason, "account logged out");
                    self.rows
                        .update(
                            account_id,
                            {
                                let reason = reason.clone();
                                move |a| {
                                    a.status = Set(AccountStatus::LoggedOut);
                                    a.status_reason = Set(Some(reason));
                                }
                            },
                            Some(Event::LoggedOut { account_id, reason }),
                        )
                        .await?;
                }
            }
            SessionEvent::Banned { reason, until } => {
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                tracing::error!(account_id, %reason, "account banned");
                self.rows
                    .update(
                        account_id,
                        {
                            let reason = reason.clone();
                            move |a| {
                                a.status = Set(AccountStatus::Banned);
                                a.status_reason = Set(Some(reason));
                                clear_qr(a);
                            }
                        },
                        Some(Event::Banned {
                            account_id,
                            reason,
                            until,
                        }),
                    )
                    .await?;
            }
            SessionEvent::Failed { reason } => {
                let stage = live.stage;
                self.stop_live(account_id).await;
                self.down.remove(&account_id);
                if matches!(stage, Stage::Pairing | Stage::Linking) {
                    KeyStore::new(self.db.clone(), account_id).wipe().await?;
                    self.pairing_failed(account_id, reason).await?;
                } else {
                    tracing::error!(account_id, %reason, "connecting failed; not retrying");
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
                            Some(Event::Error {
                                account_id,
                                message: reason,
                            }),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn connected(&mut self, account_id: i64, phone: String) -> anyhow::Result<()> {
        if let Some(holder) = self.rows.holder_of_phone(&phone, account_id).await? {
            // The phone is someone else's link already: undo this one, keep theirs.
            let existing = match &holder {
                PhoneHolder::Own { account_id, .. } | PhoneHolder::OtherOperator { account_id } => {
                    *account_id
                }
            };
            tracing::warn!(
                account_id,
                existing,
                "phone already linked to another account"
            );
            if let Err(e) = self.log_out(account_id).await {
                tracing::warn!(account_id, error = %e, "could not unlink the duplicate device");
            }
            KeyStore::new(self.db.clone(), account_id).wipe().await?;
            let (reason, event) = match holder {
                PhoneHolder::Own { label, .. } => (
                    format!("This phone is already linked to “{label}”."),
                    Event::Duplicate {
                        account_id,
                        phone,
                        existing_account_id: existing,
                        existing_label: label,
                    },
                ),
                // Neither the label nor the id of another operator's account reaches this one.
                PhoneHolder::OtherOperator { .. } => (
                    format!("{LINKED_BY_ANOTHER_OPERATOR}."),
                    Event::Error {
                        account_id,
                        message: LINKED_BY_ANOTHER_OPERATOR.to_owned(),
                    },
                ),
            };
            self.rows
                .update(account_id, |a| reset_unpaired(a, Some(reason)), Some(event))
                .await?;
            return Ok(());
        }
        let Some(live) = self.live.get_mut(&account_id) else {
            return Ok(());
        };
        live.stage = Stage::Connected;
        live.last_sync = Some(Instant::now());
        let (operator_id, session) = (live.operator_id, live.session.clone());
        self.set_online(account_id, Some(session.clone()));
        if self.down.remove(&account_id).is_some() {
            tracing::info!(account_id, "reconnected");
        }
        let now = Utc::now();
        self.rows
            .update(
                account_id,
                |a| {
                    a.status = Set(AccountStatus::Connected);
                    a.status_reason = Set(None);
                    a.phone_number = Set(Some(phone.clone()));
                    a.last_connected_at = Set(Some(now));
                    a.last_seen_at = Set(Some(now));
                    clear_qr(a);
                },
                Some(Event::Connected {
                    account_id,
                    phone: phone.clone(),
                }),
            )
            .await?;
        self.spawn_sync(operator_id, account_id, session);
        Ok(())
    }
}
