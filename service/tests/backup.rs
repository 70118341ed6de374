//! herald-backup (`scripts/backup.sh`) run for real against the test engine: a restore brings back
//! exactly the rows and media files that were backed up, after keeping a safety backup of what it
//! replaces; every refusal (Herald running, the other database kind, a damaged archive) leaves the
//! current state untouched; and a backup taken while Herald writes is consistent.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::Utc;
use domain::status::{AccountStatus, MessageKind, ReminderStatus};
use entity::{
    media_files, operators, reminder_messages, reminder_targets, reminders, whatsapp_accounts,
    whatsapp_groups,
};
use migration::{Migrator, MigratorTrait};
use runtime::config::{Backend, DatabaseUrl};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryOrder, Set,
};
use service::database;
use testkit::{TestDb, seed};

const STORED_PATH: &str = "media/2026/11/flyer.jpg";
const FLYER: &[u8] = b"\xFF\xD8\xFF\xE0 this week's flyer";
/// Where an archive keeps the database, by kind.
const DATABASE_FILES: [&str; 2] = ["database.sqlite", "database.pgdump"];

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

#[tokio::test]
async fn create_refuses_an_in_memory_database() {
    let data = tempfile::tempdir().unwrap();
    let refused = Tool::new("sqlite::memory:", data.path()).refuses(&["create"]);
    says(&refused, "DATABASE_URL is an in-memory SQLite database");
    assert!(tree(data.path()).is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_herald_writes_is_consistent() {
    let test = TestDb::sqlite().await;
    let data = tempfile::tempdir().unwrap();
    let tool = Tool::new(test.url.expose(), data.path());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (test.db.clone(), stop.clone());
        async move {
            for id in 1.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                seed::operator(&db, id, "UTC").await;
            }
        }
    });
    let db = &test.db;
    let count = &move || async move { operators::Entity::find().count(db).await.unwrap() };
    testkit::eventually("writes", move || async move {
        (count().await >= 20).then_some(())
    })
    .await;

    let before = count().await;
    let archive = tokio::task::spawn_blocking(move || tool.create(None))
        .await
        .unwrap();
    let after = count().await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(after > before, "writes went on while the backup ran");

    // Restored onto a fresh machine (no database yet, so no safety backup): the rows of one
    // moment while the writes went on.
    let fresh = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/herald.db", fresh.path().display());
    let tool = Tool::new(&url, &fresh.path().join("data"));
    says(&tool.restore(&archive), "no safety backup needed");
    let db = service::database::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let restored = operators::Entity::find().count(&db).await.unwrap();
    assert!(
        (before..=after).contains(&restored),
        "{before} <= {restored} <= {after}"
    );
}

// --- helpers ---------------------------------------------------------------------------------------

/// An operator, an account with two groups, and a reminder of two parts (text, then an image
/// stored under DATA_DIR/media) sent to both groups. Returns the reminder.
async fn seed_state(db: &DatabaseConnection, data_dir: &Path) -> reminders::Model {
    let operator = seed::operator(db, 4242, "Europe/London").await;
    let account = seed::account(db, operator.id, "Shop", AccountStatus::Connected).await;
    let groups = [
        seed::group(db, account.id, "Staff").await,
        seed::group(db, account.id, "Customers").await,
    ];
    let reminder = seed::reminder(
        db,
        operator.id,
        account.id,
        "Flyer",
        ReminderStatus::Active,
        Utc::now(),
    )
    .await;
    let file = data_dir.join(STORED_PATH);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, FLYER).unwrap();
    let media = media_files::ActiveModel {
        operator_id: Set(operator.id),
        sha256: Set("ab".repeat(32)),
        kind: Set(MessageKind::Image),
        mime_type: Set("image/jpeg".into()),
        original_name: Set("flyer.jpg".into()),
        storage_path: Set(STORED_PATH.into()),
        size_bytes: Set(FLYER.len() as i64),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    let media = media.insert(db).await.unwrap();
    let parts = [
        (MessageKind::Text, "Hello all", None),
        (MessageKind::Image, "The flyer", Some(media.id)),
    ];
    for (position, (kind, body, media_file_id)) in (0..).zip(parts) {
        let part = reminder_messages::ActiveModel {
            reminder_id: Set(reminder.id),
            position: Set(position),
            kind: Set(kind),
            body: Set(Some(body.into())),
            media_file_id: Set(media_file_id),
            ..Default::default()
        };
        part.insert(db).await.unwrap();
    }
    for (position, group) in (0..).zip(&groups) {
        let target = reminder_targets::ActiveModel {
            reminder_id: Set(reminder.id),
            group_id: Set(group.id),
            position: Set(position),
            ..Default::default()
        };
        target.insert(db).await.unwrap();
    }
    reminder
}

