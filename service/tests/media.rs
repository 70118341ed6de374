//! The media store on the test engine, with a temporary DATA_DIR: uploads are checked by their
//! bytes, stored once per operator and content under generated names, leave nothing behind when
//! refused, and are swept only once no reminder uses them.

use std::{
    io,
    path::{Path, PathBuf},
    time::{Duration as StdDuration, SystemTime},
};

use chrono::{Datelike, Duration, Utc};
use domain::status::{AccountStatus, MessageKind, Provider, ReminderStatus, RunStatus};
use entity::{
    audit_log, media_files, operators, reminder_messages, reminder_run_parts, reminder_runs,
    reminders, whatsapp_accounts,
};
use futures_util::stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use service::{
    audit::Actor,
    media::{self, MediaError, SweepReport},
};
use sha2::{Digest, Sha256};
use testkit::TestDb;

const MIB: usize = 1024 * 1024;

async fn operator(db: &DatabaseConnection) -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);
    let now = Utc::now();
    operators::ActiveModel {
        telegram_user_id: Set(Some(
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )),
        display_name: Set("Ops".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// A JPEG's signature followed by `len - 4` bytes that make each `seed` a different file.
fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend((0..len.saturating_sub(4)).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[7; 200]);
    bytes
}

/// The body as a client sends it: in chunks.
fn body(bytes: &[u8]) -> impl futures_util::Stream<Item = io::Result<Vec<u8>>> + use<> {
    let chunks: Vec<io::Result<Vec<u8>>> =
        bytes.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    stream::iter(chunks)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload(
    db: &DatabaseConnection,
    data_dir: &Path,
    operator_id: i64,
    kind: MessageKind,
    name: &str,
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<media_files::Model, MediaError> {
    media::store(
        db,
        data_dir,
        Actor::Operator,
        operator_id,
        kind,
        name,
        declared,
        body(bytes),
    )
    .await
}

/// Every file under `dir`, relative and with `/` separators, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    found.sort();
    found
}

async fn rows(db: &DatabaseConnection) -> Vec<media_files::Model> {
    media_files::Entity::find().all(db).await.unwrap()
}

#[tokio::test]
async fn an_image_is_stored_by_its_bytes_under_its_month_with_its_hash() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let bytes = jpeg(3000, 1);

    // Declared type and extension both lie; the bytes decide.
    let file = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "holiday.png",
        Some("application/pdf"),
        &bytes,
    )
    .await
    .unwrap();

    assert_eq!(file.kind, MessageKind::Image);
    assert_eq!(file.mime_type, "image/jpeg");
    assert_eq!(file.original_name, "holiday.png");
    assert_eq!(file.size_bytes, 3000);
    assert_eq!(file.sha256, sha256_hex(&bytes));
    let now = Utc::now();
    let month = format!("media/{:04}/{:02}/", now.year(), now.month());
    let generated = file
        .storage_path
        .strip_prefix(&month)
        .expect("under its month");
    let (stem, ext) = generated.split_once('.').unwrap();
    assert!(uuid::Uuid::parse_str(stem).is_ok(), "{generated}");
    assert_eq!(ext, "jpg");
    assert_eq!(files_under(data.path()), [file.storage_path.as_str()]);
    assert_eq!(
        std::fs::read(media::path(data.path(), &file).unwrap()).unwrap(),
        bytes
    );

    let mut opened = media::open(data.path(), &file).await.unwrap();
    let mut read = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut opened, &mut read)
        .await
        .unwrap();
    assert_eq!(read, bytes);

    assert_eq!(
        media::find(&test.db, me, file.id).await.unwrap(),
        Some(file.clone())
    );
    let someone_else = operator(&test.db).await;
    assert_eq!(
        media::find(&test.db, someone_else, file.id).await.unwrap(),
        None
    );

    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("media.uploaded"))
        .all(&test.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator_id, Some(me));
    assert_eq!(
        audit[0].target_id.as_deref(),
        Some(file.id.to_string().as_str())
    );

    let png = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "logo",
        None,
        &png(),
    )
    .await
    .unwrap();
    assert_eq!(png.mime_type, "image/png");
    assert!(png.storage_path.ends_with(".png"));
    assert_eq!(png.original_name, "logo");
}

#[tokio::test]
async fn an_identical_upload_returns_the_file_already_stored() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let bytes = jpeg(5000, 2);

    let first = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "a.jpg",
        None,
        &bytes,
    )
    .await
    .unwrap();
    let again = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "b.jpg",
        None,
        &bytes,
    )
    .await
    .unwrap();

    assert_eq!(again, first, "the first upload's row, name included");
    assert_eq!(rows(&test.db).await.len(), 1);
    assert_eq!(files_under(data.path()), [first.storage_path.as_str()]);

    // Its file lost from disk, the same upload again puts it back under the same row.
    let stored = media::path(data.path(), &first).unwrap();
    std::fs::remove_file(&stored).unwrap();
    let repaired = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "c.jpg",
        None,
        &bytes,
    )
    .await
    .unwrap();
    assert_eq!(repaired, first);
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);
    assert_eq!(files_under(data.path()), [first.storage_path.as_str()]);

    // Deduplication is per operator: another operator's identical file is their own.
    let other = operator(&test.db).await;
    let theirs = upload(
        &test.db,
        data.path(),
        other,
        MessageKind::Image,
        "a.jpg",
        None,
        &bytes,
    )
    .await
    .unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!(files_under(data.path()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_uploads_end_with_one_row_and_one_file() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let bytes = jpeg(256 * 1024, 3);

    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let db = test.db.clone();
            let dir = data.path().to_path_buf();
            let bytes = bytes.clone();
            tokio::spawn(async move {
                upload(
                    &db,
                    &dir,
                    me,
                    MessageKind::Image,
                    &format!("{i}.jpg"),
                    None,
                    &bytes,
                )
                .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id);
    }

    ids.dedup();
    assert_eq!(ids.len(), 1, "every upload got the same row");
    let stored = rows(&test.db).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(files_under(data.path()), [stored[0].storage_path.clone()]);
}

/// The store left no row and no file, temporary ones included.
async fn nothing_left(test: &TestDb, data: &Path) {
    assert!(rows(&test.db).await.is_empty(), "no row");
    assert_eq!(files_under(data), Vec::<String>::new(), "no file");
}

#[tokio::test]
async fn a_file_over_its_limit_is_refused_and_leaves_nothing() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;

    let refused = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "big.jpg",
        None,
        &jpeg(7 * MIB + 3 * MIB / 10, 4),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, MediaError::TooLarge { .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "Images can be at most 5 MB; this one is 7.3 MB"
    );
    nothing_left(&test, data.path()).await;

    // Exactly at the limit is fine.
    let at_limit = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Image,
        "edge.jpg",
        None,
        &jpeg(5 * MIB, 4),
    )
    .await
    .unwrap();
    assert_eq!(at_limit.size_bytes, 5 * MIB as i64);
}

