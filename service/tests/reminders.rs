//! Reminders and runs on the test engine: what a valid reminder stores and announces, every way
//! a submission is refused (all at once, by field), operator scoping, and the life of a
//! reminder — edit, pause, resume, delete, duplicate — with the operator's actions on a run.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc, Weekday};
use domain::{
    bus::{Command, Event, stored},
    recurrence::{End, Frequency, Spec},
    status::{AccountStatus, CommandStatus, MessageKind, Provider, ReminderStatus, RunStatus},
};
use entity::{
    audit_log, commands, media_files, operators, reminder_messages, reminder_runs,
    reminder_targets, reminders as reminder_rows, whatsapp_accounts, whatsapp_groups,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use service::{
    audit::Actor,
    bus::events,
    reminders::{self, FieldErrors, PartInput, ReminderError, ReminderInput},
    runs::{self, RunActionError},
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
        frequency: Frequency::Weekly,
        interval: 1,
        weekdays: vec![Weekday::Mon, Weekday::Wed],
        month_day: None,
        end: End::Never,
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

#[tokio::test]
async fn a_one_off_is_stored_with_its_command_event_and_audit() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;

    assert_eq!(reminder.name, "Standup");
    assert_eq!(reminder.status, ReminderStatus::Active);
    assert_eq!(reminder.timezone, "Asia/Kuala_Lumpur");
    assert_eq!(reminder.dtstart, utc(2031, 3, 4, 9, 0));
    assert_eq!(reminder.rrule, None);
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 4, 9, 0)));
    assert_eq!(reminder.send_window_end_hour, Some(20));
    assert_eq!(reminder.status_reason, None);

    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.reminder, reminder);
    let groups: Vec<i64> = detail.targets.iter().map(|t| t.group.id).collect();
    assert_eq!(groups, w.me.groups);
    let parts: Vec<_> = detail
        .parts
        .iter()
        .map(|p| {
            (
                p.message.kind,
                p.message.body.as_deref(),
                p.media.as_ref().map(|m| m.id),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (MessageKind::Text, Some("Standup in 10 minutes"), None),
            (MessageKind::Image, Some("the agenda"), Some(w.me.image)),
        ]
    );

    let changed = (w.me.account, reminder.id);
    assert_eq!(
        w.commands().await,
        [Command::ReminderChanged {
            account_id: changed.0,
            reminder_id: changed.1
        }]
    );
    assert_eq!(
        w.events().await,
        [Event::ReminderChanged {
            account_id: changed.0,
            reminder_id: changed.1
        }]
    );
    assert_eq!(w.audit("reminder", reminder.id).await, ["reminder.created"]);
}

#[tokio::test]
async fn a_refused_reminder_leaves_no_trace() {
    let w = World::new().await;
    let input = ReminderInput {
        name: String::new(),
        ..w.one_off()
    };
    w.refused(&input).await;
    assert_eq!(
        reminder_rows::Entity::find().count(w.db()).await.unwrap(),
        0
    );
    assert_eq!(commands::Entity::find().count(w.db()).await.unwrap(), 0);
    assert!(w.events().await.is_empty());
    assert_eq!(audit_log::Entity::find().count(w.db()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_weekly_reminder_fires_on_its_next_weekday() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;

    // Monday 08:30 in Berlin was 07:30 UTC, before `now`: next is Wednesday.
    assert_eq!(reminder.dtstart, utc(2031, 3, 3, 7, 30));
    assert_eq!(reminder.rrule, Some(weekly_spec().to_rrule()));
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 5, 7, 30)));

    let schedule = reminders::schedule_of(&reminder).unwrap();
    assert_eq!(schedule.start, local(2031, 3, 3, 8, 30));
    assert_eq!(schedule.zone.name(), "Europe/Berlin");
    assert_eq!(schedule.rule.map(|r| r.to_rrule()), reminder.rrule);
    assert_eq!(w.audit("reminder", reminder.id).await, ["reminder.created"]);
}

