//! The background work shared by the gateways of one store: due surveys to sweep and outbox items
//! to send sit in [`BUCKETS`] buckets, and each gateway (a worker) works the buckets it holds
//! under a lease. The workers alive say so to the store; each takes an equal share of the buckets
//! by their list, gives back what is no longer its share, and a dead worker's buckets are taken
//! over when its leases end.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;

/// How many buckets the due index and the outbox's due index are each split into.
pub const BUCKETS: usize = 16;

/// FNV-1a: fixed for good, so every version and process puts a survey or an item in the same
/// bucket (and, on a cluster, shard).
pub(crate) fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// A set of buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buckets(u32);

impl Buckets {
    pub const NONE: Buckets = Buckets(0);
    pub const ALL: Buckets = Buckets((1 << BUCKETS) - 1);

    pub fn of(buckets: impl IntoIterator<Item = usize>) -> Buckets {
        Buckets(buckets.into_iter().filter(|&bucket| bucket < BUCKETS).fold(0, |set, bucket| set | 1 << bucket))
    }

    pub fn contains(self, bucket: usize) -> bool {
        bucket < BUCKETS && self.0 & 1 << bucket != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..BUCKETS).filter(move |&bucket| self.contains(bucket))
    }

    /// The buckets not in this set.
    pub fn rest(self) -> Buckets {
        Buckets(!self.0 & Buckets::ALL.0)
    }
}

impl std::ops::BitOr for Buckets {
    type Output = Buckets;

    fn bitor(self, other: Buckets) -> Buckets {
        Buckets(self.0 | other.0)
    }
}

impl fmt::Display for Buckets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed: Vec<String> = self.iter().map(|bucket| bucket.to_string()).collect();
        write!(f, "[{}]", listed.join(","))
    }
}

/// One gateway, as the store's workers list has it: unique for the life of its process.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(String);

impl WorkerId {
    pub fn new(id: impl Into<String>) -> WorkerId {
        WorkerId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The buckets that are `worker`'s share when `workers` are alive: bucket `b` goes to the `b`-th
/// of them in order, round and round, so the shares differ by one at most and every worker
/// computes the same split from the same list. None when the worker is not listed.
pub fn share_of(workers: &[WorkerId], worker: &WorkerId) -> Buckets {
    let mut sorted: Vec<&WorkerId> = workers.iter().collect();
    sorted.sort();
    sorted.dedup();
    let Some(place) = sorted.iter().position(|listed| *listed == worker) else { return Buckets::NONE };
    Buckets::of((0..BUCKETS).filter(|bucket| bucket % sorted.len() == place))
}

/// The workers list and the buckets' leases.
#[async_trait]
pub trait WorkShares: Send + Sync {
    /// Says `worker` is alive until `until`, and takes or keeps the leases of its share of the
    /// buckets until then, giving back those that are no longer its share. A bucket of its
    /// share still leased by another (which has not given it back yet) is not taken. Returns the
    /// buckets it holds until `until`.
    async fn share_work(&self, worker: &WorkerId, now: Timestamp, until: Timestamp) -> Result<Buckets, StoreError>;

    /// Gives back every bucket `worker` holds and takes it off the workers list: its share goes
    /// to the others at their next turn, not when its leases would have ended.
    async fn leave(&self, worker: &WorkerId) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(names: &[&str]) -> Vec<WorkerId> {
        names.iter().map(|name| WorkerId::new(*name)).collect()
    }

    #[test]
    fn the_shares_of_the_workers_alive_cover_every_bucket_once() {
        for count in 1..=BUCKETS + 2 {
            let names: Vec<String> = (0..count).map(|n| format!("gw-{n:02}")).collect();
            let listed: Vec<&str> = names.iter().map(String::as_str).collect();
            let alive = workers(&listed);
            let shares: Vec<Buckets> = alive.iter().map(|worker| share_of(&alive, worker)).collect();
            let covered = shares.iter().fold(0, |all, share| {
                assert_eq!(all & share.0, 0, "no bucket is in two shares");
                all | share.0
            });
            assert_eq!(Buckets(covered), Buckets::ALL, "{count} workers");
            let (least, most) = (shares.iter().map(|s| s.len()).min(), shares.iter().map(|s| s.len()).max());
            assert!(most.unwrap() - least.unwrap() <= 1, "{count} workers: {shares:?}");
        }
    }

    #[test]
    fn every_worker_computes_the_same_split_in_any_order() {
        let (a, b) = (workers(&["b", "a", "c"]), workers(&["c", "b", "a", "a"]));
        for worker in &a {
            assert_eq!(share_of(&a, worker), share_of(&b, worker));
        }
        assert_eq!(share_of(&a, &WorkerId::new("d")), Buckets::NONE);
        assert_eq!(share_of(&workers(&["a"]), &WorkerId::new("a")), Buckets::ALL);
    }

    #[test]
    fn a_set_of_buckets_lists_and_complements() {
        let set = Buckets::of([0, 3, 15, 16]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 3, 15]);
        assert_eq!(set.len(), 3);
        assert_eq!(set.rest().len(), BUCKETS - 3);
        assert!(!set.rest().contains(3));
        assert_eq!(set.to_string(), "[0,3,15]");
    }
}
