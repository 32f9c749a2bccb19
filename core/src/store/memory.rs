//! The embedded store: everything in this process's memory, gone when it stops.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::broadcast;

use super::notices::{Heard, Notices};
use super::pace::{Pace, Pacing, SendLane, SendSlots, take_slots};
use super::tallies::Tallies;
use super::work::{BUCKETS, Buckets, WorkShares, WorkerId, fnv1a, share_of};
use super::{
    Along, Answering, DueSurvey, LastWritten, Outbox, OutboxItem, RecordKind, RecordStore, Seen, Sighting, StoreError,
    SurveyStore, Versioned,
};
use crate::counts::{self, CounterChange, Field, Period};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::report::{self, NEGATIVE_KEPT};
use crate::survey::Survey;

type Key = (TenantId, SurveyId);

#[derive(Default)]
struct Inner {
    surveys: HashMap<Key, Survey>,
    by_conversation: HashMap<(TenantId, ConversationId), SurveyId>,
    by_recipient: HashMap<(TenantId, ChannelId, RecipientId), SurveyId>,
    due: BTreeSet<(Timestamp, TenantId, SurveyId)>,
    due_at: HashMap<Key, Timestamp>,
    records: BTreeMap<(TenantId, RecordKind, String), Versioned>,
    outbox: HashMap<String, OutboxItem>,
    outbox_due: BTreeSet<(Timestamp, String)>,
    /// Keys seen: claimed or handled, until when.
    seen: HashMap<String, Mark>,
    /// Each tenant's counters, by period and field, packed.
    counters: HashMap<(TenantId, Period), HashMap<Field, Vec<i64>>>,
    /// Each tenant's negative ratings, by when they were given.
    negative: HashMap<TenantId, BTreeSet<(Timestamp, SurveyId)>>,
    /// When each end user last wrote.
    written: HashMap<(TenantId, ChannelId, RecipientId), Timestamp>,
    /// The workers alive, each until when.
    workers: HashMap<WorkerId, Timestamp>,
    /// Which worker holds each bucket, until when.
    leases: [Option<(WorkerId, Timestamp)>; BUCKETS],
    /// Each channel's send pace.
    /// By tenant, channel and, for a recipient's own pace, recipient.
    paces: HashMap<(TenantId, ChannelId, Option<RecipientId>), Pace>,
    /// Each tenant's pre-chat tallies, by day.
    tallies: HashMap<(TenantId, jiff::civil::Date), BTreeMap<String, i64>>,
}

impl Inner {
    fn put_outbox(&mut self, item: &OutboxItem) {
        if let Some(old) = self.outbox.insert(item.id.clone(), item.clone()) {
            self.outbox_due.remove(&(old.due, old.id));
        }
        self.outbox_due.insert((item.due, item.id.clone()));
    }

    /// Adds an item unless its id is there.
    fn enqueue(&mut self, item: &OutboxItem) {
        if !self.outbox.contains_key(&item.id) {
            self.put_outbox(item);
        }
    }

    /// Stores a survey over `before` (none: a new survey), with the counts and the index entry
    /// it changes.
    fn write(&mut self, before: Option<&Survey>, survey: &Survey) {
        let tenant = &survey.invitation.tenant;
        self.count(tenant, &counts::changes(before, Some(survey)));
        let negative = self.negative.entry(tenant.clone()).or_default();
        if let Some(at) = before.and_then(report::negative_rated_at) {
            negative.remove(&(at, survey.id.clone()));
        }
        if let Some(at) = report::negative_rated_at(survey) {
            negative.insert((at, survey.id.clone()));
            while negative.len() > NEGATIVE_KEPT {
                negative.pop_first();
            }
        }
        self.schedule(survey);
        self.surveys.insert((tenant.clone(), survey.id.clone()), survey.clone());
    }

    /// Adds packed counts field by field, as the Redis store's write does; a field back to zero
    /// goes.
    fn count(&mut self, tenant: &TenantId, changes: &[CounterChange]) {
        for change in changes {
            let hash = self.counters.entry((tenant.clone(), change.period)).or_default();
            let sums = hash.entry(change.field.clone()).or_default();
            counts::add_packed(sums, &change.deltas);
            if sums.iter().all(|sum| *sum == 0) {
                hash.remove(&change.field);
            }
        }
    }

    fn schedule(&mut self, survey: &Survey) {
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        if let Some(old) = self.due_at.remove(&key) {
            self.due.remove(&(old, key.0.clone(), key.1.clone()));
        }
        if let Some(due) = survey.next_due() {
            self.due.insert((due, key.0.clone(), key.1.clone()));
            self.due_at.insert(key, due);
        }
    }
}

