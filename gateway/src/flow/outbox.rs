//! The outbox worker: posts event webhooks and sends channel messages, each item once, with
//! retries. Items are claimed under a lease, so a gateway that dies mid-item leaves it to be
//! taken again when the lease ends; nothing is lost.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{Buckets, OutboxItem, StoreError, Task};
use tokio::task::JoinSet;

use super::{Flow, events, prechat, send, telemetry};

/// What became of one attempt at an item.
#[derive(Debug)]
pub enum Attempt {
    Done,
    /// Try again later: after the backoff, and not before `not_before` when the other side said
    /// when (a platform's `retry_after`).
    Retry {
        reason: String,
        not_before: Option<Timestamp>,
    },
    /// It can never succeed; stop trying.
    GiveUp {
        reason: String,
    },
    /// Not attempted: the channel's own send rate is used up. Try at `at`, not counted as an
    /// attempt.
    Wait {
        at: Timestamp,
    },
}

/// How long a worker holds a claimed item before another may take it, unless
/// `delivery.lease_secs` says otherwise.
pub const DEFAULT_LEASE: SignedDuration = SignedDuration::from_secs(60);

/// How long a worker may hold a claimed item before another may take it (`delivery.lease_secs`).
pub fn lease(flow: &Flow) -> SignedDuration {
    SignedDuration::from_secs(flow.settings.delivery.lease_secs as i64)
}
/// Items taken in one round, all worked at once: each waits mostly on a platform or a receiver,
/// so one at a time would bound the outbox by their latency (at 50 ms a post, 20 a second). No
/// more are taken than are worked at once, so none waits for a free worker while its lease runs.
/// A round lasts as long as its slowest lane, so its size bounds the outbox: with 32, the load
/// generator's replies fell behind at 712 ratings a second with the gateway using 0.75 of a
/// core; with 128 they kept up to 1 012, the machine's cores then being what was short.
const BATCH: usize = 128;
/// How often an outbox looks for due items when this gateway queued nothing (retries fall due,
/// other gateways queue work).
const POLL: Duration = Duration::from_millis(250);
/// How long an outbox woken by work this gateway queued waits for more before it looks: a
/// round costs a read of each bucket queued into whatever it finds, so rounds of a few items
/// each would double the work a rating costs.
const GATHER: Duration = Duration::from_millis(5);

/// Runs the outbox until the service stops.
pub async fn run_forever(flow: Flow) {
    let http = match http_client(&flow) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client: the outbox waits");
            return;
        }
    };
    let mut interval = tokio::time::interval(POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // What this gateway queues goes at once, from the buckets it went into: rounds follow
        // each other while work comes in, each taking what was queued during the last. A poll
        // reads the buckets of this gateway's share.
        let polled = tokio::select! {
            _ = interval.tick() => true,
            _ = flow.queued.notified() => {
                tokio::time::sleep(GATHER).await;
                false
            }
        };
        let mut buckets = Buckets::NONE;
        // A full round means more may be due: go on at once rather than at the next tick.
        loop {
            let now = Timestamp::now();
            buckets = buckets | flow.queued.take() | if polled { flow.share.at(now) } else { Buckets::NONE };
            match run_due(&flow, &http, now, buckets).await {
                Ok(worked) if worked == BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "the outbox is paused: the store is unavailable");
                    break;
                }
            }
        }
    }
}

/// The client event webhooks are posted with: through the outbound policy (no redirects, no
/// inward addresses), a timeout per attempt.
pub fn http_client(flow: &Flow) -> reqwest::Result<reqwest::Client> {
    let timeout = Duration::from_secs(flow.settings.webhooks.timeout_secs);
    flow.settings.outbound.client("webhooks", |builder| builder.timeout(timeout))
}

/// Works the items of `buckets` due at `now`, once each, several at a time; returns how many it
/// claimed.
///
/// A survey's messages to its end user go out one after the other, in the order they were
/// due (a thank-you before the comment prompt); everything else goes at once.
pub async fn run_due(
    flow: &Flow,
    http: &reqwest::Client,
    now: Timestamp,
    buckets: Buckets,
) -> Result<usize, StoreError> {
    let items = flow.store.claim_due(now, now + lease(flow), buckets, BATCH).await?;
    let claimed = items.len();
    let mut lanes: Vec<Vec<OutboxItem>> = Vec::new();
    let mut lane_of = HashMap::new();
    for item in items {
        // A survey's messages go in order, and so do an end user's pre-chat messages.
        let ordered = match &item.task {
            Task::Send { survey, .. } => Some(survey.to_string()),
            Task::Prompt { channel, recipient, .. } => Some(format!("{channel}/{recipient}")),
            Task::Webhook { .. } | Task::PrechatDue { .. } => None,
        };
        match ordered {
            Some(key) => {
                let lane = *lane_of.entry(key).or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                });
                lanes[lane].push(item);
            }
            None => lanes.push(vec![item]),
        }
    }
    let mut running = JoinSet::new();
    let mut outcome = Ok(());
    for lane in lanes {
        let (flow, http) = (flow.clone(), http.clone());
        running.spawn(async move {
            let mut held_until = None;
            for mut item in lane {
                match held_until {
                    // One message held back holds back those behind it, so they keep their
                    // order (a platform's retry time comes with jitter): not an attempt.
                    Some(after) => {
                        item.due = after + SignedDuration::from_millis(1);
                        flow.store.reschedule(&item).await?;
                        held_until = Some(item.due);
                    }
                    None => held_until = work(&flow, &http, item, now).await?,
                }
            }
            Ok(())
        });
    }
    while let Some(done) = running.join_next().await {
        keep_first_error(&mut outcome, done);
    }
    outcome.map(|()| claimed)
}

