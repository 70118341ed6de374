//! Taking in one upload: streamed to a temporary file while hashed and counted, checked, then
//! moved under a generated name and recorded — file first, then row, so a crash at any point
//! leaves at worst an unnamed file for the sweeper, never a row without its file.

use std::{
    io,
    path::{Path, PathBuf},
    pin::pin,
};

use chrono::{Datelike, Utc};
use domain::status::MessageKind;
use entity::media_files;
use futures_util::{Stream, StreamExt};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};
use uuid::Uuid;

use super::{MAX_UPLOAD, MEDIA_DIR, MediaError, max_size, names, sniff};
use crate::audit;

/// Where uploads are written while they arrive, under DATA_DIR/media.
const TMP_DIR: &str = "tmp";
const WRITE_BUFFER: usize = 256 * 1024;

/// Stores an upload of `kind` for the operator and returns its row; an upload identical to a
/// file the operator already has returns that file's row (kind and name as first stored).
///
/// Images and videos must be what their first bytes say (the declared type is ignored);
/// documents may be anything and keep a well-formed declared type. `body` is read only up to
/// [`MAX_UPLOAD`]; past the kind's limit nothing more is written.
#[allow(clippy::too_many_arguments)] // each is a separate fact about the upload
pub async fn store<S, B, E>(
    db: &DatabaseConnection,
    data_dir: &Path,
    actor: audit::Actor,
    operator_id: i64,
    kind: MessageKind,
    original_name: &str,
    declared_mime: Option<&str>,
    body: S,
) -> Result<media_files::Model, MediaError>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = max_size(kind).ok_or(MediaError::NotAFile)?;
    let media_dir = data_dir.join(MEDIA_DIR);
    let upload = receive(&media_dir.join(TMP_DIR), kind, limit, body).await?;
    let (mime, ext) = match kind {
        MessageKind::Image => detected(sniff::image(&upload.head), kind)?,
        MessageKind::Video => detected(sniff::video(&upload.head), kind)?,
        MessageKind::Document => {
            let ext = names::document_ext(original_name);
            match sniff::document(&ext, &upload.head) {
                Ok(Some(mime)) => (mime.to_owned(), ext),
                Ok(None) => (names::document_mime(declared_mime), ext),
                Err(expected) => return Err(MediaError::Mislabelled { ext, expected }),
            }
        }
        MessageKind::Text => return Err(MediaError::NotAFile),
    };
    let row = NewFile {
        operator_id,
        sha256: upload.sha256.clone(),
        kind,
        mime_type: mime,
        original_name: names::display_name(original_name, &ext),
        size_bytes: upload.size,
    };

    if let Some(existing) = by_hash(db, operator_id, &row.sha256).await? {
        match super::path(data_dir, &existing) {
            // Its file went missing from disk: this upload, identical by its hash, puts it back.
            Ok(stored) if !tokio::fs::try_exists(&stored).await.unwrap_or(true) => {
                upload.temp.persist(&stored).await?;
            }
            _ => drop(upload), // deletes the temporary file
        }
        audit_duplicate(db, actor, &existing).await?;
        return Ok(existing);
    }

    let now = Utc::now();
    let relative = format!(
        "{MEDIA_DIR}/{:04}/{:02}/{}.{ext}",
        now.year(),
        now.month(),
        Uuid::new_v4()
    );
    let target = data_dir.join(&relative);
    upload.temp.persist(&target).await?;
    match insert(db, actor, row, relative).await {
        Ok(stored) => Ok(stored),
        Err(e) => {
            remove_quietly(&target).await;
            // The same file arrived twice at once and the other upload was recorded first.
            if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                && let Some(winner) = by_hash(db, operator_id, &upload.sha256).await?
            {
                audit_duplicate(db, actor, &winner).await?;
                return Ok(winner);
            }
            Err(e.into())
        }
    }
}

fn detected(
    found: Option<sniff::Detected>,
    kind: MessageKind,
) -> Result<(String, String), MediaError> {
    found
        .map(|d| (d.mime.to_owned(), d.ext.to_owned()))
        .ok_or(MediaError::WrongType { kind })
}

/// A complete upload in its temporary file.
struct Upload {
    temp: TempFile,
    sha256: String,
    size: i64,
    head: Vec<u8>,
}

