//! Connections across processes. Every worker sharing the database has its own simulator, so who
//! is connected as an account lives in `sim_connections`: a session that connects replaces
//! whatever connection held its account, and a replaced connection that was still live (renewed
//! within [`LIVE_FOR`]) by another process is recorded in `sim_overlaps`.
//!
//! Liveness is wall-clock time (`Utc::now()`), not the scaled simulator clock: it is about
//! processes, which renew and die in real time. As WhatsApp closes a socket that stopped
//! answering, a connection not renewed within [`LIVE_FOR`] is dead for good: a process that
//! wakes after a pause (SIGSTOP, a frozen VM) cannot renew it back to life or send on it, even
//! if no other connection replaced it yet.

use std::{
    future::Future,
    sync::{Arc, PoisonError},
    time::Duration,
};

use chrono::{TimeDelta, Utc};
use entity::{sim_connections, sim_overlaps};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, OnConflict},
};
use service::database::begin_write;
use tokio::time::sleep;

use super::{Sim, SimProvider};
use crate::provider::{Mandate, SendError};

/// How long a connection counts as live after its last renewal: a few renewals, so a slow query
/// is not taken for a dead process.
const LIVE_FOR: TimeDelta = TimeDelta::seconds(3);
const RENEW_EVERY: Duration = Duration::from_secs(1);

/// How a replaced connection ends, as WhatsApp's 409 does.
pub(super) const REPLACED: &str = "stream replaced (409): another connection took over this device";
/// How a connection ends that went unrenewed past [`LIVE_FOR`].
pub(super) const SILENT: &str = "connection closed: it was silent for longer than WhatsApp waits";

/// Why [`Connection::keep`] stopped renewing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kept {
    /// The session ended.
    Ended,
    /// Another connection replaced this one.
    Replaced,
    /// This one went silent past [`LIVE_FOR`] (its process was paused): WhatsApp closed it.
    Silent,
}

/// The process the sessions run in: its name in `sim_connections`, and whom it asks before
/// connecting as an account (none: it may always).
#[derive(Clone)]
pub(super) struct Process {
    holder: String,
    mandate: Option<Arc<dyn Mandate>>,
}

impl Default for Process {
    fn default() -> Self {
        Self {
            holder: unique_holder(),
            mandate: None,
        }
    }
}

/// One session's connection as its account.
pub(super) struct Connection {
    db: DatabaseConnection,
    account_id: i64,
    /// Unique to this connection.
    id: String,
    /// The process it belongs to.
    holder: String,
    mandate: Option<Arc<dyn Mandate>>,
}

impl Connection {
    pub(super) fn new(sim: &Sim, account_id: i64) -> Self {
        let process = sim.process();
        Self {
            db: sim.db.clone(),
            account_id,
            id: uuid::Uuid::new_v4().to_string(),
            holder: process.holder,
            mandate: process.mandate,
        }
    }

    /// Asked right before connecting (see [`Mandate`]).
    pub(super) fn may_connect(&self) -> bool {
        crate::provider::may_connect(self.mandate.as_ref(), self.account_id)
    }

