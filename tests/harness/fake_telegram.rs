//! A stand-in for Telegram's Bot API on loopback, speaking its contract: calls are POSTs to
//! `/bot{TOKEN}/{method}` (method names in any case: teloxide spells them `SendMessage`), with
//! a JSON body, or multipart form data (teloxide's `setWebhook`); answers are
//! `{"ok":true,"result":…}` or `{"ok":false,"error_code","description","parameters"?}` with the
//! error's HTTP status.
//!
//! It records every call, answers as Telegram does (a full `Message` for `sendMessage` and
//! `editMessage*`, `true` for `answerCallbackQuery`, `setWebhook`, `deleteWebhook`, the
//! registered URL, or `""`, for `getWebhookInfo`), refuses an
//! unknown token (401 `Unauthorized`), a chat whose user never started the bot (403), and what
//! Telegram refuses of a message (an empty or too long text, callback data over 64 bytes); it
//! can be told to answer the next calls of a method with an error (flood control with its
//! `retry_after`, a permanent error, a 5xx). And it plays Telegram's side of the webhook:
//! updates are posted to the URL given at `setWebhook`, with its secret token in
//! `X-Telegram-Bot-Api-Secret-Token`.
//!
//! Unlike Telegram it takes `http://` webhook URLs on any port, as tests serve on loopback.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::service::{Answer, client, eventually};

/// The header Telegram sends the webhook's secret token in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// One call a bot made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method as the client spelled it (`SendMessage`).
    pub method: String,
    /// The token from the path.
    pub token: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The parameters: the JSON body, or the multipart form's fields (JSON-looking values read
    /// as JSON).
    pub body: Value,
    /// What the fake answered: the HTTP status and the body.
    pub status: u16,
    pub answer: Value,
    pub at: Timestamp,
}

impl Call {
    /// Whether it is a call of `method`, in any case (`sendMessage` = `SendMessage`).
    pub fn is(&self, method: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
    }

    pub fn succeeded(&self) -> bool {
        self.status == 200
    }
}

/// An error to answer with instead of the call's result.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 with `parameters.retry_after`.
    RetryAfter(u32),
    /// Any error: status and description, e.g. 403 "Forbidden: bot was blocked by the user".
    Api { status: u16, description: String },
    /// 500 "Internal Server Error" (teloxide waits 10 s before reading it).
    ServerError,
}

impl Failure {
    pub fn blocked() -> Failure {
        Failure::Api { status: 403, description: "Forbidden: bot was blocked by the user".into() }
    }
}

/// What `setWebhook` registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Option<Value>,
}

struct Inner {
    token: String,
    bot_id: i64,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<HashMap<String, VecDeque<Failure>>>,
    webhook: Mutex<Option<Webhook>>,
    /// Chats whose user started the bot: a bot can't write first.
    started: Mutex<BTreeSet<i64>>,
    /// Messages sent, by chat and message id, for taps on them.
    sent: Mutex<HashMap<(i64, i64), Value>>,
    next_message_id: AtomicI64,
    next_update_id: AtomicI64,
    next_query_id: AtomicI64,
}

/// The fake Bot API, serving one bot.
pub struct FakeTelegram {
    /// The base URL to give as `api_base_url`: `http://127.0.0.1:PORT`.
    pub url: String,
    inner: Arc<Inner>,
    http: reqwest::Client,
    task: JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An end user of the bot.
#[derive(Debug, Clone)]
pub struct TelegramUser {
    pub id: i64,
    pub first_name: String,
    pub language_code: Option<String>,
}

impl TelegramUser {
    pub fn new(id: i64, first_name: &str, language_code: Option<&str>) -> TelegramUser {
        TelegramUser { id, first_name: first_name.to_owned(), language_code: language_code.map(str::to_owned) }
    }

    /// `RecipientId` as ratewire knows the user: the private chat's id, which is the user's.
    pub fn recipient(&self) -> String {
        self.id.to_string()
    }

    fn json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(language) = &self.language_code {
            user["language_code"] = json!(language);
        }
        user
    }

    fn chat(&self) -> Value {
        json!({ "id": self.id, "type": "private", "first_name": self.first_name })
    }
}

