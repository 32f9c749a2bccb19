//! The pages an email's links open, under `/email/{tenant}/{channel}/…`: server-rendered HTML
//! in the survey's language, right to left for Arabic and Hebrew, that works without JavaScript.
//!
//! - `rate/{token}`: a GET asks to confirm the rating the link stands for, and only the POST of
//!   that page records it, because mail scanners open every link of a message. It answers with
//! - `survey/{token}`: the survey as it is now — the levels while a rating counts, the reasons
//!   after a low rating, the comment box — each answered by a POST to the same page.
//! - `reason/{token}`: the same for one reason of a low rating, the links of the email that
//!   asks for the reason.
//! - `unsubscribe/{token}`: a GET asks, a POST unsubscribes; mail clients' one-click
//!   unsubscribe (RFC 8058) posts to it directly.
//!
//! Failures answer with the status [`ApiError`] gives them, as a page in the browser's
//! language; forms post to paths relative to the page, so the pages work under any
//! `public_url`.
//!
//! Tokens are the email channel's to make and check ([`ratewire_adapters::email::links`]); the
//! survey rules are the core's, reached through [`service`]. A page shows what a transition
//! calls for itself: no follow-up email is sent for what was answered on a page.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ratewire_adapters::email::{Link, LinkKey, Links};
use ratewire_adapters::html::{escape, level_title};
use ratewire_core::store::ApplyError;
use ratewire_core::{
    ChannelId, Event, Locale, Message, RecipientId, Refusal, Scale, Score, Survey, SurveyId, SurveyState, TenantId,
    Texts,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::records::{self, ChannelRecord};
use crate::{sending, service};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(confirm_rating, record_rating))
        .routes(routes!(confirm_reason, record_reason))
        .routes(routes!(survey_page, answer))
        .routes(routes!(unsubscribe_page, unsubscribe))
}

/// Where a channel's pages are: `<base>/email/<tenant>/<channel>`.
pub fn pages_url(base: &str, tenant: &TenantId, channel: &ChannelId) -> String {
    format!("{base}/email/{tenant}/{channel}")
}

/// A page's path: the tenant, the channel and the link's token.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct PageLink {
    tenant: String,
    channel: String,
    /// The link's token.
    token: String,
}

/// Every page's answer to a link that is damaged, was edited, or names nothing.
pub struct LinkNotFound;

/// Every page's answer when the store can't be read.
pub struct PageUnavailable;

impl<'r> utoipa::ToResponse<'r> for LinkNotFound {
    fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::response::Response>) {
        ("LinkNotFound", html_response("The link is damaged, edited, or names nothing: a page says so"))
    }
}

impl<'r> utoipa::ToResponse<'r> for PageUnavailable {
    fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::response::Response>) {
        ("PageUnavailable", html_response("The store is unavailable: a page asks to try again shortly"))
    }
}

/// A documented answer that is a page.
fn html_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::response::Response> {
    let content =
        utoipa::openapi::ContentBuilder::new().schema(Some(<String as utoipa::PartialSchema>::schema())).build();
    utoipa::openapi::ResponseBuilder::new().description(description).content("text/html", content).build().into()
}

/// A rating link's page: the rating it stands for, to confirm.
#[utoipa::path(
    get,
    path = "/email/{tenant}/{channel}/rate/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "The rating to confirm; the survey's page once it is recorded; or, when it no longer counts, why", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn confirm_rating(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Rate { survey, score } = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = service::texts_for(&state, &survey).await?;
        let now = Timestamp::now();
        if survey.score() == Some(*score) || !survey.takes_rating(now) {
            return Ok(survey_page_of(&state, &opened, &survey, &texts, now, None, StatusCode::OK));
        }
        let locale = survey.invitation.locale;
        let body = format!(
            "<p class=\"context\">{invitation}</p><h1>{prompt}</h1>{level}<form method=\"post\">\
             <button type=\"submit\" class=\"primary\">{confirm}</button></form>",
            invitation = escape(&texts.invitation),
            prompt = escape(&text(&state, locale, Message::EmailConfirmPrompt)),
            level = level(survey.rules.scale, *score, &texts),
            confirm = escape(&text(&state, locale, Message::EmailConfirm)),
        );
        Ok(page(StatusCode::OK, locale, &texts.invitation, &body))
    }
    .await;
    respond(&state, &headers, result)
}

