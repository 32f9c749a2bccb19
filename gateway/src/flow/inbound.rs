//! What a platform delivered, verified by its channel: each item taken once (a platform
//! redelivers until it hears 200), the end user's writing noted for the channel's window rules,
//! and the item handed to [`surveys`](super::surveys) to decide what it means.

use jiff::{SignedDuration, Timestamp};
use ratewire_adapters::{ChoicePayload, DeliveryStatus, Inbound};
use ratewire_core::store::{Answering, Handled, OutboundMessage, Sighting};
use ratewire_core::{ChannelId, Event, Survey, TenantId};
use serde::Serialize;

use super::prechat::{self, Answer};
use super::records::ChannelInUse;
use super::surveys::{self, Input, Outcome};
use super::{Flow, FlowError, contacts, send};

/// How long a handled platform message id is remembered to drop its redeliveries.
const DEDUPE_FOR: SignedDuration = SignedDuration::from_hours(24 * 7);

/// What a webhook delivery amounted to.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Items handled.
    pub received: usize,
    /// Items dropped as redeliveries of ones already handled.
    pub duplicates: usize,
}

/// Handles each item of a verified delivery once.
pub async fn take(
    flow: &Flow,
    tenant: &TenantId,
    in_use: &ChannelInUse,
    adapter: &dyn ratewire_adapters::Channel,
    events: Vec<Inbound>,
) -> Result<Received, FlowError> {
    let now = Timestamp::now();
    let channel = in_use.id();
    // A channel that asks pre-chats reads every message for one, survey or not.
    let asks_prechat = prechat::configured(in_use).await?.is_some();
    let mut received = Received { received: 0, duplicates: 0 };
    for event in events {
        let key = match &event {
            Inbound::Message { platform_id, from, .. }
            | Inbound::Choice { platform_id, from, .. }
            | Inbound::Reply { platform_id, from, .. } => flow.store.message_key(tenant, channel, from, platform_id),
            Inbound::Status { message_id, status, .. } => format!("{tenant}/{channel}/status/{message_id}/{status:?}"),
        };
        // Whether it is new, and what handling it needs from the store, are independent: their
        // round trips overlap. A repeat reads for nothing, and notes again what was noted.
        let lease = SignedDuration::from_secs(flow.settings.delivery.claim_secs as i64);
        let answering = if asks_prechat { None } else { answering(tenant, channel, &event) };
        let claim = flow.store.claim(&key, now, lease, answering);
        let (sighting, context) = tokio::join!(claim, context(flow, tenant, channel, &event));
        match sighting? {
            Sighting::First => {}
            Sighting::Handled => {
                received.duplicates += 1;
                continue;
            }
            // Nothing to answer, and marked handled already: its noting is all there was to do.
            Sighting::Settled => {
                if let Err(error) = context {
                    if let Err(forgotten) = flow.store.forget(&key).await {
                        tracing::warn!(%tenant, %channel, error = %forgotten, "a message not noted stays handled");
                    }
                    return Err(error);
                }
                received.received += 1;
                continue;
            }
            // Another request is handling it: whether that finishes is not known yet, so the
            // platform is asked to deliver again rather than told it was taken.
            Sighting::InHand => return Err(FlowError::InProgress),
        }
        received.received += 1;
        // Marked handled only once it is, by the write that changed what it answers when it
        // changed something: a handling that failed, or a gateway that died meanwhile, leaves a
        // claim that runs out, so the redelivery is taken.
        let handled = Handled { key, until: now + DEDUPE_FOR };
        let taken = match context {
            Ok(latest) => take_one(flow, in_use, adapter, event, latest, asks_prechat, now, &handled).await,
            Err(error) => Err(error),
        };
        let key = handled.key;
        match taken {
            Ok(Marked::ByTheWrite) => {}
            Ok(Marked::NotYet) => {
                if let Err(error) = flow.store.confirm(&key, now, DEDUPE_FOR).await {
                    // Handled all the same; a redelivery once the claim runs out is handled
                    // again, which changes nothing already recorded.
                    tracing::warn!(%tenant, %channel, %error, "a handled item could not be marked handled");
                }
            }
            Err(error) => {
                if let Err(released) = flow.store.release(&key).await {
                    tracing::warn!(
                        %tenant, %channel, error = %released,
                        "a failed item stays claimed until its claim runs out"
                    );
                }
                return Err(error);
            }
        }
    }
    Ok(received)
}

