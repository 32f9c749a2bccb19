//! Conversations as the business's helpdesk reports them: opened, written in, closed. A close
//! decides, by the configuration's rules, whether to invite, and which rule stopped it if not.

use jiff::Timestamp;
use ratewire_core::conversation::{Author, Conversation, ConversationEvent, Ineligible, Opener, check_auto_invite};
use ratewire_core::store::{self, StoreError, Versioned};
use ratewire_core::{ChannelId, ConversationId, InviteRefusal, Origin, RecipientId, Survey, TenantId};

use super::records::{self, ChannelInUse, ConversationRecord};
use super::surveys::{self, InviteRequest};
use super::{Flow, FlowError, contacts, prechat};

/// How often a lost race on the conversation record is retried.
const ATTEMPTS: usize = 16;

/// A conversation the helpdesk opened.
pub struct Opening {
    pub id: ConversationId,
    pub opened_by: Opener,
    pub channel: ChannelId,
    pub recipient: RecipientId,
    pub languages: Vec<String>,
    pub at: Timestamp,
}

/// What a close decided.
pub enum AutoInvitation {
    Sent(Box<Survey>),
    /// An auto-invite rule of the configuration said no.
    Ineligible(Ineligible),
    /// The conversation has no channel or recipient to send to.
    NoRecipient,
    /// An invitation rule said no.
    Refused(InviteRefusal),
}

pub async fn load(
    flow: &Flow,
    tenant: &TenantId,
    id: &ConversationId,
) -> Result<Option<Versioned<ConversationRecord>>, FlowError> {
    Ok(store::read(&*flow.store, tenant, id.as_str()).await?)
}

/// Opens a conversation: ratewire follows it from now on.
pub async fn open(
    flow: &Flow,
    tenant: &TenantId,
    opening: Opening,
    now: Timestamp,
) -> Result<ConversationRecord, FlowError> {
    let channel = records::channel(&*flow.store, tenant, opening.channel.as_str()).await?;
    // Told before the conversation is stored, so a failure here leaves the helpdesk's retry to
    // tell it again.
    let recipient = contacts::canonical_recipient(channel.value.kind, opening.recipient.clone());
    surveys::conversation_opened(flow, tenant, &opening.channel, &recipient, opening.id.clone(), opening.at, now)
        .await?;
    let in_use = ChannelInUse::read(&flow.store, tenant, channel.value);
    let conversation = Conversation::open(opening.id.clone(), opening.opened_by, opening.at)
        .on_channel(opening.channel, Some(opening.recipient));
    let record = ConversationRecord { conversation, languages: opening.languages };
    // The end user wrote in: that opens the channel's messaging window, as a message of theirs
    // does (the helpdesk may report it before ratewire has the message), and their pre-chat
    // starts where the channel asks one (before the conversation is stored, as above).
    if opening.opened_by == Opener::EndUser {
        contacts::note_inbound(flow, tenant, in_use.id(), &recipient, opening.at, None).await?;
        prechat::start(flow, &in_use, &recipient, &opening.id, &record.languages, now).await?;
    }
    match store::write(&*flow.store, tenant, opening.id.as_str(), None, &record).await {
        Ok(_) => Ok(record),
        Err(StoreError::RecordConflict { .. }) => Err(FlowError::ConversationOpen(opening.id)),
        Err(error) => Err(error.into()),
    }
}

/// Records an event of a conversation; a close decides on an invitation.
pub async fn report(
    flow: &Flow,
    tenant: &TenantId,
    id: &ConversationId,
    event: ConversationEvent,
    now: Timestamp,
) -> Result<(ConversationRecord, Option<AutoInvitation>), FlowError> {
    let mut attempt = 0;
    let record = loop {
        attempt += 1;
        let stored = load(flow, tenant, id).await?.ok_or_else(|| {
            FlowError::not_found("conversation", format!("{id} (open it first with POST /v1/conversations)"))
        })?;
        let conversation = stored.value.conversation.apply(event.clone())?;
        let record = ConversationRecord { conversation, languages: stored.value.languages };
        match store::write(&*flow.store, tenant, id.as_str(), Some(stored.revision), &record).await {
            Ok(_) => break record,
            Err(StoreError::RecordConflict { .. }) if attempt < ATTEMPTS => continue,
            Err(error) => return Err(error.into()),
        }
    };
    // The end user wrote on the conversation's channel: that opens the channel's messaging window
    // as much as a message ratewire received itself would.
    if let (ConversationEvent::Message { author: Author::EndUser(_), at, .. }, Some(channel), Some(recipient)) =
        (&event, &record.conversation.channel, &record.conversation.recipient)
    {
        contacts::note_inbound(flow, tenant, channel, recipient, *at, None).await?;
    }
    let invitation = match event {
        ConversationEvent::Closed { .. } => {
            if let (Some(channel), Some(recipient)) = (&record.conversation.channel, &record.conversation.recipient) {
                // A channel removed since asks nothing any more.
                match records::channel(&*flow.store, tenant, channel.as_str()).await {
                    Ok(stored) => {
                        let recipient = contacts::canonical_recipient(stored.value.kind, recipient.clone());
                        prechat::conversation_closed(flow, tenant, (channel, &recipient), id, now).await?;
                    }
                    Err(FlowError::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Some(auto_invite(flow, tenant, &record, now).await?)
        }
        _ => None,
    };
    Ok((record, invitation))
}

/// Decides on, and sends, the invitation a close calls for.
async fn auto_invite(
    flow: &Flow,
    tenant: &TenantId,
    record: &ConversationRecord,
    now: Timestamp,
) -> Result<AutoInvitation, FlowError> {
    let conversation = &record.conversation;
    let (Some(channel), Some(recipient)) = (&conversation.channel, &conversation.recipient) else {
        return Ok(AutoInvitation::NoRecipient);
    };
    let in_use = ChannelInUse::of(&flow.store, tenant, channel);
    let config = in_use.config().await?;
    let rules = &config.config.auto_invite;
    // The end user's last automatic invitation, read only for a configuration that limits them.
    let last_asked_at = match rules.cooldown_days {
        Some(_) => contacts::contact(flow, tenant, channel, recipient).await?.and_then(|c| c.last_asked_at),
        None => None,
    };
    if let Err(ineligible) = check_auto_invite(conversation, rules, last_asked_at, now) {
        return Ok(AutoInvitation::Ineligible(ineligible));
    }
    let request = InviteRequest {
        conversation: conversation.id.clone(),
        resolution: conversation.resolution(),
        channel: channel.clone(),
        recipient: recipient.clone(),
        agent: conversation.credited_agent().cloned(),
        languages: record.languages.clone(),
        origin: Origin::Auto,
    };
    match surveys::invite_on(flow, &in_use, request, now).await {
        Ok(survey) => {
            if rules.cooldown_days.is_some()
                && let Err(error) = contacts::note_asked(flow, tenant, channel, recipient, now).await
            {
                tracing::warn!(%error, "invited, but the end user's cooldown could not be noted");
            }
            Ok(AutoInvitation::Sent(Box::new(survey)))
        }
        Err(FlowError::InviteRefused(refusal)) => Ok(AutoInvitation::Refused(refusal)),
        Err(error) => Err(error),
    }
}
