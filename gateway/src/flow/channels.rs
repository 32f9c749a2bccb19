//! The channels' adapters, built from their records once and kept while the record stays the
//! same, and each channel's send rate.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::SignedDuration;

use ratewire_adapters::{Channel, ChannelKind, ChannelSetup, build};
use ratewire_core::store::{SendLane, SendSlots, Store, StoreError, send_interval};
use ratewire_core::{ChannelId, RecipientId, TenantId};

use super::Flow;
use super::records::ChannelRecord;

/// The channel's adapter, built from its record once and kept while the record stays the
/// same: an email channel's SMTP connections are pooled in it.
pub fn adapter(flow: &Flow, tenant: &TenantId, channel: &ChannelRecord) -> Result<Arc<dyn Channel>, String> {
    let setup = ChannelSetup {
        secrets: channel.secrets.clone(),
        settings: channel.settings.clone(),
        webhook_url: format!("{}/hooks/{tenant}/{}", flow.settings.public_url, channel.id),
        pages_url: pages_url(&flow.settings.public_url, tenant, &channel.id),
        verify_token: channel.verify_token.clone(),
        outbound: flow.settings.outbound.clone(),
    };
    flow.adapters.get_or_build(tenant, channel, setup)
}

/// Where a channel's pages are (served by `http::email_pages`): `<base>/email/<tenant>/<channel>`.
pub fn pages_url(base: &str, tenant: &TenantId, channel: &ChannelId) -> String {
    format!("{base}/email/{tenant}/{channel}")
}

/// The adapters built so far, one per channel, each with the setup it was built from.
#[derive(Default, Clone)]
pub struct Adapters {
    built: Arc<Mutex<HashMap<(TenantId, ChannelId), Built>>>,
}

struct Built {
    kind: ChannelKind,
    setup: ChannelSetup,
    adapter: Arc<dyn Channel>,
}

impl Adapters {
    fn get_or_build(
        &self,
        tenant: &TenantId,
        channel: &ChannelRecord,
        setup: ChannelSetup,
    ) -> Result<Arc<dyn Channel>, String> {
        let key = (tenant.clone(), channel.id.clone());
        let mut built = self.built.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = built.get(&key).filter(|b| b.kind == channel.kind && b.setup == setup) {
            return Ok(cached.adapter.clone());
        }
        // A channel connected anew, or first used: what was built for an older record goes.
        let adapter = build(channel.kind, &setup).map_err(|e| e.to_string())?;
        built.insert(key, Built { kind: channel.kind, setup, adapter: adapter.clone() });
        Ok(adapter)
    }

    /// Drops a deleted channel's adapter.
    pub fn forget(&self, tenant: &TenantId, channel: &ChannelId) {
        let mut built = self.built.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        built.remove(&(tenant.clone(), channel.clone()));
    }
}

/// How many messages a second a channel may send: its `sends_per_second` setting, or the
/// platform's default for one sender. The store holds every gateway's sends of a channel to it
/// (see `ratewire_core::store::Pacing`); two tenants' channels of the same id are two senders,
/// each with its own budget, and a changed rate applies from the channel's next send.
pub fn sends_per_second(channel: &ChannelRecord, adapter: &dyn Channel) -> NonZeroU32 {
    let per_second = channel
        .settings
        .get("sends_per_second")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(adapter.capabilities().default_sends_per_second);
    NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN)
}

/// How one send is paced: by its channel's rate, and by the platform's least time between two
/// messages to one recipient where it has one.
pub struct SendPace<'a> {
    pub channel: &'a ChannelId,
    pub per_second: NonZeroU32,
    pub recipient: Option<(&'a RecipientId, SignedDuration)>,
}

/// The pace of a send to `recipient` on `channel`.
pub fn pace<'a>(channel: &'a ChannelRecord, adapter: &dyn Channel, recipient: &'a RecipientId) -> SendPace<'a> {
    SendPace {
        channel: &channel.id,
        per_second: sends_per_second(channel, adapter),
        recipient: adapter.capabilities().recipient_send_interval.map(|interval| (recipient, interval)),
    }
}

