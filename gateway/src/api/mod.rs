//! The HTTP API for businesses and agents. Every `/v1` route is scoped to the caller's tenant.

mod channels;
mod configs;
mod health;
mod surveys;

use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().merge(health::routes()).merge(configs::routes()).merge(channels::routes()).merge(surveys::routes())
}
