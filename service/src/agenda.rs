//! What goes out next: every send of the operator's active reminders in a window of time,
//! soonest first, each with when its last group is expected under the pacing and what stands in
//! its way — an account that is not connected, or a run of another reminder on the same account
//! that it will queue behind (an account sends one run at a time).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{
    pacing::Rules,
    recurrence::MAX_TIMES,
    status::{AccountStatus, ReminderStatus},
};
use entity::{reminder_messages as messages, reminders};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    accounts,
    reminders::{read::group_counts, schedule_of},
};

/// One send to come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    pub reminder_id: i64,
    pub name: String,
    pub account_id: i64,
    pub account_label: String,
    pub account_status: AccountStatus,
    pub groups: usize,
    /// When it fires.
    pub at: DateTime<Utc>,
    /// When its last group is expected: after any run it queues behind, one send per group
    /// and message part at the account's pace.
    pub last_group_at: DateTime<Utc>,
    /// The reminder whose run will still be sending when this one fires.
    pub behind: Option<String>,
}

/// The sends due from `from` to `until`, soonest first.
pub async fn upcoming(
    db: &DatabaseConnection,
    operator_id: i64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    pacing: &Rules,
) -> Result<Vec<Send>, DbErr> {
    let active = reminders::Entity::find()
        .filter(reminders::Column::OperatorId.eq(operator_id))
        .filter(reminders::Column::Status.eq(ReminderStatus::Active))
        .filter(reminders::Column::NextFireAt.lte(until))
        .order_by_asc(reminders::Column::Id)
        .all(db)
        .await?;
    if active.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = active.iter().map(|r| r.id).collect();
    let groups = group_counts(db, &ids).await?;
    let mut parts: HashMap<i64, usize> = HashMap::new();
    for part in messages::Entity::find()
        .filter(messages::Column::ReminderId.is_in(ids))
        .all(db)
        .await?
    {
        *parts.entry(part.reminder_id).or_default() += 1;
    }
    let accounts: HashMap<i64, (String, AccountStatus)> = accounts::list(db, operator_id)
        .await?
        .into_iter()
        .map(|a| (a.id, (a.label, a.status)))
        .collect();

    // A reminder sends at most MAX_TIMES a day: room for every send in the window.
    let days = usize::try_from((until - from).num_days()).unwrap_or(0) + 2;
    let per_reminder = days.saturating_mul(MAX_TIMES);
    let mut sends = Vec::new();
    for reminder in active {
        let Some(next) = reminder.next_fire_at else {
            continue;
        };
        // The stored next fire is what the worker acts on; the schedule gives the ones after.
        let times = match schedule_of(&reminder) {
            Ok(schedule) => schedule.occurrences_from(next.max(from), per_reminder),
            Err(_) => vec![next],
        };
        let (account_label, account_status) = accounts
            .get(&reminder.account_id)
            .cloned()
            .unwrap_or_else(|| (String::new(), AccountStatus::Unpaired));
        let group_count = groups.get(&reminder.id).copied().unwrap_or_default();
        let part_count = parts.get(&reminder.id).copied().unwrap_or_default();
        let sending = pacing.time_for(u32::try_from(group_count * part_count).unwrap_or(u32::MAX));
        for at in times.into_iter().filter(|at| *at >= from && *at <= until) {
            sends.push(Send {
                reminder_id: reminder.id,
                name: reminder.name.clone(),
                account_id: reminder.account_id,
                account_label: account_label.clone(),
                account_status,
                groups: group_count,
                at,
                last_group_at: later(at, sending),
                behind: None,
            });
        }
    }
    sends.sort_by_key(|send| (send.at, send.reminder_id));
    queue_per_account(&mut sends, pacing.time_for(2));
    Ok(sends)
}

/// An account sends its runs one after another: a send that fires while an earlier one of the
/// same account is still sending starts a pause (`gap`) after that one's last group.
fn queue_per_account(sends: &mut [Send], gap: TimeDelta) {
    let mut busy: HashMap<i64, (DateTime<Utc>, String)> = HashMap::new();
    for send in sends.iter_mut() {
        let took = send.last_group_at - send.at;
        if let Some((until, name)) = busy.get(&send.account_id)
            && *until > send.at
        {
            send.behind = Some(name.clone());
            send.last_group_at = later(later(*until, gap), took);
        }
        let entry = busy
            .entry(send.account_id)
            .or_insert((send.last_group_at, send.name.clone()));
        if send.last_group_at >= entry.0 {
            *entry = (send.last_group_at, send.name.clone());
        }
    }
}

/// `at` plus `by`, or the end of time: pacing figures from configuration can be huge.
fn later(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
