//! The parts of the OpenAPI document that belong to no one route: its info and tags, the bearer
//! scheme of the `/v1` routes, and the error answers the routes share. Each route documents
//! itself with `#[utoipa::path]` on its handler and is registered with `routes!`, so the router
//! and the document are made from the same lists (see [`crate::http`]).

use ratewire_adapters::WebhookError;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use crate::http::error::{ApiError, Body};

/// The name of the security scheme every `/v1` operation requires.
pub const BEARER: &str = "bearer";

/// The name of the dashboard's session cookie scheme, which the report reads take as well.
pub const SESSION: &str = "session";

/// The document's base, which the routes' operations and schemas are added to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ratewire",
        version = env!("CARGO_PKG_VERSION"),
        description = "ratewire asks end users to rate their support conversations, on the channels they \
            were helped on. Businesses configure surveys, connect channels, report conversation activity \
            and read ratings and reports through the `/v1` API, authenticated with \
            `Authorization: Bearer <key>`. Every error answers `{\"error\": {\"code\", \"message\", \
            \"fields\"?}}` with a stable machine `code`."
    ),
    components(
        schemas(Body),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Invalid,
            TooLarge,
            BodyTimeout,
            TooManyRequests,
            Unavailable,
            BadGateway,
            MalformedWebhook,
            UnverifiedWebhook,
            WrongVerifyToken,
            WebhookUnavailable,
            crate::http::email_pages::LinkNotFound,
            crate::http::email_pages::PageUnavailable
        )
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "configs", description = "Survey configurations"),
        (name = "channels", description = "Connected channels"),
        (name = "conversations", description = "Conversation activity from the helpdesk"),
        (name = "contacts", description = "End users as ratewire knows them, with their pre-chat answers"),
        (name = "surveys", description = "Surveys, and invitations sent by agents"),
        (name = "reports", description = "Figures over a date range, and the ratings as CSV"),
        (name = "webhooks", description = "The business's event webhook endpoints and pending deliveries"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "widget", description = "The web widget and the demo page"),
        (name = "email", description = "The pages an email's links open, and the addresses unsubscribed through them"),
        (name = "dashboard", description = "The reports dashboard's pages, its login and logout"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme (`Authorization: Bearer <key>`) that `/v1` operations require, and the
/// dashboard's session cookie that the report reads also take.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A tenant's API key (`rw_…`), as `Authorization: Bearer <key>`"))
            .build();
        let session = ApiKeyValue::with_description(
            crate::http::auth::SESSION_COOKIE,
            "The reports dashboard's session, set by `POST /dashboard/login`; named \
             `__Host-ratewire_session` when `public_url` is https",
        );
        let components = openapi.components.get_or_insert_default();
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
        components.add_security_scheme(SESSION, SecurityScheme::ApiKey(ApiKey::Cookie(session)));
    }
}

/// A response with the error body, and the body of each error given as a named example.
fn error_response(description: &str, errors: &[ApiError]) -> RefOr<Response> {
    let examples = errors.iter().map(|error| {
        let value = serde_json::to_value(error.body()).ok();
        (error.code(), ExampleBuilder::new().value(value).build())
    });
    let content =
        ContentBuilder::new().schema(Some(Ref::from_schema_name(Body::name()))).examples_from_iter(examples).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

/// A reusable error response, named in `#/components/responses`.
macro_rules! error_responses {
    ($($name:ident: $description:literal, [$($error:expr),+ $(,)?];)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), error_response($description, &[$($error),+]))
                }
            }
        )+
    };
}

