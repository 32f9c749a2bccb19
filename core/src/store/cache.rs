//! The Redis store's short-lived copy of the records every message reads — the channel, its
//! configuration, the webhook endpoints — which change a few times a month, so a gateway
//! needn't ask Redis for them several times per message.
//!
//! A copy is kept for [`TTL`]: a change made through another gateway reaches this one within
//! that time. A change made through this store drops its copy at once, and a read that raced a
//! change doesn't put back what it read (every drop starts a new generation, and a read only
//! keeps its answer if no drop happened while it was under way). Records that don't exist are
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
    /// Not kept: read Redis, then [`RecordCache::keep`] the answer with this generation.
    Miss(u64),
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

    /// The copy of the record under `key`.
    pub fn record(&self, key: &str) -> Lookup<Versioned> {
        let state = self.state();
        match state.records.get(key) {
            Some((at, record)) if at.elapsed() < TTL => Lookup::Hit(record.clone()),
            _ => Lookup::Miss(state.generation),
        }
    }

    /// The copy of the list under `key`.
    pub fn list(&self, key: &str) -> Lookup<Vec<(String, Versioned)>> {
        let state = self.state();
        match state.lists.get(key) {
            Some((at, list)) if at.elapsed() < TTL => Lookup::Hit(list.clone()),
            _ => Lookup::Miss(state.generation),
        }
    }

    /// Keeps a record read from Redis, unless a change was made since the read began.
    pub fn keep(&self, key: &str, generation: u64, record: &Versioned) {
        let mut state = self.state();
        if state.generation == generation {
            if state.records.len() >= CAPACITY {
                state.records.clear();
            }
            state.records.insert(key.to_owned(), (Instant::now(), record.clone()));
        }
    }

    /// Keeps a list read from Redis, unless a change was made since the read began.
    pub fn keep_list(&self, key: &str, generation: u64, list: &[(String, Versioned)]) {
        let mut state = self.state();
        if state.generation == generation {
            if state.lists.len() >= CAPACITY {
                state.lists.clear();
            }
            state.lists.insert(key.to_owned(), (Instant::now(), list.to_vec()));
        }
    }

    /// Drops the copies of a record and of its kind's list, before and after it is changed.
    pub fn forget(&self, key: &str, list_key: &str) {
        let mut state = self.state();
        state.generation += 1;
        state.records.remove(key);
        state.lists.remove(list_key);
    }
}
