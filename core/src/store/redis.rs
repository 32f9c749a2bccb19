//! The production store, on Redis.
//!
//! # Keys
//!
//! With the default prefix `rw`, for tenant `acme`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `rw:t:acme:{s:<survey>}` | string | the survey in its compact form, led by its revision (see [`compact`]) |
//! | `rw:t:acme:c/<conversation>` | string | the id of the conversation's latest survey |
//! | `rw:t:acme:r/<channel>/<recipient>` | string | the id of the survey the recipient is answering |
//! | `rw:t:acme:w/<channel>/<recipient>` | string | when the end user last wrote, in unix microseconds (see [`LastWritten`]) |
//! | `rw:due:{<bucket>}` | sorted set | `<tenant>/<survey>`, scored by [`Survey::next_due`] in unix milliseconds; one of 16 buckets, chosen by a hash of the member |
//! | `rw:t:acme:surveys` | sorted set | survey ids, scored by `created_at` in unix milliseconds (rounded down) |
//! | `rw:t:acme:counts/<YYYY-MM>` | hash | the tenant's counters of a UTC month (see [`crate::counts`]): per field, packed counts |
//! | `rw:t:acme:counts/<YYYY-MM-DD>` | hash | the tenant's counters of a UTC day, its six-hour slots, hours and quarter-hours |
//! | `rw:counted_since` | string | since when (unix milliseconds) every survey's writes are counted: set by the first store that kept counters, never changed; a report reads what came before survey by survey |
//! | `rw:t:acme:negative` | sorted set | the ids of the tenant's most recent negative ratings ([`NEGATIVE_KEPT`]), scored by when they were given in unix milliseconds |
//! | `rw:t:acme:rec:<kind>/<id>` | hash | `rev` (the record's revision) and `body`; a record of a kind not listed ([`RecordKind::is_listed`]: contacts, sent messages) expires the retention after its last write |
//! | `rw:t:acme:rec:<kind>` | sorted set | the ids of the tenant's records of a listed kind, all scored 0 |
//! | `rw:outbox:item:<id>` | string | the [`OutboxItem`] as JSON |
//! | `rw:outbox:due:{<bucket>}` | sorted set | `<tenant>/<item>`, scored by the item's due time in unix milliseconds (rounded up); one of 16 buckets, a survey's messages in one (see [`outbox_bucket`]) |
//! | `rw:t:acme:outbox` | sorted set | the tenant's item ids, scored as in the due index once a claim's lease is written: what listing the tenant's pending items reads |
//! | `rw:seen:<tenant>/<channel>/<message>` | string | `claimed` while a platform's message is handled (a short lease), then `handled` for a week, marked by the write of the survey it changed |
//!
//! Ids may contain `:` but never `/`, `{` or `}`, so a key names exactly one tenant and one
//! conversation or recipient: the variable parts are closed by a `/` or a `{`, never by a `:`.
//! The keys without a variable part after the tenant end in a word of their own (`surveys`, a
//! record kind), which no other key ends in.
//!
//! # On a Redis Cluster
//!
//! Every script touches keys of one hash slot. A survey's script writes its record, the
//! tenant's counters and index of negative ratings, its due entry, and the outbox items it
//! queues with their entries and the platform's message it handles, together; so on a cluster
//! survey data is split into 16 shards, a survey's shard chosen by a hash of its id
//! ([`Keys::shard`]), each shard one slot for every tenant, tagged `{<shard>}` like the due
//! index's and the outbox's bucket of the same number: `rw:t:acme:{7}:s/<survey>`,
//! `rw:t:acme:{7}:counts/<period>`, `rw:t:acme:{7}:negative`, `rw:due:{7}`,
//! `rw:outbox:{7}:item:<id>`, `rw:outbox:due:{7}`, `rw:t:acme:{7}:outbox`. An end user's
//! recipient pointer, when they last wrote and their messages' sightings are in the shard of a
//! hash of their channel and id (`rw:t:acme:{3}:r/<channel>/<recipient>`,
//! `rw:seen:{3}acme/<channel>/<message>`), and the surveys made for them get ids drawn until they
//! fall in that shard ([`Keys::survey_id_for`]), so a message's whole handling is on one slot
//! (a survey that isn't, made elsewhere, is read after its pointer). A report adds up the
//! shards' counters (16 hashes a period, read at once) and the newest of their negative
//! ratings. One server keeps the keys above, which need no shared slot (so an existing
//! deployment needs no migration).
//!
//! A pipeline is sent to one slot's node at a time: those whose commands depend on the ones
//! before are sent a run of one slot after the other, in order; those of independent commands
//! (reads, claims of different buckets, a survey's script and its pointers' expiry) slot by slot
//! at once (see [`super::connections::Order`]).
//!
//! # Listing surveys
//!
//! `rw:t:<tenant>:surveys` is the tenant's creation index. [`SurveyStore::create`] adds the
//! survey to it before writing the record (and takes it back when the conversation refuses the
//! survey); listing reads the index by score, then the records, skips members whose record is
//! gone and orders what is left by creation time and id. The index lives as long as the
//! records (its expiry is pushed back by every create) and every create drops the members
//! created more than the retention ago, so a survey is listed for the retention after its
//! creation.
//!
//! # Records
//!
//! A record is written by one script comparing its revision. The per-kind index, a sorted set
//! whose members all score 0 so `ZRANGE … BYLEX` reads them in id order, is written before a
//! new record (so no lost connection can leave a record unlisted) and again after it (so a
//! delete of the same id racing the create can't take the entry away); a delete removes the
//! record, then the entry, then puts the entry back if the record was created again meanwhile.
//! Index members whose record is gone are skipped. Records don't expire.
//!
//! Configurations, channels and endpoints are read on every message and change rarely: the
//! store keeps a copy of each for a second (see [`cache`]), dropped at once when it changes them.
//!
//! # Outbox
//!
//! An item is a string, written with `SET … NX` when enqueued and `SET … XX` afterwards, so
//! nothing but enqueuing brings back a completed item. When it is due lives in one of 16
//! buckets, `rw:outbox:due:{0}` … `{15}`, so gateways enqueue and claim over 16 keys (and
//! slots) instead of one. A survey's messages share a bucket, chosen by a hash of the tenant
//! and survey (an event's by its id), so whoever claims a bucket has them in order. A claim
//! reads the soonest due entries of every bucket in one round trip, takes the soonest of all,
//! and claims them with one script a bucket, which moves each member still due to the lease's
//! end and returns it: two gateways never take one item. The item's JSON keeps the exact due
//! time it was last given (a claim rewrites it with the lease's end); where it disagrees with
//! the score (the claimer lost its connection before rewriting it), the score wins. The one
//! key of earlier versions, `rw:outbox:due`, is read with the buckets, and what is due there
//! is moved into its bucket and claimed in the same round.
//!
//! Unlike the other indexes, an item is written before its entry: an entry found without its
//! item is taken for a leftover of a completion and dropped, which would lose an item being
//! enqueued. A lost connection between the two leaves the item unscheduled until it is enqueued
//! again (which writes the missing entry). A completion removes the item, then its entry; an
//! entry left behind is dropped when a claim or a listing finds it.
//!
//! A tenant's pending items are listed from `rw:t:<tenant>:outbox`, which mirrors the tenant's
//! entries of the due index: written with them, and moved to the lease's end with the item's
//! JSON after a claim (the claim's script touches only the one key). So a listing reads as many
//! entries as it shows, whatever the other tenants have waiting. It is what a business is shown
//! as its pending deliveries, not something the delivery path calls. An item enqueued by a
//! version without this index joins it when it is claimed or rescheduled.
//!
//! # Atomicity
//!
//! The connection is multiplexed, so WATCH/MULTI (which belong to a connection, not to a task)
//! can't be used. Every conditional write is instead a Lua script. A survey's script touches,
//! besides the record, only what must change with it: the tenant's counters, so a report never
//! counts a write twice or misses one, the index of negative ratings, its due entry, and what
//! goes along with the write ([`Along`]: outbox items, the message handled). Other operations
//! spanning several keys are ordered so that a crash between two steps leaves nothing worse
//! than a due-index entry the sweeper finds stale, a survey record no pointer leads to (it
//! expires with the retention), or an index member whose record is gone (skipped when read).
//!
//! # The due index
//!
//! When each survey next falls due is kept in 16 buckets (`rw:due:{0}` … `rw:due:{15}`), a
//! survey's bucket chosen by a hash of `<tenant>/<survey>` (on a cluster, its shard's), its
//! entry written by the survey's own script, so it always says what the record says. The
//! index's writes spread over keys (and, on a cluster, over slots) instead of all landing on
//! one. The sweeper reads the
//! soonest entries of every bucket in one round trip and takes the soonest of them. The one key
//! of earlier versions, `rw:due`, is read with them, and what is found due there is moved into
//! its bucket (unless the bucket already has a newer entry for it): so a survey's writes never
//! touch that one key, and it empties as its entries fall due, whichever version wrote them.
//!
//! # Expiry
//!
//! A survey record and its conversation pointer live for the retention after the survey's last
//! write. The recipient pointer lives until the last moment a reply still means something (the
//! deadline while pending, the end of the comment window once rated, whichever is later) plus
//! the late reply grace, and never less than the grace from now. A counter hash lives for the
//! retention after its month or day ends, the index of negative ratings for the retention after
//! the last negative rating (an entry whose record expired is skipped). The due index is what
//! drives deadlines; keyspace notifications are not used.
//!
//! Needs Redis 6.2 or later (`ZRANGE … BYSCORE`, `SET … PXAT`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use redis::cluster_routing::Slot;
use redis::{FromRedisValue, Pipeline, RedisError, Script, ScriptInvocation, ServerErrorKind, Value};

use super::cache::{self, Lookup, RecordCache};
use super::compact;
use super::connections::{Connection, Connections, Order, Published, RedisTarget, Subscription};
use super::notices::{Heard, Notices};
use super::pace::{Pacing, SendLane, SendSlots};
use super::tallies::Tallies;
use super::work::{BUCKETS, Buckets, WorkShares, WorkerId, fnv1a, share_of};
use super::{
    Along, Answering, DueSurvey, LastWritten, Outbox, OutboxItem, RecordKind, RecordStore, Seen, Sighting, StoreError,
    SurveyStore, Task, Versioned,
};
use crate::counts::{self, CounterChange, Field, Period};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
use crate::report::{self, NEGATIVE_KEPT};
use crate::survey::{Survey, SurveyState};

/// How the Redis store names and keeps its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStoreOptions {
    /// Put in front of every key, so several deployments can share one Redis.
    pub prefix: String,
    /// How long a survey record (and its conversation pointer) is kept after its last write.
    pub retention: SignedDuration,
    /// How long after a survey stops taking replies its recipient's replies are still matched
    /// to it (to tell them it has expired, rather than ignoring them).
    pub late_reply_grace: SignedDuration,
}

impl Default for RedisStoreOptions {
    fn default() -> Self {
        Self {
            prefix: "rw".to_owned(),
            retention: SignedDuration::from_hours(24 * 400),
            late_reply_grace: SignedDuration::from_hours(24 * 7),
        }
    }
}

/// The most index members, or records, one round trip reads when listing.
const PAGE: usize = 500;
/// How often listing a tenant's outbox reads again after dropping entries that led nowhere.
const MAX_OUTBOX_READ_ROUNDS: usize = 4;

/// Writes a survey record whose stored revision is the expected one, or a new record when the
/// expected revision is '' and none exists (an empty record deletes it), and with it what the
/// write changes in the tenant's index of negative ratings and counters, and what goes along
/// with it (see [`Along`]), in one step.
/// KEYS[1]: the record; then, optionally, KEYS[2]: the index of negative ratings, KEYS[3], …:
/// counter hashes, and the keys of what goes along. ARGV: expected stored revision, the record
/// (led by its own revision: see [`compact`]), retention in milliseconds; with KEYS[2], what
/// becomes of the survey's entry ('' nothing, '-' removed, or the score it is put in with), the
/// survey id, how many entries the index keeps, and the number of counter hashes; then each
/// counter hash's expiry in unix milliseconds, its number of fields, and each field's name and
/// deltas (comma-separated integers, added one by one to the stored ones); then what goes along,
/// each on the next key: `add` and a value (set unless the key exists), `index` and a score and
/// member (added unless there), `score` and a score and member (set), `drop` and a member
/// (removed), or `mark` and a value and its expiry in unix milliseconds. A survey's due entry is
/// one of these, so it always says what the record last written says.
/// A field whose counts all come to zero is dropped. Counts are sums of small integers, exact in
/// Lua's numbers. Revisions are compared as decimal strings, so no precision is lost to Lua
/// numbers. Returns 1 if written, 0 otherwise.
const WRITE_RECORD: &str = r"
local stored = redis.call('GETRANGE', KEYS[1], 0, 20)
local revision = string.match(stored, '^(%d+):') or ''
if revision ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if #KEYS < 2 then
  return 1
end
if ARGV[4] == '-' then
  redis.call('ZREM', KEYS[2], ARGV[5])
