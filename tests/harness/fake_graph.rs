//! A stand-in for Meta's Graph API as WhatsApp's Cloud API speaks it, on a free loopback port:
//! it takes `POST /{version}/{phone_number_id}/messages` with a bearer token, records every
//! request, answers as Graph does (or with the errors it is told to), and posts webhooks to
//! ratewire as Meta does ([`crate::meta`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::meta::Webhooks;
use crate::service::{Api, eventually};

/// The WhatsApp Business Account the fake's number belongs to.
pub const WABA_ID: &str = "102290129340398";
/// The business's number as end users see it.
pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it was not JSON).
    pub json: Value,
    /// The status it answered with.
    pub answered: u16,
    /// The message id it gave, when it accepted a message.
    pub message_id: Option<String>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl GraphRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether it was a message send.
    pub fn is_send(&self) -> bool {
        self.method == Method::POST && self.path.ends_with("/messages")
    }
}

/// How the fake answers a send it was told to fail.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 130429: the number's throughput is used up.
    Throughput,
    /// 131056: too many messages to one end user (about one every 6 seconds).
    PairRateLimit,
    /// Any Graph error, answered with HTTP 400.
    Graph { code: i64, message: String },
    /// HTTP 500 with Graph's unknown-error body.
    ServerError,
}

impl Failure {
    fn answer(&self) -> (StatusCode, Value) {
        match self {
            Failure::Throughput => (StatusCode::BAD_REQUEST, graph_error(130429, "(#130429) Rate limit hit")),
            Failure::PairRateLimit => (
                StatusCode::BAD_REQUEST,
                graph_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
            ),
            Failure::Graph { code, message } => (StatusCode::BAD_REQUEST, graph_error(*code, message)),
            Failure::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, graph_error(1, "An unknown error occurred")),
        }
    }
}

/// A Graph error body.
pub fn graph_error(code: i64, message: &str) -> Value {
    json!({ "error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": message },
        "fbtrace_id": "AazJ8hT0TwAf3sQX1bbDzCs",
    } })
}

struct Shared {
    access_token: String,
    /// Where Meta posts the number's webhooks, once a test says (the channel's `webhook_url`),
    /// and the number they are for: every message taken is then reported back with a `sent`
    /// status, as Meta reports it.
    status_hook: Mutex<Option<(String, String)>>,
    /// How long a send is held before it is answered (it is taken, and recorded, at once).
    answer_delay: Mutex<std::time::Duration>,
    /// How much later than its answer a message taken is reported back.
    report_delay: Mutex<std::time::Duration>,
    webhooks: Webhooks,
    requests: Mutex<Vec<GraphRequest>>,
    failures: Mutex<VecDeque<Failure>>,
    next_id: AtomicU64,
    /// Messages taken (answered with a message id), recorded or not.
    taken: AtomicU64,
    /// Whether each request is kept for [`FakeGraph::requests`].
    recording: AtomicBool,
}

/// The WhatsApp business number the tests' channels send from.
pub const PHONE_NUMBER_ID: &str = "106540352242922";

