//! The requests a run sends: what a busy WhatsApp number and its helpdesk send a gateway.
//!
//! Out of every 20 requests: 7 taps on an invitation's rating list, 5 typed ratings ("5",
//! "4/5", "⭐⭐⭐⭐", …), 3 comments after a rating, 2 messages that are no reply to a survey,
//! 2 redeliveries of a webhook already sent, and 1 helpdesk conversation opened and closed
//! (two API calls; the close sends an invitation through the fake Graph API). Ratings answer
//! the pending surveys seeded before the run, each once; when they run out, ratings go to
//! surveys already answered (taps are refused with the notice that the rating is final, typed
//! ones pass through as messages for the helpdesk).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use jiff::Timestamp;
use ratewire_adapters::ChoicePayload;
use ratewire_core::store::{RedisStore, RedisStoreOptions, SurveyStore};
use ratewire_core::{
    AgentId, ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Scale, Survey, SurveyConfig,
    SurveyId, TenantId,
};
use ratewire_tests::fake_graph;
use ratewire_tests::meta::{meta_json, sign};
use serde_json::json;

use crate::processes::{APP_SECRET, CHANNEL, PHONE_NUMBER_ID, Setup, TENANT};

/// What the helpdesk and the platform say, typed ratings first.
const TYPED_RATINGS: [&str; 5] = ["5", "4/5", "⭐⭐⭐⭐", "3 stars", "five"];
const COMMENTS: [&str; 3] = ["The agent was quick, thanks!", "Took a while but it is solved", "ok"];
const UNRELATED: [&str; 3] = ["Hi, where is my order?", "Can I change my address?", "👍"];
/// Seeded surveys created at once.
const SEED_CONCURRENCY: usize = 64;

/// One request to send.
pub enum Request {
    /// A signed WhatsApp webhook for the channel.
    Webhook { body: Vec<u8>, signature: String, kind: Kind },
    /// The helpdesk opens a conversation with an end user and closes it.
    Close { conversation: String, recipient: String },
}

/// What a request is, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Tap,
    TypedRating,
    Comment,
    Unrelated,
    Duplicate,
    Open,
    Close,
}

/// A seeded survey and its end user.
#[derive(Clone)]
pub struct Seeded {
    survey: SurveyId,
    wa_id: String,
}

pub struct Traffic {
    /// `<base>/hooks/<tenant>/<channel>`.
    pub hook_path: String,
    /// The tenant's API key.
    pub key: String,
    pending: Mutex<Vec<Seeded>>,
    /// Rated surveys whose end user has a comment to give.
    rated: Mutex<VecDeque<Seeded>>,
    /// Surveys rated and commented on: their taps change the rating.
    done: Mutex<Vec<Seeded>>,
    /// Recent webhooks, to deliver again.
    recent: Mutex<VecDeque<(Vec<u8>, String)>>,
    next: AtomicU64,
    answered_again: AtomicU64,
}

impl Traffic {
    pub fn new(setup: &Setup) -> Traffic {
        Traffic {
            hook_path: format!("/hooks/{TENANT}/{CHANNEL}"),
            key: setup.key.clone(),
            pending: Mutex::default(),
            rated: Mutex::default(),
            done: Mutex::default(),
            recent: Mutex::default(),
            next: AtomicU64::new(0),
            answered_again: AtomicU64::new(0),
        }
    }

    /// Stores `count` pending surveys straight into the gateway's Redis, as invitations sent
    /// earlier would have left them.
    pub async fn seed(&self, redis_url: &str, count: usize) -> Result<(), String> {
        let seeded = store_pending_surveys(redis_url, RedisStoreOptions::default(), count).await?;
        *lock(&self.pending) = seeded;
        Ok(())
    }

    /// The next request of the mix.
    pub fn next(&self) -> Request {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match n % 20 {
            0..=6 => self.rating(n, None),
            7..=11 => self.rating(n, Some(TYPED_RATINGS[(n as usize / 20) % TYPED_RATINGS.len()])),
            12..=14 => self.comment(n),
            15..=16 => self.unrelated(n),
            17..=18 => self.duplicate(n),
            _ => Request::Close { conversation: format!("load-{n}"), recipient: wa_id(1_000_000_000 + n) },
        }
    }

    fn rating(&self, n: u64, typed: Option<&str>) -> Request {
        let fresh = lock(&self.pending).pop();
        let now = Timestamp::now();
        let Some(seeded) = fresh.or_else(|| self.already_rated(n)) else { return self.unrelated(n) };
        let message_id = format!("wamid.load-{n}");
        let (message, kind) = match typed {
            Some(text) => (fake_graph::text(&seeded.wa_id, &message_id, now, text), Kind::TypedRating),
            None => {
                let score = Scale::FIVE_STARS.score(1 + (n % 5) as u32).expect("1 to 5 is on a five-star scale");
                let payload = ChoicePayload::Score { survey: seeded.survey.clone(), score }.encode();
                let title = "⭐".repeat(score.value().into());
                let on = format!("wamid.invitation-{}", seeded.survey);
                (fake_graph::list_reply(&seeded.wa_id, &message_id, now, &on, &payload, &title, ""), Kind::Tap)
            }
        };
        lock(&self.rated).push_back(seeded);
        self.webhook(fake_graph::messages(PHONE_NUMBER_ID, vec![message]), kind)
    }

