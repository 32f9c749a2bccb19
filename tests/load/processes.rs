//! What a run drives: the gateway and the baseline, each a process of its own (this binary,
//! started again with a hidden command) so that its memory can be read and it shares nothing
//! with the load generator but the machine; and what the gateway talks to.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ratewire_gateway::http::auth;
use ratewire_tests::RedisServer;
use ratewire_tests::fake_graph::FakeGraph;
use ratewire_tests::process::ServerProcess;
pub use ratewire_tests::process::TENANT;
use ratewire_tests::redis_setups::RedisCluster;
use ratewire_tests::service::{Receiver, client};
use serde_json::{Value, json};

use crate::traffic::Replies;

/// The WhatsApp channel replies come in on.
pub const CHANNEL: &str = "wa";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-load";
pub const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
/// The approved template invitations go out as: the end users have not written for a day.
const TEMPLATE: &str = "rating_request";

/// The Redis the gateway keeps its state in: one server, or a cluster of three masters with a
/// replica each (`--cluster`).
pub enum Redis {
    Server(RedisServer),
    Cluster(RedisCluster),
}

impl Redis {
    /// The gateway's setting that names it.
    fn setting(&self) -> String {
        match self {
            Redis::Server(server) => format!("redis_url = {:?}", server.url()),
            Redis::Cluster(cluster) => format!("redis_cluster_nodes = {:?}", cluster.nodes()),
        }
    }

    /// The servers that hold the data and run the commands: the server, or the cluster's
    /// masters. The figures of Redis are their sums.
    pub fn master_ports(&self) -> Vec<u16> {
        match self {
            Redis::Server(server) => vec![server.port()],
            Redis::Cluster(cluster) => cluster.master_ports(),
        }
    }
}

/// What the gateway works against: Redis, the fake Graph API that absorbs its sends, the
/// business's event receiver, and the tenant's key.
pub struct Setup {
    pub redis: Redis,
    pub graph: FakeGraph,
    pub receiver: Receiver,
    pub key: String,
    dir: PathBuf,
}

impl Setup {
    pub async fn start(cluster: bool) -> Result<Setup, String> {
        let dir = std::env::temp_dir().join(format!("ratewire-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("can't create {}: {e}", dir.display()))?;
        let setup = Setup {
            redis: if cluster {
                Redis::Cluster(tokio::task::spawn_blocking(RedisCluster::start).await.map_err(|e| e.to_string())?)
            } else {
                Redis::Server(RedisServer::start())
            },
            graph: FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await,
            receiver: Receiver::start().await,
            key: auth::new_key(),
            dir,
        };
        // Hundreds of thousands of posts: only counted.
        setup.graph.stop_recording();
        setup.receiver.stop_recording();
        Ok(setup)
    }

    /// Posts taken so far by the fake Graph API (messages) and the receiver (events).
    pub fn delivered(&self) -> u64 {
        self.graph.taken() + self.receiver.received()
    }

    /// Starts `count` gateways on Redis, side by side as behind a load balancer, and connects
    /// the tenant's WhatsApp channel to the fake Graph API through the first, with an event
    /// endpoint for every survey event.
    pub async fn gateways(&self, count: usize) -> Result<Vec<ServerProcess>, String> {
        let gateways =
            ServerProcess::gateways(&this_program()?, &self.dir, count.max(1), &self.redis.setting(), &self.key, "")
                .await?;
        self.connect(&gateways[0].base).await?;
        Ok(gateways)
    }

    async fn connect(&self, base: &str) -> Result<(), String> {
        let config = json!({
            "id": "support", "name": "Support",
            "config": {
                "scale": "stars:5", "follow_up_comment": true,
                "auto_invite": { "require_agent_reply": false, "min_characters": null },
            },
        });
        self.post(base, "/v1/configs", &config).await?;
        let channel = json!({
            "id": CHANNEL, "kind": "whatsapp", "name": "Support line", "config": "support",
            "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
            "settings": {
                "phone_number_id": PHONE_NUMBER_ID, "api_base_url": self.graph.base_url,
                "template_name": TEMPLATE,
                // The fake takes whatever comes: the platform's own limit is not what is measured.
                "sends_per_second": "100000",
            },
        });
        self.post(base, "/v1/channels", &channel).await?;
        let endpoint = json!({
            "url": self.receiver.url,
            "events": ["survey.sent", "survey.rated", "survey.changed", "survey.commented"],
        });
        self.post(base, "/v1/endpoints", &endpoint).await?;
        Ok(())
    }

    async fn post(&self, base: &str, path: &str, body: &Value) -> Result<(), String> {
        let response = client()
            .post(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {}", response.text().await.unwrap_or_default()));
        }
        Ok(())
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The bare axum server.
pub async fn baseline() -> Result<ServerProcess, String> {
    let port = ratewire_tests::free_port();
    let log = std::env::temp_dir().join(format!("ratewire-load-baseline-{}.log", std::process::id()));
    let server = ServerProcess::start(&this_program()?, &["baseline", &format!("127.0.0.1:{port}")], port, &log).await;
    let _ = std::fs::remove_file(&log);
    server
}

/// The relay, posting to `setup`'s fake Graph API and receiver what `replies` says.
pub async fn relay(setup: &Setup, replies: &Replies) -> Result<ServerProcess, String> {
    let port = ratewire_tests::free_port();
    let log = std::env::temp_dir().join(format!("ratewire-load-relay-{}.log", std::process::id()));
    let (listen, messages, events) =
        (format!("127.0.0.1:{port}"), Replies::list(&replies.messages), Replies::list(&replies.events));
    let args = [
        "relay",
        listen.as_str(),
        "--graph",
        setup.graph.base_url.as_str(),
        "--access-token",
        ACCESS_TOKEN,
        "--phone-number-id",
        PHONE_NUMBER_ID,
        "--receiver",
        setup.receiver.url.as_str(),
        "--messages",
        messages.as_str(),
        "--events",
        events.as_str(),
    ];
    let server = ServerProcess::start(&this_program()?, &args, port, &log).await;
    let _ = std::fs::remove_file(&log);
    server
}

fn this_program() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("can't find this program: {e}"))
}

/// The CPU time (user and system) a process has used so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Result<Duration, String> {
    // Linux counts it in clock ticks of 1/100 s (`getconf CLK_TCK`) on every platform it runs on.
    const TICKS_PER_SECOND: u64 = 100;
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("can't read {path}: {e}"))?;
    // The command name, in parentheses, may hold spaces: the fields start after it.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks =
        |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or_else(|| format!("no CPU times in {path}"));
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 1000 / TICKS_PER_SECOND))
}

/// The baseline: axum on tokio's default runtime, as the gateway runs, reading each request's
/// body and answering 200 with a small JSON body, and nothing else.
pub fn serve_baseline(listen: &str) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("baseline: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("baseline: can't listen on {listen}: {error}");
                return ExitCode::FAILURE;
            }
        };
        let router = axum::Router::new().fallback(|_body: axum::body::Bytes| async { r#"{"received":1}"# });
        match axum::serve(listener, router).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("baseline: {error}");
                ExitCode::FAILURE
            }
        }
    })
}