    /// Takes the account over, recording an overlap if another process's connection was live.
    pub(super) async fn claim(&self) -> Result<(), DbErr> {
        let now = Utc::now();
        let row = sim_connections::ActiveModel {
            account_id: Set(self.account_id),
            connection: Set(self.id.clone()),
            holder: Set(self.holder.clone()),
            since: Set(now),
            seen_at: Set(now),
        };
        let txn = begin_write(&self.db).await?;
        // Insert first: PostgreSQL cannot lock a row that does not exist yet, but a concurrent
        // insert of the same key waits for this one, so two claims never both see no row.
        let inserted = sim_connections::Entity::insert(row.clone())
            .on_conflict(
                OnConflict::column(sim_connections::Column::AccountId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        if inserted == 0 {
            let current = sim_connections::Entity::find_by_id(self.account_id)
                .lock_exclusive()
                .one(&txn)
                .await?;
            // A process replacing its own connection (a session restarted before the last one
            // let go) is a reconnect, not two workers at once.
            if let Some(current) = current
                .filter(|current| current.holder != self.holder && now - current.seen_at < LIVE_FOR)
            {
                tracing::warn!(
                    account_id = self.account_id,
                    replaced = current.holder,
                    by = self.holder,
                    "a simulated connection replaced another process's live one"
                );
                sim_overlaps::Entity::insert(sim_overlaps::ActiveModel {
                    id: NotSet,
                    account_id: Set(self.account_id),
                    replaced: Set(current.holder),
                    by: Set(self.holder.clone()),
                    at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
            }
            // An upsert: on PostgreSQL the row may have been let go since the insert saw it.
            sim_connections::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(sim_connections::Column::AccountId)
                        .update_columns([
                            sim_connections::Column::Connection,
                            sim_connections::Column::Holder,
                            sim_connections::Column::Since,
                            sim_connections::Column::SeenAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await
    }

    /// Renews the connection every second until `ended` resolves, another connection replaces
    /// it, or it is found to have gone silent past [`LIVE_FOR`].
    pub(super) async fn keep(&self, ended: impl Future<Output = ()>) -> Kept {
        tokio::pin!(ended);
        loop {
            tokio::select! {
                () = &mut ended => return Kept::Ended,
                () = sleep(RENEW_EVERY) => {}
            }
            let now = Utc::now();
            let renewed = sim_connections::Entity::update_many()
                .col_expr(sim_connections::Column::SeenAt, Expr::value(now))
                .filter(self.live(now))
                .exec(&self.db)
                .await;
            match renewed {
                Ok(renewed) if renewed.rows_affected == 0 => {
                    return match sim_connections::Entity::find()
                        .filter(self.own())
                        .one(&self.db)
                        .await
                    {
                        Ok(Some(_)) => Kept::Silent,
                        _ => Kept::Replaced,
                    };
                }
                Ok(_) => {}
                // The connection itself is fine; only the bookkeeping failed. Should it keep
                // failing, the row lapses and the next connection takes over without an overlap.
                Err(e) => tracing::warn!(
                    account_id = self.account_id,
                    error = %e,
                    "could not renew the simulated connection"
                ),
            }
        }
    }

    /// Lets the connection go, unless another has replaced it.
    pub(super) async fn release(&self) {
        let deleted = sim_connections::Entity::delete_many()
            .filter(self.own())
            .exec(&self.db)
            .await;
        if let Err(e) = deleted {
            tracing::warn!(
                account_id = self.account_id,
                error = %e,
                "could not let the simulated connection go; it lapses on its own"
            );
        }
    }

    /// Refuses a send or upload once another connection has replaced this one, or it went
    /// silent: WhatsApp closed it, so nothing left the device.
    pub(super) async fn check(&self) -> Result<(), SendError> {
        let own = sim_connections::Entity::find()
            .filter(self.live(Utc::now()))
            .one(&self.db)
            .await
            .map_err(|e| {
                SendError::Transient(format!("could not check the simulated connection: {e}"))
            })?;
        match own {
            Some(_) => Ok(()),
            None => Err(SendError::NotConnected),
        }
    }

    fn own(&self) -> Condition {
        Condition::all()
            .add(sim_connections::Column::AccountId.eq(self.account_id))
            .add(sim_connections::Column::Connection.eq(self.id.as_str()))
    }

    /// This connection, while it is live at `now`.
    fn live(&self, now: chrono::DateTime<Utc>) -> Condition {
        self.own()
            .add(sim_connections::Column::SeenAt.gte(now - LIVE_FOR))
    }
}

/// A holder name no other provider has: `sim-` and a random UUID.
pub(super) fn unique_holder() -> String {
    format!("sim-{}", uuid::Uuid::new_v4().simple())
}

impl Sim {
    fn process(&self) -> Process {
        self.process
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn holder(&self) -> String {
        self.process().holder
    }
}

impl SimProvider {
    /// Names this process in `sim_connections` and `sim_overlaps` (the worker's instance, say)
    /// for the sessions started from now on. By default a random name unique to this provider.
    pub fn set_holder(&self, holder: impl Into<String>) {
        self.sim
            .process
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .holder = holder.into();
    }

    /// Whom the sessions started from now on ask before they connect (the worker's leases).
    pub fn set_mandate(&self, mandate: Arc<dyn Mandate>) {
        self.sim
            .process
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .mandate = Some(mandate);
    }

    pub fn holder(&self) -> String {
        self.sim.holder()
    }

    /// Who is connected as the account now, whichever process it is.
    pub async fn connection(
        &self,
        account_id: i64,
    ) -> Result<Option<sim_connections::Model>, DbErr> {
        sim_connections::Entity::find_by_id(account_id)
            .one(&self.sim.db)
            .await
    }

    /// Every live connection replaced by another process's, in any account, oldest first.
    pub async fn overlaps(&self) -> Result<Vec<sim_overlaps::Model>, DbErr> {
        sim_overlaps::Entity::find()
            .order_by_asc(sim_overlaps::Column::Id)
            .all(&self.sim.db)
            .await
    }
}
