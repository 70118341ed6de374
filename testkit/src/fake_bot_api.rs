//! A fake Telegram Bot API on 127.0.0.1:0 for the worker's real teloxide client: it serves getMe,
//! getWebhookInfo, deleteWebhook and getUpdates (from updates the caller queues, honouring
//! `offset`), and records every other call — sendMessage, sendPhoto, editMessageMedia,
//! setMyCommands, answerCallbackQuery — with its parameters. Methods can be made to answer 500,
//! as Telegram does in an outage, or to take a message and then never answer or answer garbage,
//! as when the connection drops after Telegram accepted it.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

/// How a method misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Fail,
    Swallow,
    Garble,
}

/// One recorded call.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// JSON parameters, or the text parts of a multipart body (JSON-looking parts parsed).
    pub params: Value,
    /// A multipart part held PNG bytes.
    pub has_photo: bool,
    /// Whether Telegram took it (the user sees it), whatever the answer was.
    pub ok: bool,
    /// The message id the fake gave the sent or edited message.
    pub message_id: Option<i64>,
}

impl Call {
    pub fn chat_id(&self) -> Option<i64> {
        as_i64(&self.params["chat_id"])
    }

    pub fn text(&self) -> &str {
        self.params["text"].as_str().unwrap_or_default()
    }

    /// The caption of a photo, or of the photo inside an editMessageMedia.
    pub fn caption(&self) -> Option<&str> {
        self.params["caption"]
            .as_str()
            .or_else(|| self.params["media"]["caption"].as_str())
    }
}

struct Inner {
    token: String,
    updates: Mutex<Vec<Value>>,
    queued: Notify,
    calls: Mutex<Vec<Call>>,
    /// Methods that do not answer normally.
    faults: Mutex<HashMap<String, Fault>>,
    next_update_id: AtomicI64,
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
    /// Serves the bot `token`; panics if it cannot listen.
    pub async fn start(token: &str) -> Self {
        Self::try_start(token)
            .await
            .expect("the fake Bot API listens")
    }

