//! Rows the tests start from, each with one call: an operator, an account, a group, a bare
//! reminder. Everything not passed is a plain default; the returned model has the ids.

use chrono::{DateTime, Utc};
use domain::status::{AccountStatus, Provider, ReminderStatus};
use entity::{operators, reminders, whatsapp_accounts, whatsapp_groups};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

/// A whitelisted operator with Telegram id `telegram_user_id`, on `timezone`'s clock.
pub async fn operator(
    db: &DatabaseConnection,
    telegram_user_id: i64,
    timezone: &str,
) -> operators::Model {
    let now = Utc::now();
    operators::ActiveModel {
        telegram_user_id: Set(Some(telegram_user_id)),
        display_name: Set(format!("Operator {telegram_user_id}")),
        timezone: Set(timezone.into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert operator")
}

/// A simulated account of the operator's in `status`.
pub async fn account(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
    status: AccountStatus,
) -> whatsapp_accounts::Model {
    let now = Utc::now();
    whatsapp_accounts::ActiveModel {
        operator_id: Set(operator_id),
        label: Set(label.into()),
        provider: Set(Provider::Sim),
        status: Set(status),
        session_generation: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert account")
}

/// A current group of the account's, with three participants.
pub async fn group(db: &DatabaseConnection, account_id: i64, name: &str) -> whatsapp_groups::Model {
    let now = Utc::now();
    whatsapp_groups::ActiveModel {
        account_id: Set(account_id),
        jid: Set(format!("{account_id}-{name}@g.us")),
        name: Set(name.into()),
        participant_count: Set(3),
        last_synced_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert group")
}

/// A reminder row alone (no message, no groups, no schedule beyond `dtstart`), for tests that
/// only need something to hang runs on.
pub async fn reminder(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    name: &str,
    status: ReminderStatus,
    dtstart: DateTime<Utc>,
) -> reminders::Model {
    reminders::ActiveModel {
        operator_id: Set(operator_id),
        account_id: Set(account_id),
        name: Set(name.into()),
        timezone: Set("UTC".into()),
        status: Set(status),
        dtstart: Set(dtstart),
        created_at: Set(dtstart),
        updated_at: Set(dtstart),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert reminder")
}
