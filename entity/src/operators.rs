//! A person who owns WhatsApp accounts and reminders.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "operators")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `None` for the local operator of embedded mode.
    pub telegram_user_id: Option<i64>,
    pub display_name: String,
    /// IANA time zone name.
    pub timezone: String,
    pub disabled_at: Option<DateTimeUtc>,
    /// The dashboard's activity feed shows runs after this; the runs themselves stay.
    pub activity_cleared_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::whatsapp_accounts::Entity")]
    WhatsappAccounts,
    #[sea_orm(has_many = "super::media_files::Entity")]
    MediaFiles,
    #[sea_orm(has_many = "super::reminders::Entity")]
    Reminders,
    #[sea_orm(has_many = "super::audit_log::Entity")]
    AuditLog,
    #[sea_orm(has_many = "super::auth_sessions::Entity")]
    AuthSessions,
    #[sea_orm(has_many = "super::login_tokens::Entity")]
    LoginTokens,
}

impl Related<super::whatsapp_accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WhatsappAccounts.def()
    }
}

impl Related<super::media_files::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MediaFiles.def()
    }
}

impl Related<super::reminders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reminders.def()
    }
}

impl Related<super::audit_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditLog.def()
    }
}

impl Related<super::auth_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthSessions.def()
    }
}

impl Related<super::login_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LoginTokens.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