#[tokio::test]
async fn a_daily_time_keeps_its_wall_clock_after_a_first_day_in_a_dst_gap() {
    let w = World::new().await;
    // 30 March 2031: Berlin jumps from 02:00 to 03:00, so the first 02:30 happens at 03:30.
    let reminder = w
        .create(&ReminderInput {
            timezone: "Europe/Berlin".into(),
            start_local: local(2031, 3, 30, 2, 30),
            rrule: Some("FREQ=DAILY".into()),
            ..w.weekly()
        })
        .await;
    assert_eq!(reminder.dtstart, utc(2031, 3, 30, 1, 30));
    let schedule = reminders::schedule_of(&reminder).unwrap();
    assert_eq!(schedule.start, local(2031, 3, 30, 2, 30));
    // The next day 02:30 exists again (CEST, UTC+2) and is when it fires.
    assert_eq!(
        schedule.after(reminder.dtstart),
        Some(utc(2031, 3, 31, 0, 30))
    );
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let w = World::new().await;
    let input = ReminderInput {
        account_id: w.other.account,
        name: "   ".into(),
        timezone: "Mars/Olympus".into(),
        send_window_end_hour: Some(24),
        parts: vec![PartInput {
            kind: MessageKind::Text,
            body: Some("  ".into()),
            media_file_id: Some(w.me.image),
        }],
        group_ids: vec![],
        ..w.one_off()
    };
    let errors = w.refused(&input).await;
    assert_eq!(errors.get("name"), Some("Give the reminder a name"));
    assert_eq!(
        errors.get("account"),
        Some("Choose one of your WhatsApp accounts")
    );
    assert_eq!(
        errors.get("timezone"),
        Some("“Mars/Olympus” is not a time zone Herald knows; choose one such as Europe/London")
    );
    assert_eq!(
        errors.get("window"),
        Some("The send window must end at an hour from 0 to 23")
    );
    assert_eq!(errors.get("parts[0].body"), Some("Write the message text"));
    assert_eq!(
        errors.get("parts[0].media"),
        Some("A text message cannot carry a file; choose image, video or document")
    );
    assert_eq!(errors.get("targets"), Some("Choose at least one group"));
    assert_eq!(errors.len(), 7, "{errors}");
}

#[tokio::test]
async fn names_are_short_single_line_text() {
    let w = World::new().await;
    for (name, message) in [
        ("x".repeat(129), "Keep the name to 128 characters or fewer"),
        (
            "two\nlines".into(),
            "A name cannot contain line breaks, tabs or other control characters",
        ),
    ] {
        let errors = w
            .refused(&ReminderInput {
                name,
                ..w.one_off()
            })
            .await;
        assert_eq!(errors.get("name"), Some(message));
        assert_eq!(errors.len(), 1, "{errors}");
    }
    // 128 characters of several bytes each fit.
    let name = "é".repeat(128);
    let reminder = w
        .create(&ReminderInput {
            name: name.clone(),
            ..w.one_off()
        })
        .await;
    assert_eq!(reminder.name, name);
}

