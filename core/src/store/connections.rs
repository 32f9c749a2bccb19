//! The Redis store's connections: to one server named by a URL, to the master a Sentinel
//! group names, found again after a failover, or to a Redis Cluster.
//!
//! A cluster connection follows the cluster by itself: it learns the slots' owners from the
//! seed nodes, follows MOVED and ASK, and asks again for the slots when a master fails over. It
//! sends a pipeline to one slot's node only: [`Connection::query`] splits the store's pipelines
//! by slot.
//!
//! A [`ConnectionManager`] reconnects to the address it was opened with, which after a failover
//! is a dead server or a replica. So with Sentinel, a call that finds its server gone (an I/O
//! error) or refusing writes (READONLY, a master demoted to replica) asks the sentinels for the
//! master again and, when it moved, replaces the connections. The call is then run again on the
//! new master only when it certainly did nothing on the old one: the connection was refused, or
//! the server refused writes. Otherwise it fails, as it would without Sentinel, and the next call
//! goes to the new master.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    Client, Cmd, ConnectionAddr, ErrorKind, FromRedisValue, Pipeline, ProtocolVersion, PushInfo, PushKind, RedisError,
    RedisFuture, ServerErrorKind, TlsCertificates, Value,
};

/// Connections to Redis, taken in turn by calls.
const CONNECTIONS: usize = 4;
/// Each connection attempt gives up after this long.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// A command with no answer after this long fails (and the call with it).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnection attempts made for one call before it fails; the next call tries again.
const RECONNECT_RETRIES: usize = 3;
/// Asking the sentinels for the master gives up after this long: the calls failing meanwhile
/// wait for the answer, and a sentinel that doesn't answer mustn't hold them.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the Redis store's server is.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server: `redis://[user:password@]host:port/db`, or `rediss://…` over TLS. `tls_ca` is
    /// a PEM CA certificate trusted instead of the public roots.
    Url { url: String, tls_ca: Option<Vec<u8>> },
    /// The master a Sentinel group names.
    Sentinel(SentinelTarget),
    /// A Redis Cluster, found from its seed nodes: `redis://[user:password@]host:port` or
    /// `rediss://…` each, `tls_ca` as for one server.
    Cluster { nodes: Vec<String>, tls_ca: Option<Vec<u8>> },
}

/// A Sentinel group and how to log in to the servers it names.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelTarget {
    /// The name the sentinels monitor the master under (`sentinel monitor <name> …`).
    pub master_name: String,
    /// The sentinels, as host and port.
    pub sentinels: Vec<(String, u16)>,
    /// The ACL user on the master (not on the sentinels).
    pub username: Option<String>,
    /// The password on the master.
    pub password: Option<String>,
}

/// Never shows passwords, should the target be logged.
impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisTarget::Url { url, tls_ca } => f
                .debug_struct("Url")
                .field("url", &without_credentials(url))
                .field("tls_ca", &tls_ca.as_ref().map(|_| "…"))
                .finish(),
            RedisTarget::Sentinel(target) => f.debug_tuple("Sentinel").field(target).finish(),
            RedisTarget::Cluster { nodes, tls_ca } => f
                .debug_struct("Cluster")
                .field("nodes", &nodes.iter().map(|node| without_credentials(node)).collect::<Vec<_>>())
                .field("tls_ca", &tls_ca.as_ref().map(|_| "…"))
                .finish(),
        }
    }
}

impl std::fmt::Debug for SentinelTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelTarget")
            .field("master_name", &self.master_name)
            .field("sentinels", &self.sentinels)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Where Redis is, fit for logs: without the password a URL may carry.
impl std::fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisTarget::Url { url, .. } => f.write_str(&without_credentials(url)),
            RedisTarget::Sentinel(target) => {
                let sentinels: Vec<String> =
                    target.sentinels.iter().map(|(host, port)| format!("{host}:{port}")).collect();
                write!(f, "master {:?} of the sentinels {}", target.master_name, sentinels.join(", "))
            }
            RedisTarget::Cluster { nodes, .. } => {
                let nodes: Vec<String> = nodes.iter().map(|node| without_credentials(node)).collect();
                write!(f, "the cluster of {}", nodes.join(", "))
            }
        }
    }
}

