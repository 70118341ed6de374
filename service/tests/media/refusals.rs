//! Refused uploads, whether too large, endless, broken or not what they claim, leave nothing behind.

use std::{
    io,
    path::{Path, PathBuf},
};

use domain::status::MessageKind;
use futures_util::stream;
use service::{
    audit::Actor,
    media::{self, MediaError},
};
use testkit::TestDb;

use crate::{MIB, files_under, jpeg, operator, png, rows, upload};

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

    let fake_pdf = attempt(
        MessageKind::Document,
        "Minutes.pdf",
        Some("application/pdf"),
        b"<html>a web page saved under the wrong name</html>".to_vec(),
    )
    .await
    .unwrap_err();
    assert!(matches!(fake_pdf, MediaError::Mislabelled { .. }));
    assert_eq!(
        fake_pdf.to_string(),
        "This file is named “.pdf” but is not a PDF: it may be damaged, or renamed from another \
         type. Export it again, or rename it to what it is"
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
