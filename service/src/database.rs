//! Opening Herald's database and bringing its schema up to date.
//!
//! Both binaries migrate at start, and `make run` starts them together, so migrations run under a
//! cross-process lock: an advisory lock on PostgreSQL, a lock file beside the SQLite database.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use runtime::config::{Backend, DatabaseUrl};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// An arbitrary constant naming Herald's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x4845_5241_4c44; // "HERALD"

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot take a lock: {0}")]
    Lock(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("migrating the database failed: {0}")]
    Migrate(DbErr),
}

/// Connects with settings that suit each engine. SQLite gets WAL (readers never block the
/// writer), a busy timeout (server and worker share the file) and enforced foreign keys.
pub async fn connect(url: &DatabaseUrl) -> Result<DatabaseConnection, DatabaseError> {
    if let Some(path) = url.sqlite_path()
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        fs::create_dir_all(dir).map_err(|source| DatabaseError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let mut options = ConnectOptions::new(url.expose());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if url.backend() == Backend::Sqlite {
        options
            .max_connections(if url.sqlite_path().is_some() { 8 } else { 1 })
            .map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        // A transaction whose process was paused or cut off mid-way would hold its row locks
        // until the connection died; the server ends it instead, so it cannot stall the other
        // processes (or a worker taking over a lease) for long.
        options.max_connections(16).map_sqlx_postgres_opts(|opts| {
            opts.options([("idle_in_transaction_session_timeout", "10s")])
        });
    }
    Database::connect(options)
        .await
        .map_err(|source| DatabaseError::Connect {
            url: url.to_string(),
            source,
        })
}

/// Applies every pending migration; a no-op when the schema is current.
pub async fn migrate(db: &DatabaseConnection, url: &DatabaseUrl) -> Result<(), DatabaseError> {
    match url.backend() {
        Backend::Postgres => {
            use sea_orm::sqlx;
            // Session-level advisory locks belong to one connection: hold one apart from the
            // pool the migrations run on, and release it on that same connection.
            let lock_err =
                |e: sqlx::Error| DatabaseError::Lock(format!("PostgreSQL advisory lock: {e}"));
            let mut conn = db
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map_err(lock_err)?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await
                .map_err(lock_err)?;
            let result = Migrator::up(db, None).await;
            if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await
            {
                // Closing the connection releases the lock anyway.
                tracing::warn!(error = %e, "releasing the migration lock failed");
            }
            result.map_err(DatabaseError::Migrate)
        }
        Backend::Sqlite => {
            let _guard = sqlite_migration_lock(url).await?;
            Migrator::up(db, None).await.map_err(DatabaseError::Migrate)
        }
    }
}

/// The SQLite file's migration lock (`None` for an in-memory database), waited for off the
/// async workers, as waiting blocks a thread.
async fn sqlite_migration_lock(url: &DatabaseUrl) -> Result<Option<fs::File>, DatabaseError> {
    match url.sqlite_path() {
        Some(path) => Ok(Some(
            tokio::task::spawn_blocking(move || lock_file(&path))
                .await
                .map_err(|e| DatabaseError::Lock(e.to_string()))??,
        )),
        None => Ok(None),
    }
}

/// Connects, then migrates: what both binaries do at start. On SQLite both happen under the
/// migration lock: the first connection to a new file turns it to WAL, which needs the file to
/// itself and fails at once (not after the busy timeout) while a peer starting at the same moment
/// holds it.
pub async fn connect_and_migrate(url: &DatabaseUrl) -> Result<DatabaseConnection, DatabaseError> {
    if let Backend::Sqlite = url.backend() {
        let _guard = sqlite_migration_lock(url).await?;
        let db = connect(url).await?;
        Migrator::up(&db, None)
            .await
            .map_err(DatabaseError::Migrate)?;
        return Ok(db);
    }
    let db = connect(url).await?;
    migrate(&db, url).await?;
    Ok(db)
}

/// Is the database answering?
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Held, shared, by every running server and worker on a SQLite database. `herald-backup
/// restore` takes it exclusively, so it can tell that Herald is stopped (and Herald cannot start
/// mid-restore). PostgreSQL deployments are told apart by their connected sessions instead.
pub struct InUse {
    _file: Option<fs::File>,
}

/// Takes [`InUse`] for the process's lifetime; fails while a restore holds it.
pub fn hold_in_use(url: &DatabaseUrl) -> Result<InUse, DatabaseError> {
    let Some(db_path) = url.sqlite_path() else {
        return Ok(InUse { _file: None });
    };
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| DatabaseError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let (file, path) = open_lock_file(&db_path, ".in-use.lock")?;
    match file.try_lock_shared() {
        Ok(()) => Ok(InUse { _file: Some(file) }),
        Err(fs::TryLockError::WouldBlock) => Err(DatabaseError::Lock(format!(
            "{}: a restore (herald-backup) is under way",
            path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(lock_error(&path, e)),
    }
}

/// An exclusive lock on `<db>.migrate.lock`, released when the file is dropped.
fn lock_file(db_path: &Path) -> Result<fs::File, DatabaseError> {
    let (file, path) = open_lock_file(db_path, ".migrate.lock")?;
    file.lock().map_err(|e| lock_error(&path, e))?;
    Ok(file)
}

/// `<db><suffix>`, opened (created if need be) for locking.
fn open_lock_file(db_path: &Path, suffix: &str) -> Result<(fs::File, PathBuf), DatabaseError> {
    let mut name = db_path.as_os_str().to_owned();
    name.push(suffix);
    let path = PathBuf::from(name);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| lock_error(&path, e))?;
    Ok((file, path))
}

fn lock_error(path: &Path, e: std::io::Error) -> DatabaseError {
    DatabaseError::Lock(format!("{}: {e}", path.display()))
}

/// Begins a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later cannot wait for
/// another process's writer — SQLite fails it at once with "database is locked" — whereas an
/// immediate one waits its turn under the busy timeout. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
