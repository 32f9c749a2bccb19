//! Conversation activity from the business's helpdesk: `/v1/conversations`. On close, ratewire
//! decides whether to invite, by the configuration's rules, and says which rule stopped it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ratewire_core::conversation::{Author, Conversation, ConversationEvent, Ineligible, Opener, Resolver};
use ratewire_core::{ChannelId, ConversationId, RecipientId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::FlowError;
use crate::flow::conversations::{self, AutoInvitation, Opening};
use crate::flow::records::ConversationRecord;
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::http::api::surveys::SurveyView;
use crate::http::auth::CurrentTenant;
use crate::http::error::{ApiError, ApiJson};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(open)).routes(routes!(read)).routes(routes!(report))
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
    let now = Timestamp::now();
    let opening = Opening {
        id: body.id,
        opened_by: body.opened_by,
        channel: body.channel,
        recipient: body.recipient,
        languages: body.languages,
        at: body.at.unwrap_or(now),
    };
    let record = conversations::open(&state.flow, &tenant, opening, now).await.map_err(|error| match error {
        FlowError::NotFound { what: "channel", .. } => ApiError::from(error).in_field("channel"),
        other => other.into(),
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
    let stored = conversations::load(&state.flow, &tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation", &id))?;
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
        /// Who resolved it: `agent` (the default), `bot`, or `automation` (the helpdesk on its
        /// own, after inactivity or by a rule). Bots' and automatic resolutions are not asked
        /// unless the configuration's `auto_invite` includes them.
        #[serde(default)]
        resolved_by: Resolver,
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
            EventBody::Closed { at, resolved_by } => ConversationEvent::Closed { at: at.unwrap_or(now), resolved_by },
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
    let (record, invitation) = conversations::report(&state.flow, &tenant, &id, body.into_event(now), now).await?;
    let invitation = invitation.map(|decided| {
        let not_sent = |rule| InvitationDecision { sent: false, survey: None, rule: Some(rule) };
        match decided {
            AutoInvitation::Sent(survey) => {
                InvitationDecision { sent: true, survey: Some(SurveyView::new(*survey)), rule: None }
            }
            AutoInvitation::Ineligible(ineligible) => not_sent(StopRule::AutoInvite(ineligible)),
            AutoInvitation::NoRecipient => not_sent(StopRule::NoRecipient { rule: NoRecipient::NoRecipient }),
            AutoInvitation::Refused(refusal) => {
                not_sent(StopRule::Refused { rule: refusal.code(), message: refusal.to_string() })
            }
        }
    });
    Ok(Json(EventAnswer { conversation: record.conversation, invitation }))
}

/// The conversation an id in the URL names: an id that can't be one names none, as in the API's
/// other routes (a typed `Path` would refuse it in plain text, outside the API's error format).
fn conversation_id(id: String) -> Result<ConversationId, ApiError> {
    ConversationId::new(id.clone()).map_err(|_| ApiError::not_found("conversation", id))
}