elseif ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[6]))
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local at = 8
local k = 3
for _ = 1, tonumber(ARGV[7]) do
  local fields = tonumber(ARGV[at + 1])
  for f = 1, fields do
    local field, deltas = ARGV[at + 2 * f], ARGV[at + 2 * f + 1]
    local sums = {}
    local counted = redis.call('HGET', KEYS[k], field)
    if counted then
      for n in string.gmatch(counted, '[^,]+') do
        sums[#sums + 1] = tonumber(n)
      end
    end
    local i = 0
    for n in string.gmatch(deltas, '[^,]+') do
      i = i + 1
      sums[i] = (sums[i] or 0) + tonumber(n)
    end
    local zero = true
    for j = 1, #sums do
      if sums[j] ~= 0 then
        zero = false
      end
    end
    if zero then
      redis.call('HDEL', KEYS[k], field)
    else
      redis.call('HSET', KEYS[k], field, table.concat(sums, ','))
    end
  end
  redis.call('PEXPIREAT', KEYS[k], ARGV[at])
  at = at + 2 + 2 * fields
  k = k + 1
end
while at <= #ARGV do
  local operation = ARGV[at]
  if operation == 'add' then
    redis.call('SET', KEYS[k], ARGV[at + 1], 'NX')
    at = at + 2
  elseif operation == 'index' then
    redis.call('ZADD', KEYS[k], 'NX', ARGV[at + 1], ARGV[at + 2])
    at = at + 3
  elseif operation == 'score' then
    redis.call('ZADD', KEYS[k], ARGV[at + 1], ARGV[at + 2])
    at = at + 3
  elseif operation == 'drop' then
    redis.call('ZREM', KEYS[k], ARGV[at + 1])
    at = at + 2
  elseif operation == 'mark' then
    redis.call('SET', KEYS[k], ARGV[at + 1], 'PXAT', ARGV[at + 2])
    at = at + 3
  else
    return redis.error_reply('unknown operation ' .. operation)
  end
  k = k + 1
end
return 1
";

/// Compare-and-set of a pointer. KEYS[1]: the pointer. ARGV: the expected value ('' for none),
/// the new value, its time to live in milliseconds. Returns 1 if set, 0 if the pointer held
/// something else.
const SWAP_POINTER: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false then
  current = ''
end
if current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Moves a pointer's expiry later (never earlier) if it still points at a given survey.
/// KEYS[1]: the pointer. ARGV: the survey id, the expiry in unix milliseconds. Returns 1 if
/// moved.
const EXTEND_POINTER: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if ttl >= 0 and now + ttl >= tonumber(ARGV[2]) then
  return 0
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
";

/// Writes a business record whose stored revision is the expected one, or a new record when the
/// expected revision is '' and none exists. KEYS[1]: the record. ARGV: expected stored revision,
/// new revision, body, and, for a record kept for a time, that time in milliseconds. Returns 1
/// if written, 0 otherwise.
const PUT_RECORD: &str = r"
local stored = redis.call('HGET', KEYS[1], 'rev') or ''
if stored ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'body', ARGV[3])
if ARGV[4] then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
";

/// Claims outbox items found due: moves each member still due to the end of the lease and
/// returns those, with the scores they had, as a flat list of member, score. KEYS[1]: a bucket
/// of the outbox's due index. ARGV: the highest score due, the lease's end as a score, then the
/// members.
const CLAIM_OUTBOX: &str = r"
local claimed = {}
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
    claimed[#claimed + 1] = ARGV[i]
    claimed[#claimed + 1] = score
  end
end
return claimed
";

/// Reads a pointer and the survey it leads to, in one step. KEYS[1]: the pointer. ARGV: what the
/// survey's key holds before and after its id. The survey's key is not declared: on a cluster it
/// must share the pointer's slot, which the store makes sure of before it calls this. Returns
/// nil, or the id and the record (nil if it is gone).
const FOLLOW_POINTER: &str = r"
local id = redis.call('GET', KEYS[1])
if not id then
  return false
end
return {id, redis.call('GET', ARGV[1] .. id .. ARGV[2])}
";

/// Keeps the latest of the times an end user wrote. KEYS[1]: the time kept. ARGV: the time, in
/// unix microseconds (exact in Lua's numbers), and how long to keep it, in milliseconds, from
/// now. Returns 1 if the time is the latest, 0 if a later one was kept.
const NOTE_WRITTEN: &str = r"
local kept = redis.call('GET', KEYS[1])
if kept and tonumber(kept) >= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Claims a platform message id unless it is claimed or handled. KEYS[1]: the sighting; KEYS[2],
/// when the caller settles a message whose sender has no survey: the sender's recipient pointer.
/// ARGV: the claim's lease, then how long a settled message stays handled, in milliseconds.
/// Returns nil when claimed now, `settled` when marked handled now, else what the key holds
/// (`claimed` or `handled`).
const CLAIM_SIGHTING: &str = r"
local held = redis.call('GET', KEYS[1])
if held then
  return held
end
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], 'handled', 'PX', ARGV[2])
  return 'settled'
end
redis.call('SET', KEYS[1], 'claimed', 'PX', ARGV[1])
return false
";

/// Takes, keeps or gives back a worker's lease of a bucket. KEYS[1]: the bucket's lease. ARGV: the
/// worker, the lease's end in unix milliseconds, and `1` to hold the bucket or `0` to give it
/// back. Returns 1 when the worker holds it now.
const LEASE_BUCKET: &str = r"
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if not holder or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
    return 1
  end
  return 0
end
if holder == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
";

/// Takes up to a number of a channel's next free send slots: `pace::take_slots` on Redis's
/// clock, so that every gateway counts on one. KEYS[1]: the channel's pace, `<next free slot>
/// <interval>` in microseconds. ARGV: the interval and the horizon in microseconds, and the
/// slots wanted. Returns the wait before the first slot taken (0: now) and how many were taken,
/// or minus the wait before the next free slot and 0 when it is past the horizon.
const TAKE_SEND_SLOTS: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval, horizon, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local free = now
local kept = redis.call('GET', KEYS[1])
if kept then
  local at, was = string.match(kept, '^(%d+) (%d+)$')
  if at and tonumber(was) == interval and tonumber(at) > now then
    free = tonumber(at)
  end
end
local first = free - now
if first > horizon then
  return {-first, 0}
end
local count = math.max(1, math.min(wanted, math.floor((horizon - first) / interval) + 1))
local next_free = free + count * interval
redis.call('SET', KEYS[1], string.format('%d %d', next_free, interval), 'PX', math.floor((next_free - now) / 1000) + 1000)
return {first, count}
";

/// Drops a claim, leaving a key marked handled as it is. KEYS[1]: the sighting.
const RELEASE_SIGHTING: &str = r"
if redis.call('GET', KEYS[1]) == 'claimed' then
  redis.call('DEL', KEYS[1])
end
return 1
";

struct Scripts {
    write_record: Script,
    swap_pointer: Script,
    extend_pointer: Script,
    put_record: Script,
    claim_outbox: Script,
    claim_sighting: Script,
    release_sighting: Script,
    note_written: Script,
    follow_pointer: Script,
    lease_bucket: Script,
    take_send_slots: Script,
}

impl Scripts {
    fn all(&self) -> [&Script; 11] {
        [
            &self.write_record,
            &self.swap_pointer,
            &self.extend_pointer,
            &self.put_record,
            &self.claim_outbox,
            &self.claim_sighting,
            &self.release_sighting,
            &self.note_written,
            &self.follow_pointer,
            &self.lease_bucket,
            &self.take_send_slots,
        ]
    }
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    write_record: Script::new(WRITE_RECORD),
    swap_pointer: Script::new(SWAP_POINTER),
    extend_pointer: Script::new(EXTEND_POINTER),
    put_record: Script::new(PUT_RECORD),
    claim_outbox: Script::new(CLAIM_OUTBOX),
    claim_sighting: Script::new(CLAIM_SIGHTING),
    release_sighting: Script::new(RELEASE_SIGHTING),
    note_written: Script::new(NOTE_WRITTEN),
    follow_pointer: Script::new(FOLLOW_POINTER),
    lease_bucket: Script::new(LEASE_BUCKET),
    take_send_slots: Script::new(TAKE_SEND_SLOTS),
});

/// The key names of one store.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
    /// On a cluster a survey's record shares its slot with what its writes change and queue:
    /// see [`Keys::shard`].
    cluster: bool,
}

/// Notices a listener may fall behind by before it loses the oldest.
const NOTICES_KEPT: usize = 1024;

/// How many shards survey data is split into on a cluster: as many as the due index and the
/// outbox have buckets (see [`work`](super::work)), each shard with its buckets in one slot.
const CLUSTER_SHARDS: usize = BUCKETS;

impl Keys {
    /// The shard a survey belongs to, by a hash of its id. On a cluster a shard is one slot, its
    /// tag's (`{<shard>}`), shared by every tenant's surveys of the shard, and holding, for each
    /// survey, its record, its tenant's counters and index of negative ratings it changes, its
    /// entry of the due index and the outbox items it queues with their entries: a survey's
    /// script writes all of them. The tenants' writes spread over [`CLUSTER_SHARDS`] slots. One
    /// server needs no shared slot, and keeps the keys it always had.
    fn shard(&self, id: &SurveyId) -> Option<usize> {
        self.cluster.then(|| fnv1a(id.as_str()) as usize % CLUSTER_SHARDS)
    }

    /// Every shard a report reads.
    fn shards(&self) -> Vec<Option<usize>> {
        if self.cluster { (0..CLUSTER_SHARDS).map(Some).collect() } else { vec![None] }
    }

    /// What a shard's keys start with.
    fn survey_data(&self, tenant: &TenantId, shard: Option<usize>) -> String {
        match shard {
            None => format!("{}:t:{tenant}", self.prefix),
            Some(shard) => format!("{}:t:{tenant}:{{{shard}}}", self.prefix),
        }
    }

    fn survey(&self, tenant: &TenantId, id: &SurveyId) -> String {
        let (before, after) = self.survey_around(tenant, self.shard(id));
        format!("{before}{id}{after}")
    }

    /// What a survey's key holds before and after its id, the survey in `shard`.
    fn survey_around(&self, tenant: &TenantId, shard: Option<usize>) -> (String, &'static str) {
        match shard {
            None => (format!("{}:t:{tenant}:{{s:", self.prefix), "}"),
            shard => (format!("{}:s/", self.survey_data(tenant, shard)), ""),
        }
    }

    /// On a cluster, the shard whose slot holds an end user's recipient pointer, and the surveys
    /// made for them ([`Keys::survey_id_for`]): reading the survey their message answers is then
    /// one script on one slot.
    fn recipient_shard(&self, channel: &ChannelId, recipient: &RecipientId) -> Option<usize> {
        self.cluster.then(|| fnv1a(&format!("{channel}/{recipient}")) as usize % CLUSTER_SHARDS)
    }

    /// An id for a new survey of `recipient` on `channel`: on a cluster, drawn until it falls in
    /// the recipient's shard (one draw in 16 does).
    fn survey_id_for(&self, channel: &ChannelId, recipient: &RecipientId) -> SurveyId {
        let shard = self.recipient_shard(channel, recipient);
        loop {
            let id = SurveyId::generate();
            if shard.is_none() || self.shard(&id) == shard {
                return id;
            }
        }
    }

    fn conversation(&self, tenant: &TenantId, conversation: &ConversationId) -> String {
        format!("{}:t:{tenant}:c/{conversation}", self.prefix)
    }

    fn recipient(&self, tenant: &TenantId, channel: &ChannelId, recipient: &RecipientId) -> String {
        let shard = self.recipient_shard(channel, recipient);
        format!("{}:r/{channel}/{recipient}", self.survey_data(tenant, shard))
    }

    /// When the end user last wrote; on a cluster, in their recipient pointer's shard.
    fn written(&self, tenant: &TenantId, channel: &ChannelId, recipient: &RecipientId) -> String {
        let shard = self.recipient_shard(channel, recipient);
        format!("{}:w/{channel}/{recipient}", self.survey_data(tenant, shard))
    }

    /// The bucket of the due index a survey's entry (`member`) is in: on a cluster its shard's,
    /// where its script writes; on one server by a hash of the member.
    fn due_bucket(&self, member: &str) -> usize {
        match parse_due_member(member).and_then(|(_, id)| self.shard(&id)) {
            Some(shard) => shard,
            None => fnv1a(member) as usize % BUCKETS,
        }
    }

    /// On a cluster, the shard of an outbox item: its survey's (see [`Keys::shard`]), or, for an
    /// event queued before events named their survey, by its member.
    fn item_shard(&self, item: &OutboxItem) -> Option<usize> {
        if !self.cluster {
            return None;
        }
        if item.task.prechat_recipient().is_some() {
            return Some(outbox_bucket(item));
        }
        let survey = match &item.task {
            Task::Send { survey, .. } => Some(survey),
            Task::Webhook { survey, .. } => survey.as_ref(),
            Task::Prompt { .. } | Task::PrechatDue { .. } => None,
        };
        let by_member = || fnv1a(&outbox_member(&item.tenant, &item.id)) as usize % BUCKETS;
        Some(survey.and_then(|survey| self.shard(survey)).unwrap_or_else(by_member))
    }

    /// The bucket of the outbox's due index an item is in: on a cluster its shard's; on one
    /// server, see [`outbox_bucket`].
    fn outbox_bucket(&self, item: &OutboxItem) -> usize {
        self.item_shard(item).unwrap_or_else(|| outbox_bucket(item))
    }

    /// On a cluster, the shard of the outbox items whose entries are in `bucket` (its own).
    fn bucket_shard(&self, bucket: Option<usize>) -> Option<usize> {
        bucket.filter(|_| self.cluster)
    }

    /// One bucket of the due index: surveys spread over [`BUCKETS`] keys by their id, so
    /// no one key takes every gateway's writes (and on a cluster the buckets spread over slots).
    fn due(&self, bucket: usize) -> String {
        format!("{}:due:{{{bucket}}}", self.prefix)
    }

    /// The due index as one key, before it was split into buckets: still read and drained, so
    /// surveys written by an older version keep their deadlines.
    fn unbucketed_due(&self) -> String {
        format!("{}:due", self.prefix)
    }

    /// A platform's message from an end user, as [`Seen`] keys it: on a cluster led by the hash
    /// tag of their recipient pointer's shard, where the surveys made for them are, so the
    /// survey's script marks the message handled.
    fn message_key(&self, tenant: &TenantId, channel: &ChannelId, from: &RecipientId, platform_id: &str) -> String {
        let key = format!("{tenant}/{channel}/{platform_id}");
        match self.recipient_shard(channel, from) {
            Some(shard) => format!("{{{shard}}}{key}"),
            None => key,
        }
    }

