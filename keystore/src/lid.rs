//! LID-PN mappings, both directions: `LidMapping` rows hold each LID's entry, `PnMapping` rows the
//! LID a phone number resolves to. The reverse index follows the reference store exactly: moving a
//! LID to a new phone number forgets the old number's reverse row, whichever LID it named.

use std::collections::HashMap;

use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
use wacore::store::{error::Result, traits::LidPnMappingEntry};

use crate::{
    DbBackend,
    codec::{from_json, string, to_json},
    table::{Entry, Rows, Space, db_err},
};

impl DbBackend {
    pub(crate) async fn lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        let row = self.rows(Space::LidMapping).get(lid.as_bytes()).await?;
        row.map(|row| from_json(&row.value)).transpose()
    }

    pub(crate) async fn pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        match self.rows(Space::PnMapping).get(phone.as_bytes()).await? {
            Some(row) => self.lid_mapping(&string(row.value)?).await,
            None => Ok(None),
        }
    }

    /// Applies `entries` in order, as one transaction: one read of the LIDs' current numbers,
    /// then at most three writes.
    pub(crate) async fn write_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let _open = self.fence.enter().await?;
        // Concurrent writers take turns, each reading what the previous one committed: SQLite's
        // IMMEDIATE takes the write lock at BEGIN, and on PostgreSQL this upsert's row lock holds
        // the next writer until commit.
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(db_err)?;
        let rows = |space| Rows::new(&txn, self.account_id, space);
        rows(Space::LidPnLock)
            .put(Entry::new(Vec::new(), Vec::new()))
            .await?;

        let lids = entries.iter().map(|e| e.lid.as_bytes().to_vec()).collect();
        // Each LID's phone number as the batch goes.
        let mut phone_of: HashMap<String, String> = HashMap::new();
        for row in rows(Space::LidMapping).get_many(lids).await? {
            let stored: LidPnMappingEntry = from_json(&row.value)?;
            phone_of.insert(string(row.key)?, stored.phone_number);
        }
        // Phone number -> the LID it resolves to, or None to forget it; the last word wins.
        let mut reverse: HashMap<String, Option<String>> = HashMap::new();
        let mut forward = Vec::with_capacity(entries.len());
        for entry in entries {
            if let Some(old) = phone_of.insert(entry.lid.clone(), entry.phone_number.clone())
                && old != entry.phone_number
            {
                reverse.insert(old, None);
            }
            reverse.insert(entry.phone_number.clone(), Some(entry.lid.clone()));
            forward.push(Entry::new(entry.lid.as_bytes().to_vec(), to_json(entry)?));
        }
        let mut forgotten = Vec::new();
        let mut resolved = Vec::new();
        for (phone, lid) in reverse {
            match lid {
                Some(lid) => resolved.push(Entry::new(phone.into_bytes(), lid.into_bytes())),
                None => forgotten.push(phone.into_bytes()),
            }
        }

        rows(Space::PnMapping).delete_many(&forgotten).await?;
        rows(Space::PnMapping).put_all(resolved).await?;
        rows(Space::LidMapping).put_all(forward).await?;
        txn.commit().await.map_err(db_err)
    }
}