    /// A survey already answered, when no pending one is left.
    fn already_rated(&self, n: u64) -> Option<Seeded> {
        let done = lock(&self.done);
        let seeded = done.get(n as usize % done.len().max(1))?.clone();
        self.answered_again.fetch_add(1, Ordering::Relaxed);
        Some(seeded)
    }

    fn comment(&self, n: u64) -> Request {
        let Some(seeded) = lock(&self.rated).pop_front() else { return self.unrelated(n) };
        let text = COMMENTS[n as usize % COMMENTS.len()];
        let message = fake_graph::text(&seeded.wa_id, &format!("wamid.load-{n}"), Timestamp::now(), text);
        lock(&self.done).push(seeded);
        self.webhook(fake_graph::messages(PHONE_NUMBER_ID, vec![message]), Kind::Comment)
    }

    fn unrelated(&self, n: u64) -> Request {
        let text = UNRELATED[n as usize % UNRELATED.len()];
        let message = fake_graph::text(&wa_id(2_000_000_000 + n), &format!("wamid.load-{n}"), Timestamp::now(), text);
        self.webhook(fake_graph::messages(PHONE_NUMBER_ID, vec![message]), Kind::Unrelated)
    }

    fn duplicate(&self, n: u64) -> Request {
        let again = lock(&self.recent).pop_front();
        match again {
            Some((body, signature)) => Request::Webhook { body, signature, kind: Kind::Duplicate },
            None => self.unrelated(n),
        }
    }

    fn webhook(&self, payload: serde_json::Value, kind: Kind) -> Request {
        let body = meta_json(&payload);
        let signature = sign(APP_SECRET, &body);
        let mut recent = lock(&self.recent);
        if recent.len() < 1024 {
            recent.push_back((body.clone(), signature.clone()));
        }
        Request::Webhook { body, signature, kind }
    }

    /// The helpdesk's calls for one closed conversation: open, then close.
    pub fn close_calls(conversation: &str, recipient: &str) -> [(String, serde_json::Value); 2] {
        [
            (
                "/v1/conversations".to_owned(),
                json!({ "id": conversation, "opened_by": "end_user", "channel": CHANNEL, "recipient": recipient }),
            ),
            (format!("/v1/conversations/{conversation}/events"), json!({ "type": "closed" })),
        ]
    }

    /// What the run did with the seeded surveys.
    pub fn summary(&self) -> String {
        format!(
            "{} seeded surveys left pending, {} ratings sent to surveys already answered",
            lock(&self.pending).len(),
            self.answered_again.load(Ordering::Relaxed)
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A WhatsApp id: a phone number's digits.
fn wa_id(n: u64) -> String {
    format!("1555{n:010}")
}

/// Stores `count` pending surveys of the run's tenant and channel through the Redis store, as
/// invitations leave them; returns them.
pub async fn store_pending_surveys(
    redis_url: &str,
    options: RedisStoreOptions,
    count: usize,
) -> Result<Vec<Seeded>, String> {
    let store = RedisStore::connect(redis_url, options).await.map_err(|e| format!("Redis at {redis_url}: {e}"))?;
    let config = SurveyConfig { scale: Scale::FIVE_STARS, follow_up_comment: true, ..SurveyConfig::default() };
    let now = Timestamp::now();
    let tenant = TenantId::new(TENANT).map_err(|e| e.to_string())?;
    let channel = ChannelId::new(CHANNEL).map_err(|e| e.to_string())?;
    let created = futures_util::stream::iter(0..count as u64)
        .map(|n| {
            let (store, config, tenant, channel) = (&store, &config, tenant.clone(), channel.clone());
            async move {
                let wa_id = wa_id(n);
                let invitation = Invitation {
                    tenant,
                    conversation: ConversationId::new(format!("zd-{}", 40_000_000 + n)).map_err(|e| e.to_string())?,
                    resolution: 1,
                    channel,
                    recipient: RecipientId::new(wa_id.clone()).map_err(|e| e.to_string())?,
                    agent: Some(AgentId::new("agent-17").map_err(|e| e.to_string())?),
                    locale: Locale::En,
                    origin: Origin::Agent,
                };
                let created = Survey::new(SurveyId::generate(), invitation, config, now);
                let survey = created.apply(Event::SENT, now).map_err(|e| e.to_string())?.survey;
                store.create(&survey, None).await.map_err(|e| e.to_string())?;
                Ok::<_, String>(Seeded { survey: survey.id, wa_id })
            }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    created.into_iter().collect()
}
