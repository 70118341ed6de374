//! The agenda: what goes out in the next days, on the operator's clock.

use leptos::prelude::*;

use super::AppError;
use crate::wire::agenda::AgendaView;

/// The caller's sends due in the next `days`: 7 or 30 (anything else reads as 7).
#[server(endpoint = "agenda")]
pub async fn load_agenda(days: u32) -> Result<AgendaView, AppError> {
    use chrono::{Duration, Utc};
    use domain::status::AccountStatus;

    use crate::{
        components::status_badge::status_text,
        functions::operator::ssr::operator_zone,
        wire::agenda::{AgendaDay, AgendaSend},
    };

    let (state, me) = super::caller::context().await?;
    let days = if days == 30 { 30 } else { 7 };
    let zone = operator_zone(&state, &me).await?;
    let now = Utc::now();
    let sends = service::agenda::upcoming(
        &state.db,
        me.id,
        now,
        now + Duration::days(days.into()),
        &state.config.delivery.pacing(),
    )
    .await?;
    let mut by_day: Vec<AgendaDay> = Vec::new();
    for send in sends {
        let at = send.at.with_timezone(&zone.tz());
        let last = send.last_group_at.with_timezone(&zone.tz());
        let label = at.format("%a %-d %b %Y").to_string();
        let row = AgendaSend {
            reminder_id: send.reminder_id,
            name: send.name,
            time: at.format("%H:%M").to_string(),
            last_group: if last.date_naive() == at.date_naive() {
                last.format("%H:%M").to_string()
            } else {
                last.format("%a %-d %b, %H:%M").to_string()
            },
            account_id: send.account_id,
            account_label: send.account_label,
            account_problem: (send.account_status != AccountStatus::Connected)
                .then(|| status_text(send.account_status).to_owned()),
            groups: send.groups,
            behind: send.behind,
        };
        match by_day.last_mut() {
            Some(day) if day.label == label => day.sends.push(row),
            _ => by_day.push(AgendaDay {
                label,
                sends: vec![row],
            }),
        }
    }
    Ok(AgendaView {
        days,
        timezone: zone.name().to_owned(),
        by_day,
    })
}
