//! Message secrets by (chat, sender, message id): the secret is the value, `num` its expiry
//! (0 = never) and `num2` the parent message's time. A re-put merges in one upsert: the later
//! expiry wins (never beats any), the later known message time wins.

use std::collections::HashMap;

use async_trait::async_trait;
use entity::wa_keys::Column;
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{Expr, ExprTrait},
};
use wacore::store::{
    error::Result,
    traits::{
        MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry, merge_msg_secret_message_ts,
    },
};

use crate::{
    DbBackend,
    codec::{composite, required},
    table::{Entry, Space, conflict, incoming, stored},
};

fn key(chat: &str, sender: &str, msg_id: &str) -> Vec<u8> {
    composite(&[chat.as_bytes(), sender.as_bytes(), msg_id.as_bytes()])
}

#[async_trait]
impl MsgSecretStore for DbBackend {
    /// Returns how many entries were given, as the reference store does.
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let given = entries.len();
        // One statement may not touch a row twice: merge repeats here, the same way the upsert
        // merges with the stored row.
        let mut merged: Vec<Entry> = Vec::with_capacity(given);
        let mut at: HashMap<Vec<u8>, usize> = HashMap::with_capacity(given);
        for entry in entries {
            let key = key(&entry.chat, &entry.sender, &entry.msg_id);
            match at.get(&key) {
                Some(&i) => {
                    let earlier = &mut merged[i];
                    earlier.value = entry.secret.to_vec();
                    earlier.num = earlier
                        .num
                        .map(|e| merge_msg_secret_expiry(e, entry.expires_at));
                    earlier.num2 = earlier
                        .num2
                        .map(|e| merge_msg_secret_message_ts(e, entry.message_ts));
                }
                None => {
                    at.insert(key.clone(), merged.len());
                    merged.push(
                        Entry::new(key, entry.secret.to_vec())
                            .num(entry.expires_at)
                            .num2(Some(entry.message_ts)),
                    );
                }
            }
        }

        let either_never = Condition::any()
            .add(stored(Column::Num).eq(0))
            .add(incoming(Column::Num).eq(0));
        let expires_at = Expr::case(either_never, 0)
            .case(
                incoming(Column::Num).gt(stored(Column::Num)),
                incoming(Column::Num),
            )
            .finally(stored(Column::Num));
        let message_ts = Expr::case(
            incoming(Column::Num2).gt(stored(Column::Num2)),
            incoming(Column::Num2),
        )
        .finally(stored(Column::Num2));
        let on_conflict = conflict()
            .update_column(Column::Value)
            .value(Column::Num, expires_at)
            .value(Column::Num2, message_ts)
            .to_owned();
        self.rows(Space::MsgSecret)
            .upsert(merged, on_conflict)
            .await?;
        Ok(given)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let row = self
            .rows(Space::MsgSecret)
            .get(&key(chat, sender, msg_id))
            .await?;
        Ok(row.map(|row| row.value))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let row = self
            .rows(Space::MsgSecret)
            .get(&key(chat, sender, msg_id))
            .await?;
        row.map(|row| Ok((row.value, required(row.num2, "message time")?)))
            .transpose()
    }

    /// Rows with a deadline (non-zero) at or before the cutoff.
    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let expired = Condition::all()
            .add(Column::Num.ne(0))
            .add(Column::Num.lte(cutoff_timestamp));
        self.rows(Space::MsgSecret).delete_where(expired).await
    }
}
