//! What the dashboard, the Telegram bot and the worker read about reminders, always scoped to
//! one operator: another operator's reminder reads as missing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::status::{ReminderStatus, RunStatus};
use entity::{
    media_files as media, reminder_messages as messages, reminder_run_targets as run_targets,
    reminder_runs as runs_table, reminder_targets as targets, reminders,
    whatsapp_accounts as accounts, whatsapp_groups as groups,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::schedule_of;

/// A reminder with its message parts and groups, in sending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderDetail {
    pub reminder: reminders::Model,
    pub parts: Vec<Part>,
    pub targets: Vec<Target>,
}

/// One message part; `media` is the attached file of an image, video or document part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub message: messages::Model,
    pub media: Option<media::Model>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub target: targets::Model,
    pub group: groups::Model,
}

/// One run of a reminder with its per-group deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunHistory {
    pub run: runs_table::Model,
    pub targets: Vec<run_targets::Model>,
}

/// One of the operator's reminders; `None` for another operator's or a missing one.
pub async fn find(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminder_id: i64,
) -> Result<Option<reminders::Model>, DbErr> {
    reminders::Entity::find_by_id(reminder_id)
        .filter(reminders::Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

pub async fn detail(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminder_id: i64,
) -> Result<Option<ReminderDetail>, DbErr> {
    let Some(reminder) = find(db, operator_id, reminder_id).await? else {
        return Ok(None);
    };
    let parts = messages::Entity::find()
        .filter(messages::Column::ReminderId.eq(reminder.id))
        .order_by_asc(messages::Column::Position)
        .find_also_related(media::Entity)
        .all(db)
        .await?
        .into_iter()
        .map(|(message, media)| Part { message, media })
        .collect();
    // A group's row goes with its reminder targets (ON DELETE CASCADE), so each has one.
    let targets = targets::Entity::find()
        .filter(targets::Column::ReminderId.eq(reminder.id))
        .order_by_asc(targets::Column::Position)
        .find_also_related(groups::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(target, group)| {
            Some(Target {
                target,
                group: group?,
            })
        })
        .collect();
    Ok(Some(ReminderDetail {
        reminder,
        parts,
        targets,
    }))
}

/// The operator's reminders in the order they were made, optionally only those in `status`.
pub async fn list(
    db: &impl ConnectionTrait,
    operator_id: i64,
    status: Option<ReminderStatus>,
) -> Result<Vec<reminders::Model>, DbErr> {
    let mut query = reminders::Entity::find().filter(reminders::Column::OperatorId.eq(operator_id));
    if let Some(status) = status {
        query = query.filter(reminders::Column::Status.eq(status));
    }
    query
        .order_by_asc(reminders::Column::CreatedAt)
        .order_by_asc(reminders::Column::Id)
        .all(db)
        .await
}

/// A reminder as the list shows it: with its account's label, how many groups it sends to and
/// how its latest run went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    pub reminder: reminders::Model,
    pub account_label: String,
    pub groups: usize,
    pub last_run: Option<RunStatus>,
}

/// [`list`], with what each row of the reminders page needs: four queries however many
/// reminders there are.
pub async fn overview(
    db: &impl ConnectionTrait,
    operator_id: i64,
    status: Option<ReminderStatus>,
) -> Result<Vec<Overview>, DbErr> {
    let reminders = list(db, operator_id, status).await?;
    describe(db, operator_id, reminders).await
}

/// One page of the reminders list: newest first, so a reminder just made is on the first page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewPage {
    pub rows: Vec<Overview>,
    /// 1-based; a page past the last reads as the last.
    pub page: u64,
    /// At least 1, so "page 1 of 1" reads right when there is nothing.
    pub pages: u64,
    /// The reminders on every page together.
    pub total: u64,
}

/// Page `page` (1-based) of the operator's reminders, `per_page` to a page (at least one),
/// optionally only those in `status`: five queries however many reminders there are.
pub async fn overview_page(
    db: &impl ConnectionTrait,
    operator_id: i64,
    status: Option<ReminderStatus>,
    page: u64,
    per_page: u64,
) -> Result<OverviewPage, DbErr> {
    let mut query = reminders::Entity::find().filter(reminders::Column::OperatorId.eq(operator_id));
    if let Some(status) = status {
        query = query.filter(reminders::Column::Status.eq(status));
    }
    let paginator = query
        .order_by_desc(reminders::Column::CreatedAt)
        .order_by_desc(reminders::Column::Id)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let pages = total.div_ceil(per_page.max(1)).max(1);
    let page = page.clamp(1, pages);
    let reminders = paginator.fetch_page(page - 1).await?;
    Ok(OverviewPage {
        rows: describe(db, operator_id, reminders).await?,
        page,
        pages,
        total,
    })
}

