//! The survey workflow: what happens when an end user writes, an agent or a helpdesk asks for a
//! survey, a survey falls due, or a message or event is to go out. It decides with the core's
//! rules, keeps what it decides in the store, and hands messages to the channels through the
//! outbox; it knows nothing of HTTP, so the HTTP handlers, the background workers and tests all
//! drive it through one narrow handle, [`Flow`].
//!
//! The rooms: [`inbound`] takes what a platform delivered (once each), [`surveys`] decides what
//! it means and what must be said, [`outbox`] works the queue, sending messages through
//! [`send`] and event webhooks through [`events`]; [`records`] holds every stored record type,
//! [`contacts`] what is known of end users, [`channels`] the built adapters and their send rates,
//! [`prechat`] the questions asked when a conversation opens, [`live`] the pushes to open web widgets, [`expiry`] the surveys that fall due, [`understanding`]
//! a reply read on its own.

pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod error;
pub mod events;
pub mod expiry;
pub mod inbound;
pub mod listing;
pub mod live;
pub mod outbox;
pub mod prechat;
pub mod records;
pub mod send;
pub mod surveys;
pub mod telemetry;
pub mod understanding;
pub mod work;

use std::sync::Arc;

use ratewire_adapters::outbound::OutboundPolicy;
use ratewire_core::Catalog;
use ratewire_core::store::{Store, WorkerId};
use serde::{Deserialize, Serialize};

pub use self::error::FlowError;

/// What the workflow works with: the store, the catalog of texts, the channels' adapters, the
/// live pushes to widgets, this gateway's share of the background work, and its settings. Cheap
/// to clone: every part is shared.
#[derive(Clone)]
pub struct Flow {
    pub store: Arc<dyn Store>,
    pub catalog: &'static Catalog,
    pub settings: Arc<FlowSettings>,
    /// Each channel's adapter, built once per version of its record.
    pub adapters: channels::Adapters,
    /// Open web widgets, told when their survey changes.
    pub live: live::LivePushes,
    /// The send slots this gateway took for its channels and has not used yet.
    pub send_slots: channels::SendSlotsHeld,
    /// This gateway, as the store's workers list has it.
    pub worker: WorkerId,
    /// The buckets of background work this gateway holds.
    pub share: Arc<work::Share>,
    /// What this gateway queued, which its outbox sends at once rather than at its next poll.
    pub queued: Arc<work::Queued>,
}

impl Flow {
    /// The background work: this gateway's share of it, the other gateways' pushes to its open
    /// widgets, expiring surveys, and the outbox (event webhooks, channel messages).
    pub fn spawn_workers(&self) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(work::share_forever(self.clone())),
            tokio::spawn(live::relay_forever(self.clone())),
            tokio::spawn(expiry::sweep_forever(self.clone())),
            tokio::spawn(outbox::run_forever(self.clone())),
        ]
    }

    pub fn new(store: Arc<dyn Store>, settings: FlowSettings) -> Self {
        let worker = work::new_worker_id();
        Flow {
            live: live::LivePushes::new(store.clone(), worker.clone()),
            worker,
            store,
            catalog: Catalog::shipped(),
            settings: Arc::new(settings),
            adapters: Default::default(),
            send_slots: Default::default(),
            share: Default::default(),
            queued: Default::default(),
        }
    }
}

/// The settings the workflow reads.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// How channels and browsers reach the service: the base of webhook URLs and page links.
    pub public_url: String,
    /// Where ratewire may connect on tenants' behalf.
    pub outbound: OutboundPolicy,
    pub webhooks: WebhookSettings,
    pub delivery: DeliverySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// How long one delivery attempt may take, in seconds.
    pub timeout_secs: u64,
    /// Attempts before a delivery is given up and logged. Retries back off from 10 s to at most
    /// an hour, so the default 80 keeps trying for about three days.
    pub max_attempts: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { timeout_secs: 10, max_attempts: 80 }
    }
}

/// How messages are taken in from platforms and sent out to them exactly once, as far as each
/// platform allows (see docs/delivery.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// How long a platform's message is held by the gateway handling it, in seconds: its
    /// redeliveries meanwhile are answered 503 (retry later). A handling that never finishes
    /// (the gateway died, the store went away) lets go of it when this runs out.
    pub claim_secs: u64,
    /// How long an outbox worker holds a message it is sending, in seconds; a worker that dies
    /// mid-send leaves the message to another when this runs out. Longer than any send takes.
    pub lease_secs: u64,
    /// After a worker died mid-send, how long to wait for the platform's word on the message
    /// (WhatsApp's status webhook, Messenger's echo) before sending it again, in seconds.
    pub reconcile_secs: u64,
    /// How long a gateway holds its share of the background work (see [`work`]) without renewing
    /// it, in seconds: a gateway that died leaves its share to the others when this runs out.
    /// Renewed every third of it.
    pub share_secs: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self { claim_secs: 60, lease_secs: outbox::DEFAULT_LEASE.as_secs() as u64, reconcile_secs: 300, share_secs: 15 }
    }
}
