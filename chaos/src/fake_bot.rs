//! A fake Telegram Bot API for the worker's teloxide client: it answers getMe, getWebhookInfo,
//! deleteWebhook and getUpdates (never any update), and records every sendMessage and sendPhoto
//! it accepts. It can be made to answer 500 for a while, as Telegram does in an outage.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

pub const TOKEN: &str = "424242:chaos-harness-bot-token";

/// A message the fake accepted: what the operator would have seen.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub chat_id: i64,
    pub text: String,
}

#[derive(Default)]
struct Inner {
    delivered: Mutex<Vec<Delivered>>,
    /// Refused while Telegram is "down"; counted, never delivered.
    refused: AtomicI64,
    down: AtomicBool,
    next_message_id: AtomicI64,
}

pub struct FakeBotApi {
    pub url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeBotApi {
    pub async fn start() -> anyhow::Result<Self> {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, inner, server })
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.inner
            .delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn refused(&self) -> i64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::Relaxed);
    }
}

async fn handle(State(inner): State<Arc<Inner>>, uri: Uri, body: Bytes) -> Response {
    let Some((token, method)) = uri
        .path()
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return failure(StatusCode::NOT_FOUND, "Not Found");
    };
    if token != TOKEN {
        return failure(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // teloxide spells methods with a capital first letter; Telegram ignores case.
    let method = method.to_ascii_lowercase();
    let params: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    match method.as_str() {
        "getme" => ok(json!({
            "id": 1, "is_bot": true, "first_name": "Herald", "username": "herald_chaos_bot",
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        })),
        "getwebhookinfo" => {
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }))
        }
        "deletewebhook" | "setmycommands" | "answercallbackquery" => ok(json!(true)),
        "getupdates" => {
            // A short long poll: nobody ever writes to this bot.
            if params["timeout"].as_i64().unwrap_or(0) > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            ok(json!([]))
        }
        "sendmessage" | "sendphoto" | "editmessagemedia" | "editmessagetext" => {
            if inner.down.load(Ordering::Relaxed) {
                inner.refused.fetch_add(1, Ordering::Relaxed);
                return failure(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
            let chat_id = params["chat_id"]
                .as_i64()
                .or_else(|| params["chat_id"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            let text = params["text"]
                .as_str()
                .or_else(|| params["caption"].as_str())
                .unwrap_or_default()
                .to_owned();
            if method == "sendmessage" {
                inner
                    .delivered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Delivered { chat_id, text });
            }
            let message_id = inner.next_message_id.fetch_add(1, Ordering::Relaxed) + 1000;
            ok(json!({
                "message_id": message_id,
                "date": 1_800_000_000,
                "chat": { "id": chat_id, "type": "private", "first_name": "Operator" },
                "from": { "id": 1, "is_bot": true, "first_name": "Herald", "username": "herald_chaos_bot" },
                "text": params["text"].as_str().unwrap_or_default(),
            }))
        }
        _ => ok(json!(true)),
    }
}

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn failure(status: StatusCode, description: &str) -> Response {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    (status, Json(body)).into_response()
}
