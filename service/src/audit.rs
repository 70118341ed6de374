//! The audit log: an append-only record of every operator-visible action. This module is the
//! only writer of `audit_log`, and the one reader the dashboard goes through.

mod names;

use chrono::Utc;
use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

pub use names::{Names, names};

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

/// Entries per page of the log.
pub const PAGE_SIZE: u64 = 50;

/// Which entries to list; `None` fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// An action code, e.g. `reminder.created`.
    pub action: Option<String>,
    pub target: Option<TargetFilter>,
}

/// Entries about one kind of thing (`reminder`), or about one of them (`reminder` `12`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetFilter {
    pub kind: String,
    pub id: Option<String>,
}

/// One page of the log, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub entries: Vec<audit_log::Model>,
    /// Pass as `before` for the next, older page; `None` on the last page.
    pub older: Option<i64>,
}

/// The entries `operator_id` may read: their own, and those that belong to no operator —
/// refused logins and Telegram users, which concern every operator of the installation —
/// except the whitelist's entries about other operators.
fn readable_by(operator_id: i64) -> Condition {
    use audit_log::Column;
    let not_about_another_operator = Condition::any()
        .add(Column::TargetType.is_null())
        .add(Column::TargetType.ne("operator"))
        .add(Column::TargetId.eq(operator_id.to_string()));
    Condition::any()
        .add(Column::OperatorId.eq(operator_id))
        .add(
            Condition::all()
                .add(Column::OperatorId.is_null())
                .add(not_about_another_operator),
        )
}

/// A page of the entries `operator_id` may read that match `filter`, newest first, older than
/// the entry `before` when given (keyset pagination: pages hold still while entries arrive).
/// Details come with secrets masked.
pub async fn list(
    db: &impl ConnectionTrait,
    operator_id: i64,
    filter: &Filter,
    before: Option<i64>,
) -> Result<Page, DbErr> {
    use audit_log::Column;
    let mut query = audit_log::Entity::find().filter(readable_by(operator_id));
    if let Some(action) = &filter.action {
        query = query.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(Column::TargetType.eq(target.kind.as_str()));
        if let Some(id) = &target.id {
            query = query.filter(Column::TargetId.eq(id.as_str()));
        }
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let mut entries = query
        .order_by_desc(Column::Id)
        .limit(PAGE_SIZE + 1)
        .all(db)
        .await?;
    let older = if entries.len() as u64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|entry| entry.id)
    } else {
        None
    };
    for entry in &mut entries {
        if let Some(detail) = &mut entry.detail {
            mask_secrets(detail);
        }
    }
    Ok(Page { entries, older })
}

/// The actions in the entries `operator_id` may read, in code order: the filter's choices.
pub async fn actions(db: &impl ConnectionTrait, operator_id: i64) -> Result<Vec<String>, DbErr> {
    distinct(db, operator_id, audit_log::Column::Action).await
}

/// The kinds of target in the entries `operator_id` may read (`account`, `reminder`, ...).
pub async fn target_kinds(
    db: &impl ConnectionTrait,
    operator_id: i64,
) -> Result<Vec<String>, DbErr> {
    distinct(db, operator_id, audit_log::Column::TargetType).await
}

async fn distinct(
    db: &impl ConnectionTrait,
    operator_id: i64,
    column: audit_log::Column,
) -> Result<Vec<String>, DbErr> {
    audit_log::Entity::find()
        .select_only()
        .column(column)
        .distinct()
        .filter(readable_by(operator_id))
        .filter(column.is_not_null())
        .order_by_asc(column)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Key names whose values are never shown. No entry records such a value today; this keeps a
/// future one from reaching the page.
const SECRET_KEYS: [&str; 4] = ["token", "secret", "password", "cookie"];

fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                let key = key.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|secret| key.contains(secret)) {
                    *field = Value::String("[hidden]".to_owned());
                } else {
                    mask_secrets(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::mask_secrets;

    #[test]
    fn secret_fields_are_masked_at_any_depth() {
        let mut detail = json!({
            "label": "Bakery",
            "bot_token": "123:abc",
            "nested": [{ "Password": "x", "kind": "image" }],
        });
        mask_secrets(&mut detail);
        assert_eq!(
            detail,
            json!({
                "label": "Bakery",
                "bot_token": "[hidden]",
                "nested": [{ "Password": "[hidden]", "kind": "image" }],
            })
        );
    }
}