/// Streams `body` into a temporary file in `tmp_dir`, hashing and counting it. Once past
/// `limit` the file is deleted and the rest only counted (up to [`MAX_UPLOAD`]) for the message.
async fn receive<S, B, E>(
    tmp_dir: &Path,
    kind: MessageKind,
    limit: u64,
    body: S,
) -> Result<Upload, MediaError>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::fs::create_dir_all(tmp_dir).await?;
    let mut temp = TempFile::create(tmp_dir.join(format!("{}.part", Uuid::new_v4()))).await?;
    let too_large = |received, complete| MediaError::TooLarge {
        kind,
        received,
        complete,
    };
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(sniff::HEAD_LEN);
    let mut received: u64 = 0;
    let mut body = pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(_) if received > limit => return Err(too_large(received, false)),
            Err(e) => return Err(MediaError::Interrupted(e.into())),
        };
        let bytes = chunk.as_ref();
        received = received.saturating_add(bytes.len() as u64);
        if received > limit {
            temp.discard().await;
            if received > MAX_UPLOAD {
                return Err(too_large(received, false));
            }
            continue;
        }
        hasher.update(bytes);
        let wanted = sniff::HEAD_LEN.saturating_sub(head.len()).min(bytes.len());
        head.extend_from_slice(&bytes[..wanted]);
        temp.write(bytes).await?;
    }
    if received > limit {
        return Err(too_large(received, true));
    }
    if received == 0 {
        return Err(MediaError::Empty);
    }
    temp.finish().await?;
    Ok(Upload {
        temp,
        sha256: hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        size: i64::try_from(received).map_err(io::Error::other)?,
        head,
    })
}

/// A temporary file that is deleted when dropped (an error, or a client that went away mid-
/// upload) unless it was moved into place.
struct TempFile {
    path: Option<PathBuf>,
    writer: Option<BufWriter<tokio::fs::File>>,
}

impl TempFile {
    async fn create(path: PathBuf) -> io::Result<Self> {
        let file = tokio::fs::File::create(&path).await?;
        Ok(Self {
            path: Some(path),
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write_all(bytes).await,
            None => Err(io::Error::other("temporary file already closed")),
        }
    }

    /// Flushes and syncs the content, so the file is whole on disk before a row names it.
    async fn finish(&mut self) -> io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().await?;
            writer.get_mut().sync_all().await?;
        }
        Ok(())
    }

    /// Deletes the file now; nothing more is written.
    async fn discard(&mut self) {
        self.writer = None;
        if let Some(path) = self.path.take() {
            remove_quietly(&path).await;
        }
    }

    /// Moves the finished file to `target` and syncs its directory, so the new name survives a
    /// crash.
    async fn persist(mut self, target: &Path) -> io::Result<()> {
        let Some(path) = self.path.take() else {
            return Err(io::Error::other("temporary file already discarded"));
        };
        let dir = target.parent().unwrap_or(Path::new("."));
        let moved = async {
            tokio::fs::create_dir_all(dir).await?;
            tokio::fs::rename(&path, target).await
        };
        if let Err(e) = moved.await {
            remove_quietly(&path).await;
            return Err(e);
        }
        let synced = async { tokio::fs::File::open(dir).await?.sync_all().await };
        if let Err(e) = synced.await {
            remove_quietly(target).await;
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Drop cannot wait; deleting one file is quick. A failure leaves a leftover the
            // sweeper removes.
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn remove_quietly(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, path = %path.display(), "removing a media file failed");
    }
}

struct NewFile {
    operator_id: i64,
    sha256: String,
    kind: MessageKind,
    mime_type: String,
    original_name: String,
    size_bytes: i64,
}

/// Records a stored file with its audit row.
async fn insert(
    db: &DatabaseConnection,
    actor: audit::Actor,
    file: NewFile,
    storage_path: String,
) -> Result<media_files::Model, DbErr> {
    let txn = crate::database::begin_write(db).await?;
    let stored = media_files::ActiveModel {
        operator_id: Set(file.operator_id),
        sha256: Set(file.sha256),
        kind: Set(file.kind),
        mime_type: Set(file.mime_type),
        original_name: Set(file.original_name),
        storage_path: Set(storage_path),
        size_bytes: Set(file.size_bytes),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, uploaded(actor, &stored, false)).await?;
    txn.commit().await?;
    Ok(stored)
}

/// An upload identical to a stored file changes nothing but is still the operator's action.
async fn audit_duplicate(
    db: &DatabaseConnection,
    actor: audit::Actor,
    existing: &media_files::Model,
) -> Result<(), DbErr> {
    audit::record(db, uploaded(actor, existing, true)).await
}

fn uploaded(actor: audit::Actor, file: &media_files::Model, duplicate: bool) -> audit::Entry {
    audit::Entry::new(actor, "media.uploaded")
        .operator(file.operator_id)
        .target("media", file.id)
        .detail(serde_json::json!({
            "name": file.original_name,
            "kind": file.kind,
            "size_bytes": file.size_bytes,
            "duplicate": duplicate,
        }))
}

async fn by_hash(
    db: &DatabaseConnection,
    operator_id: i64,
    sha256: &str,
) -> Result<Option<media_files::Model>, DbErr> {
    media_files::Entity::find()
        .filter(media_files::Column::OperatorId.eq(operator_id))
        .filter(media_files::Column::Sha256.eq(sha256))
        .one(db)
        .await
}
