//! `ratewire serve`: the HTTP service.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use ratewire_core::store::{self, MemoryStore, RedisStore, RedisStoreOptions, SurveyStore};
use ratewire_core::{Locale, Scale};
use tokio::net::TcpListener;

use crate::parse_command;

#[derive(clap::Args, Debug)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "RATEWIRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Redis URL (redis://host:port/db). Without one, surveys are kept in memory and lost
    /// when ratewire stops.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
}

/// Which store the service runs on, as reported by `/healthz`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    Redis,
    Embedded,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn SurveyStore>,
    pub store_kind: StoreKind,
}

pub fn run(options: ServeOptions) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ratewire serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ratewire serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: ServeOptions) -> Result<(), String> {
    let state = match &options.redis_url {
        Some(url) => {
            let store = RedisStore::connect(url, RedisStoreOptions::default())
                .await
                .map_err(|e| format!("cannot use Redis at {}: {e}", redact(url)))?;
            tracing::info!(url = %redact(url), "surveys are kept in Redis");
            AppState { store: Arc::new(store), store_kind: StoreKind::Redis }
        }
        None => {
            tracing::warn!(
                "no Redis configured (--redis-url or REDIS_URL): surveys are kept in memory and lost when ratewire stops"
            );
            AppState { store: Arc::new(MemoryStore::new()), store_kind: StoreKind::Embedded }
        }
    };
    let listener =
        TcpListener::bind(options.listen).await.map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("ratewire is running: open http://{address}/ to try it");
    let sweeper = tokio::spawn(sweep_forever(state.store.clone()));
    let served = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await;
    // Every sweep step is one atomic store write, so stopping between two leaves nothing half done.
    sweeper.abort();
    served.map_err(|e| e.to_string())
}

/// How often the sweeper looks for surveys whose deadline or change window has passed.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// The most surveys one sweep handles; the rest wait for the next.
const SWEEP_BATCH: usize = 500;

/// Expires surveys and locks ratings when they fall due.
async fn sweep_forever(store: Arc<dyn SurveyStore>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match store::sweep(&*store, Timestamp::now(), SWEEP_BATCH).await {
            Ok(transitions) => {
                for transition in transitions {
                    let survey = &transition.survey;
                    tracing::info!(tenant = %survey.invitation.tenant, survey = %survey.id, state = ?survey.state.name(), "swept");
                }
            }
            Err(error) => tracing::warn!(%error, "sweep failed; trying again"),
        }
    }
}

/// A Redis URL fit for logs: without the password it may carry (`redis://:secret@host`).
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…@{}", &url[..scheme_end], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(health))
        .route("/api/understand", post(understand_reply))
        .with_state(state)
}

async fn home() -> impl IntoResponse {
    Html(include_str!("home.html"))
}

/// The reply reader over HTTP: the body is one `ratewire parse` input line.
async fn understand_reply(body: String) -> impl IntoResponse {
    let answer = parse_command::answer(&body, Scale::FIVE_STARS, Locale::En);
    let status = match answer {
        parse_command::Answer::Understood(_) => StatusCode::OK,
        parse_command::Answer::Error { .. } => StatusCode::BAD_REQUEST,
    };
    (status, Json(answer))
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok", "store": state.store_kind }))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redis_passwords_stay_out_of_logs() {
        assert_eq!(redact("redis://:s3cret@db:6379/0"), "redis://…@db:6379/0");
        assert_eq!(redact("rediss://user:pw@db"), "rediss://…@db");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
