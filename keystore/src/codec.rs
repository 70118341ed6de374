//! How keys and values become the bytes of a `wa_keys` row, and back. A row that does not decode
//! is an error, never a panic: the store may outlive a bug that wrote it.

use serde::{Serialize, de::DeserializeOwned};
use wacore::store::error::{Result, StoreError};

/// A composite key: every part but the last is length-prefixed (u32, big-endian), so no two part
/// lists encode alike, and all keys sharing a first part share the byte prefix [`prefix`] gives.
pub(crate) fn composite(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    if let Some((last, init)) = parts.split_last() {
        for part in init {
            key.extend_from_slice(&len_prefix(part.len()));
            key.extend_from_slice(part);
        }
        key.extend_from_slice(last);
    }
    key
}

/// The byte prefix of every [`composite`] key whose first part is `first`.
pub(crate) fn prefix(first: &[u8]) -> Vec<u8> {
    composite(&[first, &[]])
}

fn len_prefix(len: usize) -> [u8; 4] {
    // Keys are JIDs, message ids and MACs: far below 4 GiB.
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

/// Numeric ids as big-endian bytes, so the engines' byte order is numeric order.
pub(crate) fn id_key(id: u32) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

pub(crate) fn id_from_key(key: &[u8]) -> Result<u32> {
    Ok(u32::from_be_bytes(array(key, "numeric key")?))
}

pub(crate) fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| corrupt(format!("{what} is {} bytes, not {N}", bytes.len())))
}

pub(crate) fn string(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| StoreError::Serialization(Box::new(e)))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Serialization(Box::new(e)))
}

pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Serialization(Box::new(e)))
}

/// A number column some space always writes, found empty.
pub(crate) fn required(num: Option<i64>, what: &str) -> Result<i64> {
    num.ok_or_else(|| corrupt(format!("{what} is missing")))
}

pub(crate) fn corrupt(what: String) -> StoreError {
    StoreError::Validation(format!("corrupt key store row: {what}"))
}
