//! The dashboard and the runs list: read-only views of the operator's accounts, reminders and
//! runs (times on the operator's clock), and clearing the dashboard's activity feed.

use leptos::prelude::*;

use super::AppError;
use crate::wire::{DashboardView, RunsView};

/// Runs in the dashboard's activity feed.
pub const ACTIVITY_LIMIT: u64 = 20;
/// Runs per page of the runs list.
pub const RUNS_PAGE: u64 = 50;
/// How far ahead the dashboard looks for the next send.
#[cfg(feature = "ssr")]
const NEXT_SEND_WITHIN_DAYS: i64 = 30;

#[server(endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardView, AppError> {
    use service::{bus::events, dashboard};

    use crate::wire::{ActivityView, NextFireView, StatsView};

    let (state, me) = super::caller::context().await?;
    let db = &state.db;
    // The cursor is read before anything else: every event up to it is reflected below, and
    // the page's live stream starts after it, so nothing falls between the two.
    let event_id = events::latest_id(db).await?;
    let operator = ssr::operator(&state, &me).await?;
    let zone = super::operator::ssr::zone(&operator);
    let now = sea_orm::prelude::ChronoUtc::now();
    let stats = dashboard::stats(db, me.id, zone, now).await?;
    let activity = dashboard::activity(db, &operator, None, ACTIVITY_LIMIT).await?;
    let next_fire = service::agenda::upcoming(
        db,
        me.id,
        now,
        now + chrono::Duration::days(NEXT_SEND_WITHIN_DAYS),
        &state.config.delivery.pacing(),
    )
    .await?
    .into_iter()
    .next()
    .map(|send| NextFireView {
        reminder_id: send.reminder_id,
        reminder_name: send.name,
        when: dashboard::when(send.at, zone, now),
        account_label: send.account_label,
        groups: send.groups,
        account_away: send.account_status != domain::status::AccountStatus::Connected,
    });
    let accounts = dashboard::account_health(db, me.id)
        .await?
        .into_iter()
        .map(|account| ssr::account_chip(account, zone, now))
        .collect();
    Ok(DashboardView {
        stats: StatsView {
            accounts_connected: stats.accounts_connected,
            accounts_total: stats.accounts_total,
            active_reminders: stats.active_reminders,
            runs_today: stats.runs_today,
            problems_today: stats.problems_today,
        },
        activity: ActivityView {
            runs: ssr::rows(activity.runs, zone, now),
            cleared_at: operator
                .activity_cleared_at
                .map(|at| dashboard::when(at, zone, now)),
            has_reminders: stats.reminders_total > 0,
            next_fire,
        },
        accounts,
        event_id,
    })
}

/// A page of the operator's runs across reminders, newest first. `day` is `today` or
/// `YYYY-MM-DD` on the operator's clock; `status` is `problems` (failed, partial or skipped)
/// or one run status; `before` is the previous page's `next`. Blank values mean "any".
#[server(endpoint = "dashboard_runs")]
pub async fn list_runs(
    day: Option<String>,
    status: Option<String>,
    before: Option<String>,
) -> Result<RunsView, AppError> {
    use service::{
        bus::events,
        dashboard::{self, RunCursor, RunFilter, StatusFilter},
    };

    let (state, me) = super::caller::context().await?;
    let db = &state.db;
    let refuse = super::caller::refuse;
    let event_id = events::latest_id(db).await?;
    let operator = ssr::operator(&state, &me).await?;
    let zone = super::operator::ssr::zone(&operator);
    let now = sea_orm::prelude::ChronoUtc::now();
    let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let day = given(day)
        .map(|day| dashboard::parse_day(&day, zone, now))
        .transpose()
        .map_err(|_| refuse("Pick a day as YYYY-MM-DD, or today."))?;
    let status = given(status)
        .map(|status| status.parse::<StatusFilter>())
        .transpose()
        .map_err(|_| refuse("There is no such run status to filter by."))?;
    let before = given(before)
        .map(|before| before.parse::<RunCursor>())
        .transpose()
        .map_err(|_| refuse("That page of runs does not exist; start from the newest."))?;
    let filter = RunFilter {
        occurred: day.map(|day| dashboard::day_range(zone, day)),
        status,
        recorded_after: None,
    };
    let page = dashboard::runs(db, me.id, &filter, before, RUNS_PAGE).await?;
    Ok(RunsView {
        runs: ssr::rows(page.runs, zone, now),
        next: page.next.map(|cursor| cursor.to_string()),
        day: day.map(|day| day.format("%Y-%m-%d").to_string()),
        event_id,
    })
}

/// Empties the dashboard's activity feed; the runs themselves stay on record.
#[server(endpoint = "dashboard_clear_activity")]
pub async fn clear_activity() -> Result<(), AppError> {
    let (state, me) = super::caller::context().await?;
    service::operators::clear_activity(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        sea_orm::prelude::ChronoUtc::now(),
    )
    .await?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use domain::{status::Provider, timezone::TimeZone};
    use sea_orm::prelude::DateTimeUtc;
    use service::dashboard::{self, RunSummary};

    use crate::{
        functions::AppError,
        state::{AppState, CurrentOperator},
        wire::{AccountChipView, RunRowView},
    };

    pub async fn operator(
        state: &AppState,
        me: &CurrentOperator,
    ) -> Result<entity::operators::Model, AppError> {
        service::operators::find_active(&state.db, me.id)
            .await?
            .ok_or_else(|| AppError::new("signed out"))
    }

    pub fn rows(runs: Vec<RunSummary>, zone: TimeZone, now: DateTimeUtc) -> Vec<RunRowView> {
        runs.into_iter()
            .map(|RunSummary { run, counts }| RunRowView {
                id: run.id,
                reminder_id: run.reminder_id,
                reminder_name: run.reminder_name,
                when: dashboard::when(run.occurrence_at, zone, now),
                at: run.occurrence_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                status: run.status,
                sent: counts.sent,
                total: counts.total(),
            })
            .collect()
    }

    pub fn account_chip(
        account: entity::whatsapp_accounts::Model,
        zone: TimeZone,
        now: DateTimeUtc,
    ) -> AccountChipView {
        AccountChipView {
            id: account.id,
            needs_attention: dashboard::attention(account.status).is_some(),
            label: account.label,
            status: account.status,
            simulated: account.provider == Provider::Sim,
            last_seen: account
                .last_seen_at
                .map(|at| dashboard::when(at, zone, now)),
        }
    }
}
