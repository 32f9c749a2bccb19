//! Surveys: `/v1/surveys` to read them, `/v1/invitations` for an agent to send one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::{
    AgentId, ChannelId, ConversationId, FailureReason, Locale, Origin, RatingEntry, RecipientId, Scale, StateName,
    Survey, SurveyId, SurveyState,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::listing::Walk;
use crate::flow::surveys::{self, InviteRequest};
use crate::flow::{conversations, records};
use crate::http::AppState;
use crate::http::api::doc::{BadRequest, Conflict, Invalid, NotFound, TooLarge};
use crate::http::auth::CurrentTenant;
use crate::http::error::{ApiError, ApiJson, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(list)).routes(routes!(read)).routes(routes!(invite))
}

/// A survey as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SurveyView {
    id: SurveyId,
    state: StateName,
    /// The score that counts, once rated.
    score: Option<u8>,
    comment: Option<String>,
    /// The reason chosen after a negative rating: one of the configuration's `low_rating_reasons`.
    reason: Option<String>,
    /// Every score given, oldest first; more than one when the rating was changed.
    history: Vec<RatingEntry>,
    /// The scale the survey asks on, e.g. `stars:5`.
    #[schema(value_type = Scale)]
    scale: String,
    conversation: ConversationId,
    /// Which resolution of the conversation the survey is about: 1 for its first close.
    resolution: u32,
    channel: ChannelId,
    recipient: RecipientId,
    agent: Option<AgentId>,
    /// The locale the survey speaks.
    #[schema(value_type = Locale)]
    locale: String,
    origin: Origin,
    created_at: Timestamp,
    sent_at: Option<Timestamp>,
    /// How the channel sent the invitation, where it has several ways: `free_form` or
    /// `template:<name>` on WhatsApp, `RESPONSE` or `MESSAGE_TAG:<tag>` on Messenger.
    route: Option<String>,
    /// Until when a rating counts, while pending.
    deadline: Option<Timestamp>,
    /// Until when the rating may be changed, while rated.
    changeable_until: Option<Timestamp>,
    /// When it expired, failed or was cancelled.
    ended_at: Option<Timestamp>,
    failure: Option<FailureReason>,
}

impl SurveyView {
    pub fn new(survey: Survey) -> Self {
        let (deadline, changeable_until, ended_at, failure, reason) = match &survey.state {
            SurveyState::Pending { deadline, .. } => (Some(*deadline), None, None, None, None),
            SurveyState::Rated { changeable_until, reason, .. } => {
                (None, Some(*changeable_until), None, None, reason.clone())
            }
            SurveyState::Locked { reason, .. } => (None, None, None, None, reason.clone()),
            SurveyState::Expired { at } | SurveyState::Cancelled { at } => (None, None, Some(*at), None, None),
            SurveyState::Failed { reason, at } => (None, None, Some(*at), Some(reason.clone()), None),
        };
        let invitation = survey.invitation.clone();
        SurveyView {
            state: survey.state.name(),
            score: survey.score().map(|s| s.value()),
            comment: survey.comment().map(str::to_owned),
            reason,
            scale: survey.rules.scale.to_string(),
            history: survey.ratings.clone(),
            id: survey.id,
            conversation: invitation.conversation,
            resolution: invitation.resolution,
            channel: invitation.channel,
            recipient: invitation.recipient,
            agent: invitation.agent,
            locale: invitation.locale.to_string(),
            origin: invitation.origin,
            created_at: survey.created_at,
            sent_at: survey.sent_at,
            route: survey.route.clone(),
            deadline,
            changeable_until,
            ended_at,
            failure,
        }
    }
}

