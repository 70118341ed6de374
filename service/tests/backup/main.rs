//! herald-backup (`scripts/backup.sh`) run for real against the test engine: a restore brings back
//! exactly the rows and media files that were backed up, after keeping a safety backup of what it
//! replaces; every refusal (Herald running, the other database kind, a damaged archive) leaves the
//! current state untouched; and a backup taken while Herald writes is consistent.

mod create;
mod damaged_archives;
mod restore;

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
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
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder, Set,
};
use testkit::seed;

const STORED_PATH: &str = "media/2026/11/flyer.jpg";
const FLYER: &[u8] = b"\xFF\xD8\xFF\xE0 this week's flyer";
/// Where an archive keeps the database, by kind.
const DATABASE_FILES: [&str; 2] = ["database.sqlite", "database.pgdump"];

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