/// Every row of the tables the tests seed and damage, in id order.
#[derive(Debug, PartialEq)]
struct Snapshot {
    operators: Vec<operators::Model>,
    accounts: Vec<whatsapp_accounts::Model>,
    groups: Vec<whatsapp_groups::Model>,
    reminders: Vec<reminders::Model>,
    messages: Vec<reminder_messages::Model>,
    targets: Vec<reminder_targets::Model>,
    media: Vec<media_files::Model>,
}

impl Snapshot {
    async fn take(db: &DatabaseConnection) -> Self {
        macro_rules! all {
            ($table:ident) => {
                $table::Entity::find()
                    .order_by_asc($table::Column::Id)
                    .all(db)
                    .await
                    .unwrap()
            };
        }
        Self {
            operators: all!(operators),
            accounts: all!(whatsapp_accounts),
            groups: all!(whatsapp_groups),
            reminders: all!(reminders),
            messages: all!(reminder_messages),
            targets: all!(reminder_targets),
            media: all!(media_files),
        }
    }
}

type Tree = Vec<(String, Option<Vec<u8>>)>;

/// What a refused command must leave as it was: the rows, and everything under DATA_DIR (media,
/// backups, and no temporary leftovers).
async fn state(db: &DatabaseConnection, data_dir: &Path) -> (Snapshot, Tree) {
    (Snapshot::take(db).await, tree(data_dir))
}

/// The script, run with exactly this DATABASE_URL and DATA_DIR, from an empty working directory
/// so no `.env` of the repository's is read.
struct Tool {
    url: String,
    data_dir: PathBuf,
    cwd: tempfile::TempDir,
}

impl Tool {
    fn new(url: &str, data_dir: &Path) -> Self {
        let cwd = tempfile::tempdir().unwrap();
        Self {
            url: url.into(),
            data_dir: data_dir.into(),
            cwd,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/backup.sh"))
            .args(args)
            .current_dir(self.cwd.path())
            .env_remove("BACKUP_DIR")
            .env("DATABASE_URL", &self.url)
            .env("DATA_DIR", &self.data_dir)
            .output()
            .expect("bash runs")
    }

    /// A command that must succeed: its stdout and stderr.
    fn succeeds(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        (stdout, stderr)
    }

    /// `create [dir]`: the archive it printed, alone on stdout.
    fn create(&self, dir: Option<&Path>) -> PathBuf {
        let mut args = vec!["create"];
        args.extend(dir.map(p));
        let (stdout, _) = self.succeeds(&args);
        assert_eq!(
            stdout.lines().count(),
            1,
            "only the path on stdout: {stdout}"
        );
        let archive = PathBuf::from(stdout.trim_end());
        let name = archive.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("herald-") && name.ends_with(".tar.gz"),
            "{name}"
        );
        assert!(archive.is_file(), "{archive:?}");
        archive
    }

    /// `verify`'s summary.
    fn verify(&self, archive: &Path) -> String {
        self.succeeds(&["verify", p(archive)]).0
    }

