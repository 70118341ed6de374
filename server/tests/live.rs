//! The live parts of the account pages over real HTTP: the event stream resumes exactly where a
//! client left off, and the pairing QR image is served only to its operator.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::TestServer;
use domain::{
    bus::Event,
    status::{AccountStatus, Provider},
};
use entity::{operators, whatsapp_accounts};
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ActiveModelTrait, Set};
use service::bus::events;

/// One parsed Server-Sent Event.
#[derive(Debug, PartialEq)]
struct Message {
    id: i64,
    event: Event,
}

/// Reads an SSE response message by message (keep-alive comments are skipped).
struct Stream {
    response: Response,
    buffer: String,
}

impl Stream {
    async fn open(client: &Client, url: String, last_event_id: Option<i64>) -> Self {
        let mut request = client.get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an SSE response"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message, or `None` if none arrives within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match id {
                    Some(id) => {
                        return Some(Message {
                            id,
                            event: serde_json::from_str(&data).unwrap(),
                        });
                    }
                    None => continue, // a keep-alive comment
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn publish(server: &TestServer, operator_id: i64, account_id: i64) -> i64 {
    events::publish(
        &server.db.db,
        Some(operator_id),
        &Event::Timeout { account_id },
    )
    .await
    .unwrap()
}

async fn local_operator(server: &TestServer) -> i64 {
    service::operators::active(&server.db.db).await.unwrap()[0].id
}

async fn other_operator(server: &TestServer) -> i64 {
    let now = Utc::now();
    operators::ActiveModel {
        telegram_user_id: Set(Some(4242)),
        display_name: Set("Someone else".into()),
        timezone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&server.db.db)
    .await
    .unwrap()
    .id
}

const SOON: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(700);

#[tokio::test]
async fn sse_resume_delivers_every_missed_event_exactly_once() {
    let server = TestServer::start().await;
    let me = local_operator(&server).await;
    let them = other_operator(&server).await;
    let client = server.signed_in(Some(me)).await;

    let before: Vec<i64> = [
        publish(&server, me, 1).await,
        publish(&server, them, 99).await,
        publish(&server, me, 2).await,
    ]
    .into();
    let mut stream = Stream::open(&client, server.url("/api/events?after=0"), None).await;
    let first = stream.next(SOON).await.unwrap();
    let second = stream.next(SOON).await.unwrap();
    assert_eq!(
        (first.id, second.id),
        (before[0], before[2]),
        "another operator's event is not delivered"
    );
    assert_eq!(first.event, Event::Timeout { account_id: 1 });
    let live = publish(&server, me, 3).await;
    assert_eq!(
        stream.next(SOON).await.unwrap().id,
        live,
        "live events arrive"
    );

    // The connection drops; three events happen while the client is away.
    drop(stream);
    let missed = [
        publish(&server, me, 4).await,
        publish(&server, them, 98).await,
        publish(&server, me, 5).await,
    ];
    // The browser reconnects with Last-Event-ID; it wins over the page's `after`.
    let mut stream = Stream::open(&client, server.url("/api/events?after=0"), Some(live)).await;
    let resumed = [
        stream.next(SOON).await.unwrap(),
        stream.next(SOON).await.unwrap(),
    ];
    assert_eq!(
        resumed.iter().map(|m| m.id).collect::<Vec<_>>(),
        [missed[0], missed[2]]
    );
    assert_eq!(resumed[1].event, Event::Timeout { account_id: 5 });
    assert_eq!(stream.next(QUIET).await, None, "nothing is delivered twice");
    let after = publish(&server, me, 6).await;
    assert_eq!(stream.next(SOON).await.unwrap().id, after);
}

#[tokio::test]
async fn a_fresh_stream_starts_at_the_newest_event() {
    let server = TestServer::start().await;
    let me = local_operator(&server).await;
    let client = server.signed_in(Some(me)).await;
    publish(&server, me, 1).await;
    let mut stream = Stream::open(&client, server.url("/api/events"), None).await;
    assert_eq!(stream.next(QUIET).await, None, "history is not replayed");
    let id = publish(&server, me, 2).await;
    assert_eq!(stream.next(SOON).await.unwrap().id, id);
}

async fn account_with_qr(server: &TestServer, operator_id: i64, png: Option<Vec<u8>>) -> i64 {
    let now = Utc::now();
    whatsapp_accounts::ActiveModel {
        operator_id: Set(operator_id),
        label: Set(format!("Account {}", now.timestamp_nanos_opt().unwrap())),
        provider: Set(Provider::Sim),
        status: Set(AccountStatus::Pending),
        session_generation: Set(1),
        last_qr_png: Set(png),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&server.db.db)
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn the_qr_image_is_served_only_to_its_operator_and_never_cached() {
    let server = TestServer::start().await;
    let me = local_operator(&server).await;
    let them = other_operator(&server).await;
    let client = server.signed_in(Some(me)).await;
    let png = qr::png("2@code,for,test").unwrap();
    let mine = account_with_qr(&server, me, Some(png.clone())).await;
    let no_code = account_with_qr(&server, me, None).await;
    let theirs = account_with_qr(&server, them, Some(png.clone())).await;

    let response = client
        .get(server.url(&format!("/api/accounts/{mine}/qr.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.bytes().await.unwrap(), png);

    for id in [no_code, theirs] {
        let response = client
            .get(server.url(&format!("/api/accounts/{id}/qr.png")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "account {id}");
    }
    let anonymous = common::client()
        .get(server.url(&format!("/api/accounts/{mine}/qr.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