/// Whether the claim of `event` settles it when its sender has no survey: a typed message can
/// only answer their survey, so without one there is nothing to do but note it. (A tap is still
/// acknowledged to the platform; a reply names its survey; a status report, a sent message.)
fn answering<'a>(tenant: &'a TenantId, channel: &'a ChannelId, event: &'a Inbound) -> Option<Answering<'a>> {
    match event {
        Inbound::Message { from, .. } => Some(Answering { tenant, channel, from, handled_for: DEDUPE_FOR }),
        Inbound::Choice { .. } | Inbound::Reply { .. } | Inbound::Status { .. } => None,
    }
}

/// What an end user's message needs from the store before it is handled: their writing noted
/// (the channel's window rules count from it, so it is stored before anything is sent), and
/// the survey they are answering, read alongside.
async fn context(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    event: &Inbound,
) -> Result<Option<Survey>, FlowError> {
    let (from, language, at) = match event {
        Inbound::Message { from, language, at, .. } | Inbound::Choice { from, language, at, .. } => {
            (from, language.clone(), *at)
        }
        Inbound::Reply { from, at, .. } => (from, None, *at),
        Inbound::Status { .. } => return Ok(None),
    };
    let answered = async {
        match event {
            Inbound::Reply { survey, .. } => surveys::named_survey(flow, tenant, channel, survey).await,
            _ => Ok(flow.store.latest_for_recipient(tenant, channel, from).await?),
        }
    };
    let (noted, latest) = tokio::join!(contacts::note_inbound(flow, tenant, channel, from, at, language), answered);
    noted?;
    latest
}

/// Whether an item's handling marked it handled.
enum Marked {
    /// The write of what it changed did.
    ByTheWrite,
    /// It changed nothing, or what it changed was not written with the mark.
    NotYet,
}

impl Marked {
    fn by(outcome: &Outcome) -> Marked {
        if outcome.wrote() { Marked::ByTheWrite } else { Marked::NotYet }
    }
}

