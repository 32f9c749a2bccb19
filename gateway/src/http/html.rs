//! Server-rendered pages: askama templates, which escape whatever they insert, answered with the
//! headers each surface asks for.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A page: `document` rendered, with `headers` besides its content type; 500 if it can't be.
pub fn page(status: StatusCode, document: &impl Template, headers: &[(HeaderName, &'static str)]) -> Response {
    let html = match document.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, html).into_response();
    let answer = response.headers_mut();
    answer.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    for (name, value) in headers {
        answer.insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}
