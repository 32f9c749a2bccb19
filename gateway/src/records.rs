//! The business's records as the gateway keeps them: survey configurations and channels.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ratewire_adapters::ChannelKind;
use ratewire_core::store::{RecordKind, RecordStore, Versioned, get_json};
use ratewire_core::{ChannelId, SurveyConfig, TenantId};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A named survey configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub id: String,
    pub name: String,
    pub config: SurveyConfig,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A connected channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    /// The configuration its surveys use.
    pub config: String,
    /// Credentials; never shown back in full.
    pub secrets: BTreeMap<String, String>,
    pub settings: BTreeMap<String, String>,
    /// What the platform must send back when verifying the webhook (Meta's `hub.verify_token`).
    pub verify_token: String,
    /// Signs widget visitor ids, so one visitor can't answer another's survey.
    pub visitor_secret: String,
    pub created_at: Timestamp,
}

/// A short random id with a prefix: `cfg_3f9a0c1b2d4e`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A random secret: 32 hex digits (122 random bits).
pub fn new_secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A secret as reads show it: its last four characters.
pub fn mask(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if secret.chars().count() <= 8 { "••••".to_owned() } else { format!("••••{tail}") }
}

pub async fn config(store: &dyn RecordStore, tenant: &TenantId, id: &str) -> Result<Versioned<ConfigRecord>, ApiError> {
    get_json(store, tenant, RecordKind::Config, id).await?.ok_or_else(|| ApiError::not_found("configuration", id))
}

pub async fn channel(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
) -> Result<Versioned<ChannelRecord>, ApiError> {
    get_json(store, tenant, RecordKind::Channel, id).await?.ok_or_else(|| ApiError::not_found("channel", id))
}

/// A channel and the configuration it uses.
pub async fn channel_with_config(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
) -> Result<(ChannelRecord, ConfigRecord), ApiError> {
    let channel = channel(store, tenant, id).await?.value;
    let config = config(store, tenant, &channel.config).await?.value;
    Ok((channel, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_tail_of_long_secrets() {
        assert_eq!(mask("EAAGm0PX4ZCpsBAKZAZD"), "••••ZAZD");
        assert_eq!(mask("short"), "••••");
        assert!(new_id("cfg").starts_with("cfg_") && new_id("cfg").len() == 16);
    }
}
