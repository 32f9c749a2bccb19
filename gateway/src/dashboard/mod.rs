//! The reports dashboard: one page for the people who read the results, behind a login that
//! exchanges the tenant's API key for a session cookie ([`crate::auth::Sessions`]).
//!
//! The page computes nothing itself: it reads `/v1/reports` and the CSV export with the session
//! cookie, so it shows exactly what the report API answers, and draws its charts as inline SVG.
//! Page, styles and script are one file built into the binary; nothing is fetched from elsewhere.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(dashboard)).routes(routes!(login_page, log_in)).routes(routes!(log_out))
}

const DASHBOARD_PAGE: &str = include_str!("dashboard.html");
const LOGIN_PAGE: &str = include_str!("login.html");

/// Where the dashboard and its login are.
const DASHBOARD: &str = "/dashboard";
const LOGIN: &str = "/dashboard/login";

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
    match state.tenants.session(&headers, Timestamp::now()) {
        // Tenant ids are letters, digits and `-_.@+:`: nothing to escape in HTML.
        Some(tenant) => page(StatusCode::OK, DASHBOARD_PAGE.replace("{{tenant}}", tenant.as_str())),
        None => see_other(LOGIN),
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
    login(StatusCode::OK, None)
}

/// What the login form sends.
#[derive(Deserialize, utoipa::ToSchema)]
struct Login {
    /// The tenant's API key (`rw_…`).
    key: String,
}

/// Logs in: a tenant's key opens a session, kept in an `HttpOnly`, `SameSite=Strict` cookie
/// (`Secure` when `public_url` is https) for `dashboard.session_hours`. Anything else shows the
/// login page again with what was wrong.
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
        (
            status = 429,
            description = "The tenant is past its `api_requests_per_second`: the login page, saying so",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
async fn log_in(State(state): State<AppState>, form: Result<Form<Login>, FormRejection>) -> Response {
    let Ok(Form(Login { key })) = form else {
        return login(StatusCode::BAD_REQUEST, Some("Paste the API key into the form and log in."));
    };
    match state.tenants.log_in(&key, Timestamp::now()) {
        Ok((_, session)) => {
            let mut response = see_other(DASHBOARD);
            response.headers_mut().insert(header::SET_COOKIE, state.tenants.sessions().set_cookie(&session));
            response
        }
        Err(ApiError::RateLimited) => {
            let mut response =
                login(StatusCode::TOO_MANY_REQUESTS, Some("Too many requests: wait a second and try again."));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Err(_) => login(
            StatusCode::UNAUTHORIZED,
            Some("That key is not valid. Use the tenant's API key (rw_…), as ratewire new-key printed it."),
        ),
    }
}

/// Logs out: the browser drops the session cookie.
#[utoipa::path(
    post,
    path = "/dashboard/logout",
    tag = "dashboard",
    responses((
        status = 303,
        description = "To the login page, with the cookie cleared",
        headers(("location" = String), ("set-cookie" = String)),
    )),
)]
async fn log_out(State(state): State<AppState>) -> Response {
    let mut response = see_other(LOGIN);
    response.headers_mut().insert(header::SET_COOKIE, state.tenants.sessions().clear_cookie());
    response
}

/// The login page, with a message above the form if there is one.
fn login(status: StatusCode, message: Option<&str>) -> Response {
    // The messages are this module's own texts: nothing to escape.
    let message = message.map(|text| format!(r#"<p class="error" role="alert">{text}</p>"#)).unwrap_or_default();
    page(status, LOGIN_PAGE.replace("{{message}}", &message))
}

/// One of the dashboard's pages: never cached (it is a tenant's), never framed by another site.
fn page(status: StatusCode, html: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
             img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    (status, headers, html).into_response()
}

/// A 303 to `location`: the browser follows it with a GET.
fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}