#[tokio::test]
async fn a_one_off_in_the_past_is_refused_within_a_grace_minute() {
    let w = World::new().await;
    let utc_zone = |start_local| ReminderInput {
        timezone: "UTC".into(),
        start_local,
        ..w.one_off()
    };
    let errors = w.refused(&utc_zone(local(2031, 3, 3, 9, 58))).await;
    assert_eq!(errors.get("start"), Some("That time has already passed"));
    assert_eq!(errors.len(), 1, "{errors}");

    // In its own zone: 17:58 in Kuala Lumpur is 09:58 UTC, also past.
    let errors = w
        .refused(&ReminderInput {
            start_local: local(2031, 3, 3, 17, 58),
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("start"), Some("That time has already passed"));

    // Thirty seconds ago is "now": it is saved and fires at once.
    let just_now = now() - Duration::seconds(30);
    let reminder = w.create(&utc_zone(just_now.naive_utc())).await;
    assert_eq!(reminder.next_fire_at, Some(just_now));
}

#[tokio::test]
async fn recurrences_must_be_expressible_and_have_a_future() {
    let w = World::new().await;
    let hourly = "FREQ=HOURLY;INTERVAL=2";
    let expected = Spec::from_rrule(hourly).unwrap_err().to_string();
    let errors = w
        .refused(&ReminderInput {
            rrule: Some(hourly.into()),
            ..w.weekly()
        })
        .await;
    assert_eq!(errors.get("recurrence"), Some(expected.as_str()));
    assert_eq!(errors.len(), 1, "{errors}");

    let over = Spec {
        frequency: Frequency::Daily,
        interval: 1,
        weekdays: vec![],
        month_day: None,
        end: End::After(2),
    };
    let errors = w
        .refused(&ReminderInput {
            start_local: local(2031, 2, 1, 9, 0),
            rrule: Some(over.to_rrule()),
            ..w.weekly()
        })
        .await;
    assert_eq!(
        errors.get("recurrence"),
        Some("This schedule has no occurrences left after now; check when it ends")
    );

    // A recurrence that began long ago but goes on is fine.
    let reminder = w
        .create(&ReminderInput {
            start_local: local(2030, 1, 6, 8, 30),
            rrule: Some(
                Spec {
                    end: End::Never,
                    ..over
                }
                .to_rrule(),
            ),
            ..w.weekly()
        })
        .await;
    assert_eq!(reminder.next_fire_at, Some(utc(2031, 3, 4, 7, 30)));
}

#[tokio::test]
async fn message_parts_must_be_complete_and_match_their_files() {
    let w = World::new().await;
    let errors = w
        .refused(&ReminderInput {
            parts: vec![],
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("parts"), Some("Add at least one message"));

    let media = |kind, media_file_id| PartInput {
        kind,
        body: None,
        media_file_id,
    };
    let errors = w
        .refused(&ReminderInput {
            parts: vec![
                text("fine"),
                media(MessageKind::Image, None),
                media(MessageKind::Video, Some(w.me.image)),
                media(MessageKind::Image, Some(w.other.image)),
                media(MessageKind::Document, Some(i64::MAX)),
            ],
            ..w.one_off()
        })
        .await;
    assert_eq!(errors.get("parts[0].body"), None);
    assert_eq!(errors.get("parts[1].media"), Some("Attach a file"));
    assert_eq!(
        errors.get("parts[2].media"),
        Some("This file is an image, not a video")
    );
    let gone = Some("That file is not among your uploads; upload it again");
    assert_eq!(errors.get("parts[3].media"), gone);
    assert_eq!(errors.get("parts[4].media"), gone);
    assert_eq!(errors.len(), 4, "{errors}");

    // A caption is optional; a blank one is stored as none.
    let reminder = w
        .create(&ReminderInput {
            parts: vec![PartInput {
                kind: MessageKind::Image,
                body: Some(" ".into()),
                media_file_id: Some(w.me.image),
            }],
            ..w.one_off()
        })
        .await;
    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.parts[0].message.body, None);
}

#[tokio::test]
async fn targets_are_current_groups_of_the_account_each_once() {
    let w = World::new().await;
    let errors = w
        .refused(&ReminderInput {
            group_ids: vec![w.me.groups[0], w.other.groups[0], w.me.archived_group],
            ..w.one_off()
        })
        .await;
    let targets: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == "targets")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        targets,
        [
            "One of the chosen groups is not a group of this account",
            "“Old club” is archived: the account is no longer in that group",
        ]
    );
    assert_eq!(errors.len(), 2, "{errors}");

    let [a, b] = w.me.groups;
    let reminder = w
        .create(&ReminderInput {
            group_ids: vec![b, a, b, a],
            ..w.one_off()
        })
        .await;
    let stored: Vec<(i64, i32)> = reminder_targets::Entity::find()
        .filter(reminder_targets::Column::ReminderId.eq(reminder.id))
        .order_by_asc(reminder_targets::Column::Position)
        .all(w.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.group_id, t.position))
        .collect();
    assert_eq!(stored, [(b, 0), (a, 1)]);
}

