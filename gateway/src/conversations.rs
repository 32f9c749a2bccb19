//! Conversation activity from the business's helpdesk: `/v1/conversations`. On close, ratewire
//! decides whether to invite, by the configuration's rules, and says which rule stopped it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::conversation::{
    Author, Conversation, ConversationError, ConversationEvent, Ineligible, Opener, check_auto_invite,
};
use ratewire_core::store::{RecordKind, Versioned, get_json, put_json};
use ratewire_core::{ChannelId, ConversationId, Origin, RecipientId, TenantId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::doc::{BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::api::surveys::SurveyView;
use crate::app::AppState;
use crate::auth::CurrentTenant;
use crate::error::{ApiError, ApiJson};
use crate::service::{self, InviteError, InviteRequest};
use crate::{records, sending};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(open)).routes(routes!(read)).routes(routes!(report))
}

/// A conversation as kept: the core's record and the end user's languages.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationRecord {
    pub conversation: Conversation,
    /// The end user's language tags, most preferred first.
    #[serde(default)]
    pub languages: Vec<String>,
}

pub async fn load(
    state: &AppState,
    tenant: &TenantId,
    id: &ConversationId,
) -> Result<Option<Versioned<ConversationRecord>>, ApiError> {
    Ok(get_json(&*state.store, tenant, RecordKind::Conversation, id.as_str()).await?)
}

/// A conversation the helpdesk opened.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    /// The helpdesk's id for the conversation.
    id: ConversationId,
    /// Who started it: `end_user`, `agent` (outbound) or `api` (an API call or a workflow).
    opened_by: Opener,
    /// Where the end user can be reached for the survey.
    channel: ChannelId,
    recipient: RecipientId,
    /// The end user's language: a tag or an Accept-Language style list.
    #[serde(default)]
    languages: Vec<String>,
    /// When it was opened; default now.
    #[schema(min_length = 1)]
    at: Option<Timestamp>,
}

