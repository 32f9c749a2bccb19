//! A stand-in for Meta's Messenger Platform, for ratewire's Messenger channel: the Send API
//! (`POST /{version}/me/messages` with the Page token) checked against Meta's documented limits
//! and answered as Meta answers, and the Page's webhooks posted to ratewire as Meta posts them
//! ([`crate::meta`]). Records every request; can be told to answer the next sends with an error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::meta::Webhooks;
use crate::service::eventually;

/// Meta's limits on one message, as documented.
const MAX_TEXT: usize = 2000;
const MAX_QUICK_REPLIES: usize = 13;
const MAX_TITLE: usize = 20;
const MAX_PAYLOAD: usize = 1000;
const CURRENT_TAGS: [&str; 4] = ["CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"];

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it wasn't).
    pub json: Value,
    /// The status the fake answered with.
    pub answered: u16,
    /// The `message_id` it answered with, when it took the message.
    pub message_id: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The message's text.
    pub fn text(&self) -> &str {
        self.json["message"]["text"].as_str().unwrap_or_default()
    }

    /// The page-scoped id the message went to.
    pub fn recipient(&self) -> &str {
        self.json["recipient"]["id"].as_str().unwrap_or_default()
    }
}

/// An error to answer a send with, as the Graph API gives it.
#[derive(Debug, Clone)]
pub enum Failure {
    /// `(#613) Calls to this api have exceeded the rate limit`, with Meta's business use case
    /// usage header saying in how many minutes access comes back.
    RateLimited { minutes: u64 },
    /// A Graph error body with this HTTP status.
    Graph { status: u16, code: i64, subcode: Option<i64>, message: String },
    /// A bare HTTP status with no Graph error (a 502 from Meta's edge).
    Status(u16),
}

impl Failure {
    /// `(#551/1545041) This person isn't available right now.`
    pub fn user_unavailable() -> Failure {
        Failure::Graph {
            status: 400,
            code: 551,
            subcode: Some(1545041),
            message: "This person isn't available right now.".into(),
        }
    }

    /// `(#10/2018278) This message is sent outside of allowed window.`
    pub fn outside_window() -> Failure {
        Failure::Graph {
            status: 400,
            code: 10,
            subcode: Some(2018278),
            message: "(#10) This message is sent outside of allowed window.".into(),
        }
    }
}

struct Inner {
    page_id: String,
    /// Where Meta posts the Page's webhooks, once a test says (the channel's `webhook_url`):
    /// every message taken is then echoed back, as to a Page subscribed to `message_echoes`.
    echo_hook: Mutex<Option<String>>,
    /// How long a send is held before it is answered (it is taken, and recorded, at once).
    answer_delay: Mutex<std::time::Duration>,
    /// How much later than its answer a message taken is reported back.
    report_delay: Mutex<std::time::Duration>,
    webhooks: Webhooks,
    page_token: String,
    requests: Mutex<Vec<Request>>,
    failures: Mutex<VecDeque<Failure>>,
    sent: AtomicU64,
}

