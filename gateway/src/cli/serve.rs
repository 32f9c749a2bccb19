//! `ratewire serve`: the HTTP service and its background workers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ratewire_core::store::{MemoryStore, RedisStore, RedisStoreOptions, RedisTarget, Store};
use tokio::net::{TcpListener, TcpSocket};

use super::settings::{Checked, Settings};
use crate::flow::{Flow, work};
use crate::http::auth::{Sessions, Tenants};
use crate::http::demo::Demo;
use crate::http::{self, AppState, StoreKind, server};

#[derive(clap::Args, Debug, Default)]
pub struct ServeOptions {
    /// Settings file (TOML); see ratewire.example.toml.
    #[arg(long, env = "RATEWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides the file and RATEWIRE_LISTEN).
    #[arg(long)]
    pub listen: Option<String>,
    /// Redis URL (overrides the file, REDIS_URL and RATEWIRE_REDIS_URL).
    #[arg(long)]
    pub redis_url: Option<String>,
}

pub fn run(options: ServeOptions) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let settings = match load(&options) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("ratewire serve: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ratewire serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ratewire serve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(options: &ServeOptions) -> Result<Checked, String> {
    let mut overrides = Vec::new();
    if let Some(listen) = &options.listen {
        overrides.push(("listen", listen.as_str()));
    }
    if let Some(url) = &options.redis_url {
        overrides.push(("redis_url", url.as_str()));
    }
    let settings = Settings::load(options.config.as_deref(), &overrides).map_err(|e| e.to_string())?;
    settings.check().map_err(|e| e.to_string())
}

/// Builds the service's state: the store, the tenants, the demo if it runs.
pub async fn state(settings: Checked) -> Result<AppState, String> {
    let (store, store_kind): (Arc<dyn Store>, StoreKind) = match &settings.redis {
        Some(target) => {
            let store = connect_redis(target, settings.redis_wait).await?;
            check_durability(&store, settings.redis_require_durability).await?;
            tracing::info!(redis = %target, "state is kept in Redis");
            (Arc::new(store), StoreKind::Redis)
        }
        None => {
            tracing::warn!(
                "no Redis configured (redis_url, redis_sentinel, redis_cluster_nodes, REDIS_URL or --redis-url): state is kept in memory and lost when ratewire stops"
            );
            (Arc::new(MemoryStore::new()), StoreKind::Embedded)
        }
    };
    let mut tenants = settings.tenants.clone();
    let demo = if settings.demo {
        let demo = Demo::new();
        demo.prepare(store.as_ref()).await.map_err(|e| format!("cannot prepare the demo: {e}"))?;
        tenants.push(demo.tenant_settings());
        Some(demo)
    } else {
        None
    };
    let sessions = Sessions::new(&settings.dashboard, &settings.public_url);
    Ok(AppState {
        flow: Flow::new(store, settings.flow_settings()),
        store_kind,
        tenants: Arc::new(Tenants::new(&tenants, settings.api_requests_per_second, sessions)),
        settings: Arc::new(settings.http_config()),
        demo,
        stopping: Default::default(),
    })
}

/// Connects to Redis, trying again with backoff while it isn't up yet or is still loading its
/// data, for at most `wait`: a service started alongside its Redis waits for it.
async fn connect_redis(target: &RedisTarget, wait: Duration) -> Result<RedisStore, String> {
    const FIRST_PAUSE: Duration = Duration::from_millis(100);
    const LONGEST_PAUSE: Duration = Duration::from_secs(5);
    let give_up_at = tokio::time::Instant::now() + wait;
    let mut pause = FIRST_PAUSE;
    loop {
        match RedisStore::connect_to(target, RedisStoreOptions::default()).await {
            Ok(store) => return Ok(store),
            Err(error) if tokio::time::Instant::now() + pause < give_up_at => {
                tracing::warn!(redis = %target, %error, "waiting for Redis; trying again in {pause:?}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(error) => {
                return Err(format!("cannot use Redis at {target} (waited {wait:?}, redis_wait_secs): {error}"));
            }
        }
    }
}

/// Logs each way the Redis server falls short of keeping ratewire's data; with
/// `redis_require_durability`, refuses to start on one it can tell.
async fn check_durability(store: &RedisStore, required: bool) -> Result<(), String> {
    let shortfalls = store.durability().await.map_err(|e| format!("cannot read Redis's settings: {e}"))?.shortfalls();
    for shortfall in &shortfalls {
        if shortfall.known {
            tracing::warn!(setting = shortfall.setting, value = %shortfall.value, "Redis may lose data: {shortfall}");
        } else {
            tracing::warn!(
                setting = shortfall.setting,
                "Redis won't say its {}: check it is {}",
                shortfall.setting,
                shortfall.wanted
            );
        }
    }
    match shortfalls.iter().filter(|s| s.known).map(ToString::to_string).collect::<Vec<_>>() {
        refused if required && !refused.is_empty() => {
            Err(format!("Redis would lose data (redis_require_durability): {}", refused.join("; ")))
        }
        _ => Ok(()),
    }
}

/// How many connections may wait to be accepted. Past `http.max_connections`, new connections
/// wait there, so it must be deep: a full queue drops connections' handshakes, and their clients
/// hang on retransmissions for up to a minute. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn serve(settings: Checked) -> Result<(), String> {
    let listen = settings.listen;
    make_room_for(settings.http.max_connections);
    let state = state(settings).await?;
    let listener = bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    if state.demo.is_some() {
        println!("ratewire is running with its demo: open http://{address}/ to play the customer and the agent");
    } else {
        println!("ratewire is listening on http://{address}/");
    }
    let workers = state.flow.spawn_workers();
    let drain = state.settings.http.shutdown_drain();
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown_signal().await;
        stopping.begin();
        tracing::info!("stopping: /readyz answers 503; the listener closes in {drain:?} (a second signal: at once)");
        tokio::select! {
            () = tokio::time::sleep(drain) => {},
            () = shutdown_signal() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    };
    let flow = state.flow.clone();
    serve_on(listener, state, shutdown).await;
    // Every worker step is one atomic store write, so stopping between two leaves nothing half
    // done: an event being posted stays in the outbox and is posted again.
    for worker in workers {
        worker.abort();
    }
    work::leave(&flow).await;
    Ok(())
}

/// Serves the service on `listener` until `shutdown` resolves, then finishes the requests in
/// flight: `ratewire serve` and the tests both serve this way.
pub async fn serve_on(listener: TcpListener, state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    let limits = state.settings.http.clone();
    server::serve(listener, http::router(state), limits, shutdown).await;
}

/// Files the service opens besides its clients' connections: Redis, outgoing calls, the listener.
const FILES_BESIDES_CONNECTIONS: u64 = 256;

/// Raises the open-files soft limit to the hard one (often 1024 against far more), so that
/// `max_connections` clients fit; warns when even that is too few.
fn make_room_for(max_connections: usize) {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + FILES_BESIDES_CONNECTIONS => tracing::warn!(
            limit,
            max_connections,
            "the open-files limit is too low for http.max_connections: raise it (ulimit -n, LimitNOFILE=) or lower \
             max_connections, or accepting fails once it is reached"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit"),
    }
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
}
