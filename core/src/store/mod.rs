//! Where surveys are kept: one interface, a Redis store for production and an in-memory store
//! for trying ratewire out. Both pass the same test suite (`tests/stores.rs`).
//!
//! Stores know nothing of survey rules. They keep records, refuse a write based on a stale
//! read (every survey carries a revision), and index surveys by conversation, by recipient and
//! by the time the sweeper must next look at them. [`apply`] joins that to the pure state
//! machine: read, transition, compare-and-set, retry on a lost race.
//!
//! With every survey write, in the same atomic step, a store adds to the tenant's counters what
//! [`crate::counts::changes`] says the write changes, and keeps the tenant's index of negative
//! ratings; [`report`] reads those instead of the surveys.

mod cache;
mod compact;
mod connections;
mod durability;
mod memory;
mod notices;
mod outbox;
mod pace;
mod records;
mod redis;
mod tallies;
pub(crate) mod work;

use std::collections::HashSet;

use async_trait::async_trait;
use jiff::Timestamp;
use thiserror::Error;

pub use self::connections::{RedisTarget, SentinelTarget};
pub use self::durability::{Durability, Shortfall};
pub use self::memory::MemoryStore;
pub use self::notices::{Heard, Notices};
pub use self::outbox::{OutboundMessage, Outbox, OutboxItem, Prompt, Task};
pub use self::pace::{Pace, Pacing, SendLane, SendSlots, send_interval, take_slots};
pub use self::records::{Record, RecordKind, RecordStore, Versioned, delete, read, read_all, write};
pub use self::redis::{RedisStore, RedisStoreOptions};
pub use self::tallies::Tallies;
pub use self::work::{BUCKETS, Buckets, WorkShares, WorkerId};
use crate::counts::{Counters, Field, Period, Plan, Span};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::report::{self, Report, ReportQuery};
use crate::survey::{Event, Refusal, Survey, Transition};

#[derive(Debug, Error)]
pub enum StoreError {
    /// The survey was changed by someone else since it was read; read again and retry.
    #[error("survey {0} changed since it was read")]
    Conflict(SurveyId),
    /// Another survey became the conversation's latest since it was read.
    #[error("conversation {0} got another survey since it was read")]
    ConversationChanged(ConversationId),
    #[error("survey {0} already exists")]
    AlreadyExists(SurveyId),
    /// The store could not be reached or answered with an error; the operation may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record could not be read back.
    #[error("corrupt record {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A record was written, or created, by someone else since it was read.
    #[error("{kind} {id} changed since it was read")]
    RecordConflict { kind: RecordKind, id: String },
}

/// Everything ratewire keeps, in one place: surveys, the business's records, the outbox of work
/// to do, what was already seen, when end users last wrote, and what pre-chats came to. Both
/// stores implement all of it.
pub trait Store:
    SurveyStore + RecordStore + Outbox + Seen + LastWritten + WorkShares + Pacing + Notices + Tallies
{
}

impl<T: SurveyStore + RecordStore + Outbox + Seen + LastWritten + WorkShares + Pacing + Notices + Tallies> Store for T {}

/// When each end user last wrote on a channel: the platforms' messaging windows are counted from
/// it. Kept apart from what else is known of them, so noting it is one write that needs no read.
#[async_trait]
pub trait LastWritten: Send + Sync {
    /// Notes that the end user wrote at `at`. The latest time noted is kept: a message handled
    /// out of order never moves it back.
    async fn note_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// When the end user last wrote, to the microsecond, if they wrote within the retention.
    async fn last_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Timestamp>, StoreError>;
}

/// What a platform's message id was when it was offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before: it is now claimed for the caller, for the claim's lease.
    First,
    /// Claimed by another handling that has not finished (or died: the claim then runs out by
    /// itself).
    InHand,
    /// Handled already: a redelivery.
    Handled,
    /// Not seen before, and its sender had no survey to answer: marked handled at once, as the
    /// claim asked (see [`Answering`]).
    Settled,
}

/// A claimed message whose handling, by the caller's rules, can only answer its sender's survey:
/// when they have none, the claim marks it handled at once for `handled_for`, and the handling
/// (and its write of the mark) is skipped.
#[derive(Debug, Clone, Copy)]
pub struct Answering<'a> {
    pub tenant: &'a TenantId,
    pub channel: &'a ChannelId,
    pub from: &'a RecipientId,
    pub handled_for: jiff::SignedDuration,
}

