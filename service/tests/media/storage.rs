//! Accepted uploads: stored by their bytes under generated names, once per operator and content.

use chrono::{Datelike, Utc};
use domain::status::MessageKind;
use entity::audit_log;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use service::media;
use testkit::TestDb;

use crate::{files_under, jpeg, operator, png, rows, sha256_hex, upload};

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

    // A format that announces itself is stored as what its bytes are, whatever the browser
    // declared.
    let sheet = upload(
        &test.db,
        data.path(),
        me,
        MessageKind::Document,
        "Rota.xlsx",
        Some("application/octet-stream"),
        b"PK\x03\x04\x14\0\x06\0rest of the workbook",
    )
    .await
    .unwrap();
    assert_eq!(
        sheet.mime_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(sheet.storage_path.ends_with(".xlsx"));

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
        sheet.storage_path.clone(),
        odd.storage_path.clone(),
    ];
    expected.sort();
    assert_eq!(files_under(data.path()), expected);
}
