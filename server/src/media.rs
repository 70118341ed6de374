//! `POST /api/media` and `GET /api/media/{id}`: an operator's uploads for reminder messages.
//!
//! An upload is the raw request body (not a multipart form, so the browser can report progress
//! with XHR), streamed into [`service::media::store`]; the kind and the original name travel in
//! the query string, the declared type in `Content-Type`. Answers:
//! - 201 with the file as JSON — also when the operator already had an identical file, which is
//!   then the one returned (same id, first name kept);
//! - 400 for a missing or unknown kind, or an upload cut short; 413 for a file over its kind's
//!   limit; 415 for an image or video whose bytes are not one; 422 for an empty file — each
//!   with `{"error": message}` written for the operator.

use app::state::{AppState, CurrentOperator};
use axum::{
    Extension, Json,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, Query, Request, State, rejection::QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, post},
};
use domain::status::MessageKind;
use entity::media_files;
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use service::{
    audit::Actor,
    media::{self, MediaError},
};
use tokio::io::AsyncReadExt;

/// How much of a file one read hands to the response at a time.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// The upload route, with a body limit of its own: the largest file and a margin, where every
/// other route keeps axum's small default.
pub fn upload_route() -> MethodRouter<AppState> {
    let limit = usize::try_from(media::MAX_UPLOAD).unwrap_or(usize::MAX);
    post(upload).layer(DefaultBodyLimit::max(limit))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    kind: Option<String>,
    name: Option<String>,
}

/// What the dashboard learns about a stored file.
#[derive(Serialize)]
struct MediaView<'a> {
    id: i64,
    kind: MessageKind,
    mime_type: &'a str,
    original_name: &'a str,
    size_bytes: i64,
    sha256: &'a str,
}

impl<'a> From<&'a media_files::Model> for MediaView<'a> {
    fn from(file: &'a media_files::Model) -> Self {
        Self {
            id: file.id,
            kind: file.kind,
            mime_type: &file.mime_type,
            original_name: &file.original_name,
            size_bytes: file.size_bytes,
            sha256: &file.sha256,
        }
    }
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentOperator>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let kind = match query.kind.as_deref().map(str::parse) {
        Some(Ok(kind @ (MessageKind::Image | MessageKind::Video | MessageKind::Document))) => kind,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "kind must be image, video or document",
            );
        }
    };
    let declared_mime = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::RequestExt::into_limited_body(request).into_data_stream();
    let stored = media::store(
        &state.db,
        &state.config.data_dir,
        Actor::Operator,
        me.id,
        kind,
        query.name.as_deref().unwrap_or_default(),
        declared_mime.as_deref(),
        body,
    )
    .await;
    match stored {
        Ok(file) => (StatusCode::CREATED, Json(MediaView::from(&file))).into_response(),
        Err(e) => refused(e),
    }
}

fn refused(e: MediaError) -> Response {
    let status = match &e {
        MediaError::NotAFile | MediaError::Interrupted(_) => StatusCode::BAD_REQUEST,
        MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        MediaError::WrongType { .. } | MediaError::Mislabelled { .. } => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        MediaError::Empty => StatusCode::UNPROCESSABLE_ENTITY,
        MediaError::Io(_) | MediaError::Db(_) => {
            tracing::error!(error = %e, "storing an upload failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "storing the file failed");
        }
    };
    error(status, e)
}

/// `GET /api/media/{id}`: one of the operator's files. Images and videos show inline; documents
/// download. A document's type is the client's word, so nothing served here may run as a page
/// of Herald's: the browser must not sniff it and it renders sandboxed.
pub async fn download(
    State(state): State<AppState>,
    Extension(me): Extension<CurrentOperator>,
    Path(id): Path<i64>,
) -> Response {
    let file = match media::find(&state.db, me.id, id).await {
        Ok(Some(file)) => file,
        // Another operator's file is indistinguishable from a missing one.
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such file"),
        Err(e) => {
            tracing::error!(error = %e, "looking up a media file failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let opened = async {
        let handle = media::open(&state.config.data_dir, &file).await?;
        let len = handle.metadata().await?.len();
        std::io::Result::Ok((handle, len))
    };
    let (handle, len) = match opened.await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %e, media = file.id, "opening a stored media file failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "the file cannot be read");
        }
    };
    let content_type = HeaderValue::from_str(&file.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(len)),
            (
                header::CONTENT_DISPOSITION,
                disposition(file.kind, &file.original_name),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("private")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            ),
        ],
        Body::from_stream(chunks(handle)),
    )
        .into_response()
}

/// The file's content, read as the response is sent.
fn chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0; DOWNLOAD_CHUNK];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), file)))
    })
}

/// `inline` or `attachment` with the display name: an ASCII stand-in for old clients and the
/// exact name percent-encoded (RFC 6266 / RFC 8187).
fn disposition(kind: MessageKind, name: &str) -> HeaderValue {
    let kind = match kind {
        MessageKind::Image | MessageKind::Video => "inline",
        MessageKind::Document | MessageKind::Text => "attachment",
    };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_safely() {
        assert_eq!(
            disposition(MessageKind::Image, "Holiday photo.jpg"),
            "inline; filename=\"Holiday photo.jpg\"; filename*=UTF-8''Holiday%20photo.jpg"
        );
        assert_eq!(
            disposition(MessageKind::Document, "Ré\"sumé\\.pdf"),
            "attachment; filename=\"R__sum__.pdf\"; filename*=UTF-8''R%C3%A9%22sum%C3%A9%5C.pdf"
        );
    }
}