/// Records the rating a rating link stands for, and shows the survey's page.
#[utoipa::path(
    post,
    path = "/email/{tenant}/{channel}/rate/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "Recorded: the survey's page, with what it asks next", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 409, description = "The rating no longer counts (the survey expired, the rating is final): the page says why", content_type = "text/html", body = String),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn record_rating(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Rate { survey, score } = &opened.link else { return Err(invalid_link()) };
        opened.apply(&state, survey, Event::Rate(*score)).await
    }
    .await;
    respond(&state, &headers, result)
}

/// A reason link's page: the reason it stands for, to confirm.
#[utoipa::path(
    get,
    path = "/email/{tenant}/{channel}/reason/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "The reason to confirm; or, when the survey no longer awaits one, the survey's page", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn confirm_reason(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Reason { survey, reason } = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = service::texts_for(&state, &survey).await?;
        let now = Timestamp::now();
        let offered = texts.reasons.iter().find(|(id, _)| id == reason).map(|(_, label)| label);
        let Some(label) = offered.filter(|_| survey.awaits_reason(now)) else {
            return Ok(survey_page_of(&state, &opened, &survey, &texts, now, None, StatusCode::OK));
        };
        let locale = survey.invitation.locale;
        let body = format!(
            "<p class=\"context\">{question}</p><h1>{prompt}</h1><p class=\"level\">{label}</p><form method=\"post\">\
             <button type=\"submit\" class=\"primary\">{confirm}</button></form>",
            question = escape(&texts.reason_prompt),
            prompt = escape(&text(&state, locale, Message::EmailReasonPrompt)),
            label = escape(label),
            confirm = escape(&text(&state, locale, Message::EmailReasonConfirm)),
        );
        Ok(page(StatusCode::OK, locale, &texts.reason_prompt, &body))
    }
    .await;
    respond(&state, &headers, result)
}

/// Records the reason a reason link stands for, and shows the survey's page.
#[utoipa::path(
    post,
    path = "/email/{tenant}/{channel}/reason/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "Recorded: the survey's page, with what it asks next", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 409, description = "The survey takes no reason now (none asked, expired): the page says so", content_type = "text/html", body = String),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn record_reason(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Reason { survey, reason } = &opened.link else { return Err(invalid_link()) };
        opened.apply(&state, survey, Event::ChooseReason(reason.clone())).await
    }
    .await;
    respond(&state, &headers, result)
}

/// A survey's page: the survey as it is now, and what it still takes.
#[utoipa::path(
    get,
    path = "/email/{tenant}/{channel}/survey/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "The survey's page", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn survey_page(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Survey(survey) = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = service::texts_for(&state, &survey).await?;
        Ok(survey_page_of(&state, &opened, &survey, &texts, Timestamp::now(), None, StatusCode::OK))
    }
    .await;
    respond(&state, &headers, result)
}

/// One answer on a survey's page: a score, a reason or a comment.
#[derive(Deserialize, utoipa::ToSchema)]
struct AnswerForm {
    /// A level of the survey's scale.
    score: Option<String>,
    /// One of the reasons offered after a low rating.
    reason: Option<String>,
    comment: Option<String>,
}

/// Takes one answer given on a survey's page, and shows the page again.
#[utoipa::path(
    post,
    path = "/email/{tenant}/{channel}/survey/{token}",
    tag = "email",
    params(PageLink),
    request_body(content = AnswerForm, content_type = "application/x-www-form-urlencoded", description = "Exactly one of `score`, `reason` and `comment`"),
    responses(
        (status = 200, description = "Taken: the survey's page, with what it asks next", content_type = "text/html", body = String),
        (status = 400, description = "The form is not the page's, or the comment is blank: the page says what is wrong", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 409, description = "The survey does not take it (expired, final, already commented): the page says why", content_type = "text/html", body = String),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn answer(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Survey(survey) = &opened.link else { return Err(invalid_link()) };
        let Form(form) =
            form.map_err(|rejection| ApiError::unread_form(rejection, |rejection| bad_form(rejection.body_text())))?;
        let event = match (form.score, form.reason, form.comment) {
            (Some(score), None, None) => {
                let score = score.trim().parse::<u32>().ok().and_then(|n| Scale::NPS.score(n).ok());
                Event::Rate(score.ok_or_else(|| bad_form("score must be a level, 0 to 10".into()))?)
            }
            (None, Some(reason), None) => Event::ChooseReason(reason),
            (None, None, Some(comment)) => Event::Comment(comment),
            _ => return Err(bad_form("send one of score, reason or comment".into())),
        };
        opened.apply(&state, survey, event).await
    }
    .await;
    respond(&state, &headers, result)
}