/// Remembers what platforms delivered, to drop their redeliveries, in two phases: a message is
/// claimed for a short lease while it is handled, and marked handled (for much longer) only once
/// its handling finished. A handling that fails, or a gateway that dies, leaves at most a claim
/// that runs out, so the platform's redelivery always gets its second chance.
#[async_trait]
pub trait Seen: Send + Sync {
    /// The key of a platform's message from an end user: the platform's id for it, on the
    /// tenant's channel. A store may keep it beside what handling the message reads and writes
    /// (a Redis Cluster's slot of the end user's surveys), so marking it handled goes with the
    /// survey's write.
    fn message_key(&self, tenant: &TenantId, channel: &ChannelId, from: &RecipientId, platform_id: &str) -> String {
        let _ = from;
        format!("{tenant}/{channel}/{platform_id}")
    }

    /// Claims `key` for `lease` when it is neither claimed nor handled; with `answering`, settles
    /// it instead when its sender has no survey.
    async fn claim(
        &self,
        key: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        answering: Option<Answering<'_>>,
    ) -> Result<Sighting, StoreError>;

    /// Whether `key` is still remembered (claimed or handled) at `now`, without offering it.
    async fn remembers(&self, key: &str, now: Timestamp) -> Result<bool, StoreError>;

    /// Marks a claimed key handled, for `ttl`: its redeliveries are dropped from now on.
    async fn confirm(&self, key: &str, now: Timestamp, ttl: jiff::SignedDuration) -> Result<(), StoreError>;

    /// Drops a claim whose handling failed, so the redelivery is taken at once rather than when
    /// the claim runs out. A key already handled stays handled.
    async fn release(&self, key: &str) -> Result<(), StoreError>;

    /// Forgets `key`, claimed or handled: a settled message whose noting failed is taken again
    /// when it is redelivered.
    async fn forget(&self, key: &str) -> Result<(), StoreError>;
}

/// What a survey's write carries with it: the outbox items its transitions queue (events for the
/// business, messages for the end user), and the platform message whose handling made it, marked
/// handled. Written with the survey, a message's handling is one write: no survey changed with
/// its replies lost, and no redelivery taken again once it is stored.
#[derive(Debug, Clone, Default)]
pub struct Along {
    pub items: Vec<OutboxItem>,
    pub handled: Option<Handled>,
}

/// A platform message handled: its redeliveries are dropped until `until` (see [`Seen::confirm`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub key: String,
    pub until: Timestamp,
}

/// A survey the sweeper must look at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DueSurvey {
    pub tenant: TenantId,
    pub id: SurveyId,
    pub due: Timestamp,
}

#[async_trait]
pub trait SurveyStore: Send + Sync {
    /// Stores a new survey, provided the conversation's latest survey is still
    /// `expected_previous` (what the caller checked the invitation against). The survey becomes
    /// the conversation's latest and the one its recipient is answering on its channel.
    async fn create(&self, survey: &Survey, expected_previous: Option<&SurveyId>) -> Result<(), StoreError>;

    /// An id for a new survey of `recipient` on `channel`. A store may choose one that keeps the
    /// survey beside what reading the recipient's replies touches (a Redis Cluster's slot).
    fn new_survey_id(&self, channel: &ChannelId, recipient: &RecipientId) -> SurveyId {
        let _ = (channel, recipient);
        SurveyId::generate()
    }