impl FakeTelegram {
    /// A fake serving the bot with `token` (`<bot id>:<secret>`), on a free loopback port.
    pub async fn start(token: &str) -> FakeTelegram {
        let bot_id = token.split(':').next().and_then(|id| id.parse().ok()).unwrap_or(1);
        let inner = Arc::new(Inner {
            token: token.to_owned(),
            bot_id,
            calls: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
            webhook: Mutex::new(None),
            started: Mutex::new(BTreeSet::new()),
            sent: Mutex::new(HashMap::new()),
            next_message_id: AtomicI64::new(100),
            next_update_id: AtomicI64::new(500_000_000),
            next_query_id: AtomicI64::new(7_000_000_000_000_000),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let router = axum::Router::new().route("/{bot}/{method}", axum::routing::post(call)).with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the fake Bot API serves");
        });
        FakeTelegram { url: format!("http://{address}"), inner, http: client(), task }
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The calls of one method (in any case), oldest first.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|call| call.is(method)).collect()
    }

    /// The messages sent to a chat (successful `sendMessage` calls), oldest first.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls_of("sendMessage").into_iter().filter(|c| c.succeeded() && c.body["chat_id"] == json!(chat)).collect()
    }

    /// The id of the last message sent to a chat.
    pub fn last_message_id(&self, chat: i64) -> i64 {
        let sent = self.sent_to(chat);
        let last = sent.last().unwrap_or_else(|| panic!("no message was sent to chat {chat}"));
        last.answer["result"]["message_id"].as_i64().expect("a sent message has an id")
    }

    /// The texts sent to a chat, oldest first.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.sent_to(chat).iter().map(|c| c.body["text"].as_str().unwrap_or_default().to_owned()).collect()
    }

    /// Waits until the calls so far satisfy `done`, and returns them.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        eventually(what, || async {
            let calls = self.calls();
            done(&calls).then_some(calls)
        })
        .await
    }

    /// Waits until `count` messages were sent to `chat`, and returns their texts.
    pub async fn wait_for_texts(&self, chat: i64, count: usize) -> Vec<String> {
        eventually(&format!("{count} messages to chat {chat}"), || async {
            let texts = self.texts_to(chat);
            (texts.len() >= count).then_some(texts)
        })
        .await
    }

    /// Answers the next `times` calls of `method` with `failure`.
    pub fn fail_next(&self, method: &str, times: usize, failure: Failure) {
        let mut failures = self.inner.failures.lock().unwrap_or_else(|p| p.into_inner());
        let queue = failures.entry(method.to_ascii_lowercase()).or_default();
        queue.extend(std::iter::repeat_n(failure, times));
    }

    /// Registers a webhook as another client of the bot would (`setWebhook` from elsewhere).
    pub fn set_webhook_elsewhere(&self, url: &str) {
        let webhook = Webhook { url: url.to_owned(), secret_token: None, allowed_updates: None };
        *self.inner.webhook.lock().unwrap_or_else(|p| p.into_inner()) = Some(webhook);
    }

    /// What `setWebhook` registered last.
    pub fn webhook(&self) -> Option<Webhook> {
        self.inner.webhook.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The message the bot sent in `chat` with `message_id`, as Telegram keeps it.
    pub fn message(&self, chat: i64, message_id: i64) -> Option<Value> {
        self.inner.sent.lock().unwrap_or_else(|p| p.into_inner()).get(&(chat, message_id)).cloned()
    }

    /// A private text message from `user`, sent at `date`, as an update.
    pub fn text_update(&self, user: &TelegramUser, text: &str, date: Timestamp) -> Value {
        let message_id = self.inner.next_message_id.fetch_add(1, Ordering::SeqCst);
        json!({
            "update_id": self.inner.next_update_id.fetch_add(1, Ordering::SeqCst),
            "message": {
                "message_id": message_id, "from": user.json(), "chat": user.chat(), "date": date.as_second(),
                "text": text,
            },
        })
    }

    /// A tap by `user` on the button with `data` of the bot's message `message_id`, as an update.
    pub fn tap_update(&self, user: &TelegramUser, message_id: i64, data: &str) -> Value {
        let message = self
            .message(user.id, message_id)
            .unwrap_or_else(|| panic!("the bot sent no message {message_id} to chat {}", user.id));
        json!({
            "update_id": self.inner.next_update_id.fetch_add(1, Ordering::SeqCst),
            "callback_query": {
                "id": self.inner.next_query_id.fetch_add(1, Ordering::SeqCst).to_string(),
                "from": user.json(),
                "message": message,
                "chat_instance": format!("-{}", user.id * 7),
                "data": data,
            },
        })
    }

    /// Posts an update to the registered webhook, with the registered secret, as Telegram does.
    pub async fn deliver(&self, update: &Value) -> Answer {
        let webhook = self.webhook().expect("no webhook registered (setWebhook)");
        let body = serde_json::to_vec(update).expect("an update serializes");
        self.post(&webhook.url, webhook.secret_token.as_deref(), body).await
    }

    /// The user starts the bot (`/start`): from now on the bot may write to them.
    pub async fn start_bot(&self, user: &TelegramUser) -> Answer {
        let update = self.text_update(user, "/start", Timestamp::now());
        self.deliver(&update).await
    }

    /// Posts raw bytes to `url`, with the secret token header if given.
    pub async fn post(&self, url: &str, secret: Option<&str>, body: Vec<u8>) -> Answer {
        if let Some(chat) = serde_json::from_slice::<Value>(&body).ok().as_ref().and_then(update_chat) {
            self.inner.started.lock().unwrap_or_else(|p| p.into_inner()).insert(chat);
        }
        let mut request = self.http.post(url).header("content-type", "application/json").body(body);
        if let Some(secret) = secret {
            request = request.header(SECRET_HEADER, secret);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("posting an update to {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer { status, headers, text }
    }
}

/// The private chat an update comes from, if any.
fn update_chat(update: &Value) -> Option<i64> {
    let message = update.get("message").or_else(|| update.get("callback_query").and_then(|q| q.get("message")))?;
    let chat = &message["chat"];
    (chat["type"] == "private").then(|| chat["id"].as_i64()).flatten()
}

fn ok(result: Value) -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "ok": true, "result": result }))
}

