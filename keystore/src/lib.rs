//! whatsapp-rust's key store (its [`Backend`](wacore::store::traits::Backend)) on Herald's
//! database, one slice per account: the device in `wa_devices`, every other collection in
//! `wa_keys` (see [`table::Space`]). Behaves as wacore's reference `InMemoryBackend` does, on
//! SQLite and PostgreSQL alike. [`KeyStore`] is the same slice as the rest of Herald sees it:
//! any provider's credentials, as bytes. This crate is the only writer of both tables.
//!
//! No write-behind cache: every write is a statement (or a transaction) that has committed when
//! the call returns. whatsapp-rust persists a session or sender key before it publishes the message
//! that advanced the ratchet, so a crash after sending must find the advanced state on disk.

mod app_sync;
mod codec;
mod credentials;
mod device;
mod fence;
mod lid;
mod msg_secret;
mod protocol;
mod signal;
mod table;
mod tc_token;

use entity::{wa_devices, wa_keys};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

pub use credentials::KeyStore;
use fence::Fence;
use table::{Rows, Space};

/// whatsapp-rust's backend on one account's slice of the key store. Every write passes its
/// [`Fence`], closed with the [`KeyStore`] it came from.
#[derive(Clone)]
pub struct DbBackend {
    db: DatabaseConnection,
    account_id: i64,
    fence: Fence,
}

impl DbBackend {
    pub fn new(db: DatabaseConnection, account_id: i64) -> Self {
        Self::fenced(db, account_id, Fence::default())
    }

    fn fenced(db: DatabaseConnection, account_id: i64, fence: Fence) -> Self {
        Self {
            db,
            account_id,
            fence,
        }
    }

    fn rows(&self, space: Space) -> Rows<'_, DatabaseConnection> {
        Rows::new(&self.db, self.account_id, space).fenced(&self.fence)
    }
}

/// Deletes everything stored for `account_id`: its keys and its device. Run it in a transaction
/// to wipe both or neither.
pub async fn wipe(db: &impl ConnectionTrait, account_id: i64) -> Result<(), DbErr> {
    wa_keys::Entity::delete_many()
        .filter(wa_keys::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    wa_devices::Entity::delete_by_id(account_id)
        .exec(db)
        .await?;
    Ok(())
}