/// [`overview`] of one reminder already read.
pub async fn overview_of(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminder: reminders::Model,
) -> Result<Overview, DbErr> {
    let mut described = describe(db, operator_id, vec![reminder.clone()]).await?;
    Ok(described.pop().unwrap_or(Overview {
        reminder,
        account_label: String::new(),
        groups: 0,
        last_run: None,
    }))
}

/// How many groups each of the reminders `ids` sends to (none listed: none).
pub(crate) async fn group_counts(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, usize>, DbErr> {
    let mut groups: HashMap<i64, usize> = HashMap::new();
    for target in targets::Entity::find()
        .filter(targets::Column::ReminderId.is_in(ids.iter().copied()))
        .all(db)
        .await?
    {
        *groups.entry(target.reminder_id).or_default() += 1;
    }
    Ok(groups)
}

async fn describe(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminders: Vec<reminders::Model>,
) -> Result<Vec<Overview>, DbErr> {
    if reminders.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = reminders.iter().map(|r| r.id).collect();
    let labels: HashMap<i64, String> = accounts::Entity::find()
        .filter(accounts::Column::OperatorId.eq(operator_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.label))
        .collect();
    let groups = group_counts(db, &ids).await?;
    // Runs are recorded as they fire, so each reminder's highest run id is its latest.
    let latest: Vec<Option<i64>> = runs_table::Entity::find()
        .select_only()
        .column_as(runs_table::Column::Id.max(), "id")
        .filter(runs_table::Column::ReminderId.is_in(ids))
        .group_by(runs_table::Column::ReminderId)
        .into_tuple()
        .all(db)
        .await?;
    let last_run: HashMap<i64, RunStatus> = runs_table::Entity::find()
        .filter(runs_table::Column::Id.is_in(latest.into_iter().flatten()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|run| Some((run.reminder_id?, run.status)))
        .collect();
    Ok(reminders
        .into_iter()
        .map(|reminder| Overview {
            account_label: labels
                .get(&reminder.account_id)
                .cloned()
                .unwrap_or_default(),
            groups: groups.get(&reminder.id).copied().unwrap_or_default(),
            last_run: last_run.get(&reminder.id).copied(),
            reminder,
        })
        .collect())
}

/// The next `limit` fires of the operator's active reminders, soonest first. A recurring
/// reminder may appear several times, once per occurrence. Only the `limit` reminders due
/// soonest are read: each of them fires no later than its own next fire, so any other
/// reminder's fires come after `limit` fires already found.
pub async fn upcoming(
    db: &impl ConnectionTrait,
    operator_id: i64,
    limit: usize,
) -> Result<Vec<(reminders::Model, DateTime<Utc>)>, DbErr> {
    let active = reminders::Entity::find()
        .filter(reminders::Column::OperatorId.eq(operator_id))
        .filter(reminders::Column::Status.eq(ReminderStatus::Active))
        .filter(reminders::Column::NextFireAt.is_not_null())
        .order_by_asc(reminders::Column::NextFireAt)
        .order_by_asc(reminders::Column::Id)
        .limit(limit as u64)
        .all(db)
        .await?;
    let mut fires = Vec::new();
    for reminder in active {
        let Some(next) = reminder.next_fire_at else {
            continue;
        };
        let times = match schedule_of(&reminder) {
            Ok(schedule) => schedule.occurrences_from(next, limit),
            Err(e) => {
                tracing::warn!(reminder_id = reminder.id, error = %e, "unreadable schedule");
                Vec::new()
            }
        };
        // The stored next fire is what the worker will act on, whatever the schedule says.
        let times = if times.is_empty() { vec![next] } else { times };
        fires.extend(times.into_iter().map(|at| (reminder.clone(), at)));
    }
    fires.sort_by_key(|(reminder, at)| (*at, reminder.id));
    fires.truncate(limit);
    Ok(fires)
}

/// Up to `limit` runs of one of the operator's reminders, newest occurrence first.
pub async fn runs(
    db: &impl ConnectionTrait,
    operator_id: i64,
    reminder_id: i64,
    limit: u64,
) -> Result<Vec<RunHistory>, DbErr> {
    let rows = runs_table::Entity::find()
        .filter(runs_table::Column::OperatorId.eq(operator_id))
        .filter(runs_table::Column::ReminderId.eq(reminder_id))
        .order_by_desc(runs_table::Column::OccurrenceAt)
        .order_by_desc(runs_table::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut by_run: HashMap<i64, Vec<run_targets::Model>> = HashMap::new();
    if !rows.is_empty() {
        for target in run_targets::Entity::find()
            .filter(run_targets::Column::RunId.is_in(rows.iter().map(|r| r.id)))
            .order_by_asc(run_targets::Column::Id)
            .all(db)
            .await?
        {
            by_run.entry(target.run_id).or_default().push(target);
        }
    }
    Ok(rows
        .into_iter()
        .map(|run| RunHistory {
            targets: by_run.remove(&run.id).unwrap_or_default(),
            run,
        })
        .collect())
}
