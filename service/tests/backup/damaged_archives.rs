//! Damaged or crafted archives fail verify and restore and change nothing.

use std::fs;

use testkit::{TestDb, seed};

use crate::{DATABASE_FILES, STORED_PATH, Tool, p, repacked, says, seed_state, state, without};

#[tokio::test]
async fn a_damaged_archive_fails_verify_and_restore_and_changes_nothing() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    seed_state(&test.db, data.path()).await;
    let archive = tool.create(None);
    seed::operator(&test.db, 999, "UTC").await;
    let before = state(&test.db, data.path()).await;

    let bad = tempfile::tempdir().unwrap();
    let bytes = fs::read(&archive).unwrap();
    let truncated = bad.path().join("truncated.tar.gz");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    for byte in &mut flipped[middle..middle + 8] {
        *byte ^= 0x5a;
    }
    let corrupt = bad.path().join("corrupt.tar.gz");
    fs::write(&corrupt, flipped).unwrap();
    // Well-formed archives with a part missing: incomplete rather than unreadable.
    let without_db = without(&archive, &DATABASE_FILES, bad.path());
    let without_media = without(&archive, &[STORED_PATH], bad.path());

    for (archive, why) in [
        (&truncated, "truncated or corrupt"),
        (&corrupt, "truncated or corrupt"),
        (&without_db, "is incomplete (no database"),
        (
            &without_media,
            "its manifest lists 1 media files, it holds 0",
        ),
    ] {
        for command in ["verify", "restore"] {
            says(&tool.refuses(&[command, p(archive)]), why);
        }
    }
    assert_eq!(
        state(&test.db, data.path()).await,
        before,
        "no safety backup, no leftovers"
    );
}

#[tokio::test]
async fn a_crafted_archive_cannot_reach_outside_its_directory() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    seed_state(&test.db, data.path()).await;
    let archive = tool.create(None);
    let before = state(&test.db, data.path()).await;

    let bad = tempfile::tempdir().unwrap();
    // A top directory whose name is a broken pattern, beside an entry outside it.
    let outside = repacked(&archive, bad.path(), "outside", |root, top| {
        let renamed = root.join("herald-a(");
        fs::rename(top, &renamed).unwrap();
        fs::create_dir(root.join("other")).unwrap();
        fs::write(root.join("other/evil"), "x").unwrap();
        vec!["herald-a(".into(), "other".into()]
    });
    let link = repacked(&archive, bad.path(), "link", |_, top| {
        std::os::unix::fs::symlink("/etc/passwd", top.join("media/passwd")).unwrap();
        vec![top.file_name().unwrap().to_owned()]
    });
    for (archive, why) in [
        (&outside, "entries outside its top directory"),
        (&link, "it holds symbolic links"),
    ] {
        for command in ["verify", "restore"] {
            says(&tool.refuses(&[command, p(archive)]), why);
        }
    }
    assert_eq!(
        state(&test.db, data.path()).await,
        before,
        "nothing changed"
    );
    assert!(!data.path().join("other").exists());
}