/// Keeps surveys in memory. The lock is never held across an await.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// The notices published, to the listeners of this process (the only ones there are).
    notices: broadcast::Sender<Heard>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self { inner: Mutex::default(), notices: broadcast::channel(NOTICES_KEPT).0 }
    }
}

/// Notices a listener may fall behind by before it loses the oldest.
const NOTICES_KEPT: usize = 1024;

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock can't leave a half-written record: every write below
        // is a few infallible inserts. So a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SurveyStore for MemoryStore {
    async fn create(&self, survey: &Survey, expected_previous: Option<&SurveyId>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        if inner.surveys.contains_key(&key) {
            return Err(StoreError::AlreadyExists(survey.id.clone()));
        }
        let conversation = (survey.invitation.tenant.clone(), survey.invitation.conversation.clone());
        if inner.by_conversation.get(&conversation) != expected_previous {
            return Err(StoreError::ConversationChanged(survey.invitation.conversation.clone()));
        }
        inner.by_conversation.insert(conversation, survey.id.clone());
        let recipient =
            (survey.invitation.tenant.clone(), survey.invitation.channel.clone(), survey.invitation.recipient.clone());
        inner.by_recipient.insert(recipient, survey.id.clone());
        inner.write(None, survey);
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        Ok(self.lock().surveys.get(&(tenant.clone(), id.clone())).cloned())
    }

    async fn save(&self, previous: &Survey, survey: &Survey, along: &Along) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = (survey.invitation.tenant.clone(), survey.id.clone());
        // Counted from the stored survey, which is `previous` when the caller kept its word.
        let stored = match inner.surveys.get(&key) {
            Some(stored) if stored.revision == previous.revision && stored.revision < survey.revision => stored.clone(),
            _ => return Err(StoreError::Conflict(survey.id.clone())),
        };
        inner.write(Some(&stored), survey);
        for item in &along.items {
            inner.enqueue(item);
        }
        if let Some(handled) = &along.handled {
            inner.seen.insert(handled.key.clone(), Mark { handled: true, until: handled.until });
        }
        Ok(())
    }

    async fn latest_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        let inner = self.lock();
        let id = inner.by_conversation.get(&(tenant.clone(), conversation.clone()));
        Ok(id.and_then(|id| inner.surveys.get(&(tenant.clone(), id.clone()))).cloned())
    }

    async fn latest_for_recipient(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Survey>, StoreError> {
        let inner = self.lock();
        let id = inner.by_recipient.get(&(tenant.clone(), channel.clone(), recipient.clone()));
        Ok(id.and_then(|id| inner.surveys.get(&(tenant.clone(), id.clone()))).cloned())
    }

    async fn due(&self, now: Timestamp, buckets: Buckets, limit: usize) -> Result<Vec<DueSurvey>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .due
            .iter()
            .take_while(|(due, _, _)| *due <= now)
            .filter(|(_, tenant, id)| buckets.contains(bucket_of(&format!("{tenant}/{id}"))))
            .take(limit)
            .map(|(due, tenant, id)| DueSurvey { tenant: tenant.clone(), id: id.clone(), due: *due })
            .collect())
    }

    async fn forget_due(&self, tenant: &TenantId, id: &SurveyId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(due) = inner.due_at.remove(&(tenant.clone(), id.clone())) {
            inner.due.remove(&(due, tenant.clone(), id.clone()));
        }
        Ok(())
    }

    async fn list(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Survey>, StoreError> {
        let inner = self.lock();
        let mut surveys: Vec<Survey> = inner
            .surveys
            .iter()
            .filter(|((t, _), s)| t == tenant && s.created_at >= from && s.created_at < to)
            .map(|(_, s)| s.clone())
            .collect();
        surveys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        surveys.truncate(limit);
        Ok(surveys)
    }

    async fn counter_hashes(
        &self,
        tenant: &TenantId,
        periods: &[Period],
    ) -> Result<Vec<Vec<(Field, Vec<i64>)>>, StoreError> {
        let inner = self.lock();
        Ok(periods
            .iter()
            .map(|period| {
                let hash = inner.counters.get(&(tenant.clone(), *period)).into_iter().flatten();
                hash.map(|(field, packed)| (field.clone(), packed.clone())).collect()
            })
            .collect())
    }

    async fn counter_fields(
        &self,
        tenant: &TenantId,
        reads: &[(Period, Vec<Field>)],
    ) -> Result<Vec<Vec<Vec<i64>>>, StoreError> {
        let inner = self.lock();
        Ok(reads
            .iter()
            .map(|(period, fields)| {
                let hash = inner.counters.get(&(tenant.clone(), *period));
                fields.iter().map(|field| hash.and_then(|hash| hash.get(field)).cloned().unwrap_or_default()).collect()
            })
            .collect())
    }

    async fn negative_ratings(&self, tenant: &TenantId) -> Result<Vec<Survey>, StoreError> {
        let inner = self.lock();
        let negative = inner.negative.get(tenant).into_iter().flatten();
        Ok(negative.filter_map(|(_, id)| inner.surveys.get(&(tenant.clone(), id.clone())).cloned()).collect())
    }

    /// Always: the embedded store keeps nothing from before it was made.
    fn counted_since(&self) -> Timestamp {
        Timestamp::MIN
    }
}