    /// A platform message's sighting (see [`Seen`]).
    fn seen(&self, key: &str) -> String {
        format!("{}:seen:{key}", self.prefix)
    }

    /// Since when every survey's writes are counted, in unix milliseconds.
    fn counted_since(&self) -> String {
        format!("{}:counted_since", self.prefix)
    }

    /// The tenant's creation index.
    fn surveys(&self, tenant: &TenantId) -> String {
        format!("{}:t:{tenant}:surveys", self.prefix)
    }

    /// The counters of a UTC month or day (see [`crate::counts`]) of a shard of the tenant's
    /// surveys.
    fn counts(&self, tenant: &TenantId, shard: Option<usize>, period: Period) -> String {
        format!("{}:counts/{period}", self.survey_data(tenant, shard))
    }

    /// The index of negative ratings of a shard of the tenant's surveys.
    fn negative(&self, tenant: &TenantId, shard: Option<usize>) -> String {
        format!("{}:negative", self.survey_data(tenant, shard))
    }

    /// A tenant's pre-chat tallies of a UTC day (see [`Tallies`]).
    fn tallies(&self, tenant: &TenantId, day: jiff::civil::Date) -> String {
        format!("{}:t:{tenant}:prechat-tallies/{day}", self.prefix)
    }

    fn record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> String {
        format!("{}:t:{tenant}:rec:{kind}/{id}", self.prefix)
    }

    /// The index of the tenant's records of a kind.
    fn records(&self, tenant: &TenantId, kind: RecordKind) -> String {
        format!("{}:t:{tenant}:rec:{kind}", self.prefix)
    }

    /// An outbox item, on a cluster in its shard (see [`RedisStore::item_shard`]).
    fn outbox_item(&self, shard: Option<usize>, id: &str) -> String {
        match shard {
            None => format!("{}:outbox:item:{id}", self.prefix),
            Some(shard) => format!("{}:outbox:{{{shard}}}:item:{id}", self.prefix),
        }
    }

    /// One bucket of the outbox's due index (see [`outbox_bucket`]).
    fn outbox_due(&self, bucket: usize) -> String {
        format!("{}:outbox:due:{{{bucket}}}", self.prefix)
    }

    /// The outbox's due index as one key, before it was split into buckets: still drained.
    fn unbucketed_outbox_due(&self) -> String {
        format!("{}:outbox:due", self.prefix)
    }

    /// The pub/sub channel of the gateways' notices (see [`notices`](super::notices)). Its tag
    /// puts it in one slot with [`Keys::record_changes`], so that on a cluster one sharded
    /// subscription hears both.
    fn notices(&self) -> String {
        format!("{}:{{notices}}", self.prefix)
    }

    /// The pub/sub channel of the records changed (see [`NoticeBoard`]).
    fn record_changes(&self) -> String {
        format!("{}:{{notices}}:record-changes", self.prefix)
    }

    /// How the channels above are published to: on a cluster, to their shard alone.
    fn publish(&self) -> &'static str {
        if self.cluster { "SPUBLISH" } else { "PUBLISH" }
    }

    /// A channel's send pace, or its pace to one recipient (see [`pace`](super::pace)).
    fn pace(&self, tenant: &TenantId, lane: SendLane<'_>) -> String {
        match lane {
            SendLane::Channel(channel) => format!("{}:t:{tenant}:pace/{channel}", self.prefix),
            SendLane::Recipient(channel, recipient) => format!("{}:t:{tenant}:pace/{channel}/{recipient}", self.prefix),
        }
    }

    /// The workers alive (see [`work`](super::work)), each until when: read and written once a
    /// turn by each gateway, a few times a minute.
    fn workers(&self) -> String {
        format!("{}:workers", self.prefix)
    }

    /// Which worker holds a bucket, until its lease ends; on a cluster in the bucket's slot.
    fn bucket_lease(&self, bucket: usize) -> String {
        format!("{}:lease:{{{bucket}}}", self.prefix)
    }

    /// The tenant's outbox items, as the due index has them; on a cluster, those of a shard.
    fn tenant_outbox(&self, tenant: &TenantId, shard: Option<usize>) -> String {
        format!("{}:outbox", self.survey_data(tenant, shard))
    }
}

fn due_member(tenant: &TenantId, id: &SurveyId) -> String {
    format!("{tenant}/{id}")
}

fn parse_due_member(member: &str) -> Option<(TenantId, SurveyId)> {
    let (tenant, id) = member.split_once('/')?;
    Some((TenantId::new(tenant).ok()?, SurveyId::new(id).ok()?))
}

const NANOS_PER_MILLI: i128 = 1_000_000;

/// A due time as a score, rounded up to the millisecond: the sweeper may see a survey a
/// millisecond late, never early.
fn due_score(due: Timestamp) -> i64 {
    let millis = -(-due.as_nanosecond()).div_euclid(NANOS_PER_MILLI);
    millis as i64
}

/// The highest score due at `now`, rounded down to the millisecond.
fn now_score(now: Timestamp) -> i64 {
    now.as_nanosecond().div_euclid(NANOS_PER_MILLI) as i64
}

/// The last moment a reply from the survey's recipient means something to the survey.
fn replies_end(survey: &Survey) -> Timestamp {
    match &survey.state {
        SurveyState::Pending { deadline, .. } => *deadline,
        SurveyState::Rated { comment_until, .. } | SurveyState::Locked { comment_until, .. } => *comment_until,
        SurveyState::Expired { at } | SurveyState::Failed { at, .. } | SurveyState::Cancelled { at } => *at,
    }
}

/// Loads the scripts, on every master of a cluster.
async fn load_scripts(connection: &mut Connection) -> Result<(), RedisError> {
    for script in SCRIPTS.all() {
        script.load_async(connection).await?;
    }
    Ok(())
}

/// Since when every survey's writes are counted: the moment the first store that keeps counters
/// connected, set then (`NX`), read by every later one.
async fn counted_since(connection: &mut Connection, key: &str) -> Result<Timestamp, StoreError> {
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg(key).arg(Timestamp::now().as_millisecond()).arg("NX").ignore();
    pipe.get(key);
    let answers = connection.answers(&pipe, Order::Kept).await.map_err(unavailable)?;
    let (since,): (i64,) = Connection::answered(&pipe, answers).await.map_err(unavailable)?;
    Timestamp::from_millisecond(since)
        .map_err(|error| StoreError::Corrupt { key: key.to_owned(), reason: error.to_string() })
}

/// Runs a pipeline on a connection. If Redis lost the scripts (it restarted, someone ran SCRIPT
/// FLUSH, or a replica became the master), loads them and runs it again; every pipeline here is
/// safe to repeat after a script in it was refused, because nothing before that script depends
/// on it.
async fn run<T: FromRedisValue>(
    pipe: &Pipeline,
    order: Order<'_>,
    mut connection: Connection,
) -> Result<T, RedisError> {
    let mut answers = connection.answers(pipe, order).await?;
    // A server without the scripts (restarted, or a replica just promoted) ran nothing of the
    // calls it answered NOSCRIPT: once the scripts are loaded, those are sent again, alone. The
    // pipeline's other commands ran; sending them again would repeat what is not idempotent (a
    // claim on another node of a cluster, whose items would be leased and not returned).
    let unrun: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, answer)| matches!(answer, Value::ServerError(error) if error.kind() == Some(ServerErrorKind::NoScript)))
        .map(|(index, _)| index)
        .collect();
    if !unrun.is_empty() {
        load_scripts(&mut connection).await?;
        let commands: Vec<&redis::Cmd> = pipe.cmd_iter().collect();
        let mut again = redis::pipe();
        for &index in &unrun {
            again.add_command(commands[index].clone());
        }
        let answered_again = connection.answers(&again, Order::Kept).await?;
        for (index, answer) in unrun.into_iter().zip(answered_again) {
            answers[index] = answer;
        }
    }
    Connection::answered(pipe, answers).await
}

