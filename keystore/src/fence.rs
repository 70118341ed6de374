//! The end of a session's writes. whatsapp-rust writes from tasks of its own (the device saver
//! among them) that can outlive the call that stopped the client; once the session manager has
//! closed a session's key store, none of them can write again, so a wipe that follows is the
//! last word on the account's keys.

use std::sync::Arc;

use tokio::sync::{RwLock, RwLockReadGuard};
use wacore::store::error::{Result, StoreError};

/// Shared by a [`KeyStore`](crate::KeyStore) and every backend made from it.
#[derive(Clone, Default)]
pub(crate) struct Fence(Arc<RwLock<bool>>);

/// Held for the length of one write; closing waits until none is held.
pub(crate) type Open<'a> = RwLockReadGuard<'a, bool>;

impl Fence {
    /// Lets a write through, or refuses it once the store is closed.
    pub async fn enter(&self) -> Result<Open<'_>> {
        let open = self.0.read().await;
        if *open {
            return Err(StoreError::Validation(
                "the session was stopped: its key store takes no more writes".into(),
            ));
        }
        Ok(open)
    }

    /// Waits for the writes under way, then refuses every later one.
    pub async fn close(&self) {
        *self.0.write().await = true;
    }
}
