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

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use ratewire_adapters::email::{Link, LinkKey, Links};
use ratewire_adapters::html::level_title;
use ratewire_core::store::ApplyError;
use ratewire_core::{
    ChannelId, Event, Locale, Message, RecipientId, Refusal, Scale, Score, Survey, SurveyId, SurveyState, TenantId,
    Texts,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::FlowError;
use crate::flow::records::{self, ChannelRecord};
use crate::flow::surveys;
use crate::http::error::ApiError;
use crate::http::{AppState, html};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(confirm_rating, record_rating))
        .routes(routes!(confirm_reason, record_reason))
        .routes(routes!(survey_page, answer))
        .routes(routes!(unsubscribe_page, unsubscribe))
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
async fn confirm_rating(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Rate { survey, score } = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = surveys::texts_for(&state.flow, &survey).await?;
        let now = Timestamp::now();
        if survey.score() == Some(*score) || !survey.takes_rating(now) {
            return Ok(survey_page_of(&state, &opened, &survey, &texts, now, None, StatusCode::OK));
        }
        let locale = survey.invitation.locale;
        let confirm = ConfirmRating {
            frame: Frame::new(locale, &texts.invitation),
            invitation: &texts.invitation,
            prompt: text(&state, locale, Message::EmailConfirmPrompt),
            level: Level::new(survey.rules.scale, *score, &texts),
            confirm: text(&state, locale, Message::EmailConfirm),
        };
        Ok(page(StatusCode::OK, &confirm))
    })
    .await
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
async fn record_rating(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Rate { survey, score } = &opened.link else { return Err(invalid_link()) };
        opened.apply(&state, survey, Event::Rate(*score)).await
    })
    .await
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
async fn confirm_reason(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Reason { survey, reason } = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = surveys::texts_for(&state.flow, &survey).await?;
        let now = Timestamp::now();
        let offered = texts.reasons.iter().find(|(id, _)| id == reason).map(|(_, label)| label);
        let Some(label) = offered.filter(|_| survey.awaits_reason(now)) else {
            return Ok(survey_page_of(&state, &opened, &survey, &texts, now, None, StatusCode::OK));
        };
        let locale = survey.invitation.locale;
        let confirm = ConfirmReason {
            frame: Frame::new(locale, &texts.reason_prompt),
            question: &texts.reason_prompt,
            prompt: text(&state, locale, Message::EmailReasonPrompt),
            label,
            confirm: text(&state, locale, Message::EmailReasonConfirm),
        };
        Ok(page(StatusCode::OK, &confirm))
    })
    .await
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
async fn record_reason(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Reason { survey, reason } = &opened.link else { return Err(invalid_link()) };
        opened.apply(&state, survey, Event::ChooseReason(reason.clone())).await
    })
    .await
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
async fn survey_page(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Survey(survey) = &opened.link else { return Err(invalid_link()) };
        let survey = opened.survey(&state, survey).await?;
        let texts = surveys::texts_for(&state.flow, &survey).await?;
        Ok(survey_page_of(&state, &opened, &survey, &texts, Timestamp::now(), None, StatusCode::OK))
    })
    .await
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
    Path(link): Path<PageLink>,
    headers: HeaderMap,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    on_link(&state, &headers, &link, async |opened| {
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
    })
    .await
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
async fn unsubscribe_page(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    let locale = browser_locale(&headers);
    on_link(&state, &headers, &link, async |opened| {
        let Link::Unsubscribe(address) = &opened.link else { return Err(invalid_link()) };
        if crate::flow::contacts::is_unsubscribed(&state.flow, &opened.tenant, address).await? {
            return Ok(unsubscribed_page(&state, locale, address));
        }
        let prompt = text(&state, locale, Message::EmailUnsubscribePrompt);
        let ask = Unsubscribe {
            frame: Frame::new(locale, &prompt),
            address: address.as_str(),
            button: text(&state, locale, Message::EmailUnsubscribe),
        };
        Ok(page(StatusCode::OK, &ask))
    })
    .await
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
async fn unsubscribe(State(state): State<AppState>, Path(link): Path<PageLink>, headers: HeaderMap) -> Response {
    on_link(&state, &headers, &link, async |opened| {
        let Link::Unsubscribe(address) = &opened.link else { return Err(invalid_link()) };
        crate::flow::contacts::unsubscribe(&state.flow, &opened.tenant, &opened.channel.id, address, Timestamp::now())
            .await?;
        tracing::info!(tenant = %opened.tenant, channel = %opened.channel.id, "an address unsubscribed");
        Ok(unsubscribed_page(&state, browser_locale(&headers), address))
    })
    .await
}

/// A link that is damaged, was edited, or names a channel or survey that isn't there.
fn invalid_link() -> ApiError {
    ApiError::not_found("link", "of this channel")
}

/// A posted form that is not the page's.
fn bad_form(message: String) -> ApiError {
    ApiError::BadRequest { code: "bad_form", message }
}

/// Answers a page's link: the link checked, then `answer` given it; a failure as a page.
async fn on_link(
    state: &AppState,
    headers: &HeaderMap,
    link: &PageLink,
    answer: impl AsyncFnOnce(Opened) -> Result<Response, ApiError>,
) -> Response {
    let result = match open(state, &link.tenant, &link.channel, &link.token).await {
        Ok(opened) => answer(opened).await,
        Err(error) => Err(error),
    };
    respond(state, headers, result)
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
    page(error.status(), &Failure { frame: Frame::new(locale, &message) })
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
    let channel = records::channel(&*state.flow.store, &tenant, channel_id.as_str())
        .await
        .map_err(|error| if matches!(error, FlowError::NotFound { .. }) { invalid_link() } else { error.into() })?
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
        let survey = state.flow.store.get(&self.tenant, id).await?;
        survey.filter(|s| s.invitation.channel == self.channel.id).ok_or_else(invalid_link)
    }

    /// Applies what the end user answered on a page; the survey's page, with why it was refused
    /// if it was.
    async fn apply(&self, state: &AppState, id: &SurveyId, event: Event) -> Result<Response, ApiError> {
        let survey = self.survey(state, id).await?;
        let now = Timestamp::now();
        match surveys::apply_on_page(&state.flow, &self.tenant, &survey.id, event, now).await {
            Ok(transition) => {
                let texts = surveys::texts_for(&state.flow, &transition.survey).await?;
                Ok(survey_page_of(state, self, &transition.survey, &texts, now, None, StatusCode::OK))
            }
            Err(ApplyError::Refused(refusal)) => {
                let texts = surveys::texts_for(&state.flow, &survey).await?;
                let locale = survey.invitation.locale;
                let notice = match (refusal.reply(), &refusal) {
                    (Some(reply), _) => surveys::reply_text(&texts, reply).to_owned(),
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
    let levels = |current: Option<Score>| {
        let button = |score| {
            let label = texts.labels.get(score);
            let name = match label {
                Some(label) => format!("{score} / {} – {label}", scale.max()),
                None => format!("{score} / {}", scale.max()),
            };
            LevelButton {
                score,
                name,
                pressed: current == Some(score),
                title: level_title(scale, score),
                label: label.unwrap_or_default(),
            }
        };
        Some(scale.scores().map(button).collect())
    };
    let mut page_of = SurveyPage {
        frame: Frame::new(locale, &texts.expiry_notice),
        notice,
        action: opened.path(&Link::Survey(survey.id.clone())),
        heading: None,
        levels: None,
        shown: None,
        reasons: None,
        comment_form: None,
        comment: None,
        locked: None,
    };
    match &survey.state {
        SurveyState::Pending { .. } if survey.takes_rating(now) => {
            page_of.frame.title = &texts.invitation;
            page_of.heading = Some(&texts.invitation);
            page_of.levels = levels(None);
        }
        SurveyState::Rated { score, .. } | SurveyState::Locked { score, .. } => {
            page_of.frame.title = &texts.thank_you;
            page_of.heading = Some(&texts.thank_you);
            if survey.takes_rating(now) {
                page_of.levels = levels(Some(*score));
            } else {
                page_of.shown = Some(Level::new(scale, *score, texts));
            }
            if survey.awaits_reason(now) {
                page_of.reasons = Some(Reasons { prompt: &texts.reason_prompt, offered: &texts.reasons });
            } else if survey.awaits_comment(now) {
                page_of.comment_form = Some(CommentForm {
                    prompt: &texts.comment_prompt,
                    max: ratewire_core::survey::MAX_COMMENT_CHARS,
                    send: text(state, locale, Message::WidgetSend),
                });
            }
            if let Some(comment) = survey.comment() {
                page_of.comment = Some(Comment { thanks: &texts.comment_thanks, text: comment });
            } else if !survey.takes_rating(now) && !survey.awaits_comment(now) && notice.is_none() {
                page_of.locked = Some(&texts.rating_locked);
            }
        }
        // Past its deadline, expired, or never delivered: nothing to answer any more.
        _ => {
            if notice.is_none() {
                page_of.heading = Some(&texts.expiry_notice);
            }
        }
    }
    page(status, &page_of)
}

fn unsubscribed_page(state: &AppState, locale: Locale, address: &RecipientId) -> Response {
    let done = text(state, locale, Message::EmailUnsubscribed);
    page(StatusCode::OK, &Unsubscribed { frame: Frame::new(locale, &done), address: address.as_str() })
}

/// A shipped text in a locale.
fn text(state: &AppState, locale: Locale, message: Message) -> String {
    state.flow.catalog.scale_free_text(locale, message)
}

/// The browser's language, for pages that have no survey to take it from.
fn browser_locale(headers: &HeaderMap) -> Locale {
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(accepted, Locale::En)
}

/// What every page's layout (`base.html`) shows: the document's language, direction and title.
struct Frame<'a> {
    lang: &'static str,
    dir: &'static str,
    title: &'a str,
}

impl<'a> Frame<'a> {
    fn new(locale: Locale, title: &'a str) -> Self {
        Frame { lang: locale.tag(), dir: if locale.is_rtl() { "rtl" } else { "ltr" }, title }
    }
}

/// One level, as the rating shown.
struct Level<'a> {
    title: String,
    label: Option<&'a str>,
}

impl<'a> Level<'a> {
    fn new(scale: Scale, score: Score, texts: &'a Texts) -> Self {
        Level { title: level_title(scale, score), label: texts.labels.get(score) }
    }
}

#[derive(Template)]
#[template(path = "email_pages/confirm_rating.html")]
struct ConfirmRating<'a> {
    frame: Frame<'a>,
    invitation: &'a str,
    prompt: String,
    level: Level<'a>,
    confirm: String,
}

#[derive(Template)]
#[template(path = "email_pages/confirm_reason.html")]
struct ConfirmReason<'a> {
    frame: Frame<'a>,
    question: &'a str,
    prompt: String,
    label: &'a str,
    confirm: String,
}

