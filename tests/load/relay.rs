//! The relay: what the machine can do of the gateway's work with none of its own. A bare axum
//! server (same runtime as the gateway) that answers each webhook 200 at once and then posts
//! what the gateway posts for the same rating — the same number of messages to the same fake
//! Graph API, the same number of events to the same receiver — with no store, no signature
//! check and no reading of the reply. It finds the end user's number in the webhook, as it
//! must to answer them. Its `n`-th webhook gets what the gateway sends for the `n`-th rating
//! of the run's cycle of texts, measured on the gateway beforehand (`trace`).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

/// Where the relay posts, and how much.
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// `127.0.0.1:PORT`.
    pub listen: String,
    /// The fake Graph API's base URL.
    #[arg(long)]
    pub graph: String,
    #[arg(long)]
    pub access_token: String,
    #[arg(long)]
    pub phone_number_id: String,
    /// The business's event receiver.
    #[arg(long)]
    pub receiver: String,
    /// Messages per webhook, by its place in the cycle: `2,1,2,2,1`.
    #[arg(long, value_delimiter = ',')]
    pub messages: Vec<u64>,
    /// Events per webhook, by its place in the cycle.
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<u64>,
}

struct Relay {
    http: reqwest::Client,
    messages_url: String,
    args: RelayArgs,
    next: AtomicU64,
}

/// Serves until killed.
pub fn serve(args: RelayArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("relay: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("relay: can't listen on {}: {error}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let http = match reqwest::Client::builder().no_proxy().pool_max_idle_per_host(256).build() {
            Ok(http) => http,
            Err(error) => {
                eprintln!("relay: {error}");
                return ExitCode::FAILURE;
            }
        };
        let messages_url = format!("{}/v21.0/{}/messages", args.graph, args.phone_number_id);
        let relay = Arc::new(Relay { http, messages_url, args, next: AtomicU64::new(0) });
        let router = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .fallback(relay_webhook)
            .with_state(relay);
        match axum::serve(listener, router).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("relay: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Answers at once; the posts go on in a task of their own, as the gateway's outbox sends after
/// its answer.
async fn relay_webhook(State(relay): State<Arc<Relay>>, body: Bytes) -> &'static str {
    let n = relay.next.fetch_add(1, Ordering::Relaxed) as usize;
    let webhook: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let from = webhook["entry"][0]["changes"][0]["value"]["messages"][0]["from"].as_str().unwrap_or("0").to_owned();
    let pick = |counts: &[u64]| if counts.is_empty() { 0 } else { counts[n % counts.len()] };
    let (messages, events) = (pick(&relay.args.messages), pick(&relay.args.events));
    tokio::spawn(async move {
        // A survey's messages go one after the other, as the outbox sends them.
        for _ in 0..messages {
            let message = json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": from,
                "type": "text", "text": { "body": "Thank you for your rating!" },
            });
            let sent = relay.http.post(&relay.messages_url).bearer_auth(&relay.args.access_token).json(&message);
            if let Err(error) = sent.send().await.and_then(|r| r.error_for_status()) {
                eprintln!("relay: a message was not taken: {error}");
            }
        }
        for _ in 0..events {
            let event = json!({ "type": "survey.rated", "recipient": from, "score": 5 });
            if let Err(error) = relay.http.post(&relay.args.receiver).json(&event).send().await {
                eprintln!("relay: an event was not taken: {error}");
            }
        }
    });
    r#"{"received":1}"#
}
