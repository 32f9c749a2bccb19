//! Every record the gateway keeps in the store, each typed by its kind ([`Record::KIND`]), so a
//! record is read only as what it is: the business's configurations, channels, conversations and
//! webhook endpoints; what is known of end users (contacts, unsubscribes); the messages sent;
//! and the dashboard's sessions ended.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use ratewire_adapters::ChannelKind;
use ratewire_core::conversation::Conversation;
use ratewire_core::questionnaire::{AnswerValue, PrechatConfig, Run};
use ratewire_core::store::{self, OutboundMessage, Record, RecordKind, RecordStore, Store, Versioned};
use ratewire_core::{ChannelId, ConversationId, Locale, Notice, QuestionId, Survey, SurveyConfig, SurveyId, TenantId};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::FlowError;

/// A named survey configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub id: String,
    pub name: String,
    pub config: SurveyConfig,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for ConfigRecord {
    const KIND: RecordKind = RecordKind::Config;
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

impl Record for ChannelRecord {
    const KIND: RecordKind = RecordKind::Channel;
}

/// A conversation as kept: the core's record and the end user's languages.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationRecord {
    pub conversation: Conversation,
    /// The end user's language tags, most preferred first.
    #[serde(default)]
    pub languages: Vec<String>,
}

impl Record for ConversationRecord {
    const KIND: RecordKind = RecordKind::Conversation;
}

/// A business's webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub id: String,
    pub url: String,
    /// Signs every post; shown in full only when the endpoint is created.
    pub secret: String,
    /// The events it wants; empty for all.
    #[serde(default)]
    pub events: Vec<Notice>,
    pub created_at: Timestamp,
}

impl Record for EndpointRecord {
    const KIND: RecordKind = RecordKind::Endpoint;
}

/// What ratewire knows of an end user on a channel.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Contact {
    /// When they last wrote: messaging windows are counted from it. Kept apart since 2026-12
    /// (the store's `LastWritten`, noted without reading this record); a record written before
    /// holds it here, and the later of the two counts.
    pub last_inbound_at: Option<Timestamp>,
    /// Their language, as the platform last gave it (Telegram's `language_code`), or their
    /// browser's languages, comma-separated (the web widget's visitor).
    #[serde(default)]
    pub language: Option<String>,
    /// When an automatic invitation last went to them, for a configuration's
    /// `auto_invite.cooldown_days` (noted only while one is set).
    #[serde(default)]
    pub last_asked_at: Option<Timestamp>,
    /// What they answered in pre-chats, by question id: later pre-chats don't ask it again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<QuestionId, AnswerValue>,
}

impl Record for Contact {
    const KIND: RecordKind = RecordKind::Contact;
}

/// An end user's pre-chat on a channel, by `<channel>/<recipient>`: the latest, under way or
/// finished.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrechatRecord {
    /// The conversation whose opening started it.
    pub conversation: ConversationId,
    pub locale: Locale,
    /// The pre-chat as configured when it started: editing the configuration never changes one
    /// under way.
    pub prechat: PrechatConfig,
    pub run: Run,
    /// When it is given up if no answer comes by then.
    pub abandon_at: Timestamp,
    /// What the end user wrote meanwhile that was not an answer: passed on with its event.
    #[serde(default)]
    pub messages: Vec<Written>,
    /// The platform's ids of the messages it took (the latest few), so a redelivery is not read
    /// as a second answer.
    #[serde(default)]
    pub taken: Vec<String>,
}

/// A message an end user wrote.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Written {
    pub text: String,
    pub at: Timestamp,
}

impl Record for PrechatRecord {
    const KIND: RecordKind = RecordKind::Prechat;
}

/// An address whose owner asked for no more rating requests from the business (email's
/// unsubscribe link), on any of its email channels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unsubscribed {
    /// When they asked.
    pub at: Timestamp,
    /// The channel whose link they used.
    pub channel: ChannelId,
}

impl Record for Unsubscribed {
    const KIND: RecordKind = RecordKind::Unsubscribe;
}

/// A message ratewire sent, by the platform's id: the survey it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentMessage {
    pub survey: SurveyId,
    pub channel: ChannelId,
    /// Which of the survey's messages it was; absent from records written before it was kept
    /// (taken then for the invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<OutboundMessage>,
    /// How it went out, where the channel has more than one way (Messenger's `RESPONSE` or
    /// `MESSAGE_TAG:HUMAN_AGENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

impl Record for SentMessage {
    const KIND: RecordKind = RecordKind::Message;
}

/// When a tenant last ended all its dashboard sessions: those that started then or earlier.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionsEnded {
    pub at: Timestamp,
}

impl Record for SessionsEnded {
    const KIND: RecordKind = RecordKind::DashboardSessions;
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

pub async fn config(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
) -> Result<Versioned<ConfigRecord>, FlowError> {
    store::read(store, tenant, id).await?.ok_or_else(|| FlowError::not_found("configuration", id))
}

pub async fn channel(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &str,
) -> Result<Versioned<ChannelRecord>, FlowError> {
    store::read(store, tenant, id).await?.ok_or_else(|| FlowError::not_found("channel", id))
}

/// A channel and the configuration its surveys use, each read at most once while one message or
/// request is handled: every step that needs them asks here, and a caller that already read the
/// channel hands it in.
pub struct ChannelInUse {
    store: Arc<dyn Store>,
    tenant: TenantId,
    id: ChannelId,
    record: OnceCell<ChannelRecord>,
    config: OnceCell<ConfigRecord>,
}

impl ChannelInUse {
    /// A channel not read yet.
    pub fn of(store: &Arc<dyn Store>, tenant: &TenantId, id: &ChannelId) -> Self {
        ChannelInUse {
            store: store.clone(),
            tenant: tenant.clone(),
            id: id.clone(),
            record: OnceCell::new(),
            config: OnceCell::new(),
        }
    }

    /// The channel of a survey.
    pub fn of_survey(store: &Arc<dyn Store>, survey: &Survey) -> Self {
        Self::of(store, &survey.invitation.tenant, &survey.invitation.channel)
    }

    /// A channel the caller has read.
    pub fn read(store: &Arc<dyn Store>, tenant: &TenantId, record: ChannelRecord) -> Self {
        let channel = Self::of(store, tenant, &record.id);
        let _ = channel.record.set(record);
        channel
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub fn id(&self) -> &ChannelId {
        &self.id
    }

    pub async fn record(&self) -> Result<&ChannelRecord, FlowError> {
        self.record
            .get_or_try_init(|| async { Ok(channel(&*self.store, &self.tenant, self.id.as_str()).await?.value) })
            .await
    }

    pub async fn config(&self) -> Result<&ConfigRecord, FlowError> {
        let record = self.record().await?;
        self.config
            .get_or_try_init(|| async { Ok(config(&*self.store, &self.tenant, &record.config).await?.value) })
            .await
    }
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
