//! The channels' adapters, built from their records once and kept while the record stays the
//! same, and each channel's send rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::{Channel, ChannelKind, ChannelSetup, build};
use ratewire_core::{ChannelId, TenantId};

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

/// The send rate of each channel of each tenant: the `sends_per_second` setting, or the
/// platform's default for one sender. Two tenants' channels of the same id are two senders, each
/// with its own budget; a changed rate takes effect on the channel's next send.
#[derive(Default, Clone)]
pub struct SendRates {
    limiters: Arc<Mutex<HashMap<(TenantId, ChannelId), Limiter>>>,
}

/// A channel's limiter, with the rate it was made for.
struct Limiter {
    per_second: NonZeroU32,
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl SendRates {
    /// When the channel may send next: now (`None`) or later.
    pub(super) fn check(
        &self,
        tenant: &TenantId,
        channel: &ChannelRecord,
        adapter: &dyn Channel,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let per_second = channel
            .settings
            .get("sends_per_second")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(adapter.capabilities().default_sends_per_second);
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let key = (tenant.clone(), channel.id.clone());
            match limiters.get(&key) {
                Some(kept) if kept.per_second == per_second => kept.limiter.clone(),
                // First used, or the rate changed: a limiter for the rate as it is now.
                _ => {
                    let limiter = Arc::new(RateLimiter::direct(Quota::per_second(per_second)));
                    limiters.insert(key, Limiter { per_second, limiter: limiter.clone() });
                    limiter
                }
            }
        };
        let Err(not_until) = limiter.check() else { return None };
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        Some(now + SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(1)))
    }

    /// Drops a deleted channel's limiter: a channel connected again under its id starts afresh.
    pub fn forget(&self, tenant: &TenantId, channel: &ChannelId) {
        let mut limiters = self.limiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        limiters.remove(&(tenant.clone(), channel.clone()));
    }
}
