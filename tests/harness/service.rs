//! The gateway as the end-to-end tests run it: the real service in this process, on a free
//! loopback port, with its sweeper and webhook deliverer, reached over real HTTP and a real
//! WebSocket; and a fake receiver for the business's event webhooks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use ratewire_gateway::cli::serve;
use ratewire_gateway::cli::settings::{DashboardSettings, OutboundSettings, Settings, TenantSettings, WebhookSettings};
use ratewire_gateway::http::AppState;
use ratewire_gateway::http::auth;
use reqwest::Method;
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::RedisServer;
use crate::redis_setups::RedisCluster;

/// The two tenants every test service has.
pub const ACME: &str = "acme";
pub const GLOBEX: &str = "globex";

/// The body limit the test service runs with: small, so a test can exceed it cheaply.
pub const BODY_LIMIT: usize = 4096;
/// The email channels' webhook limit in the tests: well above [`BODY_LIMIT`], small enough to
/// go over cheaply.
pub const EMAIL_BODY_LIMIT: usize = 64 * 1024;

/// How long a test waits for something the service does on its own (a push, a webhook).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running gateway. Dropping it stops the server and its workers (and its Redis, if any).
pub struct Gateway {
    /// The service's state, for what a test must set up behind the API's back.
    pub state: AppState,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The Redis server the service keeps its state in; `None` for the embedded store.
    pub redis: Option<RedisServer>,
    /// The Redis Cluster the service keeps its state in, if on one.
    cluster: Option<RedisCluster>,
    http: reqwest::Client,
    acme_key: String,
    globex_key: String,
    /// The outbox, the sweeper and the other background workers.
    workers: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
}

impl Gateway {
    /// Starts the service on the embedded store, or on the given Redis server.
    pub async fn start(redis: Option<RedisServer>) -> Gateway {
        Gateway::start_with(redis, |_| {}).await
    }

    /// Starts the service with the tests' settings, changed by `adjust`.
    pub async fn start_with(redis: Option<RedisServer>, adjust: impl FnOnce(&mut Settings)) -> Gateway {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let acme_key = auth::new_key();
        let globex_key = auth::new_key();
        let tenant = |id: &str, key: &str| TenantSettings {
            id: id.to_owned(),
            name: None,
            api_key_hashes: vec![format!("sha256:{}", auth::digest(key))],
        };
        let mut settings = Settings {
            listen: address.to_string(),
            public_url: Some(format!("http://{address}")),
            redis_url: redis.as_ref().map(RedisServer::url),
            body_limit_bytes: BODY_LIMIT,
            email_body_limit_bytes: EMAIL_BODY_LIMIT,
            // The tests call far faster than a business would; the rate limit has tests of its own.
            api_requests_per_second: 100_000,
            demo: Some(false),
            tenants: vec![tenant(ACME, &acme_key), tenant(GLOBEX, &globex_key)],
            webhooks: WebhookSettings { timeout_secs: 5, max_attempts: 80 },
            dashboard: DashboardSettings::default(),
            // The fake platforms, receivers and SMTP server are on loopback, which ratewire
            // refuses by default; the outbound policy has tests of its own.
            outbound: OutboundSettings { allow: vec!["127.0.0.0/8".into()], ..OutboundSettings::default() },
            ..Settings::default()
        };
        adjust(&mut settings);
        let settings = settings.check().unwrap_or_else(|e| panic!("the test settings are valid: {e}"));
        let state = serve::state(settings).await.unwrap_or_else(|e| panic!("the service starts: {e}"));
        let workers = state.flow.spawn_workers();
        let server = tokio::spawn(serve::serve_on(listener, state.clone(), std::future::pending()));
        Gateway {
            state,
            base: format!("http://{address}"),
            redis,
            cluster: None,
            http: client(),
            acme_key,
            globex_key,
            workers,
            server,
        }
    }

    /// Starts the service with the tests' settings on a Redis Cluster, kept as long as the
    /// gateway.
    pub async fn start_on_cluster(cluster: RedisCluster) -> Gateway {
        let nodes = cluster.nodes();
        let mut gateway = Gateway::start_with(None, |settings| settings.redis_cluster_nodes = nodes).await;
        gateway.cluster = Some(cluster);
        gateway
    }

    /// Another gateway on the Redis this one keeps its state in, as a second instance of the
    /// service behind one load balancer would be (the Redis stays this one's).
    pub async fn beside(&self) -> Gateway {
        let redis_url = self.redis.as_ref().map(RedisServer::url);
        let nodes = self.cluster.as_ref().map(RedisCluster::nodes).unwrap_or_default();
        assert!(redis_url.is_some() || !nodes.is_empty(), "a gateway beside another shares its Redis");
        Gateway::start_with(None, |settings| {
            settings.redis_url = redis_url;
            settings.redis_cluster_nodes = nodes;
        })
        .await
    }