/// A Redis URL without the user and password it may carry (`redis://:secret@host`).
fn without_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…@{}", &url[..scheme_end], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// The connections calls take, and with Sentinel how to find the master again.
pub(super) struct Connections {
    current: RwLock<Current>,
    /// One lookup at a time: the calls failing together after a failover wait for it.
    sentinel: Option<tokio::sync::Mutex<SentinelClient>>,
    /// On a cluster, how to open a connection anew, and when each was last opened: after a
    /// failover a connection may keep a map of the slots that no longer holds, its calls to the
    /// dead master timing out, and only a connection opened anew reads the map again.
    cluster: Option<(ClusterClient, tokio::sync::Mutex<Vec<Option<Instant>>>)>,
}

/// A cluster connection is opened anew at most this often.
const RENEW_AT_MOST_EVERY: Duration = Duration::from_millis(500);

/// A client of one server, over TLS with `tls_ca` trusted when given.
fn client_of(url: &str, tls_ca: &Option<Vec<u8>>) -> Result<Client, RedisError> {
    match tls_ca {
        Some(ca) => Client::build_with_tls(url, TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) }),
        None => Client::open(url),
    }
}

/// A cluster client's settings for `nodes`: the store's timeouts, `tls_ca` trusted when given.
fn cluster_builder(nodes: &[String], tls_ca: &Option<Vec<u8>>) -> ClusterClientBuilder {
    let builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(CONNECTION_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT);
    match tls_ca {
        Some(ca) => builder.certs(TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) }),
        None => builder,
    }
}

/// A sentinel client for `target`, logging in to the master as it says.
fn sentinel_client(target: &SentinelTarget) -> Result<SentinelClient, RedisError> {
    let sentinels = target.sentinels.iter().map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port));
    let mut builder = SentinelClientBuilder::new(sentinels, &target.master_name, SentinelServerType::Master)?;
    if let Some(username) = &target.username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = &target.password {
        builder = builder.set_client_to_redis_password(password);
    }
    builder.build()
}

/// A subscription to the gateways' channels: on one server, a connection of its own to it; with
/// Sentinel, to the master the sentinels name now; on a cluster, sharded pub/sub (`SSUBSCRIBE`,
/// Redis 7) on the node serving the channels' slot (their names share a hash tag), so what is
/// published goes to that shard only instead of to every node.
pub(super) enum Subscription {
    Server(std::pin::Pin<Box<dyn futures_util::Stream<Item = redis::Msg> + Send>>),
    Cluster {
        /// Kept open: it passes what the shard publishes to `pushes`.
        _connection: ClusterConnection,
        pushes: tokio::sync::mpsc::UnboundedReceiver<PushInfo>,
    },
}

/// A message published on a channel subscribed to.
pub(super) struct Published {
    pub channel: String,
    pub payload: String,
}

impl Subscription {
    /// Subscribes to `channels`, which on a cluster must share a slot.
    pub(super) async fn open(target: &RedisTarget, channels: &[&str]) -> Result<Subscription, RedisError> {
        let client = match target {
            RedisTarget::Url { url, tls_ca } => client_of(url, tls_ca)?,
            RedisTarget::Sentinel(target) => find_master(&mut sentinel_client(target)?).await?,
            RedisTarget::Cluster { nodes, tls_ca } => {
                let (sender, pushes) = tokio::sync::mpsc::unbounded_channel();
                let builder = cluster_builder(nodes, tls_ca).use_protocol(ProtocolVersion::RESP3).push_sender(sender);
                let mut connection = builder.build()?.get_async_connection().await?;
                connection.ssubscribe(channels).await?;
                return Ok(Subscription::Cluster { _connection: connection, pushes });
            }
        };
        let mut pubsub = tokio::time::timeout(CONNECTION_TIMEOUT, client.get_async_pubsub())
            .await
            .unwrap_or_else(|_| Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()))?;
        pubsub.subscribe(channels).await?;
        Ok(Subscription::Server(Box::pin(pubsub.into_on_message())))
    }

    /// The next message published, or `None` once the subscription is lost. (A cluster
    /// connection would subscribe again by itself after losing its node, but maybe to a node no
    /// longer serving the slot, and with no word of what was missed: it is dropped instead, and
    /// the caller subscribes anew.)
    pub(super) async fn next(&mut self) -> Option<Published> {
        match self {
            Subscription::Server(messages) => loop {
                let message = futures_util::StreamExt::next(messages).await?;
                match message.get_payload::<String>() {
                    Ok(payload) => return Some(Published { channel: message.get_channel_name().to_owned(), payload }),
                    Err(_) => tracing::warn!("skipping an unreadable notice"),
                }
            },
            Subscription::Cluster { pushes, .. } => loop {
                let push = pushes.recv().await?;
                match push.kind {
                    PushKind::SMessage => match <(String, String)>::from_redis_value(Value::Array(push.data)) {
                        Ok((channel, payload)) => return Some(Published { channel, payload }),
                        Err(_) => tracing::warn!("skipping an unreadable notice"),
                    },
                    PushKind::Disconnection | PushKind::SUnsubscribe => return None,
                    _ => {}
                }
            },
        }
    }
}

