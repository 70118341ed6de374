//! The control router: scans, faults and listings over HTTP.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Fixture, config, next_id, text};
use crate::provider::{
    SessionEvent, StartMode,
    sim::{control_router, default_phone},
};

async fn call(router: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a request");
    let response = router.clone().oneshot(request).await.expect("a response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON body")
    };
    (status, json)
}

#[tokio::test]
async fn the_control_router_scans_injects_and_lists() {
    let fixture = Fixture::new(config(0.01)).await;
    let router = control_router(fixture.sim.clone());

    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "account 1 has no session showing QR codes");

    let mut pairing = fixture.start(1, 1, StartMode::Pair { phone: None }).await;
    pairing.next_qr().await;
    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", r#"{"phone": "x"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].is_string());
    let (status, body) = call(&router, "POST", "/sim/accounts/1/scan", "{").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = call(&router, "POST", "/sim/accounts/1/scan", "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(matches!(
        pairing.next().await,
        SessionEvent::PairSuccess { .. }
    ));
    assert!(matches!(
        pairing.next().await,
        SessionEvent::Connected { .. }
    ));

    let (status, _) = call(
        &router,
        "POST",
        "/sim/accounts/1/faults",
        r#"{"fault": "fail_sends", "count": 1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&router, "POST", "/sim/accounts/1/faults", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid fault"))
    );
    let (status, _) = call(
        &router,
        "POST",
        "/sim/accounts/1/faults",
        r#"{"fault": "explode"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = call(
        &router,
        "POST",
        "/sim/accounts/2/faults",
        r#"{"fault": "disconnect"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "account 2 has no live session");

    let jid = pairing.session.groups().await.expect("groups")[0]
        .jid
        .clone();
    assert!(
        pairing
            .session
            .send(&jid, &text("first"), &next_id())
            .await
            .is_err()
    );
    let sent = pairing
        .session
        .send(&jid, &text("second"), &next_id())
        .await
        .expect("sent");
    let (status, body) = call(&router, "GET", "/sim/accounts/1/messages", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    assert_eq!(body[0]["group_jid"], jid.as_str());
    assert_eq!(body[0]["kind"], "text");
    assert_eq!(body[0]["body"], "second");
    assert_eq!(body[0]["wa_message_id"], sent.wa_message_id.as_str());
    assert!(body[0]["sent_at"].is_string());

    let (status, body) = call(&router, "GET", "/sim/accounts/1/ops", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            { "op": "started", "generation": 1, "mode": "pair" },
            { "op": "scanned", "phone": default_phone(1) },
        ])
    );
    let (status, body) = call(&router, "GET", "/sim/accounts/abc/ops", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].is_string());
}
