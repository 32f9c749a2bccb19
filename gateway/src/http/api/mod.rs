//! The HTTP API for businesses and agents. Every `/v1` route is scoped to the caller's tenant.

mod channels;
mod configs;
mod contacts;
mod conversations;
pub mod doc;
mod endpoints;
mod health;
mod reports;
pub mod surveys;
mod unsubscribes;

use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .merge(health::routes())
        .merge(configs::routes())
        .merge(channels::routes())
        .merge(conversations::routes())
        .merge(surveys::routes())
        .merge(reports::routes())
        .merge(endpoints::routes())
        .merge(unsubscribes::routes())
        .merge(contacts::routes())
}
