//! An account's session state — status, phone, QR code, generation, last seen — as the worker's
//! session manager writes it; the operator's own changes (label, delete) are in the parent
//! module. Each change and the event announcing it commit together, so a reader of the event
//! stream never sees an event before the row it describes, and each lands only while the writer
//! holds the account's lease (`crate::leases`): a worker that lost the account changes nothing.

use std::sync::Arc;

use crate::{
    bus::events,
    leases::{self, Fence},
};
use chrono::Utc;
use domain::{bus::Event, status::AccountStatus};
use entity::whatsapp_accounts as accounts;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};

/// Who holds a phone already.
pub enum PhoneHolder {
    /// An account of the same operator, who may be told which.
    Own { account_id: i64, label: String },
    /// Another operator's account: its id is for the log, never for the operator.
    OtherOperator { account_id: i64 },
}

/// The fence of the writer's lease on an account, while it holds one.
pub type Fences = Arc<dyn Fn(i64) -> Option<Fence> + Send + Sync>;

#[derive(Clone)]
pub struct AccountRows {
    db: DatabaseConnection,
    fences: Fences,
}

impl AccountRows {
    pub fn new(db: DatabaseConnection, fences: Fences) -> Self {
        Self { db, fences }
    }

    pub async fn get(&self, account_id: i64) -> Result<Option<accounts::Model>, DbErr> {
        accounts::Entity::find_by_id(account_id).one(&self.db).await
    }

    /// Applies `change` to the row and publishes `event` (if any) in one transaction. Returns the
    /// updated row, or `None` when the account no longer exists or its lease is no longer the
    /// writer's (then nothing is written or published).
    pub async fn update(
        &self,
        account_id: i64,
        change: impl FnOnce(&mut accounts::ActiveModel),
        event: Option<Event>,
    ) -> Result<Option<accounts::Model>, DbErr> {
        let Some(fence) = (self.fences)(account_id) else {
            tracing::debug!(account_id, "not written: the account is not leased here");
            return Ok(None);
        };
        let txn = crate::database::begin_write(&self.db).await?;
        if !leases::lock_for_write(&txn, &fence).await? {
            tracing::warn!(account_id, "not written: the account's lease was lost");
            return Ok(None);
        }
        let Some(row) = accounts::Entity::find_by_id(account_id).one(&txn).await? else {
            return Ok(None);
        };
        let operator_id = row.operator_id;
        let mut active = row.into_active_model();
        change(&mut active);
        active.updated_at = Set(Utc::now());
        let row = active.update(&txn).await?;
        if let Some(event) = event {
            events::publish_in(&txn, Some(operator_id), &event).await?;
        }
        txn.commit().await?;
        Ok(Some(row))
    }

    /// Starts a new session generation for the account; returns the row carrying it (`None`: no
    /// such account).
    pub async fn next_generation(&self, account_id: i64) -> Result<Option<accounts::Model>, DbErr> {
        self.update(
            account_id,
            |a| {
                // Loaded from the row just read, so the value is always present.
                let current = *a.session_generation.as_ref();
                a.session_generation = Set(current + 1);
            },
            None,
        )
        .await
    }

    /// The account, other than `account_id`, that already holds `phone` as a live link. A phone
    /// links to one account across all operators, but only the same operator learns which.
    pub async fn holder_of_phone(
        &self,
        phone: &str,
        account_id: i64,
    ) -> Result<Option<PhoneHolder>, DbErr> {
        let Some(holder) = accounts::Entity::find()
            .filter(accounts::Column::PhoneNumber.eq(phone))
            .filter(accounts::Column::Id.ne(account_id))
            .filter(
                accounts::Column::Status
                    .is_in([AccountStatus::Connected, AccountStatus::Disconnected]),
            )
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let own = self
            .get(account_id)
            .await?
            .is_some_and(|account| account.operator_id == holder.operator_id);
        Ok(Some(if own {
            PhoneHolder::Own {
                account_id: holder.id,
                label: holder.label,
            }
        } else {
            PhoneHolder::OtherOperator {
                account_id: holder.id,
            }
        }))
    }

    /// Marks connected accounts as seen now.
    pub async fn touch_seen(&self, account_ids: &[i64]) -> Result<(), DbErr> {
        if account_ids.is_empty() {
            return Ok(());
        }
        accounts::Entity::update_many()
            .col_expr(accounts::Column::LastSeenAt, Utc::now().into())
            .filter(accounts::Column::Id.is_in(account_ids.iter().copied()))
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}

/// Clears the pairing fields: the QR code and the code to type on the phone.
pub fn clear_qr(a: &mut accounts::ActiveModel) {
    a.last_qr_png = Set(None);
    a.last_qr_code = Set(None);
    a.last_qr_at = Set(None);
    a.last_pair_code = Set(None);
}

/// Back to `unpaired`: no phone, no QR, `reason` saying why (if anything went wrong).
pub fn reset_unpaired(a: &mut accounts::ActiveModel, reason: Option<String>) {
    a.status = Set(AccountStatus::Unpaired);
    a.status_reason = Set(reason);
    a.phone_number = Set(None);
    clear_qr(a);
}