/// A cluster answers a command sent to all its masters with each one's answer by address; one
/// server, with its one answer (under the address "").
fn per_node(answer: Value) -> BTreeMap<String, Value> {
    match answer {
        Value::Map(answers) => answers
            .into_iter()
            .filter_map(|(node, answer)| Some((String::from_redis_value(node).ok()?, answer)))
            .collect(),
        answer => BTreeMap::from([(String::new(), answer)]),
    }
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn millis(duration: SignedDuration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The Redis store. Cheap to clone: clones share its few multiplexed connections, which
/// reconnect on their own after Redis comes back (and, with Sentinel, follow the master).
#[derive(Clone)]
pub struct RedisStore {
    /// Each task's calls go on one of them (see [`RedisStore::connection_turn`]): one
    /// connection's single reader and writer would bound the gateway's round trips (see
    /// docs/performance.md).
    connections: Arc<Connections>,
    next_connection: Arc<AtomicUsize>,
    /// Shared by clones, like the connections.
    cache: Arc<RecordCache>,
    keys: Keys,
    retention_ms: i64,
    late_reply_grace: SignedDuration,
    /// Read at connect: set once, by the first version that kept counters, and never changed.
    counted_since: Timestamp,
    notices: Arc<NoticeBoard>,
}

/// What the store's gateways tell each other over Redis pub/sub, heard through one subscribed
/// connection a store, opened at connect and again whenever it drops: the gateways' notices,
/// passed to whoever listens, and the records changed through any of them, whose copies it drops
/// (see [`cache`]).
struct NoticeBoard {
    target: RedisTarget,
    /// The channel of the gateways' notices.
    notices: String,
    /// The channel of record changes: each message a record's key and its index's, on two lines.
    changes: String,
    heard: tokio::sync::broadcast::Sender<Heard>,
    cache: Arc<RecordCache>,
}

impl NoticeBoard {
    /// Hears both channels for as long as the store lives: a connection that drops is opened
    /// again (after a second); then a gap is said, and every copy dropped, for what was missed.
    async fn listen_forever(board: std::sync::Weak<NoticeBoard>) {
        let mut interrupted = false;
        loop {
            let Some(live) = board.upgrade() else { return };
            let (target, notices, changes) = (live.target.clone(), live.notices.clone(), live.changes.clone());
            let (heard, cache) = (live.heard.clone(), live.cache.clone());
            drop(live);
            match Subscription::open(&target, &[&notices, &changes]).await {
                Ok(mut subscription) => {
                    if interrupted {
                        cache.forget_all();
                        let _ = heard.send(Heard::Gap);
                    }
                    while let Some(Published { channel, payload }) = subscription.next().await {
                        if channel == changes {
                            let (key, index) = payload.split_once('\n').unwrap_or((&payload, ""));
                            cache.forget(key, index);
                        } else {
                            let _ = heard.send(Heard::Notice(payload));
                        }
                    }
                    tracing::warn!("the gateways' notices stopped coming: listening again");
                }
                Err(error) => tracing::warn!(%error, "cannot listen to the gateways' notices: trying again"),
            }
            interrupted = true;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Notices are published on `<prefix>:{notices}`; on a cluster to its shard only (`SPUBLISH`),
/// where every gateway listens.
#[async_trait]
impl Notices for RedisStore {
    async fn publish(&self, notice: &str) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd(self.keys.publish()).arg(&self.notices.notices).arg(notice).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    fn listen(&self) -> tokio::sync::broadcast::Receiver<Heard> {
        self.notices.heard.subscribe()
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.keys.prefix)
            .field("retention_ms", &self.retention_ms)
            .field("late_reply_grace", &self.late_reply_grace)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The script that writes a survey's new revision, for measuring what a write costs Redis.
    pub const SURVEY_WRITE_SCRIPT: &str = WRITE_RECORD;

    /// Connects to Redis at `url` (`redis://host:port/db`, or `rediss://…` trusting the public
    /// roots).
    pub async fn connect(url: &str, options: RedisStoreOptions) -> Result<RedisStore, StoreError> {
        RedisStore::connect_to(&RedisTarget::Url { url: url.to_owned(), tls_ca: None }, options).await
    }

    /// Connects to the server, or the Sentinel group's master, `target` names.
    pub async fn connect_to(target: &RedisTarget, options: RedisStoreOptions) -> Result<RedisStore, StoreError> {
        if !options.retention.is_positive() {
            return Err(StoreError::Unavailable(format!(
                "the retention must be positive, not {:#}",
                options.retention
            )));
        }
        if options.late_reply_grace.is_negative() {
            return Err(StoreError::Unavailable(format!(
                "the late reply grace can't be negative, not {:#}",
                options.late_reply_grace
            )));
        }
        let connections = Connections::open(target).await.map_err(unavailable)?;
        let (_, mut connection) = connections.take(0);
        load_scripts(&mut connection).await.map_err(unavailable)?;
        let keys = Keys { prefix: options.prefix, cluster: matches!(target, RedisTarget::Cluster { .. }) };
        let counted_since = counted_since(&mut connection, &keys.counted_since()).await?;
        let cache = Arc::new(RecordCache::default());
        let notices = Arc::new(NoticeBoard {
            target: target.clone(),
            notices: keys.notices(),
            changes: keys.record_changes(),
            heard: tokio::sync::broadcast::channel(NOTICES_KEPT).0,
            cache: cache.clone(),
        });
        tokio::spawn(NoticeBoard::listen_forever(Arc::downgrade(&notices)));
        Ok(RedisStore {
            connections: Arc::new(connections),
            next_connection: Arc::default(),
            cache,
            keys,
            retention_ms: millis(options.retention),
            late_reply_grace: options.late_reply_grace,
            counted_since,
            notices,
        })
    }

    /// What the server keeps across a crash, as far as it tells; of a cluster, what the master
    /// that falls shortest keeps.
    pub async fn durability(&self) -> Result<super::Durability, StoreError> {
        let (_, mut connection) = self.connections.take(0);
        // The default sections hold both `aof_enabled` and `maxmemory_policy`, on every version.
        let info: Value = redis::cmd("INFO").query_async(&mut connection).await.map_err(unavailable)?;
        // Managed services often refuse CONFIG: then the setting is unknown, not wrong.
        let appendfsync: BTreeMap<String, Value> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendfsync")
            .query_async(&mut connection)
            .await
            .map(per_node)
            .unwrap_or_default();
        // A cluster may answer CONFIG from one node only: that one speaks for all.
        let only_answer = (appendfsync.len() == 1).then(|| appendfsync.values().next()).flatten();
        let mut worst: Option<super::Durability> = None;
        for (node, info) in per_node(info) {
            let info = String::from_redis_value(info).map_err(|error| unavailable(error.into()))?;
            let fsync = appendfsync.get(&node).or(only_answer).cloned();
            let fsync = fsync.and_then(|answer| Option::<(String, String)>::from_redis_value(answer).ok().flatten());
            let durability = super::Durability::from_info(&info, fsync.map(|(_, value)| value));
            if worst.as_ref().is_none_or(|worst| durability.shortfalls().len() > worst.shortfalls().len()) {
                worst = Some(durability);
            }
        }
        worst.ok_or_else(|| StoreError::Unavailable("no Redis server answered INFO".to_owned()))
    }

    /// Runs a pipeline, its commands in order, on the new master if the Sentinel group's
    /// master moved and the pipeline did nothing on the old one (see
    /// [`Connections::follow_master`]).
    async fn query<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisError> {
        self.query_in(pipe, Order::Kept).await
    }

    /// Runs a pipeline of commands that don't depend on each other (reads, mostly), which a
    /// cluster may answer slot by slot at once.
    async fn query_reads<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisError> {
        self.query_in(pipe, Order::Free).await
    }

    /// Runs a pipeline in stages, each starting at the index of its first command: a stage's
    /// commands don't depend on each other, and run once the stage before has run.
    async fn query_staged<T: FromRedisValue>(&self, pipe: &Pipeline, starts: &[usize]) -> Result<T, RedisError> {
        self.query_in(pipe, Order::Stages(starts)).await
    }

    /// Which connection a call goes on: the calling task's, so that the calls one task makes at
    /// once (a message's sighting, its sender's writing noted and their survey read) leave
    /// together, in one write and one round trip, while other tasks' calls spread over the
    /// connections; calls from outside a task take the connections in turn.
    fn connection_turn(&self) -> usize {
        match tokio::task::try_id() {
            Some(task) => {
                let mut hasher = std::hash::DefaultHasher::new();
                std::hash::Hash::hash(&task, &mut hasher);
                std::hash::Hasher::finish(&hasher) as usize
            }
            None => self.next_connection.fetch_add(1, Ordering::Relaxed),
        }
    }

    async fn query_in<T: FromRedisValue>(&self, pipe: &Pipeline, order: Order<'_>) -> Result<T, RedisError> {
        let turn = self.connection_turn();
        let (generation, connection) = self.connections.take(turn);
        match run(pipe, order, connection).await {
            Err(error) if self.connections.follow_master(generation, &error).await => {
                run(pipe, order, self.connections.take(turn).1).await
            }
            Err(error) => {
                self.connections.renew_after(turn, &error).await;
                Err(error)
            }
            result => result,
        }
    }

    fn decode(key: &str, tenant: &TenantId, id: &SurveyId, record: &[u8]) -> Result<Survey, StoreError> {
        compact::decode(record, tenant, id).map_err(|reason| StoreError::Corrupt { key: key.to_owned(), reason })
    }

    async fn read(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        let key = self.keys.survey(tenant, id);
        let mut pipe = redis::pipe();
        pipe.get(&key);
        let (record,): (Option<Vec<u8>>,) = self.query(&pipe).await.map_err(unavailable)?;
        record.map(|record| Self::decode(&key, tenant, id, &record)).transpose()
    }

    /// Reads the survey a pointer leads to, if both are there: in one round trip on one server,
    /// and on a cluster where the pointer is in a shard (`shard`) and the survey in the same one;
    /// else the survey is read after the pointer.
    async fn follow(
        &self,
        tenant: &TenantId,
        pointer: &str,
        shard: Option<usize>,
    ) -> Result<Option<Survey>, StoreError> {
        let corrupt =
            |error: crate::ids::InvalidId| StoreError::Corrupt { key: pointer.to_owned(), reason: error.to_string() };
        if self.keys.cluster && shard.is_none() {
            let mut pipe = redis::pipe();
            pipe.get(pointer);
            let (id,): (Option<String>,) = self.query(&pipe).await.map_err(unavailable)?;
            let Some(id) = id else { return Ok(None) };
            return self.read(tenant, &SurveyId::new(id).map_err(corrupt)?).await;
        }
        let (before, after) = self.keys.survey_around(tenant, shard);
        let mut follow = SCRIPTS.follow_pointer.prepare_invoke();
        follow.key(pointer).arg(&before).arg(after);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&follow);
        let (found,): (Option<(String, Option<Vec<u8>>)>,) = self.query(&pipe).await.map_err(unavailable)?;
        let Some((id, record)) = found else { return Ok(None) };
        let id = SurveyId::new(id).map_err(corrupt)?;
        let key = self.keys.survey(tenant, &id);
        if key != format!("{before}{id}{after}") {
            // A survey whose id was not made for its recipient's shard: elsewhere.
            return self.read(tenant, &id).await;
        }
        record.map(|record| Self::decode(&key, tenant, &id, &record)).transpose()
    }

    /// The expiry of a recipient pointer to `survey`, in unix milliseconds.
    fn recipient_expiry(&self, survey: &Survey) -> i64 {
        let end = replies_end(survey).max(Timestamp::now());
        let expiry = end.checked_add(self.late_reply_grace).unwrap_or(Timestamp::MAX);
        expiry.as_millisecond()
    }

    /// The write that makes a survey's due entry say `due` (none: no entry). A survey's script
    /// writes it with the record, so the entry always says what the last record written says.
    fn scheduling(&self, tenant: &TenantId, id: &SurveyId, due: Option<Timestamp>) -> Companion {
        let member = due_member(tenant, id);
        let key = self.keys.due(self.keys.due_bucket(&member));
        match due {
            Some(due) => Companion::Score { key, score: due_score(due), member },
            None => Companion::Drop { key, member },
        }
    }

    /// The soonest `limit` entries due at `now` of each sorted set, with their scores, in one
    /// round trip.
    async fn soonest(
        &self,
        keys: impl Iterator<Item = String>,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Vec<(String, f64)>>, StoreError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("ZRANGE")
                .arg(key)
                .arg("-inf")
                .arg(now_score(now))
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .arg("WITHSCORES");
        }
        self.query_reads(&pipe).await.map_err(unavailable)
    }

    /// Moves entries of the due index of earlier versions into their buckets, where a bucket's
    /// own entry for the survey, written since, wins (`NX`).
    async fn move_into_buckets(&self, entries: &[(String, f64)]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for (member, score) in entries {
            pipe.cmd("ZADD")
                .arg(self.keys.due(self.keys.due_bucket(member)))
                .arg("NX")
                .arg(*score)
                .arg(member)
                .ignore();
            pipe.zrem(self.keys.unbucketed_due(), member).ignore();
        }
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    /// Runs `change` to a record, dropping this store's copies of it (if it keeps that kind)
    /// before and after, so no read racing the change keeps what it read.
    async fn changing<T>(&self, tenant: &TenantId, kind: RecordKind, id: &str, change: impl Future<Output = T>) -> T {
        if !cache::keeps(kind) {
            return change.await;
        }
        let (key, index) = (self.keys.record(tenant, kind, id), self.keys.records(tenant, kind));
        self.cache.forget(&key, &index);
        let changed = change.await;
        self.cache.forget(&key, &index);
        // The other gateways drop their copies when they hear of it; one that doesn't (its
        // subscription was down) drops them all when it is back, or lets them run out.
        let mut pipe = redis::pipe();
        pipe.cmd(self.keys.publish()).arg(&self.notices.changes).arg(format!("{key}\n{index}")).ignore();
        if let Err(error) = self.query::<()>(&pipe).await {
            tracing::warn!(%error, "other gateways could not be told of a changed record");
        }
        changed
    }

    /// Adds to a survey write's script what writing `after` over `before` changes besides the
    /// record: the survey's entry in the tenant's index of negative ratings, and its counters.
    fn counting(&self, write: &mut ScriptInvocation<'_>, before: Option<&Survey>, after: Option<&Survey>) {
        let Some(survey) = after.or(before) else { return };
        let tenant = &survey.invitation.tenant;
        let entry = match (after.and_then(report::negative_rated_at), before.and_then(report::negative_rated_at)) {
            (Some(at), _) => now_score(at).to_string(),
            (None, Some(_)) => "-".to_owned(),
            (None, None) => String::new(),
        };
        let shard = self.keys.shard(&survey.id);
        write.key(self.keys.negative(tenant, shard)).arg(entry).arg(survey.id.as_str()).arg(NEGATIVE_KEPT);
        self.count_into(write, tenant, shard, &counts::changes(before, after));
    }

    /// Adds counter changes to a survey write's script (see [`WRITE_RECORD`]): the hashes as keys,
    /// the fields and deltas as arguments. A hash lives for the retention after its period ends.
    fn count_into(
        &self,
        script: &mut ScriptInvocation<'_>,
        tenant: &TenantId,
        shard: Option<usize>,
        changes: &[CounterChange],
    ) {
        let mut by_period: BTreeMap<Period, Vec<&CounterChange>> = BTreeMap::new();
        for change in changes {
            by_period.entry(change.period).or_default().push(change);
        }
        script.arg(by_period.len());
        for (period, changes) in by_period {
            let expiry =
                period.end().checked_add(SignedDuration::from_millis(self.retention_ms)).unwrap_or(Timestamp::MAX);
            script.key(self.keys.counts(tenant, shard, period)).arg(expiry.as_millisecond()).arg(changes.len());
            for change in changes {
                let deltas: Vec<String> = change.deltas.iter().map(i64::to_string).collect();
                script.arg(change.field.to_string()).arg(deltas.join(","));
            }
        }
    }
}

#[async_trait]
impl SurveyStore for RedisStore {
    fn new_survey_id(&self, channel: &ChannelId, recipient: &RecipientId) -> SurveyId {
        self.keys.survey_id_for(channel, recipient)
    }

    async fn create(&self, survey: &Survey, expected_previous: Option<&SurveyId>) -> Result<(), StoreError> {
        let (tenant, id) = (&survey.invitation.tenant, &survey.id);
        let record = self.keys.survey(tenant, id);
        let encoded = compact::encode(survey);

        // 1. The entry in the creation index (NX: if the id is taken, the existing survey's entry
        //    stays as it is), after dropping the entries older than the retention; the index
        //    expires the retention after the last create.
        // 2. The record, unless the id is taken, with its counts and due entry.
        let mut pipe = redis::pipe();
        let created = self.keys.surveys(tenant);
        let forgotten = now_score(Timestamp::now()).saturating_sub(self.retention_ms);
        pipe.cmd("ZREMRANGEBYSCORE").arg(&created).arg("-inf").arg(forgotten).ignore();
        pipe.cmd("ZADD").arg(&created).arg("NX").arg(now_score(survey.created_at)).arg(id.as_str()).ignore();
        pipe.pexpire(&created, self.retention_ms).ignore();
        let record_stage = pipe.len();
        let mut write = SCRIPTS.write_record.prepare_invoke();
        write.key(&record).arg("").arg(&encoded).arg(self.retention_ms);
        self.counting(&mut write, None, Some(survey));
        self.scheduling(tenant, id, survey.next_due()).operation(&mut write);
        pipe.invoke_script(&write);
        let (written,): (i64,) = self.query_staged(&pipe, &[0, record_stage]).await.map_err(unavailable)?;
        if written != 1 {
            return Err(StoreError::AlreadyExists(id.clone()));
        }

        // 3. The survey becomes the conversation's latest, unless another one did first.
        let mut swap = SCRIPTS.swap_pointer.prepare_invoke();
        swap.key(self.keys.conversation(tenant, &survey.invitation.conversation))
            .arg(expected_previous.map_or("", SurveyId::as_str))
            .arg(id.as_str())
            .arg(self.retention_ms);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&swap);
        let (swapped,): (i64,) = self.query(&pipe).await.map_err(unavailable)?;
        if swapped != 1 {
            // Nobody knows this survey's id yet, so its record, counts and entries are ours to
            // take back.
            let mut take_back = SCRIPTS.write_record.prepare_invoke();
            take_back.key(&record).arg(survey.revision).arg("").arg(self.retention_ms);
            self.counting(&mut take_back, Some(survey), None);
            self.scheduling(tenant, id, None).operation(&mut take_back);
            let mut pipe = redis::pipe();
            pipe.invoke_script(&take_back).ignore();
            pipe.zrem(&created, id.as_str()).ignore();
            if let Err(error) = self.query::<()>(&pipe).await {
                tracing::warn!(%tenant, survey = %id, %error, "could not remove a survey that lost its conversation");
            }
            return Err(StoreError::ConversationChanged(survey.invitation.conversation.clone()));
        }

        // 4. The recipient's replies now go to this survey.
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.keys.recipient(tenant, &survey.invitation.channel, &survey.invitation.recipient))
            .arg(id.as_str())
            .arg("PXAT")
            .arg(self.recipient_expiry(survey))
            .ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn get(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        self.read(tenant, id).await
    }

    async fn save(&self, previous: &Survey, survey: &Survey, along: &Along) -> Result<(), StoreError> {
        let (tenant, id) = (&survey.invitation.tenant, &survey.id);
        if survey.revision <= previous.revision {
            return Err(StoreError::Conflict(id.clone()));
        }
        let record = self.keys.survey(tenant, id);
        let encoded = compact::encode(survey);

        // One round trip: the survey's script writes the record with what it changes (counts,
        // index of negative ratings, due entry) and what goes along; the pointers' expiry is
        // moved at the same time (only ever later, and only while they lead to this survey, so
        // right whether or not the write wins). The conversation pointer lives as long as the
        // record; the recipient's, as long as the comment window if that outlasts the deadline
        // it was given.
        let mut write = SCRIPTS.write_record.prepare_invoke();
        write.key(&record).arg(previous.revision).arg(&encoded).arg(self.retention_ms);
        self.counting(&mut write, Some(previous), Some(survey));
        // The due entry and what goes along are written by the script where their keys may be:
        // anywhere on one server; on a cluster, in the survey's slot, as the due entry, the
        // outbox items and their entries are (see `Keys::shard`), and the rest, in order, right
        // after the survey.
        let slot = Slot::for_key(&record);
        let mut companions = vec![self.scheduling(tenant, id, survey.next_due())];
        companions.extend(self.along(along)?);
        let (inside, after): (Vec<Companion>, Vec<Companion>) =
            companions.into_iter().partition(|companion| !self.keys.cluster || Slot::for_key(companion.key()) == slot);
        for companion in &inside {
            companion.operation(&mut write);
        }
        let mut pipe = redis::pipe();
        pipe.invoke_script(&write);
        let kept_until =
            Timestamp::now().checked_add(SignedDuration::from_millis(self.retention_ms)).unwrap_or(Timestamp::MAX);
        let mut extend = SCRIPTS.extend_pointer.prepare_invoke();
        extend
            .key(self.keys.conversation(tenant, &survey.invitation.conversation))
            .arg(id.as_str())
            .arg(kept_until.as_millisecond());
        pipe.invoke_script(&extend).ignore();
        if matches!(survey.state, SurveyState::Rated { .. } | SurveyState::Locked { .. }) {
            let mut extend = SCRIPTS.extend_pointer.prepare_invoke();
            extend
                .key(self.keys.recipient(tenant, &survey.invitation.channel, &survey.invitation.recipient))
                .arg(id.as_str())
                .arg(self.recipient_expiry(survey));
            pipe.invoke_script(&extend).ignore();
        }
        let (written,): (i64,) = self.query_reads(&pipe).await.map_err(unavailable)?;
        if written != 1 {
            return Err(StoreError::Conflict(id.clone()));
        }
        if !after.is_empty()
            && let Err(error) = self.write_after(&after).await
        {
            // The survey is written: its replies and events are lost, and its message is handled
            // again when its claim runs out. Say so loudly.
            tracing::error!(%tenant, survey = %id, %error, "what goes with a survey's write could not be written");
        }
        Ok(())
    }

    async fn latest_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        self.follow(tenant, &self.keys.conversation(tenant, conversation), None).await
    }

    async fn latest_for_recipient(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Survey>, StoreError> {
        let shard = self.keys.recipient_shard(channel, recipient);
        self.follow(tenant, &self.keys.recipient(tenant, channel, recipient), shard).await
    }

    async fn due(&self, now: Timestamp, buckets: Buckets, limit: usize) -> Result<Vec<DueSurvey>, StoreError> {
        if limit == 0 || buckets.is_empty() {
            return Ok(Vec::new());
        }
        // The soonest `limit` of each bucket, in one round trip: the soonest `limit` of all are
        // among them. The index from before the split goes with bucket 0.
        let keys = buckets.iter().map(|bucket| self.keys.due(bucket));
        let unbucketed = buckets.contains(0).then(|| self.keys.unbucketed_due());
        let mut found = self.soonest(keys.chain(unbucketed), now, limit).await?;
        let unbucketed = if buckets.contains(0) { found.pop().unwrap_or_default() } else { Vec::new() };
        if !unbucketed.is_empty() {
            self.move_into_buckets(&unbucketed).await?;
        }
        // A survey written before the index was split may be in both: its bucket's entry, the
        // newer, counts.
        let mut seen = HashSet::new();
        let mut entries: Vec<(String, f64)> =
            found.into_iter().flatten().chain(unbucketed).filter(|(member, _)| seen.insert(member.clone())).collect();
        entries.sort_by(|(a, a_due), (b, b_due)| a_due.total_cmp(b_due).then_with(|| a.cmp(b)));
        entries.truncate(limit);
        Ok(entries
            .into_iter()
            .filter_map(|(member, score)| {
                let Some((tenant, id)) = parse_due_member(&member) else {
                    tracing::warn!(member, "skipping an unreadable entry of the due index");
                    return None;
                };
                let Ok(due) = Timestamp::from_millisecond(score as i64) else {
                    tracing::warn!(member, score, "skipping a due index entry with an impossible time");
                    return None;
                };
                Some(DueSurvey { tenant, id, due })
            })
            .collect())
    }

    async fn forget_due(&self, tenant: &TenantId, id: &SurveyId) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        self.scheduling(tenant, id, None).command(&mut pipe);
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn list(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Survey>, StoreError> {
        if limit == 0 || from >= to {
            return Ok(Vec::new());
        }
        let index = self.keys.surveys(tenant);
        // Scores are creation times rounded down to the millisecond, so `[from, to)` lies within
        // these scores; the records' own creation times decide.
        let (min, max) = (now_score(from), format!("({}", due_score(to)));
        let page = limit.min(PAGE);
        // In index order: by score, then id.
        let mut found: Vec<(i64, Survey)> = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0;
        loop {
            let mut pipe = redis::pipe();
            pipe.cmd("ZRANGE")
                .arg(&index)
                .arg(min)
                .arg(&max)
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(offset)
                .arg(page)
                .arg("WITHSCORES");
            let (members,): (Vec<(String, f64)>,) = self.query(&pipe).await.map_err(unavailable)?;
            offset += members.len();
            let mut ids = Vec::with_capacity(members.len());
            for (member, score) in &members {
                match SurveyId::new(member.as_str()) {
                    // Creates shift the offsets while we page: a member may come twice.
                    Ok(id) if seen.insert(id.clone()) => ids.push((id, *score as i64)),
                    Ok(_) => {}
                    Err(_) => tracing::warn!(%tenant, member, "skipping an unreadable entry of the creation index"),
                }
            }
            if !ids.is_empty() {
                let mut pipe = redis::pipe();
                for (id, _) in &ids {
                    pipe.get(self.keys.survey(tenant, id));
                }
                let records: Vec<Option<Vec<u8>>> = self.query_reads(&pipe).await.map_err(unavailable)?;
                for ((id, score), record) in ids.into_iter().zip(records) {
                    // No record: a create that was refused, or a survey past its retention.
                    let Some(record) = record else { continue };
                    let survey = Self::decode(&self.keys.survey(tenant, &id), tenant, &id, &record)?;
                    if survey.created_at >= from && survey.created_at < to {
                        found.push((score, survey));
                    }
                }
            }
            if members.len() < page {
                break;
            }
            // Enough once the index is past the millisecond of the limit-th survey: whatever
            // comes later was created after it. (Within one millisecond, the index orders by id.)
            let last_score = members.last().map(|(_, score)| *score as i64);
            if found.len() >= limit && last_score > Some(found[limit - 1].0) {
                break;
            }
        }
        let mut surveys: Vec<Survey> = found.into_iter().map(|(_, survey)| survey).collect();
        surveys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        surveys.truncate(limit);
        Ok(surveys)
    }

    async fn counter_hashes(
        &self,
        tenant: &TenantId,
        periods: &[Period],
    ) -> Result<Vec<Vec<(Field, Vec<i64>)>>, StoreError> {
        if periods.is_empty() {
            return Ok(Vec::new());
        }
        let shards = self.keys.shards();
        let mut pipe = redis::pipe();
        for period in periods {
            for shard in &shards {
                pipe.hgetall(self.keys.counts(tenant, *shard, *period));
            }
        }
        let hashes: Vec<Vec<(String, String)>> = self.query_reads(&pipe).await.map_err(unavailable)?;
        let mut hashes = hashes.into_iter();
        let mut read = Vec::with_capacity(periods.len());
        for period in periods {
            let mut sums: HashMap<Field, Vec<i64>> = HashMap::new();
            for (shard, hash) in shards.iter().zip(hashes.by_ref()) {
                let key = self.keys.counts(tenant, *shard, *period);
                for (name, packed) in hash {
                    let Some(field) = Field::parse(&name) else {
                        tracing::warn!(key, field = name, "skipping an unreadable counter");
                        continue;
                    };
                    counts::add_packed(sums.entry(field).or_default(), &unpack(&key, &packed)?);
                }
            }
            read.push(sums.into_iter().collect());
        }
        Ok(read)
    }

    async fn counter_fields(
        &self,
        tenant: &TenantId,
        reads: &[(Period, Vec<Field>)],
    ) -> Result<Vec<Vec<Vec<i64>>>, StoreError> {
        if reads.is_empty() {
            return Ok(Vec::new());
        }
        let shards = self.keys.shards();
        let mut pipe = redis::pipe();
        for (period, fields) in reads {
            for shard in &shards {
                pipe.cmd("HMGET").arg(self.keys.counts(tenant, *shard, *period));
                for field in fields {
                    pipe.arg(field.to_string());
                }
            }
        }
        let values: Vec<Vec<Option<String>>> = self.query_reads(&pipe).await.map_err(unavailable)?;
        let mut values = values.into_iter();
        let mut read = Vec::with_capacity(reads.len());
        for (period, fields) in reads {
            let mut sums = vec![Vec::new(); fields.len()];
            for (shard, values) in shards.iter().zip(values.by_ref()) {
                let key = self.keys.counts(tenant, *shard, *period);
                for (sum, packed) in sums.iter_mut().zip(values) {
                    if let Some(packed) = packed {
                        counts::add_packed(sum, &unpack(&key, &packed)?);
                    }
                }
            }
            read.push(sums);
        }
        Ok(read)
    }

    async fn negative_ratings(&self, tenant: &TenantId) -> Result<Vec<Survey>, StoreError> {
        let mut pipe = redis::pipe();
        for shard in self.keys.shards() {
            pipe.cmd("ZRANGE").arg(self.keys.negative(tenant, shard)).arg(0).arg(-1).arg("WITHSCORES");
        }
        let indexes: Vec<Vec<(String, f64)>> = self.query_reads(&pipe).await.map_err(unavailable)?;
        // Each shard keeps its latest: the tenant's are the latest of them all.
        let mut entries: Vec<(String, f64)> = indexes.into_iter().flatten().collect();
        entries.sort_by(|(a, a_at), (b, b_at)| b_at.total_cmp(a_at).then_with(|| b.cmp(a)));
        entries.truncate(NEGATIVE_KEPT);
        let ids: Vec<SurveyId> = entries
            .into_iter()
            .filter_map(|(member, _)| {
                SurveyId::new(member.as_str())
                    .inspect_err(|_| tracing::warn!(%tenant, member, "skipping an unreadable negative rating entry"))
                    .ok()
            })
            .collect();
        let mut surveys = Vec::with_capacity(ids.len());
        for ids in ids.chunks(PAGE) {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.get(self.keys.survey(tenant, id));
            }
            let records: Vec<Option<Vec<u8>>> = self.query_reads(&pipe).await.map_err(unavailable)?;
            for (id, record) in ids.iter().zip(records) {
                // No record: a survey past its retention, whose entry outlived it.
                if let Some(record) = record {
                    surveys.push(Self::decode(&self.keys.survey(tenant, id), tenant, id, &record)?);
                }
            }
        }
        Ok(surveys)
    }

    fn counted_since(&self) -> Timestamp {
        self.counted_since
    }
}

/// Reads a counter's packed counts.
fn unpack(key: &str, packed: &str) -> Result<Vec<i64>, StoreError> {
    packed.split(',').map(str::parse).collect::<Result<_, _>>().map_err(|_| StoreError::Corrupt {
        key: key.to_owned(),
        reason: format!("holds counts {packed:?}, not integers"),
    })
}

/// Reads a record's `rev` and `body`.
fn decode_record(key: &str, revision: Option<String>, body: Option<String>) -> Result<Option<Versioned>, StoreError> {
    match (revision, body) {
        (None, None) => Ok(None),
        (Some(revision), Some(value)) => {
            let revision = revision.parse().map_err(|_| StoreError::Corrupt {
                key: key.to_owned(),
                reason: format!("the revision {revision:?} is not a number"),
            })?;
            Ok(Some(Versioned { revision, value }))
        }
        _ => Err(StoreError::Corrupt { key: key.to_owned(), reason: "has a revision or a body, not both".to_owned() }),
    }
}

#[async_trait]
impl RecordStore for RedisStore {
    async fn get_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<Option<Versioned>, StoreError> {
        let key = self.keys.record(tenant, kind, id);
        let read = match cache::keeps(kind).then(|| self.cache.record(&key, Instant::now())) {
            Some(Lookup::Hit(record)) => return Ok(Some(record)),
            Some(Lookup::Miss(read)) => Some(read),
            None => None,
        };
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(&key).arg("rev").arg("body");
        let ((revision, body),): ((Option<String>, Option<String>),) = self.query(&pipe).await.map_err(unavailable)?;
        let record = decode_record(&key, revision, body)?;
        if let (Some(read), Some(record)) = (read, &record) {
            self.cache.keep(&key, read, record);
        }
        Ok(record)
    }

    async fn put_record(
        &self,
        tenant: &TenantId,
        kind: RecordKind,
        id: &str,
        expected: Option<u64>,
        body: &str,
    ) -> Result<u64, StoreError> {
        let conflict = || StoreError::RecordConflict { kind, id: id.to_owned() };
        let revision = match expected {
            None => 1,
            Some(expected) => expected.checked_add(1).ok_or_else(conflict)?,
        };
        let mut put = SCRIPTS.put_record.prepare_invoke();
        put.key(self.keys.record(tenant, kind, id));
        match expected {
            Some(expected) => put.arg(expected),
            None => put.arg(""),
        };
        put.arg(revision).arg(body);
        if !kind.is_listed() {
            put.arg(self.retention_ms);
        }
        // A new record's index entry goes in before it (so no lost connection can leave it
        // unlisted) and again after it (so a delete of the same id racing this create can't
        // leave it unlisted either: see `delete_record`).
        let index = self.keys.records(tenant, kind);
        let indexed = expected.is_none() && kind.is_listed();
        let mut pipe = redis::pipe();
        if indexed {
            pipe.zadd(&index, id, 0).ignore();
        }
        pipe.invoke_script(&put);
        if indexed {
            pipe.zadd(&index, id, 0).ignore();
        }
        let written = self.changing(tenant, kind, id, self.query::<(i64,)>(&pipe)).await;
        let (written,) = written.map_err(unavailable)?;
        if written != 1 {
            return Err(conflict());
        }
        Ok(revision)
    }

    async fn list_records(&self, tenant: &TenantId, kind: RecordKind) -> Result<Vec<(String, Versioned)>, StoreError> {
        if !kind.is_listed() {
            return Ok(Vec::new());
        }
        let index = self.keys.records(tenant, kind);
        let read = match cache::keeps(kind).then(|| self.cache.list(&index, Instant::now())) {
            Some(Lookup::Hit(records)) => return Ok(records),
            Some(Lookup::Miss(read)) => Some(read),
            None => None,
        };
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE").arg(&index).arg("-").arg("+").arg("BYLEX");
        let (ids,): (Vec<String>,) = self.query(&pipe).await.map_err(unavailable)?;
        let mut records = Vec::with_capacity(ids.len());
        for ids in ids.chunks(PAGE) {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.cmd("HMGET").arg(self.keys.record(tenant, kind, id)).arg("rev").arg("body");
            }
            let fields: Vec<(Option<String>, Option<String>)> = self.query_reads(&pipe).await.map_err(unavailable)?;
            for (id, (revision, body)) in ids.iter().zip(fields) {
                // An entry whose record is gone (deleted, or never written) is skipped.
                if let Some(record) = decode_record(&self.keys.record(tenant, kind, id), revision, body)? {
                    records.push((id.clone(), record));
                }
            }
        }
        if let Some(read) = read {
            self.cache.keep_list(&index, read, &records);
        }
        Ok(records)
    }

    async fn delete_record(&self, tenant: &TenantId, kind: RecordKind, id: &str) -> Result<bool, StoreError> {
        let (key, index) = (self.keys.record(tenant, kind, id), self.keys.records(tenant, kind));
        let mut pipe = redis::pipe();
        pipe.del(&key).zrem(&index, id).ignore().exists(&key);
        let deleted = self.changing(tenant, kind, id, self.query::<(i64, bool)>(&pipe)).await;
        let (deleted, recreated) = deleted.map_err(unavailable)?;
        if recreated {
            // Created again between the two deletes: its creator may have written its entry
            // before we removed it.
            let mut pipe = redis::pipe();
            pipe.zadd(&index, id, 0).ignore();
            self.query::<()>(&pipe).await.map_err(unavailable)?;
        }
        Ok(deleted == 1)
    }
}

fn outbox_member(tenant: &TenantId, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// An entry of the outbox's due index found due: its bucket, member and score.
type Candidate = (usize, String, f64);

/// An entry of the outbox's due index or of a tenant's: the bucket it is in if known, its member
/// and score.
type Entry = (Option<usize>, String, f64);

/// The bucket of the outbox's due index an item is in on one server (and a pre-chat's on a
/// cluster too, since it has no survey's shard): a survey's messages share one, and an end
/// user's pre-chat messages another, so a gateway that claims a bucket has all of them, in
/// order; an event goes by its own id.
fn outbox_bucket(item: &OutboxItem) -> usize {
    let hash = match &item.task {
        Task::Send { survey, .. } => fnv1a(&format!("{}/{survey}", item.tenant)),
        Task::Webhook { .. } => fnv1a(&outbox_member(&item.tenant, &item.id)),
        Task::Prompt { channel, recipient, .. } | Task::PrechatDue { channel, recipient, .. } => {
            fnv1a(&format!("{}/{channel}/{recipient}", item.tenant))
        }
    };
    hash as usize % BUCKETS
}

/// A member of the outbox's due index: the tenant, and the item's id (which may hold a `/`).
fn parse_outbox_member(member: &str) -> Option<(TenantId, &str)> {
    let (tenant, id) = member.split_once('/')?;
    Some((TenantId::new(tenant).ok()?, id))
}

/// When an item is due, given the exact time its JSON holds and its due index score: the JSON's
/// time while the score is that time's, the score's otherwise (a claim moved the item).
fn reconcile_due(written: Timestamp, score: i64) -> Option<Timestamp> {
    if due_score(written) == score { Some(written) } else { Timestamp::from_millisecond(score).ok() }
}

/// What a member of the outbox's due index leads to.
enum Found {
    /// The item, with the due time its entry gives it.
    Item(OutboxItem),
    /// No item: the entry is stale.
    Gone,
    /// A member that names no item.
    Junk,
    /// An item that can't be read, or isn't the one its entry names.
    Unreadable(StoreError),
}

/// One of the writes that go along with a survey's (see [`Along`]): commands of a pipeline of
/// their own, or operations of the survey's write script (see [`WRITE_RECORD`]).
enum Companion {
    /// A value set unless its key exists.
    Add { key: String, value: String },
    /// A member added to a sorted set unless it is there.
    Index { key: String, score: i64, member: String },
    /// A member of a sorted set given a score, added if need be.
    Score { key: String, score: i64, member: String },
    /// A member removed from a sorted set.
    Drop { key: String, member: String },
    /// A value set until a time (unix milliseconds).
    Mark { key: String, value: &'static str, until: i64 },
}

impl Companion {
    fn key(&self) -> &str {
        match self {
            Companion::Add { key, .. }
            | Companion::Index { key, .. }
            | Companion::Score { key, .. }
            | Companion::Drop { key, .. }
            | Companion::Mark { key, .. } => key,
        }
    }

    fn command(&self, pipe: &mut Pipeline) {
        match self {
            Companion::Add { key, value } => pipe.cmd("SET").arg(key).arg(value).arg("NX"),
            Companion::Index { key, score, member } => pipe.cmd("ZADD").arg(key).arg("NX").arg(score).arg(member),
            Companion::Score { key, score, member } => pipe.cmd("ZADD").arg(key).arg(score).arg(member),
            Companion::Drop { key, member } => pipe.cmd("ZREM").arg(key).arg(member),
            Companion::Mark { key, value, until } => pipe.cmd("SET").arg(key).arg(*value).arg("PXAT").arg(until),
        }
        .ignore();
    }

    fn operation(&self, script: &mut ScriptInvocation<'_>) {
        script.key(self.key());
        match self {
            Companion::Add { value, .. } => script.arg("add").arg(value),
            Companion::Index { score, member, .. } => script.arg("index").arg(score).arg(member),
            Companion::Score { score, member, .. } => script.arg("score").arg(score).arg(member),
            Companion::Drop { member, .. } => script.arg("drop").arg(member),
            Companion::Mark { value, until, .. } => script.arg("mark").arg(*value).arg(until),
        };
    }
}

impl RedisStore {
    /// What enqueueing items writes: each item, then its entries (an entry found without its item
    /// is dropped as a leftover), each only if absent, so enqueueing an item that is there changes
    /// nothing, except putting back an entry a lost connection kept from being written.
    fn enqueueing(&self, items: &[OutboxItem]) -> Result<Vec<Companion>, StoreError> {
        let mut writes = Vec::with_capacity(items.len() * 3);
        for item in items {
            let key = self.keys.outbox_item(self.keys.item_shard(item), &item.id);
            writes.push(Companion::Add { key, value: self.encode_item(item)? });
        }
        for item in items {
            let score = due_score(item.due);
            let member = outbox_member(&item.tenant, &item.id);
            writes.push(Companion::Index { key: self.keys.outbox_due(self.keys.outbox_bucket(item)), score, member });
            let key = self.keys.tenant_outbox(&item.tenant, self.keys.item_shard(item));
            writes.push(Companion::Index { key, score, member: item.id.clone() });
        }
        Ok(writes)
    }

    /// What goes along with a survey's write: its items enqueued, then its message marked handled.
    fn along(&self, along: &Along) -> Result<Vec<Companion>, StoreError> {
        let mut writes = self.enqueueing(&along.items)?;
        if let Some(handled) = &along.handled {
            let (key, until) = (self.keys.seen(&handled.key), handled.until.as_millisecond());
            writes.push(Companion::Mark { key, value: HANDLED, until });
        }
        Ok(writes)
    }

    /// Writes what goes along with a survey written already that its script could not, in order.
    async fn write_after(&self, writes: &[Companion]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for write in writes {
            write.command(&mut pipe);
        }
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    fn encode_item(&self, item: &OutboxItem) -> Result<String, StoreError> {
        serde_json::to_string(item).map_err(|error| StoreError::Corrupt {
            key: self.keys.outbox_item(self.keys.item_shard(item), &item.id),
            reason: format!("can't be written: {error}"),
        })
    }

    /// Reads what the outbox's due index entries lead to, in their order. Each entry comes with
    /// the bucket it was found in, if known (on a cluster, always: its shard).
    async fn read_outbox(&self, entries: &[Entry]) -> Result<Vec<Found>, StoreError> {
        let parsed: Vec<Option<(TenantId, &str)>> =
            entries.iter().map(|(_, member, _)| parse_outbox_member(member)).collect();
        let mut pipe = redis::pipe();
        for ((bucket, _, _), parsed) in entries.iter().zip(&parsed) {
            if let Some((_, id)) = parsed {
                pipe.get(self.keys.outbox_item(self.keys.bucket_shard(*bucket), id));
            }
        }
        let bodies: Vec<Option<String>> = if parsed.iter().any(Option::is_some) {
            self.query_reads(&pipe).await.map_err(unavailable)?
        } else {
            Vec::new()
        };
        let mut bodies = bodies.into_iter();
        let found = entries
            .iter()
            .zip(parsed)
            .map(|((bucket, _, score), parsed)| {
                let Some((tenant, id)) = parsed else { return Found::Junk };
                let Some(json) = bodies.next().flatten() else { return Found::Gone };
                let key = self.keys.outbox_item(self.keys.bucket_shard(*bucket), id);
                let corrupt = |reason: String| Found::Unreadable(StoreError::Corrupt { key: key.clone(), reason });
                let mut item: OutboxItem = match serde_json::from_str(&json) {
                    Ok(item) => item,
                    Err(error) => return corrupt(error.to_string()),
                };
                if item.id != id || item.tenant != tenant {
                    return corrupt(format!("holds item {} of tenant {}", item.id, item.tenant));
                }
                match reconcile_due(item.due, *score as i64) {
                    Some(due) => item.due = due,
                    None => return corrupt(format!("is due at an impossible time ({score} ms)")),
                }
                Found::Item(item)
            })
            .collect();
        Ok(found)
    }

    /// Drops due index members whose item is gone, from the bucket they were found in (if
    /// known: one found through a tenant's index is dropped from its bucket when a claim finds
    /// it) and the tenant's index, putting back those whose item was enqueued again meanwhile
    /// (an enqueue writes the item, then its entries).
    async fn forget_outbox_members(&self, members: &[(Option<usize>, String)]) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (bucket, member) in members {
            if let Some(bucket) = bucket {
                pipe.zrem(self.keys.outbox_due(*bucket), member).ignore();
            }
        }
        // Junk members name no item: nothing to put back.
        let named: Vec<(&String, Option<usize>, (TenantId, &str))> = members
            .iter()
            .filter_map(|(bucket, member)| {
                Some((member, self.keys.bucket_shard(*bucket), parse_outbox_member(member)?))
            })
            .collect();
        for (_, shard, (tenant, id)) in &named {
            pipe.zrem(self.keys.tenant_outbox(tenant, *shard), *id).ignore();
            pipe.get(self.keys.outbox_item(*shard, id));
        }
        let bodies: Vec<Option<String>> = self.query(&pipe).await.map_err(unavailable)?;
        let mut pipe = redis::pipe();
        let mut back = false;
        for ((member, _, (tenant, id)), json) in named.into_iter().zip(bodies) {
            let Some(item) = json.and_then(|json| serde_json::from_str::<OutboxItem>(&json).ok()) else { continue };
            let bucket = self.keys.outbox_due(self.keys.outbox_bucket(&item));
            pipe.cmd("ZADD").arg(bucket).arg("NX").arg(due_score(item.due)).arg(member).ignore();
            let index = self.keys.tenant_outbox(&tenant, self.keys.item_shard(&item));
            pipe.cmd("ZADD").arg(index).arg("NX").arg(due_score(item.due)).arg(id).ignore();
            back = true;
        }
        if back {
            self.query::<()>(&pipe).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Moves entries of the outbox's due index of earlier versions into their buckets (unless
    /// the bucket has one for the item already), dropping those whose item is gone; returns the
    /// entries moved, with their buckets. An item that can't be read goes by its member, so it
    /// stays for someone to look at.
    async fn move_outbox_into_buckets(&self, entries: Vec<(String, f64)>) -> Result<Vec<Candidate>, StoreError> {
        let entries: Vec<Entry> = entries.into_iter().map(|(member, score)| (None, member, score)).collect();
        let found = self.read_outbox(&entries).await?;
        let legacy = self.keys.unbucketed_outbox_due();
        let mut pipe = redis::pipe();
        let mut moved = Vec::new();
        for ((_, member, score), found) in entries.into_iter().zip(found) {
            let bucket = match found {
                Found::Item(item) => Some(self.keys.outbox_bucket(&item)),
                Found::Unreadable(_) => Some(fnv1a(&member) as usize % BUCKETS),
                Found::Gone | Found::Junk => None,
            };
            if let Some(bucket) = bucket {
                pipe.cmd("ZADD").arg(self.keys.outbox_due(bucket)).arg("NX").arg(score).arg(&member).ignore();
            }
            pipe.zrem(&legacy, &member).ignore();
            moved.extend(bucket.map(|bucket| (bucket, member, score)));
        }
        self.query::<()>(&pipe).await.map_err(unavailable)?;
        Ok(moved)
    }
}

#[async_trait]
impl Outbox for RedisStore {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        // The items at once, then their entries at once.
        let mut pipe = redis::pipe();
        for write in self.enqueueing(items)? {
            write.command(&mut pipe);
        }
        self.query_staged::<()>(&pipe, &[0, items.len()]).await.map_err(unavailable)
    }

    fn bucket(&self, item: &OutboxItem) -> usize {
        self.keys.outbox_bucket(item)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        buckets: Buckets,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        if limit == 0 || buckets.is_empty() {
            return Ok(Vec::new());
        }
        // The soonest `limit` of each bucket, in one round trip (the soonest of all are among
        // them); then those of them still due are claimed, bucket by bucket at once, each
        // bucket by one script. The index from before the split goes with bucket 0.
        let keys = buckets.iter().map(|bucket| self.keys.outbox_due(bucket));
        let unbucketed = buckets.contains(0).then(|| self.keys.unbucketed_outbox_due());
        let mut found = self.soonest(keys.chain(unbucketed), now, limit).await?;
        let unbucketed = if buckets.contains(0) { found.pop().unwrap_or_default() } else { Vec::new() };
        let moved = if unbucketed.is_empty() { Vec::new() } else { self.move_outbox_into_buckets(unbucketed).await? };
        let mut candidates: Vec<Candidate> = buckets
            .iter()
            .zip(found)
            .flat_map(|(bucket, entries)| entries.into_iter().map(move |(member, score)| (bucket, member, score)))
            .chain(moved)
            .collect();
        // An item both moved and found in its bucket is claimed once.
        let mut seen = HashSet::new();
        candidates.retain(|(bucket, member, _)| seen.insert((*bucket, member.clone())));
        candidates.sort_by(|(_, a, a_due), (_, b, b_due)| a_due.total_cmp(b_due).then_with(|| a.cmp(b)));
        candidates.truncate(limit);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_bucket: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (bucket, member, _) in candidates {
            by_bucket.entry(bucket).or_default().push(member);
        }
        let mut pipe = redis::pipe();
        for (bucket, members) in &by_bucket {
            let mut claim = SCRIPTS.claim_outbox.prepare_invoke();
            claim.key(self.keys.outbox_due(*bucket)).arg(now_score(now)).arg(due_score(lease_until)).arg(members);
            pipe.invoke_script(&claim);
        }
        let claimed: Vec<Vec<(String, f64)>> = self.query_reads(&pipe).await.map_err(unavailable)?;
        let entries: Vec<Entry> = by_bucket
            .keys()
            .zip(claimed)
            .flat_map(|(bucket, entries)| {
                entries.into_iter().map(move |(member, score)| (Some(*bucket), member, score))
            })
            .collect();
        if entries.is_empty() {
            return Ok(Vec::new());
        }

        // The entries are ours until the lease ends. If the items can't be read now, they are
        // due again then. Once they are read, the rest only tidies up and can't fail the claim.
        let found = self.read_outbox(&entries).await?;
        let mut claimed = Vec::new();
        let mut stale = Vec::new();
        let mut leased = redis::pipe();
        for ((bucket, member, _), found) in entries.into_iter().zip(found) {
            match found {
                Found::Item(item) => {
                    // The JSON says when the item is due now (XX: unless it was completed since).
                    let json = self.encode_item(&OutboxItem { due: lease_until, ..item.clone() });
                    let shard = self.keys.item_shard(&item);
                    match json {
                        Ok(json) => {
                            leased.cmd("SET").arg(self.keys.outbox_item(shard, &item.id)).arg(json).arg("XX").ignore();
                            // Not XX: an item enqueued before tenants had this index joins it.
                            let tenant_outbox = self.keys.tenant_outbox(&item.tenant, shard);
                            leased.zadd(tenant_outbox, &item.id, due_score(lease_until)).ignore();
                        }
                        Err(error) => tracing::warn!(member, %error, "could not write the lease into an outbox item"),
                    }
                    claimed.push(item);
                }
                Found::Gone | Found::Junk => stale.push((bucket, member)),
                // Left leased: it comes back at the lease's end, without holding up the others.
                Found::Unreadable(error) => tracing::warn!(member, %error, "skipping an unreadable outbox item"),
            }
        }
        if !claimed.is_empty()
            && let Err(error) = self.query::<()>(&leased).await
        {
            tracing::warn!(%error, "could not write the lease into the claimed outbox items");
        }
        if let Err(error) = self.forget_outbox_members(&stale).await {
            tracing::warn!(%error, "could not drop stale outbox entries");
        }
        // Within one millisecond the index orders by tenant; the items, by their exact time.
        claimed.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.id.cmp(&b.id)));
        Ok(claimed)
    }

    async fn reschedule(&self, item: &OutboxItem) -> Result<(), StoreError> {
        // XX both: a completed item stays completed.
        let json = self.encode_item(item)?;
        let shard = self.keys.item_shard(item);
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(self.keys.outbox_item(shard, &item.id)).arg(json).arg("XX").ignore();
        pipe.cmd("ZADD")
            .arg(self.keys.outbox_due(self.keys.outbox_bucket(item)))
            .arg("XX")
            .arg(due_score(item.due))
            .arg(outbox_member(&item.tenant, &item.id))
            .ignore();
        pipe.zadd(self.keys.tenant_outbox(&item.tenant, shard), &item.id, due_score(item.due)).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn complete(&self, item: &OutboxItem) -> Result<(), StoreError> {
        // The item first: an entry left behind leads nowhere and is dropped when found.
        let shard = self.keys.item_shard(item);
        let mut pipe = redis::pipe();
        pipe.del(self.keys.outbox_item(shard, &item.id)).ignore();
        pipe.zrem(self.keys.outbox_due(self.keys.outbox_bucket(item)), outbox_member(&item.tenant, &item.id)).ignore();
        pipe.zrem(self.keys.tenant_outbox(&item.tenant, shard), &item.id).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn pending_items(&self, tenant: &TenantId, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The tenant's index, on a cluster one a shard, whose items' entries are in its bucket.
        let indexes: Vec<(Option<usize>, String)> =
            self.keys.shards().into_iter().map(|shard| (shard, self.keys.tenant_outbox(tenant, shard))).collect();
        let mut rounds = 0;
        loop {
            rounds += 1;
            let mut pipe = redis::pipe();
            for (_, index) in &indexes {
                pipe.zrange_withscores(index, 0, limit as isize - 1);
            }
            let mut pages: Vec<Vec<(String, f64)>> = self.query_reads(&pipe).await.map_err(unavailable)?;
            // Within one millisecond an index orders by id, the items by their exact time: take
            // every item of the last millisecond read, and let the sort below settle them.
            let mut pipe = redis::pipe();
            let mut full = Vec::new();
            for (n, ((_, index), page)) in indexes.iter().zip(&pages).enumerate() {
                if let Some((_, last)) = page.last().filter(|_| page.len() == limit) {
                    pipe.cmd("ZRANGE").arg(index).arg(*last).arg(*last).arg("BYSCORE").arg("WITHSCORES");
                    full.push(n);
                }
            }
            if !full.is_empty() {
                let tied: Vec<Vec<(String, f64)>> = self.query_reads(&pipe).await.map_err(unavailable)?;
                for (n, tied) in full.into_iter().zip(tied) {
                    let read: HashSet<String> = pages[n].iter().map(|(id, _)| id.clone()).collect();
                    pages[n].extend(tied.into_iter().filter(|(id, _)| !read.contains(id)));
                }
            }
            let entries: Vec<Entry> = indexes
                .iter()
                .zip(pages)
                .flat_map(|((shard, _), page)| {
                    page.into_iter().map(move |(id, score)| (*shard, outbox_member(tenant, &id), score))
                })
                .collect();
            let found = self.read_outbox(&entries).await?;
            let mut items = Vec::with_capacity(found.len());
            let mut stale = Vec::new();
            for ((bucket, member, _), found) in entries.into_iter().zip(found) {
                match found {
                    Found::Item(item) => items.push(item),
                    Found::Gone | Found::Junk => stale.push((bucket, member)),
                    Found::Unreadable(error) => return Err(error),
                }
            }
            // Stale entries took the place of items further on: drop them and read again.
            if stale.is_empty() || rounds == MAX_OUTBOX_READ_ROUNDS {
                items.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.id.cmp(&b.id)));
                items.truncate(limit);
                return Ok(items);
            }
            self.forget_outbox_members(&stale).await?;
        }
    }
}

#[async_trait]
impl LastWritten for RedisStore {
    async fn note_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut note = SCRIPTS.note_written.prepare_invoke();
        note.key(self.keys.written(tenant, channel, recipient)).arg(at.as_microsecond()).arg(self.retention_ms);
        let mut pipe = redis::pipe();
        pipe.invoke_script(&note).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn last_written(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let key = self.keys.written(tenant, channel, recipient);
        let mut pipe = redis::pipe();
        pipe.get(&key);
        let (kept,): (Option<i64>,) = self.query(&pipe).await.map_err(unavailable)?;
        kept.map(|micros| {
            Timestamp::from_microsecond(micros).map_err(|error| StoreError::Corrupt { key, reason: error.to_string() })
        })
        .transpose()
    }
}

/// What a sighting holds once its message is handled.
const HANDLED: &str = "handled";

#[async_trait]
impl Seen for RedisStore {
    fn message_key(&self, tenant: &TenantId, channel: &ChannelId, from: &RecipientId, platform_id: &str) -> String {
        self.keys.message_key(tenant, channel, from, platform_id)
    }

    /// A script on `rw:seen:<key>`: `claimed` for the lease, then `handled` (`SET … PX`) once
    /// confirmed. Redis forgets the key by itself once its time is up.
    /// With `answering`, the script reads the sender's recipient pointer (in the sighting's slot
    /// on a cluster): no pointer, no survey. A pointer whose survey is gone claims as usual.
    async fn claim(
        &self,
        key: &str,
        _now: Timestamp,
        lease: SignedDuration,
        answering: Option<Answering<'_>>,
    ) -> Result<Sighting, StoreError> {
        let mut pipe = redis::pipe();
        let mut claim = SCRIPTS.claim_sighting.prepare_invoke();
        claim.key(self.keys.seen(key)).arg(millis(lease).max(1));
        if let Some(answering) = answering {
            claim
                .key(self.keys.recipient(answering.tenant, answering.channel, answering.from))
                .arg(millis(answering.handled_for).max(1));
        }
        pipe.invoke_script(&claim);
        let (held,): (Option<String>,) = self.query(&pipe).await.map_err(unavailable)?;
        Ok(match held.as_deref() {
            None => Sighting::First,
            Some("claimed") => Sighting::InHand,
            Some("settled") => Sighting::Settled,
            Some(_) => Sighting::Handled,
        })
    }

    async fn confirm(&self, key: &str, _now: Timestamp, ttl: SignedDuration) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(self.keys.seen(key)).arg(HANDLED).arg("PX").arg(millis(ttl).max(1)).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        let mut release = SCRIPTS.release_sighting.prepare_invoke();
        release.key(self.keys.seen(key));
        pipe.invoke_script(&release).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.del(self.keys.seen(key)).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn remembers(&self, key: &str, _now: Timestamp) -> Result<bool, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.keys.seen(key));
        let (count,): (u64,) = self.query(&pipe).await.map_err(unavailable)?;
        Ok(count > 0)
    }
}

/// The workers list is a sorted set scored by when each worker's turn ends; a bucket's lease, a
/// key holding its worker's id that Redis drops when the lease ends.
#[async_trait]
impl WorkShares for RedisStore {
    async fn share_work(&self, worker: &WorkerId, now: Timestamp, until: Timestamp) -> Result<Buckets, StoreError> {
        let workers = self.keys.workers();
        let mut pipe = redis::pipe();
        pipe.zadd(&workers, worker.as_str(), now_score(until)).ignore();
        pipe.cmd("ZREMRANGEBYSCORE").arg(&workers).arg("-inf").arg(format!("({}", now_score(now))).ignore();
        pipe.zrange(&workers, 0, -1);
        let (alive,): (Vec<String>,) = self.query(&pipe).await.map_err(unavailable)?;
        let share = share_of(&alive.into_iter().map(WorkerId::new).collect::<Vec<_>>(), worker);
        let held: Vec<u8> = self.lease_buckets(worker, now_score(until), share).await?;
        Ok(Buckets::of(held.iter().enumerate().filter(|(_, held)| **held == 1).map(|(bucket, _)| bucket)))
    }

    async fn leave(&self, worker: &WorkerId) -> Result<(), StoreError> {
        let _: Vec<u8> = self.lease_buckets(worker, 0, Buckets::NONE).await?;
        let mut pipe = redis::pipe();
        pipe.zrem(self.keys.workers(), worker.as_str()).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }
}

#[async_trait]
impl Tallies for RedisStore {
    async fn tally(&self, tenant: &TenantId, day: jiff::civil::Date, add: &[(String, i64)]) -> Result<(), StoreError> {
        if add.is_empty() {
            return Ok(());
        }
        let key = self.keys.tallies(tenant, day);
        // Kept the retention after its day ends, as the survey counters are.
        let day_ends = day.tomorrow().ok().and_then(|next| next.to_zoned(jiff::tz::TimeZone::UTC).ok());
        let expires =
            day_ends.map_or(i64::MAX, |end| end.timestamp().as_millisecond().saturating_add(self.retention_ms));
        let mut pipe = redis::pipe();
        for (name, amount) in add {
            pipe.hincr(&key, name, *amount).ignore();
        }
        pipe.cmd("PEXPIREAT").arg(&key).arg(expires).ignore();
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn tallies(
        &self,
        tenant: &TenantId,
        days: &[jiff::civil::Date],
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut pipe = redis::pipe();
        for day in days {
            pipe.hgetall(self.keys.tallies(tenant, *day));
        }
        let read: Vec<HashMap<String, i64>> = self.query_reads(&pipe).await.map_err(unavailable)?;
        let mut sum = BTreeMap::new();
        for (name, amount) in read.into_iter().flatten() {
            *sum.entry(name).or_default() += amount;
        }
        Ok(sum)
    }
}

#[async_trait]
impl Pacing for RedisStore {
    async fn take_send_slots(
        &self,
        tenant: &TenantId,
        lane: SendLane<'_>,
        interval: SignedDuration,
        count: u32,
        horizon: SignedDuration,
    ) -> Result<SendSlots, StoreError> {
        let micros = |duration: SignedDuration| i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        let mut pipe = redis::pipe();
        let mut take = SCRIPTS.take_send_slots.prepare_invoke();
        take.key(self.keys.pace(tenant, lane)).arg(micros(interval)).arg(micros(horizon)).arg(count);
        pipe.invoke_script(&take);
        let ((first, taken),): ((i64, u32),) = self.query(&pipe).await.map_err(unavailable)?;
        Ok(match taken {
            0 => SendSlots::NoneBefore(SignedDuration::from_micros(-first)),
            count => SendSlots::Taken { first: SignedDuration::from_micros(first), interval, count },
        })
    }
}

impl RedisStore {
    /// Holds the buckets of `share` until `until` (unix milliseconds) and gives back the rest, each
    /// bucket by one script in its slot, all at once; says, bucket by bucket, which are held.
    async fn lease_buckets(&self, worker: &WorkerId, until: i64, share: Buckets) -> Result<Vec<u8>, StoreError> {
        let mut pipe = redis::pipe();
        for bucket in 0..BUCKETS {
            let mut lease = SCRIPTS.lease_bucket.prepare_invoke();
            lease
                .key(self.keys.bucket_lease(bucket))
                .arg(worker.as_str())
                .arg(until)
                .arg(u8::from(share.contains(bucket)));
            pipe.invoke_script(&lease);
        }
        self.query_reads(&pipe).await.map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys { prefix: "rw".to_owned(), cluster: false }
    }

    #[test]
    fn on_a_cluster_a_survey_shares_its_slot_with_what_its_writes_count() {
        use redis::cluster_routing::Slot;
        let keys = Keys { prefix: "rw".to_owned(), cluster: true };
        let tenant: TenantId = id("acme");
        let period = Period::Month(jiff::civil::date(2026, 12, 1));
        let mut shards = HashSet::new();
        for n in 0..100 {
            let survey: SurveyId = id(&format!("survey-{n}"));
            let record = keys.survey(&tenant, &survey);
            let shard = keys.shard(&survey);
            shards.insert(shard);
            assert_eq!(record, format!("rw:t:acme:{{{}}}:s/survey-{n}", shard.unwrap()));
            let slot = Slot::for_key(&record);
            assert_eq!(Slot::for_key(keys.counts(&tenant, shard, period)), slot);
            assert_eq!(Slot::for_key(keys.negative(&tenant, shard)), slot);
            // Its entry of the due index, and the outbox items it queues with their entries.
            assert_eq!(Slot::for_key(keys.due(keys.due_bucket(&due_member(&tenant, &survey)))), slot);
            let queued = |id: &str, task: Task| OutboxItem {
                id: id.to_owned(),
                tenant: tenant.clone(),
                task,
                attempts: 0,
                due: Timestamp::UNIX_EPOCH,
                last_error: None,
                attempt_started_at: None,
            };
            let message = super::super::OutboundMessage::Invitation;
            let send = queued("send_x", Task::Send { channel: id("wa"), survey: survey.clone(), message });
            let body = String::new();
            let event = queued("evt_x", Task::Webhook { endpoint: "ep".into(), body, survey: Some(survey.clone()) });
            for item in [send, event] {
                assert_eq!(Slot::for_key(keys.outbox_item(keys.item_shard(&item), &item.id)), slot);
                assert_eq!(Slot::for_key(keys.outbox_due(keys.outbox_bucket(&item))), slot);
                assert_eq!(Slot::for_key(keys.tenant_outbox(&tenant, keys.item_shard(&item))), slot);
            }
        }
        assert_eq!(shards.len(), CLUSTER_SHARDS, "a tenant's surveys use every shard");
        // A survey made for an end user shares the slot of their recipient pointer, where the
        // script following it reads it.
        for n in 0..50 {
            let (channel, recipient): (ChannelId, RecipientId) = (id("wa"), id(&format!("+1555{n:04}")));
            let survey = keys.survey_id_for(&channel, &recipient);
            let pointer = keys.recipient(&tenant, &channel, &recipient);
            assert_eq!(Slot::for_key(keys.survey(&tenant, &survey)), Slot::for_key(&pointer));
            // So do when they last wrote, and their messages' sightings.
            assert_eq!(Slot::for_key(keys.written(&tenant, &channel, &recipient)), Slot::for_key(&pointer));
            let sighting = keys.seen(&keys.message_key(&tenant, &channel, &recipient, "wamid.1"));
            assert_eq!(Slot::for_key(sighting), Slot::for_key(&pointer));
            let (before, after) = keys.survey_around(&tenant, keys.recipient_shard(&channel, &recipient));
            assert_eq!(format!("{before}{survey}{after}"), keys.survey(&tenant, &survey));
        }
        assert_eq!(keys.shards().len(), CLUSTER_SHARDS);
        // One server keeps the keys it always had.
        assert_eq!(self::keys().survey(&tenant, &id("x")), "rw:t:acme:{s:x}");
        let (wa, ana): (ChannelId, RecipientId) = (id("wa"), id("+15550001"));
        assert_eq!(self::keys().message_key(&tenant, &wa, &ana, "wamid.1"), "acme/wa/wamid.1");
        assert_eq!(self::keys().written(&tenant, &wa, &ana), "rw:t:acme:w/wa/+15550001");
        assert_eq!(self::keys().counts(&tenant, None, period), "rw:t:acme:counts/2026-12");
    }

    fn id<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    #[test]
    fn due_buckets_are_stable_and_spread() {
        // Fixed for good: a survey written by one version is found in the same bucket by the next.
        let keys = keys();
        assert_eq!(keys.due_bucket("acme/0123abcd"), fnv1a("acme/0123abcd") as usize % BUCKETS);
        let used: HashSet<usize> = (0..200).map(|n| keys.due_bucket(&format!("acme/survey-{n}"))).collect();
        assert_eq!(used.len(), BUCKETS, "200 surveys use every bucket");
    }

    #[test]
    fn keys_are_namespaced_and_hash_tagged() {
        let keys = keys();
        let tenant: TenantId = id("acme");
        assert_eq!(keys.survey(&tenant, &id("0123abcd")), "rw:t:acme:{s:0123abcd}");
        assert_eq!(keys.conversation(&tenant, &id("zd:42")), "rw:t:acme:c/zd:42");
        assert_eq!(keys.recipient(&tenant, &id("wa"), &id("+5511")), "rw:t:acme:r/wa/+5511");
        assert_eq!(keys.written(&tenant, &id("wa"), &id("+5511")), "rw:t:acme:w/wa/+5511");
        assert_eq!(keys.due(7), "rw:due:{7}");
        assert_eq!(keys.unbucketed_due(), "rw:due");
    }

    #[test]
    fn ids_with_colons_can_not_reach_another_tenants_keys() {
        let keys = keys();
        let a = keys.conversation(&id("a"), &id("x:c:y"));
        let b = keys.conversation(&id("a:c:x"), &id("y"));
        assert_ne!(a, b);
        let a = keys.recipient(&id("t"), &id("wa"), &id("x:y"));
        let b = keys.recipient(&id("t"), &id("wa:x"), &id("y"));
        assert_ne!(a, b);
    }

    #[test]
    fn a_surveys_messages_share_an_outbox_bucket_and_events_spread() {
        let item = |id: &str, task: Task| OutboxItem {
            id: id.to_owned(),
            tenant: self::id("acme"),
            task,
            attempts: 0,
            due: Timestamp::UNIX_EPOCH,
            last_error: None,
            attempt_started_at: None,
        };
        let send = |id: &str, survey: &str| {
            let message = super::super::OutboundMessage::Invitation;
            item(id, Task::Send { channel: self::id("wa"), survey: self::id(survey), message })
        };
        assert_eq!(outbox_bucket(&send("send_s-1_1", "s-1")), outbox_bucket(&send("send_s-1_2", "s-1")));
        let surveys: HashSet<usize> = (0..200).map(|n| outbox_bucket(&send("x", &format!("s-{n}")))).collect();
        assert_eq!(surveys.len(), BUCKETS);
        let event = |n: usize| {
            item(&format!("evt_{n}"), Task::Webhook { endpoint: "ep".into(), body: String::new(), survey: None })
        };
        let events: HashSet<usize> = (0..200).map(|n| outbox_bucket(&event(n))).collect();
        assert_eq!(events.len(), BUCKETS);
    }

    #[test]
    fn due_members_read_back() {
        let member = due_member(&id("acme:eu"), &id("0123abcd"));
        assert_eq!(member, "acme:eu/0123abcd");
        assert_eq!(parse_due_member(&member), Some((id("acme:eu"), id("0123abcd"))));
        assert_eq!(parse_due_member("no-slash"), None);
        assert_eq!(parse_due_member("a/b/c"), None);
        assert_eq!(parse_due_member("/b"), None);
    }

    #[test]
    fn listing_record_and_outbox_keys() {
        let keys = keys();
        let tenant: TenantId = id("acme");
        assert_eq!(keys.surveys(&tenant), "rw:t:acme:surveys");
        assert_eq!(keys.record(&tenant, RecordKind::Config, "nps@v2"), "rw:t:acme:rec:config/nps@v2");
        assert_eq!(keys.records(&tenant, RecordKind::Endpoint), "rw:t:acme:rec:endpoint");
        assert_eq!(keys.outbox_item(None, "d-1"), "rw:outbox:item:d-1");
        assert_eq!(keys.outbox_due(3), "rw:outbox:due:{3}");
        assert_eq!(keys.unbucketed_outbox_due(), "rw:outbox:due");
    }

    #[test]
    fn record_and_index_keys_name_one_tenant_and_kind() {
        let keys = keys();
        let kinds = [RecordKind::Config, RecordKind::Channel, RecordKind::Conversation, RecordKind::Endpoint];
        let tenants: [TenantId; 4] = [id("a"), id("a:rec:config"), id("a:rec"), id("a:c")];
        let mut seen = std::collections::HashSet::new();
        for tenant in &tenants {
            assert!(seen.insert(keys.surveys(tenant)));
            assert!(seen.insert(keys.conversation(tenant, &id("x"))));
            for kind in kinds {
                assert!(seen.insert(keys.records(tenant, kind)), "{tenant} {kind}");
                assert!(seen.insert(keys.record(tenant, kind, "x")), "{tenant} {kind}");
                assert!(seen.insert(keys.record(tenant, kind, "config/x")), "{tenant} {kind}");
            }
        }
        // A record id made to look like another kind's stays in its own kind.
        assert_ne!(keys.record(&id("a"), RecordKind::Config, "x"), keys.records(&id("a"), RecordKind::Config));
    }

    #[test]
    fn outbox_members_read_back() {
        let member = outbox_member(&id("acme:eu"), "d-1");
        assert_eq!(member, "acme:eu/d-1");
        assert_eq!(parse_outbox_member(&member), Some((id("acme:eu"), "d-1")));
        // The tenant ends at the first `/`; the item's id may hold more.
        assert_eq!(parse_outbox_member("acme/a/b"), Some((id("acme"), "a/b")));
        assert_eq!(parse_outbox_member("no-slash"), None);
        assert_eq!(parse_outbox_member("bad tenant/x"), None);
    }

    #[test]
    fn an_items_due_time_is_its_own_until_a_claim_moves_it() {
        let due = Timestamp::from_millisecond(1_700_000_000_123).unwrap() + SignedDuration::from_micros(400);
        assert_eq!(reconcile_due(due, due_score(due)), Some(due));
        let leased = Timestamp::from_millisecond(1_700_000_060_000).unwrap();
        assert_eq!(reconcile_due(due, due_score(leased)), Some(leased));
        assert_eq!(reconcile_due(due, i64::MAX), None);
    }

    #[test]
    fn due_scores_round_so_the_sweeper_is_never_early() {
        let exact = Timestamp::from_millisecond(1_700_000_000_123).unwrap();
        assert_eq!(due_score(exact), 1_700_000_000_123);
        assert_eq!(now_score(exact), 1_700_000_000_123);
        let between = exact + SignedDuration::from_micros(400);
        assert_eq!(due_score(between), 1_700_000_000_124);
        assert_eq!(now_score(between), 1_700_000_000_123);
        let before_epoch = Timestamp::from_nanosecond(-1_500_000).unwrap();
        assert_eq!(due_score(before_epoch), -1);
        assert_eq!(now_score(before_epoch), -2);
    }
}
