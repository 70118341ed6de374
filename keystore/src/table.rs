//! One account's rows of `wa_keys` in one space (collection): get, put, delete, list and expire
//! by key. Every write is a single statement, or one transaction when a batch needs several.

use std::collections::HashMap;

use entity::wa_keys::{self, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
    sea_query::{Expr, OnConflict, Query},
};
use wacore::store::error::{Result, StoreError};

use crate::fence::{Fence, Open};

/// Which collection a row belongs to. The numbers are stored: never renumber one, only add.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Space {
    Identity = 1,
    Session = 2,
    /// `num`: whether the prekey was uploaded (0/1).
    PreKey = 3,
    SignedPreKey = 4,
    SenderKey = 5,
    SyncKey = 6,
    /// One row (empty key): the id of the sync key stored last.
    LatestSyncKey = 7,
    AppStateVersion = 8,
    MutationMac = 9,
    /// Value: the device JID (so rows can be deleted by device across groups); `num`: has_key.
    SenderKeyDevice = 10,
    LidMapping = 11,
    /// Value: the LID that phone number maps to.
    PnMapping = 12,
    /// One row (empty key) that LID-PN mapping writers lock to take turns.
    LidPnLock = 13,
    BaseKey = 14,
    DeviceList = 15,
    GroupMetadata = 16,
    /// Value: the token; `num`: token timestamp; `num2`: sender timestamp.
    TcToken = 17,
    /// `num`: when stored (unix seconds).
    SentMessage = 18,
    /// `num`: when stored (unix seconds).
    PendingInbound = 19,
    /// Value: the secret; `num`: expires_at (0 = never); `num2`: message_ts.
    MsgSecret = 20,
}

/// Rows per statement: well under both engines' bound-parameter limits (6 per row).
const CHUNK: usize = 500;

/// A row to write.
pub(crate) struct Entry {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub num: Option<i64>,
    pub num2: Option<i64>,
}

impl Entry {
    pub fn new(key: Vec<u8>, value: Vec<u8>) -> Self {
        Self {
            key,
            value,
            num: None,
            num2: None,
        }
    }

    pub fn num(self, num: i64) -> Self {
        Self {
            num: Some(num),
            ..self
        }
    }

    pub fn num2(self, num2: Option<i64>) -> Self {
        Self { num2, ..self }
    }
}

pub(crate) fn db_err(e: DbErr) -> StoreError {
    match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => StoreError::Connection(Box::new(e)),
        _ => StoreError::Database(Box::new(e)),
    }
}

/// The first key after every key starting with `prefix`, if there is one.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Keys starting with `prefix`, as a range the primary key serves.
pub(crate) fn starts_with(prefix: &[u8]) -> Condition {
    let from = Condition::all().add(Column::Key.gte(prefix.to_vec()));
    match successor(prefix) {
        Some(end) => from.add(Column::Key.lt(end)),
        None => from,
    }
}

/// Replaces `value`, `num` and `num2` of a row that exists.
pub(crate) fn overwrite() -> OnConflict {
    conflict()
        .update_columns([Column::Value, Column::Num, Column::Num2])
        .to_owned()
}

/// An upsert on the primary key, for spaces that merge on conflict.
pub(crate) fn conflict() -> OnConflict {
    OnConflict::columns([Column::AccountId, Column::Space, Column::Key])
}

/// A column of the stored row, in an upsert's `DO UPDATE`.
pub(crate) fn stored(column: Column) -> Expr {
    Expr::col((Entity, column))
}

/// A column of the row being written, in an upsert's `DO UPDATE`.
pub(crate) fn incoming(column: Column) -> Expr {
    Expr::col(("excluded", column))
}

pub(crate) struct Rows<'a, C> {
    db: &'a C,
    account_id: i64,
    space: Space,
    /// Passed by every write; `None` inside a transaction whose owner passed it.
    fence: Option<&'a Fence>,
}

impl<'a, C: ConnectionTrait + TransactionTrait> Rows<'a, C> {
    pub fn new(db: &'a C, account_id: i64, space: Space) -> Self {
        Self {
            db,
            account_id,
            space,
            fence: None,
        }
    }

    pub fn fenced(self, fence: &'a Fence) -> Self {
        Self {
            fence: Some(fence),
            ..self
        }
    }

