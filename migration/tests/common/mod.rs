//! Backend-independent checks that the migration and the entities agree: every table is
//! written and read back through its entity, and the constraints behave.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use domain::status::{
    AccountStatus, CommandStatus, MessageKind, Provider, ReminderStatus, RunStatus, TargetStatus,
};
use entity::prelude::*;
use entity::{
    audit_log, auth_sessions, calendar_feeds, commands, events, leases, login_tokens, media_files,
    operators, reminder_drafts, reminder_messages, reminder_owed_fires, reminder_run_parts,
    reminder_run_targets, reminder_runs, reminder_targets, reminders, sim_connections,
    sim_messages, sim_overlaps, wa_devices, whatsapp_accounts, whatsapp_groups, workers,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, SqlErr,
};
use serde_json::json;

/// PostgreSQL keeps microseconds; test with what both backends can store.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Inserts `$model` (its `id` is ignored) and checks that both the returned row and a fresh
/// SELECT equal it. Evaluates to the stored model.
macro_rules! round_trip {
    ($db:expr, $module:ident, $model:expr) => {{
        let mut expected: $module::Model = $model;
        let mut active = expected.clone().into_active_model().reset_all();
        active.id = NotSet;
        let inserted = active.insert($db).await.unwrap();
        expected.id = inserted.id;
        assert_eq!(inserted, expected);
        let reloaded = $module::Entity::find_by_id(inserted.id)
            .one($db)
            .await
            .unwrap();
        assert_eq!(reloaded.as_ref(), Some(&expected));
        expected
    }};
}

