//! What the end-to-end tests share: real services started for a test (a Redis server, and the
//! gateway itself in-process: see [`service`]) and builders for the surveys they store.

pub mod browser;
pub mod fake_graph;
pub mod fake_messenger;
pub mod fake_telegram;
pub mod history;
pub mod meta;
pub mod process;
pub mod redis_setups;
pub mod service;
pub mod smtp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ratewire_core::{
    ChannelId, ConversationId, Invitation, Locale, Origin, RecipientId, Scale, Survey, SurveyConfig, SurveyId, TenantId,
};

/// Runs each listed test twice: once on the embedded store and once on a Redis server of its
/// own, started for the test.
///
/// `on_both_stores!(a, b)` makes `embedded_store::a` and `redis_store::a`, which call
/// `async fn a(gw: Gateway)` with a [`surveys::Gateway`] on that store. The long form names the
/// two modules and what each test is called with, written as in the calling module; the Redis
/// side's expression has the test's server under the name in parentheses:
///
/// ```text
/// on_both_stores!(
///     memory_store => Arc::new(MemoryStore::new()),
///     redis_store(server) => Arc::new(connect(&server, RedisStoreOptions::default()).await);
///     a, b,
/// );
/// ```
#[macro_export]
macro_rules! on_both_stores {
    (
        $embedded:ident => $on_embedded:expr,
        $redis:ident($server:ident) => $on_redis:expr;
        $($test:ident),* $(,)?
    ) => {
        mod $embedded {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test($on_embedded).await;
                }
            )*
        }

        mod $redis {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let $server = $crate::RedisServer::start();
                    super::$test($on_redis).await;
                }
            )*
        }
    };
    ($($test:ident),* $(,)?) => {
        $crate::on_both_stores! {
            embedded_store => $crate::service::Gateway::start(None).await,
            redis_store(redis) => $crate::service::Gateway::start(Some(redis)).await;
            $($test),*
        }
    };
}

/// Runs each end-to-end test once more on a gateway on a Redis Cluster of its own (three
/// masters, a replica each).
#[macro_export]
macro_rules! on_a_redis_cluster {
    ($($test:ident),* $(,)?) => {
        mod redis_cluster {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let cluster = $crate::redis_setups::RedisCluster::start();
                    super::$test($crate::service::Gateway::start_on_cluster(cluster).await).await;
                }
            )*
        }
    };
}

/// Runs each end-to-end test on the embedded store, on one Redis server and on a Redis Cluster.
#[macro_export]
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        $crate::on_both_stores!($($test),*);
        $crate::on_a_redis_cluster!($($test),*);
    };
}

/// How long a starting Redis server gets to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

const NOT_INSTALLED: &str = "redis-server not found: the Redis tests need a real server. Install it with \
     `apt-get install redis-server` (Debian/Ubuntu) and run the tests again.";

/// A `redis-server` of the test's own, on a free loopback port, keeping nothing on disk.
/// Killed, and its directory removed, when dropped.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    process: Option<Child>,
    /// Whether it keeps what it was told on disk, every write synced before it is answered.
    durable: bool,
}

impl RedisServer {
    /// Starts a server and waits until it answers. Panics if `redis-server` is not installed or
    /// does not come up.
    pub fn start() -> RedisServer {
        RedisServer::start_with(false)
    }

    /// A server that keeps every write in its append-only file, synced before the write is
    /// answered, so a killed and restarted server has everything it acknowledged: Redis as run
    /// in production, for the tests that restart it under load.
    pub fn start_durable() -> RedisServer {
        RedisServer::start_with(true)
    }

    fn start_with(durable: bool) -> RedisServer {
        let dir = fresh_dir();
        // Another process may take the port between our probe and the server's bind; then the
        // server exits at once and we try another port.
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            match spawn(port, &dir, durable) {
                Ok(process) => {
                    return RedisServer { port, dir, process: Some(process), durable };
                }
                Err(failure) => failures.push(failure),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start: {}", failures.join("\n"));
    }

    /// Starts a server on `port` (free, as [`free_port`] finds one) and waits until it answers.
    pub fn start_on(port: u16) -> RedisServer {
        let dir = fresh_dir();
        match spawn(port, &dir, false) {
            Ok(process) => RedisServer { port, dir, process: Some(process), durable: false },
            Err(failure) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("redis-server did not start on port {port}: {failure}");
            }
        }
    }

    /// Starts a replica of the server on `primary`'s port, and waits until it answers (not until
    /// it has synchronized).
    pub fn start_replica_of(primary: u16) -> RedisServer {
        let dir = fresh_dir();
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            match spawn_replica(port, &dir, false, Some(primary)) {
                Ok(process) => return RedisServer { port, dir, process: Some(process), durable: false },
                Err(failure) => failures.push(failure),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start as a replica: {}", failures.join("\n"));
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server, as a crash would: clients see their connection drop. Unless it is
    /// [durable](RedisServer::start_durable), nothing is kept on disk, so a restarted server
    /// starts empty.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs).
    pub fn restart(&mut self) {
        self.stop();
        match spawn(self.port, &self.dir, self.durable) {
            Ok(process) => self.process = Some(process),
            Err(failure) => panic!("redis-server did not restart on port {}: {failure}", self.port),
        }
    }

    /// Runs one command on the server as its default user, and gives the answer.
    pub async fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url()).expect("a Redis URL");
        let mut connection = client.get_multiplexed_async_connection().await.expect("the test's Redis answers");
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query_async(&mut connection).await.unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }
}