    /// `restore`, which says what it did on stderr and nothing on stdout.
    fn restore(&self, archive: &Path) -> String {
        let (stdout, stderr) = self.succeeds(&["restore", p(archive)]);
        assert_eq!(stdout, "");
        stderr
    }

    /// A command that must fail with one line saying why, and nothing on stdout: that line.
    fn refuses(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        let status = (out.status.code(), stdout.as_str());
        assert_eq!(status, (Some(1), ""), "{args:?}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("herald-backup: "), "{args:?}: {stderr}");
        last.to_owned()
    }
}

/// `verify`'s summary describes a backup of this database at its latest migration, made just
/// now, holding `media` files.
fn assert_summary(summary: &str, url: &DatabaseUrl, media: usize) {
    let value = |key: &str| {
        let line = summary
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")));
        line.unwrap_or_else(|| panic!("no {key} in {summary}"))
            .to_owned()
    };
    let kind = if url.backend() == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(value("kind"), kind);
    assert_eq!(
        value("schema"),
        Migrator::migrations().last().unwrap().name()
    );
    assert_eq!(value("media_files"), media.to_string());
    let created = chrono::DateTime::parse_from_rfc3339(&value("created")).unwrap();
    let age = Utc::now() - created.to_utc();
    assert!((0..300).contains(&age.num_seconds()), "created {created}");
}

async fn table_exists(db: &DatabaseConnection, table: &str) -> Result<(), DbErr> {
    db.execute_unprepared(&format!("SELECT count(*) FROM {table}"))
        .await
        .map(drop)
}

/// A copy of `archive`, written into `dir`, without these paths (relative to its top directory).
fn without(archive: &Path, paths: &[&str], dir: &Path) -> PathBuf {
    let label = format!("without-{}", paths[0].replace('/', "_"));
    repacked(archive, dir, &label, |_, top| {
        for path in paths {
            let _ = fs::remove_file(top.join(path));
        }
        vec![top.file_name().unwrap().to_owned()]
    })
}

/// `archive` unpacked into `dir`, changed by `edit` (given the unpacking root and the top
/// directory; it returns the entries to pack), and packed again.
fn repacked(
    archive: &Path,
    dir: &Path,
    label: &str,
    edit: impl FnOnce(&Path, &Path) -> Vec<std::ffi::OsString>,
) -> PathBuf {
    let unpacked = tempfile::tempdir_in(dir).unwrap();
    let tar = |args: Vec<&OsStr>| {
        let status = Command::new("tar")
            .arg("-C")
            .arg(unpacked.path())
            .args(&args)
            .status();
        assert!(status.unwrap().success(), "tar {args:?}");
    };
    tar(vec!["-xzf".as_ref(), archive.as_os_str()]);
    let top = fs::read_dir(unpacked.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let entries = edit(unpacked.path(), &top);
    let copy = dir.join(format!("{label}.tar.gz"));
    let mut args: Vec<&OsStr> = vec!["-czf".as_ref(), copy.as_os_str()];
    args.extend(entries.iter().map(|e| e.as_os_str()));
    tar(args);
    copy
}

fn says(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in: {text}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn texts(out: &Output) -> (String, String) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&out.stdout), text(&out.stderr))
}

/// The one entry of `dir` other than `known`.
fn only_other_file(dir: &Path, known: &Path) -> PathBuf {
    let entries = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    let others: Vec<PathBuf> = entries.filter(|p| p != known).collect();
    assert_eq!(others.len(), 1, "{others:?}");
    others.into_iter().next().unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter_map(|(path, bytes)| bytes.map(|_| path))
        .collect()
}

/// Everything under `dir`: each path (relative) with a file's bytes, or `None` for a directory.
fn tree(dir: &Path) -> Tree {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                found.push((relative, None));
                dirs.push(path);
            } else {
                found.push((relative, Some(fs::read(&path).unwrap())));
            }
        }
    }
    found.sort();
    found
}
