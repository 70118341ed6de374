//! The operator's WhatsApp accounts and their groups, as the dashboard, the CLI and the Telegram
//! bot see and change them. Every change is scoped to the calling operator, audited, and — when
//! the worker has to act — queues its command in the same transaction.

pub mod session_state;

use chrono::Utc;
use domain::{
    account::AccountLabel,
    bus::Command,
    status::{AccountStatus, Provider},
};
use entity::{operators, reminders, whatsapp_accounts as accounts, whatsapp_groups as groups};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};

use crate::{audit, bus::commands};

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Names are one regardless of case; this is the existing account's name.
    #[error("you already have an account called “{0}”")]
    Taken(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Adds an `unpaired` account on `provider`. Its name must differ from the operator's other
/// accounts' by more than case: the unique index on `lower(label)` says so for the letters the
/// database folds (A–Z on SQLite; on PostgreSQL, what its locale folds), and the check below,
/// with Unicode's folding, for the rest. The check cannot race: SQLite's write transactions
/// take turns, and on PostgreSQL adds for one operator queue on the operator's row.
pub async fn add(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    label: &AccountLabel,
    provider: Provider,
) -> Result<accounts::Model, AddError> {
    let now = Utc::now();
    let txn = crate::database::begin_write(db).await?;
    operators::Entity::find_by_id(operator_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    if let Some(existing) = named(&txn, operator_id, label).await? {
        return Err(AddError::Taken(existing.label));
    }
    let inserted = accounts::ActiveModel {
        operator_id: Set(operator_id),
        label: Set(label.as_str().to_owned()),
        provider: Set(provider),
        status: Set(AccountStatus::Unpaired),
        session_generation: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let account = match inserted {
        Ok(account) => account,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AddError::Taken(label.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        audit::Entry::new(actor, "account.added")
            .operator(operator_id)
            .target("account", account.id)
            .detail(serde_json::json!({ "label": account.label, "provider": provider })),
    )
    .await?;
    txn.commit().await?;
    Ok(account)
}

/// The operator's accounts in the order they were added.
pub async fn list(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Vec<accounts::Model>, DbErr> {
    accounts::Entity::find()
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .order_by_asc(accounts::Column::CreatedAt)
        .order_by_asc(accounts::Column::Id)
        .all(db)
        .await
}

/// One of the operator's accounts; `None` for another operator's or a missing one.
pub async fn find(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
) -> Result<Option<accounts::Model>, DbErr> {
    accounts::Entity::find_by_id(account_id)
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

/// One of the operator's accounts by name, regardless of case.
pub async fn find_by_label(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &AccountLabel,
) -> Result<Option<accounts::Model>, DbErr> {
    named(db, operator_id, label).await
}

/// The operator's account that `label` names (an operator has a handful, so they are compared
/// here, with Unicode's case folding rather than the database's).
async fn named(
    db: &impl ConnectionTrait,
    operator_id: i64,
    label: &AccountLabel,
) -> Result<Option<accounts::Model>, DbErr> {
    let accounts = accounts::Entity::find()
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .all(db)
        .await?;
    Ok(accounts.into_iter().find(|a| label.names(&a.label)))
}

/// Queues `command` for one of the operator's accounts, with its audit row. Returns the command
/// id, or `None` when the account is not the operator's.
pub async fn request(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    command: &Command,
) -> Result<Option<i64>, DbErr> {
    let account_id = command.account_id();
    let txn = crate::database::begin_write(db).await?;
    let owned = accounts::Entity::find_by_id(account_id)
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .one(&txn)
        .await?
        .is_some();
    if !owned {
        return Ok(None);
    }
    let id = commands::enqueue(&txn, command).await?;
    let mut entry = audit::Entry::new(actor, audit_action(command))
        .operator(operator_id)
        .target("account", account_id);
    if let Command::Pair {
        phone: Some(phone), ..
    } = command
    {
        entry = entry.detail(serde_json::json!({ "phone": phone.digits() }));
    }
    audit::record(&txn, entry).await?;
    txn.commit().await?;
    Ok(Some(id))
}

fn audit_action(command: &Command) -> &'static str {
    match command {
        Command::Pair { phone: None, .. } => "account.pair_requested",
        Command::Pair { phone: Some(_), .. } => "account.pair_code_requested",
        Command::Unpair { .. } => "account.unpair_requested",
        Command::Delete { .. } => "account.deleted",
        Command::SyncGroups { .. } => "groups.sync_requested",
        Command::SendTest { .. } => "account.send_test",
        Command::SimScan { .. } => "account.sim_scan",
        Command::ReminderChanged { .. } => "reminder.changed",
        Command::ResumeRun { .. } => "run.resumed",
        Command::CancelRun { .. } => "run.cancelled",
        Command::RetryRun { .. } => "run.retried",
    }
}

/// What deleting an account takes with it, for the confirmation dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeleteImpact {
    pub groups: u64,
    pub reminders: u64,
}

pub async fn delete_impact(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<DeleteImpact, DbErr> {
    Ok(DeleteImpact {
        groups: groups::Entity::find()
            .filter(groups::Column::AccountId.eq(account_id))
            .count(db)
            .await?,
        reminders: reminders::Entity::find()
            .filter(reminders::Column::AccountId.eq(account_id))
            .count(db)
            .await?,
    })
}

/// Deletes one of the operator's accounts (its groups and reminders go with it; run history
/// stays) and queues the worker's log-out and key wipe in the same transaction. `false` when
/// the account is not the operator's.
pub async fn delete(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    account_id: i64,
) -> Result<bool, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let Some(account) = accounts::Entity::find_by_id(account_id)
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    accounts::Entity::delete_by_id(account_id)
        .exec(&txn)
        .await?;
    commands::enqueue(&txn, &Command::Delete { account_id }).await?;
    audit::record(
        &txn,
        audit::Entry::new(actor, "account.deleted")
            .operator(operator_id)
            .target("account", account_id)
            .detail(serde_json::json!({ "label": account.label, "phone": account.phone_number })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// An account's groups: current ones first, by name; archived ones after.
pub async fn groups(db: &DatabaseConnection, account_id: i64) -> Result<Vec<groups::Model>, DbErr> {
    let mut rows = groups::Entity::find()
        .filter(groups::Column::AccountId.eq(account_id))
        .all(db)
        .await?;
    rows.sort_by_cached_key(|g| (g.archived_at.is_some(), g.name.to_lowercase(), g.id));
    Ok(rows)
}

/// One group of one account.
pub async fn group(
    db: &DatabaseConnection,
    account_id: i64,
    group_id: i64,
) -> Result<Option<groups::Model>, DbErr> {
    groups::Entity::find_by_id(group_id)
        .filter(groups::Column::AccountId.eq(account_id))
        .one(db)
        .await
}