/// The send slots this gateway took from the store for each channel and has not used yet. A busy
/// channel takes its slots a few at a time (about 50 ms of its rate, at most 64), so a send costs
/// the store a round trip only now and then; each slot is this gateway's alone, so sending in it
/// can't exceed the rate. A slot left unused goes to waste once it is an interval old: sent
/// later, it would crowd the next one.
#[derive(Default, Clone)]
pub struct SendSlotsHeld {
    held: Arc<Mutex<HashMap<(TenantId, ChannelId), Held>>>,
}

/// A channel's slots in hand, taken at one rate.
struct Held {
    per_second: NonZeroU32,
    slots: VecDeque<Instant>,
}

/// When a send may go.
pub enum SendAt {
    /// In a slot of its own, after waiting this long (zero: now).
    After(Duration),
    /// Not in this round: the channel's next free slot is this far off.
    NoneBefore(SignedDuration),
}

impl SendSlotsHeld {
    /// A slot for one send paced by `pace`, within `horizon`: the channel's, then the
    /// recipient's, if the platform limits what one end user is sent. (A recipient's slot is
    /// taken one at a time and never held: a recipient gets a message now and then. A channel
    /// slot taken for a send whose recipient must wait goes to waste, costing the channel one
    /// send of its second, not a send over its rate.)
    pub async fn take(
        &self,
        store: &dyn Store,
        tenant: &TenantId,
        pace: &SendPace<'_>,
        horizon: SignedDuration,
    ) -> Result<SendAt, StoreError> {
        let on_channel = self.channel_slot(store, tenant, pace.channel, pace.per_second, horizon).await?;
        let (SendAt::After(wait), Some((recipient, interval))) = (&on_channel, pace.recipient) else {
            return Ok(on_channel);
        };
        let lane = SendLane::Recipient(pace.channel, recipient);
        Ok(match store.take_send_slots(tenant, lane, interval, 1, horizon).await? {
            SendSlots::Taken { first, .. } => SendAt::After((*wait).max(first.unsigned_abs())),
            SendSlots::NoneBefore(wait) => SendAt::NoneBefore(wait),
        })
    }

    /// A slot of `tenant`'s `channel` at `per_second`, within `horizon`.
    async fn channel_slot(
        &self,
        store: &dyn Store,
        tenant: &TenantId,
        channel: &ChannelId,
        per_second: NonZeroU32,
        horizon: SignedDuration,
    ) -> Result<SendAt, StoreError> {
        let key = (tenant.clone(), channel.clone());
        let interval = send_interval(per_second);
        if let Some(slot) = self.next_held(&key, per_second, interval.unsigned_abs()) {
            return Ok(SendAt::After(slot.saturating_duration_since(Instant::now())));
        }
        let wanted = (per_second.get() / 20).clamp(1, 64);
        match store.take_send_slots(tenant, SendLane::Channel(channel), interval, wanted, horizon).await? {
            SendSlots::NoneBefore(wait) => Ok(SendAt::NoneBefore(wait)),
            SendSlots::Taken { first, interval, count } => {
                let first_at = Instant::now() + first.unsigned_abs();
                let rest = (1..count).map(|n| first_at + interval.unsigned_abs() * n);
                let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let kept = held.entry(key).or_insert_with(|| Held { per_second, slots: VecDeque::new() });
                if kept.per_second == per_second {
                    kept.slots.extend(rest);
                }
                Ok(SendAt::After(first.unsigned_abs()))
            }
        }
    }

    /// The next slot in hand for `key` at `per_second`, dropping those gone to waste and those
    /// of another rate.
    fn next_held(&self, key: &(TenantId, ChannelId), per_second: NonZeroU32, interval: Duration) -> Option<Instant> {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = held.get_mut(key)?;
        if kept.per_second != per_second {
            held.remove(key);
            return None;
        }
        let now = Instant::now();
        while kept.slots.front().is_some_and(|slot| *slot + interval < now) {
            kept.slots.pop_front();
        }
        kept.slots.pop_front()
    }
}
