//! Uploads over real HTTP: a file goes up as the raw body and comes back byte for byte, to its
//! operator only; refusals answer with a status and a message an operator understands.

mod common;

use common::{TestServer, client};
use entity::{media_files, operators};
use reqwest::{Client, StatusCode, header};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const MIB: usize = 1024 * 1024;

/// A server whose DATA_DIR is a fresh temporary directory.
async fn server_with(vars: &[(&str, &str)]) -> (TestServer, TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut all = vec![("DATA_DIR", data.path().to_str().unwrap())];
    all.extend_from_slice(vars);
    (TestServer::start_with(&all).await, data)
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend((0..len - 4).map(|i| (i % 251) as u8));
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload(
    server: &TestServer,
    client: &Client,
    query: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    client
        .post(server.url(&format!("/api/media?{query}")))
        .header("origin", server.origin())
        .header(header::CONTENT_TYPE, content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn stored_rows(server: &TestServer) -> u64 {
    media_files::Entity::find()
        .count(&server.db.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_comes_back_byte_for_byte() {
    let (server, data) = server_with(&[]).await;
    let operator = server.signed_in(None).await;
    // Larger than the 2 MB other routes accept.
    let bytes = jpeg(3 * MIB);

    let response = upload(
        &server,
        &operator,
        "kind=image&name=Holiday%20photo.jpg",
        "image/jpeg",
        bytes.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["kind"], "image");
    assert_eq!(file["mime_type"], "image/jpeg");
    assert_eq!(file["original_name"], "Holiday photo.jpg");
    assert_eq!(file["size_bytes"], 3 * MIB);
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    let id = file["id"].as_i64().unwrap();
    let row = media_files::Entity::find_by_id(id)
        .one(&server.db.db)
        .await
        .unwrap()
        .expect("recorded");
    assert!(data.path().join(&row.storage_path).is_file());

    let response = operator
        .get(server.url(&format!("/api/media/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "inline; filename=\"Holiday photo.jpg\"; filename*=UTF-8''Holiday%20photo.jpg"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "private");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // The same file again is the same file.
    let again = upload(
        &server,
        &operator,
        "kind=image&name=copy.jpg",
        "image/jpeg",
        bytes,
    )
    .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], id);
    assert_eq!(again["original_name"], "Holiday photo.jpg");
    assert_eq!(stored_rows(&server).await, 1);
}

#[tokio::test]
async fn uploading_and_downloading_need_a_session_and_the_right_origin() {
    let (server, _data) = server_with(&[]).await;
    let anonymous = client();

    let response = upload(
        &server,
        &anonymous,
        "kind=image&name=a.jpg",
        "image/jpeg",
        jpeg(100),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "sign in required");
    let response = anonymous
        .get(server.url("/api/media/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let operator = server.signed_in(None).await;
    let foreign = operator
        .post(server.url("/api/media?kind=image&name=a.jpg"))
        .header("origin", "https://evil.example.com")
        .body(jpeg(100))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_rows(&server).await, 0);
}

#[tokio::test]
async fn another_operators_file_is_not_found() {
    let (server, _data) = server_with(&[("TELEGRAM_ALLOWED_USER_IDS", "42,43")]).await;
    let ops = operators::Entity::find().all(&server.db.db).await.unwrap();
    let id_of = |telegram: i64| {
        ops.iter()
            .find(|o| o.telegram_user_id == Some(telegram))
            .unwrap()
            .id
    };
    let owner = server.signed_in(Some(id_of(42))).await;
    let other = server.signed_in(Some(id_of(43))).await;

    let file: Value = upload(
        &server,
        &owner,
        "kind=image&name=mine.jpg",
        "image/jpeg",
        jpeg(500),
    )
    .await
    .json()
    .await
    .unwrap();
    let url = server.url(&format!("/api/media/{}", file["id"]));

    let response = other.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "no such file");
    assert_eq!(
        owner.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let missing = owner
        .get(server.url("/api/media/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_six_megabyte_image_is_refused_with_its_size() {
    let (server, data) = server_with(&[]).await;
    let operator = server.signed_in(None).await;

    let response = upload(
        &server,
        &operator,
        "kind=image&name=big.jpg",
        "image/jpeg",
        jpeg(6 * MIB),
    )
    .await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"],
        "Images can be at most 5 MB; this one is 6 MB"
    );
    assert_eq!(stored_rows(&server).await, 0);
    let tmp = data.path().join("media/tmp");
    assert_eq!(
        std::fs::read_dir(tmp).unwrap().count(),
        0,
        "no temporary file left"
    );
}

#[tokio::test]
async fn a_pdf_uploads_as_a_document_and_downloads_as_an_attachment() {
    let (server, _data) = server_with(&[]).await;
    let operator = server.signed_in(None).await;
    let pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();

    let response = upload(
        &server,
        &operator,
        "kind=document&name=Minutes%20%E2%80%93%20May.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["kind"], "document");
    assert_eq!(file["mime_type"], "application/pdf");
    assert_eq!(file["original_name"], "Minutes – May.pdf");

    let response = operator
        .get(server.url(&format!("/api/media/{}", file["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Minutes _ May.pdf\"; filename*=UTF-8''Minutes%20%E2%80%93%20May.pdf"
    );
    assert_eq!(
        response.headers()[header::CONTENT_SECURITY_POLICY],
        "sandbox"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), pdf.as_slice());
}

#[tokio::test]
async fn wrong_kinds_and_types_are_refused_with_a_message() {
    let (server, _data) = server_with(&[]).await;
    let operator = server.signed_in(None).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let cases = [
        (
            "name=a.png",
            png.clone(),
            StatusCode::BAD_REQUEST,
            "kind must be image, video or document",
        ),
        (
            "kind=text&name=a.txt",
            b"hi".to_vec(),
            StatusCode::BAD_REQUEST,
            "kind must be image, video or document",
        ),
        (
            "kind=sticker&name=a.png",
            png.clone(),
            StatusCode::BAD_REQUEST,
            "kind must be image, video or document",
        ),
        (
            "kind=video&name=clip.mp4",
            png,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This file is not an MP4 or 3GPP video",
        ),
        (
            "kind=document&name=empty.txt",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "This file is empty",
        ),
    ];
    for (query, bytes, status, message) in cases {
        let response = upload(&server, &operator, query, "video/mp4", bytes).await;
        assert_eq!(response.status(), status, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], message, "{query}");
    }
    assert_eq!(stored_rows(&server).await, 0);
}
