//! The dashboard's reading of an operator's Herald: today's figures in the operator's time zone,
//! the activity feed (runs since the operator last cleared it), the account-health strip, and
//! the runs list across reminders with its filters. Clearing the feed
//! (`operators::clear_activity`) only moves where it starts; the runs themselves are never
//! touched, so reminder pages keep their history.

use std::{collections::HashMap, fmt, ops::Range, str::FromStr};

use chrono::{DateTime, Datelike as _, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone as _, Utc};
use domain::{
    run::RunCounts,
    status::{AccountStatus, ReminderStatus, RunStatus, TargetStatus},
    timezone::TimeZone,
};
use entity::{
    operators, reminder_run_targets as run_targets, reminder_runs as runs, reminders,
    whatsapp_accounts as accounts,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The figures on the dashboard's stat cards. "Today" is the operator's calendar day, and a run
/// counts on the day of its occurrence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub accounts_connected: u64,
    pub accounts_total: u64,
    pub active_reminders: u64,
    /// Every reminder, whatever its status: tells "no reminders yet" from "nothing ran yet".
    pub reminders_total: u64,
    pub runs_today: u64,
    /// Runs today that left a group unreached: [`RunStatus::PROBLEMS`].
    pub problems_today: u64,
}

pub async fn stats(
    db: &impl ConnectionTrait,
    operator_id: i64,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> Result<Stats, DbErr> {
    let accounts = || accounts::Entity::find().filter(accounts::Column::OperatorId.eq(operator_id));
    let reminders =
        || reminders::Entity::find().filter(reminders::Column::OperatorId.eq(operator_id));
    let today = day_range(zone, today(zone, now));
    let runs_today = || {
        runs::Entity::find()
            .filter(runs::Column::OperatorId.eq(operator_id))
            .filter(runs::Column::OccurrenceAt.gte(today.start))
            .filter(runs::Column::OccurrenceAt.lt(today.end))
    };
    Ok(Stats {
        accounts_connected: accounts()
            .filter(accounts::Column::Status.eq(AccountStatus::Connected))
            .count(db)
            .await?,
        accounts_total: accounts().count(db).await?,
        active_reminders: reminders()
            .filter(reminders::Column::Status.eq(ReminderStatus::Active))
            .count(db)
            .await?,
        reminders_total: reminders().count(db).await?,
        runs_today: runs_today().count(db).await?,
        problems_today: runs_today()
            .filter(runs::Column::Status.is_in(StatusFilter::Problems.statuses()))
            .count(db)
            .await?,
    })
}

/// The operator's calendar date at `now`.
pub fn today(zone: TimeZone, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone.tz()).date_naive()
}

/// One calendar day in `zone` as instants: from the first instant of `day` up to the first of
/// the next. A zone whose clocks skip midnight starts the day when the skip ends; a date the
/// zone skipped entirely is an empty range.
pub fn day_range(zone: TimeZone, day: NaiveDate) -> Range<DateTime<Utc>> {
    let start = day_start(zone, day);
    let end = day
        .checked_add_days(Days::new(1))
        .map_or(DateTime::<Utc>::MAX_UTC, |next| day_start(zone, next));
    start..end.max(start)
}

fn day_start(zone: TimeZone, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    // Clock changes fall on quarter hours, so the first quarter hour that exists is the start.
    (0..=96)
        .filter_map(|quarter| midnight.checked_add_signed(TimeDelta::minutes(15 * quarter)))
        .find_map(|local| zone.tz().from_local_datetime(&local).earliest())
        .map_or_else(|| midnight.and_utc(), |at| at.to_utc())
}

