//! The production store, on Redis.
//!
//! # Keys
//!
//! With the default prefix `rw`, for tenant `acme`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `rw:t:acme:{s:<survey>}` | hash | `rev` (the survey's revision) and `json` (the survey) |
//! | `rw:t:acme:c/<conversation>` | string | the id of the conversation's latest survey |
//! | `rw:t:acme:r/<channel>/<recipient>` | string | the id of the survey the recipient is answering |
//! | `rw:due` | sorted set | `<tenant>/<survey>`, scored by [`Survey::next_due`] in unix milliseconds |
//!
//! Ids may contain `:` but never `/`, `{` or `}`, so a key names exactly one tenant and one
//! conversation or recipient: the variable parts are closed by a `/` or a `{`, never by a `:`.
//! The survey record's hash tag puts it in its own Redis Cluster slot.
//!
//! # Atomicity
//!
//! The connection is multiplexed, so WATCH/MULTI (which belong to a connection, not to a task)
//! can't be used. Every conditional write is instead a Lua script that touches exactly one key,
//! which also keeps every script valid on Redis Cluster. Operations spanning several keys are
//! ordered so that a crash between two steps leaves nothing worse than a due-index entry the
//! sweeper finds stale, or a survey record no pointer leads to (it expires with the retention).
//!
//! # Expiry
//!
//! A survey record and its conversation pointer live for the retention after the survey's last
//! write. The recipient pointer lives until the last moment a reply still means something (the
//! deadline while pending, the end of the comment window once rated, whichever is later) plus
//! the late reply grace, and never less than the grace from now. The due index is what drives
//! deadlines; keyspace notifications are not used.
//!
//! Needs Redis 6.2 or later (`ZRANGE … BYSCORE`, `SET … PXAT`).

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, Pipeline, RedisError, Script, ServerErrorKind};

use super::{DueSurvey, Outbox, OutboxItem, RecordKind, RecordStore, StoreError, SurveyStore, Versioned};
use crate::ids::{ChannelId, ConversationId, RecipientId, SurveyId, TenantId};
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

/// Each connection attempt gives up after this long.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// A command with no answer after this long fails (and the call with it).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnection attempts made for one call before it fails; the next call tries again.
const RECONNECT_RETRIES: usize = 3;
/// How often the due index is re-synchronized with a record that keeps changing under it before
/// leaving it to the writers changing it (each of which synchronizes it after its own write).
const MAX_DUE_SYNC_ROUNDS: usize = 8;

/// Writes a survey record whose stored revision is the expected one, or a new record when the
/// expected revision is '' and none exists. KEYS[1]: the record. ARGV: expected stored revision,
/// new revision, JSON, retention in milliseconds. Revisions are compared as decimal strings, so
/// no precision is lost to Lua numbers. Returns 1 if written, 0 otherwise.
const WRITE_RECORD: &str = r"
local stored = redis.call('HGET', KEYS[1], 'rev') or ''
if stored ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
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

struct Scripts {
    write_record: Script,
    swap_pointer: Script,
    extend_pointer: Script,
}

impl Scripts {
    fn all(&self) -> [&Script; 3] {
        [&self.write_record, &self.swap_pointer, &self.extend_pointer]
    }
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    write_record: Script::new(WRITE_RECORD),
    swap_pointer: Script::new(SWAP_POINTER),
    extend_pointer: Script::new(EXTEND_POINTER),
});

