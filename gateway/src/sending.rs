//! Messages to end users on messaging channels: rendered by the channel's adapter when they go
//! out of the outbox, sent under the channel's rate, and recorded on the survey.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::{
    Channel, ChannelKind, ChannelSetup, Content, Outbound, SendContext, SendError, WebhookBody, build, plan_invitation,
};
use ratewire_core::store::{
    ApplyError, OutboundMessage, OutboxItem, RecordKind, StoreError, Task, get_json, list_json, put_json,
};
use ratewire_core::{
    ChannelId, Event, FailureReason, RecipientId, Reply, Survey, SurveyId, SurveyState, TenantId, Texts,
};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiError;
use crate::outbox::Attempt;
use crate::records::{self, ChannelRecord};
use crate::service;

/// What ratewire knows of an end user on a channel.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Contact {
    /// When they last wrote: messaging windows are counted from it.
    pub last_inbound_at: Option<Timestamp>,
    /// Their language, as the platform last gave it (Telegram's `language_code`), or their
    /// browser's languages, comma-separated (the web widget's visitor).
    #[serde(default)]
    pub language: Option<String>,
}

/// The contact record's id.
fn contact_id(channel: &ChannelId, recipient: &RecipientId) -> String {
    format!("{channel}/{recipient}")
}

/// Notes that an end user wrote, for the channel's window rules.
pub async fn note_inbound(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    at: Timestamp,
    language: Option<String>,
) -> Result<(), StoreError> {
    update_contact(state, tenant, channel, recipient, |contact| {
        let newer = contact.last_inbound_at.is_none_or(|last| at > last);
        let new_language = language.is_some() && language != contact.language;
        if newer {
            contact.last_inbound_at = Some(at);
        }
        if new_language {
            contact.language = language.clone();
        }
        newer || new_language
    })
    .await
}

/// Notes the end user's languages as their browser gives them (the web widget's visitor), for
/// invitations the helpdesk sends without a language.
pub async fn note_language(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    language: String,
) -> Result<(), StoreError> {
    update_contact(state, tenant, channel, recipient, |contact| {
        let changed = contact.language.as_ref() != Some(&language);
        contact.language = Some(language.clone());
        changed
    })
    .await
}

