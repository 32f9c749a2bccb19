//! The reports dashboard: one page for the people who read the results, behind a login that
//! exchanges the tenant's API key for a session cookie ([`crate::http::auth::Sessions`]).
//!
//! The page computes nothing itself: it reads `/v1/reports` and the CSV export with the session
//! cookie, so it shows exactly what the report API answers, and draws its charts as inline SVG.
//! Page, styles and script are one template built into the binary; nothing is fetched from elsewhere.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{self, CurrentTenant};
use crate::http::error::ApiError;
use crate::http::{AppState, html};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(dashboard))
        .routes(routes!(login_page, log_in))
        .routes(routes!(log_out))
        .routes(routes!(log_out_everywhere))
        .routes(routes!(end_all_sessions))
}

#[derive(Template)]
#[template(path = "dashboard/dashboard.html")]
struct DashboardPage<'a> {
    tenant: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage<'a> {
    /// What went wrong, above the form.
    message: Option<&'a str>,
}

// Where the dashboard and its login are, relative to the page the browser is on, so the
// service works behind a `public_url` with a path (`https://example.com/ratewire`).
/// The login page, from the dashboard or its logout.
const LOGIN_FROM_DASHBOARD: &str = "dashboard/login";
const LOGIN_FROM_LOGOUT: &str = "login";
/// The dashboard, from its login.
const DASHBOARD_FROM_LOGIN: &str = "../dashboard";

/// The dashboard, for a session; the login page's address otherwise.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "dashboard",
    responses(
        (status = 200, description = "The dashboard", content_type = "text/html", body = String),
        (status = 303, description = "No session: to the login page", headers(("location" = String))),
    ),
)]
async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match auth::current_session(&state, &headers, Timestamp::now()).await {
        Ok(Some(session)) => page(StatusCode::OK, &DashboardPage { tenant: session.tenant.as_str() }),
        Ok(None) => see_other(LOGIN_FROM_DASHBOARD),
        Err(error) => login_refused(&error),
    }
}

/// The login page: a form for the tenant's API key.
#[utoipa::path(
    get,
    path = "/dashboard/login",
    tag = "dashboard",
    responses((status = 200, description = "The login page", content_type = "text/html", body = String)),
)]
async fn login_page() -> Response {
    login_form(StatusCode::OK, None)
}

/// What the login form sends.
#[derive(Deserialize, utoipa::ToSchema)]
struct Login {
    /// The tenant's API key (`rw_…`).
    key: String,
}