/// The key names of one store.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn survey(&self, tenant: &TenantId, id: &SurveyId) -> String {
        format!("{}:t:{tenant}:{{s:{id}}}", self.prefix)
    }

    fn conversation(&self, tenant: &TenantId, conversation: &ConversationId) -> String {
        format!("{}:t:{tenant}:c/{conversation}", self.prefix)
    }

    fn recipient(&self, tenant: &TenantId, channel: &ChannelId, recipient: &RecipientId) -> String {
        format!("{}:t:{tenant}:r/{channel}/{recipient}", self.prefix)
    }

    fn due(&self) -> String {
        format!("{}:due", self.prefix)
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

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn millis(duration: SignedDuration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The Redis store. Cheap to clone: clones share one multiplexed connection, which reconnects
/// on its own after Redis comes back.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    keys: Keys,
    retention_ms: i64,
    late_reply_grace: SignedDuration,
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
    /// Connects to Redis at `url` (`redis://host:port/db`, `rediss://…` is not built in).
    pub async fn connect(url: &str, options: RedisStoreOptions) -> Result<RedisStore, StoreError> {
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
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(Duration::from_secs(1));
        let mut connection = ConnectionManager::new_with_config(client, config).await.map_err(unavailable)?;
        let mut load = redis::pipe();
        for script in SCRIPTS.all() {
            load.load_script(script).ignore();
        }
        load.query_async::<()>(&mut connection).await.map_err(unavailable)?;
        Ok(RedisStore {
            connection,
            keys: Keys { prefix: options.prefix },
            retention_ms: millis(options.retention),
            late_reply_grace: options.late_reply_grace,
        })
    }

    /// Runs a pipeline. If Redis lost the scripts (it restarted, or someone ran SCRIPT FLUSH),
    /// loads them and runs it again; every pipeline here is safe to repeat after a script in it
    /// was refused, because nothing before that script depends on it.
    async fn query<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisError> {
        let mut connection = self.connection.clone();
        match pipe.query_async(&mut connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let mut load = redis::pipe();
                for script in SCRIPTS.all() {
                    load.load_script(script).ignore();
                }
                load.query_async::<()>(&mut connection).await?;
                pipe.query_async(&mut connection).await
            }
            result => result,
        }
    }

    fn decode(key: &str, tenant: &TenantId, id: &SurveyId, json: &str) -> Result<Survey, StoreError> {
        let survey: Survey = serde_json::from_str(json)
            .map_err(|error| StoreError::Corrupt { key: key.to_owned(), reason: error.to_string() })?;
        if survey.invitation.tenant != *tenant || survey.id != *id {
            return Err(StoreError::Corrupt {
                key: key.to_owned(),
                reason: format!("holds survey {} of tenant {}", survey.id, survey.invitation.tenant),
            });
        }
        Ok(survey)
    }

    fn encode(&self, survey: &Survey) -> Result<String, StoreError> {
        serde_json::to_string(survey).map_err(|error| StoreError::Corrupt {
            key: self.keys.survey(&survey.invitation.tenant, &survey.id),
            reason: format!("can't be written: {error}"),
        })
    }

    async fn read(&self, tenant: &TenantId, id: &SurveyId) -> Result<Option<Survey>, StoreError> {
        let key = self.keys.survey(tenant, id);
        let mut pipe = redis::pipe();
        pipe.hget(&key, "json");
        let (json,): (Option<String>,) = self.query(&pipe).await.map_err(unavailable)?;
        json.map(|json| Self::decode(&key, tenant, id, &json)).transpose()
    }

    /// Reads the survey a pointer leads to, if both are there.
    async fn follow(&self, tenant: &TenantId, pointer: &str) -> Result<Option<Survey>, StoreError> {
        let mut pipe = redis::pipe();
        pipe.get(pointer);
        let (id,): (Option<String>,) = self.query(&pipe).await.map_err(unavailable)?;
        let Some(id) = id else { return Ok(None) };
        let id = SurveyId::new(id)
            .map_err(|error| StoreError::Corrupt { key: pointer.to_owned(), reason: error.to_string() })?;
        self.read(tenant, &id).await
    }

    /// The expiry of a recipient pointer to `survey`, in unix milliseconds.
    fn recipient_expiry(&self, survey: &Survey) -> i64 {
        let end = replies_end(survey).max(Timestamp::now());
        let expiry = end.checked_add(self.late_reply_grace).unwrap_or(Timestamp::MAX);
        expiry.as_millisecond()
    }

    /// Adds the command that makes a survey's due entry say `due` (none: no entry).
    fn schedule(&self, pipe: &mut Pipeline, tenant: &TenantId, id: &SurveyId, due: Option<Timestamp>) {
        let member = due_member(tenant, id);
        match due {
            Some(due) => pipe.zadd(self.keys.due(), member, due_score(due)).ignore(),
            None => pipe.zrem(self.keys.due(), member).ignore(),
        };
    }

    /// Makes a survey's due entry match its stored record.
    ///
    /// Writers put their survey's due time in the index before writing the record (so a crash
    /// in between can't lose a deadline), which lets a writer that then loses the race leave
    /// the winner's entry wrong. So after every write, and after every lost race, the writer
    /// sets the entry from a known revision and checks that revision is still the stored one;
    /// if not, it reads the record again. Whoever writes the index last has then written it
    /// from the last revision.
    ///
    /// `known` is the revision and due time the caller just wrote, if it did; `prelude`, commands
    /// to send along with the first write to the index (their answers are ignored).
    async fn sync_due(
        &self,
        tenant: &TenantId,
        id: &SurveyId,
        mut known: Option<(u64, Option<Timestamp>)>,
        prelude: Pipeline,
    ) -> Result<(), StoreError> {
        let key = self.keys.survey(tenant, id);
        let mut prelude = Some(prelude);
        for _ in 0..MAX_DUE_SYNC_ROUNDS {
            let (revision, due) = match known.take() {
                Some(known) => known,
                None => {
                    let mut pipe = redis::pipe();
                    pipe.hget(&key, "rev").hget(&key, "json");
                    let (revision, json): (Option<u64>, Option<String>) =
                        self.query(&pipe).await.map_err(unavailable)?;
                    let (Some(revision), Some(json)) = (revision, json) else {
                        // No record: nothing for the sweeper to do.
                        let mut pipe = redis::pipe();
                        self.schedule(&mut pipe, tenant, id, None);
                        return self.query(&pipe).await.map_err(unavailable);
                    };
                    (revision, Self::decode(&key, tenant, id, &json)?.next_due())
                }
            };
            let mut pipe = prelude.take().unwrap_or_else(redis::pipe);
            self.schedule(&mut pipe, tenant, id, due);
            pipe.hget(&key, "rev");
            let (stored,): (Option<u64>,) = self.query(&pipe).await.map_err(unavailable)?;
            if stored == Some(revision) {
                return Ok(());
            }
        }
        tracing::debug!(%tenant, survey = %id, "survey kept changing while its due entry was synchronized");
        Ok(())
    }

    /// [`Self::sync_due`] where a failure only means the sweeper may find a stale entry.
    async fn sync_due_or_warn(
        &self,
        tenant: &TenantId,
        id: &SurveyId,
        known: Option<(u64, Option<Timestamp>)>,
        prelude: Pipeline,
    ) {
        if let Err(error) = self.sync_due(tenant, id, known, prelude).await {
            tracing::warn!(%tenant, survey = %id, %error, "could not synchronize the survey's due entry");
        }
    }
}