impl Connections {
    pub(super) async fn open(target: &RedisTarget) -> Result<Connections, RedisError> {
        match target {
            RedisTarget::Url { url, tls_ca } => {
                let client = client_of(url, tls_ca)?;
                Ok(Connections { current: RwLock::new(Current::open(client).await?), sentinel: None, cluster: None })
            }
            RedisTarget::Cluster { nodes, tls_ca } => {
                let client = cluster_builder(nodes, tls_ca).retries(RECONNECT_RETRIES as u32).build()?;
                let connections = try_join_all((0..CONNECTIONS).map(|_| client.get_async_connection())).await?;
                let current = Current {
                    generation: 0,
                    address: String::new(),
                    connections: connections.into_iter().map(Connection::Cluster).collect(),
                };
                let renewed = tokio::sync::Mutex::new(vec![None; CONNECTIONS]);
                Ok(Connections { current: RwLock::new(current), sentinel: None, cluster: Some((client, renewed)) })
            }
            RedisTarget::Sentinel(target) => {
                let mut sentinel = sentinel_client(target)?;
                let master = find_master(&mut sentinel).await?;
                Ok(Connections {
                    current: RwLock::new(Current::open(master).await?),
                    sentinel: Some(tokio::sync::Mutex::new(sentinel)),
                    cluster: None,
                })
            }
        }
    }

    /// A connection for one call, taken in turn, with the generation of its set.
    pub(super) fn take(&self, turn: usize) -> (u64, Connection) {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        (current.generation, current.connections[turn % current.connections.len()].clone())
    }

    /// On a cluster, opens the connection of `turn` anew after it failed with `error` as it
    /// does when its node is gone (a timeout, a dropped or refused connection), so that its next
    /// call reads the cluster's map of the slots again. The failed call is not run again: it may
    /// have run.
    pub(super) async fn renew_after(&self, turn: usize, error: &RedisError) {
        let Some((client, renewed)) = &self.cluster else { return };
        if !(error.is_timeout() || error.is_io_error() || error.is_connection_dropped()) {
            return;
        }
        let mut renewed = renewed.lock().await;
        let index = turn % renewed.len();
        if renewed[index].is_some_and(|at| at.elapsed() < RENEW_AT_MOST_EVERY) {
            return;
        }
        renewed[index] = Some(Instant::now());
        match tokio::time::timeout(CONNECTION_TIMEOUT, client.get_async_connection()).await {
            Ok(Ok(connection)) => {
                let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                let mut connections: Vec<Connection> = current.connections.to_vec();
                connections[index] = Connection::Cluster(connection);
                current.connections = connections.into();
                tracing::warn!(error = %error, "a cluster connection failed: opened it anew");
            }
            Ok(Err(open)) => tracing::warn!(error = %open, "cannot open a cluster connection anew"),
            Err(_) => tracing::warn!("opening a cluster connection anew timed out"),
        }
    }

    /// Whether `error`, met on a connection of generation `generation`, may mean the master
    /// moved; if so, follows it. Returns whether the call is worth running again: the master
    /// moved (or another call already followed it) and the failed call did nothing.
    pub(super) async fn follow_master(&self, generation: u64, error: &RedisError) -> bool {
        let refused_writes = error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly);
        let Some(sentinel) = &self.sentinel else { return false };
        if !(refused_writes || error.is_io_error() || error.is_connection_dropped() || error.is_timeout()) {
            return false;
        }
        let did_nothing = refused_writes || error.is_connection_refusal();
        let mut sentinel = sentinel.lock().await;
        let (current_generation, current_address) = {
            let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            (current.generation, current.address.clone())
        };
        if current_generation != generation {
            return did_nothing;
        }
        let master = match find_master(&mut sentinel).await {
            Ok(master) => master,
            Err(lookup) => {
                tracing::warn!(error = %lookup, "the sentinels name no master");
                return false;
            }
        };
        let address = master.get_connection_info().addr().to_string();
        if address == current_address {
            return false;
        }
        match Current::open(master).await {
            Ok(mut moved) => {
                tracing::warn!(master = %address, "the master moved: following it");
                moved.generation = current_generation + 1;
                *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = moved;
                did_nothing
            }
            Err(open) => {
                tracing::warn!(master = %address, error = %open, "cannot connect to the new master");
                false
            }
        }
    }
}