#[tokio::test]
async fn an_endless_upload_is_read_only_so_far() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let pulled = std::sync::atomic::AtomicUsize::new(0);
    let endless = stream::repeat_with(|| {
        pulled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok::<_, io::Error>(vec![0u8; MIB])
    });

    let refused = media::store(
        &test.db,
        data.path(),
        Actor::Operator,
        me,
        MessageKind::Video,
        "stream.mp4",
        None,
        endless,
    )
    .await
    .unwrap_err();

    assert_eq!(
        refused.to_string(),
        "Videos can be at most 16 MB; this one is more than 102 MB"
    );
    assert_eq!(
        pulled.load(std::sync::atomic::Ordering::Relaxed),
        102,
        "reading stops just past the most any upload may be"
    );
    nothing_left(&test, data.path()).await;
}

#[tokio::test]
async fn a_broken_upload_leaves_nothing() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let broken = stream::iter([
        Ok(jpeg(64 * 1024, 5)),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ]);

    let refused = media::store(
        &test.db,
        data.path(),
        Actor::Operator,
        me,
        MessageKind::Image,
        "cut.jpg",
        None,
        broken,
    )
    .await
    .unwrap_err();

    assert!(matches!(refused, MediaError::Interrupted(_)), "{refused:?}");
    nothing_left(&test, data.path()).await;
}

#[tokio::test]
async fn a_file_whose_bytes_are_not_its_kind_is_refused() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;
    let attempt = |kind, name: &'static str, declared: Option<&'static str>, bytes: Vec<u8>| {
        let db = test.db.clone();
        let dir: PathBuf = data.path().into();
        async move { upload(&db, &dir, me, kind, name, declared, &bytes).await }
    };

    let png_as_video = attempt(MessageKind::Video, "clip.mp4", Some("video/mp4"), png())
        .await
        .unwrap_err();
    assert!(matches!(png_as_video, MediaError::WrongType { .. }));
    assert_eq!(
        png_as_video.to_string(),
        "This file is not an MP4 or 3GPP video"
    );

    let text_as_image = attempt(
        MessageKind::Image,
        "photo.jpg",
        Some("image/jpeg"),
        b"just some text, not a photo".to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        text_as_image.to_string(),
        "This file is not a JPEG, PNG or WebP image"
    );

    let empty = attempt(MessageKind::Document, "empty.txt", None, Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(empty, MediaError::Empty));

    let text_kind = attempt(MessageKind::Text, "note.txt", None, b"hello".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(text_kind, MediaError::NotAFile));

    nothing_left(&test, data.path()).await;

    // A real MP4 header passes.
    let mut mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isommp41".to_vec();
    mp4.extend_from_slice(&[1; 500]);
    let video = attempt(MessageKind::Video, "clip", None, mp4)
        .await
        .unwrap();
    assert_eq!(video.mime_type, "video/mp4");
    assert!(video.storage_path.ends_with(".mp4"));
}

#[tokio::test]
async fn a_document_of_any_type_is_stored_under_a_generated_name() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let me = operator(&test.db).await;

    let passwd = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Document,
        "../../etc/passwd",
        Some("text/plain; charset=utf-8"),
        b"root:x:0:0:root:/root:/bin/sh\n",
    )
    .await
    .unwrap();
    assert_eq!(passwd.original_name, "passwd");
    assert_eq!(passwd.mime_type, "text/plain");
    assert!(passwd.storage_path.starts_with("media/"));
    assert!(
        passwd.storage_path.ends_with(".bin"),
        "{}",
        passwd.storage_path
    );
    assert!(!passwd.storage_path.contains("passwd"));

    let pdf = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Document,
        "Minutes 2026.PDF",
        Some("application/pdf"),
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
    )
    .await
    .unwrap();
    assert_eq!(pdf.kind, MessageKind::Document);
    assert_eq!(pdf.mime_type, "application/pdf");
    assert_eq!(pdf.original_name, "Minutes 2026.PDF");
    assert!(pdf.storage_path.ends_with(".pdf"));

    let odd = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Document,
        "data",
        Some("not a mime type"),
        &[0, 1, 2, 3],
    )
    .await
    .unwrap();
    assert_eq!(odd.mime_type, "application/octet-stream");

    // Everything landed inside DATA_DIR/media, under generated names only.
    let mut expected = vec![
        passwd.storage_path.clone(),
        pdf.storage_path.clone(),
        odd.storage_path.clone(),
    ];
    expected.sort();
    assert_eq!(files_under(data.path()), expected);
}

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
