//! What happens to surveys, across channels: inviting, reading what an end user sends, and
//! carrying out each transition's effects. The survey rules themselves are in the core; this
//! is where they meet the store, the channels and the business's webhooks.

use jiff::Timestamp;
use ratewire_adapters::MessagePath;
use ratewire_core::store::{self, Along, ApplyError, Handled, OutboundMessage, StoreError};
use ratewire_core::{
    AgentId, ChannelId, ConversationId, Effect, Event, Invitation, InviteRefusal, Locale, Notice, Origin, RecipientId,
    Reply, Score, Survey, SurveyId, TenantId, Texts, Transition, check_invitation, replies_to_message, understand,
};

use super::records::ChannelInUse;
use super::{Flow, FlowError, contacts, events, send, telemetry};

/// What asks for a survey.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub conversation: ConversationId,
    /// Which resolution of the conversation (1 for the first close).
    pub resolution: u32,
    pub channel: ChannelId,
    pub recipient: RecipientId,
    pub agent: Option<AgentId>,
    /// The end user's language tags, most preferred first.
    pub languages: Vec<String>,
    pub origin: Origin,
}

/// Creates a survey and sends its invitation.
pub async fn invite(
    flow: &Flow,
    tenant: &TenantId,
    request: InviteRequest,
    now: Timestamp,
) -> Result<Survey, FlowError> {
    invite_on(flow, &ChannelInUse::of(&flow.store, tenant, &request.channel), request, now).await
}

/// [`invite`], on the request's channel as the caller has it.
pub async fn invite_on(
    flow: &Flow,
    channel: &ChannelInUse,
    request: InviteRequest,
    now: Timestamp,
) -> Result<Survey, FlowError> {
    let tenant = channel.tenant();
    let config = channel.config().await?;
    let channel = channel.record().await?;
    let previous = flow.store.latest_for_conversation(tenant, &request.conversation).await?;
    check_invitation(&config.config, request.origin, request.resolution, previous.as_ref(), now)?;
    let recipient = contacts::canonical_recipient(channel.kind, request.recipient);
    if channel.kind.definition().honours_unsubscribes && contacts::is_unsubscribed(flow, tenant, &recipient).await? {
        return Err(InviteRefusal::Unsubscribed.into());
    }
    // The language the platform last gave for the end user comes after what the caller said.
    let known = contacts::contact(flow, tenant, &request.channel, &recipient).await?.and_then(|c| c.language);
    let languages = request.languages.iter().chain(known.as_ref()).map(String::as_str);
    let locale = Locale::negotiate(languages, config.config.default_locale);
    let invitation = Invitation {
        tenant: tenant.clone(),
        conversation: request.conversation,
        resolution: request.resolution,
        channel: request.channel,
        recipient,
        agent: request.agent,
        locale,
        origin: request.origin,
    };
    let id = flow.store.new_survey_id(&invitation.channel, &invitation.recipient);
    let survey = Survey::new(id, invitation, &config.config, now);
    flow.store.create(&survey, previous.as_ref().map(|p| &p.id)).await?;
    if request.origin == Origin::User {
        // A rating the end user gives on their own needs no invitation.
        return Ok(survey);
    }
    match channel.kind.definition().messages {
        // The widget draws the invitation from the survey itself: telling its open widgets to
        // look is sending it.
        MessagePath::LiveClient => {
            flow.live.refresh(&survey).await;
            telemetry::send(channel.kind, true);
            Ok(apply(flow, tenant, &survey.id, Event::SENT, now).await.map_err(FlowError::from)?.survey)
        }
        // Messaging channels send from the outbox, which records the survey sent or failed.
        MessagePath::Outbox => {
            send::queue_messages(flow, &survey, &[OutboundMessage::Invitation], now).await?;
            Ok(survey)
        }
    }
}

/// Who hears of a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// The business, by its event webhooks, and the end user, on their channel.
    Everyone,
    /// Only the business: the end user is on a page that shows them what comes next itself.
    BusinessOnly,
}

/// Applies an event to a stored survey and carries out what it calls for.
pub async fn apply(
    flow: &Flow,
    tenant: &TenantId,
    id: &SurveyId,
    event: Event,
    now: Timestamp,
) -> Result<Transition, ApplyError> {
    apply_for(flow, tenant, id, event, now, Audience::Everyone).await
}

/// Applies an event the end user gave on a page that shows them what comes next itself (email's
/// rating page): the business is told, and no message is sent to the end user.
pub async fn apply_on_page(
    flow: &Flow,
    tenant: &TenantId,
    id: &SurveyId,
    event: Event,
    now: Timestamp,
) -> Result<Transition, ApplyError> {
    apply_for(flow, tenant, id, event, now, Audience::BusinessOnly).await
}

