//! The operator's calendar link: whether they have one, making one (its URL is answered once),
//! and revoking it. The feed itself is served by the server at the link.

use leptos::prelude::*;

use super::AppError;
use crate::wire::CalendarFeedView;

#[server(endpoint = "calendar_feed")]
pub async fn calendar_feed() -> Result<Option<CalendarFeedView>, AppError> {
    use super::operator::ssr::{local_time, operator_zone};

    let (state, me) = super::caller::context().await?;
    let zone = operator_zone(&state, &me).await?;
    const SHOWN: &str = "%a %-d %b %Y, %H:%M";
    Ok(service::calendar::find(&state.db, me.id)
        .await?
        .map(|feed| CalendarFeedView {
            created_at: local_time(&feed.created_at, zone, SHOWN),
            last_read_at: feed.last_read_at.map(|at| local_time(&at, zone, SHOWN)),
        }))
}

/// Makes a new link (the old one, if any, stops working) and answers its URL.
#[server(endpoint = "create_calendar_feed")]
pub async fn create_calendar_feed() -> Result<String, AppError> {
    let (state, me) = super::caller::context().await?;
    service::calendar::create(
        &state.db,
        service::audit::Actor::Operator,
        me.id,
        &state.config.public_url,
    )
    .await
    .map_err(super::caller::internal)
}

/// Revokes the link; answers whether there was one.
#[server(endpoint = "revoke_calendar_feed")]
pub async fn revoke_calendar_feed() -> Result<bool, AppError> {
    let (state, me) = super::caller::context().await?;
    Ok(service::calendar::revoke(&state.db, service::audit::Actor::Operator, me.id).await?)
}