/// One survey.
#[utoipa::path(
    get,
    path = "/v1/surveys/{id}",
    operation_id = "read_survey",
    tag = "surveys",
    params(("id" = String, Path, description = "The survey's id")),
    responses(
        (status = 200, description = "The survey", body = SurveyView),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    Path(id): Path<String>,
) -> Result<Json<SurveyView>, ApiError> {
    let survey_id = SurveyId::new(id.clone()).map_err(|_| ApiError::not_found("survey", &id))?;
    let survey = state.flow.store.get(&tenant, &survey_id).await?.ok_or_else(|| ApiError::not_found("survey", &id))?;
    Ok(Json(SurveyView::new(survey)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only surveys in this state.
    #[param(inline)]
    state: Option<StateName>,
    /// Only surveys sent on this channel.
    #[param(inline)]
    channel: Option<ChannelId>,
    /// Only surveys credited to this agent.
    #[param(inline)]
    agent: Option<AgentId>,
    /// Only surveys whose score that counts is this one (0 to 10, as scales go).
    #[param(minimum = 0, maximum = 10)]
    score: Option<u8>,
    /// Created at or after (RFC 3339); default 30 days ago.
    from: Option<Timestamp>,
    /// Created before (RFC 3339); default now.
    to: Option<Timestamp>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// `next` from the previous page.
    #[param(pattern = r"^-?[0-9]{1,19}~[A-Za-z0-9._@+:-]{1,128}$")]
    cursor: Option<String>,
}

/// One page of surveys, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
struct Page {
    surveys: Vec<SurveyView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next: Option<String>,
}

/// How many surveys one page may read from the store while filtering, at most.
const SCAN_LIMIT: usize = 5000;

/// The tenant's surveys, filtered, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/surveys",
    operation_id = "list_surveys",
    tag = "surveys",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of surveys", body = Page),
        (status = 400, response = BadRequest),
        (status = 422, response = Invalid),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    let now = Timestamp::now();
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 200"));
    }
    // No scale goes past 10: a filter beyond it would match nothing, silently.
    if query.score.is_some_and(|score| score > 10) {
        return Err(ApiError::invalid("score", "must be 0 to 10"));
    }
    let to = query.to.unwrap_or(now);
    let from = query.from.unwrap_or(now - SignedDuration::from_hours(24 * 30));
    let mut walk = Walk::new(&tenant, from, to);
    // The cursor is the creation time (to the nanosecond, as stored) and id of the last survey
    // shown.
    if let Some(cursor) = &query.cursor {
        let (at, id) = cursor
            .split_once('~')
            .and_then(|(ns, id)| Some((Timestamp::from_nanosecond(ns.parse().ok()?).ok()?, SurveyId::new(id).ok()?)))
            .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor from a previous page"))?;
        walk = walk.resumed(at, id);
    }
    let cursor = |at: Timestamp, id: &SurveyId| format!("{}~{id}", at.as_nanosecond());
    let matches = |survey: &Survey| {
        query.state.is_none_or(|s| survey.state.name() == s)
            && query.channel.as_ref().is_none_or(|c| &survey.invitation.channel == c)
            && query.agent.as_ref().is_none_or(|a| survey.invitation.agent.as_ref() == Some(a))
            && query.score.is_none_or(|s| survey.score().map(|x| x.value()) == Some(s))
    };
    let mut page = Vec::new();
    let mut scanned = 0;
    let mut next = None;
    'scan: while scanned < SCAN_LIMIT {
        let batch = walk.next_page(&*state.flow.store).await?;
        if batch.is_empty() {
            break;
        }
        for survey in batch {
            scanned += 1;
            if matches(&survey) {
                if page.len() == limit {
                    next = page.last().map(|s: &Survey| cursor(s.created_at, &s.id));
                    break 'scan;
                }
                page.push(survey);
            }
        }
    }
    if next.is_none() && scanned >= SCAN_LIMIT {
        next = walk.position().map(|(at, id)| cursor(at, id));
    }
    Ok(Json(Page { surveys: page.into_iter().map(SurveyView::new).collect(), next }))
}

/// An agent's request for a survey.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    conversation: ConversationId,
    channel: ChannelId,
    recipient: RecipientId,
    /// The agent credited; by default the conversation's, when ratewire knows it.
    agent: Option<AgentId>,
    /// The end user's language: one tag, or an Accept-Language style list.
    locale: Option<String>,
}

/// An agent asks for a survey.
#[utoipa::path(
    post,
    path = "/v1/invitations",
    operation_id = "invite",
    tag = "surveys",
    request_body = InviteBody,
    responses(
        (status = 201, description = "The survey, sent (or failed to send: see `state` and `failure`)", body = SurveyView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
async fn invite(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<SurveyView>), ApiError> {
    // The channel must exist before anything else is said about the invitation.
    records::channel(&*state.flow.store, &tenant, body.channel.as_str())
        .await
        .map_err(|e| ApiError::from(e).in_field("channel"))?;
    let known = conversations::load(&state.flow, &tenant, &body.conversation).await?;
    let resolution = known.as_ref().map_or(1, |c| c.value.conversation.resolution());
    let agent = body.agent.or_else(|| known.as_ref().and_then(|c| c.value.conversation.credited_agent().cloned()));
    let mut languages: Vec<String> = body.locale.into_iter().collect();
    languages.extend(known.map(|c| c.value.languages).unwrap_or_default());
    let request = InviteRequest {
        conversation: body.conversation,
        resolution,
        channel: body.channel,
        recipient: body.recipient,
        agent,
        languages,
        origin: Origin::Agent,
    };
    let survey = surveys::invite(&state.flow, &tenant, request, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(SurveyView::new(survey))))
}