/// Runs `redis-server` on the port and waits until it answers.
fn spawn(port: u16, dir: &Path, durable: bool) -> Result<Child, String> {
    spawn_replica(port, dir, durable, None)
}

/// Runs `redis-server` on the port, a replica of the server on `primary` if given, and waits
/// until it answers.
fn spawn_replica(port: u16, dir: &Path, durable: bool, primary: Option<u16>) -> Result<Child, String> {
    let mut args: Vec<String> =
        ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""].iter().map(|arg| arg.to_string()).collect();
    let persistence: &[&str] =
        if durable { &["--appendonly", "yes", "--appendfsync", "always"] } else { &["--appendonly", "no"] };
    args.extend(persistence.iter().map(|arg| arg.to_string()));
    if let Some(primary) = primary {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), primary.to_string()]);
    }
    args.extend(["--dir".into(), dir.display().to_string()]);
    launch(&args, &dir.join(format!("redis-{port}.log")), |pid| answers(port, pid))
}

/// Runs `redis-server` with `args`, its output in `log_path`, and waits until `ready(pid)`.
/// Panics, naming the package to install, if `redis-server` is not installed.
pub(crate) fn launch(args: &[String], log_path: &Path, ready: impl Fn(u32) -> bool) -> Result<Child, String> {
    let log = std::fs::File::create(log_path).map_err(|e| format!("can't create {}: {e}", log_path.display()))?;
    let errors = log.try_clone().map_err(|e| e.to_string())?;
    let spawned = Command::new("redis-server").args(args).stdin(Stdio::null()).stdout(log).stderr(errors).spawn();
    let mut process = match spawned {
        Ok(process) => process,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{NOT_INSTALLED}"),
        Err(error) => return Err(format!("could not run redis-server: {error}")),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if ready(process.id()) {
            return Ok(process);
        }
        if let Ok(Some(status)) = process.try_wait() {
            return Err(format!("{args:?}: it exited ({status}): {}", read_log(log_path)));
        }
        if Instant::now() >= deadline {
            let _ = process.kill();
            let _ = process.wait();
            return Err(format!("{args:?}: no answer within {START_TIMEOUT:?}: {}", read_log(log_path)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn fresh_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.subsec_nanos());
    let name = format!("ratewire-redis-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("can't create {}: {e}", dir.display()));
    dir
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("no free loopback port");
    listener.local_addr().expect("a bound listener has an address").port()
}

/// Whether the server on the port is up and is the process `pid` (not another test's server
/// that took the port first).
pub(crate) fn answers(port: u16, pid: u32) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\nINFO server\r\n").is_err() {
        return false;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.starts_with("+PONG") {
        return false;
    }
    line.clear();
    let Some(length) =
        reader.read_line(&mut line).ok().and_then(|_| line.trim_end().strip_prefix('$')?.parse::<usize>().ok())
    else {
        return false;
    };
    let mut info = vec![0; length];
    if reader.read_exact(&mut info).is_err() {
        return false;
    }
    String::from_utf8_lossy(&info).lines().any(|line| line.trim_end() == format!("process_id:{pid}"))
}

fn read_log(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(10).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// The current time, to the second (as the stores' tests compare timestamps exactly).
///
/// Tests use the real clock's neighbourhood rather than a fixed date because Redis expires
/// keys by its own clock.
pub fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("the clock is within jiff's range")
}

/// A survey configuration on the 0–10 scale, no follow-up questions.
pub fn survey_config(validity_hours: u32, change_window_hours: u32) -> SurveyConfig {
    SurveyConfig {
        scale: Scale::NPS,
        validity_hours,
        change_window_hours,
        follow_up_comment: false,
        low_rating_reasons: Vec::new(),
        ..SurveyConfig::default()
    }
}

/// Who a test survey is for.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub tenant: TenantId,
    pub conversation: ConversationId,
    pub channel: ChannelId,
    pub recipient: RecipientId,
}

impl Fixture {
    /// A survey of `tenant` for `conversation`, sent to `recipient` on channel `whatsapp-main`.
    pub fn new(tenant: &str, conversation: &str, recipient: &str) -> Fixture {
        Fixture {
            tenant: TenantId::new(tenant).expect("a valid tenant id"),
            conversation: ConversationId::new(conversation).expect("a valid conversation id"),
            channel: ChannelId::new("whatsapp-main").expect("a valid channel id"),
            recipient: RecipientId::new(recipient).expect("a valid recipient id"),
        }
    }

    pub fn invitation(&self) -> Invitation {
        Invitation {
            tenant: self.tenant.clone(),
            conversation: self.conversation.clone(),
            resolution: 1,
            channel: self.channel.clone(),
            recipient: self.recipient.clone(),
            agent: None,
            locale: Locale::En,
            origin: Origin::Auto,
        }
    }

    /// A new pending survey with a fresh id.
    pub fn survey(&self, config: &SurveyConfig, now: Timestamp) -> Survey {
        self.survey_with_id(SurveyId::generate(), config, now)
    }

    pub fn survey_with_id(&self, id: SurveyId, config: &SurveyConfig, now: Timestamp) -> Survey {
        Survey::new(id, self.invitation(), config, now)
    }
}

/// A pending survey of `tenant` for `conversation` and `recipient` (see [`Fixture::new`]).
pub fn survey_fixture(
    tenant: &str,
    conversation: &str,
    recipient: &str,
    config: &SurveyConfig,
    now: Timestamp,
) -> Survey {
    Fixture::new(tenant, conversation, recipient).survey(config, now)
}