/// An unsubscribe link's page: asks before it unsubscribes.
#[utoipa::path(
    get,
    path = "/email/{tenant}/{channel}/unsubscribe/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "The question, or that the address is already unsubscribed", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let locale = browser_locale(&headers);
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Unsubscribe(address) = &opened.link else { return Err(invalid_link()) };
        if sending::is_unsubscribed(&state, &opened.tenant, address).await? {
            return Ok(unsubscribed_page(&state, locale, address));
        }
        let prompt = text(&state, locale, Message::EmailUnsubscribePrompt);
        let body = format!(
            "<h1>{prompt}</h1><p class=\"context\">{address}</p><form method=\"post\">\
             <button type=\"submit\" class=\"primary\">{button}</button></form>",
            prompt = escape(&prompt),
            address = escape(address.as_str()),
            button = escape(&text(&state, locale, Message::EmailUnsubscribe)),
        );
        Ok(page(StatusCode::OK, locale, &prompt, &body))
    }
    .await;
    respond(&state, &headers, result)
}

/// Unsubscribes an address: no more rating requests to it, on any of the business's channels.
/// Mail clients' one-click unsubscribe (RFC 8058) posts `List-Unsubscribe=One-Click` here.
#[utoipa::path(
    post,
    path = "/email/{tenant}/{channel}/unsubscribe/{token}",
    tag = "email",
    params(PageLink),
    responses(
        (status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 404, response = LinkNotFound),
        (status = 503, response = PageUnavailable),
    ),
)]
async fn unsubscribe(
    State(state): State<AppState>,
    Path(PageLink { tenant, channel, token }): Path<PageLink>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let opened = open(&state, &tenant, &channel, &token).await?;
        let Link::Unsubscribe(address) = &opened.link else { return Err(invalid_link()) };
        sending::unsubscribe(&state, &opened.tenant, &opened.channel.id, address, Timestamp::now()).await?;
        tracing::info!(tenant = %opened.tenant, channel = %opened.channel.id, "an address unsubscribed");
        Ok(unsubscribed_page(&state, browser_locale(&headers), address))
    }
    .await;
    respond(&state, &headers, result)
}

/// A link that is damaged, was edited, or names a channel or survey that isn't there.
fn invalid_link() -> ApiError {
    ApiError::not_found("link", "of this channel")
}

/// A posted form that is not the page's.
fn bad_form(message: String) -> ApiError {
    ApiError::BadRequest { code: "bad_form", message }
}

/// A page's answer; a failure as a page in the browser's language, with the status the error
/// has everywhere. What went wrong inside stays in the log: the page asks to try again.
fn respond(state: &AppState, headers: &HeaderMap, result: Result<Response, ApiError>) -> Response {
    let error = match result {
        Ok(response) => return response,
        Err(error) => error,
    };
    let locale = browser_locale(headers);
    let message = match &error {
        ApiError::NotFound { .. } => text(state, locale, Message::EmailLinkInvalid),
        ApiError::BadRequest { message, .. } => message.clone(),
        _ => {
            tracing::warn!(code = error.code(), "an email page failed: {error}");
            text(state, locale, Message::EmailTryAgain)
        }
    };
    page(error.status(), locale, &message, &format!("<h1>{}</h1>", escape(&message)))
}

/// A link, checked, with the channel it belongs to.
struct Opened {
    tenant: TenantId,
    channel: ChannelRecord,
    link: Link,
    /// The channel's links, as paths relative to a page.
    links: Links,
}

/// Checks a link: an email channel of the tenant, and a token it signed.
async fn open(state: &AppState, tenant: &str, channel: &str, token: &str) -> Result<Opened, ApiError> {
    let (Ok(tenant), Ok(channel_id)) = (TenantId::new(tenant), ChannelId::new(channel)) else {
        return Err(invalid_link());
    };
    let channel = records::channel(&*state.store, &tenant, channel_id.as_str())
        .await
        .map_err(|error| if matches!(error, ApiError::NotFound { .. }) { invalid_link() } else { error })?
        .value;
    if !channel.kind.definition().serves_pages {
        return Err(invalid_link());
    }
    let key = LinkKey::new(&channel.verify_token);
    let link = key.open(token).map_err(|_| invalid_link())?;
    // Every page is two levels under the channel's (`<kind>/<token>`): `..` leads back to it,
    // wherever the gateway is served.
    let links = Links::new("..", key);
    Ok(Opened { tenant, channel, link, links })
}

