//! This gateway's share of the background work. The due surveys and the outbox's items are
//! spread over the store's buckets (see `ratewire_core::store::WorkShares`); each gateway holds
//! an equal share of them under a lease it renews every third of `delivery.share_secs`, sweeps
//! and polls only those, and gives them back when it stops. What it queues itself it sends at
//! once, from whichever buckets the items are in: a claim holds each item for one gateway.

use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{Buckets, OutboxItem, WorkerId};
use tokio::sync::Notify;

use super::{Flow, telemetry};

/// The buckets this gateway holds, until when.
#[derive(Debug, Default)]
pub struct Share {
    held: Mutex<(Buckets, Option<Timestamp>)>,
}

impl Share {
    /// The buckets held at `now`: none once the lease has ended unrenewed (the store was
    /// unreachable), since another gateway may hold them by then.
    pub fn at(&self, now: Timestamp) -> Buckets {
        match *self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            (buckets, Some(until)) if now < until => buckets,
            _ => Buckets::NONE,
        }
    }

    fn hold(&self, buckets: Buckets, until: Timestamp) {
        *self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = (buckets, Some(until));
    }
}

/// The buckets of the items this gateway queued since its outbox last looked, and the outbox's
/// wake-up.
#[derive(Debug, Default)]
pub struct Queued {
    buckets: Mutex<Buckets>,
    wake: Notify,
}

impl Queued {
    /// Notes items just written to the outbox, and wakes it.
    pub fn add(&self, flow: &Flow, items: &[OutboxItem]) {
        if items.is_empty() {
            return;
        }
        let buckets = Buckets::of(items.iter().map(|item| flow.store.bucket(item)));
        let mut queued = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *queued = *queued | buckets;
        self.wake.notify_one();
    }

    /// Waits until something is queued.
    pub async fn notified(&self) {
        self.wake.notified().await;
    }

    /// The buckets queued into since the last call.
    pub fn take(&self) -> Buckets {
        std::mem::take(&mut *self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// A new id for this process: its host, its process id and a random part (a restarted process
/// may have the same pid; so may two in-process gateways of a test).
pub fn new_worker_id() -> WorkerId {
    let host = std::env::var("HOSTNAME").ok().filter(|host| !host.is_empty()).unwrap_or_else(|| "gateway".to_owned());
    let random = &uuid::Uuid::new_v4().simple().to_string()[..8];
    WorkerId::new(format!("{host}-{}-{random}", std::process::id()))
}

/// How long a share is held unrenewed (`delivery.share_secs`).
fn share_lease(flow: &Flow) -> SignedDuration {
    SignedDuration::from_secs(flow.settings.delivery.share_secs as i64)
}

/// Takes and renews this gateway's share until the service stops.
pub async fn share_forever(flow: Flow) {
    let turn = share_lease(&flow).unsigned_abs() / 3;
    let mut interval = tokio::time::interval(turn.max(Duration::from_millis(100)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    telemetry::worker_started(&flow.worker);
    let mut last = None;
    loop {
        interval.tick().await;
        let now = Timestamp::now();
        let until = now + share_lease(&flow);
        match flow.store.share_work(&flow.worker, now, until).await {
            Ok(held) => {
                flow.share.hold(held, until);
                telemetry::share_held(&flow.worker, held, last.replace(held) != Some(held));
            }
            Err(error) => tracing::warn!(worker = %flow.worker, %error, "the share of the work could not be renewed"),
        }
    }
}

/// Gives this gateway's share back, for the others to take at their next turn.
pub async fn leave(flow: &Flow) {
    flow.share.hold(Buckets::NONE, Timestamp::now());
    match flow.store.leave(&flow.worker).await {
        Ok(()) => tracing::info!(worker = %flow.worker, "gave back this gateway's share of the work"),
        Err(error) => tracing::warn!(worker = %flow.worker, %error, "the share of the work runs out by itself"),
    }
}