    pub async fn try_start(token: &str) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            token: token.to_owned(),
            updates: Mutex::new(Vec::new()),
            queued: Notify::new(),
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
            next_update_id: AtomicI64::new(1),
            next_message_id: AtomicI64::new(1000),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Ok(Self { url, inner, server })
    }

    /// Queues a text message from `user` in their private chat.
    pub fn message(&self, user: i64, text: &str) {
        let message_id = self.inner.next_message_id.fetch_add(1, Ordering::Relaxed);
        self.queue(|id| {
            json!({
                "update_id": id,
                "message": {
                    "message_id": message_id,
                    "date": 1_800_000_000,
                    "chat": { "id": user, "type": "private", "first_name": "User" },
                    "from": { "id": user, "is_bot": false, "first_name": "User" },
                    "text": text,
                }
            })
        });
    }

    /// Queues a button press by `user` on a message of the bot's in their private chat.
    pub fn press(&self, user: i64, data: &str) {
        let message_id = self.inner.next_message_id.fetch_add(1, Ordering::Relaxed);
        self.queue(|id| {
            json!({
                "update_id": id,
                "callback_query": {
                    "id": format!("cb{id}"),
                    "from": { "id": user, "is_bot": false, "first_name": "User" },
                    "chat_instance": "1",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": 1_800_000_000,
                        "chat": { "id": user, "type": "private", "first_name": "User" },
                        "from": { "id": 1, "is_bot": true, "first_name": "Herald", "username": "herald_test_bot" },
                        "text": "Your accounts:",
                    }
                }
            })
        });
    }

    fn queue(&self, update: impl FnOnce(i64) -> Value) {
        let id = self.inner.next_update_id.fetch_add(1, Ordering::Relaxed);
        self.inner.updates.lock().unwrap().push(update(id));
        self.inner.queued.notify_waiters();
    }

    /// From now on `method` answers 500.
    pub fn fail(&self, method: &str) {
        self.set_fault(method, Fault::Fail);
    }

    /// From now on `method` takes the message (the user sees it) and never answers.
    pub fn swallow(&self, method: &str) {
        self.set_fault(method, Fault::Swallow);
    }

    /// From now on `method` takes the message (the user sees it) and answers something that is
    /// not JSON.
    pub fn garble(&self, method: &str) {
        self.set_fault(method, Fault::Garble);
    }

    /// `method` answers normally again.
    pub fn heal(&self, method: &str) {
        self.inner.faults.lock().unwrap().remove(method);
    }

    fn set_fault(&self, method: &str, fault: Fault) {
        self.inner
            .faults
            .lock()
            .unwrap()
            .insert(method.to_owned(), fault);
    }

    /// Every recorded call of `method`, in order.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.inner
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// How many calls were refused (answered 500).
    pub fn refused(&self) -> usize {
        self.inner
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| !c.ok)
            .count()
    }

    /// The texts of the messages Telegram accepted for `chat`, in order: what the user saw.
    pub fn delivered(&self, chat: i64) -> Vec<String> {
        self.calls("sendMessage")
            .into_iter()
            .filter(|c| c.ok && c.chat_id() == Some(chat))
            .map(|c| c.text().to_owned())
            .collect()
    }

    /// Waits (bounded, polling) for a call of `method` that `pick` accepts.
    pub async fn wait_for(&self, method: &str, what: &str, pick: impl Fn(&Call) -> bool) -> Call {
        for _ in 0..1000 {
            if let Some(call) = self.calls(method).into_iter().find(|c| pick(c)) {
                return call;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no {method} call: {what}; calls were {:#?}",
            self.inner.calls.lock().unwrap()
        );
    }

    /// Waits for a message to `chat` whose text satisfies `pick`.
    pub async fn wait_text(&self, chat: i64, what: &str, pick: impl Fn(&str) -> bool) -> Call {
        self.wait_for("sendMessage", what, |c| {
            c.chat_id() == Some(chat) && pick(c.text())
        })
        .await
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((token, method)) = uri
        .path()
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return failure(StatusCode::NOT_FOUND, "Not Found");
    };
    if token != inner.token {
        return failure(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // Method names are case-insensitive (teloxide sends "SendMessage"): record them as
    // Telegram's documentation spells them.
    let mut chars = method.chars();
    let method = chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default();
    let method = method.as_str();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (params, has_photo) = if content_type.starts_with("multipart/form-data") {
        multipart(&content_type, &body)
    } else {
        (serde_json::from_slice(&body).unwrap_or(json!({})), false)
    };
    match method {
        "getMe" => ok(json!({
            "id": 1, "is_bot": true, "first_name": "Herald", "username": "herald_test_bot",
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        })),
        "getWebhookInfo" => {
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }))
        }
        "deleteWebhook" => ok(json!(true)),
        "getUpdates" => ok(Value::Array(updates(&inner, &params).await)),
        _ => {
            let fault = inner.faults.lock().unwrap().get(method).copied();
            let message_id = match method {
                "sendMessage" | "sendPhoto" => {
                    Some(inner.next_message_id.fetch_add(1, Ordering::Relaxed))
                }
                "editMessageMedia" => as_i64(&params["message_id"]),
                _ => None,
            };
            inner.calls.lock().unwrap().push(Call {
                method: method.to_owned(),
                params: params.clone(),
                has_photo,
                ok: fault != Some(Fault::Fail),
                message_id,
            });
            match fault {
                Some(Fault::Fail) => {
                    return failure(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                }
                Some(Fault::Swallow) => std::future::pending::<()>().await,
                Some(Fault::Garble) => {
                    return (StatusCode::OK, "<html>bad gateway</html>").into_response();
                }
                None => {}
            }
            match message_id {
                Some(message_id) => ok(sent_message(message_id, &params, has_photo)),
                None => ok(json!(true)),
            }
        }
    }
}

/// Queued updates from `offset` on; when there are none, waits briefly (a short long poll).
async fn updates(inner: &Inner, params: &Value) -> Vec<Value> {
    let offset = as_i64(&params["offset"]).unwrap_or(0);
    let pending = || {
        let mut queue = inner.updates.lock().unwrap();
        // Telegram forgets everything below the offset once asked for it.
        queue.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
        queue.clone()
    };
    let now = pending();
    let long_poll = as_i64(&params["timeout"]).unwrap_or(0) > 0;
    if !now.is_empty() || !long_poll {
        return now;
    }
    let _ = tokio::time::timeout(Duration::from_millis(300), inner.queued.notified()).await;
    pending()
}

fn sent_message(message_id: i64, params: &Value, photo: bool) -> Value {
    let chat_id = as_i64(&params["chat_id"]).unwrap_or(0);
    let mut message = json!({
        "message_id": message_id,
        "date": 1_800_000_000,
        "chat": { "id": chat_id, "type": "private", "first_name": "User" },
        "from": { "id": 1, "is_bot": true, "first_name": "Herald", "username": "herald_test_bot" },
    });
    if photo {
        message["photo"] =
            json!([{ "file_id": "qr", "file_unique_id": "qr", "width": 400, "height": 400 }]);
        if let Some(caption) = params["caption"]
            .as_str()
            .or_else(|| params["media"]["caption"].as_str())
        {
            message["caption"] = json!(caption);
        }
    } else {
        message["text"] = params["text"].clone();
    }
    message
}

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn failure(status: StatusCode, description: &str) -> Response {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    (status, Json(body)).into_response()
}

fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// The text parts of a multipart body (parts that are JSON become JSON), and whether any part
/// held a PNG.
fn multipart(content_type: &str, body: &[u8]) -> (Value, bool) {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (json!({}), false);
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut params = Map::new();
    let mut has_photo = false;
    for part in split(body, delimiter.as_bytes()) {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split_at) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split_at]);
        let content = &part[split_at + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let Some(name) = headers
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        if content.starts_with(b"\x89PNG") {
            has_photo = true;
            continue;
        }
        let text = String::from_utf8_lossy(content).into_owned();
        let value = serde_json::from_str::<Value>(&text)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .unwrap_or(Value::String(text));
        params.insert(name.to_owned(), value);
    }
    (Value::Object(params), has_photo)
}

fn split<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        parts.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    parts.push(rest);
    parts
        .into_iter()
        .skip(1)
        .filter(|p| !p.starts_with(b"--"))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