/// The fake platform, on a free loopback port.
pub struct FakeMessenger {
    /// `http://127.0.0.1:PORT`: the channel's `api_base_url`.
    pub base: String,
    pub page_id: String,
    pub page_token: String,
    /// The Page's webhooks to ratewire, signed with the app secret.
    pub webhooks: Webhooks,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl FakeMessenger {
    pub async fn start() -> FakeMessenger {
        let page_id = "104729385612345".to_owned();
        let page_token = format!("EAAG{}", uuid_like());
        let webhooks = Webhooks::new(&format!("appsecret-{}", uuid_like()));
        let inner = Arc::new(Inner {
            page_id: page_id.clone(),
            echo_hook: Mutex::new(None),
            answer_delay: Mutex::new(std::time::Duration::ZERO),
            report_delay: Mutex::new(std::time::Duration::ZERO),
            webhooks: webhooks.clone(),
            page_token: page_token.clone(),
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            sent: AtomicU64::new(0),
        });
        let router = axum::Router::new()
            .route("/{version}/{node}/messages", axum::routing::post(send))
            .fallback(unknown)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the fake Messenger serves");
        });
        FakeMessenger { base: format!("http://{address}"), page_id, page_token, webhooks, inner, task }
    }

    /// Echoes every message taken from now on to `hook` (the channel's `webhook_url`), as Meta
    /// does for a Page subscribed to `message_echoes`: signed, with the send's `metadata`, and
    /// redelivered until the gateway answers 200.
    pub fn echo_to(&self, hook: &str) {
        *self.inner.echo_hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook.to_owned());
    }

    /// Reports each message taken this much later than its answer: platforms' webhooks lag.
    pub fn delay_reports(&self, delay: std::time::Duration) {
        *self.inner.report_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Holds each send this long before answering it: the message is taken (and recorded) when
    /// it arrives, as a platform takes it before its answer reaches the sender.
    pub fn answer_after(&self, delay: std::time::Duration) {
        *self.inner.answer_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Answers the next sends with these errors, in order, then succeeds again.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.inner.failures.lock().unwrap_or_else(|p| p.into_inner()).extend(failures);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The sends to `psid` so far, whatever they were answered.
    pub fn sends_to(&self, psid: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.recipient() == psid).collect()
    }

    /// The messages delivered to `psid` so far (answered 200).
    pub fn delivered_to(&self, psid: &str) -> Vec<Request> {
        self.sends_to(psid).into_iter().filter(|r| r.answered == 200).collect()
    }

    /// Waits until `count` messages were delivered to `psid`, and returns them.
    pub async fn wait_for_delivered(&self, psid: &str, count: usize) -> Vec<Request> {
        eventually(&format!("{count} messages delivered to {psid}"), || async {
            let delivered = self.delivered_to(psid);
            (delivered.len() >= count).then_some(delivered)
        })
        .await
    }

    /// Waits until `count` sends to `psid` were made, whatever they were answered.
    pub async fn wait_for_sends(&self, psid: &str, count: usize) -> Vec<Request> {
        eventually(&format!("{count} sends to {psid}"), || async {
            let sends = self.sends_to(psid);
            (sends.len() >= count).then_some(sends)
        })
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Webhooks, as Meta posts them.

    /// A notification for the Page carrying these `messaging` events.
    pub fn notification(&self, events: Vec<Value>) -> Value {
        json!({
            "object": "page",
            "entry": [{ "id": self.page_id, "time": Timestamp::now().as_millisecond(), "messaging": events }],
        })
    }

    fn event(&self, psid: &str, at: Timestamp, body: (&str, Value)) -> Value {
        let mut event = json!({
            "sender": { "id": psid },
            "recipient": { "id": self.page_id },
            "timestamp": at.as_millisecond(),
        });
        event[body.0] = body.1;
        event
    }

    /// A person's text message.
    pub fn text(&self, psid: &str, mid: &str, text: &str, at: Timestamp) -> Value {
        self.event(psid, at, ("message", json!({ "mid": mid, "text": text })))
    }

    /// A tap on a quick reply: the title as the text, and the payload.
    pub fn quick_reply(&self, psid: &str, mid: &str, title: &str, payload: &str, at: Timestamp) -> Value {
        let message = json!({ "mid": mid, "text": title, "quick_reply": { "payload": payload } });
        self.event(psid, at, ("message", message))
    }

    /// The Page's own message, echoed back.
    pub fn echo(&self, psid: &str, mid: &str, text: &str, at: Timestamp) -> Value {
        let message = json!({ "mid": mid, "text": text, "is_echo": true, "app_id": 1_517_000_000_000_i64 });
        let mut event = self.event(&self.page_id, at, ("message", message));
        event["recipient"] = json!({ "id": psid });
        event
    }
}

impl Drop for FakeMessenger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn uuid_like() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// The Send API.

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": format!("A{}", uuid_like()),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({ "error": error }))).into_response()
}

/// Anything but a send: recorded, and refused as the Graph API refuses an unknown path.
async fn unknown(
    State(inner): State<Arc<Inner>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let request = Request {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered: 400,
        message_id: None,
    };
    inner.requests.lock().unwrap_or_else(|p| p.into_inner()).push(request);
    graph_error(400, 2500, None, "Unknown path components")
}