async fn apply_for(
    flow: &Flow,
    tenant: &TenantId,
    id: &SurveyId,
    event: Event,
    now: Timestamp,
    audience: Audience,
) -> Result<Transition, ApplyError> {
    let transition = store::apply(flow.store.as_ref(), tenant, id, event, now).await?;
    count(&transition);
    match audience {
        Audience::Everyone => {
            let channel = ChannelInUse::of_survey(&flow.store, &transition.survey);
            carry_out(flow, &channel, &transition.survey, &transition.effects, now).await;
        }
        Audience::BusinessOnly => notify_business(flow, &transition.survey, &transition.effects, now).await,
    }
    Ok(transition)
}

/// Counts a transition that changed its survey, by the state it reached.
fn count(transition: &Transition) {
    if transition.changed {
        telemetry::transition(transition.survey.state.name());
    }
}

/// Carries out a transition's effects: events to the business, messages to the end user. The
/// two are queued independently, so their round trips overlap.
pub async fn carry_out(flow: &Flow, channel: &ChannelInUse, survey: &Survey, effects: &[Effect], now: Timestamp) {
    let replies: Vec<Reply> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Reply(reply) => Some(*reply),
            Effect::Notify(_) => None,
        })
        .collect();
    let tell = async {
        if !effects.is_empty() {
            tell_end_user(flow, channel, survey, &replies).await;
        }
    };
    tokio::join!(notify_business(flow, survey, effects, now), tell);
}

/// The notices among a transition's effects.
fn notices(effects: &[Effect]) -> Vec<Notice> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Notify(notice) => Some(*notice),
            Effect::Reply(_) => None,
        })
        .collect()
}

/// Queues the event webhooks a transition calls for.
async fn notify_business(flow: &Flow, survey: &Survey, effects: &[Effect], now: Timestamp) {
    let notices = notices(effects);
    if let Err(error) = events::queue_events(flow, survey, &notices, now).await {
        // The transition is stored; only its events are lost. Say so loudly.
        tracing::error!(survey = %survey.id, ?notices, %error, "could not queue the event webhooks");
    }
}

/// Sends the end user the replies on the survey's channel, in order: from the outbox, queued in
/// one round trip, or to its open widgets.
async fn tell_end_user(flow: &Flow, channel: &ChannelInUse, survey: &Survey, replies: &[Reply]) {
    let kind = match channel.record().await {
        Ok(channel) => channel.kind,
        Err(error) => {
            tracing::warn!(survey = %survey.id, %error, "the survey's channel can't be read");
            return;
        }
    };
    if kind.definition().messages == MessagePath::Outbox {
        if replies.is_empty() {
            return;
        }
        let messages: Vec<OutboundMessage> = replies.iter().map(|&reply| OutboundMessage::Reply(reply)).collect();
        if let Err(error) = send::queue_messages(flow, survey, &messages, Timestamp::now()).await {
            tracing::error!(survey = %survey.id, %error, "could not queue the messages to the end user");
        }
        return;
    }
    tell_open_widgets(flow, channel, survey, replies).await;
}

/// Says the replies to the survey's open widgets; with none, the survey still changed, so they
/// redraw it.
async fn tell_open_widgets(flow: &Flow, channel: &ChannelInUse, survey: &Survey, replies: &[Reply]) {
    if replies.is_empty() {
        flow.live.refresh(survey).await;
        return;
    }
    let texts = match texts(flow, channel, survey).await {
        Ok(texts) => texts,
        Err(error) => {
            tracing::warn!(survey = %survey.id, %error, "no texts for the survey's channel");
            return;
        }
    };
    for &reply in replies {
        flow.live.say(survey, reply_text(&texts, reply)).await;
    }
}

/// The text of one of a survey's replies.
pub fn reply_text(texts: &Texts, reply: Reply) -> &str {
    match reply {
        Reply::ThankYou => &texts.thank_you,
        Reply::AskReason => &texts.reason_prompt,
        Reply::AskComment => &texts.comment_prompt,
        Reply::CommentThanks => &texts.comment_thanks,
        Reply::UnreadableHint => &texts.unreadable_hint,
        Reply::ExpiryNotice => &texts.expiry_notice,
        Reply::RatingLocked => &texts.rating_locked,
        Reply::Reminder => &texts.reminder,
    }
}