/// Handles one item of a verified delivery, given its [`context`]: a pre-chat that is asking the
/// end user something takes their message first.
#[allow(clippy::too_many_arguments)]
async fn take_one(
    flow: &Flow,
    in_use: &ChannelInUse,
    adapter: &dyn ratewire_adapters::Channel,
    event: Inbound,
    latest: Option<Survey>,
    asks_prechat: bool,
    now: Timestamp,
    handled: &Handled,
) -> Result<Marked, FlowError> {
    let (tenant, channel) = (in_use.tenant(), in_use.id());
    let handled = Some(handled);
    match event {
        Inbound::Message { text, from, platform_id, at, .. }
            if asks_prechat
                && prechat::take(flow, in_use, &from, Answer::Typed(&text), (&platform_id, at), now).await? =>
        {
            return Ok(Marked::NotYet);
        }
        Inbound::Choice { from, payload: ChoicePayload::Answer { question, option }, tap, platform_id, at, .. } => {
            let answer = Answer::Tap { question, option: &option };
            let taken = prechat::take(flow, in_use, &from, answer, (&platform_id, at), now).await;
            if let Err(error) = adapter.acknowledge_tap(&from, &tap, "").await {
                tracing::warn!(%tenant, %channel, %error, "the tap could not be acknowledged");
            }
            return taken.map(|_| Marked::NotYet);
        }
        Inbound::Message { text, .. } => {
            let input = Input::Text { text, conversation: None };
            return Ok(Marked::by(&surveys::take_input_on(flow, in_use, latest, input, now, handled).await?));
        }
        Inbound::Reply { survey, text, .. } => {
            let input = Input::Reply { survey, text };
            return Ok(Marked::by(&surveys::take_input_on(flow, in_use, latest, input, now, handled).await?));
        }
        Inbound::Choice { from, payload, tap, .. } => {
            let (input, reason) = match payload {
                ChoicePayload::Score { survey, score } => (Input::Rate { survey, score }, None),
                ChoicePayload::Reason { survey, reason } => {
                    (Input::Reason { survey, reason: reason.clone() }, Some(reason))
                }
                // Taken above.
                ChoicePayload::Answer { .. } => return Ok(Marked::NotYet),
            };
            let outcome = surveys::take_input_on(flow, in_use, latest.clone(), input, now, handled).await;
            let acknowledgement = acknowledgement(flow, in_use, latest, reason.as_deref(), &outcome).await;
            if let Err(error) = adapter.acknowledge_tap(&from, &tap, &acknowledgement).await {
                tracing::warn!(%tenant, %channel, %error, "the tap could not be acknowledged");
            }
            return match outcome {
                Ok(outcome) => Ok(Marked::by(&outcome)),
                // A tap on someone else's or a forgotten survey: nothing to do.
                Err(FlowError::NotFound { .. }) => Ok(Marked::NotYet),
                Err(error) => Err(error),
            };
        }
        Inbound::Status { message_id, status, reference, .. } => {
            // The reference ratewire sent names the invitation's survey even when the gateway
            // that sent it died before it could record the platform's id for the message: this
            // report is then what tells it went out.
            let survey = match reference.as_deref().and_then(send::invitation_of_reference) {
                Some(survey) => {
                    let invitation = (&survey, OutboundMessage::Invitation);
                    send::record_sent(flow, tenant, channel, &message_id, invitation, None).await?;
                    survey
                }
                None => match send::survey_of_message(flow, tenant, channel, &message_id).await? {
                    Some((survey, OutboundMessage::Invitation)) => survey,
                    // What became of a reply (a hint, a reminder, a thank-you) says nothing of
                    // the survey: its invitation went out, and it still takes its answer.
                    Some((_, OutboundMessage::Reply(_))) | None => return Ok(Marked::NotYet),
                },
            };
            let event = match status {
                DeliveryStatus::Failed(reason) => Event::Fail(reason),
                DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read => Event::SENT,
            };
            match surveys::apply(flow, tenant, &survey, event, now).await {
                // Already recorded, or a survey that is gone: nothing to do.
                Ok(_)
                | Err(ratewire_core::store::ApplyError::Refused(_))
                | Err(ratewire_core::store::ApplyError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(Marked::NotYet)
}

/// What a tap's acknowledgement says, in the survey's language: the choice as recorded, or the
/// notice the end user is owed when it wasn't (the survey expired, the rating is final).
async fn acknowledgement(
    flow: &Flow,
    in_use: &ChannelInUse,
    latest: Option<Survey>,
    reason: Option<&str>,
    outcome: &Result<Outcome, FlowError>,
) -> String {
    let survey = match outcome {
        Ok(Outcome::Applied(transition)) => Some(transition.survey.clone()),
        _ => latest,
    };
    let Some(survey) = survey else { return String::new() };
    let Ok(texts) = surveys::texts(flow, in_use, &survey).await else { return String::new() };
    match outcome {
        Ok(Outcome::Applied(_)) => match reason {
            Some(id) => texts.reasons.iter().find(|(r, _)| r == id).map(|(_, label)| label.clone()).unwrap_or_default(),
            None => survey
                .score()
                .map(|score| {
                    let title = ratewire_adapters::level_title(survey.rules.scale, score);
                    texts.labels.get(score).map_or(title.clone(), |label| format!("{title} {label}"))
                })
                .unwrap_or_default(),
        },
        Ok(Outcome::Refused(refusal)) => {
            refusal.reply().map(|reply| surveys::reply_text(&texts, reply).to_owned()).unwrap_or_default()
        }
        Ok(Outcome::PassThrough) | Err(_) => String::new(),
    }
}