fn error(status: u16, description: &str) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, json!({ "ok": false, "error_code": status.as_u16(), "description": description }))
}

fn failure(failure: Failure) -> (StatusCode, Value) {
    match failure {
        Failure::RetryAfter(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {seconds}"),
                "parameters": { "retry_after": seconds } }),
        ),
        Failure::Api { status, description } => error(status, &description),
        Failure::ServerError => error(500, "Internal Server Error"),
    }
}

async fn call(
    State(inner): State<Arc<Inner>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default().to_owned();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = if content_type.starts_with("multipart/form-data") {
        multipart(&content_type, &bytes)
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    let (status, answer) = if token != inner.token {
        error(401, "Unauthorized")
    } else {
        let scripted = inner
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&method.to_ascii_lowercase())
            .and_then(VecDeque::pop_front);
        match scripted {
            Some(scripted) => failure(scripted),
            None => answer(&inner, &method, &body),
        }
    };
    let record = Call {
        method,
        token,
        path: format!("/{bot}"),
        headers,
        body,
        status: status.as_u16(),
        answer: answer.clone(),
        at: Timestamp::now(),
    };
    inner.calls.lock().unwrap_or_else(|p| p.into_inner()).push(record);
    (status, axum::Json(answer)).into_response()
}

/// What Telegram answers a call that isn't scripted to fail.
fn answer(inner: &Inner, method: &str, body: &Value) -> (StatusCode, Value) {
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(
            json!({ "id": inner.bot_id, "is_bot": true, "first_name": "Acme Support", "username": "acme_support_bot" }),
        ),
        "setwebhook" => set_webhook(inner, body),
        "deletewebhook" => {
            let removed = inner.webhook.lock().unwrap_or_else(|p| p.into_inner()).take();
            let description = if removed.is_some() { "Webhook was deleted" } else { "Webhook is already deleted" };
            (StatusCode::OK, json!({ "ok": true, "result": true, "description": description }))
        }
        "getwebhookinfo" => {
            let webhook = inner.webhook.lock().unwrap_or_else(|p| p.into_inner()).clone();
            // Telegram's answer without a webhook: an empty URL.
            let mut info = json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 });
            if let Some(webhook) = webhook {
                info["url"] = json!(webhook.url);
                if let Some(allowed) = webhook.allowed_updates {
                    info["allowed_updates"] = allowed;
                }
            }
            ok(info)
        }
        "sendmessage" => send_message(inner, body),
        "editmessagereplymarkup" | "editmessagetext" => edit_message(inner, method, body),
        "answercallbackquery" => {
            if body["callback_query_id"].as_str().is_none_or(str::is_empty) {
                return error(400, "Bad Request: query is too old and response timeout expired or query id is invalid");
            }
            if body["text"].as_str().is_some_and(|text| text.chars().count() > 200) {
                return error(400, "Bad Request: MESSAGE_TOO_LONG");
            }
            ok(json!(true))
        }
        _ => error(404, "Not Found: method not found"),
    }
}

