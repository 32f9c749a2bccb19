//! API errors: one enum, mapped to HTTP in one place. Every error answers
//! `{"error": {"code", "message", "fields"?}}` with a stable machine `code`.

use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ratewire_adapters::WebhookError;
use ratewire_core::store::{ApplyError, StoreError};
use ratewire_core::{FieldError, InviteRefusal, Refusal};
use serde::Serialize;

use crate::flow::FlowError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or unknown API key: send Authorization: Bearer <key>")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is larger than the limit (body_limit_bytes; email_body_limit_bytes for email replies)")]
    TooLarge,
    #[error("the request body did not arrive in time (http.body_read_timeout_secs)")]
    BodyTimeout,
    #[error("too many requests: slow down")]
    RateLimited,
    #[error("the store is unavailable; try again shortly")]
    Unavailable,
    /// A platform's redelivery of a message another request is still handling: redelivered
    /// again later, it is taken if that handling failed, or dropped as a repeat if it finished.
    #[error("this message is being handled; deliver it again shortly")]
    InProgress,
    /// The service has begun to stop (`/readyz`): send to another instance.
    #[error("the service is stopping")]
    Stopping,
    /// A messaging platform refused a call made on the business's behalf, or could not be reached
    /// (e.g. Telegram's `setWebhook` when a channel is connected).
    #[error("{message}")]
    BadGateway { code: &'static str, message: String },
    /// A messaging platform's webhook request, refused before anything in it is trusted.
    #[error("{0}")]
    Webhook(#[from] WebhookError),
    #[error("internal error")]
    Internal,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct Detail<'a> {
    /// A stable machine-readable code, e.g. `not_found`, `invalid`, `already_exists`.
    code: &'a str,
    /// What went wrong, for a person.
    message: String,
    /// With `invalid` (422): each field that is wrong and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>)]
    fields: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::InProgress | ApiError::Stopping => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Webhook(WebhookError::Unsigned | WebhookError::BadSignature) => StatusCode::UNAUTHORIZED,
            ApiError::Webhook(WebhookError::BadVerifyToken) => StatusCode::FORBIDDEN,
            ApiError::Webhook(WebhookError::Malformed(_)) => StatusCode::BAD_REQUEST,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::BadRequest { code, .. } | ApiError::Conflict { code, .. } | ApiError::BadGateway { code, .. } => {
                code
            }
            ApiError::Invalid(_) => "invalid",
            ApiError::TooLarge => "too_large",
            ApiError::BodyTimeout => "body_timeout",
            ApiError::RateLimited => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::InProgress => "in_progress",
            ApiError::Stopping => "stopping",
            ApiError::Webhook(WebhookError::Unsigned) => "unsigned",
            ApiError::Webhook(WebhookError::BadSignature) => "bad_signature",
            ApiError::Webhook(WebhookError::BadVerifyToken) => "bad_verify_token",
            ApiError::Webhook(WebhookError::Malformed(_)) => "malformed_webhook",
            ApiError::Internal => "internal",
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        ApiError::NotFound { what, id: id.to_string() }
    }

    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError { field: field.into(), problem: problem.into() }])
    }

    /// The error of a request body's reference, in `field`, to a record: one that doesn't exist
    /// is the body's fault, 422 naming the field, where a missing resource in the path is 404.
    pub fn in_field(self, field: &str) -> Self {
        match self {
            ApiError::NotFound { what, id } => ApiError::invalid(field, format!("no {what} {id}")),
            other => other,
        }
    }

    /// Why a request's body could not be read: over its limit, not received in time, or not
    /// received whole (the connection dropped, a broken chunked encoding).
    pub fn unreadable_body(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut causes = std::iter::successors(Some(error), |error| error.source());
        if causes.clone().any(|cause| cause.is::<http_body_util::LengthLimitError>()) {
            ApiError::TooLarge
        } else if causes.any(|cause| cause.is::<crate::http::server::BodyReadTimeout>()) {
            ApiError::BodyTimeout
        } else {
            ApiError::BadRequest { code: "unreadable_body", message: format!("the body could not be read: {error}") }
        }
    }

    /// A body axum's extractors could not read, told as [`ApiError::unreadable_body`] does.
    pub fn unread(rejection: &axum::extract::rejection::BytesRejection) -> Self {
        match rejection.status() {
            // axum tells a body over the limit by its own error type, which its rejection
            // hides from the error chain.
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            _ => ApiError::unreadable_body(rejection),
        }
    }

    /// A form that could not be taken: its body unread as any body's (413, 408, 400), or read
    /// and not the form expected, as `otherwise` says.
    pub fn unread_form(
        rejection: axum::extract::rejection::FormRejection,
        otherwise: impl FnOnce(axum::extract::rejection::FormRejection) -> ApiError,
    ) -> Self {
        match rejection {
            axum::extract::rejection::FormRejection::BytesRejection(rejection) => ApiError::unread(&rejection),
            other => otherwise(other),
        }
    }

    /// The `Retry-After` the answer carries, for errors that pass with time.
    pub fn retry_after(&self) -> Option<axum::http::HeaderValue> {
        // The rate limit refills continuously: a second always frees some room. A message in
        // hand is usually handled within the second.
        matches!(self, ApiError::RateLimited | ApiError::InProgress)
            .then_some(axum::http::HeaderValue::from_static("1"))
    }

    /// The body the error answers with: `{"error": {"code", "message", "fields"?}}`.
    pub fn body(&self) -> Body<'_> {
        let fields = match self {
            ApiError::Invalid(fields) => Some(fields.as_slice()),
            _ => None,
        };
        Body { error: Detail { code: self.code(), message: self.to_string(), fields } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), "request failed: {self}");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Some(retry_after) = self.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after);
        }
        response
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest { code: "invalid_query", message: rejection.body_text() }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) | StoreError::ConversationChanged(_) | StoreError::RecordConflict { .. } => {
                ApiError::Conflict { code: "concurrent_update", message: format!("{error}; try again") }
            }
            StoreError::AlreadyExists(id) => {
                ApiError::Conflict { code: "already_exists", message: format!("survey {id} already exists") }
            }
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Corrupt { key, reason } => {
                tracing::error!(%key, %reason, "corrupt record");
                ApiError::Internal
            }
        }
    }
}

