//! An open event stream lives only as long as the session that opened it: logging out, "sign out
//! everywhere else" from another device and removal from the whitelist each close it.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::TestServer;
use domain::bus::Event;
use entity::operators as operator_rows;
use reqwest::{Client, Response, StatusCode};
use runtime::config::TelegramUserId;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use service::{bus::events, operators};

/// Long enough for a periodic re-check of the session, short of a client's patience.
const SOON: Duration = Duration::from_secs(6);

struct Stream {
    response: Response,
    buffer: String,
}

impl Stream {
    async fn open(server: &TestServer, client: &Client) -> Self {
        let response = client.get(server.url("/api/events")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// Whether the event with this id arrives within `wait`.
    async fn receives(&mut self, id: i64, wait: Duration) -> bool {
        let needle = format!("id:{id}\n");
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.buffer.replace("id: ", "id:").contains(&needle) {
                return true;
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                Ok(_) | Err(_) => return false,
            }
        }
    }

    /// Whether the server ends the response within `wait`.
    async fn ends(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) | Ok(Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }
}

async fn publish(server: &TestServer, operator_id: i64) -> i64 {
    events::publish(
        &server.db.db,
        Some(operator_id),
        &Event::Timeout { account_id: 1 },
    )
    .await
    .unwrap()
}

/// A stream that demonstrably delivers before anything is revoked.
async fn live_stream(server: &TestServer, client: &Client, operator_id: i64) -> Stream {
    let mut stream = Stream::open(server, client).await;
    let id = publish(server, operator_id).await;
    assert!(stream.receives(id, SOON).await, "the stream delivers");
    stream
}

async fn local_operator(server: &TestServer) -> i64 {
    operators::active(&server.db.db).await.unwrap()[0].id
}

#[tokio::test]
async fn logging_out_closes_the_sessions_event_stream() {
    let server = TestServer::start().await;
    let me = local_operator(&server).await;
    let client = server.signed_in(Some(me)).await;
    let mut stream = live_stream(&server, &client, me).await;

    let response = client
        .post(server.url("/auth/logout"))
        .header("origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    assert!(stream.ends(SOON).await, "the stream ends after logout");
}

#[tokio::test]
async fn signing_out_everywhere_else_closes_the_other_sessions_streams_only() {
    let server = TestServer::start().await;
    let me = local_operator(&server).await;
    let phone = server.signed_in(Some(me)).await;
    let laptop = server.signed_in(Some(me)).await;
    let mut kept = live_stream(&server, &phone, me).await;
    let mut ended = live_stream(&server, &laptop, me).await;

    let response = phone
        .post(server.url("/api/end_other_sessions"))
        .header("origin", server.origin())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    assert!(
        ended.ends(SOON).await,
        "the signed-out device's stream ends"
    );
    let id = publish(&server, me).await;
    assert!(
        kept.receives(id, SOON).await,
        "the device that stayed signed in keeps its stream"
    );
}

async fn whitelisted_server() -> (TestServer, i64) {
    let server = TestServer::start_with(&[("TELEGRAM_ALLOWED_USER_IDS", "42,43")]).await;
    let leaving = operator_rows::Entity::find()
        .all(&server.db.db)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.telegram_user_id == Some(42))
        .expect("operator 42 synced")
        .id;
    (server, leaving)
}

#[tokio::test]
async fn removal_from_the_whitelist_closes_the_operators_streams() {
    let (server, leaving) = whitelisted_server().await;
    let client = server.signed_in(Some(leaving)).await;
    let mut stream = live_stream(&server, &client, leaving).await;

    // What another process (the worker's bot) does when the configured whitelist shrinks.
    let report = operators::sync_whitelist(
        &server.db.db,
        &[TelegramUserId(43)],
        domain::timezone::TimeZone::UTC,
    )
    .await
    .unwrap();
    assert_eq!(report.disabled, 1);

    assert!(
        stream.ends(SOON).await,
        "the removed operator's stream ends"
    );
}

#[tokio::test]
async fn a_disabled_operators_stream_closes_even_while_its_session_row_remains() {
    let (server, leaving) = whitelisted_server().await;
    let client = server.signed_in(Some(leaving)).await;
    let mut stream = live_stream(&server, &client, leaving).await;

    let operator = operator_rows::Entity::find_by_id(leaving)
        .one(&server.db.db)
        .await
        .unwrap()
        .unwrap();
    let mut disabled: operator_rows::ActiveModel = operator.into();
    disabled.disabled_at = Set(Some(Utc::now()));
    disabled.update(&server.db.db).await.unwrap();

    assert!(
        stream.ends(SOON).await,
        "the disabled operator's stream ends"
    );
}
