//! The audit log: an append-only record of every operator-visible action. This module is the
//! only writer of `audit_log`.

use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::Value;

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in operator in the dashboard.
    Operator,
    /// Herald itself (start-up, background jobs).
    System,
    /// The command line on the host.
    Cli,
    /// An unauthenticated web client (failed logins).
    Anonymous,
    /// Someone on Telegram: a whitelisted operator (the entry names them), or an outsider the
    /// bot refused (the entry's detail holds their Telegram id).
    Telegram,
}

impl Actor {
    fn as_str(self) -> &'static str {
        match self {
            Actor::Operator => "operator",
            Actor::System => "system",
            Actor::Cli => "cli",
            Actor::Anonymous => "anonymous",
            Actor::Telegram => "telegram",
        }
    }
}

/// One audit row. Build with [`Entry::new`] and the setters below.
#[derive(Clone, Debug)]
pub struct Entry {
    actor: Actor,
    action: &'static str,
    operator_id: Option<i64>,
    target: Option<(&'static str, String)>,
    detail: Option<Value>,
    client_ip: Option<String>,
}

impl Entry {
    pub fn new(actor: Actor, action: &'static str) -> Self {
        Self {
            actor,
            action,
            operator_id: None,
            target: None,
            detail: None,
            client_ip: None,
        }
    }

    pub fn operator(mut self, operator_id: i64) -> Self {
        self.operator_id = Some(operator_id);
        self
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn client_ip(mut self, ip: impl ToString) -> Self {
        self.client_ip = Some(ip.to_string());
        self
    }
}

/// Appends an entry; pass a transaction to make it part of the change it records.
pub async fn record(db: &impl ConnectionTrait, entry: Entry) -> Result<(), DbErr> {
    let (target_type, target_id) = entry
        .target
        .map(|(t, id)| (Some(t.to_owned()), Some(id)))
        .unwrap_or_default();
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        operator_id: Set(entry.operator_id),
        actor: Set(entry.actor.as_str().to_owned()),
        action: Set(entry.action.to_owned()),
        target_type: Set(target_type),
        target_id: Set(target_id),
        detail: Set(entry.detail),
        client_ip: Set(entry.client_ip),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}
