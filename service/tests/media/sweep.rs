//! The sweep removes only files no reminder or open run uses, and leftovers.

use std::{
    path::{Path, PathBuf},
    time::{Duration as StdDuration, SystemTime},
};

use chrono::{Duration, Utc};
use domain::status::{AccountStatus, MessageKind, Provider, ReminderStatus, RunStatus};
use entity::{
    audit_log, media_files, reminder_messages, reminder_run_parts, reminder_runs, reminders,
    whatsapp_accounts,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use service::media::{self, SweepReport};
use testkit::TestDb;

use crate::{files_under, jpeg, operator, rows, upload};

/// A reminder whose one message part is `file`.
async fn use_in_reminder(db: &DatabaseConnection, file: &media_files::Model) {
    let now = Utc::now();
    let account = whatsapp_accounts::ActiveModel {
        operator_id: Set(file.operator_id),
        label: Set(format!("phone {}", file.id)),
        provider: Set(Provider::Sim),
        status: Set(AccountStatus::Unpaired),
        session_generation: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let reminder = reminders::ActiveModel {
        operator_id: Set(file.operator_id),
        account_id: Set(account.id),
        name: Set("Weekly flyer".into()),
        timezone: Set("UTC".into()),
        status: Set(ReminderStatus::Active),
        dtstart: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    reminder_messages::ActiveModel {
        reminder_id: Set(reminder.id),
        position: Set(0),
        kind: Set(file.kind),
        body: Set(Some("This week's flyer".into())),
        media_file_id: Set(Some(file.id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

async fn stored_days_ago(db: &DatabaseConnection, file: &media_files::Model, days: i64) {
    let mut row: media_files::ActiveModel = file.clone().into();
    row.created_at = Set(Utc::now() - Duration::days(days));
    row.update(db).await.unwrap();
}

/// Writes a file under DATA_DIR dated `age` ago.
fn leftover(data: &Path, relative: &str, len: usize, age: StdDuration) {
    let path = data.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![9; len]).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[tokio::test]
async fn the_sweep_removes_only_unused_old_files_and_leftovers() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let store = |name: &'static str, seed: u8| {
        let db = test.db.clone();
        let dir: PathBuf = data.path().into();
        async move {
            upload(
                &db,
                &dir,
                me,
                MessageKind::Image,
                name,
                None,
                &jpeg(1000, seed),
            )
            .await
            .unwrap()
        }
    };
    let used_old = store("used.jpg", 10).await;
    let unused_old = store("unused.jpg", 11).await;
    let unused_recent = store("recent.jpg", 12).await;
    use_in_reminder(&test.db, &used_old).await;
    stored_days_ago(&test.db, &used_old, 200).await;
    stored_days_ago(&test.db, &unused_old, 91).await;
    stored_days_ago(&test.db, &unused_recent, 89).await;

    let two_days = StdDuration::from_secs(2 * 24 * 3600);
    leftover(data.path(), "media/tmp/crashed.part", 300, two_days);
    leftover(data.path(), "media/2020/01/unrecorded.jpg", 200, two_days);
    leftover(
        data.path(),
        "media/tmp/uploading.part",
        100,
        StdDuration::ZERO,
    );

    let report = media::sweep(&test.db, data.path(), Utc::now(), media::RETENTION)
        .await
        .unwrap();

    assert_eq!(
        report,
        SweepReport {
            rows_removed: 1,
            files_removed: 3,
            bytes_freed: 1000 + 300 + 200,
        }
    );
    let left: Vec<i64> = rows(&test.db).await.iter().map(|f| f.id).collect();
    assert_eq!(left, [used_old.id, unused_recent.id]);
    let mut expected = vec![
        used_old.storage_path.clone(),
        unused_recent.storage_path.clone(),
        "media/tmp/uploading.part".to_owned(),
    ];
    expected.sort();
    assert_eq!(files_under(data.path()), expected);
    let expired = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("media.expired"))
        .all(&test.db)
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].target_id, Some(unused_old.id.to_string()));

    let again = media::sweep(&test.db, data.path(), Utc::now(), media::RETENTION)
        .await
        .unwrap();
    assert_eq!(again, SweepReport::default(), "nothing more to do");

    // The file in use is still there however old it gets.
    let later = Utc::now() + Duration::days(3650);
    media::sweep(&test.db, data.path(), later, media::RETENTION)
        .await
        .unwrap();
    assert_eq!(
        media_files::Entity::find()
            .filter(media_files::Column::Id.eq(used_old.id))
            .count(&test.db)
            .await
            .unwrap(),
        1
    );
    assert!(media::path(data.path(), &used_old).unwrap().exists());
}

/// A run of `status` whose own message carries `file`.
async fn use_in_run(
    db: &DatabaseConnection,
    file: &media_files::Model,
    status: RunStatus,
) -> reminder_run_parts::Model {
    let now = Utc::now();
    let run = reminder_runs::ActiveModel {
        reminder_name: Set("Weekly flyer".into()),
        operator_id: Set(Some(file.operator_id)),
        occurrence_at: Set(now),
        status: Set(status),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    reminder_run_parts::ActiveModel {
        run_id: Set(run.id),
        position: Set(0),
        kind: Set(file.kind),
        body: Set(Some("This week's flyer".into())),
        media_file_id: Set(Some(file.id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sweep_keeps_what_an_open_run_sends_and_unlinks_finished_runs() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let sending = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "a.jpg",
        None,
        &jpeg(900, 21),
    )
    .await
    .unwrap();
    let history = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "b.jpg",
        None,
        &jpeg(900, 22),
    )
    .await
    .unwrap();
    let open_part = use_in_run(&test.db, &sending, RunStatus::Running).await;
    let old_part = use_in_run(&test.db, &history, RunStatus::Success).await;
    stored_days_ago(&test.db, &sending, 200).await;
    stored_days_ago(&test.db, &history, 200).await;

    let report = media::sweep(&test.db, data.path(), Utc::now(), media::RETENTION)
        .await
        .unwrap();
    assert_eq!(report.rows_removed, 1, "{report:?}");
    let left: Vec<i64> = rows(&test.db).await.iter().map(|f| f.id).collect();
    assert_eq!(left, [sending.id]);
    assert!(media::path(data.path(), &sending).unwrap().exists());
    let part = |id| {
        let db = test.db.clone();
        async move {
            reminder_run_parts::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(part(open_part.id).await.media_file_id, Some(sending.id));
    let unlinked = part(old_part.id).await;
    assert_eq!(
        (unlinked.media_file_id, unlinked.body.as_deref()),
        (None, Some("This week's flyer")),
        "the finished run's history keeps its caption"
    );
}
