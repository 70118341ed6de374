//! Reminders and runs on the test engine: what a valid reminder stores and announces, every way
//! a submission is refused (all at once, by field), operator scoping, and the life of a
//! reminder — edit, pause, resume, delete, duplicate — with the operator's actions on a run.

mod creation;
mod firing;
mod history;
mod lifecycle;
mod listing;
mod occurrences;
mod scoping;
mod trash;
mod validation;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc, Weekday};
use domain::{
    bus::{Command, Event, stored},
    recurrence::{Frequency, Spec},
    status::{AccountStatus, CommandStatus, MessageKind, Provider, RunStatus},
};
use entity::{
    audit_log, commands, media_files, operators, reminder_runs, reminders as reminder_rows,
    whatsapp_accounts, whatsapp_groups,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use service::{
    audit::Actor,
    bus::events,
    reminders::{self, FieldErrors, PartInput, ReminderError, ReminderInput},
};
use testkit::TestDb;

/// Monday 2031-03-03, 10:00 UTC: the clock every test runs on.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 3, 10, 0, 0).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
}

/// One operator's fixtures: an account with two current groups and an archived one, and an
/// uploaded image.
struct Operator {
    id: i64,
    account: i64,
    groups: [i64; 2],
    archived_group: i64,
    image: i64,
}

struct World {
    test: TestDb,
    me: Operator,
    other: Operator,
}

impl World {
    async fn new() -> Self {
        let test = TestDb::new().await;
        let me = operator(&test.db, 1).await;
        let other = operator(&test.db, 2).await;
        Self { test, me, other }
    }

    fn db(&self) -> &DatabaseConnection {
        &self.test.db
    }

    /// A valid one-off for tomorrow 17:00 in Kuala Lumpur (09:00 UTC), text then image, to both
    /// current groups.
    fn one_off(&self) -> ReminderInput {
        ReminderInput {
            account_id: self.me.account,
            name: "  Standup  ".into(),
            timezone: "Asia/Kuala_Lumpur".into(),
            start_local: local(2031, 3, 4, 17, 0),
            rrule: None,
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: Some(20),
            parts: vec![
                text("Standup in 10 minutes"),
                PartInput {
                    kind: MessageKind::Image,
                    body: Some("the agenda".into()),
                    media_file_id: Some(self.me.image),
                },
            ],
            group_ids: self.me.groups.to_vec(),
        }
    }

    /// Mondays and Wednesdays at 08:30 in Berlin (07:30 UTC in March), from today.
    fn weekly(&self) -> ReminderInput {
        ReminderInput {
            name: "Weekly".into(),
            timezone: "Europe/Berlin".into(),
            start_local: local(2031, 3, 3, 8, 30),
            rrule: Some(weekly_spec().to_rrule()),
            skip_dates: vec![],
            skip_base: None,
            send_window_end_hour: None,
            ..self.one_off()
        }
    }

    async fn create(&self, input: &ReminderInput) -> reminder_rows::Model {
        reminders::create(self.db(), Actor::Operator, self.me.id, input, now())
            .await
            .unwrap()
    }

    /// The problems reported for `input`, which must be refused.
    async fn refused(&self, input: &ReminderInput) -> FieldErrors {
        match reminders::create(self.db(), Actor::Operator, self.me.id, input, now()).await {
            Err(ReminderError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    async fn commands(&self) -> Vec<Command> {
        commands::Entity::find()
            .order_by_asc(commands::Column::Id)
            .all(self.db())
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                assert_eq!(row.status, CommandStatus::Pending);
                stored::join(&row.kind, row.payload).unwrap()
            })
            .collect()
    }

    async fn events(&self) -> Vec<Event> {
        events::after(self.db(), self.me.id, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|stored| stored.event)
            .collect()
    }

    /// Audit actions about one target, oldest first.
    async fn audit(&self, target_type: &str, id: i64) -> Vec<String> {
        audit_log::Entity::find()
            .filter(audit_log::Column::TargetType.eq(target_type))
            .filter(audit_log::Column::TargetId.eq(id.to_string()))
            .order_by_asc(audit_log::Column::Id)
            .all(self.db())
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                assert_eq!(row.operator_id, Some(self.me.id));
                row.action
            })
            .collect()
    }

    async fn run(&self, reminder: &reminder_rows::Model, status: RunStatus) -> i64 {
        let at = reminder.dtstart;
        reminder_runs::ActiveModel {
            reminder_id: Set(Some(reminder.id)),
            reminder_name: Set(reminder.name.clone()),
            account_id: Set(Some(reminder.account_id)),
            occurrence_at: Set(at),
            status: Set(status),
            created_at: Set(at),
            operator_id: Set(Some(reminder.operator_id)),
            ..Default::default()
        }
        .insert(self.db())
        .await
        .unwrap()
        .id
    }
}

fn weekly_spec() -> Spec {
    Spec {
        weekdays: vec![Weekday::Mon, Weekday::Wed],
        ..Spec::every(Frequency::Weekly, 1)
    }
}

fn text(body: &str) -> PartInput {
    PartInput {
        kind: MessageKind::Text,
        body: Some(body.into()),
        media_file_id: None,
    }
}

async fn operator(db: &DatabaseConnection, n: i64) -> Operator {
    let now = Utc::now();
    let id = operators::ActiveModel {
        telegram_user_id: Set(Some(1000 + n)),
        display_name: Set(format!("Operator {n}")),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let account = whatsapp_accounts::ActiveModel {
        operator_id: Set(id),
        label: Set("office".into()),
        provider: Set(Provider::Sim),
        status: Set(AccountStatus::Connected),
        session_generation: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let group = |name: &'static str, archived: bool| whatsapp_groups::ActiveModel {
        account_id: Set(account),
        jid: Set(format!("{n}{name}@g.us")),
        name: Set(name.into()),
        participant_count: Set(3),
        archived_at: Set(archived.then_some(now)),
        last_synced_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let a = group("Team", false).insert(db).await.unwrap().id;
    let b = group("Family", false).insert(db).await.unwrap().id;
    let archived_group = group("Old club", true).insert(db).await.unwrap().id;
    let image = media_files::ActiveModel {
        operator_id: Set(id),
        sha256: Set(format!("{n:064}")),
        kind: Set(MessageKind::Image),
        mime_type: Set("image/png".into()),
        original_name: Set("agenda.png".into()),
        storage_path: Set(format!("media/2031/03/{n}.png")),
        size_bytes: Set(1234),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    Operator {
        id,
        account,
        groups: [a, b],
        archived_group,
        image,
    }
}