/// Runs on a freshly migrated, empty database.
pub async fn exercise_entities(db: &DatabaseConnection) {
    let t = now();

    let operator = round_trip!(
        db,
        operators,
        operators::Model {
            id: 0,
            telegram_user_id: Some(1_234_567_890_123),
            display_name: "Ana".into(),
            timezone: "Europe/Lisbon".into(),
            disabled_at: None,
            activity_cleared_at: Some(t),
            created_at: t,
            updated_at: t,
        }
    );
    // The embedded-mode operator: exactly one may exist.
    let local = operators::Model {
        id: 0,
        telegram_user_id: None,
        display_name: "Local".into(),
        timezone: "UTC".into(),
        disabled_at: Some(t),
        activity_cleared_at: None,
        created_at: t,
        updated_at: t,
    };
    round_trip!(db, operators, local.clone());
    let mut second = local.into_active_model().reset_all();
    second.id = NotSet;
    let err = second
        .insert(db)
        .await
        .expect_err("a second local operator is refused");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{err:?}"
    );

    let account = round_trip!(
        db,
        whatsapp_accounts,
        whatsapp_accounts::Model {
            id: 0,
            operator_id: operator.id,
            label: "Main phone".into(),
            provider: Provider::Sim,
            status: AccountStatus::LoggedOut,
            status_reason: Some("unlinked from the phone".into()),
            session_generation: 3,
            phone_number: Some("+351900000000".into()),
            last_connected_at: Some(t - Duration::hours(1)),
            last_seen_at: Some(t),
            last_qr_png: Some(vec![0x89, b'P', b'N', b'G', 0, 0xff]),
            last_qr_at: Some(t),
            last_qr_code: Some("2@abc,def,ghi".into()),
            last_pair_code: Some("ABCD-EFGH".into()),
            created_at: t,
            updated_at: t,
        }
    );

    // Column defaults match the entities' first states.
    db.execute_unprepared(&format!(
        "INSERT INTO whatsapp_accounts (operator_id, label, provider, created_at, updated_at) \
         VALUES ({}, 'defaults', 'web', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        operator.id
    ))
    .await
    .unwrap();
    let defaults = WhatsappAccounts::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.label == "defaults")
        .unwrap();
    assert_eq!(defaults.status, AccountStatus::Unpaired);
    assert_eq!(defaults.session_generation, 0);

    let group = round_trip!(
        db,
        whatsapp_groups,
        whatsapp_groups::Model {
            id: 0,
            account_id: account.id,
            jid: "120363000000000000@g.us".into(),
            name: "Família 👪".into(),
            participant_count: 12,
            archived_at: None,
            last_synced_at: t,
            created_at: t,
            updated_at: t,
        }
    );

    let media = round_trip!(
        db,
        media_files,
        media_files::Model {
            id: 0,
            operator_id: operator.id,
            sha256: "ab".repeat(32),
            kind: MessageKind::Image,
            mime_type: "image/png".into(),
            original_name: "poster.png".into(),
            storage_path: "media/ab/abab.png".into(),
            size_bytes: 5_000_000_000,
            created_at: t,
        }
    );

    let reminder = round_trip!(
        db,
        reminders,
        reminders::Model {
            id: 0,
            operator_id: operator.id,
            account_id: account.id,
            name: "Weekly meeting".into(),
            timezone: "Europe/Lisbon".into(),
            status: ReminderStatus::Active,
            dtstart: t,
            rrule: Some("FREQ=WEEKLY;BYDAY=MO".into()),
            send_window_end_hour: Some(21),
            next_fire_at: Some(t + Duration::days(7)),
            status_reason: Some("paused by the operator".into()),
            start_local: Some(
                chrono::NaiveDate::from_ymd_opt(2027, 3, 28)
                    .unwrap()
                    .and_hms_opt(2, 30, 0)
                    .unwrap(),
            ),
            skip_dates: Some("2027-04-05,2027-04-12".into()),
            last_fired_at: None,
            created_at: t,
            updated_at: t,
        }
    );

    round_trip!(
        db,
        reminder_drafts,
        reminder_drafts::Model {
            id: 0,
            operator_id: operator.id,
            reminder_id: Some(reminder.id),
            data: r#"{"name":"Weekly meeting"}"#.into(),
            created_at: t,
            updated_at: t,
        }
    );
    round_trip!(
        db,
        reminder_targets,
        reminder_targets::Model {
            id: 0,
            reminder_id: reminder.id,
            group_id: group.id,
            position: 0,
        }
    );
    round_trip!(
        db,
        reminder_messages,
        reminder_messages::Model {
            id: 0,
            reminder_id: reminder.id,
            position: 0,
            kind: MessageKind::Image,
            body: Some("See you at 10".into()),
            media_file_id: Some(media.id),
        }
    );

    // A file in use cannot be deleted, and the error is recognisable.
    let err = MediaFiles::delete_by_id(media.id)
        .exec(db)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.sql_err(),
            Some(SqlErr::ForeignKeyConstraintViolation(_))
        ),
        "{err:?}"
    );

    let run = round_trip!(
        db,
        reminder_runs,
        reminder_runs::Model {
            id: 0,
            reminder_id: Some(reminder.id),
            reminder_name: reminder.name.clone(),
            account_id: Some(account.id),
            occurrence_at: t,
            status: RunStatus::Partial,
            reason: Some("1 of 2 groups failed".into()),
            started_at: Some(t),
            finished_at: Some(t + Duration::seconds(3)),
            created_at: t,
            operator_id: Some(operator.id),
            resumed_at: Some(t + Duration::seconds(1)),
            fire_lag_ms: Some(1_234),
        }
    );

    round_trip!(
        db,
        reminder_run_parts,
        reminder_run_parts::Model {
            id: 0,
            run_id: run.id,
            position: 0,
            kind: MessageKind::Image,
            body: Some("See you at 10".into()),
            media_file_id: Some(media.id),
        }
    );
    let owed = round_trip!(
        db,
        reminder_owed_fires,
        reminder_owed_fires::Model {
            id: 0,
            reminder_id: reminder.id,
            occurrence_at: t,
            reason: Some("not sent: the reminder was paused".into()),
            created_at: t,
        }
    );
    // An occurrence is owed once.
    let mut again = owed.into_active_model().reset_all();
    again.id = NotSet;
    let err = again
        .insert(db)
        .await
        .expect_err("a second owed row is refused");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{err:?}"
    );

    let run_target = round_trip!(
        db,
        reminder_run_targets,
        reminder_run_targets::Model {
            id: 0,
            run_id: run.id,
            group_id: Some(group.id),
            group_jid: group.jid.clone(),
            group_name: group.name.clone(),
            status: TargetStatus::Unknown,
            reason: None,
            wa_message_id: Some("3EB0C767D26A1D7A4B2E".into()),
            latency_ms: Some(850),
            attempts: 2,
            next_attempt_at: None,
            sent_at: Some(t),
            created_at: t,
            updated_at: t,
            parts_sent: 1,
            claimed_at: Some(t),
            claimed_by: Some("worker-a/1f2e3d4c".into()),
            claim_no: 3,
        }
    );

    round_trip!(
        db,
        audit_log,
        audit_log::Model {
            id: 0,
            at: t,
            operator_id: Some(operator.id),
            actor: "operator".into(),
            action: "reminder.create".into(),
            target_type: Some("reminder".into()),
            target_id: Some(reminder.id.to_string()),
            detail: Some(json!({ "name": "Weekly meeting", "groups": [group.id], "ok": true })),
            client_ip: Some("192.0.2.1".into()),
        }
    );
    round_trip!(
        db,
        login_tokens,
        login_tokens::Model {
            id: 0,
            operator_id: operator.id,
            token_hash: "0f".repeat(32),
            expires_at: t + Duration::minutes(15),
            used_at: None,
            created_at: t,
        }
    );
    round_trip!(
        db,
        calendar_feeds,
        calendar_feeds::Model {
            id: 0,
            operator_id: operator.id,
            token_hash: "1e".repeat(32),
            created_at: t,
            last_read_at: Some(t + Duration::minutes(5)),
        }
    );
    round_trip!(
        db,
        commands,
        commands::Model {
            id: 0,
            kind: "account.delete".into(),
            account_id: Some(9_999),
            payload: json!({ "account_id": 9_999, "wipe": true }),
            status: CommandStatus::Pending,
            error: None,
            claimed_by: None,
            claimed_at: None,
            heartbeat_at: None,
            finished_at: None,
            created_at: t,
        }
    );
    let first_event = round_trip!(
        db,
        events,
        events::Model {
            id: 0,
            kind: "account.status".into(),
            operator_id: Some(operator.id),
            account_id: Some(account.id),
            payload: json!({ "status": AccountStatus::Connected }),
            created_at: t,
        }
    );

    // auth_sessions has a text primary key, so it is inserted as is.
    let session = auth_sessions::Model {
        id: "vO3zJ8k1mQ".into(),
        operator_id: Some(operator.id),
        data: vec![0, 1, 2, 0xfe, 0xff],
        expires_at: t + Duration::days(30),
        created_at: t,
        last_seen_at: t,
        user_agent: Some("Mozilla/5.0".into()),
    };
    let inserted = session
        .clone()
        .into_active_model()
        .reset_all()
        .insert(db)
        .await
        .unwrap();
    assert_eq!(inserted, session);
    assert_eq!(
        AuthSessions::find_by_id(session.id.clone())
            .one(db)
            .await
            .unwrap(),
        Some(session)
    );

    // The same occurrence cannot be recorded twice.
    let mut duplicate = run.clone().into_active_model().reset_all();
    duplicate.id = NotSet;
    let err = duplicate.insert(db).await.unwrap_err();
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(ref m)) if m.contains("occurrence")),
        "{err:?}"
    );

    // History outlives the reminder.
    Reminders::delete_by_id(reminder.id).exec(db).await.unwrap();
    let orphan = ReminderRuns::find_by_id(run.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        orphan,
        reminder_runs::Model {
            reminder_id: None,
            ..run.clone()
        }
    );
    assert!(ReminderMessages::find().all(db).await.unwrap().is_empty());
    assert!(ReminderTargets::find().all(db).await.unwrap().is_empty());
    // ...and the group.
    WhatsappGroups::delete_by_id(group.id)
        .exec(db)
        .await
        .unwrap();
    let orphan_target = ReminderRunTargets::find_by_id(run_target.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orphan_target.group_id, None);
    assert_eq!(orphan_target.group_jid, run_target.group_jid);

    round_trip!(
        db,
        sim_messages,
        sim_messages::Model {
            id: 0,
            account_id: account.id,
            group_jid: "120363000000000001@g.us".into(),
            kind: MessageKind::Text,
            body: "Class at 6 ✓".into(),
            wa_message_id: "SIM0001".into(),
            sent_at: t,
            media_sha256: Some("ab".repeat(32)),
            repeats: 2,
        }
    );
    // Keyed by account id (no auto-increment), so written by hand.
    let device = wa_devices::Model {
        account_id: account.id,
        provider: Provider::Sim,
        data: vec![0, 1, 2, 0xff],
        created_at: t,
        updated_at: t,
    };
    let inserted = device.clone().into_active_model().insert(db).await.unwrap();
    assert_eq!(inserted, device);
    assert_eq!(
        WaDevices::find_by_id(account.id).one(db).await.unwrap(),
        Some(device)
    );

    round_trip!(
        db,
        sim_overlaps,
        sim_overlaps::Model {
            id: 0,
            account_id: account.id,
            replaced: "worker-a/1f2e3d4c".into(),
            by: "worker-b/5a6b7c8d".into(),
            at: t,
        }
    );
    // Keyed by name, account id or instance (no auto-increment), so written by hand.
    let lease = leases::Model {
        name: format!("account:{}", account.id),
        account_id: Some(account.id),
        holder: Some("worker-a/1f2e3d4c".into()),
        epoch: 7,
        expires_at: Some(t),
        acquired_at: Some(t),
    };
    let inserted = lease.clone().into_active_model().insert(db).await.unwrap();
    assert_eq!(inserted, lease);
    let worker = workers::Model {
        instance: "worker-a/1f2e3d4c".into(),
        name: "worker-a".into(),
        version: "0.1.0".into(),
        started_at: t,
        seen_at: t,
    };
    let inserted = worker.clone().into_active_model().insert(db).await.unwrap();
    assert_eq!(inserted, worker);
    let connection = sim_connections::Model {
        account_id: account.id,
        connection: "c1".into(),
        holder: "worker-a/1f2e3d4c".into(),
        since: t,
        seen_at: t,
    };
    let inserted = connection
        .clone()
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    assert_eq!(inserted, connection);

    // Event ids only grow, even after the newest row is deleted.
    Events::delete_by_id(first_event.id).exec(db).await.unwrap();
    let second_event = round_trip!(
        db,
        events,
        events::Model {
            id: 0,
            ..first_event.clone()
        }
    );
    assert!(second_event.id > first_event.id);
}
