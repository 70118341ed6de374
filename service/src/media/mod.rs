//! Files attached to reminder messages: uploads checked against WhatsApp's limits, stored once
//! per operator and content under DATA_DIR/media with generated names, and swept once no
//! reminder uses them. This module is the only writer of `media_files` and of DATA_DIR/media.

mod names;
mod sniff;
mod store;
mod sweep;

use std::{
    io,
    path::{Component, Path, PathBuf},
};

use domain::status::MessageKind;
use entity::media_files;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

pub use self::store::store;
pub use self::sweep::{RETENTION, SweepError, SweepReport, sweep};

/// Every stored path starts here, relative to DATA_DIR.
const MEDIA_DIR: &str = "media";

const MIB: u64 = 1024 * 1024;

/// WhatsApp's size limit for a kind of file; `None` for text, which has no file.
pub fn max_size(kind: MessageKind) -> Option<u64> {
    match kind {
        MessageKind::Image => Some(5 * MIB),
        MessageKind::Video => Some(16 * MIB),
        MessageKind::Document => Some(100 * MIB),
        MessageKind::Text => None,
    }
}

/// The most of one upload that is read: the largest limit and a margin. Past a kind's limit
/// nothing more is stored, but reading on lets the refusal say how large the file was, and lets
/// a browser still uploading receive that answer.
pub const MAX_UPLOAD: u64 = 101 * MIB;

/// Why an upload was refused or failed. The refusals' messages are written for the operator.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("Only images, videos and documents can be uploaded")]
    NotAFile,
    #[error("This file is empty")]
    Empty,
    #[error("{}", too_large(*kind, *received, *complete))]
    TooLarge {
        kind: MessageKind,
        /// Bytes received; the whole file when `complete`.
        received: u64,
        complete: bool,
    },
    #[error("{}", wrong_type(*kind))]
    WrongType { kind: MessageKind },
    /// A document whose name promises a format its bytes are not.
    #[error(
        "This file is named “.{ext}” but is not {expected}: it may be damaged, or renamed from \
         another type. Export it again, or rename it to what it is"
    )]
    Mislabelled { ext: String, expected: &'static str },
    #[error("The upload was interrupted")]
    Interrupted(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storing the file failed: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn too_large(kind: MessageKind, received: u64, complete: bool) -> String {
    let what = match kind {
        MessageKind::Image => "Images",
        MessageKind::Video => "Videos",
        MessageKind::Document | MessageKind::Text => "Documents",
    };
    let limit = max_size(kind).map_or_else(String::new, |l| megabytes(l * 10 / MIB));
    if complete {
        // Rounded up: a file just past the limit must not read as the limit itself.
        let size = megabytes((received * 10).div_ceil(MIB));
        format!("{what} can be at most {limit}; this one is {size}")
    } else {
        let size = megabytes(received * 10 / MIB);
        format!("{what} can be at most {limit}; this one is more than {size}")
    }
}

fn wrong_type(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Image => "This file is not a JPEG, PNG or WebP image",
        MessageKind::Video => "This file is not an MP4 or 3GPP video",
        MessageKind::Document | MessageKind::Text => "This file cannot be sent as a document",
    }
}

/// "5 MB", "7.3 MB" from tenths of a mebibyte: the unit WhatsApp means, named the way its
/// users know it.
fn megabytes(tenths: u64) -> String {
    match tenths % 10 {
        0 => format!("{} MB", tenths / 10),
        rest => format!("{}.{rest} MB", tenths / 10),
    }
}

/// One of the operator's files; `None` for another operator's or a missing one.
pub async fn find(
    db: &DatabaseConnection,
    operator_id: i64,
    id: i64,
) -> Result<Option<media_files::Model>, DbErr> {
    media_files::Entity::find_by_id(id)
        .filter(media_files::Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

/// Where a file is on disk. A stored path that could leave DATA_DIR/media (absolute, or with
/// `..`) is refused rather than followed.
pub fn path(data_dir: &Path, file: &media_files::Model) -> io::Result<PathBuf> {
    let relative = Path::new(&file.storage_path);
    let mut components = relative.components();
    let inside = components.next() == Some(Component::Normal(MEDIA_DIR.as_ref()))
        && components.clone().next().is_some()
        && components.all(|c| matches!(c, Component::Normal(_)));
    if inside {
        Ok(data_dir.join(relative))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("media file {} has an unsafe storage path", file.id),
        ))
    }
}

/// Opens a file for reading.
pub async fn open(data_dir: &Path, file: &media_files::Model) -> io::Result<tokio::fs::File> {
    tokio::fs::File::open(path(data_dir, file)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_operators_expect() {
        let message = |kind, received, complete| {
            MediaError::TooLarge {
                kind,
                received,
                complete,
            }
            .to_string()
        };
        assert_eq!(
            message(MessageKind::Document, 100 * MIB + 1, true),
            "Documents can be at most 100 MB; this one is 100.1 MB",
            "never rounds down to the limit"
        );
        assert_eq!(
            message(MessageKind::Image, 7 * MIB + 3 * MIB / 10, true),
            "Images can be at most 5 MB; this one is 7.3 MB"
        );
        assert_eq!(
            message(MessageKind::Video, MAX_UPLOAD + 1, false),
            "Videos can be at most 16 MB; this one is more than 101 MB",
            "an upload cut short is at least this large"
        );
    }

    #[test]
    fn stored_paths_stay_inside_the_media_directory() {
        let file = |storage_path: &str| media_files::Model {
            id: 1,
            operator_id: 1,
            sha256: String::new(),
            kind: MessageKind::Image,
            mime_type: "image/png".into(),
            original_name: "a.png".into(),
            storage_path: storage_path.into(),
            size_bytes: 1,
            created_at: chrono::Utc::now(),
        };
        let data = Path::new("/var/lib/herald");
        assert_eq!(
            path(data, &file("media/2026/11/x.png")).unwrap(),
            Path::new("/var/lib/herald/media/2026/11/x.png")
        );
        for unsafe_path in [
            "/etc/passwd",
            "media/../../etc/passwd",
            "../media/x.png",
            "other/x.png",
            "media",
            "",
        ] {
            assert!(path(data, &file(unsafe_path)).is_err(), "{unsafe_path}");
        }
    }
}
