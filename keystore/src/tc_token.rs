//! Trusted-contact tokens. The token, its timestamp and the sender timestamp are columns (value,
//! `num`, `num2`), so each writer's merge is one atomic upsert: the issuance path and the
//! notification path write the same row concurrently and must never drop each other's field.

use entity::wa_keys::Column;
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{Expr, ExprTrait},
};
use wacore::store::{error::Result, traits::TcTokenEntry};

use crate::{
    DbBackend,
    codec::{required, string},
    table::{Entry, Space, conflict, incoming, stored},
};

impl DbBackend {
    pub(crate) async fn tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let Some(row) = self.rows(Space::TcToken).get(jid.as_bytes()).await? else {
            return Ok(None);
        };
        Ok(Some(TcTokenEntry {
            token_timestamp: required(row.num, "tc token timestamp")?,
            sender_timestamp: row.num2,
            token: row.value,
        }))
    }

    pub(crate) async fn write_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.rows(Space::TcToken)
            .put(
                Entry::new(jid.into(), entry.token.clone())
                    .num(entry.token_timestamp)
                    .num2(entry.sender_timestamp),
            )
            .await
    }

    pub(crate) async fn tc_token_jids(&self) -> Result<Vec<String>> {
        let rows = self.rows(Space::TcToken).list(Condition::all()).await?;
        rows.into_iter().map(|row| string(row.key)).collect()
    }

    /// A row goes once neither its received token (absent: empty) nor its sender bucket (absent:
    /// null) is within its window.
    pub(crate) async fn expire_tc_tokens(
        &self,
        token_cutoff: i64,
        sender_cutoff: i64,
    ) -> Result<u32> {
        let token_dead = Condition::any()
            .add(Column::Value.eq(Vec::<u8>::new()))
            .add(Column::Num.lt(token_cutoff));
        let sender_dead = Condition::any()
            .add(Column::Num2.is_null())
            .add(Column::Num2.lt(sender_cutoff));
        self.rows(Space::TcToken)
            .delete_where(Condition::all().add(token_dead).add(sender_dead))
            .await
    }

    /// Moves the sender timestamp forward only; a new row is a byte-less placeholder.
    pub(crate) async fn touch_tc_token_sender(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let later = Condition::any()
            .add(stored(Column::Num2).is_null())
            .add(incoming(Column::Num2).gt(stored(Column::Num2)));
        let on_conflict = conflict()
            .value(
                Column::Num2,
                Expr::case(later, incoming(Column::Num2)).finally(stored(Column::Num2)),
            )
            .to_owned();
        let placeholder = Entry::new(jid.into(), Vec::new())
            .num(sender_timestamp)
            .num2(Some(sender_timestamp));
        self.rows(Space::TcToken)
            .upsert(vec![placeholder], on_conflict)
            .await
    }

    /// Newer wins: the stored token stays unless it is a placeholder or this one is at least as
    /// new. The sender timestamp is never touched.
    pub(crate) async fn merge_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let replace = Condition::any()
            .add(stored(Column::Value).eq(Vec::<u8>::new()))
            .add(incoming(Column::Num).gte(stored(Column::Num)));
        let on_conflict = conflict()
            .value(
                Column::Value,
                Expr::case(replace.clone(), incoming(Column::Value)).finally(stored(Column::Value)),
            )
            .value(
                Column::Num,
                Expr::case(replace, incoming(Column::Num)).finally(stored(Column::Num)),
            )
            .to_owned();
        let received = Entry::new(jid.into(), token.to_vec()).num(token_timestamp);
        self.rows(Space::TcToken)
            .upsert(vec![received], on_conflict)
            .await
    }
}