#[async_trait]
impl RecordStore for MemoryStore {
    async fn get_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.lock().records.get(&(tenant.clone(), kind, id.to_owned())).cloned())
    }

    async fn put_record(
        &self,
        tenant: &TenantId,
        kind: RecordKind,
        id: &str,
        expected: Option<u64>,
        body: &str,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let key = (tenant.clone(), kind, id.to_owned());
        let stored = inner.records.get(&key).map(|r| r.revision);
        if stored != expected {
            return Err(StoreError::RecordConflict { kind, id: id.to_owned() });
        }
        let revision = expected.unwrap_or(0) + 1;
        inner.records.insert(key, Versioned { revision, value: body.to_owned() });
        Ok(revision)
    }

    async fn list_records(&self, tenant: &TenantId, kind: RecordKind) -> Result<Vec<(String, Versioned)>, StoreError> {
        if !kind.is_listed() {
            return Ok(Vec::new());
        }
        let inner = self.lock();
        Ok(inner
            .records
            .range((tenant.clone(), kind, String::new())..)
            .take_while(|((t, k, _), _)| t == tenant && *k == kind)
            .map(|((_, _, id), record)| (id.clone(), record.clone()))
            .collect())
    }

    async fn delete_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().records.remove(&(tenant.clone(), kind, id.to_owned())).is_some())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for item in items {
            inner.enqueue(item);
        }
        Ok(())
    }

    fn bucket(&self, item: &OutboxItem) -> usize {
        bucket_of(&item.id)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        buckets: Buckets,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut inner = self.lock();
        let ids: Vec<String> = inner
            .outbox_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .filter(|(_, id)| buckets.contains(bucket_of(id)))
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect();
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(mut item) = inner.outbox.get(&id).cloned() else { continue };
            claimed.push(item.clone());
            item.due = lease_until;
            inner.put_outbox(&item);
        }
        Ok(claimed)
    }

    async fn reschedule(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.outbox.contains_key(&item.id) {
            inner.put_outbox(item);
        }
        Ok(())
    }

    async fn complete(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(item) = inner.outbox.remove(&item.id) {
            inner.outbox_due.remove(&(item.due, item.id));
        }
        Ok(())
    }

    async fn pending_items(&self, tenant: &TenantId, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .outbox_due
            .iter()
            .filter_map(|(_, id)| inner.outbox.get(id))
            .filter(|item| &item.tenant == tenant)
            .take(limit)
            .cloned()
            .collect())
    }
}

/// Past this many remembered keys, the expired ones are dropped before adding another.
const SEEN_SWEEP_AT: usize = 10_000;

#[async_trait]
impl LastWritten for MemoryStore {
    async fn note_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        // To the microsecond, as Redis keeps it.
        let at = Timestamp::from_microsecond(at.as_microsecond()).unwrap_or(at);
        let mut inner = self.lock();
        let kept = inner.written.entry((tenant.clone(), channel.clone(), recipient.clone())).or_insert(at);
        *kept = (*kept).max(at);
        Ok(())
    }

    async fn last_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.lock().written.get(&(tenant.clone(), channel.clone(), recipient.clone())).copied())
    }
}

#[async_trait]
impl Seen for MemoryStore {
    async fn claim(
        &self,
        key: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        answering: Option<Answering<'_>>,
    ) -> Result<Sighting, StoreError> {
        let mut inner = self.lock();
        match inner.seen.get(key) {
            Some(mark) if mark.until > now => {
                return Ok(if mark.handled { Sighting::Handled } else { Sighting::InHand });
            }
            _ => {}
        }
        if inner.seen.len() >= SEEN_SWEEP_AT {
            inner.seen.retain(|_, mark| mark.until > now);
        }
        let unanswering = answering.filter(|answering| {
            let sender = (answering.tenant.clone(), answering.channel.clone(), answering.from.clone());
            let survey = inner.by_recipient.get(&sender).map(|id| (answering.tenant.clone(), id.clone()));
            !survey.is_some_and(|survey| inner.surveys.contains_key(&survey))
        });
        if let Some(answering) = unanswering {
            inner.seen.insert(key.to_owned(), Mark { handled: true, until: now + answering.handled_for });
            return Ok(Sighting::Settled);
        }
        inner.seen.insert(key.to_owned(), Mark { handled: false, until: now + lease });
        Ok(Sighting::First)
    }