#[derive(Template)]
#[template(path = "email_pages/survey.html")]
struct SurveyPage<'a> {
    frame: Frame<'a>,
    notice: Option<&'a str>,
    /// Where the page's forms post: the page itself, relative to it.
    action: String,
    heading: Option<&'a str>,
    /// The levels to rate with, while a rating counts.
    levels: Option<Vec<LevelButton<'a>>>,
    /// The rating, once it no longer changes.
    shown: Option<Level<'a>>,
    reasons: Option<Reasons<'a>>,
    comment_form: Option<CommentForm<'a>>,
    comment: Option<Comment<'a>>,
    /// Why nothing more is asked, when nothing else says it.
    locked: Option<&'a str>,
}

struct LevelButton<'a> {
    score: Score,
    /// What a screen reader says: the level out of the highest, and its label.
    name: String,
    pressed: bool,
    title: String,
    label: &'a str,
}

struct Reasons<'a> {
    prompt: &'a str,
    /// Each reason's id and label.
    offered: &'a [(String, String)],
}

struct CommentForm<'a> {
    prompt: &'a str,
    max: usize,
    send: String,
}

struct Comment<'a> {
    thanks: &'a str,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "email_pages/unsubscribe.html")]
struct Unsubscribe<'a> {
    frame: Frame<'a>,
    address: &'a str,
    button: String,
}