impl From<InviteRefusal> for ApiError {
    fn from(refusal: InviteRefusal) -> Self {
        ApiError::Conflict { code: refusal.code(), message: refusal.to_string() }
    }
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::NotFound { what, id } => ApiError::NotFound { what, id },
            FlowError::InviteRefused(refusal) => refusal.into(),
            FlowError::Refused(refusal) => refusal.into(),
            FlowError::Conversation(error) if error.is_conflict() => {
                ApiError::Conflict { code: error.code(), message: error.to_string() }
            }
            // The one event field a conversation can refuse is who wrote.
            FlowError::Conversation(error) => ApiError::invalid("author.id", error.to_string()),
            FlowError::ConversationOpen(_) => ApiError::Conflict { code: "already_exists", message: error.to_string() },
            FlowError::InProgress => ApiError::InProgress,
            FlowError::Store(error) => error.into(),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let code = match refusal {
            // Nothing to say is bad input, not a conflict with the survey's state.
            Refusal::EmptyComment => {
                return ApiError::BadRequest { code: "empty_comment", message: refusal.to_string() };
            }
            Refusal::DeadlinePassed => "deadline_passed",
            Refusal::NotDue => "not_due",
            Refusal::ChangeWindowClosed => "change_window_closed",
            Refusal::LockedByComment => "locked_by_comment",
            Refusal::LockedByAnotherConversation => "locked_by_another_conversation",
            Refusal::AlreadyCommented => "already_commented",
            Refusal::CommentWindowClosed => "comment_window_closed",
            Refusal::UnknownReason(_) => "unknown_reason",
            Refusal::NoReasonAsked => "no_reason_asked",
            Refusal::OutOfScale(_) => "out_of_scale",
            Refusal::WrongState(_) => "wrong_state",
        };
        ApiError::Conflict { code, message: refusal.to_string() }
    }
}

impl From<crate::flow::understanding::InputError> for ApiError {
    fn from(error: crate::flow::understanding::InputError) -> Self {
        use crate::flow::understanding::InputError;
        match error {
            InputError::Scale(error) => ApiError::invalid("scale", error.to_string()),
            InputError::Locale(error) => ApiError::invalid("locale", error.to_string()),
            InputError::Label { level, scale } => {
                ApiError::invalid(format!("labels.{level}"), format!("is not a level of the scale {scale}"))
            }
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(error: ApplyError) -> Self {
        match error {
            ApplyError::NotFound(id) => ApiError::not_found("survey", id),
            ApplyError::Refused(refusal) => refusal.into(),
            ApplyError::Store(error) => error.into(),
        }
    }
}

/// A JSON body. A body that isn't JSON answers 400; JSON of the wrong shape answers 422 naming
/// the field (`config.content.nl: "nl" is not a shipped locale`), and JSON that isn't an object
/// (an array, a string, a number) 422 on `body`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json =
            request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::BadRequest {
                code: "unsupported_media_type",
                message: "send the body as JSON with Content-Type: application/json".into(),
            });
        }
        let JsonOfAnyType(value) = JsonOfAnyType::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// A JSON body whatever its Content-Type says, read as [`ApiJson`] reads one: for the reply
/// reader, which takes a `ratewire parse` line as a page's `fetch` or `curl -d` posts it.
pub struct JsonOfAnyType<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonOfAnyType<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            bytes::Bytes::from_request(request, state).await.map_err(|rejection| ApiError::unread(&rejection))?;
        // serde fills a struct from a positional array as readily as from an object, so
        // `["final", "renamed"]` would be taken field by field: every body is an object.
        let starts_an_object = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'{');
        if !starts_an_object && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer).map(JsonOfAnyType).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_data() {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid(field, strip_position(&inner.to_string()))
            } else {
                ApiError::BadRequest { code: "malformed_json", message: format!("the body is not valid JSON: {inner}") }
            }
        })
    }
}

/// serde's messages end in " at line L column C", which means nothing once a field is named.
fn strip_position(message: &str) -> String {
    message.rsplit_once(" at line ").map_or(message, |(head, _)| head).to_owned()
}

/// A query string whose rejections answer in the API's error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