    async fn confirm(&self, key: &str, now: Timestamp, ttl: jiff::SignedDuration) -> Result<(), StoreError> {
        self.lock().seen.insert(key.to_owned(), Mark { handled: true, until: now + ttl });
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.seen.get(key).is_some_and(|mark| !mark.handled) {
            inner.seen.remove(key);
        }
        Ok(())
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.lock().seen.remove(key);
        Ok(())
    }

    async fn remembers(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self.lock().seen.get(key).is_some_and(|mark| mark.until > now))
    }
}

#[async_trait]
impl WorkShares for MemoryStore {
    async fn share_work(&self, worker: &WorkerId, now: Timestamp, until: Timestamp) -> Result<Buckets, StoreError> {
        let mut inner = self.lock();
        inner.workers.insert(worker.clone(), until);
        inner.workers.retain(|_, alive_until| *alive_until >= now);
        let alive: Vec<WorkerId> = inner.workers.keys().cloned().collect();
        let share = share_of(&alive, worker);
        let mut held = Vec::new();
        for (bucket, lease) in inner.leases.iter_mut().enumerate() {
            let free = lease.as_ref().is_none_or(|(holder, ends)| holder == worker || *ends <= now);
            if share.contains(bucket) && free {
                *lease = Some((worker.clone(), until));
                held.push(bucket);
            } else if lease.as_ref().is_some_and(|(holder, _)| holder == worker) {
                *lease = None;
            }
        }
        Ok(Buckets::of(held))
    }

    async fn leave(&self, worker: &WorkerId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.workers.remove(worker);
        for lease in &mut inner.leases {
            if lease.as_ref().is_some_and(|(holder, _)| holder == worker) {
                *lease = None;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Tallies for MemoryStore {
    async fn tally(&self, tenant: &TenantId, day: jiff::civil::Date, add: &[(String, i64)]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let tallies = inner.tallies.entry((tenant.clone(), day)).or_default();
        for (name, amount) in add {
            *tallies.entry(name.clone()).or_default() += amount;
        }
        Ok(())
    }

    async fn tallies(
        &self,
        tenant: &TenantId,
        days: &[jiff::civil::Date],
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let inner = self.lock();
        let mut sum = BTreeMap::new();
        for day in days {
            for (name, amount) in inner.tallies.get(&(tenant.clone(), *day)).into_iter().flatten() {
                *sum.entry(name.clone()).or_default() += amount;
            }
        }
        Ok(sum)
    }
}

#[async_trait]
impl Pacing for MemoryStore {
    async fn take_send_slots(
        &self,
        tenant: &TenantId,
        lane: SendLane<'_>,
        interval: jiff::SignedDuration,
        count: u32,
        horizon: jiff::SignedDuration,
    ) -> Result<SendSlots, StoreError> {
        let now = Timestamp::now();
        let mut inner = self.lock();
        let key = match lane {
            SendLane::Channel(channel) => (tenant.clone(), channel.clone(), None),
            SendLane::Recipient(channel, recipient) => (tenant.clone(), channel.clone(), Some(recipient.clone())),
        };
        let kept = inner.paces.get(&key).copied();
        let (slots, pace) = take_slots(kept, interval, count, horizon, now);
        if let Some(pace) = pace {
            // A pace whose slots have all passed is a fresh one: dropped, as Redis expires it,
            // so a pace a recipient doesn't pile up.
            if key.2.is_some() {
                inner.paces.retain(|_, kept| kept.next_free > now);
            }
            inner.paces.insert(key, pace);
        }
        Ok(slots)
    }
}

#[async_trait]
impl Notices for MemoryStore {
    async fn publish(&self, notice: &str) -> Result<(), StoreError> {
        // Nobody listening is no failure: nobody needs telling.
        let _ = self.notices.send(Heard::Notice(notice.to_owned()));
        Ok(())
    }

    fn listen(&self) -> broadcast::Receiver<Heard> {
        self.notices.subscribe()
    }
}

/// The bucket of a survey (by its tenant and id) or an outbox item (by its id).
fn bucket_of(key: &str) -> usize {
    fnv1a(key) as usize % BUCKETS
}

/// A key's sighting: claimed or handled, until when.
#[derive(Debug, Clone, Copy)]
struct Mark {
    handled: bool,
    until: Timestamp,
}