async fn send(
    State(inner): State<Arc<Inner>>,
    Path((version, node)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (response, message_id) = match answer(&inner, &version, &node, query.as_deref(), &headers, &json) {
        Outcome::Taken(message_id) => {
            let recipient = json["recipient"]["id"].clone();
            (Json(json!({ "recipient_id": recipient, "message_id": message_id })).into_response(), Some(message_id))
        }
        Outcome::Refused(response) => (response, None),
    };
    let echo = message_id.as_ref().and_then(|mid| {
        let hook = inner.echo_hook.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some((hook, echo_of(&inner, mid, &json)))
    });
    let request = Request {
        method: "POST".into(),
        path: format!("/{version}/{node}/messages"),
        query,
        headers,
        json,
        answered: response.status().as_u16(),
        message_id,
    };
    inner.requests.lock().unwrap_or_else(|p| p.into_inner()).push(request);
    let delay = *inner.answer_delay.lock().unwrap_or_else(|p| p.into_inner());
    let report_delay = *inner.report_delay.lock().unwrap_or_else(|p| p.into_inner());
    inner.webhooks.answer_then_report(delay, report_delay, echo).await;
    response
}

/// The `message_echoes` notification of a message the Page sent: from the Page to the person,
/// with the text, the app, and the `metadata` the send carried.
fn echo_of(inner: &Inner, mid: &str, sent: &Value) -> Value {
    let mut message = json!({ "mid": mid, "is_echo": true, "app_id": 1_517_000_000_000_i64 });
    for field in ["text", "metadata", "quick_replies"] {
        if let Some(value) = sent["message"].get(field) {
            message[field] = value.clone();
        }
    }
    let event = json!({
        "sender": { "id": inner.page_id },
        "recipient": { "id": sent["recipient"]["id"] },
        "timestamp": Timestamp::now().as_millisecond(),
        "message": message,
    });
    json!({ "object": "page", "entry": [{ "id": inner.page_id, "time": Timestamp::now().as_millisecond(), "messaging": [event] }] })
}

/// What the fake does with a send.
enum Outcome {
    /// Takes the message, giving it this id.
    Taken(String),
    /// Refuses it with this answer.
    Refused(Response),
}

fn answer(inner: &Inner, version: &str, node: &str, query: Option<&str>, headers: &HeaderMap, json: &Value) -> Outcome {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let in_query =
        query.and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("access_token=")).map(str::to_owned));
    let token = bearer.map(str::to_owned).or(in_query);
    let refuse = |code, message: &str| Outcome::Refused(graph_error(400, code, None, message));
    match token {
        None => return refuse(104, "An access token is required to request this resource."),
        Some(token) if token != inner.page_token => {
            return refuse(190, "Invalid OAuth access token - Cannot parse access token");
        }
        Some(_) => {}
    }
    if !version.starts_with('v') || (node != "me" && node != inner.page_id) {
        return refuse(2500, "Unknown path components");
    }
    if let Err(problem) = check_message(json) {
        return refuse(100, &format!("(#100) {problem}"));
    }
    let failure = inner.failures.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
    match failure {
        Some(Failure::RateLimited { minutes }) => {
            let mut response = graph_error(400, 613, None, "(#613) Calls to this api have exceeded the rate limit.");
            let usage = json!({ inner.page_id.clone(): [{
                "type": "messenger", "call_count": 100, "total_cputime": 10, "total_time": 12,
                "estimated_time_to_regain_access": minutes,
            }] });
            let value = HeaderValue::from_str(&usage.to_string()).expect("JSON is a header value");
            response.headers_mut().insert("x-business-use-case-usage", value);
            Outcome::Refused(response)
        }
        Some(Failure::Graph { status, code, subcode, message }) => {
            Outcome::Refused(graph_error(status, code, subcode, &message))
        }
        Some(Failure::Status(status)) => Outcome::Refused(
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY), "upstream failure").into_response(),
        ),
        None => Outcome::Taken(format!("m_fake{:06}", inner.sent.fetch_add(1, Ordering::Relaxed) + 1)),
    }
}

/// What Meta would refuse in a Send API body, as the error it would say.
fn check_message(body: &Value) -> Result<(), String> {
    let recipient = body["recipient"]["id"].as_str().filter(|id| !id.is_empty());
    recipient.ok_or("param recipient[id] must be a non-empty string")?;
    match body["messaging_type"].as_str() {
        Some("RESPONSE" | "UPDATE") if body.get("tag").is_none() => {}
        Some("MESSAGE_TAG") => {
            let tag = body["tag"].as_str().unwrap_or_default();
            if !CURRENT_TAGS.contains(&tag) {
                return Err(format!("Param tag must be one of {CURRENT_TAGS:?}, got {tag:?}"));
            }
        }
        other => return Err(format!("messaging_type {other:?} is not valid here")),
    }
    let message = body["message"].as_object().ok_or("param message must be an object")?;
    let text = message.get("text").and_then(Value::as_str).ok_or("message[text] is required")?;
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(format!("param message[text] must be 1 to {MAX_TEXT} characters"));
    }
    let Some(replies) = message.get("quick_replies") else { return Ok(()) };
    let replies = replies.as_array().ok_or("param message[quick_replies] must be an array")?;
    if replies.is_empty() || replies.len() > MAX_QUICK_REPLIES {
        return Err(format!("param message[quick_replies] must have 1 to {MAX_QUICK_REPLIES} elements"));
    }
    for reply in replies {
        if reply["content_type"] != "text" {
            return Err("quick reply content_type must be text".into());
        }
        let title = reply["title"].as_str().unwrap_or_default();
        if title.is_empty() || title.encode_utf16().count() > MAX_TITLE {
            return Err(format!("quick reply title must be 1 to {MAX_TITLE} characters, got {title:?}"));
        }
        let payload = reply["payload"].as_str().unwrap_or_default();
        if payload.is_empty() || payload.chars().count() > MAX_PAYLOAD {
            return Err(format!("quick reply payload must be 1 to {MAX_PAYLOAD} characters"));
        }
    }
    Ok(())
}
