//! Delivery of one run to one group. The group's jid and name are snapshots so the row
//! outlives the group.

use domain::status::TargetStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_run_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub group_id: Option<i64>,
    /// Unique per run.
    pub group_jid: String,
    pub group_name: String,
    pub status: TargetStatus,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    pub wa_message_id: Option<String>,
    pub latency_ms: Option<i64>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Message parts already delivered, so a retry never repeats one.
    pub parts_sent: i32,
    /// When the current `sending` claim was taken.
    pub claimed_at: Option<DateTimeUtc>,
    /// The worker process (`workers.instance`) that took the current or last claim.
    pub claimed_by: Option<String>,
    /// Which claim of the target is (or was last) taken: each claim adds one, and a sender's
    /// renewals and outcome land only while it is still theirs.
    pub claim_no: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::reminder_runs::Entity",
        from = "Column::RunId",
        to = "super::reminder_runs::Column::Id",
        on_delete = "Cascade"
    )]
    ReminderRuns,
    #[sea_orm(
        belongs_to = "super::whatsapp_groups::Entity",
        from = "Column::GroupId",
        to = "super::whatsapp_groups::Column::Id",
        on_delete = "SetNull"
    )]
    WhatsappGroups,
}

impl Related<super::reminder_runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReminderRuns.def()
    }
}

impl Related<super::whatsapp_groups::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappGroups.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