impl Opened {
    /// The path of another of the channel's links, relative to the page.
    fn path(&self, link: &Link) -> String {
        self.links.url(link)
    }

    /// A survey a link names, which must be the channel's.
    async fn survey(&self, state: &AppState, id: &SurveyId) -> Result<Survey, ApiError> {
        let survey = state.store.get(&self.tenant, id).await?;
        survey.filter(|s| s.invitation.channel == self.channel.id).ok_or_else(invalid_link)
    }

    /// Applies what the end user answered on a page; the survey's page, with why it was refused
    /// if it was.
    async fn apply(&self, state: &AppState, id: &SurveyId, event: Event) -> Result<Response, ApiError> {
        let survey = self.survey(state, id).await?;
        let now = Timestamp::now();
        match service::apply_on_page(state, &self.tenant, &survey.id, event, now).await {
            Ok(transition) => {
                let texts = service::texts_for(state, &transition.survey).await?;
                Ok(survey_page_of(state, self, &transition.survey, &texts, now, None, StatusCode::OK))
            }
            Err(ApplyError::Refused(refusal)) => {
                let texts = service::texts_for(state, &survey).await?;
                let locale = survey.invitation.locale;
                let notice = match (refusal.reply(), &refusal) {
                    (Some(reply), _) => service::reply_text(&texts, reply).to_owned(),
                    (None, Refusal::EmptyComment) => text(state, locale, Message::EmailCommentEmpty),
                    (None, _) => text(state, locale, Message::EmailAnswerNotTaken),
                };
                let status = ApiError::from(refusal).status();
                Ok(survey_page_of(state, self, &survey, &texts, now, Some(&notice), status))
            }
            Err(ApplyError::NotFound(_)) => Err(invalid_link()),
            Err(ApplyError::Store(error)) => Err(error.into()),
        }
    }
}

/// The survey's page: a notice if something was refused, then the survey as it is now.
fn survey_page_of(
    state: &AppState,
    opened: &Opened,
    survey: &Survey,
    texts: &Texts,
    now: Timestamp,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let locale = survey.invitation.locale;
    let scale = survey.rules.scale;
    let mut body = notice.map(|n| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(n))).unwrap_or_default();
    let action = escape(&opened.path(&Link::Survey(survey.id.clone())));
    let levels = |current: Option<Score>| {
        let buttons: String = scale
            .scores()
            .map(|score| {
                let title = level_title(scale, score);
                let label = texts.labels.get(score);
                let name = match label {
                    Some(label) => format!("{score} / {} – {label}", scale.max()),
                    None => format!("{score} / {}", scale.max()),
                };
                format!(
                    "<button type=\"submit\" name=\"score\" value=\"{score}\" aria-label=\"{name}\" aria-pressed=\"{pressed}\">\
                     <span class=\"title\">{title}</span><span class=\"label\">{label}</span></button>",
                    name = escape(&name),
                    pressed = current == Some(score),
                    title = escape(&title),
                    label = escape(label.unwrap_or_default()),
                )
            })
            .collect();
        // A few levels read best one under the other, each with its label; many as a grid.
        let layout = if scale.levels() <= 5 { "levels list" } else { "levels grid" };
        format!("<form method=\"post\" action=\"{action}\" class=\"{layout}\">{buttons}</form>")
    };
    let heading = match &survey.state {
        SurveyState::Pending { .. } if survey.takes_rating(now) => {
            body.push_str(&format!("<h1>{}</h1>{}", escape(&texts.invitation), levels(None)));
            texts.invitation.clone()
        }
        SurveyState::Rated { score, .. } | SurveyState::Locked { score, .. } => {
            body.push_str(&format!("<h1>{}</h1>", escape(&texts.thank_you)));
            if survey.takes_rating(now) {
                body.push_str(&levels(Some(*score)));
            } else {
                body.push_str(&level(scale, *score, texts));
            }
            if survey.awaits_reason(now) {
                let buttons: String = texts
                    .reasons
                    .iter()
                    .map(|(id, label)| {
                        format!(
                            "<button type=\"submit\" name=\"reason\" value=\"{}\">{}</button>",
                            escape(id),
                            escape(label)
                        )
                    })
                    .collect();
                body.push_str(&format!(
                    "<h2>{}</h2><form method=\"post\" action=\"{action}\" class=\"reasons\">{buttons}</form>",
                    escape(&texts.reason_prompt)
                ));
            } else if survey.awaits_comment(now) {
                body.push_str(&format!(
                    "<form method=\"post\" action=\"{action}\" class=\"comment\"><label for=\"comment\">{prompt}</label>\
                     <textarea id=\"comment\" name=\"comment\" maxlength=\"{max}\" required></textarea>\
                     <button type=\"submit\" class=\"primary\">{send}</button></form>",
                    prompt = escape(&texts.comment_prompt),
                    max = ratewire_core::survey::MAX_COMMENT_CHARS,
                    send = escape(&text(state, locale, Message::WidgetSend)),
                ));
            }
            if let Some(comment) = survey.comment() {
                body.push_str(&format!(
                    "<p>{}</p><blockquote>{}</blockquote>",
                    escape(&texts.comment_thanks),
                    escape(comment)
                ));
            } else if !survey.takes_rating(now) && !survey.awaits_comment(now) && notice.is_none() {
                body.push_str(&format!("<p class=\"context\">{}</p>", escape(&texts.rating_locked)));
            }
            texts.thank_you.clone()
        }
        // Past its deadline, expired, or never delivered: nothing to answer any more.
        _ => {
            if notice.is_none() {
                body.push_str(&format!("<h1>{}</h1>", escape(&texts.expiry_notice)));
            }
            texts.expiry_notice.clone()
        }
    };
    page(status, locale, &heading, &body)
}