    /// Stops the background workers, the outbox among them, and waits until they have stopped:
    /// the API still answers, and the test runs the outbox itself (`outbox::run_due`) when it
    /// chooses.
    pub async fn stop_workers(&mut self) {
        for worker in self.workers.drain(..) {
            worker.abort();
            let _ = worker.await;
        }
    }

    /// Waits until `tenant`'s outbox is empty: every message and event queued so far has gone
    /// out, so what a platform received is all it will receive.
    pub async fn outbox_empty(&self, tenant: &str) {
        let tenant = ratewire_core::TenantId::new(tenant).expect("a tenant id");
        eventually(&format!("{tenant}'s outbox to empty"), || async {
            self.state.flow.store.pending_items(&tenant, 1).await.expect("the outbox").is_empty().then_some(())
        })
        .await
    }

    /// Waits until the outbox has recorded a failed attempt at one of the survey's items: the
    /// worker puts an item back only after the platform answered, a moment after the platform
    /// saw the request.
    pub async fn attempt_recorded(&self, tenant: &str, survey: &str) {
        let tenant = ratewire_core::TenantId::new(tenant).expect("a tenant id");
        eventually(&format!("a failed attempt recorded for {survey}"), || async {
            let items = self.state.flow.store.pending_items(&tenant, 1000).await.expect("the outbox");
            items.iter().any(|item| item.id.contains(survey) && item.last_error.is_some()).then_some(())
        })
        .await
    }

    /// The API as tenant `acme` calls it.
    pub fn acme(&self) -> Api {
        self.api(Some(&self.acme_key))
    }

    /// The API as tenant `globex` calls it.
    pub fn globex(&self) -> Api {
        self.api(Some(&self.globex_key))
    }

    /// Tenant `acme`'s API key, as a business would paste it into the dashboard's login.
    pub fn acme_key(&self) -> &str {
        &self.acme_key
    }

    /// Tenant `globex`'s API key.
    pub fn globex_key(&self) -> &str {
        &self.globex_key
    }

    /// The API called with the given key, or with none.
    pub fn api(&self, key: Option<&str>) -> Api {
        Api { http: self.http.clone(), base: self.base.clone(), key: key.map(str::to_owned) }
    }

    /// Opens the web widget as `visitor` of `tenant`'s `channel`, with the token computed from
    /// the channel's visitor secret.
    pub async fn widget(&self, tenant: &str, channel: &str, visitor_secret: &str, visitor: &str) -> Widget {
        let token = visitor_token(visitor_secret, visitor);
        let query = [("tenant", tenant), ("channel", channel), ("visitor", visitor), ("token", &token)];
        Widget::connect(&self.base, &query).await.unwrap_or_else(|status| panic!("the widget is refused: {status}"))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        for task in &self.workers {
            task.abort();
        }
        self.server.abort();
    }
}

/// Shows the service's logs (warnings and up, or as `RUST_LOG` says) with a failing test's output.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// An HTTP client that talks to loopback directly, whatever proxy the environment names.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(PATIENCE).build().expect("an HTTP client")
}

/// The API, called with one tenant's key (or none).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

/// An HTTP answer, read in full.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON (`null` when it isn't JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The body as JSON, after checking the status.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; the body: {}", self.text);
        self.json()
    }

    /// Checks the status and returns `error.code`.
    #[track_caller]
    pub fn error(&self, status: u16) -> String {
        let body = self.expect(status);
        body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code in {}", self.text)).to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    /// The API of the gateway at `base` (`http://127.0.0.1:PORT`), called with `key` or none.
    pub fn new(base: &str, key: Option<&str>) -> Api {
        Api { http: client(), base: base.to_owned(), key: key.map(str::to_owned) }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// A call with a JSON body, or none.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let body = body.map(|b| (Some("application/json"), b.to_string().into_bytes()));
        let (content_type, bytes) = body.unwrap_or((None, Vec::new()));
        self.raw(method, path, content_type, bytes).await
    }

    /// A call with the given bytes as the body, with this content type (or none).
    pub async fn raw(&self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        Answer { status, headers, text }
    }
}

