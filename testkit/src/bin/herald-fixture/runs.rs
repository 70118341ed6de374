//! Runs as the worker records them (`worker::delivery::{fire, outcome}`), for states that take
//! real hours to reach: a send window closing, runs that already ended.

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use domain::{
    account::AccountLabel,
    status::{MessageKind, Provider, ReminderStatus, RunStatus, TargetStatus},
};
use entity::{
    reminder_run_parts as run_parts, reminder_run_targets as targets, reminder_runs as runs,
    reminders, whatsapp_groups,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use service::{
    accounts,
    audit::Actor,
    reminders::{self as reminder_service, PartInput, ReminderInput},
};

/// A run of a new daily reminder, paused when its send window closed after the first of up to
/// three groups of `label`'s account; the reminder paused with it.
pub async fn paused(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
) -> anyhow::Result<serde_json::Value> {
    let (account, groups) = current_groups(db, operator_id, label, 3).await?;
    let now = Utc::now();
    let reminder = daily_reminder(db, operator_id, account.id, &groups, now).await?;
    let occurrence = now - Duration::minutes(10);
    let reason = format!(
        "the send window closed at {}",
        (now - Duration::minutes(2)).format("%Y-%m-%d %H:%M UTC")
    );
    let run = insert_run(
        db,
        &reminder,
        Some(reminder.id),
        RunStatus::Paused,
        Some(reason.clone()),
        occurrence,
        None,
    )
    .await?;
    let outcomes: Vec<_> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let status = if i == 0 {
                TargetStatus::Sent
            } else {
                TargetStatus::Pending
            };
            (g.jid.clone(), g.name.clone(), Some(g.id), status)
        })
        .collect();
    insert_targets(db, run.id, occurrence, outcomes).await?;
    let mut paused = reminder.into_active_model();
    paused.status = Set(ReminderStatus::Paused);
    paused.status_reason = Set(Some(format!(
        "paused with its run of {}: {reason}",
        occurrence.format("%Y-%m-%d %H:%M UTC")
    )));
    paused.last_fired_at = Set(Some(occurrence));
    let reminder = paused.update(db).await?;
    Ok(json!({ "reminder_id": reminder.id, "run_id": run.id }))
}

/// A run of a new daily reminder to two groups of `label`'s account, skipped a minute ago
/// because the account was logged out then, with its own copy of the message, as the worker
/// leaves it; the account has been paired again since.
/// A daily reminder to two of the account's current groups, from tomorrow.
pub async fn daily(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
) -> anyhow::Result<serde_json::Value> {
    let (account, groups) = current_groups(db, operator_id, label, 2).await?;
    let reminder = daily_reminder(db, operator_id, account.id, &groups, Utc::now()).await?;
    Ok(json!({ "reminder_id": reminder.id, "name": reminder.name }))
}

/// The skipped run; `unsure`, its second group's send was cut off by a stop instead and
/// reported `unknown`, so the run failed.
pub async fn skipped(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
    unsure: bool,
) -> anyhow::Result<serde_json::Value> {
    let (account, groups) = current_groups(db, operator_id, label, 2).await?;
    let now = Utc::now();
    let reminder = daily_reminder(db, operator_id, account.id, &groups, now).await?;
    let occurrence = now - Duration::minutes(1);
    let status = if unsure {
        RunStatus::Failed
    } else {
        RunStatus::Skipped
    };
    let run = insert_run(
        db,
        &reminder,
        Some(reminder.id),
        status,
        None,
        occurrence,
        Some(occurrence),
    )
    .await?;
    for part in reminder_service::detail(db, operator_id, reminder.id)
        .await?
        .context("the reminder just made")?
        .parts
    {
        run_parts::ActiveModel {
            run_id: Set(run.id),
            position: Set(part.message.position),
            kind: Set(part.message.kind),
            body: Set(part.message.body),
            media_file_id: Set(part.message.media_file_id),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    let outcomes = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let status = if unsure && i == 1 {
                TargetStatus::Unknown
            } else {
                TargetStatus::Skipped
            };
            (g.jid.clone(), g.name.clone(), Some(g.id), status)
        })
        .collect();
    insert_targets(db, run.id, occurrence, outcomes).await?;
    targets::Entity::update_many()
        .col_expr(
            targets::Column::Reason,
            Expr::value("the account was not connected (logged_out)"),
        )
        .filter(targets::Column::RunId.eq(run.id))
        .filter(targets::Column::Status.eq(TargetStatus::Skipped))
        .exec(db)
        .await?;
    Ok(json!({ "reminder_id": reminder.id, "run_id": run.id, "name": reminder.name }))
}