/// Opens a conversation: ratewire follows it from now on.
#[utoipa::path(
    post,
    path = "/v1/conversations",
    operation_id = "open_conversation",
    tag = "conversations",
    request_body = OpenBody,
    responses(
        (status = 201, description = "The conversation, open", body = ConversationRecord),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn open(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<OpenBody>,
) -> Result<(StatusCode, Json<ConversationRecord>), ApiError> {
    let channel =
        records::channel(&*state.store, &tenant, body.channel.as_str()).await.map_err(|e| e.in_field("channel"))?;
    let now = Timestamp::now();
    let opened_at = body.at.unwrap_or(now);
    // Told before the conversation is stored, so a failure here leaves the helpdesk's retry to
    // tell it again.
    let recipient = sending::canonical_recipient(channel.value.kind, body.recipient.clone());
    service::conversation_opened(&state, &tenant, &body.channel, &recipient, body.id.clone(), opened_at, now).await?;
    let conversation =
        Conversation::open(body.id.clone(), body.opened_by, opened_at).on_channel(body.channel, Some(body.recipient));
    let record = ConversationRecord { conversation, languages: body.languages };
    put_json(&*state.store, &tenant, RecordKind::Conversation, body.id.as_str(), None, &record).await.map_err(|e| {
        match ApiError::from(e) {
            ApiError::Conflict { .. } => ApiError::Conflict {
                code: "already_exists",
                message: format!("conversation {} is already open", body.id),
            },
            other => other,
        }
    })?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// One conversation, as ratewire has followed it.
#[utoipa::path(
    get,
    path = "/v1/conversations/{id}",
    operation_id = "read_conversation",
    tag = "conversations",
    params(("id" = ConversationId, Path, description = "The helpdesk's id for the conversation")),
    responses(
        (status = 200, description = "The conversation", body = ConversationRecord),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Json<ConversationRecord>, ApiError> {
    let id = conversation_id(id)?;
    let stored = load(&state, &tenant, &id).await?.ok_or_else(|| ApiError::not_found("conversation", &id))?;
    Ok(Json(stored.value))
}

/// An event as the helpdesk reports it; `at` defaults to now.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum EventBody {
    /// A message of `length` characters.
    Message {
        author: Author,
        /// Up to 4 294 967 295.
        #[schema(format = Int64, maximum = 4_294_967_295_u64)]
        length: u32,
        #[schema(min_length = 1)]
        at: Option<Timestamp>,
    },
    /// The conversation was closed: ratewire decides on an invitation.
    Closed {
        #[schema(min_length = 1)]
        at: Option<Timestamp>,
    },
    Reopened {
        #[schema(min_length = 1)]
        at: Option<Timestamp>,
    },
}

impl EventBody {
    fn into_event(self, now: Timestamp) -> ConversationEvent {
        match self {
            EventBody::Message { author, length, at } => {
                ConversationEvent::Message { author, length, at: at.unwrap_or(now) }
            }
            EventBody::Closed { at } => ConversationEvent::Closed { at: at.unwrap_or(now) },
            EventBody::Reopened { at } => ConversationEvent::Reopened { at: at.unwrap_or(now) },
        }
    }
}

/// Whether a close sent an invitation, and if not, which rule stopped it.
#[derive(Serialize, utoipa::ToSchema)]
struct InvitationDecision {
    sent: bool,
    /// The survey, when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SurveyView)]
    survey: Option<SurveyView>,
    /// The rule that stopped it, when none was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = StopRule)]
    rule: Option<StopRule>,
}

/// The rule that stopped an invitation, its code in `rule`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum StopRule {
    /// An auto-invite rule of the configuration (`too_short`, `stale`, …), with the figures it
    /// judged.
    AutoInvite(Ineligible),
    /// The conversation has no channel or recipient to send to.
    NoRecipient { rule: NoRecipient },
    /// An invitation rule (`already_invited`, `survey_pending`, `method_not_allowed`,
    /// `surveys_disabled`, …), with its message.
    Refused { rule: &'static str, message: String },
}

/// The code of [`StopRule::NoRecipient`].
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum NoRecipient {
    NoRecipient,
}

/// A conversation after an event.
#[derive(Serialize, utoipa::ToSchema)]
struct EventAnswer {
    conversation: Conversation,
    /// Present when the event closed the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = InvitationDecision)]
    invitation: Option<InvitationDecision>,
}

/// How often a lost race on the conversation record is retried.
const ATTEMPTS: usize = 16;

/// Reports an event of a conversation. A close decides on an invitation, by the configuration's
/// rules, and says which rule stopped it.
#[utoipa::path(
    post,
    path = "/v1/conversations/{id}/events",
    operation_id = "report_conversation_event",
    tag = "conversations",
    params(("id" = ConversationId, Path, description = "The helpdesk's id for the conversation")),
    request_body = EventBody,
    responses(
        (status = 200, description = "The conversation, and on a close the invitation decided", body = EventAnswer),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn report(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EventBody>,
) -> Result<Json<EventAnswer>, ApiError> {
    let id = conversation_id(id)?;
    let now = Timestamp::now();
    let event = body.into_event(now);
    let mut attempt = 0;
    let (record, closed) = loop {
        attempt += 1;
        let stored = load(&state, &tenant, &id).await?.ok_or_else(|| ApiError::NotFound {
            what: "conversation",
            id: format!("{id} (open it first with POST /v1/conversations)"),
        })?;
        let conversation = stored.value.conversation.apply(event.clone()).map_err(conversation_error)?;
        let closed = matches!(event, ConversationEvent::Closed { .. });
        let record = ConversationRecord { conversation, languages: stored.value.languages };
        match put_json(&*state.store, &tenant, RecordKind::Conversation, id.as_str(), Some(stored.revision), &record)
            .await
        {
            Ok(_) => break (record, closed),
            Err(ratewire_core::store::StoreError::RecordConflict { .. }) if attempt < ATTEMPTS => continue,
            Err(error) => return Err(error.into()),
        }
    };
    // The end user wrote on the conversation's channel: that opens the channel's messaging window
    // as much as a message ratewire received itself would.
    if let (ConversationEvent::Message { author: Author::EndUser(_), at, .. }, Some(channel), Some(recipient)) =
        (&event, &record.conversation.channel, &record.conversation.recipient)
    {
        sending::note_inbound(&state, &tenant, channel, recipient, *at, None).await?;
    }
    let invitation = if closed { Some(auto_invite(&state, &tenant, &record, now).await?) } else { None };
    Ok(Json(EventAnswer { conversation: record.conversation, invitation }))
}

/// Decides on, and sends, the invitation a close calls for.
async fn auto_invite(
    state: &AppState,
    tenant: &TenantId,
    record: &ConversationRecord,
    now: Timestamp,
) -> Result<InvitationDecision, ApiError> {
    let conversation = &record.conversation;
    let not_sent = |rule: StopRule| Ok(InvitationDecision { sent: false, survey: None, rule: Some(rule) });
    let (Some(channel), Some(recipient)) = (&conversation.channel, &conversation.recipient) else {
        return not_sent(StopRule::NoRecipient { rule: NoRecipient::NoRecipient });
    };
    let config = service::config_of(state, tenant, channel).await?;
    if let Err(ineligible) = check_auto_invite(conversation, &config.config.auto_invite, now) {
        return not_sent(StopRule::AutoInvite(ineligible));
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
    match service::invite(state, tenant, request, now).await {
        Ok(survey) => Ok(InvitationDecision { sent: true, survey: Some(SurveyView::new(survey)), rule: None }),
        Err(InviteError::Refused(refusal)) => {
            let message = refusal.to_string();
            not_sent(StopRule::Refused { rule: ApiError::from(refusal).code(), message })
        }
        Err(InviteError::Failed(error)) => Err(error),
    }
}

/// The conversation an id in the URL names: an id that can't be one names none, as in the API's
/// other routes (a typed `Path` would refuse it in plain text, outside the API's error format).
fn conversation_id(id: String) -> Result<ConversationId, ApiError> {
    ConversationId::new(id.clone()).map_err(|_| ApiError::not_found("conversation", id))
}

fn conversation_error(error: ConversationError) -> ApiError {
    if error.is_conflict() {
        ApiError::Conflict { code: error.code(), message: error.to_string() }
    } else {
        ApiError::invalid("author.id", error.to_string())
    }
}