/// The connections to one server.
struct Current {
    /// How many times the connections were replaced: a call that failed on an older set doesn't
    /// ask the sentinels again.
    generation: u64,
    /// The server's address, to tell whether the master moved.
    address: String,
    connections: Arc<[Connection]>,
}

impl Current {
    async fn open(client: Client) -> Result<Current, RedisError> {
        let address = client.get_connection_info().addr().to_string();
        Ok(Current { generation: 0, address, connections: open_all(client).await? })
    }
}

/// Asks the sentinels for a client of the master they name (checked to be a master).
async fn find_master(sentinel: &mut SentinelClient) -> Result<Client, RedisError> {
    tokio::time::timeout(LOOKUP_TIMEOUT, sentinel.async_get_client())
        .await
        .unwrap_or_else(|_| Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()))
}

/// Opens the store's connections to one server.
async fn open_all(client: Client) -> Result<Arc<[Connection]>, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(Duration::from_secs(1));
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(Connection::Node(ConnectionManager::new_with_config(client.clone(), config.clone()).await?));
    }
    Ok(connections.into())
}

/// A connection to one server (or the master of a Sentinel group), or to a cluster.
#[derive(Clone)]
pub(super) enum Connection {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Node(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Node(connection) => connection.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Node(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}

/// How a pipeline's commands may be split over a cluster's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order<'a> {
    /// Each command runs after the ones before it: the pipeline is sent a run of commands of one
    /// slot at a time.
    Kept,
    /// Commands that don't depend on each other (reads, or writes no other command of the
    /// pipeline reads): the commands of each slot are sent together, the slots at once.
    Free,
    /// Stages, each starting at the index of its first command (the first stage at 0): within
    /// a stage as [`Order::Free`], each stage once the one before has run.
    Stages(&'a [usize]),
}

/// A stage of a pipeline's commands on a cluster: by slot, the indexes of its commands.
type Stage = Vec<(Option<Slot>, Vec<usize>)>;

impl Order<'_> {
    /// The stages the commands of `slots` run in.
    fn plan(self, slots: &[Option<Slot>]) -> Vec<Stage> {
        let starts: Vec<usize> = match self {
            Order::Kept => (0..slots.len()).collect(),
            Order::Free => vec![0],
            Order::Stages(starts) => starts.to_vec(),
        };
        let mut plan: Vec<Stage> = Vec::new();
        for (n, start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(slots.len()).min(slots.len());
            let mut stage: Stage = Vec::new();
            for (index, &slot) in slots.iter().enumerate().take(end).skip(*start) {
                match stage.iter_mut().find(|(other, _)| slot.is_none() || *other == slot) {
                    Some((_, commands)) => commands.push(index),
                    None => stage.push((slot, vec![index])),
                }
            }
            // A stage of one slot after a stage of that slot alone goes with it, in order.
            match (plan.last_mut(), stage.as_slice()) {
                (_, []) => {}
                (Some(last), [(slot, commands)]) if last.len() == 1 && (slot.is_none() || last[0].0 == *slot) => {
                    last[0].1.extend(commands)
                }
                _ => plan.push(stage),
            }
        }
        plan
    }
}

impl Connection {
    /// Sends a pipeline and returns each command's answer, in the pipeline's order, errors
    /// included ([`Connection::answered`] reads them as the pipeline's result). On a cluster, the
    /// commands are sent in pieces of one slot each, in the stages `order` allows.
    pub(super) async fn answers(&mut self, pipe: &Pipeline, order: Order<'_>) -> Result<Vec<Value>, RedisError> {
        let commands: Vec<&Cmd> = pipe.cmd_iter().collect();
        let Connection::Cluster(cluster) = self else { return self.req_packed_commands(pipe, 0, commands.len()).await };
        let slots: Vec<Option<Slot>> = commands.iter().map(|cmd| slot_of(cmd)).collect();
        let plan = order.plan(&slots);
        if plan.len() <= 1 && plan.first().is_none_or(|stage| stage.len() <= 1) {
            return cluster.req_packed_commands(pipe, 0, commands.len()).await;
        }
        let send = |indexes: &Vec<usize>| {
            let mut piece = redis::pipe();
            for index in indexes {
                piece.add_command(commands[*index].clone());
            }
            let mut connection = cluster.clone();
            async move { connection.req_packed_commands(&piece, 0, piece.len()).await }
        };
        let mut values = vec![Value::Nil; commands.len()];
        for stage in &plan {
            let answers = try_join_all(stage.iter().map(|(_, indexes)| send(indexes))).await?;
            for ((_, indexes), answers) in stage.iter().zip(answers) {
                for (index, value) in indexes.iter().zip(answers) {
                    values[*index] = value;
                }
            }
        }
        Ok(values)
    }