/// The texts of a survey's configuration in the survey's locale, for the survey's own scale and
/// reasons: a configuration edited since the survey was created doesn't change those.
pub async fn texts(flow: &Flow, channel: &ChannelInUse, survey: &Survey) -> Result<Texts, FlowError> {
    let mut config = channel.config().await?.config.clone();
    config.scale = survey.rules.scale;
    config.low_rating_reasons = survey.rules.low_rating_reasons.clone();
    Ok(config.texts(survey.invitation.locale, flow.catalog))
}

/// [`texts`], for a caller that has not read the survey's channel.
pub async fn texts_for(flow: &Flow, survey: &Survey) -> Result<Texts, FlowError> {
    texts(flow, &ChannelInUse::of_survey(&flow.store, survey), survey).await
}

/// What an end user sent on a channel.
#[derive(Debug, Clone)]
pub enum Input {
    /// Free text: a typed rating, a comment, or anything else; in `conversation` when the channel
    /// says which (a widget page that names its conversation).
    Text {
        text: String,
        conversation: Option<ConversationId>,
    },
    /// Free text that names the survey it answers (an email reply's thread).
    Reply {
        survey: SurveyId,
        text: String,
    },
    /// A tap on a level of a survey's invitation.
    Rate {
        survey: SurveyId,
        score: Score,
    },
    Reason {
        survey: SurveyId,
        reason: String,
    },
    Comment {
        survey: SurveyId,
        text: String,
    },
}

/// What became of an input.
#[derive(Debug)]
pub enum Outcome {
    /// It changed a survey.
    Applied(Box<Transition>),
    /// It was about a survey but changed nothing (refused; the end user was told why if there
    /// is something to tell).
    Refused(ratewire_core::Refusal),
    /// It was not about a survey: a conversation message for the helpdesk.
    PassThrough,
}

impl Outcome {
    /// Whether its survey was written, and with it what went along (the platform's message marked
    /// handled): the last step changed the survey. (A message whose last step changed nothing,
    /// after one that did, says no: marking it handled again changes nothing.)
    pub fn wrote(&self) -> bool {
        matches!(self, Outcome::Applied(transition) if transition.changed)
    }
}

/// Handles what an end user sent on a channel.
pub async fn take_input(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    input: Input,
    now: Timestamp,
) -> Result<Outcome, FlowError> {
    let latest = match &input {
        Input::Reply { survey, .. } => named_survey(flow, tenant, channel, survey).await?,
        _ => flow.store.latest_for_recipient(tenant, channel, recipient).await?,
    };
    take_input_on(flow, &ChannelInUse::of(&flow.store, tenant, channel), latest, input, now, None).await
}

/// The survey a reply names (an email's thread), whichever address it came from: people reply
/// from their aliases. A survey of another channel is none of this channel's.
pub async fn named_survey(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    id: &SurveyId,
) -> Result<Option<Survey>, FlowError> {
    Ok(flow.store.get(tenant, id).await?.filter(|s| s.invitation.channel == *channel))
}

/// [`take_input`], given the survey the end user is answering as the caller just read it: the one
/// a reply names ([`named_survey`]), else the recipient's latest
/// ([`SurveyStore::latest_for_recipient`](ratewire_core::store::SurveyStore::latest_for_recipient)).
/// The input of a platform's message is `handled` once what it changed is written (see
/// [`Outcome::wrote`]).
pub async fn take_input_on(
    flow: &Flow,
    channel: &ChannelInUse,
    latest: Option<Survey>,
    input: Input,
    now: Timestamp,
    handled: Option<&Handled>,
) -> Result<Outcome, FlowError> {
    let (survey, event) = match input {
        Input::Rate { survey, score } => (owned(latest, &survey)?, Event::Rate(score)),
        Input::Reason { survey, reason } => (owned(latest, &survey)?, Event::ChooseReason(reason)),
        Input::Comment { survey, text } => (owned(latest, &survey)?, Event::Comment(text)),
        Input::Text { text, conversation } => {
            return typed(flow, channel, latest, &text, conversation, now, handled).await;
        }
        Input::Reply { text, .. } => return typed(flow, channel, latest, &text, None, now, handled).await,
    };
    answer(flow, channel, &survey, vec![event], now, handled).await
}