/// The fake Graph API, serving until dropped.
pub struct FakeGraph {
    /// `http://127.0.0.1:PORT`: a channel's `api_base_url`.
    pub base_url: String,
    pub access_token: String,
    /// Webhooks to ratewire, signed with the app secret.
    pub webhooks: Webhooks,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeGraph {
    /// Serves on a free loopback port, taking sends with `access_token`; signs webhooks with
    /// `app_secret`.
    pub async fn start(access_token: &str, app_secret: &str) -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            access_token: access_token.to_owned(),
            status_hook: Mutex::new(None),
            answer_delay: Mutex::new(std::time::Duration::ZERO),
            report_delay: Mutex::new(std::time::Duration::ZERO),
            webhooks: Webhooks::new(app_secret),
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
            taken: AtomicU64::new(0),
            recording: AtomicBool::new(true),
        });
        let router = axum::Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the fake Graph API serves");
        });
        FakeGraph {
            base_url: format!("http://{address}"),
            access_token: access_token.to_owned(),
            webhooks: Webhooks::new(app_secret),
            shared,
            task,
        }
    }

    /// Connects through `api` the survey configuration `support` (five stars, no comment
    /// question) and the WhatsApp channel `wa` of [`PHONE_NUMBER_ID`], sending through this fake
    /// at most `sends_per_second`.
    pub async fn connect_support_line(&self, api: &Api, sends_per_second: &str) {
        let config = json!({ "id": "support", "name": "Support",
            "config": { "scale": "stars:5", "follow_up_comment": false } });
        api.post("/v1/configs", &config).await.expect(201);
        let channel = json!({
            "id": "wa", "kind": "whatsapp", "name": "Support line", "config": "support",
            "secrets": { "access_token": self.access_token, "app_secret": self.webhooks.app_secret },
            "settings": {
                "phone_number_id": PHONE_NUMBER_ID, "api_base_url": self.base_url,
                "sends_per_second": sends_per_second,
            },
        });
        api.post("/v1/channels", &channel).await.expect(201);
    }

    /// Checks that the sends it took kept to `per_second`: any `per_second + 1` in a row, as
    /// they arrived, span a second, less what a send may arrive after its slot on a busy
    /// machine (200 ms; the slots themselves are exact).
    pub fn assert_sent_within(&self, per_second: usize) {
        let mut arrivals: Vec<std::time::Instant> = self.sends().iter().map(|send| send.at).collect();
        arrivals.sort();
        for window in arrivals.windows(per_second + 1) {
            let span = window[per_second] - window[0];
            let within = std::time::Duration::from_millis(800);
            assert!(span >= within, "{} sends within {span:?}, at {per_second} a second", per_second + 1);
        }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<GraphRequest> {
        self.shared.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many messages it has taken so far (sends answered with a message id), whether it
    /// records requests or not.
    pub fn taken(&self) -> u64 {
        self.shared.taken.load(Ordering::SeqCst)
    }

    /// Stops keeping requests: [`FakeGraph::requests`] stays as it is, [`FakeGraph::taken`]
    /// goes on counting. For runs of hundreds of thousands of sends.
    pub fn stop_recording(&self) {
        self.shared.recording.store(false, Ordering::SeqCst);
    }

    /// Every message send so far, oldest first.
    pub fn sends(&self) -> Vec<GraphRequest> {
        self.requests().into_iter().filter(GraphRequest::is_send).collect()
    }

    /// The sends to one end user, oldest first.
    pub fn sends_to(&self, wa_id: &str) -> Vec<GraphRequest> {
        self.sends().into_iter().filter(|send| send.json["to"] == wa_id).collect()
    }

    /// Waits until the sends to `wa_id` number at least `count`, and returns them.
    pub async fn wait_for_sends_to(&self, wa_id: &str, count: usize) -> Vec<GraphRequest> {
        eventually(&format!("{count} sends to {wa_id}"), || async {
            let sends = self.sends_to(wa_id);
            (sends.len() >= count).then_some(sends)
        })
        .await
    }

    /// Reports every message taken from now on to `hook` (the channel's `webhook_url`) for the
    /// number `phone_number_id`, as Meta does: a signed `sent` status echoing the send's
    /// `biz_opaque_callback_data`, redelivered until the gateway answers 200.
    pub fn report_statuses_to(&self, hook: &str, phone_number_id: &str) {
        *self.shared.status_hook.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((hook.to_owned(), phone_number_id.to_owned()));
    }

    /// Reports each message taken this much later than its answer: platforms' webhooks lag.
    pub fn delay_reports(&self, delay: std::time::Duration) {
        *self.shared.report_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Holds each send this long before answering it: the message is taken (and recorded) when
    /// it arrives, as a platform takes it before its answer reaches the sender.
    pub fn answer_after(&self, delay: std::time::Duration) {
        *self.shared.answer_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Answers the next `count` sends with `failure`.
    pub fn fail_next(&self, count: usize, failure: Failure) {
        let mut failures = self.shared.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.extend(std::iter::repeat_n(failure, count));
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let at = std::time::Instant::now();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let (status, answer, message_id) = answer(&shared, &method, &path, &headers, &json);
    let report = message_id.as_ref().and_then(|id| {
        let (hook, phone_number_id) = shared.status_hook.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        // (The path names the function: `status` here is the answer's.)
        let mut sent = crate::fake_graph::status(id, "sent", json["to"].as_str().unwrap_or_default(), Timestamp::now());
        if let Some(reference) = json.get("biz_opaque_callback_data") {
            sent["biz_opaque_callback_data"] = reference.clone();
        }
        Some((hook, statuses(&phone_number_id, vec![sent])))
    });
    if message_id.is_some() {
        shared.taken.fetch_add(1, Ordering::SeqCst);
    }
    if shared.recording.load(Ordering::SeqCst) {
        let request =
            GraphRequest { method, path, headers, json, answered: status.as_u16(), message_id: message_id.clone(), at };
        shared.requests.lock().unwrap_or_else(|p| p.into_inner()).push(request);
    }
    let delay = *shared.answer_delay.lock().unwrap_or_else(|p| p.into_inner());
    let report_delay = *shared.report_delay.lock().unwrap_or_else(|p| p.into_inner());
    shared.webhooks.answer_then_report(delay, report_delay, report).await;
    (status, axum::Json(answer))
}

/// Graph's answer to a request: `(status, body, message id)`.
fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    json: &Value,
) -> (StatusCode, Value, Option<String>) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is_send =
        method == Method::POST && segments.len() == 3 && segments[0].starts_with('v') && segments[2] == "messages";
    if !is_send {
        let error = graph_error(100, "Unsupported request - method type or path not supported");
        return (StatusCode::BAD_REQUEST, error, None);
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(shared.access_token.as_str()) {
        let error = graph_error(190, "Invalid OAuth access token - Cannot parse access token");
        return (StatusCode::UNAUTHORIZED, error, None);
    }
    let to = json["to"].as_str();
    let kind = json["type"].as_str();
    if json["messaging_product"] != "whatsapp" || to.is_none() || kind.is_none_or(|k| json.get(k).is_none()) {
        return (StatusCode::BAD_REQUEST, graph_error(100, "(#100) Invalid parameter"), None);
    }
    if let Some(failure) = shared.failures.lock().unwrap_or_else(|p| p.into_inner()).pop_front() {
        let (status, body) = failure.answer();
        return (status, body, None);
    }
    let id = format!("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{:08}", shared.next_id.fetch_add(1, Ordering::SeqCst));
    let mut message = json!({ "id": id });
    if kind == Some("template") {
        message["message_status"] = json!("accepted");
    }
    let body = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [message],
    });
    (StatusCode::OK, body, Some(id))
}

// ---------------------------------------------------------------------------------------------
// Webhook payloads, as Meta writes them.

/// A delivery of one change to the number `phone_number_id`.
fn change(phone_number_id: &str, key: &str, items: Vec<Value>, contacts: Option<&Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id },
    });
    if let Some(contacts) = contacts {
        value["contacts"] = contacts.clone();
    }
    value[key] = json!(items);
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": WABA_ID, "changes": [{ "value": value, "field": "messages" }] }],
    })
}