/// Logs in: a tenant's key opens a session, kept in an `HttpOnly`, `SameSite=Strict` cookie
/// (`__Host-ratewire_session` and `Secure` when `public_url` is https) for
/// `dashboard.session_hours`. Anything else shows the login page again with what was wrong. A
/// form another site sent is refused, so no page elsewhere can log a reader in to its own tenant.
#[utoipa::path(
    post,
    path = "/dashboard/login",
    tag = "dashboard",
    request_body(content = Login, content_type = "application/x-www-form-urlencoded"),
    responses(
        (
            status = 303,
            description = "Logged in: to the dashboard, with the session cookie",
            headers(("location" = String), ("set-cookie" = String)),
        ),
        (status = 400, description = "No key in the form: the login page, saying so", content_type = "text/html", body = String),
        (status = 401, description = "Not a tenant's key: the login page, saying so", content_type = "text/html", body = String),
        (status = 403, description = "Sent from another site: the login page, saying so", content_type = "text/html", body = String),
        (
            status = 429,
            description = "The tenant is past its `api_requests_per_second`: the login page, saying so",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
async fn log_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Login>, FormRejection>,
) -> Response {
    let logged_in = same_origin(&headers, &state.settings.public_url).and_then(|()| {
        let Form(Login { key }) = form.map_err(|rejection| {
            ApiError::unread_form(rejection, |_| ApiError::BadRequest {
                code: "missing_key",
                message: "the form has no key".into(),
            })
        })?;
        state.tenants.log_in(&key, Timestamp::now())
    });
    match logged_in {
        Ok((_, session)) => {
            let mut response = see_other(DASHBOARD_FROM_LOGIN);
            response.headers_mut().insert(header::SET_COOKIE, state.tenants.sessions().set_cookie(&session));
            response
        }
        Err(error) => login_refused(&error),
    }
}

/// Logs out: the session ends on the server, on every gateway sharing the store, and the
/// browser drops its cookie. Refused from another site, like the login.
#[utoipa::path(
    post,
    path = "/dashboard/logout",
    tag = "dashboard",
    responses(
        (
            status = 303,
            description = "To the login page, with the cookie cleared",
            headers(("location" = String), ("set-cookie" = String)),
        ),
        (status = 403, description = "Sent from another site: the login page, saying so", content_type = "text/html", body = String),
        (
            status = 503,
            description = "The store did not answer, so the session may still be valid: the login page, saying so, with the \
                cookie cleared",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
async fn log_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = same_origin(&headers, &state.settings.public_url) {
        return login_refused(&error);
    }
    let now = Timestamp::now();
    let ended = match auth::current_session(&state, &headers, now).await {
        Ok(Some(session)) => auth::end_session(&state, &session, now).await,
        // No session, or one already ended: nothing left to end.
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    logged_out(&state, ended)
}

/// Logs out everywhere: every dashboard session of the reader's tenant ends, in every browser
/// and on every gateway, this one included. Takes the session, and is refused from another site.
#[utoipa::path(
    post,
    path = "/dashboard/logout-everywhere",
    tag = "dashboard",
    responses(
        (
            status = 303,
            description = "To the login page, with the cookie cleared",
            headers(("location" = String), ("set-cookie" = String)),
        ),
        (status = 401, description = "No session: the login page, saying so", content_type = "text/html", body = String),
        (status = 403, description = "Sent from another site: the login page, saying so", content_type = "text/html", body = String),
        (
            status = 503,
            description = "The store did not answer, so the sessions may still be valid: the login page, saying so",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
async fn log_out_everywhere(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(error) = same_origin(&headers, &state.settings.public_url) {
        return login_refused(&error);
    }
    let now = Timestamp::now();
    let ended = match auth::current_session(&state, &headers, now).await {
        Ok(Some(session)) => auth::end_all_sessions(&state, &session.tenant, now).await,
        Ok(None) => return login_form(StatusCode::UNAUTHORIZED, Some(NO_SESSION)),
        Err(error) => Err(error),
    };
    logged_out(&state, ended)
}

/// Ends every dashboard session of the tenant, in every browser and on every gateway: for a key
/// that may have leaked, or a reader who left. Takes the API key; the session cookie can't call
/// it (the dashboard's **Log out everywhere** button does the same with the session).
#[utoipa::path(
    delete,
    path = "/v1/dashboard/sessions",
    tag = "dashboard",
    responses((status = 204, description = "Every session the tenant had has ended")),
)]
async fn end_all_sessions(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<StatusCode, ApiError> {
    auth::end_all_sessions(&state, &tenant, Timestamp::now()).await?;
    tracing::info!(%tenant, "every dashboard session ended");
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a logout: to the login page, or the page saying the store failed; the browser
/// drops its cookie either way.
fn logged_out(state: &AppState, ended: Result<(), ApiError>) -> Response {
    let mut response = match ended {
        Ok(()) => see_other(LOGIN_FROM_LOGOUT),
        Err(error) => login_refused(&error),
    };
    response.headers_mut().insert(header::SET_COOKIE, state.tenants.sessions().clear_cookie());
    response
}

/// What the logout-everywhere form says without a session.
const NO_SESSION: &str = "Your session has already ended. Log in again.";

/// Refuses a form another site sent. Browsers say where a request comes from in
/// `Sec-Fetch-Site`, or else in `Origin`, which must then be this service: the address the
/// request was sent to (`Host`) or `public_url`'s. A request with neither (an older browser, a
/// command-line client) carries no sign of another site and is let through.
fn same_origin(headers: &HeaderMap, public_url: &str) -> Result<(), ApiError> {
    let text = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
    let same = match (text("sec-fetch-site"), text(header::ORIGIN.as_str())) {
        // `none`: the reader's own doing (a bookmark, the address bar).
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(origin)) => {
            let sent_to = |host: &str| text(header::HOST.as_str()).is_some_and(|own| own.eq_ignore_ascii_case(host));
            origin.split_once("://").is_some_and(|(_, host)| sent_to(host))
                || origin.eq_ignore_ascii_case(origin_of(public_url))
        }
        (None, None) => true,
    };
    if same { Ok(()) } else { Err(ApiError::Forbidden("the form was sent from another site".into())) }
}

/// A URL's origin: its scheme and authority, without the path.
fn origin_of(url: &str) -> &str {
    let authority = url.find("://").map_or(0, |at| at + 3);
    url[authority..].find('/').map_or(url, |path| &url[..authority + path])
}

/// The login page again, with the status the error has and what the reader can do about it.
fn login_refused(error: &ApiError) -> Response {
    let message = match error {
        ApiError::Forbidden(_) => {
            "This form was sent from another site, so it was ignored. Open the dashboard at its own address and log in there."
        }
        ApiError::BadRequest { .. } => "Paste the API key into the form and log in.",
        ApiError::Unauthorized => {
            "That key is not valid. Use the tenant's API key (rw_…), as ratewire new-key printed it."
        }
        ApiError::RateLimited => "Too many requests: wait a second and try again.",
        _ => "Something went wrong on our side. Try again shortly.",
    };
    let mut response = login_form(error.status(), Some(message));
    if let Some(retry_after) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    response
}

/// The login page, with `message` above the form.
fn login_form(status: StatusCode, message: Option<&str>) -> Response {
    page(status, &LoginPage { message })
}

/// One of the dashboard's pages: never cached (it is a tenant's), never framed by another site.
fn page(status: StatusCode, document: &impl Template) -> Response {
    html::page(
        status,
        document,
        &[
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
             img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
    )
}

/// A 303 to `location`: the browser follows it with a GET.
fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}
