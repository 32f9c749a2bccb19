//! Work waiting to go out: events for a business's webhook endpoints and messages for end users
//! on their channels. An item stays until it is done or given up, so a receiver or a platform
//! that is down misses nothing, and a gateway that dies mid-way leaves it for the next.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Buckets, StoreError};
use crate::ids::{ChannelId, RecipientId, SurveyId, TenantId};
use crate::locale::Locale;
use crate::survey::Reply;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Unique across the store; also what makes a task happen once: enqueuing an id that is
    /// already there changes nothing.
    pub id: String,
    pub tenant: TenantId,
    pub task: Task,
    /// Attempts made so far.
    pub attempts: u32,
    /// When to try next.
    pub due: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When a send was handed to the platform with no outcome recorded since: set just before
    /// the send, cleared with its outcome. Found set on a claimed item, it says the worker died
    /// mid-send, and the message may or may not have gone out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_started_at: Option<Timestamp>,
}

/// What an outbox item is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// Post an event to a business's webhook endpoint.
    Webhook {
        endpoint: String,
        /// The exact bytes to post (they are what gets signed).
        body: String,
        /// The survey the event is about: a store may keep the item beside it (a Redis
        /// Cluster's slot), so the survey's write can queue it. Absent from items queued
        /// before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        survey: Option<SurveyId>,
    },
    /// Send a survey's message to its end user on the survey's channel.
    Send { channel: ChannelId, survey: SurveyId, message: OutboundMessage },
    /// Send a pre-chat's question (or its closing text) to an end user, as it was when asked.
    Prompt { channel: ChannelId, recipient: RecipientId, prompt: Prompt },
    /// See whether an end user's pre-chat (the one that started at `started_at`) has waited too
    /// long for an answer.
    PrechatDue { channel: ChannelId, recipient: RecipientId, started_at: jiff::Timestamp },
}

impl Task {
    /// The end user a pre-chat task is about: their tasks share a bucket, so whoever claims it
    /// sends their messages in order.
    pub fn prechat_recipient(&self) -> Option<(&ChannelId, &RecipientId)> {
        match self {
            Task::Prompt { channel, recipient, .. } | Task::PrechatDue { channel, recipient, .. } => {
                Some((channel, recipient))
            }
            Task::Webhook { .. } | Task::Send { .. } => None,
        }
    }
}

/// A message of a pre-chat: its text, and the choices to tap where the question has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub text: String,
    /// The end user's language, which the pre-chat speaks.
    pub locale: Locale,
    /// Each choice's payload (what a tap sends back) and title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<(String, String)>,
}

/// Which of a survey's messages to send; the channel renders it from the survey's texts when
/// it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundMessage {
    Invitation,
    Reply(Reply),
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// The bucket an item's entry is in (see [`work`](super::work)).
    fn bucket(&self, item: &OutboxItem) -> usize;

    /// Adds items, in one round trip; adding an id that is already there changes nothing.
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StoreError>;

    /// Takes up to `limit` items of `buckets` due at `now` and hides them from other takers
    /// until `lease_until`, so two gateways never post the same item at once. An item taken and
    /// neither completed nor rescheduled (its taker died) is due again at `lease_until`.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        buckets: Buckets,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Stores a failed attempt: the item's new `attempts`, `due` and `last_error`.
    async fn reschedule(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Removes a delivered (or abandoned) item: the item as claimed (its id, tenant and task say
    /// where it is kept).
    async fn complete(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// The items of a tenant still waiting, soonest first: what a business sees as pending
    /// deliveries.
    async fn pending_items(&self, tenant: &TenantId, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
}
