//! Messages to end users on messaging channels: rendered by the channel's adapter when they go
//! out of the outbox, sent under the channel's rate, and recorded on the survey.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::{Channel, Content, Outbound, SendContext, SendError, plan_invitation};
use ratewire_core::store::{self, OutboundMessage, OutboxItem, Prompt, StoreError, Task};
use ratewire_core::{
    ChannelId, Event, FailureReason, Origin, RecipientId, Reply, Survey, SurveyId, SurveyState, TenantId, Texts,
};

use super::channels::SendAt;
use super::outbox::{self, Attempt};
use super::records::{ChannelInUse, ChannelRecord, SentMessage};
use super::{Flow, FlowError, channels, contacts, surveys, telemetry};

/// How far off a channel's next send slot may be for a send to wait for it in its round: about
/// an outbox poll, so a round's sends on a busy channel go out one slot after the other, while a
/// send a slot further off goes back to the outbox rather than hold its item.
const SLOT_HORIZON: SignedDuration = SignedDuration::from_millis(250);

/// Records which survey a message the platform took belongs to, for its later statuses. The
/// first record of a message id stands.
pub async fn record_sent(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    message_id: &str,
    (survey, message): (&SurveyId, OutboundMessage),
    route: Option<String>,
) -> Result<(), StoreError> {
    let record = SentMessage { survey: survey.clone(), channel: channel.clone(), message: Some(message), route };
    let id = format!("{channel}/{message_id}");
    match store::write(&*flow.store, tenant, &id, None, &record).await {
        Ok(_) | Err(StoreError::RecordConflict { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The survey a platform message id belongs to, and which of its messages it was (the
/// invitation, for a record that doesn't say).
pub async fn survey_of_message(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    message_id: &str,
) -> Result<Option<(SurveyId, OutboundMessage)>, StoreError> {
    let id = format!("{channel}/{message_id}");
    let sent = store::read::<SentMessage>(&*flow.store, tenant, &id).await?;
    Ok(sent.map(|sent| (sent.value.survey, sent.value.message.unwrap_or(OutboundMessage::Invitation))))
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

/// Puts the messages one step of a survey sends into the outbox, in one round trip, once: a
/// second enqueue of the same messages of the same survey revision changes nothing.
pub async fn queue_messages(
    flow: &Flow,
    survey: &Survey,
    messages: &[OutboundMessage],
    now: Timestamp,
) -> Result<(), StoreError> {
    let items = message_items(survey, messages, now);
    flow.store.enqueue(&items).await?;
    flow.queued.add(flow, &items);
    Ok(())
}

/// The outbox items of the messages one step of a survey sends. Their ids sort in the order the
/// messages are to go (by their place among `messages`), so every store claims them in that
/// order, even within one millisecond.
pub fn message_items(survey: &Survey, messages: &[OutboundMessage], now: Timestamp) -> Vec<OutboxItem> {
    messages
        .iter()
        .enumerate()
        .map(|(position, &message)| OutboxItem {
            id: match message {
                OutboundMessage::Invitation => invitation_item_id(&survey.id),
                OutboundMessage::Reply(reply) => {
                    format!("send_{}_{:010}.{position}-{reply:?}", survey.id, survey.revision).to_lowercase()
                }
            },
            tenant: survey.invitation.tenant.clone(),
            task: Task::Send { channel: survey.invitation.channel.clone(), survey: survey.id.clone(), message },
            attempts: 0,
            due: now,
            last_error: None,
            attempt_started_at: None,
        })
        .collect()
}

/// Sends one of a survey's messages. An invitation on a channel whose platform reports sends
/// back is recorded as being sent (on its outbox item) before it is handed to the platform, so
/// a worker that dies mid-send leaves word of it: the next worker holds the invitation until the
/// platform's report arrives (which marks it sent) or `delivery.reconcile_secs` pass, and only
/// then sends it again.
pub async fn send_message(
    flow: &Flow,
    item: &mut OutboxItem,
    channel_id: &ChannelId,
    survey_id: &SurveyId,
    message: OutboundMessage,
    now: Timestamp,
) -> Result<Attempt, StoreError> {
    let tenant = &item.tenant;
    let Some(survey) = flow.store.get(tenant, survey_id).await? else {
        return Ok(Attempt::GiveUp { reason: "the survey no longer exists".into() });
    };
    if message == OutboundMessage::Invitation
        && (survey.sent_at.is_some() || !matches!(survey.state, SurveyState::Pending { .. }))
    {
        // Sent already (a gateway died between sending and finishing the item), or answered,
        // expired or cancelled meanwhile: nothing to send.
        return Ok(Attempt::Done);
    }
    let in_use = ChannelInUse::of(&flow.store, tenant, channel_id);
    let (channel, adapter) = match sending_channel(flow, &in_use).await {
        Ok(sending) => sending,
        Err(attempt) => return Ok(attempt),
    };
    // Queued before the address unsubscribed (a reminder, an invitation still in the outbox, a
    // follow-up): not sent.
    if channel.kind.definition().honours_unsubscribes
        && contacts::is_unsubscribed(flow, tenant, &survey.invitation.recipient).await?
    {
        tracing::info!(survey = %survey.id, channel = %channel_id, ?message, "not sent: the address unsubscribed");
        if matches!(survey.state, SurveyState::Pending { .. }) {
            contacts::cancel(flow, tenant, &survey.id, now).await;
        }
        return Ok(Attempt::Done);
    }
    let reconciled = message == OutboundMessage::Invitation && adapter.capabilities().reports_sends;
    if reconciled && let Some(started) = item.attempt_started_at {
        let until = started + SignedDuration::from_secs(flow.settings.delivery.reconcile_secs as i64);
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
    if let Some(wait) =
        wait_for_slot(flow, tenant, channel, adapter.as_ref(), &survey.invitation.recipient, now).await?
    {
        return Ok(wait);
    }
    let texts = match surveys::texts(flow, &in_use, &survey).await {
        Ok(texts) => texts,
        Err(_) => {
            return Ok(Attempt::Retry { reason: "the survey's texts could not be read".into(), not_before: None });
        }
    };
    let contact = contacts::contact(flow, tenant, channel_id, &survey.invitation.recipient).await?;
    let outbound = Outbound {
        survey: Some(survey.id.clone()),
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
        item.due = now + outbox::lease(flow);
        flow.store.reschedule(item).await?;
    }
    let sent = adapter.send(&outbound).await;
    // The platform answered: the outcome is known, whatever it is.
    item.attempt_started_at = None;
    telemetry::send(channel.kind, sent.is_ok());
    match sent {
        Ok(delivery) => {
            tracing::info!(
                survey = %survey.id, channel = %channel_id, message_id = %delivery.message_id,
                route = delivery.route.as_deref().unwrap_or("-"), ?message, "sent"
            );
            let sent = (&survey.id, message);
            record_sent(flow, tenant, channel_id, &delivery.message_id, sent, delivery.route.clone()).await?;
            if message == OutboundMessage::Invitation
                && let Err(error) =
                    surveys::apply(flow, tenant, &survey.id, Event::Sent { route: delivery.route.clone() }, now).await
            {
                tracing::warn!(survey = %survey.id, %error, "sent, but the survey could not record it");
            }
            Ok(Attempt::Done)
        }
        Err(error) => {
            if let SendError::Permanent(reason) = &error
                && message == OutboundMessage::Invitation
            {
                fail(flow, tenant, &survey.id, reason.clone(), now).await;
            }
            Ok(refused(tenant, channel_id, error))
        }
    }
}

/// Sends a pre-chat's message to its end user, as it was when asked.
pub async fn send_prompt(
    flow: &Flow,
    item: &OutboxItem,
    channel_id: &ChannelId,
    recipient: &RecipientId,
    prompt: &Prompt,
    now: Timestamp,
) -> Result<Attempt, StoreError> {
    let tenant = &item.tenant;
    let in_use = ChannelInUse::of(&flow.store, tenant, channel_id);
    let (channel, adapter) = match sending_channel(flow, &in_use).await {
        Ok(sending) => sending,
        Err(attempt) => return Ok(attempt),
    };
    if let Some(wait) = wait_for_slot(flow, tenant, channel, adapter.as_ref(), recipient, now).await? {
        return Ok(wait);
    }
    let contact = contacts::contact(flow, tenant, channel_id, recipient).await?;
    let content = if prompt.choices.is_empty() {
        Content::Text(prompt.text.clone())
    } else {
        Content::Choices { text: prompt.text.clone(), choices: prompt.choices.clone() }
    };
    let outbound = Outbound {
        survey: None,
        recipient: recipient.clone(),
        content,
        idempotency_key: item.id.clone(),
        invitation: prompt.text.clone(),
        context: SendContext {
            now,
            last_inbound_at: contact.and_then(|c| c.last_inbound_at),
            // An answer to what the end user wrote.
            origin: Origin::User,
            locale: prompt.locale,
        },
    };
    let sent = adapter.send(&outbound).await;
    telemetry::send(channel.kind, sent.is_ok());
    match sent {
        Ok(delivery) => {
            tracing::info!(channel = %channel_id, message_id = %delivery.message_id, "pre-chat message sent");
            Ok(Attempt::Done)
        }
        Err(error) => Ok(refused(tenant, channel_id, error)),
    }
}

/// The channel a send goes out on and its adapter; what the outbox does with the item when
/// there is none.
async fn sending_channel<'a>(
    flow: &Flow,
    in_use: &'a ChannelInUse,
) -> Result<(&'a ChannelRecord, Arc<dyn Channel>), Attempt> {
    let channel = match in_use.record().await {
        Ok(channel) => channel,
        Err(FlowError::NotFound { .. }) => return Err(Attempt::GiveUp { reason: "the channel was removed".into() }),
        Err(_) => return Err(Attempt::Retry { reason: "the store is unavailable".into(), not_before: None }),
    };
    match channels::adapter(flow, in_use.tenant(), channel) {
        Ok(adapter) => Ok((channel, adapter)),
        Err(reason) => Err(Attempt::GiveUp { reason }),
    }
}

/// Takes the channel's next send slot, on every gateway's count: one close enough is waited for
/// here, holding the item; a later one sends the item back to the outbox until then (the
/// attempt returned).
async fn wait_for_slot(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelRecord,
    adapter: &dyn Channel,
    recipient: &RecipientId,
    now: Timestamp,
) -> Result<Option<Attempt>, StoreError> {
    let pace = channels::pace(channel, adapter, recipient);
    match flow.send_slots.take(flow.store.as_ref(), tenant, &pace, SLOT_HORIZON).await? {
        SendAt::After(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
        SendAt::After(_) => {}
        SendAt::NoneBefore(wait) => return Ok(Some(Attempt::Wait { at: now + wait })),
    }
    Ok(None)
}

/// What the outbox does with a send the platform refused: tried again later, or given up.
fn refused(tenant: &TenantId, channel: &ChannelId, error: SendError) -> Attempt {
    match error {
        SendError::RateLimited { retry_after } => Attempt::Retry {
            reason: "rate limited by the platform".into(),
            not_before: retry_after
                .and_then(|wait| SignedDuration::try_from(wait).ok())
                .map(|wait| Timestamp::now() + wait),
        },
        SendError::Temporary(reason) => Attempt::Retry { reason, not_before: None },
        SendError::Permanent(reason) => {
            if matches!(reason.code.as_str(), "bad_credentials" | "bad_sender") {
                // The channel's own settings are refused: every send will be, until they change.
                tracing::error!(
                    %tenant, %channel, code = %reason.code, detail = %reason.detail,
                    "the provider refuses the channel's settings: fix the channel"
                );
            }
            Attempt::GiveUp { reason: format!("{}: {}", reason.code, reason.detail) }
        }
    }
}

/// An item given up: an invitation that never went out fails its survey.
pub async fn gave_up(
    flow: &Flow,
    tenant: &TenantId,
    survey: &SurveyId,
    message: OutboundMessage,
    reason: &str,
    now: Timestamp,
) {
    if message == OutboundMessage::Invitation {
        let reason = FailureReason { code: "not_sent".into(), detail: reason.to_owned() };
        fail(flow, tenant, survey, reason, now).await;
    }
}

async fn fail(flow: &Flow, tenant: &TenantId, survey: &SurveyId, reason: FailureReason, now: Timestamp) {
    match surveys::apply(flow, tenant, survey, Event::Fail(reason), now).await {
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
        OutboundMessage::Reply(reply) => Content::Text(surveys::reply_text(texts, reply).to_owned()),
    }
}
