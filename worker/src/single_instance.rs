//! On SQLite exactly one worker may run: two would both drive the same WhatsApp sessions and
//! race on the queue. A lock file beside the database enforces it; PostgreSQL deployments
//! coordinate through the database instead.

use std::{fs, path::Path};

use anyhow::{Context, bail};
use runtime::config::DatabaseUrl;

/// Held for the worker's lifetime; the operating system releases the lock when it ends, even
/// after a crash.
pub struct InstanceGuard {
    _file: Option<fs::File>,
}

pub fn acquire(url: &DatabaseUrl) -> anyhow::Result<InstanceGuard> {
    let Some(db_path) = url.sqlite_path() else {
        return Ok(InstanceGuard { _file: None });
    };
    let mut name = db_path.into_os_string();
    name.push(".worker.lock");
    let path = Path::new(&name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceGuard { _file: Some(file) }),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "another herald-worker already runs on this SQLite database ({}); only one may",
            path.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}