/// On an account of their own: a partly sent run (2 of 3 groups) of an ended reminder, a second
/// ago, and a failed run (1 group) two seconds ago whose reminder has since been deleted.
pub async fn finished(
    db: &DatabaseConnection,
    operator_id: i64,
) -> anyhow::Result<serde_json::Value> {
    let tag = Utc::now().timestamp_millis();
    let label = AccountLabel::parse(&format!("Shop-{tag}")).map_err(anyhow::Error::msg)?;
    let account = accounts::add(db, Actor::Cli, operator_id, &label, Provider::Sim)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = Utc::now();
    let mut ended = reminders::ActiveModel {
        operator_id: Set(operator_id),
        account_id: Set(account.id),
        name: Set(format!("Spring sale {tag}")),
        timezone: Set("UTC".into()),
        status: Set(ReminderStatus::Ended),
        dtstart: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let partial = insert_run(
        db,
        &ended,
        Some(ended.id),
        RunStatus::Partial,
        None,
        now - Duration::seconds(1),
        Some(now),
    )
    .await?;
    let group = |n: usize, status| {
        (
            format!("{}-{n}@g.us", partial.id),
            format!("Group {n}"),
            None,
            status,
        )
    };
    insert_targets(
        db,
        partial.id,
        now,
        vec![
            group(0, TargetStatus::Sent),
            group(1, TargetStatus::Sent),
            group(2, TargetStatus::Failed),
        ],
    )
    .await?;
    // A run outlives its reminder under the name it ran with.
    let deleted_name = format!("Old promo {tag}");
    ended.name = deleted_name.clone();
    let failed = insert_run(
        db,
        &ended,
        None,
        RunStatus::Failed,
        None,
        now - Duration::seconds(2),
        Some(now),
    )
    .await?;
    insert_targets(
        db,
        failed.id,
        now,
        vec![(
            format!("{}-0@g.us", failed.id),
            "Group 0".into(),
            None,
            TargetStatus::Failed,
        )],
    )
    .await?;
    Ok(json!({
        "reminder": ended.id,
        "name": format!("Spring sale {tag}"),
        "partialRun": partial.id,
        "deletedName": deleted_name,
        "failedRun": failed.id,
    }))
}

/// `label`'s account and up to `at_most` of its current groups; at least two are needed.
async fn current_groups(
    db: &DatabaseConnection,
    operator_id: i64,
    label: &str,
    at_most: usize,
) -> anyhow::Result<(
    entity::whatsapp_accounts::Model,
    Vec<whatsapp_groups::Model>,
)> {
    let label = AccountLabel::parse(label).map_err(anyhow::Error::msg)?;
    let account = accounts::find_by_label(db, operator_id, &label)
        .await?
        .context("no such account")?;
    let groups: Vec<_> = accounts::groups(db, account.id)
        .await?
        .into_iter()
        .filter(|g| g.archived_at.is_none())
        .take(at_most)
        .collect();
    if groups.len() < 2 {
        bail!("the account needs at least two groups");
    }
    Ok((account, groups))
}

async fn daily_reminder(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    groups: &[whatsapp_groups::Model],
    now: DateTime<Utc>,
) -> anyhow::Result<reminders::Model> {
    let tomorrow = (now + Duration::days(1)).date_naive();
    let input = ReminderInput {
        account_id,
        name: "Evening notice".into(),
        timezone: "UTC".into(),
        start_local: tomorrow.and_hms_opt(17, 30, 0).context("time")?,
        rrule: Some("FREQ=DAILY".into()),
        skip_dates: vec![],
        skip_base: None,
        send_window_end_hour: Some(18),
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some("The shop closes at 18:00 today.".into()),
            media_file_id: None,
        }],
        group_ids: groups.iter().map(|g| g.id).collect(),
    };
    Ok(reminder_service::create(db, Actor::Cli, operator_id, &input, now).await?)
}

async fn insert_run(
    db: &DatabaseConnection,
    reminder: &reminders::Model,
    reminder_id: Option<i64>,
    status: RunStatus,
    reason: Option<String>,
    occurrence: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
) -> anyhow::Result<runs::Model> {
    Ok(runs::ActiveModel {
        reminder_id: Set(reminder_id),
        reminder_name: Set(reminder.name.clone()),
        account_id: Set(Some(reminder.account_id)),
        operator_id: Set(Some(reminder.operator_id)),
        occurrence_at: Set(occurrence),
        status: Set(status),
        reason: Set(reason),
        started_at: Set(Some(occurrence)),
        finished_at: Set(finished_at),
        created_at: Set(occurrence),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// As the sweep records a send a stopped worker left under way.
const UNKNOWN: &str =
    "unknown: Herald stopped while sending; WhatsApp may have delivered it, so it is not re-sent";

/// One target per (jid, name, group id, status); a sent one as the sender records it.
async fn insert_targets(
    db: &DatabaseConnection,
    run_id: i64,
    at: DateTime<Utc>,
    outcomes: Vec<(String, String, Option<i64>, TargetStatus)>,
) -> anyhow::Result<()> {
    for (jid, name, group_id, status) in outcomes {
        let sent = status == TargetStatus::Sent;
        let tried = matches!(
            status,
            TargetStatus::Sent | TargetStatus::Failed | TargetStatus::Unknown
        );
        targets::ActiveModel {
            run_id: Set(run_id),
            group_id: Set(group_id),
            group_jid: Set(jid),
            group_name: Set(name),
            status: Set(status),
            reason: Set(match status {
                TargetStatus::Failed => Some("the group was not found".into()),
                TargetStatus::Unknown => Some(UNKNOWN.into()),
                _ => None,
            }),
            claim_no: Set(i64::from(tried)),
            wa_message_id: Set(sent.then(|| format!("fixture-{run_id}"))),
            latency_ms: Set(sent.then_some(420)),
            attempts: Set(i32::from(tried)),
            parts_sent: Set(i32::from(sent)),
            sent_at: Set(sent.then_some(at)),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