/// The token a business's server gives its page for a visitor, by the documented recipe:
/// hex HMAC-SHA256 of the visitor id under the channel's visitor secret.
pub fn visitor_token(visitor_secret: &str, visitor: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(visitor_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(visitor.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The web widget's side of its WebSocket.
pub struct Widget {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Widget {
    /// Connects to `/widget/ws` with the given query; a refused connection gives its HTTP status.
    pub async fn connect(base: &str, query: &[(&str, &str)]) -> Result<Widget, u16> {
        let url = reqwest::Url::parse_with_params(&format!("{}/widget/ws", base.replacen("http", "ws", 1)), query)
            .expect("a valid widget URL");
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((socket, _)) => Ok(Widget { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("the widget could not connect: {error}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("the widget's message is sent");
    }

    /// The next message from the gateway; panics after [`PATIENCE`] without one.
    pub async fn next(&mut self) -> Value {
        self.next_within(PATIENCE).await.unwrap_or_else(|| panic!("no message from the gateway within {PATIENCE:?}"))
    }

    /// The next message from the gateway, if one comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("the gateway sends JSON"));
                }
                Some(Ok(Message::Close(frame))) => panic!("the gateway closed the widget: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("the widget's socket failed: {error}"),
                None => panic!("the widget's socket ended"),
            }
        }
    }

    /// The next `count` messages from the gateway.
    pub async fn take(&mut self, count: usize) -> Vec<Value> {
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            messages.push(self.next().await);
        }
        messages
    }

    /// Every message the gateway sends until it has been quiet for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut messages = Vec::new();
        while let Some(message) = self.next_within(quiet).await {
            messages.push(message);
        }
        messages
    }

    /// The next message, which must be a survey view: its `survey` (`null` for none).
    pub async fn view(&mut self) -> Value {
        let message = self.next().await;
        assert_eq!(message["type"], "survey", "expected a survey view, got {message}");
        message["survey"].clone()
    }

    /// Reads messages until a survey view satisfies `done`; returns the lines said on the way
    /// and that view.
    pub async fn until_view(&mut self, done: impl Fn(&Value) -> bool) -> (Vec<String>, Value) {
        let mut said = Vec::new();
        loop {
            let message = self.next().await;
            match message["type"].as_str() {
                Some("say") => said.push(message["text"].as_str().expect("a line has text").to_owned()),
                Some("survey") if done(&message["survey"]) => return (said, message["survey"].clone()),
                Some("survey") => {}
                _ => panic!("unexpected message while waiting for a survey view: {message}"),
            }
        }
    }
}

/// One post the fake webhook receiver got.
#[derive(Debug, Clone)]
pub struct Post {
    pub headers: HeaderMap,
    pub body: String,
    /// The status it answered with.
    pub answered: u16,
    /// When it arrived.
    pub received_at: jiff::Timestamp,
}

impl Post {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Inbox {
    posts: Mutex<Vec<Post>>,
    status: AtomicU16,
    /// Posts received, recorded or not.
    received: AtomicU64,
    /// Whether each post is kept for [`Receiver::posts`].
    recording: AtomicBool,
}

/// A business's webhook endpoint: records every post and answers with the status it is told.
pub struct Receiver {
    /// Where to post: `http://127.0.0.1:PORT/hooks`.
    pub url: String,
    pub address: SocketAddr,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// A receiver on a free loopback port, answering 204.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let inbox = Arc::new(Inbox {
            posts: Mutex::new(Vec::new()),
            status: AtomicU16::new(204),
            received: AtomicU64::new(0),
            recording: AtomicBool::new(true),
        });
        let router = axum::Router::new().route("/hooks", axum::routing::post(receive)).with_state(inbox.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the receiver serves");
        });
        Receiver { url: format!("http://{address}/hooks"), address, inbox, task }
    }

    /// Answers every post from now on with `status`.
    pub fn answer_with(&self, status: u16) {
        self.inbox.status.store(status, Ordering::SeqCst);
    }

    /// How many posts it has received so far, whether it records them or not.
    pub fn received(&self) -> u64 {
        self.inbox.received.load(Ordering::SeqCst)
    }

    /// Stops keeping posts: [`Receiver::posts`] stays as it is, [`Receiver::received`] goes on
    /// counting. For runs of hundreds of thousands of events.
    pub fn stop_recording(&self) {
        self.inbox.recording.store(false, Ordering::SeqCst);
    }

    /// Every post so far, oldest first.
    pub fn posts(&self) -> Vec<Post> {
        self.inbox.posts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until the posts so far satisfy `done`, and returns them.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Post]) -> bool) -> Vec<Post> {
        eventually(what, || async {
            let posts = self.posts();
            done(&posts).then_some(posts)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> StatusCode {
    let answered = inbox.status.load(Ordering::SeqCst);
    inbox.received.fetch_add(1, Ordering::SeqCst);
    if inbox.recording.load(Ordering::SeqCst) {
        let post = Post { headers, body, answered, received_at: jiff::Timestamp::now() };
        inbox.posts.lock().unwrap_or_else(|p| p.into_inner()).push(post);
    }
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A survey as the API shows it.
pub async fn survey(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/surveys/{id}")).await.expect(200)
}

/// Waits until the survey, as the API shows it, satisfies `done`; panics, naming `what`, after
/// [`PATIENCE`].
pub async fn survey_until(api: &Api, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(what, || async {
        let survey = survey(api, id).await;
        done(&survey).then_some(survey)
    })
    .await
}

/// Polls `check` every 50 ms until it gives a value; panics, naming `what`, after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, what, check).await
}

/// [`eventually`], giving up after `patience`: for what takes longer by design (leases running
/// out, a queue of hundreds draining).
pub async fn eventually_within<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up after {patience:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