/// A day as the runs list is asked for it: `today` or `YYYY-MM-DD`, in the operator's zone.
pub fn parse_day(text: &str, zone: TimeZone, now: DateTime<Utc>) -> Result<NaiveDate, BadDay> {
    match text.trim() {
        "today" => Ok(today(zone, now)),
        other => NaiveDate::parse_from_str(other, "%Y-%m-%d").map_err(|_| BadDay(text.to_owned())),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a day: use YYYY-MM-DD or today")]
pub struct BadDay(pub String);

/// Which runs the list shows by status: `problems` means every run that left a group the
/// operator wanted reached unreached ([`RunStatus::PROBLEMS`]), what the operator has to look
/// at; a status name means that status alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    Problems,
    Only(RunStatus),
}

impl StatusFilter {
    pub fn statuses(self) -> Vec<RunStatus> {
        match self {
            StatusFilter::Problems => RunStatus::PROBLEMS.to_vec(),
            StatusFilter::Only(status) => vec![status],
        }
    }
}

impl FromStr for StatusFilter {
    type Err = domain::status::UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "problems" => Ok(StatusFilter::Problems),
            other => other.parse().map(StatusFilter::Only),
        }
    }
}

/// What the runs list is narrowed to; the default is every run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Occurrences in this range (a day from [`day_range`]).
    pub occurred: Option<Range<DateTime<Utc>>>,
    pub status: Option<StatusFilter>,
    /// Runs recorded after this instant: the activity feed since it was cleared.
    pub recorded_after: Option<DateTime<Utc>>,
}

/// Where a page of runs ended: the next page holds the runs strictly older than this one, in
/// the list's order (newest occurrence first, then highest id). Written `<nanos>.<id>` in URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunCursor {
    pub occurrence_at: DateTime<Utc>,
    pub id: i64,
}

impl fmt::Display for RunCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nanoseconds fit an i64 until 2262; past that the cursor falls back to whole seconds.
        let nanos = self
            .occurrence_at
            .timestamp_nanos_opt()
            .unwrap_or_else(|| self.occurrence_at.timestamp());
        write!(f, "{nanos}.{}", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a position in the runs list")]
pub struct BadCursor;

impl FromStr for RunCursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (nanos, id) = s.split_once('.').ok_or(BadCursor)?;
        Ok(RunCursor {
            occurrence_at: DateTime::from_timestamp_nanos(nanos.parse().map_err(|_| BadCursor)?),
            id: id.parse().map_err(|_| BadCursor)?,
        })
    }
}

/// One run with the tally of its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub run: runs::Model,
    pub counts: RunCounts,
}

/// A page of runs, newest first; `next` is where the following page starts, if there is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunPage {
    pub runs: Vec<RunSummary>,
    pub next: Option<RunCursor>,
}

/// Up to `limit` of the operator's runs matching `filter`, newest occurrence first, starting
/// after `before`. Runs of deleted reminders are included: history outlives its reminder.
pub async fn runs(
    db: &impl ConnectionTrait,
    operator_id: i64,
    filter: &RunFilter,
    before: Option<RunCursor>,
    limit: u64,
) -> Result<RunPage, DbErr> {
    let mut query = runs::Entity::find().filter(runs::Column::OperatorId.eq(operator_id));
    if let Some(range) = &filter.occurred {
        query = query
            .filter(runs::Column::OccurrenceAt.gte(range.start))
            .filter(runs::Column::OccurrenceAt.lt(range.end));
    }
    if let Some(status) = filter.status {
        query = query.filter(runs::Column::Status.is_in(status.statuses()));
    }
    if let Some(after) = filter.recorded_after {
        query = query.filter(runs::Column::CreatedAt.gt(after));
    }
    if let Some(cursor) = before {
        query = query.filter(
            Condition::any()
                .add(runs::Column::OccurrenceAt.lt(cursor.occurrence_at))
                .add(
                    Condition::all()
                        .add(runs::Column::OccurrenceAt.eq(cursor.occurrence_at))
                        .add(runs::Column::Id.lt(cursor.id)),
                ),
        );
    }
    // One more than asked tells whether another page follows.
    let mut rows = query
        .order_by_desc(runs::Column::OccurrenceAt)
        .order_by_desc(runs::Column::Id)
        .limit(limit.saturating_add(1))
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = rows.last().filter(|_| more).map(|run| RunCursor {
        occurrence_at: run.occurrence_at,
        id: run.id,
    });
    let mut counts = counts(db, rows.iter().map(|run| run.id)).await?;
    Ok(RunPage {
        runs: rows
            .into_iter()
            .map(|run| RunSummary {
                counts: counts.remove(&run.id).unwrap_or_default(),
                run,
            })
            .collect(),
        next,
    })
}

