//! The media store on the test engine, with a temporary DATA_DIR: uploads are checked by their
//! bytes, stored once per operator and content under generated names, leave nothing behind when
//! refused, and are swept only once no reminder uses them.

mod refusals;
mod storage;
mod sweep;

use std::{io, path::Path};

use chrono::Utc;
use domain::status::MessageKind;
use entity::{media_files, operators};
use futures_util::stream;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use service::{
    audit::Actor,
    media::{self, MediaError},
};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

async fn operator(db: &DatabaseConnection) -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);
    let now = Utc::now();
    operators::ActiveModel {
        telegram_user_id: Set(Some(
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )),
        display_name: Set("Ops".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// A JPEG's signature followed by `len - 4` bytes that make each `seed` a different file.
fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend((0..len.saturating_sub(4)).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[7; 200]);
    bytes
}

/// The body as a client sends it: in chunks.
fn body(bytes: &[u8]) -> impl futures_util::Stream<Item = io::Result<Vec<u8>>> + use<> {
    let chunks: Vec<io::Result<Vec<u8>>> =
        bytes.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    stream::iter(chunks)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload(
    db: &DatabaseConnection,
    data_dir: &Path,
    operator_id: i64,
    kind: MessageKind,
    name: &str,
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<media_files::Model, MediaError> {
    media::store(
        db,
        data_dir,
        Actor::Operator,
        operator_id,
        kind,
        name,
        declared,
        body(bytes),
    )
    .await
}

/// Every file under `dir`, relative and with `/` separators, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    found.sort();
    found
}

async fn rows(db: &DatabaseConnection) -> Vec<media_files::Model> {
    media_files::Entity::find().all(db).await.unwrap()
}