fn set_webhook(inner: &Inner, body: &Value) -> (StatusCode, Value) {
    let Some(url) = body["url"].as_str().filter(|url| !url.is_empty()) else {
        return error(400, "Bad Request: bad webhook: URL must be provided");
    };
    let secret_token = body["secret_token"].as_str().map(str::to_owned);
    if let Some(secret) = &secret_token
        && (secret.is_empty()
            || secret.len() > 256
            || !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return error(400, "Bad Request: secret token contains unallowed characters");
    }
    let webhook = Webhook { url: url.to_owned(), secret_token, allowed_updates: body.get("allowed_updates").cloned() };
    *inner.webhook.lock().unwrap_or_else(|p| p.into_inner()) = Some(webhook);
    ok(json!(true))
}

/// Checks an inline keyboard as Telegram does.
fn check_markup(body: &Value) -> Result<(), (StatusCode, Value)> {
    let Some(markup) = body.get("reply_markup") else { return Ok(()) };
    let rows = markup["inline_keyboard"]
        .as_array()
        .ok_or_else(|| error(400, "Bad Request: can't parse reply keyboard markup JSON object"))?;
    for button in rows.iter().flat_map(|row| row.as_array().into_iter().flatten()) {
        if button["text"].as_str().is_none_or(str::is_empty) {
            return Err(error(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            ));
        }
        if let Some(data) = button.get("callback_data")
            && data.as_str().is_none_or(|data| data.is_empty() || data.len() > 64)
        {
            return Err(error(400, "Bad Request: BUTTON_DATA_INVALID"));
        }
    }
    Ok(())
}

fn send_message(inner: &Inner, body: &Value) -> (StatusCode, Value) {
    let Some(chat) = body["chat_id"].as_i64() else { return error(400, "Bad Request: chat not found") };
    let text = body["text"].as_str().unwrap_or_default();
    if text.is_empty() {
        return error(400, "Bad Request: message text is empty");
    }
    if text.chars().count() > 4096 {
        return error(400, "Bad Request: message is too long");
    }
    if let Err(refused) = check_markup(body) {
        return refused;
    }
    if !inner.started.lock().unwrap_or_else(|p| p.into_inner()).contains(&chat) {
        return error(403, "Forbidden: bot can't initiate conversation with a user");
    }
    let message_id = inner.next_message_id.fetch_add(1, Ordering::SeqCst);
    let mut message = json!({
        "message_id": message_id,
        "from": { "id": inner.bot_id, "is_bot": true, "first_name": "Acme Support", "username": "acme_support_bot" },
        "chat": { "id": chat, "type": "private", "first_name": "User" },
        "date": Timestamp::now().as_second(),
        "text": text,
    });
    if let Some(markup) = body.get("reply_markup") {
        message["reply_markup"] = markup.clone();
    }
    inner.sent.lock().unwrap_or_else(|p| p.into_inner()).insert((chat, message_id), message.clone());
    ok(message)
}

fn edit_message(inner: &Inner, method: &str, body: &Value) -> (StatusCode, Value) {
    let (Some(chat), Some(message_id)) = (body["chat_id"].as_i64(), body["message_id"].as_i64()) else {
        return error(400, "Bad Request: message identifier is not specified");
    };
    if let Err(refused) = check_markup(body) {
        return refused;
    }
    let mut sent = inner.sent.lock().unwrap_or_else(|p| p.into_inner());
    let Some(message) = sent.get_mut(&(chat, message_id)) else {
        return error(400, "Bad Request: message to edit not found");
    };
    let before = message.clone();
    if method.eq_ignore_ascii_case("editMessageText") {
        message["text"] = body["text"].clone();
    }
    match body.get("reply_markup") {
        Some(markup) => message["reply_markup"] = markup.clone(),
        None => {
            message.as_object_mut().map(|m| m.remove("reply_markup"));
        }
    }
    if *message == before {
        return error(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        );
    }
    message["edit_date"] = json!(Timestamp::now().as_second());
    ok(message.clone())
}

/// The fields of a `multipart/form-data` body, as teloxide sends them: text parts, with
/// arrays and objects as JSON.
fn multipart(content_type: &str, body: &[u8]) -> Value {
    let Some(boundary) = content_type.split("boundary=").nth(1).map(|b| b.trim_matches('"')) else {
        return Value::Null;
    };
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = head.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()) else { continue };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let parsed = match serde_json::from_str::<Value>(value) {
            Ok(json) if json.is_array() || json.is_object() => json,
            _ => Value::String(value.to_owned()),
        };
        fields.insert(name.to_owned(), parsed);
    }
    Value::Object(fields)
}