#[async_trait]
impl SurveyStore for RedisStore {
    async fn create(&self, survey: &Survey, expected_previous: Option<&SurveyId>) -> Result<(), StoreError> {
        let (tenant, id) = (&survey.invitation.tenant, &survey.id);
        let record = self.keys.survey(tenant, id);
        let json = self.encode(survey)?;
        let next_due = survey.next_due();

        // 1. The due entry first, so no crash can leave a pending survey without a deadline.
        //    NX: if the id is taken, the existing survey's entry stays as it is.
        // 2. The record, unless the id is taken.
        let mut pipe = redis::pipe();
        if let Some(due) = next_due {
            pipe.cmd("ZADD").arg(self.keys.due()).arg("NX").arg(due_score(due)).arg(due_member(tenant, id)).ignore();
        }
        let mut write = SCRIPTS.write_record.prepare_invoke();
        write.key(&record).arg("").arg(survey.revision).arg(&json).arg(self.retention_ms);
        pipe.invoke_script(&write);
        let (written,): (i64,) = self.query(&pipe).await.map_err(unavailable)?;
        if written != 1 {
            if next_due.is_some() {
                // An existing survey with no deadline of its own may have just got ours.
                self.sync_due_or_warn(tenant, id, None, redis::pipe()).await;
            }
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
            // Nobody knows this survey's id yet, so its record and entry are ours to take back.
            let mut pipe = redis::pipe();
            pipe.del(&record).ignore();
            self.schedule(&mut pipe, tenant, id, None);
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

    async fn save(&self, survey: &Survey) -> Result<(), StoreError> {
        let (tenant, id) = (&survey.invitation.tenant, &survey.id);
        let Some(previous) = survey.revision.checked_sub(1) else {
            return Err(StoreError::Conflict(id.clone()));
        };
        let record = self.keys.survey(tenant, id);
        let json = self.encode(survey)?;
        let next_due = survey.next_due();

        // The new due time goes in before the record, so no crash can lose a deadline.
        let mut pipe = redis::pipe();
        if next_due.is_some() {
            self.schedule(&mut pipe, tenant, id, next_due);
        }
        let mut write = SCRIPTS.write_record.prepare_invoke();
        write.key(&record).arg(previous).arg(survey.revision).arg(&json).arg(self.retention_ms);
        pipe.invoke_script(&write);
        let (written,): (i64,) = self.query(&pipe).await.map_err(unavailable)?;
        if written != 1 {
            if next_due.is_some() {
                // Our due time may have replaced the winner's.
                self.sync_due_or_warn(tenant, id, None, redis::pipe()).await;
            }
            return Err(StoreError::Conflict(id.clone()));
        }

        // The record is written: what follows only tidies up, so it can't fail the save.
        // The conversation pointer lives as long as the record; the recipient's, as long as
        // the comment window if that outlasts the deadline it was given.
        let mut tidy = redis::pipe();
        let kept_until =
            Timestamp::now().checked_add(SignedDuration::from_millis(self.retention_ms)).unwrap_or(Timestamp::MAX);
        let mut extend = SCRIPTS.extend_pointer.prepare_invoke();
        extend
            .key(self.keys.conversation(tenant, &survey.invitation.conversation))
            .arg(id.as_str())
            .arg(kept_until.as_millisecond());
        tidy.invoke_script(&extend).ignore();
        if matches!(survey.state, SurveyState::Rated { .. } | SurveyState::Locked { .. }) {
            let mut extend = SCRIPTS.extend_pointer.prepare_invoke();
            extend
                .key(self.keys.recipient(tenant, &survey.invitation.channel, &survey.invitation.recipient))
                .arg(id.as_str())
                .arg(self.recipient_expiry(survey));
            tidy.invoke_script(&extend).ignore();
        }
        self.sync_due_or_warn(tenant, id, Some((survey.revision, next_due)), tidy).await;
        Ok(())
    }

    async fn latest_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        self.follow(tenant, &self.keys.conversation(tenant, conversation)).await
    }

    async fn latest_for_recipient(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        recipient: &RecipientId,
    ) -> Result<Option<Survey>, StoreError> {
        self.follow(tenant, &self.keys.recipient(tenant, channel, recipient)).await
    }

    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<DueSurvey>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE")
            .arg(self.keys.due())
            .arg("-inf")
            .arg(now_score(now))
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .arg("WITHSCORES");
        let (entries,): (Vec<(String, f64)>,) = self.query(&pipe).await.map_err(unavailable)?;
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
        self.schedule(&mut pipe, tenant, id, None);
        self.query::<()>(&pipe).await.map_err(unavailable)
    }