#[tokio::test]
async fn another_operators_account_groups_and_files_are_refused() {
    let w = World::new().await;
    // Their account, with their groups: the account is refused, and nothing says whether the
    // groups exist.
    let errors = w
        .refused(&ReminderInput {
            account_id: w.other.account,
            group_ids: w.other.groups.to_vec(),
            ..w.one_off()
        })
        .await;
    assert_eq!(
        errors.get("account"),
        Some("Choose one of your WhatsApp accounts")
    );
    assert_eq!(errors.len(), 1, "{errors}");

    let errors = w
        .refused(&ReminderInput {
            group_ids: w.other.groups.to_vec(),
            parts: vec![PartInput {
                kind: MessageKind::Image,
                body: None,
                media_file_id: Some(w.other.image),
            }],
            ..w.one_off()
        })
        .await;
    assert_eq!(
        errors.get("targets"),
        Some("2 of the chosen groups are not groups of this account")
    );
    assert_eq!(
        errors.get("parts[0].media"),
        Some("That file is not among your uploads; upload it again")
    );
    assert_eq!(errors.len(), 2, "{errors}");
}

#[tokio::test]
async fn another_operators_reminder_does_not_exist_for_them() {
    let w = World::new().await;
    let mine = w.create(&w.one_off()).await;
    let (db, them, id) = (w.db(), w.other.id, mine.id);
    let not_found = |r: Result<reminder_rows::Model, ReminderError>| {
        assert!(matches!(r, Err(ReminderError::NotFound)), "{r:?}");
    };
    let theirs = ReminderInput {
        account_id: w.other.account,
        group_ids: w.other.groups.to_vec(),
        parts: vec![text("hi")],
        ..w.one_off()
    };
    not_found(reminders::update(db, Actor::Operator, them, id, &theirs, now()).await);
    not_found(reminders::pause(db, Actor::Operator, them, id, None, now()).await);
    not_found(reminders::resume(db, Actor::Operator, them, id, now()).await);
    not_found(reminders::duplicate(db, Actor::Operator, them, id, now()).await);
    not_found(reminders::delete(db, Actor::Operator, them, id).await);
    not_found(reminders::delete(db, Actor::Operator, w.me.id, i64::MAX).await);
    assert_eq!(reminders::find(db, them, id).await.unwrap(), None);
    assert_eq!(reminders::detail(db, them, id).await.unwrap(), None);
    assert!(reminders::list(db, them, None).await.unwrap().is_empty());

    assert_eq!(reminders::find(db, w.me.id, id).await.unwrap(), Some(mine));
    assert_eq!(w.audit("reminder", id).await, ["reminder.created"]);
}

#[tokio::test]
async fn an_edit_replaces_schedule_and_content_and_keeps_history() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let run = w.run(&reminder, RunStatus::Success).await;

    let daily = Spec {
        frequency: Frequency::Daily,
        interval: 2,
        weekdays: vec![],
        month_day: None,
        end: End::Never,
    };
    let later = now() + Duration::days(1);
    let edited = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        &ReminderInput {
            name: "Every other day".into(),
            timezone: "UTC".into(),
            start_local: local(2031, 3, 1, 12, 0),
            rrule: Some(daily.to_rrule()),
            send_window_end_hour: Some(18),
            parts: vec![text("new text")],
            group_ids: vec![w.me.groups[1]],
            ..w.weekly()
        },
        later,
    )
    .await
    .unwrap();
    assert_eq!(edited.id, reminder.id);
    assert_eq!(edited.name, "Every other day");
    assert_eq!(edited.dtstart, utc(2031, 3, 1, 12, 0));
    assert_eq!(edited.rrule, Some(daily.to_rrule()));
    assert_eq!(edited.send_window_end_hour, Some(18));
    // Every other day from Saturday the 1st: the 3rd has passed by Tuesday 10:00, so the 5th.
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 5, 12, 0)));
    assert_eq!(edited.status, ReminderStatus::Active);
    assert_eq!(edited.created_at, reminder.created_at);

    let detail = reminders::detail(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.parts.len(), 1);
    assert_eq!(detail.parts[0].message.body.as_deref(), Some("new text"));
    assert_eq!(
        detail
            .targets
            .iter()
            .map(|t| t.group.id)
            .collect::<Vec<_>>(),
        [w.me.groups[1]]
    );
    let history = reminders::runs(w.db(), w.me.id, reminder.id, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].run.id, run);
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.updated"]
    );
    assert_eq!(w.commands().await.len(), 2);
    assert_eq!(w.events().await.len(), 2);

    // An invalid edit changes nothing.
    let refused = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        &ReminderInput {
            parts: vec![],
            ..w.weekly()
        },
        later,
    )
    .await;
    assert!(matches!(refused, Err(ReminderError::Invalid(_))));
    assert_eq!(
        reminders::find(w.db(), w.me.id, reminder.id).await.unwrap(),
        Some(edited)
    );
}

