//! The Redis store's short-lived copy of the records every message reads — the channel, its
//! configuration, the webhook endpoints — which change a few times a month, so a gateway
//! needn't ask Redis for them several times per message.
//!
//! A copy is kept for [`TTL`]. A change made through this store drops its copy at once, and the
//! other gateways drop theirs when they hear of it (Redis pub/sub); one that missed it (its
//! subscription was down) drops all its copies when it is back, and the TTL bounds the rest. A
//! read that raced a change doesn't put back what it read (every drop starts a new generation,
//! and a read only keeps its answer if no drop happened while it was under way). Records that don't exist are
//! not kept, so requests naming made-up ids can't fill the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{RecordKind, Versioned};

/// How long a copy is used.
pub const TTL: Duration = Duration::from_secs(1);
/// The most copies kept; past it they are all dropped (there are a few records per tenant).
const CAPACITY: usize = 10_000;

/// Whether records of a kind are kept: the business's setup, not what end users' messages write.
pub fn keeps(kind: RecordKind) -> bool {
    matches!(kind, RecordKind::Config | RecordKind::Channel | RecordKind::Endpoint)
}

/// What a read finds.
pub enum Lookup<T> {
    Hit(T),
    /// Not kept: read Redis, then [`RecordCache::keep`] the answer with this read.
    Miss(Read),
}

/// A read of Redis about to start: the generation it saw, and when it started, which is when
/// its answer's life starts (the answer can be no newer than that).
#[derive(Debug, Clone, Copy)]
pub struct Read {
    generation: u64,
    started: Instant,
}

#[derive(Default)]
pub struct RecordCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    records: HashMap<String, (Instant, Versioned)>,
    lists: HashMap<String, (Instant, Vec<(String, Versioned)>)>,
}

impl RecordCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The copy of the record under `key`, at `now`.
    pub fn record(&self, key: &str, now: Instant) -> Lookup<Versioned> {
        let state = self.state();
        match state.records.get(key) {
            Some((started, record)) if alive(*started, now) => Lookup::Hit(record.clone()),
            _ => Lookup::Miss(Read { generation: state.generation, started: now }),
        }
    }

    /// The copy of the list under `key`, at `now`.
    pub fn list(&self, key: &str, now: Instant) -> Lookup<Vec<(String, Versioned)>> {
        let state = self.state();
        match state.lists.get(key) {
            Some((started, list)) if alive(*started, now) => Lookup::Hit(list.clone()),
            _ => Lookup::Miss(Read { generation: state.generation, started: now }),
        }
    }

    /// Keeps a record read from Redis, unless a change was made since the read began.
    pub fn keep(&self, key: &str, read: Read, record: &Versioned) {
        let mut state = self.state();
        if state.generation == read.generation {
            if state.records.len() >= CAPACITY {
                state.records.clear();
            }
            state.records.insert(key.to_owned(), (read.started, record.clone()));
        }
    }

    /// Keeps a list read from Redis, unless a change was made since the read began.
    pub fn keep_list(&self, key: &str, read: Read, list: &[(String, Versioned)]) {
        let mut state = self.state();
        if state.generation == read.generation {
            if state.lists.len() >= CAPACITY {
                state.lists.clear();
            }
            state.lists.insert(key.to_owned(), (read.started, list.to_vec()));
        }
    }

    /// Drops the copies of a record and of its kind's list, before and after it is changed.
    /// Drops every copy: changes may have been missed.
    pub fn forget_all(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.records.clear();
        state.lists.clear();
    }

    pub fn forget(&self, key: &str, list_key: &str) {
        let mut state = self.state();
        state.generation += 1;
        state.records.remove(key);
        state.lists.remove(list_key);
    }
}

/// Whether a copy read from a Redis read that started at `started` is still used at `now`.
fn alive(started: Instant, now: Instant) -> bool {
    now.saturating_duration_since(started) < TTL
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "channel:web";
    const LIST: &str = "channels";

    fn record(revision: u64) -> Versioned {
        Versioned { revision, value: format!("{{\"revision\":{revision}}}") }
    }

    fn miss<T>(lookup: Lookup<T>) -> Read {
        match lookup {
            Lookup::Miss(read) => read,
            Lookup::Hit(_) => panic!("expected a miss"),
        }
    }

    fn hit<T>(lookup: Lookup<T>) -> T {
        match lookup {
            Lookup::Hit(value) => value,
            Lookup::Miss(_) => panic!("expected a hit"),
        }
    }

    #[test]
    fn a_kept_record_is_served_until_its_life_from_the_read_ends() {
        let cache = RecordCache::default();
        let start = Instant::now();
        let read = miss(cache.record(KEY, start));
        // The answer arrives later than the read started: its life still counts from the start.
        cache.keep(KEY, read, &record(1));
        assert_eq!(hit(cache.record(KEY, start + TTL - Duration::from_millis(1))), record(1));
        miss(cache.record(KEY, start + TTL));
    }

    #[test]
    fn a_kept_list_is_served_until_its_life_from_the_read_ends() {
        let cache = RecordCache::default();
        let start = Instant::now();
        let read = miss(cache.list(LIST, start));
        cache.keep_list(LIST, read, &[("web".to_owned(), record(1))]);
        assert_eq!(hit(cache.list(LIST, start + Duration::from_millis(500))), vec![("web".to_owned(), record(1))]);
        miss(cache.list(LIST, start + TTL));
    }

    #[test]
    fn a_read_that_began_before_a_forget_keeps_nothing() {
        let cache = RecordCache::default();
        let start = Instant::now();
        let (record_read, list_read) = (miss(cache.record(KEY, start)), miss(cache.list(LIST, start)));
        cache.forget(KEY, LIST);
        cache.keep(KEY, record_read, &record(1));
        cache.keep_list(LIST, list_read, &[("web".to_owned(), record(1))]);
        miss(cache.record(KEY, start));
        miss(cache.list(LIST, start));
    }

    #[test]
    fn a_forget_drops_the_copies_at_once() {
        let cache = RecordCache::default();
        let start = Instant::now();
        cache.keep(KEY, miss(cache.record(KEY, start)), &record(1));
        cache.keep_list(LIST, miss(cache.list(LIST, start)), &[("web".to_owned(), record(1))]);
        cache.forget(KEY, LIST);
        miss(cache.record(KEY, start));
        miss(cache.list(LIST, start));
        // A read that begins after the change keeps its answer.
        cache.keep(KEY, miss(cache.record(KEY, start)), &record(2));
        assert_eq!(hit(cache.record(KEY, start)), record(2));
    }
}