    /// Lets a write through unless the store was closed.
    async fn enter(&self) -> Result<Option<Open<'a>>> {
        match self.fence {
            Some(fence) => fence.enter().await.map(Some),
            None => Ok(None),
        }
    }

    fn scope(&self) -> Condition {
        Condition::all()
            .add(Column::AccountId.eq(self.account_id))
            .add(Column::Space.eq(self.space as i16))
    }

    fn find(&self, filter: Condition) -> sea_orm::Select<Entity> {
        Entity::find()
            .filter(self.scope().add(filter))
            .order_by_asc(Column::Key)
    }

    pub async fn get(&self, key: &[u8]) -> Result<Option<Model>> {
        self.find(Condition::all().add(Column::Key.eq(key.to_vec())))
            .one(self.db)
            .await
            .map_err(db_err)
    }

    pub async fn contains(&self, key: &[u8]) -> Result<bool> {
        self.any(Condition::all().add(Column::Key.eq(key.to_vec())))
            .await
    }

    /// Whether any row matches `filter` (reads keys only).
    pub async fn any(&self, filter: Condition) -> Result<bool> {
        let found: Option<Vec<u8>> = self
            .find(filter)
            .select_only()
            .column(Column::Key)
            .into_tuple()
            .one(self.db)
            .await
            .map_err(db_err)?;
        Ok(found.is_some())
    }

    /// The rows that exist among `keys`.
    pub async fn get_many(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Model>> {
        let mut rows = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let filter = Condition::all().add(Column::Key.is_in(chunk.iter().cloned()));
            rows.extend(self.find(filter).all(self.db).await.map_err(db_err)?);
        }
        Ok(rows)
    }

    /// Every row matching `filter`, in key order.
    pub async fn list(&self, filter: Condition) -> Result<Vec<Model>> {
        self.find(filter).all(self.db).await.map_err(db_err)
    }

    /// The row with the highest key.
    pub async fn last(&self) -> Result<Option<Model>> {
        Entity::find()
            .filter(self.scope())
            .order_by_desc(Column::Key)
            .one(self.db)
            .await
            .map_err(db_err)
    }

    pub async fn put(&self, entry: Entry) -> Result<()> {
        self.upsert(vec![entry], overwrite()).await
    }

    pub async fn put_all(&self, entries: Vec<Entry>) -> Result<()> {
        self.upsert(entries, overwrite()).await
    }

    /// Inserts `entries`, resolving conflicts with stored rows by `on_conflict`. A key given more
    /// than once keeps its last entry (one statement may not touch a row twice); callers that
    /// merge duplicates differently merge them first.
    pub async fn upsert(&self, entries: Vec<Entry>, on_conflict: OnConflict) -> Result<()> {
        let mut unique: Vec<Entry> = Vec::with_capacity(entries.len());
        let mut seen = HashMap::with_capacity(entries.len());
        for entry in entries {
            match seen.get(&entry.key) {
                Some(&at) => unique[at] = entry,
                None => {
                    seen.insert(entry.key.clone(), unique.len());
                    unique.push(entry);
                }
            }
        }
        let ops = unique
            .chunks(CHUNK)
            .map(|chunk| {
                Op::Upsert(
                    chunk.iter().map(|e| self.active(e)).collect(),
                    on_conflict.clone(),
                )
            })
            .collect();
        self.run_all(ops).await
    }

    fn active(&self, entry: &Entry) -> wa_keys::ActiveModel {
        wa_keys::ActiveModel {
            account_id: Set(self.account_id),
            space: Set(self.space as i16),
            key: Set(entry.key.clone()),
            value: Set(entry.value.clone()),
            num: Set(entry.num),
            num2: Set(entry.num2),
        }
    }

    /// Sets `num` on the rows that exist among `keys`; never inserts.
    pub async fn set_num(&self, keys: &[Vec<u8>], num: i64) -> Result<()> {
        let ops = keys
            .chunks(CHUNK)
            .map(|chunk| Op::SetNum(chunk.to_vec(), num));
        self.run_all(ops.collect()).await
    }

    pub async fn delete(&self, key: &[u8]) -> Result<()> {
        self.delete_where(Condition::all().add(Column::Key.eq(key.to_vec())))
            .await
            .map(|_| ())
    }

    pub async fn delete_many(&self, keys: &[Vec<u8>]) -> Result<()> {
        let ops = keys.chunks(CHUNK).map(|chunk| Op::Delete(chunk.to_vec()));
        self.run_all(ops.collect()).await
    }

    /// Deletes the rows matching `filter`; returns how many (saturating: callers log it).
    pub async fn delete_where(&self, filter: Condition) -> Result<u32> {
        let _open = self.enter().await?;
        let deleted = Entity::delete_many()
            .filter(self.scope().add(filter))
            .exec(self.db)
            .await
            .map_err(db_err)?;
        Ok(u32::try_from(deleted.rows_affected).unwrap_or(u32::MAX))
    }

    /// Deletes the row at `key` and returns it, in one statement (so two takers never both get it).
    pub async fn take(&self, key: &[u8]) -> Result<Option<Model>> {
        let _open = self.enter().await?;
        let statement = Query::delete()
            .from_table(Entity)
            .cond_where(self.scope().add(Column::Key.eq(key.to_vec())))
            .returning_all()
            .to_owned();
        let row = self.db.query_one(&statement).await.map_err(db_err)?;
        row.map(|row| Model::from_query_result(&row, ""))
            .transpose()
            .map_err(db_err)
    }

    /// Runs `ops`: one directly, several in one transaction (a batch lands whole or not at all).
    async fn run_all(&self, ops: Vec<Op>) -> Result<()> {
        let _open = self.enter().await?;
        if ops.len() <= 1 {
            for op in ops {
                self.run(op).await?;
            }
            return Ok(());
        }
        let txn = self.db.begin().await.map_err(db_err)?;
        let rows = Rows::new(&txn, self.account_id, self.space);
        for op in ops {
            rows.run(op).await?;
        }
        txn.commit().await.map_err(db_err)
    }

    async fn run(&self, op: Op) -> Result<()> {
        let in_keys = |keys: Vec<Vec<u8>>| self.scope().add(Column::Key.is_in(keys));
        match op {
            Op::Upsert(rows, on_conflict) => Entity::insert_many(rows)
                .on_conflict(on_conflict)
                .exec_without_returning(self.db)
                .await
                .map(|_| ()),
            Op::SetNum(keys, num) => Entity::update_many()
                .col_expr(Column::Num, Expr::value(num))
                .filter(in_keys(keys))
                .exec(self.db)
                .await
                .map(|_| ()),
            Op::Delete(keys) => Entity::delete_many()
                .filter(in_keys(keys))
                .exec(self.db)
                .await
                .map(|_| ()),
        }
        .map_err(db_err)
    }
}

/// One statement of a batch write.
enum Op {
    Upsert(Vec<wa_keys::ActiveModel>, OnConflict),
    SetNum(Vec<Vec<u8>>, i64),
    Delete(Vec<Vec<u8>>),
}