#[tokio::test]
async fn an_edit_revives_an_ended_reminder_but_not_a_paused_one() {
    let w = World::new().await;
    let ended = w.create(&w.one_off()).await;
    let mut row = ended.clone().into_active_model();
    row.status = Set(ReminderStatus::Ended);
    row.status_reason = Set(Some("Sent".into()));
    row.next_fire_at = Set(None);
    row.update(w.db()).await.unwrap();

    let next_week = ReminderInput {
        start_local: local(2031, 3, 10, 17, 0),
        ..w.one_off()
    };
    let revived = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        ended.id,
        &next_week,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(revived.status, ReminderStatus::Active);
    assert_eq!(revived.status_reason, None);
    assert_eq!(revived.next_fire_at, Some(utc(2031, 3, 10, 9, 0)));

    let paused = w.create(&w.weekly()).await;
    reminders::pause(
        w.db(),
        Actor::Operator,
        w.me.id,
        paused.id,
        Some("holiday"),
        now(),
    )
    .await
    .unwrap();
    let edited = reminders::update(
        w.db(),
        Actor::Operator,
        w.me.id,
        paused.id,
        &next_week,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(edited.status, ReminderStatus::Paused);
    assert_eq!(edited.status_reason.as_deref(), Some("holiday"));
    assert_eq!(edited.next_fire_at, Some(utc(2031, 3, 10, 9, 0)));
}

#[tokio::test]
async fn an_edit_never_re_arms_the_occurrence_just_sent() {
    let w = World::new().await;
    let input = ReminderInput {
        timezone: "UTC".into(),
        start_local: (now() - Duration::seconds(30)).naive_utc(),
        ..w.one_off()
    };
    let reminder = w.create(&input).await;
    // The worker fired it a moment ago.
    let mut row = reminder.clone().into_active_model();
    row.last_fired_at = Set(Some(now() - Duration::seconds(30)));
    row.update(w.db()).await.unwrap();

    let errors =
        match reminders::update(w.db(), Actor::Operator, w.me.id, reminder.id, &input, now()).await
        {
            Err(ReminderError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        };
    assert_eq!(errors.get("start"), Some("That time has already passed"));
}

#[tokio::test]
async fn pause_keeps_the_next_fire_and_resume_skips_what_came_due() {
    let w = World::new().await;
    let reminder = w.create(&w.weekly()).await;
    let paused = reminders::pause(
        w.db(),
        Actor::Operator,
        w.me.id,
        reminder.id,
        Some(" holiday "),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(paused.status, ReminderStatus::Paused);
    assert_eq!(paused.status_reason.as_deref(), Some("holiday"));
    assert_eq!(paused.next_fire_at, reminder.next_fire_at);

    // Pausing again changes nothing and records nothing.
    let again = reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now())
        .await
        .unwrap();
    assert_eq!(again, paused);

    // Back on Thursday: Wednesday's occurrence is not sent late; next is Monday the 10th.
    let thursday = utc(2031, 3, 6, 9, 0);
    let resumed = reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, thursday)
        .await
        .unwrap();
    assert_eq!(resumed.status, ReminderStatus::Active);
    assert_eq!(resumed.status_reason, None);
    assert_eq!(resumed.next_fire_at, Some(utc(2031, 3, 10, 7, 30)));

    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.paused", "reminder.resumed"]
    );
    let changed = Command::ReminderChanged {
        account_id: w.me.account,
        reminder_id: reminder.id,
    };
    assert_eq!(
        w.commands().await,
        [changed.clone(), changed.clone(), changed]
    );
    assert_eq!(w.events().await.len(), 3);
}

