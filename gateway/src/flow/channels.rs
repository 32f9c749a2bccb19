//! The channels' adapters, built from their records once and kept while the record stays the
//! same, and each channel's send rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

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