/// One level, as the rating shown.
fn level(scale: Scale, score: Score, texts: &Texts) -> String {
    let label =
        texts.labels.get(score).map(|l| format!("<span class=\"label\">{}</span>", escape(l))).unwrap_or_default();
    format!("<p class=\"level\"><span class=\"title\">{}</span>{label}</p>", escape(&level_title(scale, score)))
}

fn unsubscribed_page(state: &AppState, locale: Locale, address: &RecipientId) -> Response {
    let done = text(state, locale, Message::EmailUnsubscribed);
    let body = format!("<h1>{}</h1><p class=\"context\">{}</p>", escape(&done), escape(address.as_str()));
    page(StatusCode::OK, locale, &done, &body)
}

/// A shipped text in a locale.
fn text(state: &AppState, locale: Locale, message: Message) -> String {
    state.catalog.scale_free_text(locale, message)
}

/// The browser's language, for pages that have no survey to take it from.
fn browser_locale(headers: &HeaderMap) -> Locale {
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(accepted, Locale::En)
}

const STYLE: &str = "\
body{margin:0;background:#f2f4f7;color:#101828;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{max-width:34rem;margin:1.5rem auto;padding:1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px #1018281a}\
h1{font-size:1.3rem;margin:0 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}\
.context{color:#475467;margin:0 0 .5rem}.notice{background:#fef3f2;color:#b42318;padding:.75rem;border-radius:8px}\
form{margin:.75rem 0}.reasons{display:flex;flex-wrap:wrap;gap:.5rem}\
.list{display:flex;flex-direction:column;gap:.5rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(3.25rem,1fr));gap:.5rem}\
button{font:inherit;cursor:pointer;min-height:44px;padding:.5rem .9rem;border:1px solid #d0d5dd;border-radius:8px;background:#fff;color:inherit}\
button:focus-visible{outline:3px solid #84adff;outline-offset:2px}\
button[aria-pressed=true]{background:#eff4ff;border-color:#155eef}.primary{background:#155eef;border-color:#155eef;color:#fff}\
.list button{display:flex;align-items:center;gap:.75rem;text-align:start}.grid button{font-size:1.1rem}\
.title{color:#dc6803;font-size:1.3rem;letter-spacing:.1em;white-space:nowrap}.grid .title{color:inherit}\
.label{display:block;color:#475467}.level{text-align:center;margin:1rem 0}.level .title{display:block;font-size:2.2rem}\
.primary{width:100%}\
.comment label{display:block;margin-bottom:.5rem}\
textarea{display:block;width:100%;box-sizing:border-box;min-height:6rem;margin-bottom:.75rem;padding:.5rem;font:inherit;border:1px solid #d0d5dd;border-radius:8px}\
blockquote{margin:0;padding:.5rem .75rem;border-inline-start:3px solid #d0d5dd;color:#344054;white-space:pre-wrap}\
@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}";

/// A page: the document in the locale's language and direction, with headers that keep the
/// link's token out of caches and referrers and allow no script.
fn page(status: StatusCode, locale: Locale, title: &str, body: &str) -> Response {
    let dir = if locale.is_rtl() { "rtl" } else { "ltr" };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        lang = locale.tag(),
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