#[tokio::test]
async fn a_one_off_whose_time_passed_while_paused_cannot_resume() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now())
        .await
        .unwrap();
    let day_after = utc(2031, 3, 5, 9, 0);
    let err = reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, day_after)
        .await
        .unwrap_err();
    assert!(matches!(err, ReminderError::TimePassed));
    assert_eq!(
        err.to_string(),
        "That time has already passed — edit the reminder to pick a new time"
    );
    let still = reminders::find(w.db(), w.me.id, reminder.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, ReminderStatus::Paused);

    // An ended reminder stays ended: it is neither paused nor resumed.
    let mut row = still.into_active_model();
    row.status = Set(ReminderStatus::Ended);
    row.update(w.db()).await.unwrap();
    assert!(matches!(
        reminders::resume(w.db(), Actor::Operator, w.me.id, reminder.id, now()).await,
        Err(ReminderError::NotPaused(ReminderStatus::Ended))
    ));
    assert!(matches!(
        reminders::pause(w.db(), Actor::Operator, w.me.id, reminder.id, None, now()).await,
        Err(ReminderError::NotActive(ReminderStatus::Ended))
    ));
    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.paused"]
    );
}

#[tokio::test]
async fn delete_keeps_the_runs_as_history() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let run = w.run(&reminder, RunStatus::Partial).await;

    let deleted = reminders::delete(w.db(), Actor::Operator, w.me.id, reminder.id)
        .await
        .unwrap();
    assert_eq!(deleted.id, reminder.id);
    assert_eq!(
        reminders::find(w.db(), w.me.id, reminder.id).await.unwrap(),
        None
    );
    let run = reminder_runs::Entity::find_by_id(run)
        .one(w.db())
        .await
        .unwrap()
        .expect("the run survives its reminder");
    assert_eq!(run.reminder_id, None);
    assert_eq!(run.reminder_name, "Standup");
    assert_eq!(run.operator_id, Some(w.me.id));
    let leftovers = reminder_targets::Entity::find()
        .count(w.db())
        .await
        .unwrap()
        + reminder_messages::Entity::find()
            .count(w.db())
            .await
            .unwrap();
    assert_eq!(leftovers, 0);

    assert_eq!(
        w.audit("reminder", reminder.id).await,
        ["reminder.created", "reminder.deleted"]
    );
    // The worker is told, so it drops the scheduled fire.
    assert_eq!(w.commands().await.len(), 2);
    assert_eq!(w.events().await.len(), 2);
}

#[tokio::test]
async fn a_duplicate_is_paused_and_equal_in_content() {
    let w = World::new().await;
    let source = w.create(&w.weekly()).await;
    let copy = reminders::duplicate(w.db(), Actor::Operator, w.me.id, source.id, now())
        .await
        .unwrap();
    assert_ne!(copy.id, source.id);
    assert_eq!(copy.name, "Weekly (copy)");
    assert_eq!(copy.status, ReminderStatus::Paused);
    assert_eq!(
        (
            &copy.timezone,
            copy.dtstart,
            &copy.rrule,
            copy.send_window_end_hour,
            copy.account_id,
        ),
        (
            &source.timezone,
            source.dtstart,
            &source.rrule,
            source.send_window_end_hour,
            source.account_id,
        )
    );
    assert_eq!(copy.next_fire_at, source.next_fire_at);

    let (db, me) = (w.db(), w.me.id);
    let content = |id| async move {
        let detail = reminders::detail(db, me, id).await.unwrap().unwrap();
        let parts: Vec<_> = detail
            .parts
            .into_iter()
            .map(|p| {
                (
                    p.message.position,
                    p.message.kind,
                    p.message.body,
                    p.message.media_file_id,
                )
            })
            .collect();
        let groups: Vec<_> = detail.targets.into_iter().map(|t| t.group.id).collect();
        (parts, groups)
    };
    assert_eq!(content(copy.id).await, content(source.id).await);
    assert_eq!(w.audit("reminder", copy.id).await, ["reminder.duplicated"]);

    // A copy of a one-off whose time has passed is kept, paused, with nothing to fire.
    let long_name = "n".repeat(128);
    let past = w
        .create(&ReminderInput {
            name: long_name,
            timezone: "UTC".into(),
            start_local: (now() - Duration::seconds(30)).naive_utc(),
            ..w.one_off()
        })
        .await;
    let copy = reminders::duplicate(w.db(), Actor::Operator, w.me.id, past.id, now())
        .await
        .unwrap();
    assert_eq!(copy.next_fire_at, None);
    assert_eq!(copy.name.chars().count(), 128);
    assert!(copy.name.ends_with("n (copy)"), "{}", copy.name);
}

