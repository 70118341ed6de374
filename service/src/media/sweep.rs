//! Retention: files no reminder (and no run still sending) uses are removed after a while, and
//! so are files on disk that no row names (what a crash between writing a file and recording it leaves behind).

use std::{collections::HashSet, io, path::Path};

use chrono::{DateTime, Duration, Utc};
use domain::status::RunStatus;
use entity::{
    media_files, reminder_messages, reminder_run_parts as run_parts, reminder_runs as runs,
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    SqlErr, sea_query::Query,
};

use super::MEDIA_DIR;
use crate::audit;

/// How long an unused file is kept: long enough to reuse it in a new reminder.
pub const RETENTION: Duration = Duration::days(90);

/// How old a file without a row must be before it counts as left over rather than still being
/// recorded by an upload in progress.
const LEFTOVER_AGE: Duration = Duration::days(1);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub rows_removed: u64,
    pub files_removed: u64,
    pub bytes_freed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("sweeping media files failed: {0}")]
    Io(#[from] io::Error),
}

/// Removes files (rows and their content) that no reminder message uses and that were stored
/// before `now - older_than`, then any file under DATA_DIR/media that no row names and that is
/// more than a day old. A file a reminder uses is never removed.
pub async fn sweep(
    db: &DatabaseConnection,
    data_dir: &Path,
    now: DateTime<Utc>,
    older_than: Duration,
) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport::default();
    expire_unused(db, data_dir, now - older_than, &mut report).await?;
    remove_leftovers(db, data_dir, now - LEFTOVER_AGE, &mut report).await?;
    Ok(report)
}

/// Not named by any reminder message, nor by the message of a run still sending or paused.
fn unused() -> Condition {
    Condition::all()
        .add(
            media_files::Column::Id.not_in_subquery(
                Query::select()
                    .column(reminder_messages::Column::MediaFileId)
                    .from(reminder_messages::Entity)
                    .and_where(reminder_messages::Column::MediaFileId.is_not_null())
                    .to_owned(),
            ),
        )
        .add(
            media_files::Column::Id.not_in_subquery(
                Query::select()
                    .column(run_parts::Column::MediaFileId)
                    .from(run_parts::Entity)
                    .and_where(run_parts::Column::MediaFileId.is_not_null())
                    .and_where(run_parts::Column::RunId.in_subquery(open_runs()))
                    .to_owned(),
            ),
        )
}

fn open_runs() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(runs::Column::Id)
        .from(runs::Entity)
        .and_where(runs::Column::Status.is_in([RunStatus::Running, RunStatus::Paused]))
        .to_owned()
}

async fn expire_unused(
    db: &DatabaseConnection,
    data_dir: &Path,
    cutoff: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), SweepError> {
    let expired = media_files::Entity::find()
        .filter(media_files::Column::CreatedAt.lt(cutoff))
        .filter(unused())
        .all(db)
        .await?;
    for file in expired {
        // Each row is re-checked as it is deleted: a reminder may have taken it up meanwhile.
        let txn = crate::database::begin_write(db).await?;
        // Finished runs' history keeps each part's kind and caption, not the expired file.
        run_parts::Entity::update_many()
            .col_expr(
                run_parts::Column::MediaFileId,
                sea_orm::sea_query::Expr::value(None::<i64>),
            )
            .filter(run_parts::Column::MediaFileId.eq(file.id))
            .filter(run_parts::Column::RunId.not_in_subquery(open_runs()))
            .exec(&txn)
            .await?;
        let deleted = media_files::Entity::delete_many()
            .filter(media_files::Column::Id.eq(file.id))
            .filter(unused())
            .exec(&txn)
            .await;
        match deleted {
            Ok(result) if result.rows_affected == 1 => {}
            Ok(_) => continue,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            &txn,
            audit::Entry::new(audit::Actor::System, "media.expired")
                .operator(file.operator_id)
                .target("media", file.id)
                .detail(serde_json::json!({ "name": file.original_name })),
        )
        .await?;
        txn.commit().await?;
        report.rows_removed += 1;
        // A file that cannot be removed now has no row; the leftover pass retries it.
        match super::path(data_dir, &file) {
            Ok(path) => remove(&path, report).await,
            Err(e) => tracing::warn!(error = %e, "not removing an expired media file"),
        }
    }
    Ok(())
}

/// Walks DATA_DIR/media (without following links) for files older than `cutoff` that no row
/// names.
async fn remove_leftovers(
    db: &DatabaseConnection,
    data_dir: &Path,
    cutoff: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), SweepError> {
    // Read before walking: a file recorded after this is new, so younger than the cutoff.
    let named: HashSet<String> = media_files::Entity::find()
        .select_only()
        .column(media_files::Column::StoragePath)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut dirs = vec![data_dir.join(MEDIA_DIR)];
    while let Some(dir) = dirs.pop() {
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = entries.next_entry().await? {
            let meta = entry.metadata().await?;
            if meta.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            if !meta.is_file() || DateTime::<Utc>::from(meta.modified()?) >= cutoff {
                continue;
            }
            let path = entry.path();
            if !named.contains(&storage_path(data_dir, &path)) {
                remove(&path, report).await;
            }
        }
    }
    Ok(())
}

/// A path under DATA_DIR spelled as `storage_path` spells it.
fn storage_path(data_dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(data_dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Removes one file, counting it; a failure is logged and left for the next sweep.
async fn remove(path: &Path, report: &mut SweepReport) {
    let size = tokio::fs::symlink_metadata(path)
        .await
        .map_or(0, |m| m.len());
    match tokio::fs::remove_file(path).await {
        Ok(()) => {
            report.files_removed += 1;
            report.bytes_freed += size;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "removing a media file failed");
        }
    }
}