/// Changes a contact record with `change`, which says whether it changed anything; retried when
/// another writer got there first.
async fn update_contact(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    mut change: impl FnMut(&mut Contact) -> bool,
) -> Result<(), StoreError> {
    let id = contact_id(channel, recipient);
    for _ in 0..8 {
        let stored = get_json::<Contact>(&*state.store, tenant, RecordKind::Contact, &id).await?;
        let (expected, mut contact) = stored.map_or((None, Contact::default()), |s| (Some(s.revision), s.value));
        if !change(&mut contact) {
            return Ok(());
        }
        match put_json(&*state.store, tenant, RecordKind::Contact, &id, expected, &contact).await {
            Err(StoreError::RecordConflict { .. }) => continue,
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

/// What ratewire knows of an end user on a channel, if anything.
pub async fn contact(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
) -> Result<Option<Contact>, StoreError> {
    let id = contact_id(channel, recipient);
    Ok(get_json::<Contact>(&*state.store, tenant, RecordKind::Contact, &id).await?.map(|c| c.value))
}

/// An end user's id as a channel keeps it (email addresses in one form), so inviting, replying
/// and unsubscribing all name the same person.
pub fn canonical_recipient(kind: ChannelKind, recipient: RecipientId) -> RecipientId {
    kind.definition().canonical_recipient(recipient)
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

/// Records that an address wants no more rating requests, and cancels the surveys still
/// waiting for its rating, so no reminder or queued invitation reaches it. A second time
/// changes nothing.
pub async fn unsubscribe(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    address: &RecipientId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    let record = Unsubscribed { at: now, channel: channel.clone() };
    match put_json(&*state.store, tenant, RecordKind::Unsubscribe, address.as_str(), None, &record).await {
        Ok(_) | Err(StoreError::RecordConflict { .. }) => {}
        Err(error) => return Err(error),
    }
    for (_, email) in list_json::<ChannelRecord>(&*state.store, tenant, RecordKind::Channel).await? {
        if !email.value.kind.definition().honours_unsubscribes {
            continue;
        }
        let Some(survey) = state.store.latest_for_recipient(tenant, &email.value.id, &address).await? else {
            continue;
        };
        if matches!(survey.state, SurveyState::Pending { .. }) {
            cancel(state, tenant, &survey.id, now).await;
        }
    }
    Ok(())
}

/// Whether an address asked for no more rating requests.
pub async fn is_unsubscribed(state: &AppState, tenant: &TenantId, address: &RecipientId) -> Result<bool, StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    Ok(state.store.get_record(tenant, RecordKind::Unsubscribe, address.as_str()).await?.is_some())
}

/// Every unsubscribed address of a tenant, by address.
pub async fn unsubscribed(state: &AppState, tenant: &TenantId) -> Result<Vec<(String, Unsubscribed)>, StoreError> {
    let records = list_json::<Unsubscribed>(&*state.store, tenant, RecordKind::Unsubscribe).await?;
    Ok(records.into_iter().map(|(address, record)| (address, record.value)).collect())
}

/// Takes an unsubscribe back: the address may be invited again. False if it wasn't unsubscribed.
pub async fn resubscribe(state: &AppState, tenant: &TenantId, address: &RecipientId) -> Result<bool, StoreError> {
    let address = canonical_recipient(ChannelKind::Email, address.clone());
    state.store.delete_record(tenant, RecordKind::Unsubscribe, address.as_str()).await
}

async fn cancel(state: &AppState, tenant: &TenantId, survey: &SurveyId, now: Timestamp) {
    match service::apply(state, tenant, survey, Event::Cancel, now).await {
        // Answered or ended meanwhile: nothing to cancel.
        Ok(_) | Err(ApplyError::Refused(_)) => {}
        Err(error) => tracing::warn!(%survey, %error, "could not cancel the survey of an unsubscribed address"),
    }
}

/// A message ratewire sent, by the platform's id: the survey it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentMessage {
    pub survey: SurveyId,
    pub channel: ChannelId,
    /// How it went out, where the channel has more than one way (Messenger's `RESPONSE` or
    /// `MESSAGE_TAG:HUMAN_AGENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

/// Records which survey a message the platform took belongs to, for its later statuses. The
/// first record of a message id stands.
pub async fn record_sent(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    message_id: &str,
    survey: &SurveyId,
    route: Option<String>,
) -> Result<(), StoreError> {
    let record = SentMessage { survey: survey.clone(), channel: channel.clone(), route };
    let id = format!("{channel}/{message_id}");
    match put_json(&*state.store, tenant, RecordKind::Message, &id, None, &record).await {
        Ok(_) | Err(StoreError::RecordConflict { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The survey a platform message id belongs to.
pub async fn survey_of_message(
    state: &AppState,
    tenant: &TenantId,
    channel: &ChannelId,
    message_id: &str,
) -> Result<Option<SurveyId>, StoreError> {
    let id = format!("{channel}/{message_id}");
    Ok(get_json::<SentMessage>(&*state.store, tenant, RecordKind::Message, &id).await?.map(|m| m.value.survey))
}

/// The outbox id of a survey's invitation. It is also the reference its send carries, which the
/// platforms that report sends back echo ([`invitation_of_reference`]).
fn invitation_item_id(survey: &SurveyId) -> String {
    format!("send_{survey}_invitation")
}

/// The survey whose invitation a platform's echoed reference names, if it names one.
pub fn invitation_of_reference(reference: &str) -> Option<SurveyId> {
    SurveyId::new(reference.strip_prefix("send_")?.strip_suffix("_invitation")?).ok()
}

/// Puts a survey's message into the outbox, once: a second enqueue of the same message of the
/// same survey revision changes nothing.
///
/// `position` is the message's place among those one step of the survey sends: ids sort in the
/// order the messages are to go, so every store claims them in that order, even within one
/// millisecond.
pub async fn enqueue(
    state: &AppState,
    survey: &Survey,
    message: OutboundMessage,
    position: usize,
    now: Timestamp,
) -> Result<(), StoreError> {
    let id = match message {
        OutboundMessage::Invitation => invitation_item_id(&survey.id),
        OutboundMessage::Reply(reply) => {
            format!("send_{}_{:010}.{position}-{reply:?}", survey.id, survey.revision).to_lowercase()
        }
    };
    let item = OutboxItem {
        id,
        tenant: survey.invitation.tenant.clone(),
        task: Task::Send { channel: survey.invitation.channel.clone(), survey: survey.id.clone(), message },
        attempts: 0,
        due: now,
        last_error: None,
        attempt_started_at: None,
    };
    state.store.enqueue(&item).await
}

/// The channel's adapter, built from its record once and kept while the record stays the
/// same: an email channel's SMTP connections are pooled in it.
pub fn adapter(state: &AppState, tenant: &TenantId, channel: &ChannelRecord) -> Result<Arc<dyn Channel>, String> {
    let setup = ChannelSetup {
        secrets: channel.secrets.clone(),
        settings: channel.settings.clone(),
        webhook_url: format!("{}/hooks/{tenant}/{}", state.settings.public_url, channel.id),
        pages_url: crate::email_pages::pages_url(&state.settings.public_url, tenant, &channel.id),
        verify_token: channel.verify_token.clone(),
        outbound: state.settings.outbound.clone(),
    };
    state.adapters.get_or_build(tenant, channel, setup)
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

/// The largest webhook body a channel kind takes: email's replies carry their signature's
/// images and the quoted HTML, so they have their own limit (`email_body_limit_bytes`).
pub fn body_limit(state: &AppState, kind: ChannelKind) -> usize {
    match kind.definition().webhook_body {
        WebhookBody::Mail => state.settings.email_body_limit_bytes,
        WebhookBody::Message => state.settings.body_limit_bytes,
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
    fn check(
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

/// Sends one of a survey's messages. An invitation on a channel whose platform reports sends
/// back is recorded as being sent (on its outbox item) before it is handed to the platform, so
/// a worker that dies mid-send leaves word of it: the next worker holds the invitation until the
/// platform's report arrives (which marks it sent) or `delivery.reconcile_secs` pass, and only
/// then sends it again.
pub async fn attempt(
    state: &AppState,
    item: &mut OutboxItem,
    channel_id: &ChannelId,
    survey_id: &SurveyId,
    message: OutboundMessage,
    now: Timestamp,
) -> Result<Attempt, StoreError> {
    let tenant = &item.tenant;
    let Some(survey) = state.store.get(tenant, survey_id).await? else {
        return Ok(Attempt::GiveUp { reason: "the survey no longer exists".into() });
    };
    if message == OutboundMessage::Invitation
        && (survey.sent_at.is_some() || !matches!(survey.state, SurveyState::Pending { .. }))
    {
        // Sent already (a gateway died between sending and finishing the item), or answered,
        // expired or cancelled meanwhile: nothing to send.
        return Ok(Attempt::Done);
    }
    let channel = match records::channel(&*state.store, tenant, channel_id.as_str()).await {
        Ok(channel) => channel.value,
        Err(ApiError::NotFound { .. }) => return Ok(Attempt::GiveUp { reason: "the channel was removed".into() }),
        Err(_) => return Ok(Attempt::Retry { reason: "the store is unavailable".into(), not_before: None }),
    };
    // Queued before the address unsubscribed (a reminder, an invitation still in the outbox, a
    // follow-up): not sent.
    if channel.kind.definition().honours_unsubscribes
        && is_unsubscribed(state, tenant, &survey.invitation.recipient).await?
    {
        tracing::info!(survey = %survey.id, channel = %channel_id, ?message, "not sent: the address unsubscribed");
        if matches!(survey.state, SurveyState::Pending { .. }) {
            cancel(state, tenant, &survey.id, now).await;
        }
        return Ok(Attempt::Done);
    }
    let adapter = match adapter(state, tenant, &channel) {
        Ok(adapter) => adapter,
        Err(reason) => return Ok(Attempt::GiveUp { reason }),
    };
    let reconciled = message == OutboundMessage::Invitation && adapter.capabilities().reports_sends;
    if reconciled && let Some(started) = item.attempt_started_at {
        let until = started + SignedDuration::from_secs(state.settings.delivery.reconcile_secs as i64);
        if now < until {
            tracing::info!(
                survey = %survey.id, channel = %channel_id, %started,
                "a send's outcome is unknown: waiting for the platform's word"
            );
            return Ok(Attempt::Wait { at: until });
        }
        tracing::warn!(
            survey = %survey.id, channel = %channel_id, %started,
            "no word from the platform on an earlier send: sending again"
        );
    }
    if let Some(at) = state.send_rates.check(tenant, &channel, adapter.as_ref(), now) {
        return Ok(Attempt::Wait { at });
    }
    let texts = match service::texts_for(state, &survey).await {
        Ok(texts) => texts,
        Err(_) => {
            return Ok(Attempt::Retry { reason: "the survey's texts could not be read".into(), not_before: None });
        }
    };
    let contact = contact(state, tenant, channel_id, &survey.invitation.recipient).await?;
    let outbound = Outbound {
        survey: survey.id.clone(),
        recipient: survey.invitation.recipient.clone(),
        content: render(&survey, &texts, message, adapter.as_ref()),
        idempotency_key: item.id.clone(),
        invitation: texts.invitation.clone(),
        context: SendContext {
            now,
            last_inbound_at: contact.and_then(|c| c.last_inbound_at),
            origin: survey.invitation.origin,
            locale: survey.invitation.locale,
        },
    };
    if reconciled {
        // Kept to the claim's lease, so no other worker takes the item meanwhile.
        item.attempt_started_at = Some(now);
        item.due = now + crate::outbox::lease(state);
        state.store.reschedule(item).await?;
    }
    let sent = adapter.send(&outbound).await;
    // The platform answered: the outcome is known, whatever it is.
    item.attempt_started_at = None;
    // A send held back by the channel's pace was not tried: it is neither a send nor a failure.
    if !matches!(sent, Err(SendError::Paced { .. })) {
        crate::metrics::send(channel.kind, sent.is_ok());
    }
    match sent {
        Ok(delivery) => {
            tracing::info!(
                survey = %survey.id, channel = %channel_id, message_id = %delivery.message_id,
                route = delivery.route.as_deref().unwrap_or("-"), ?message, "sent"
            );
            record_sent(state, tenant, channel_id, &delivery.message_id, &survey.id, delivery.route.clone()).await?;
            if message == OutboundMessage::Invitation
                && let Err(error) =
                    service::apply(state, tenant, &survey.id, Event::Sent { route: delivery.route.clone() }, now).await
            {
                tracing::warn!(survey = %survey.id, %error, "sent, but the survey could not record it");
            }
            Ok(Attempt::Done)
        }
        Err(SendError::RateLimited { retry_after }) => Ok(Attempt::Retry {
            reason: "rate limited by the platform".into(),
            not_before: retry_after
                .and_then(|wait| SignedDuration::try_from(wait).ok())
                .map(|wait| Timestamp::now() + wait),
        }),
        Err(SendError::Temporary(reason)) => Ok(Attempt::Retry { reason, not_before: None }),
        Err(SendError::Paced { wait }) => {
            let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(1));
            Ok(Attempt::Wait { at: Timestamp::now() + wait })
        }
        Err(SendError::Permanent(reason)) => {
            if matches!(reason.code.as_str(), "bad_credentials" | "bad_sender") {
                // The channel's own settings are refused: every send will be, until they change.
                tracing::error!(
                    %tenant, channel = %channel_id, code = %reason.code, detail = %reason.detail,
                    "the provider refuses the channel's settings: fix the channel"
                );
            }
            if message == OutboundMessage::Invitation {
                fail(state, tenant, &survey.id, reason.clone(), now).await;
            }
            Ok(Attempt::GiveUp { reason: format!("{}: {}", reason.code, reason.detail) })
        }
    }
}

/// An item given up: an invitation that never went out fails its survey.
pub async fn gave_up(
    state: &AppState,
    tenant: &TenantId,
    survey: &SurveyId,
    message: OutboundMessage,
    reason: &str,
    now: Timestamp,
) {
    if message == OutboundMessage::Invitation {
        let reason = FailureReason { code: "not_sent".into(), detail: reason.to_owned() };
        fail(state, tenant, survey, reason, now).await;
    }
}

async fn fail(state: &AppState, tenant: &TenantId, survey: &SurveyId, reason: FailureReason, now: Timestamp) {
    match service::apply(state, tenant, survey, Event::Fail(reason), now).await {
        // Answered or ended meanwhile: nothing to fail.
        Ok(_) | Err(ratewire_core::store::ApplyError::Refused(_)) => {}
        Err(error) => tracing::warn!(%survey, %error, "could not record the failed send"),
    }
}

/// What a message says, in the channel's native form.
fn render(survey: &Survey, texts: &Texts, message: OutboundMessage, adapter: &dyn Channel) -> Content {
    match message {
        OutboundMessage::Invitation => Content::Invitation {
            text: texts.invitation.clone(),
            layout: plan_invitation(
                &survey.id,
                survey.rules.scale,
                &texts.labels,
                &texts.answer_hint,
                adapter.capabilities(),
            ),
        },
        OutboundMessage::Reply(Reply::AskReason) if !texts.reasons.is_empty() => Content::Choices {
            text: texts.reason_prompt.clone(),
            choices: texts
                .reasons
                .iter()
                .map(|(id, label)| {
                    let payload =
                        ratewire_adapters::ChoicePayload::Reason { survey: survey.id.clone(), reason: id.clone() };
                    (payload.encode(), label.clone())
                })
                .collect(),
        },
        OutboundMessage::Reply(reply) => Content::Text(service::reply_text(texts, reply).to_owned()),
    }
}