/// A failed item stays claimed until its lease ends, then is tried again: the others go on.
fn keep_first_error(
    outcome: &mut Result<(), StoreError>,
    done: Result<Result<(), StoreError>, tokio::task::JoinError>,
) {
    match done {
        Ok(Err(error)) if outcome.is_ok() => *outcome = Err(error),
        Ok(_) => {}
        // A lane that panicked is a defect, not the store: its items stay claimed until their
        // lease ends, and the others' outcome stands.
        Err(error) => tracing::error!(%error, "an outbox lane failed"),
    }
}

/// Attempts one item and records what came of it: when it is due again, if it is to be tried again.
async fn work(
    flow: &Flow,
    http: &reqwest::Client,
    mut item: OutboxItem,
    now: Timestamp,
) -> Result<Option<Timestamp>, StoreError> {
    let attempt = match item.task.clone() {
        Task::Webhook { endpoint, body, .. } => {
            events::post_event(flow.store.as_ref(), &flow.settings.outbound, http, &item, &endpoint, &body).await?
        }
        Task::Send { channel, survey, message } => {
            send::send_message(flow, &mut item, &channel, &survey, message, now).await?
        }
        Task::Prompt { channel, recipient, prompt } => {
            send::send_prompt(flow, &item, &channel, &recipient, &prompt, now).await?
        }
        Task::PrechatDue { channel, recipient, started_at } => {
            prechat::check_abandoned(flow, &item.tenant, &channel, &recipient, started_at, now).await?
        }
    };
    // Judged from when the attempt ended, not from when the round began: a round can be long.
    settle(flow, item, attempt, Timestamp::now()).await
}

fn kind(item: &OutboxItem) -> &'static str {
    match item.task {
        Task::Webhook { .. } => "webhook",
        Task::Send { .. } | Task::Prompt { .. } => "send",
        Task::PrechatDue { .. } => "prechat_due",
    }
}

/// Records what came of an attempt; returns when the item is due again, if it is.
async fn settle(
    flow: &Flow,
    mut item: OutboxItem,
    attempt: Attempt,
    now: Timestamp,
) -> Result<Option<Timestamp>, StoreError> {
    let store = flow.store.as_ref();
    let task = kind(&item);
    match attempt {
        Attempt::Done => {
            telemetry::outbox(task, "done");
            store.complete(&item).await.map(|()| None)
        }
        Attempt::Wait { at } => {
            item.due = at;
            store.reschedule(&item).await.map(|()| Some(at))
        }
        Attempt::GiveUp { reason } => give_up(flow, item, reason, now).await.map(|()| None),
        Attempt::Retry { reason, not_before } => {
            item.attempts += 1;
            if item.attempts >= flow.settings.webhooks.max_attempts {
                let reason = format!("{reason} (after {} attempts)", item.attempts);
                return give_up(flow, item, reason, now).await.map(|()| None);
            }
            telemetry::outbox(task, "retry");
            let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
            // The other side's word on when wins over the backoff, with a little jitter.
            item.due = match not_before {
                Some(at) => at + SignedDuration::from_secs_f64(jitter),
                None => now + backoff(item.attempts, jitter),
            };
            tracing::info!(item = %item.id, task, attempts = item.attempts, %reason, "will retry");
            item.last_error = Some(reason);
            store.reschedule(&item).await.map(|()| Some(item.due))
        }
    }
}

async fn give_up(flow: &Flow, item: OutboxItem, reason: String, now: Timestamp) -> Result<(), StoreError> {
    let task = kind(&item);
    tracing::error!(item = %item.id, task, %reason, "giving up");
    telemetry::outbox(task, "given_up");
    if let Task::Send { survey, message, .. } = &item.task {
        send::gave_up(flow, &item.tenant, survey, *message, &reason, now).await;
    }
    flow.store.complete(&item).await
}

/// When to try again after `attempts` failed attempts: 10 s, doubling, at most an hour, with
/// up to 20% jitter so a crowd of retries doesn't arrive at once.
pub fn backoff(attempts: u32, jitter: f64) -> SignedDuration {
    let base = 10.0 * 2f64.powi(attempts.saturating_sub(1).min(16) as i32);
    let capped = base.min(3600.0);
    SignedDuration::from_secs_f64(capped * (1.0 + 0.2 * jitter.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1, 0.0), SignedDuration::from_secs(10));
        assert_eq!(backoff(2, 0.0), SignedDuration::from_secs(20));
        assert_eq!(backoff(20, 0.0), SignedDuration::from_secs(3600));
        assert_eq!(backoff(1, 1.0), SignedDuration::from_secs(12));
    }
}
