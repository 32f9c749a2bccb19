//! The demo: with no settings at all, ratewire starts a demo tenant with a web widget channel
//! and serves a page where a newcomer plays both the end user and the agent.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use jiff::Timestamp;
use ratewire_adapters::ChannelKind;
use ratewire_core::conversation::AutoInviteRules;
use ratewire_core::store::{self, Store, StoreError};
use ratewire_core::{ChannelId, SurveyConfig, TenantId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::flow::records::{ChannelRecord, ConfigRecord, new_secret};
use crate::http::auth::{Tenant, digest, new_key};
use crate::http::{AppState, html};

/// The demo tenant's id, key and channel.
#[derive(Debug, Clone)]
pub struct Demo {
    pub tenant: TenantId,
    pub key: String,
    pub channel: ChannelId,
}

pub const DEMO_CONFIG: &str = "demo";

impl Demo {
    /// A fresh key for the demo tenant; the key lives only as long as the process.
    pub fn new() -> Demo {
        Demo {
            tenant: TenantId::new("demo").expect("a valid id"),
            key: new_key(),
            channel: ChannelId::new("demo-widget").expect("a valid id"),
        }
    }

    pub fn tenant_settings(&self) -> Tenant {
        Tenant { id: self.tenant.clone(), name: "Demo".into(), key_digests: vec![digest(&self.key)] }
    }

    /// Creates the demo's configuration and channel unless they exist (a Redis store keeps them).
    pub async fn prepare(&self, store: &dyn Store) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let config = SurveyConfig {
            low_rating_reasons: vec!["slow".into(), "unresolved".into(), "unfriendly".into(), "other".into()],
            // A demo conversation is a few short lines, not a real support case.
            auto_invite: AutoInviteRules { min_characters: Some(20), ..AutoInviteRules::default() },
            ..SurveyConfig::default()
        };
        let config = ConfigRecord {
            id: DEMO_CONFIG.into(),
            name: "Demo survey".into(),
            config,
            created_at: now,
            updated_at: now,
        };
        let channel = ChannelRecord {
            id: self.channel.clone(),
            kind: ChannelKind::WebWidget,
            name: "Demo website".into(),
            config: DEMO_CONFIG.into(),
            secrets: BTreeMap::new(),
            // The demo page names its visitor itself, so it can't present a token.
            settings: [("visitor_tokens".to_owned(), "off".to_owned())].into(),
            verify_token: new_secret(),
            visitor_secret: new_secret(),
            created_at: now,
        };
        for result in [
            store::write(store, &self.tenant, DEMO_CONFIG, None, &config).await,
            store::write(store, &self.tenant, self.channel.as_str(), None, &channel).await,
        ] {
            match result {
                Ok(_) | Err(StoreError::RecordConflict { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

impl Default for Demo {
    fn default() -> Self {
        Self::new()
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(home))
}

/// The demo's page, with what its script needs to call the API as the demo tenant.
#[derive(askama::Template)]
#[template(path = "demo/demo.html")]
struct DemoPage {
    settings: serde_json::Value,
}

const HOME_PAGE: &str = include_str!("../../templates/demo/home.html");

/// The demo page when the demo runs (it carries the demo's key: the demo listens on loopback
/// only), the reply reader page otherwise.
#[utoipa::path(
    get,
    path = "/",
    tag = "widget",
    responses((status = 200, description = "The demo page, or the reply reader page", content_type = "text/html", body = String)),
)]
async fn home(State(state): State<AppState>) -> impl IntoResponse {
    match &state.demo {
        Some(demo) => {
            let settings = serde_json::json!({
                "tenant": demo.tenant, "key": demo.key, "channel": demo.channel,
            });
            html::page(StatusCode::OK, &DemoPage { settings }, &[])
        }
        None => Html(HOME_PAGE).into_response(),
    }
}