/// The activity feed: the operator's runs recorded since they last cleared it, newest first.
pub async fn activity(
    db: &impl ConnectionTrait,
    operator: &operators::Model,
    before: Option<RunCursor>,
    limit: u64,
) -> Result<RunPage, DbErr> {
    let filter = RunFilter {
        recorded_after: operator.activity_cleared_at,
        ..RunFilter::default()
    };
    runs(db, operator.id, &filter, before, limit).await
}

/// How urgently an account needs the operator, most urgent first; `None` when it needs nothing.
/// A ban stops sending until it lifts, a logout until the operator pairs again, and a drop
/// until the worker reconnects.
pub fn attention(status: AccountStatus) -> Option<u8> {
    match status {
        AccountStatus::Banned => Some(0),
        AccountStatus::LoggedOut => Some(1),
        AccountStatus::Disconnected => Some(2),
        AccountStatus::Unpaired | AccountStatus::Pending | AccountStatus::Connected => None,
    }
}

/// The operator's most recent fire: when and which reminder.
pub async fn last_fire(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Option<(DateTime<Utc>, String)>, DbErr> {
    Ok(runs::Entity::find()
        .filter(runs::Column::OperatorId.eq(operator_id))
        .order_by_desc(runs::Column::CreatedAt)
        .order_by_desc(runs::Column::Id)
        .one(db)
        .await?
        .map(|run| (run.created_at, run.reminder_name)))
}

/// The operator's accounts for the health strip: those that need attention first (most urgent
/// first), then the rest, each in the order they were added.
pub async fn account_health(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Vec<accounts::Model>, DbErr> {
    let mut list = crate::accounts::list(db, operator_id).await?;
    list.sort_by_key(|account| attention(account.status).unwrap_or(u8::MAX));
    Ok(list)
}

/// The tally of each run's groups by status.
async fn counts(
    db: &impl ConnectionTrait,
    run_ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, RunCounts>, DbErr> {
    let ids: Vec<i64> = run_ids.collect();
    let mut tallies: HashMap<i64, RunCounts> = HashMap::new();
    if ids.is_empty() {
        return Ok(tallies);
    }
    let rows: Vec<(i64, TargetStatus, i64)> = run_targets::Entity::find()
        .select_only()
        .column(run_targets::Column::RunId)
        .column(run_targets::Column::Status)
        .column_as(run_targets::Column::Id.count(), "n")
        .filter(run_targets::Column::RunId.is_in(ids))
        .group_by(run_targets::Column::RunId)
        .group_by(run_targets::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (run_id, status, n) in rows {
        tallies
            .entry(run_id)
            .or_default()
            .add(status, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(tallies)
}

/// An instant as the dashboard words it, on the operator's clock: "Today 09:00",
/// "Yesterday 18:30", "Mon 3 Mar 09:00" within the year, "3 Mar 2030 09:00" before it.
pub fn when(at: DateTime<Utc>, zone: TimeZone, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&zone.tz());
    let today = today(zone, now);
    let date = local.date_naive();
    let time = local.format("%H:%M");
    if date == today {
        format!("Today {time}")
    } else if Some(date) == today.pred_opt() {
        format!("Yesterday {time}")
    } else if Some(date) == today.succ_opt() {
        format!("Tomorrow {time}")
    } else if date.year() == today.year() {
        local.format("%a %-d %b %H:%M").to_string()
    } else {
        local.format("%-d %b %Y %H:%M").to_string()
    }
}