#[derive(Template)]
#[template(path = "email_pages/unsubscribed.html")]
struct Unsubscribed<'a> {
    frame: Frame<'a>,
    address: &'a str,
}

/// A failure: what went wrong, as the page's title and heading.
#[derive(Template)]
#[template(path = "email_pages/error.html")]
struct Failure<'a> {
    frame: Frame<'a>,
}

/// A page: the document rendered, with headers that keep the link's token out of caches and
/// referrers and allow no script.
fn page(status: StatusCode, document: &impl Template) -> Response {
    html::page(
        status,
        document,
        &[
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors \
                 'none'",
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_page_shows_is_escaped() {
        let hostile = "<script>alert(1)</script>";
        let reasons = [("\"><img src=x>".to_owned(), hostile.to_owned())];
        let html = SurveyPage {
            frame: Frame::new(Locale::En, hostile),
            notice: Some(hostile),
            action: "x\"><img src=x>".into(),
            heading: Some(hostile),
            levels: None,
            shown: Some(Level { title: "★".into(), label: Some(hostile) }),
            reasons: Some(Reasons { prompt: hostile, offered: &reasons }),
            comment_form: None,
            comment: Some(Comment { thanks: hostile, text: hostile }),
            locked: None,
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("<title>&#60;script&#62;alert(1)&#60;/script&#62;</title>"), "{html}");
        assert!(html.contains("<blockquote>&#60;script&#62;alert(1)&#60;/script&#62;</blockquote>"), "{html}");
        assert!(html.contains("action=\"x&#34;&#62;&#60;img src=x&#62;\""), "{html}");
        assert!(html.contains("value=\"&#34;&#62;&#60;img src=x&#62;\""), "{html}");
    }
}