/// Handles text the end user typed, in `conversation` when the channel says which.
async fn typed(
    flow: &Flow,
    channel: &ChannelInUse,
    latest: Option<Survey>,
    text: &str,
    conversation: Option<ConversationId>,
    now: Timestamp,
    handled: Option<&Handled>,
) -> Result<Outcome, FlowError> {
    let Some(mut survey) = latest else { return Ok(Outcome::PassThrough) };
    if let Some(conversation) = conversation {
        // Written in another conversation than the survey's: that one has opened, and the text
        // is about it, never the survey's comment.
        survey = tell_of_conversation(flow, survey, conversation, now, now).await?;
    }
    let texts = texts(flow, channel, &survey).await?;
    let reading = understand(text, survey.rules.scale, survey.invitation.locale, &texts.labels);
    match survey.events_for_text(text, reading, now) {
        Some(events) => answer(flow, channel, &survey, events, now, handled).await,
        None => Ok(Outcome::PassThrough),
    }
}

/// A survey named by a tap, which must be the one this recipient is answering.
fn owned(latest: Option<Survey>, id: &SurveyId) -> Result<Survey, FlowError> {
    latest.filter(|s| &s.id == id).ok_or_else(|| FlowError::not_found("survey", id))
}

/// A conversation opened `at` for `recipient` on `channel`: the survey they are answering there
/// learns of it (another conversation than its own ends its wait for a comment).
pub async fn conversation_opened(
    flow: &Flow,
    tenant: &TenantId,
    channel: &ChannelId,
    recipient: &RecipientId,
    conversation: ConversationId,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), FlowError> {
    if let Some(survey) = flow.store.latest_for_recipient(tenant, channel, recipient).await? {
        tell_of_conversation(flow, survey, conversation, at, now).await?;
    }
    Ok(())
}

/// Tells a survey just read that `conversation` opened `at`: the survey as it is after.
async fn tell_of_conversation(
    flow: &Flow,
    survey: Survey,
    conversation: ConversationId,
    at: Timestamp,
    now: Timestamp,
) -> Result<Survey, FlowError> {
    let transition = store::apply_to(flow.store.as_ref(), survey, Event::ConversationOpened { conversation, at }, now)
        .await
        .map_err(FlowError::from)?;
    if transition.changed {
        count(&transition);
        // Nothing to say or notify; open widgets drop the comment box.
        flow.live.refresh(&transition.survey).await;
    }
    Ok(transition.survey)
}

/// Applies the events one message of the end user carried, in order; the first refusal stops
/// them. The survey they make is written in one step with what goes along: an event for the
/// business for every transition, the replies to the end user of the message's last step (see
/// [`replies_to_message`]), and, for a platform's message, `handled` (it is then handled).
pub async fn answer(
    flow: &Flow,
    channel: &ChannelInUse,
    survey: &Survey,
    events: Vec<Event>,
    now: Timestamp,
    handled: Option<&Handled>,
) -> Result<Outcome, FlowError> {
    // What goes along is made from what the events do, before the write: what making it needs is
    // read first (the gateway's copies, under load).
    let (record, endpoints) =
        tokio::try_join!(channel.record(), async { Ok(events::endpoints(flow, &survey.invitation.tenant).await?) })?;
    let by_outbox = record.kind.definition().messages == MessagePath::Outbox;
    let along = |applied: &store::Applied| -> Result<Along, StoreError> {
        let mut items = Vec::new();
        for transition in &applied.transitions {
            items.extend(events::event_items(&transition.survey, &notices(&transition.effects), &endpoints, now)?);
        }
        if by_outbox {
            let replies = replies_to_message(&applied.transitions, applied.refusal.as_ref());
            let messages: Vec<OutboundMessage> = replies.into_iter().map(OutboundMessage::Reply).collect();
            items.extend(send::message_items(applied.survey(survey), &messages, now));
        }
        Ok(Along { items, handled: handled.cloned() })
    };
    let applied = store::apply_all(flow.store.as_ref(), survey.clone(), events, now, &along).await?;
    applied.transitions.iter().for_each(count);
    if applied.changed() {
        flow.queued.add(flow, &applied.queued);
    } else {
        // Nothing written: a refusal may still have something to say.
        let items = along(&applied)?.items;
        if !items.is_empty() {
            flow.store.enqueue(&items).await?;
            flow.queued.add(flow, &items);
        }
    }
    if !by_outbox {
        let replies = replies_to_message(&applied.transitions, applied.refusal.as_ref());
        if applied.transitions.iter().any(|t| !t.effects.is_empty()) || !replies.is_empty() {
            tell_open_widgets(flow, channel, applied.survey(survey), &replies).await;
        }
    }
    let store::Applied { mut transitions, refusal, .. } = applied;
    Ok(match (transitions.pop(), refusal) {
        (Some(last), _) => Outcome::Applied(Box::new(last)),
        (None, Some(refusal)) => Outcome::Refused(refusal),
        (None, None) => Outcome::PassThrough,
    })
}