/// A delivery of end users' messages (built with [`text`], [`list_reply`], …).
pub fn messages(phone_number_id: &str, messages: Vec<Value>) -> Value {
    let contacts: Vec<Value> =
        messages.iter().map(|m| json!({ "profile": { "name": "Sheena Nelson" }, "wa_id": m["from"] })).collect();
    change(phone_number_id, "messages", messages, Some(&json!(contacts)))
}

/// A delivery of statuses of messages the business sent (built with [`status`], [`failed`]).
pub fn statuses(phone_number_id: &str, statuses: Vec<Value>) -> Value {
    change(phone_number_id, "statuses", statuses, None)
}

fn message(from: &str, id: &str, at: Timestamp, kind: &str, content: Value, replying_to: Option<&str>) -> Value {
    let mut message = json!({ "from": from, "id": id, "timestamp": at.as_second().to_string(), "type": kind });
    message[kind] = content;
    if let Some(context) = replying_to {
        message["context"] = json!({ "from": DISPLAY_PHONE_NUMBER, "id": context });
    }
    message
}

/// A typed message.
pub fn text(from: &str, id: &str, at: Timestamp, body: &str) -> Value {
    message(from, id, at, "text", json!({ "body": body }), None)
}

/// A tap on a row of an interactive list.
pub fn list_reply(
    from: &str,
    id: &str,
    at: Timestamp,
    on: &str,
    row_id: &str,
    title: &str,
    description: &str,
) -> Value {
    let reply =
        json!({ "type": "list_reply", "list_reply": { "id": row_id, "title": title, "description": description } });
    message(from, id, at, "interactive", reply, Some(on))
}

/// A tap on a reply button.
pub fn button_reply(from: &str, id: &str, at: Timestamp, on: &str, button_id: &str, title: &str) -> Value {
    let reply = json!({ "type": "button_reply", "button_reply": { "id": button_id, "title": title } });
    message(from, id, at, "interactive", reply, Some(on))
}

/// A tap on a template's quick-reply button.
pub fn template_button(from: &str, id: &str, at: Timestamp, on: &str, payload: &str, text: &str) -> Value {
    message(from, id, at, "button", json!({ "payload": payload, "text": text }), Some(on))
}

/// A message that is no rating (a sticker).
pub fn sticker(from: &str, id: &str, at: Timestamp) -> Value {
    let sticker = json!({ "mime_type": "image/webp", "sha256": "a1b2", "id": "1228429954", "animated": false });
    message(from, id, at, "sticker", sticker, None)
}

/// A `sent`, `delivered` or `read` status.
pub fn status(message_id: &str, status: &str, recipient: &str, at: Timestamp) -> Value {
    json!({
        "id": message_id,
        "status": status,
        "timestamp": at.as_second().to_string(),
        "recipient_id": recipient,
        "conversation": { "id": "a1b2c3", "origin": { "type": "service" } },
        "pricing": { "billable": false, "pricing_model": "PMP", "category": "service" },
    })
}

/// A `failed` status with Meta's error.
pub fn failed(message_id: &str, recipient: &str, at: Timestamp, code: i64, title: &str, details: &str) -> Value {
    json!({
        "id": message_id,
        "status": "failed",
        "timestamp": at.as_second().to_string(),
        "recipient_id": recipient,
        "errors": [{ "code": code, "title": title, "message": title, "error_data": { "details": details },
                     "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }],
    })
}
