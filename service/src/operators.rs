//! Who may use Herald. The whitelist in the configuration is the truth; `operators` mirrors it
//! so sessions, audit rows and (later) accounts can refer to an operator. This module is the
//! only writer of `operators` (the dashboard's activity marker included).

use chrono::{DateTime, Utc};
use domain::timezone::TimeZone;
use entity::operators;
use runtime::config::TelegramUserId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, SqlErr, sea_query::Expr,
};
use serde_json::json;

use crate::{
    audit::{self, Actor},
    database::begin_write,
    web_sessions,
};

/// The display name of embedded mode's single operator.
pub const LOCAL_OPERATOR_NAME: &str = "Local operator";

/// What a sync changed, for the start-up log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub added: usize,
    pub enabled: usize,
    pub disabled: usize,
}

/// Makes `operators` match the whitelist: listed ids are active (created when new), everyone
/// else is disabled and loses their sessions. An empty whitelist means embedded mode: only the
/// local operator is active.
pub async fn sync_whitelist(
    db: &DatabaseConnection,
    allowed: &[TelegramUserId],
    default_timezone: TimeZone,
) -> Result<SyncReport, DbErr> {
    match sync_once(db, allowed, default_timezone).await {
        // Another process (server and login-link command start together) created the same
        // operator first; a second pass finds it.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            sync_once(db, allowed, default_timezone).await
        }
        other => other,
    }
}

async fn sync_once(
    db: &DatabaseConnection,
    allowed: &[TelegramUserId],
    default_timezone: TimeZone,
) -> Result<SyncReport, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let mut report = SyncReport::default();
    let now = Utc::now();
    let wanted: Vec<Option<i64>> = if allowed.is_empty() {
        vec![None]
    } else {
        allowed.iter().map(|id| Some(id.0)).collect()
    };

    for telegram_id in &wanted {
        match find_by_telegram_id(&txn, *telegram_id).await? {
            Some(op) if op.disabled_at.is_some() => {
                let id = op.id;
                let mut active: operators::ActiveModel = op.into();
                active.disabled_at = Set(None);
                active.updated_at = Set(now);
                active.update(&txn).await?;
                audit::record(
                    &txn,
                    audit::Entry::new(Actor::System, "operator.enabled").target("operator", id),
                )
                .await?;
                report.enabled += 1;
            }
            Some(_) => {}
            None => {
                let display_name = match telegram_id {
                    Some(id) => format!("Telegram user {id}"),
                    None => LOCAL_OPERATOR_NAME.to_owned(),
                };
                let inserted = operators::ActiveModel {
                    telegram_user_id: Set(*telegram_id),
                    display_name: Set(display_name),
                    timezone: Set(default_timezone.name().to_owned()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                audit::record(
                    &txn,
                    audit::Entry::new(Actor::System, "operator.added")
                        .target("operator", inserted.id)
                        .detail(json!({ "telegram_user_id": telegram_id })),
                )
                .await?;
                report.added += 1;
            }
        }
    }

    let active = operators::Entity::find()
        .filter(operators::Column::DisabledAt.is_null())
        .all(&txn)
        .await?;
    for op in active
        .into_iter()
        .filter(|op| !wanted.contains(&op.telegram_user_id))
    {
        let id = op.id;
        let mut model: operators::ActiveModel = op.into();
        model.disabled_at = Set(Some(now));
        model.updated_at = Set(now);
        model.update(&txn).await?;
        // A removed operator is signed out everywhere at once.
        web_sessions::end_all(&txn, id).await?;
        audit::record(
            &txn,
            audit::Entry::new(Actor::System, "operator.disabled").target("operator", id),
        )
        .await?;
        report.disabled += 1;
    }

    txn.commit().await?;
    Ok(report)
}

/// Active operators, oldest first.
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<operators::Model>, DbErr> {
    operators::Entity::find()
        .filter(operators::Column::DisabledAt.is_null())
        .order_by_asc(operators::Column::Id)
        .all(db)
        .await
}

/// The operator with this id, if it exists and is not disabled.
pub async fn find_active(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<operators::Model>, DbErr> {
    operators::Entity::find_by_id(id)
        .filter(operators::Column::DisabledAt.is_null())
        .one(db)
        .await
}

/// Sets the operator's time zone, audited as `operator.timezone_changed` with the old and the
/// new zone; choosing the zone already set writes nothing. `None` when no active operator has
/// this id.
pub async fn set_timezone(
    db: &DatabaseConnection,
    actor: Actor,
    operator_id: i64,
    timezone: TimeZone,
) -> Result<Option<operators::Model>, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let Some(operator) = find_active(&txn, operator_id).await? else {
        return Ok(None);
    };
    if operator.timezone == timezone.name() {
        return Ok(Some(operator));
    }
    let from = operator.timezone.clone();
    let mut changed: operators::ActiveModel = operator.into();
    changed.timezone = Set(timezone.name().to_owned());
    changed.updated_at = Set(Utc::now());
    let operator = changed.update(&txn).await?;
    audit::record(
        &txn,
        audit::Entry::new(actor, "operator.timezone_changed")
            .operator(operator_id)
            .target("operator", operator_id)
            .detail(json!({ "from": from, "to": timezone.name() })),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(operator))
}

/// The active operator with this Telegram user id: who the bot serves. Read on every update, so
/// an operator taken off the whitelist is refused at once.
pub async fn find_active_by_telegram_id(
    db: &impl ConnectionTrait,
    telegram_user_id: i64,
) -> Result<Option<operators::Model>, DbErr> {
    operators::Entity::find()
        .filter(operators::Column::TelegramUserId.eq(telegram_user_id))
        .filter(operators::Column::DisabledAt.is_null())
        .one(db)
        .await
}

async fn find_by_telegram_id(
    db: &impl ConnectionTrait,
    telegram_id: Option<i64>,
) -> Result<Option<operators::Model>, DbErr> {
    let column = operators::Column::TelegramUserId;
    let filter = match telegram_id {
        Some(id) => column.eq(id),
        None => column.is_null(),
    };
    operators::Entity::find().filter(filter).one(db).await
}

/// Empties the activity feed from `now` on, with its audit row. Only the feed's starting point
/// moves: every run stays, and reminder pages and the runs list still show them.
pub async fn clear_activity(
    db: &DatabaseConnection,
    actor: audit::Actor,
    operator_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    operators::Entity::update_many()
        .col_expr(operators::Column::ActivityClearedAt, Expr::value(now))
        .col_expr(operators::Column::UpdatedAt, Expr::value(now))
        .filter(operators::Column::Id.eq(operator_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        audit::Entry::new(actor, "dashboard.activity_cleared")
            .operator(operator_id)
            .detail(serde_json::json!({ "cleared_at": now })),
    )
    .await?;
    txn.commit().await
}