    /// A pipeline's result from the answers of its commands: the pipeline itself drops the
    /// answers of the commands it ignores, and turns errors.
    pub(super) async fn answered<T: FromRedisValue>(pipe: &Pipeline, answers: Vec<Value>) -> Result<T, RedisError> {
        pipe.query_async(&mut Answered(Some(answers))).await
    }
}

/// The answers of a pipeline already sent, given back to it as a connection would.
struct Answered(Option<Vec<Value>>);

impl ConnectionLike for Answered {
    fn req_packed_command<'a>(&'a mut self, _: &'a Cmd) -> RedisFuture<'a, Value> {
        async { Err(RedisError::from((ErrorKind::Client, "a pipeline's answers hold no single command's"))) }.boxed()
    }

    fn req_packed_commands<'a>(&'a mut self, _: &'a Pipeline, _: usize, _: usize) -> RedisFuture<'a, Vec<Value>> {
        let answers = self.0.take();
        async move { answers.ok_or_else(|| RedisError::from((ErrorKind::Client, "the answers were taken"))) }.boxed()
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// The slot of a command's key: the first argument after the name, or a script's first key.
fn slot_of(cmd: &Cmd) -> Option<Slot> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .take(4)
        .filter_map(|arg| match arg {
            redis::Arg::Simple(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    let key = match args.first()? {
        name if name.eq_ignore_ascii_case(b"EVALSHA") || name.eq_ignore_ascii_case(b"EVAL") => {
            (args.get(2)? != b"0").then(|| args.get(3)).flatten()?
        }
        _ => args.get(1)?,
    };
    Some(Slot::for_key(key))
}

#[cfg(test)]
mod tests {
    use redis::cluster_routing::Slot;

    use super::{Order, RedisTarget, SentinelTarget};

    #[test]
    fn pipelines_split_by_slot_in_the_order_they_allow() {
        let (a, b, c) = (Some(Slot::for_key("a")), Some(Slot::for_key("b")), Some(Slot::for_key("c")));
        let slots = [a, a, b, a, c, None];
        let commands = |order: Order| -> Vec<Vec<Vec<usize>>> {
            order.plan(&slots).into_iter().map(|stage| stage.into_iter().map(|(_, c)| c).collect()).collect()
        };
        // In order: runs of one slot, one after the other; a command without a key joins its run.
        assert_eq!(commands(Order::Kept), [vec![vec![0, 1]], vec![vec![2]], vec![vec![3]], vec![vec![4, 5]]]);
        // At once: one piece a slot; a command without a key joins the first.
        assert_eq!(commands(Order::Free), [vec![vec![0, 1, 3, 5], vec![2], vec![4]]]);
        // Stages: at once within each, one after the other; a stage of the slot alone before it
        // goes with it.
        assert_eq!(
            commands(Order::Stages(&[0, 1, 2, 5])),
            [vec![vec![0, 1]], vec![vec![2], vec![3], vec![4]], vec![vec![5]]]
        );
    }

    fn url(url: &str) -> String {
        RedisTarget::Url { url: url.to_owned(), tls_ca: None }.to_string()
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(url("redis://:s3cret@db:6379/0"), "redis://…@db:6379/0");
        assert_eq!(url("rediss://user:pw@db"), "rediss://…@db");
        assert_eq!(url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        let sentinel = RedisTarget::Sentinel(SentinelTarget {
            master_name: "mymaster".into(),
            sentinels: vec![("s1".into(), 26379), ("s2".into(), 26380)],
            username: Some("app".into()),
            password: Some("s3cret".into()),
        });
        assert_eq!(sentinel.to_string(), "master \"mymaster\" of the sentinels s1:26379, s2:26380");
        assert!(!format!("{sentinel:?}").contains("s3cret"));
    }
}