    async fn list(&self, _: &TenantId, _: Timestamp, _: Timestamp, _: usize) -> Result<Vec<Survey>, StoreError> {
        Err(not_yet())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys { prefix: "rw".to_owned() }
    }

    fn id<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    #[test]
    fn keys_are_namespaced_and_hash_tagged() {
        let keys = keys();
        let tenant: TenantId = id("acme");
        assert_eq!(keys.survey(&tenant, &id("0123abcd")), "rw:t:acme:{s:0123abcd}");
        assert_eq!(keys.conversation(&tenant, &id("zd:42")), "rw:t:acme:c/zd:42");
        assert_eq!(keys.recipient(&tenant, &id("wa"), &id("+5511")), "rw:t:acme:r/wa/+5511");
        assert_eq!(keys.due(), "rw:due");
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
    fn due_members_read_back() {
        let member = due_member(&id("acme:eu"), &id("0123abcd"));
        assert_eq!(member, "acme:eu/0123abcd");
        assert_eq!(parse_due_member(&member), Some((id("acme:eu"), id("0123abcd"))));
        assert_eq!(parse_due_member("no-slash"), None);
        assert_eq!(parse_due_member("a/b/c"), None);
        assert_eq!(parse_due_member("/b"), None);
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

fn not_yet() -> StoreError {
    StoreError::Unavailable("not yet available on Redis".into())
}

#[async_trait]
impl RecordStore for RedisStore {
    async fn get_record(&self, _: &TenantId, _: RecordKind, _: &str) -> Result<Option<Versioned>, StoreError> {
        Err(not_yet())
    }
    async fn put_record(
        &self,
        _: &TenantId,
        _: RecordKind,
        _: &str,
        _: Option<u64>,
        _: &str,
    ) -> Result<u64, StoreError> {
        Err(not_yet())
    }
    async fn list_records(&self, _: &TenantId, _: RecordKind) -> Result<Vec<(String, Versioned)>, StoreError> {
        Err(not_yet())
    }
    async fn delete_record(&self, _: &TenantId, _: RecordKind, _: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
}

#[async_trait]
impl Outbox for RedisStore {
    async fn enqueue(&self, _: &OutboxItem) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn claim_due(&self, _: Timestamp, _: Timestamp, _: usize) -> Result<Vec<OutboxItem>, StoreError> {
        Err(not_yet())
    }
    async fn reschedule(&self, _: &OutboxItem) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn complete(&self, _: &str) -> Result<(), StoreError> {
        Err(not_yet())
    }
    async fn pending_items(&self, _: &TenantId, _: usize) -> Result<Vec<OutboxItem>, StoreError> {
        Err(not_yet())
    }
}
