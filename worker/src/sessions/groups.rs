//! Group sync: the account's groups as WhatsApp lists them now. Groups that disappeared are
//! archived, not deleted, so reminders and history that point at them stay readable.

use std::collections::HashMap;

use chrono::Utc;
use domain::bus::Event;
use entity::whatsapp_groups as groups;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};
use service::bus::events;

use crate::provider::GroupInfo;

/// Stores `listed` as the account's current groups and publishes `groups.synced`.
pub async fn store(
    db: &DatabaseConnection,
    operator_id: i64,
    account_id: i64,
    listed: Vec<GroupInfo>,
) -> Result<Event, DbErr> {
    let now = Utc::now();
    let txn = service::database::begin_write(db).await?;
    let mut existing: HashMap<String, groups::Model> = groups::Entity::find()
        .filter(groups::Column::AccountId.eq(account_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|g| (g.jid.clone(), g))
        .collect();
    let total = listed.len();
    let mut added = 0u32;
    for info in listed {
        // Participant counts beyond i32 do not exist; saturate rather than fail the sync.
        let participants = i32::try_from(info.participants).unwrap_or(i32::MAX);
        match existing.remove(&info.jid) {
            Some(row) => {
                let mut active = row.into_active_model();
                active.name = Set(info.name);
                active.participant_count = Set(participants);
                active.archived_at = Set(None);
                active.last_synced_at = Set(now);
                active.updated_at = Set(now);
                active.update(&txn).await?;
            }
            None => {
                added += 1;
                groups::ActiveModel {
                    account_id: Set(account_id),
                    jid: Set(info.jid),
                    name: Set(info.name),
                    participant_count: Set(participants),
                    archived_at: Set(None),
                    last_synced_at: Set(now),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    let mut archived = 0u32;
    for row in existing.into_values().filter(|g| g.archived_at.is_none()) {
        archived += 1;
        let mut active = row.into_active_model();
        active.archived_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await?;
    }
    let event = Event::GroupsSynced {
        account_id,
        total: u32::try_from(total).unwrap_or(u32::MAX),
        added,
        archived,
    };
    events::publish_in(&txn, Some(operator_id), &event).await?;
    txn.commit().await?;
    Ok(event)
}