#[tokio::test]
async fn lists_upcoming_fires_and_history() {
    let w = World::new().await;
    let weekly = w.create(&w.weekly()).await;
    let one_off = w.create(&w.one_off()).await;
    let paused = w
        .create(&ReminderInput {
            name: "Later".into(),
            ..w.one_off()
        })
        .await;
    reminders::pause(w.db(), Actor::Operator, w.me.id, paused.id, None, now())
        .await
        .unwrap();

    let all: Vec<i64> = reminders::list(w.db(), w.me.id, None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all, [weekly.id, one_off.id, paused.id]);
    let only_paused = reminders::list(w.db(), w.me.id, Some(ReminderStatus::Paused))
        .await
        .unwrap();
    assert_eq!(only_paused.len(), 1);
    assert_eq!(only_paused[0].id, paused.id);

    let fires: Vec<(i64, DateTime<Utc>)> = reminders::upcoming(w.db(), w.me.id, 4)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, at)| (r.id, at))
        .collect();
    assert_eq!(
        fires,
        [
            (one_off.id, utc(2031, 3, 4, 9, 0)),
            (weekly.id, utc(2031, 3, 5, 7, 30)),
            (weekly.id, utc(2031, 3, 10, 7, 30)),
            (weekly.id, utc(2031, 3, 12, 7, 30)),
        ]
    );

    let older = w.run(&weekly, RunStatus::Success).await;
    let newer = reminder_runs::ActiveModel {
        reminder_id: Set(Some(weekly.id)),
        reminder_name: Set(weekly.name.clone()),
        account_id: Set(Some(weekly.account_id)),
        occurrence_at: Set(utc(2031, 3, 5, 7, 30)),
        status: Set(RunStatus::Running),
        created_at: Set(utc(2031, 3, 5, 7, 30)),
        operator_id: Set(Some(w.me.id)),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .unwrap()
    .id;
    let history = reminders::runs(w.db(), w.me.id, weekly.id, 10)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|h| h.run.id).collect::<Vec<_>>(),
        [newer, older]
    );
    assert!(
        reminders::runs(w.db(), w.other.id, weekly.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_a_paused_run_can_be_resumed_or_cancelled() {
    let w = World::new().await;
    let reminder = w.create(&w.one_off()).await;
    let finished = w.run(&reminder, RunStatus::Success).await;
    let refused = runs::resume(w.db(), Actor::Operator, w.me.id, finished).await;
    assert!(
        matches!(refused, Err(RunActionError::NotPaused(RunStatus::Success))),
        "{refused:?}"
    );

    let mut row = reminder_runs::Entity::find_by_id(finished)
        .one(w.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.status = Set(RunStatus::Paused);
    row.update(w.db()).await.unwrap();
    assert!(matches!(
        runs::resume(w.db(), Actor::Operator, w.other.id, finished).await,
        Err(RunActionError::NotFound)
    ));
    assert!(matches!(
        runs::cancel(w.db(), Actor::Operator, w.me.id, i64::MAX).await,
        Err(RunActionError::NotFound)
    ));

    runs::resume(w.db(), Actor::Operator, w.me.id, finished)
        .await
        .unwrap();
    runs::cancel(w.db(), Actor::Operator, w.me.id, finished)
        .await
        .unwrap();
    let queued: Vec<Command> = w.commands().await.into_iter().skip(1).collect();
    assert_eq!(
        queued,
        [
            Command::ResumeRun {
                account_id: w.me.account,
                run_id: finished
            },
            Command::CancelRun {
                account_id: w.me.account,
                run_id: finished
            },
        ]
    );
    assert_eq!(
        w.audit("run", finished).await,
        ["run.resumed", "run.cancelled"]
    );
}