    async fn get(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError>;

    /// Writes a survey made from `previous`, which must be the stored revision, and what goes
    /// `along` with it, in one step: neither is written without the other. The survey's revision
    /// must be more than the stored one (one more for each transition it went through);
    /// otherwise, or when the stored revision is another, [`StoreError::Conflict`].
    async fn save(&self, previous: &Survey, survey: &Survey, along: &Along) -> Result<(), StoreError>;

    /// The latest survey of a conversation.
    async fn latest_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<Survey>, StoreError>;

    /// The latest survey sent to a recipient on a channel: the one their reply is about.
    async fn latest_for_recipient(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Survey>, StoreError>;

    /// Surveys of `buckets` whose deadline or change window ends at or before `now`, soonest
    /// first.
    async fn due(&self, now: Timestamp, buckets: Buckets, limit: usize) -> Result<Vec<DueSurvey>, StoreError>;

    /// Drops a survey from the due index (used when its record no longer exists).
    async fn forget_due(&self, tenant: &TenantId, id: &SurveyId) -> Result<(), StoreError>;

    /// A tenant's surveys created in `[from, to)`, oldest first, at most `limit`.
    async fn list(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Survey>, StoreError>;

    /// Every field of the tenant's counters of each period, packed ([`crate::counts::Counts::pack`]).
    async fn counter_hashes(
        &self,
        tenant: &TenantId,
        periods: &[Period],
    ) -> Result<Vec<Vec<(Field, Vec<i64>)>>, StoreError>;

    /// The named fields of the tenant's counters of each period, packed; a field never written
    /// (or come back to zero) reads empty.
    async fn counter_fields(
        &self,
        tenant: &TenantId,
        reads: &[(Period, Vec<Field>)],
    ) -> Result<Vec<Vec<Vec<i64>>>, StoreError>;

    /// The surveys in the tenant's index of negative ratings: at most
    /// [`report::NEGATIVE_KEPT`], the most recently rated, in no particular order.
    async fn negative_ratings(&self, tenant: &TenantId) -> Result<Vec<Survey>, StoreError>;

    /// Since when every survey created is in the counters: the first time a version that keeps
    /// them opened the store. Earlier surveys are read one by one.
    fn counted_since(&self) -> Timestamp;
}

/// The report on a tenant's surveys that `query` covers, read from its counters (see
/// [`crate::counts`]): two rounds of counter reads, whatever the number of surveys, the index of
/// negative ratings, and the surveys of the few pieces of the range shorter than a quarter hour,
/// at its ends. The part of the range from before the store kept counters is read survey by
/// survey: at most `max_scanned` surveys in all, past which the report says `truncated`.
pub async fn report(
    store: &dyn SurveyStore,
    tenant: &TenantId,
    query: &ReportQuery,
    max_scanned: usize,
) -> Result<Report, StoreError> {
    let plan = Plan::new(query, store.counted_since());
    let (months, scans) = (plan.months(), plan.scans());
    let (hashes, (scanned, truncated), mut negative) = tokio::try_join!(
        store.counter_hashes(tenant, &months),
        scan(store, tenant, &scans, max_scanned),
        store.negative_ratings(tenant),
    )?;
    // Negative ratings given before the store indexed them are found among the surveys read.
    let indexed: HashSet<SurveyId> = negative.iter().map(|survey| survey.id.clone()).collect();
    negative.extend(scanned.iter().filter(|survey| !indexed.contains(&survey.id)).cloned());
    let mut counters = Counters::default();
    for (period, fields) in months.into_iter().zip(hashes) {
        for (field, packed) in fields {
            counters.insert(period, field, &packed);
        }
    }
    let reads = plan.reads(query, &counters);
    let values = store.counter_fields(tenant, &reads).await?;
    for ((period, fields), values) in reads.into_iter().zip(values) {
        for (field, packed) in fields.into_iter().zip(values) {
            counters.insert(period, field, &packed);
        }
    }
    let mut report = report::from_counters(query, &plan, &counters, &scanned, &negative);
    report.truncated = truncated;
    Ok(report)
}

/// The tenant's surveys created in the spans, oldest first, at most `max`; whether there were
/// more.
async fn scan(
    store: &dyn SurveyStore,
    tenant: &TenantId,
    spans: &[Span],
    max: usize,
) -> Result<(Vec<Survey>, bool), StoreError> {
    let mut surveys = Vec::new();
    for (from, to) in spans {
        let room = max - surveys.len();
        let mut found = store.list(tenant, *from, *to, room + 1).await?;
        if found.len() > room {
            found.truncate(room);
            surveys.extend(found);
            return Ok((surveys, true));
        }
        surveys.extend(found);
    }
    Ok((surveys, false))
}

/// Why [`apply`] did not change a survey.
#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("no survey {0}")]
    NotFound(SurveyId),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How often [`apply`] retries after losing a race before giving up. Each lost race means
/// another writer made progress, so this bounds how many concurrent writers one survey can take.
pub const MAX_APPLY_ATTEMPTS: usize = 256;

/// Applies an event to a stored survey atomically: two replies racing for one survey are
/// serialized, each seeing the other's result, so a survey is rated exactly once.
pub async fn apply(
    store: &dyn SurveyStore,
    tenant: &TenantId,
    id: &SurveyId,
    event: Event,
    now: Timestamp,
) -> Result<Transition, ApplyError> {
    let survey = store.get(tenant, id).await?.ok_or_else(|| ApplyError::NotFound(id.clone()))?;
    apply_to(store, survey, event, now).await
}

/// [`apply`] to a survey the caller just read: the first attempt writes on that read, saving
/// the round trip of reading it again; a lost race reads it anew.
pub async fn apply_to(
    store: &dyn SurveyStore,
    read: Survey,
    event: Event,
    now: Timestamp,
) -> Result<Transition, ApplyError> {
    let mut applied = apply_all(store, read, vec![event], now, &|_| Ok(Along::default())).await?;
    match (applied.transitions.pop(), applied.refusal) {
        (_, Some(refusal)) => Err(refusal.into()),
        (Some(transition), None) => Ok(transition),
        (None, None) => unreachable!("an event is either applied or refused"),
    }
}

/// What the events of one message of the end user did to a survey.
#[derive(Debug)]
pub struct Applied {
    /// The transitions made, in order (some may have changed nothing).
    pub transitions: Vec<Transition>,
    /// The refusal that stopped the events, if one did.
    pub refusal: Option<Refusal>,
    /// The outbox items written with the survey.
    pub queued: Vec<OutboxItem>,
}

impl Applied {
    /// Whether the survey changed, and so was written, with what went along.
    pub fn changed(&self) -> bool {
        self.transitions.iter().any(|transition| transition.changed)
    }

    /// The survey as the events left it: the last transition's, or `read` when none was made.
    pub fn survey<'a>(&'a self, read: &'a Survey) -> &'a Survey {
        self.transitions.last().map_or(read, |transition| &transition.survey)
    }
}

/// Applies events to a survey the caller just read, in order, until one is refused, and writes
/// the survey they made in one step with what `along` says goes with them (its effects as
/// outbox items, the message marked handled). A lost race reads the survey anew and applies the
/// events again, so two messages racing for one survey are serialized, each seeing the other's
/// result. `along` is asked only when the survey changed.
pub async fn apply_all(
    store: &dyn SurveyStore,
    read: Survey,
    events: Vec<Event>,
    now: Timestamp,
    along: &(dyn Fn(&Applied) -> Result<Along, StoreError> + Sync),
) -> Result<Applied, ApplyError> {
    let (tenant, id) = (read.invitation.tenant.clone(), read.id.clone());
    let mut survey = read;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut applied = Applied { transitions: Vec::new(), refusal: None, queued: Vec::new() };
        for event in &events {
            let current = applied.transitions.last().map_or(&survey, |transition| &transition.survey);
            match current.apply(event.clone(), now) {
                Ok(transition) => applied.transitions.push(transition),
                Err(refusal) => {
                    applied.refusal = Some(refusal);
                    break;
                }
            }
        }
        let Some(last) = applied.transitions.last().filter(|_| applied.changed()) else { return Ok(applied) };
        let along = along(&applied)?;
        match store.save(&survey, &last.survey, &along).await {
            Ok(()) => return Ok(Applied { queued: along.items, ..applied }),
            Err(StoreError::Conflict(_)) if attempts < MAX_APPLY_ATTEMPTS => tokio::task::yield_now().await,
            Err(error) => return Err(error.into()),
        }
        survey = store.get(&tenant, &id).await?.ok_or_else(|| ApplyError::NotFound(id.clone()))?;
    }
}

/// Expires the pending surveys and closes the change windows of `buckets` that are due at `now`,
/// at most `limit` of them; returns the transitions made, whose effects the caller carries out.
///
/// Index entries that lead nowhere (the record expired, or the survey has nothing left to be
/// due for) are dropped. An entry found early is left in place: the writer that moved the
/// survey's due time also rewrote its entry.
pub async fn sweep(
    store: &dyn SurveyStore,
    now: Timestamp,
    buckets: Buckets,
    limit: usize,
) -> Result<Vec<Transition>, StoreError> {
    let mut transitions = Vec::new();
    for due in store.due(now, buckets, limit).await? {
        let Some(survey) = store.get(&due.tenant, &due.id).await? else {
            store.forget_due(&due.tenant, &due.id).await?;
            continue;
        };
        let Some(event) = survey.due_event(now) else {
            store.forget_due(&due.tenant, &due.id).await?;
            continue;
        };
        match apply(store, &due.tenant, &due.id, event, now).await {
            Ok(transition) if transition.changed => transitions.push(transition),
            Ok(_) | Err(ApplyError::Refused(Refusal::NotDue)) => {}
            // Changed under us into a state with nothing due (rated, then commented).
            Err(ApplyError::Refused(_)) | Err(ApplyError::NotFound(_)) => {
                let current = store.get(&due.tenant, &due.id).await?;
                if current.as_ref().and_then(Survey::next_due).is_none() {
                    store.forget_due(&due.tenant, &due.id).await?;
                }
            }
            Err(ApplyError::Store(error)) => return Err(error),
        }
    }
    Ok(transitions)
}
