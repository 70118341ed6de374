//! Operator access: only whitelisted operators, signed in by one-time link, reach anything
//! beyond the login pages, health and static assets.

#[path = "../common/mod.rs"]
mod common;
mod login_links;
mod routes;
mod sessions;

use common::TestServer;
use entity::audit_log;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::Value;

async fn audit_actions(server: &TestServer) -> Vec<(String, Option<Value>)> {
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&server.db.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.detail))
        .collect()
}
