//! The Redis store's connections: to one server named by a URL, or to the master a Sentinel
//! group names, found again after a failover.
//!
//! A [`ConnectionManager`] reconnects to the address it was opened with, which after a failover
//! is a dead server or a replica. So with Sentinel, a call that finds its server gone (an I/O
//! error) or refusing writes (READONLY, a master demoted to replica) asks the sentinels for the
//! master again and, when it moved, replaces the connections. The call is then run again on the
//! new master only when it certainly did nothing on the old one: the connection was refused, or
//! the server refused writes. Otherwise it fails, as it would without Sentinel, and the next call
//! goes to the new master.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Client, ConnectionAddr, ErrorKind, RedisError, ServerErrorKind, TlsCertificates};

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
}

impl Connections {
    pub(super) async fn open(target: &RedisTarget) -> Result<Connections, RedisError> {
        match target {
            RedisTarget::Url { url, tls_ca } => {
                let client = match tls_ca {
                    Some(ca) => Client::build_with_tls(
                        url.as_str(),
                        TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) },
                    )?,
                    None => Client::open(url.as_str())?,
                };
                Ok(Connections { current: RwLock::new(Current::open(client).await?), sentinel: None })
            }
            RedisTarget::Sentinel(target) => {
                let sentinels = target.sentinels.iter().map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port));
                let mut builder =
                    SentinelClientBuilder::new(sentinels, &target.master_name, SentinelServerType::Master)?;
                if let Some(username) = &target.username {
                    builder = builder.set_client_to_redis_username(username);
                }
                if let Some(password) = &target.password {
                    builder = builder.set_client_to_redis_password(password);
                }
                let mut sentinel = builder.build()?;
                let master = find_master(&mut sentinel).await?;
                Ok(Connections {
                    current: RwLock::new(Current::open(master).await?),
                    sentinel: Some(tokio::sync::Mutex::new(sentinel)),
                })
            }
        }
    }

    /// A connection for one call, taken in turn, with the generation of its set.
    pub(super) fn take(&self, turn: usize) -> (u64, ConnectionManager) {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        (current.generation, current.connections[turn % current.connections.len()].clone())
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
    connections: Arc<[ConnectionManager]>,
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
async fn open_all(client: Client) -> Result<Arc<[ConnectionManager]>, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(Duration::from_secs(1));
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(ConnectionManager::new_with_config(client.clone(), config.clone()).await?);
    }
    Ok(connections.into())
}

#[cfg(test)]
mod tests {
    use super::{RedisTarget, SentinelTarget};

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