error_responses! {
    BadRequest: "The request can't be read: a body that isn't JSON, or not sent as `application/json` \
        (`malformed_json`, `unsupported_media_type`, `unreadable_body`), or a query string of the wrong \
        shape (`invalid_query`)", [
        ApiError::BadRequest {
            code: "unsupported_media_type",
            message: "send the body as JSON with Content-Type: application/json".into(),
        },
        ApiError::BadRequest {
            code: "invalid_query",
            message: "Failed to deserialize query string: unknown field `colour`".into(),
        },
    ];
    Unauthorized: "No API key, or one that is no tenant's (`unauthorized`)", [ApiError::Unauthorized];
    Forbidden: "Refused (`forbidden`)", [ApiError::Forbidden("the visitor token does not match".into())];
    NotFound: "No such resource for this tenant (`not_found`)", [ApiError::not_found("channel", "ch_1")];
    Conflict: "The request conflicts with the resource's state: `already_exists`, `stale_revision`, \
        `concurrent_update` (try again), or a survey or conversation rule that refuses it (e.g. \
        `already_invited`, `survey_pending`, `method_not_allowed`, `surveys_disabled`, `already_closed`)", [
        ApiError::Conflict { code: "already_exists", message: "configuration support already exists".into() },
        ApiError::Conflict {
            code: "stale_revision",
            message: "configuration support is at revision 3, not 2".into(),
        },
    ];
    Invalid: "The request is well formed but some fields are wrong (`invalid`); `fields` names each", [
        ApiError::invalid("config.validity_hours", "must be at least 1 hour"),
    ];
    TooLarge: "The body is larger than the service's `body_limit_bytes` (`email_body_limit_bytes` for email replies) (`too_large`)", [ApiError::TooLarge];
    BodyTimeout: "The body did not arrive in full within the service's `http.body_read_timeout_secs` of \
        its headers (`body_timeout`); the connection is closed", [ApiError::BodyTimeout];
    TooManyRequests: "The tenant calls faster than its `api_requests_per_second` allows (`rate_limited`)", [
        ApiError::RateLimited,
    ];
    Unavailable: "The store is unavailable; try again shortly (`unavailable`)", [ApiError::Unavailable];
    WebhookUnavailable: "The store is unavailable (`unavailable`), or another request is still handling a \
        message of this delivery (`in_progress`): deliver it again shortly, as the platforms do", [
        ApiError::Unavailable,
        ApiError::InProgress,
    ];
    BadGateway: "The messaging platform refused the call made on the business's behalf, or could not be \
        reached (`webhook_registration_failed`); `message` says what it answered", [
        ApiError::BadGateway {
            code: "webhook_registration_failed",
            message: "Telegram refused the webhook: bad_token: Telegram does not know the bot token (Unauthorized)".into(),
        },
    ];
    MalformedWebhook: "The platform's request can't be read (`malformed_webhook`), or its body could not be \
        received whole (`unreadable_body`)", [
        ApiError::Webhook(WebhookError::Malformed("post the raw RFC 822 message".into())),
        ApiError::BadRequest { code: "unreadable_body", message: "the body could not be read: error reading a body from connection".into() },
    ];
    UnverifiedWebhook: "The request carries no proof that the platform sent it (`unsigned`), or a wrong one \
        (`bad_signature`): the platform's signature, or for email the channel's `verify_token`", [
        ApiError::Webhook(WebhookError::Unsigned),
        ApiError::Webhook(WebhookError::BadSignature),
    ];
    WrongVerifyToken: "The verification handshake names another verify token than the channel's \
        (`bad_verify_token`)", [ApiError::Webhook(WebhookError::BadVerifyToken)];
}

/// Completes every operation that takes a body with the answer to one that comes too slowly
/// (408), which the server gives whatever the route: done here once, as the server does it.
pub fn time_limit_bodies(document: &mut utoipa::openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [&mut item.put, &mut item.post, &mut item.patch];
        for operation in operations.into_iter().flatten().filter(|operation| operation.request_body.is_some()) {
            operation
                .responses
                .responses
                .entry("408".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("BodyTimeout")));
        }
    }
}

/// Completes every `/v1` operation with what it has because it is a `/v1` operation: the bearer
/// key (unless the operation names its own schemes, as the report reads do), and the answers the tenant check gives before the handler runs (401 without a valid key,
/// 429 past the tenant's rate, 503 when the store can't be read). Done here once rather than on
/// each handler, the way the router does it once in the `CurrentTenant` extractor.
pub fn authenticate_v1(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    let shared = [("401", "Unauthorized"), ("429", "TooManyRequests"), ("503", "Unavailable")];
    for (path, item) in document.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.security.get_or_insert_with(|| vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            for (status, response) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(response)));
            }
        }
    }
}
