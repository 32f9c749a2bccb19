//! What a run sends: the business's invitations, through the API as a helpdesk's agents send
//! them, and then the end users' typed ratings, as signed WhatsApp webhooks.
//!
//! Each rating answers one of the pending surveys the invitations left, once; the texts cycle
//! through five ways people type a rating ("5", "4/5", "⭐⭐⭐⭐", "3 stars", "five"), so five
//! ratings in a row call for every reply the configuration has (thanks, the comment question,
//! the reason question). When no pending survey is left, a rating comes from a number with no
//! survey, and the run counts it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use jiff::Timestamp;
use ratewire_tests::fake_graph;
use ratewire_tests::meta::{meta_json, sign};
use serde_json::{Value, json};

use crate::processes::{APP_SECRET, CHANNEL, PHONE_NUMBER_ID, TENANT};

/// How end users type a rating, in the order they come.
pub const TYPED_RATINGS: [&str; 5] = ["5", "4/5", "⭐⭐⭐⭐", "3 stars", "five"];

/// One signed WhatsApp webhook carrying one typed rating.
pub struct Request {
    pub body: Vec<u8>,
    pub signature: String,
}

/// A pending survey and its end user.
#[derive(Clone)]
struct Seeded {
    wa_id: String,
}

pub struct Traffic {
    /// `/hooks/<tenant>/<channel>`.
    pub hook_path: String,
    pending: Mutex<Vec<Seeded>>,
    next: AtomicU64,
    /// Ratings sent from numbers with no pending survey, for want of one.
    unmatched: AtomicU64,
}

/// How seeding went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seeding {
    /// Invitations the API took (201).
    pub created: usize,
    /// How long the API calls took.
    pub requests: Duration,
}

impl Default for Traffic {
    fn default() -> Traffic {
        Traffic::new()
    }
}

impl Traffic {
    /// Ratings for surveys the run seeds with [`Traffic::seed`].
    pub fn new() -> Traffic {
        Traffic {
            hook_path: format!("/hooks/{TENANT}/{CHANNEL}"),
            pending: Mutex::default(),
            next: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
        }
    }

    /// Asks the gateways at `bases` (in turn) for `count` surveys, as agents do
    /// (`POST /v1/invitations`, `concurrency` at a time, each for a conversation and end user of
    /// its own), and keeps them for the ratings. The outbox sends the invitations afterwards.
    pub async fn seed(&self, bases: &[String], key: &str, count: usize, concurrency: usize) -> Result<Seeding, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(concurrency)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        let offset = self.pending_len() as u64;
        let invited = futures_util::stream::iter(offset..offset + count as u64)
            .map(|n| {
                let http = http.clone();
                let base = &bases[n as usize % bases.len()];
                async move {
                    let wa_id = wa_id(n);
                    let body = json!({
                        "conversation": format!("zd-{}", 40_000_000 + n),
                        "channel": CHANNEL,
                        "recipient": wa_id,
                        "agent": "agent-17",
                        "locale": "en",
                    });
                    let response = http
                        .post(format!("{base}/v1/invitations"))
                        .bearer_auth(key)
                        .json(&body)
                        .send()
                        .await
                        .map_err(|e| format!("POST /v1/invitations: {e}"))?;
                    let status = response.status();
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    if status.as_u16() != 201 || answer["state"] == "failed" {
                        return Err(format!("POST /v1/invitations: {status}: {answer}"));
                    }
                    Ok(Seeded { wa_id })
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let requests = start.elapsed();
        let invited: Vec<Seeded> = invited.into_iter().collect::<Result<_, _>>()?;
        let created = invited.len();
        lock(&self.pending).extend(invited);
        Ok(Seeding { created, requests })
    }

    /// Pending surveys no rating has gone to yet.
    pub fn pending_len(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Ratings sent so far.
    pub fn sent(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Ratings that came from numbers with no pending survey.
    pub fn unmatched(&self) -> u64 {
        self.unmatched.load(Ordering::Relaxed)
    }

    /// The next typed rating: for a pending survey while any is left.
    pub fn next(&self) -> Request {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let seeded = lock(&self.pending).pop();
        let from = match seeded {
            Some(seeded) => seeded.wa_id,
            None => {
                self.unmatched.fetch_add(1, Ordering::Relaxed);
                wa_id(2_000_000_000 + n)
            }
        };
        let text = TYPED_RATINGS[n as usize % TYPED_RATINGS.len()];
        let message = fake_graph::text(&from, &format!("wamid.load-{n}"), Timestamp::now(), text);
        let body = meta_json(&fake_graph::messages(PHONE_NUMBER_ID, vec![message]));
        let signature = sign(APP_SECRET, &body);
        Request { body, signature }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A WhatsApp id: a phone number's digits.
fn wa_id(n: u64) -> String {
    format!("1555{n:010}")
}

/// What one typed rating of each text calls for, as measured on the gateway: messages to the end
/// user (through the Graph API) and events to the business's endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Replies {
    pub messages: [u64; TYPED_RATINGS.len()],
    pub events: [u64; TYPED_RATINGS.len()],
}

impl Replies {
    /// The posts (messages and events) ratings number `from` to `to` (not included) call for.
    pub fn owed(&self, from: u64, to: u64) -> u64 {
        (from..to).map(|n| n as usize % TYPED_RATINGS.len()).map(|i| self.messages[i] + self.events[i]).sum()
    }

    /// Posts a rating calls for, on average over the texts.
    pub fn per_rating(&self) -> f64 {
        self.owed(0, TYPED_RATINGS.len() as u64) as f64 / TYPED_RATINGS.len() as f64
    }

    /// `2,1,2,2,1`: a list as the relay's command line takes it.
    pub fn list(counts: &[u64]) -> String {
        counts.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    }
}
