//! A restore brings back exactly what was backed up, and is refused while Herald runs or when
//! the archive is of the other database kind.

use std::fs;

use domain::status::AccountStatus;
use entity::reminders;
use runtime::config::Backend;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};
use service::database;
use testkit::{TestDb, seed};

use crate::{
    FLYER, STORED_PATH, Snapshot, Tool, assert_summary, files_under, only_other_file, p, says,
    seed_state, state, table_exists, tree,
};

#[tokio::test]
async fn a_restore_brings_back_exactly_what_was_backed_up_and_keeps_a_safety_backup() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    let reminder = seed_state(&test.db, data.path()).await;
    let original = Snapshot::take(&test.db).await;

    let archive = tool.create(None);
    assert_eq!(archive.parent().unwrap(), data.path().join("backups"));
    assert_summary(&tool.verify(&archive), &test.url, 1);

    // Everything a restore must undo: a deleted reminder (its parts and groups go with it), a
    // changed row, a new row, a table from a newer migration, a media file rewritten, and a file
    // that was not there.
    let db = &test.db;
    reminders::Entity::delete_by_id(reminder.id)
        .exec(db)
        .await
        .unwrap();
    let mut operator = original.operators[0].clone().into_active_model();
    operator.display_name = Set("Renamed".into());
    operator.update(db).await.unwrap();
    seed::account(db, reminder.operator_id, "Later", AccountStatus::Unpaired).await;
    db.execute_unprepared("CREATE TABLE added_later (id integer)")
        .await
        .unwrap();
    fs::write(data.path().join(STORED_PATH), b"overwritten").unwrap();
    fs::write(data.path().join("media/stray.bin"), b"stray").unwrap();
    let damaged = Snapshot::take(db).await;
    assert_ne!(damaged, original);

    if test.backend() == Backend::Postgres {
        // The test's own pool counts as Herald running: refused, and nothing written.
        let before = tree(data.path());
        let refused = tool.refuses(&["restore", p(&archive)]);
        says(&refused, "other session(s) are connected");
        assert_eq!(tree(data.path()), before);
        assert_eq!(Snapshot::take(db).await, damaged);
    }
    // On SQLite too: an open pool would write its stale WAL into the restored file.
    test.db.clone().close().await.unwrap();

    let said = tool.restore(&archive);
    let db = service::database::connect(&test.url).await.unwrap();
    assert_eq!(Snapshot::take(&db).await, original, "the rows as backed up");
    assert!(
        table_exists(&db, "added_later").await.is_err(),
        "the newer table is left"
    );
    assert_eq!(fs::read(data.path().join(STORED_PATH)).unwrap(), FLYER);
    assert_eq!(
        files_under(&data.path().join("media")),
        ["2026/11/flyer.jpg"]
    );

    // The safety backup holds the damaged state, and restores it.
    let safety = only_other_file(&data.path().join("backups"), &archive);
    says(&said, p(&safety));
    assert_summary(&tool.verify(&safety), &test.url, 2);
    db.close().await.unwrap();
    tool.restore(&safety);
    let db = service::database::connect(&test.url).await.unwrap();
    assert_eq!(Snapshot::take(&db).await, damaged);
    table_exists(&db, "added_later").await.unwrap();
    assert_eq!(
        fs::read(data.path().join(STORED_PATH)).unwrap(),
        b"overwritten"
    );
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_restore_is_refused_while_herald_runs_on_the_sqlite_file() {
    let test = TestDb::sqlite().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    seed_state(&test.db, data.path()).await;
    let archive = tool.create(None);
    seed::operator(&test.db, 999, "UTC").await;
    let before = state(&test.db, data.path()).await;

    // As a running server or worker holds it (service::database::hold_in_use).
    let in_use = database::hold_in_use(&test.url).unwrap();
    let refused = tool.refuses(&["restore", p(&archive)]);
    says(&refused, "Herald is running on");
    assert_eq!(
        state(&test.db, data.path()).await,
        before,
        "no safety backup either"
    );

    // And Herald cannot start while a restore holds it.
    drop(in_use);
    let mut lock = test.url.sqlite_path().unwrap().into_os_string();
    lock.push(".in-use.lock");
    let restoring = fs::File::create(lock).unwrap();
    restoring.try_lock().unwrap();
    let err = database::hold_in_use(&test.url).err().expect("refused");
    assert!(
        err.to_string()
            .contains("a restore (herald-backup) is under way"),
        "{err}"
    );
}

#[tokio::test]
async fn a_backup_of_the_other_database_kind_is_refused() {
    let test = TestDb::new().await;
    let data = tempfile::tempdir().unwrap();
    let lite = TestDb::sqlite().await;
    let lite_data = tempfile::tempdir().unwrap();
    let lite_tool = Tool::new(lite.url.expose(), lite_data.path());
    seed::operator(&lite.db, 1, "UTC").await;
    let lite_archive = lite_tool.create(None);

    // Refused before connecting, and the password is never shown.
    let url = "postgres://herald:s3cret-pw@127.0.0.1:1/herald";
    let refused = Tool::new(url, data.path()).refuses(&["restore", p(&lite_archive)]);
    says(&refused, "is a sqlite backup");
    says(&refused, "postgres://herald@127.0.0.1:1/herald");
    assert!(!refused.contains("s3cret-pw"), "{refused}");

    if test.backend() == Backend::Postgres {
        // The password leaves the URL for PGPASSWORD (command lines are public on the host);
        // what remains must still connect (the test cluster trusts, so the password is unused).
        let with_password = test.url.expose().replacen("@", ":pass%40word@", 1);
        let archive = Tool::new(&with_password, data.path()).create(None);
        assert!(archive.exists());
        let tool = Tool::new(test.url.expose(), data.path());
        seed::operator(&test.db, 2, "UTC").await;
        let pg_archive = tool.create(Some(&data.path().join("elsewhere")));
        let before = state(&test.db, data.path()).await;
        let refused = tool.refuses(&["restore", p(&lite_archive)]);
        says(&refused, "is a sqlite backup");
        assert_eq!(state(&test.db, data.path()).await, before);

        let before = state(&lite.db, lite_data.path()).await;
        let refused = lite_tool.refuses(&["restore", p(&pg_archive)]);
        says(&refused, "is a postgres backup");
        says(&refused, "names a SQLite database");
        assert_eq!(state(&lite.db, lite_data.path()).await, before);
    }
}
