//! `herald-server accounts` and `herald-server reminders` over a seeded database: what they show,
//! in text and JSON, and that they neither create nor change a database.

use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use domain::status::{AccountStatus, ReminderStatus};
use entity::{reminder_targets, reminders, whatsapp_accounts};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use testkit::{TestDb, seed};

fn run(db_url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_herald-server"))
        .env_clear()
        .current_dir(dir.path())
        .env("DATABASE_URL", db_url)
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Two operators: 111 with a connected account (two groups, one reminder in London's time) and
/// an unpaired one; 222 with one logged-out account and a paused reminder never due.
async fn seeded() -> TestDb {
    let db = TestDb::new().await;
    let ann = seed::operator(&db.db, 111, "Europe/London").await;
    let bob = seed::operator(&db.db, 222, "UTC").await;
    let desk = seed::account(&db.db, ann.id, "Front desk", AccountStatus::Connected).await;
    whatsapp_accounts::ActiveModel {
        id: Set(desk.id),
        phone_number: Set(Some("15550100001".into())),
        last_seen_at: Set(Some(Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap())),
        ..Default::default()
    }
    .update(&db.db)
    .await
    .unwrap();
    seed::account(&db.db, ann.id, "Gym", AccountStatus::Unpaired).await;
    let shop = seed::account(&db.db, bob.id, "Shop", AccountStatus::LoggedOut).await;

    let start = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
    let standup = seed::reminder(
        &db.db,
        ann.id,
        desk.id,
        "Standup",
        ReminderStatus::Active,
        start,
    )
    .await;
    // British Summer Time: 08:00 UTC is 09:00 in London.
    reminders::ActiveModel {
        id: Set(standup.id),
        timezone: Set("Europe/London".into()),
        next_fire_at: Set(Some(Utc.with_ymd_and_hms(2025, 7, 1, 8, 0, 0).unwrap())),
        ..Default::default()
    }
    .update(&db.db)
    .await
    .unwrap();
    for (position, name) in ["Staff", "Managers"].into_iter().enumerate() {
        let group = seed::group(&db.db, desk.id, name).await;
        reminder_targets::ActiveModel {
            reminder_id: Set(standup.id),
            group_id: Set(group.id),
            position: Set(position as i32),
            ..Default::default()
        }
        .insert(&db.db)
        .await
        .unwrap();
    }
    seed::reminder(
        &db.db,
        bob.id,
        shop.id,
        "Stock take",
        ReminderStatus::Paused,
        start,
    )
    .await;
    db
}

/// The table's rows after its header, each split into its columns.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn accounts_lists_every_operators_accounts() {
    let db = seeded().await;
    let table = stdout_of(&run(db.url.expose(), &["accounts"]));
    assert!(
        table.starts_with("LABEL       OPERATOR  STATUS      PHONE         LAST SEEN\n"),
        "{table}"
    );
    assert_eq!(
        rows(&table),
        [
            vec![
                "Front desk",
                "111",
                "connected",
                "+15550100001",
                "2025-03-01 09:30 UTC"
            ],
            vec!["Gym", "111", "unpaired", "-", "never"],
            vec!["Shop", "222", "logged_out", "-", "never"],
        ]
    );

    let json = stdout_of(&run(
        db.url.expose(),
        &["accounts", "--telegram-id", "222", "--json"],
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "label": "Shop",
            "operator": "222",
            "status": "logged_out",
            "phone": null,
            "last_seen": null
        }])
    );
}

#[tokio::test]
async fn reminders_shows_the_next_fire_in_the_reminders_zone_and_in_utc() {
    let db = seeded().await;
    let table = stdout_of(&run(db.url.expose(), &["reminders"]));
    assert!(
        table.starts_with("NAME        ACCOUNT     OPERATOR  STATUS  NEXT FIRE (REMINDER'S ZONE)"),
        "{table}"
    );
    assert_eq!(
        rows(&table),
        [
            vec![
                "Standup",
                "Front desk",
                "111",
                "active",
                "2025-07-01 09:00 Europe/London",
                "2025-07-01 08:00 UTC",
                "2"
            ],
            vec!["Stock take", "Shop", "222", "paused", "-", "-", "0"],
        ]
    );

    let json = stdout_of(&run(
        db.url.expose(),
        &["reminders", "--json", "--telegram-id", "111"],
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["next_fire_utc"], "2025-07-01T08:00:00Z");
    assert_eq!(json[0]["next_fire_local"], "2025-07-01 09:00 Europe/London");
    assert_eq!(json[0]["groups"], 2);

    let unknown = run(db.url.expose(), &["reminders", "--telegram-id", "333"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not an active operator"));
}

#[tokio::test]
async fn an_empty_database_says_so() {
    let db = TestDb::new().await;
    service::operators::sync_whitelist(&db.db, &[], domain::timezone::TimeZone::UTC)
        .await
        .unwrap();
    assert_eq!(
        stdout_of(&run(db.url.expose(), &["accounts"])),
        "No accounts yet.\n"
    );
    assert_eq!(
        stdout_of(&run(db.url.expose(), &["reminders"])),
        "No reminders yet.\n"
    );
    assert_eq!(
        stdout_of(&run(db.url.expose(), &["reminders", "--json"])).trim(),
        "[]"
    );
}

#[test]
fn a_missing_sqlite_database_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("herald.db");
    for command in ["accounts", "reminders"] {
        let output = run(&format!("sqlite://{}", path.display()), &[command]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("herald-server {command}: no database at ")),
            "{stderr}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be created"
    );
}
