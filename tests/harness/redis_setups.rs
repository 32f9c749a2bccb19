//! Redis as managed services and high-availability setups run it: a server speaking TLS only,
//! with a certificate from a CA of the test's own, a Sentinel group (a master, a replica, three
//! sentinels) that fails over when its master dies, and a Redis Cluster (three masters with a
//! replica each).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ratewire_core::store::{RedisTarget, SentinelTarget};

use crate::{RedisServer, answers, free_port, fresh_dir, launch};

/// The ACL user the TLS server knows, besides its default user (turned off).
const TLS_USER: &str = "ratewire";
const TLS_PASSWORD: &str = "tls-s3cret";

/// A `redis-server` listening for TLS only, on a free loopback port, with a certificate for
/// 127.0.0.1 and localhost signed by a CA made for it, and one ACL user. Killed, and its
/// directory (certificates included) removed, when dropped.
pub struct TlsRedisServer {
    port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl TlsRedisServer {
    /// Makes the certificates, starts the server and waits until it answers over TLS. Panics if
    /// `redis-server` or `openssl` is not installed.
    pub fn start() -> TlsRedisServer {
        let dir = fresh_dir();
        make_certificates(&dir);
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            let file = |name: &str| dir.join(name).display().to_string();
            let args: Vec<String> = [
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--tls-cert-file",
                &file("server.crt"),
                "--tls-key-file",
                &file("server.key"),
                "--tls-ca-cert-file",
                &file("ca.crt"),
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--user",
                "default",
                "off",
                "--user",
                TLS_USER,
                "on",
                &format!(">{TLS_PASSWORD}"),
                "~*",
                "&*",
                "+@all",
                "--dir",
                &dir.display().to_string(),
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            let target = tls_target(port, &dir);
            let log = dir.join(format!("redis-tls-{port}.log"));
            match launch(&args, &log, |pid| answers_over_tls(&target, pid)) {
                Ok(process) => return TlsRedisServer { port, dir, process: Some(process) },
                Err(failure) => failures.push(failure),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start with TLS: {}", failures.join("\n"));
    }

    /// `rediss://ratewire:…@127.0.0.1:PORT`: the ACL user and password are in the URL.
    pub fn url(&self) -> String {
        format!("rediss://{TLS_USER}:{TLS_PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The server, trusting its CA.
    pub fn target(&self) -> RedisTarget {
        tls_target(self.port, &self.dir)
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tls_target(port: u16, dir: &Path) -> RedisTarget {
    RedisTarget::Url {
        url: format!("rediss://{TLS_USER}:{TLS_PASSWORD}@127.0.0.1:{port}"),
        tls_ca: std::fs::read(dir.join("ca.crt")).ok(),
    }
}

/// Whether the TLS server answers, as the process `pid`.
fn answers_over_tls(target: &RedisTarget, pid: u32) -> bool {
    let RedisTarget::Url { url, tls_ca } = target else { return false };
    let certificates = redis::TlsCertificates { client_tls: None, root_cert: tls_ca.clone() };
    let Ok(client) = redis::Client::build_with_tls(url.as_str(), certificates) else { return false };
    let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_millis(500)) else { return false };
    let info: Result<String, _> = redis::cmd("INFO").arg("server").query(&mut connection);
    info.is_ok_and(|info| info.lines().any(|line| line.trim_end() == format!("process_id:{pid}")))
}

const OPENSSL_NOT_INSTALLED: &str = "openssl not found: the TLS Redis tests make their certificates with it. \
     Install it with `apt-get install openssl` (Debian/Ubuntu) and run the tests again.";

/// Writes `ca.crt`, `server.crt` and `server.key` in `dir`: a CA, and a certificate it signed
/// for 127.0.0.1 and localhost.
fn make_certificates(dir: &Path) {
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap_or_else(|e| panic!("can't write {}: {e}", extensions.display()));
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"], &key[..], &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]].concat(),
        &[
            "-subj",
            "/CN=ratewire test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[&["req"], &key[..], &["-keyout", "server.key", "-out", "server.csr"]].concat(),
        &["-subj", "/CN=localhost"],
    );
    openssl(
        dir,
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
        &["-out", "server.crt", "-days", "2", "-extfile", "server.ext"],
    );
}

fn openssl(dir: &Path, args: &[&str], more: &[&str]) {
    let output = Command::new("openssl").args(args).args(more).current_dir(dir).stdin(Stdio::null()).output();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("openssl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{OPENSSL_NOT_INSTALLED}"),
        Err(error) => panic!("could not run openssl: {error}"),
    }
}

/// The name the group's sentinels monitor the master under.
pub const MASTER_NAME: &str = "mymaster";
/// The password of the group's master and replica (the sentinels have none).
pub const GROUP_PASSWORD: &str = "sentinel-s3cret";
/// How long the sentinels wait before they call a silent master down.
const DOWN_AFTER_MS: u64 = 1000;
/// How long the group may take to come together, or to fail over.
const GROUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A master and a replica, both asking for [`GROUP_PASSWORD`], and three sentinels watching them
/// (quorum 2), all on loopback. Dropped, everything is killed and removed.
pub struct SentinelGroup {
    master: RedisServer,
    replica: RedisServer,
    sentinels: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl SentinelGroup {
    /// Starts the group and waits until the replica is in sync and every sentinel knows the
    /// replica and the other sentinels, so that a failover can happen.
    pub fn start() -> SentinelGroup {
        let master = RedisServer::start();
        set(master.port(), "requirepass");
        let replica = RedisServer::start_replica_of(master.port());
        // The replica learns the password it syncs with after it started: until then its syncs
        // are refused, and it tries again.
        set(replica.port(), "masterauth");
        set(replica.port(), "requirepass");
        let dir = fresh_dir();
        let mut group = SentinelGroup { master, replica, sentinels: Vec::new(), dir };
        for _ in 0..3 {
            let sentinel = group.start_sentinel();
            group.sentinels.push(sentinel);
        }
        group.wait_until("the group knows its members", |group| {
            group.replica_in_sync()
                && group.sentinels.iter().all(|(port, _)| {
                    let master = sentinel_master(*port);
                    master.get("num-other-sentinels").map(String::as_str) == Some("2")
                        && master.get("num-slaves").map(String::as_str) == Some("1")
                })
        });
        group
    }

    fn start_sentinel(&self) -> (u16, Child) {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            let config = self.dir.join(format!("sentinel-{port}.conf"));
            let text = format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
                 sentinel auth-pass {MASTER_NAME} {GROUP_PASSWORD}\n\
                 sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
                 sentinel failover-timeout {MASTER_NAME} 5000\n\
                 sentinel parallel-syncs {MASTER_NAME} 1\n",
                dir = self.dir.display(),
                master = self.master.port(),
            );
            std::fs::write(&config, text).unwrap_or_else(|e| panic!("can't write {}: {e}", config.display()));
            let args = [config.display().to_string(), "--sentinel".into()];
            let log = self.dir.join(format!("sentinel-{port}.log"));
            match launch(&args, &log, |pid| crate::answers(port, pid)) {
                Ok(process) => return (port, process),
                Err(failure) => failures.push(failure),
            }
        }
        panic!("redis-server --sentinel did not start: {}", failures.join("\n"));
    }

    /// `host:port` of each sentinel, as `redis_sentinel.addresses` lists them.
    pub fn addresses(&self) -> Vec<String> {
        self.sentinels.iter().map(|(port, _)| format!("127.0.0.1:{port}")).collect()
    }

    /// The group's master, found through the sentinels.
    pub fn target(&self) -> RedisTarget {
        RedisTarget::Sentinel(SentinelTarget {
            master_name: MASTER_NAME.to_owned(),
            sentinels: self.sentinels.iter().map(|(port, _)| ("127.0.0.1".to_owned(), *port)).collect(),
            username: None,
            password: Some(GROUP_PASSWORD.to_owned()),
        })
    }

    /// Kills the master, as a crash would, and waits until the sentinels have promoted the
    /// replica and it takes writes.
    pub fn fail_over(&mut self) {
        self.master.stop();
        let promoted = self.replica.port().to_string();
        self.wait_until("the sentinels promote the replica", |group| {
            group.sentinels.iter().all(|(port, _)| {
                let master = sentinel_master(*port);
                master.get("port") == Some(&promoted) && master.get("flags").is_some_and(|flags| flags == "master")
            }) && role(group.replica.port()).as_deref() == Some("master")
        });
    }

    fn replica_in_sync(&self) -> bool {
        info(self.replica.port(), "replication").is_some_and(|info| info.contains("master_link_status:up"))
    }

    fn wait_until(&self, what: &str, done: impl Fn(&SentinelGroup) -> bool) {
        let deadline = Instant::now() + GROUP_TIMEOUT;
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}: not within {GROUP_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for (_, process) in &mut self.sentinels {
            let _ = process.kill();
            let _ = process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A connection to a sentinel (`password` none) or to a server of the group.
fn connection(port: u16, password: Option<&str>) -> Option<redis::Connection> {
    let login = password.map(|password| format!(":{password}@")).unwrap_or_default();
    let client = redis::Client::open(format!("redis://{login}127.0.0.1:{port}")).ok()?;
    client.get_connection_with_timeout(Duration::from_millis(500)).ok()
}

/// Sets the server's `setting` to the group's password, before it asks for one.
fn set(port: u16, setting: &str) {
    let mut connection = connection(port, None).unwrap_or_else(|| panic!("redis-server on {port} answers"));
    redis::cmd("CONFIG")
        .arg("SET")
        .arg(setting)
        .arg(GROUP_PASSWORD)
        .query::<()>(&mut connection)
        .unwrap_or_else(|e| panic!("CONFIG SET {setting} on {port}: {e}"));
}

/// What a sentinel says of the master (`SENTINEL MASTER`), empty if it can't be asked.
fn sentinel_master(port: u16) -> std::collections::HashMap<String, String> {
    let Some(mut connection) = connection(port, None) else { return Default::default() };
    redis::cmd("SENTINEL").arg("MASTER").arg(MASTER_NAME).query(&mut connection).unwrap_or_default()
}

fn info(port: u16, section: &str) -> Option<String> {
    redis::cmd("INFO").arg(section).query(&mut connection(port, Some(GROUP_PASSWORD))?).ok()
}

/// The server's role: `master` or `slave`.
fn role(port: u16) -> Option<String> {
    let info = info(port, "replication")?;
    info.lines().find_map(|line| line.trim_end().strip_prefix("role:").map(str::to_owned))
}

/// How long a cluster may take to come together.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a cluster node waits before it calls a silent one failed.
const NODE_TIMEOUT_MS: u64 = 2000;

const REDIS_CLI_NOT_INSTALLED: &str = "redis-cli not found: the Redis Cluster tests join their nodes with it. \
     Install it: apt-get install redis-tools (it comes with redis-server)";

/// A Redis Cluster on loopback: three masters, each with a replica, every slot assigned, joined
/// by `redis-cli --cluster create`. Dropped, every node is killed and its directory removed.
pub struct RedisCluster {
    nodes: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts six `redis-server --cluster-enabled yes`, joins them and waits until every node
    /// says the cluster is ok. Panics, naming the package, if `redis-server` or `redis-cli` is
    /// not installed.
    pub fn start() -> RedisCluster {
        let dir = fresh_dir();
        let mut cluster = RedisCluster { nodes: Vec::new(), dir };
        for _ in 0..6 {
            let node = cluster.start_node();
            cluster.nodes.push(node);
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for (port, _) in &cluster.nodes {
            create.arg(format!("127.0.0.1:{port}"));
        }
        create.args(["--cluster-replicas", "1", "--cluster-yes"]);
        let output = match create.stdin(Stdio::null()).output() {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{REDIS_CLI_NOT_INSTALLED}"),
            Err(error) => panic!("could not run redis-cli: {error}"),
        };
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        while !cluster.nodes.iter().all(|(port, _)| cluster_ok(*port)) {
            assert!(Instant::now() < deadline, "the cluster did not come together within {CLUSTER_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    fn start_node(&self) -> (u16, Child) {
        let mut failures = Vec::new();
        for _ in 0..10 {
            let port = cluster_port();
            let file = |name: &str| self.dir.join(format!("{name}-{port}")).display().to_string();
            let args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &file("nodes.conf"),
                "--cluster-node-timeout",
                &NODE_TIMEOUT_MS.to_string(),
                "--dir",
                &self.dir.display().to_string(),
                "--dbfilename",
                &format!("dump-{port}.rdb"),
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(str::to_owned)
            .to_vec();
            let log = self.dir.join(format!("redis-cluster-{port}.log"));
            match launch(&args, &log, |pid| answers(port, pid)) {
                Ok(process) => return (port, process),
                Err(failure) => failures.push(failure),
            }
        }
        panic!("redis-server --cluster-enabled did not start: {}", failures.join("\n"));
    }

    /// `redis://host:port` of every node, as `redis_cluster_nodes` lists them.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes.iter().map(|(port, _)| format!("redis://127.0.0.1:{port}")).collect()
    }

    /// The ports of the nodes that are masters now.
    pub fn master_ports(&self) -> Vec<u16> {
        let master = |port: u16| info_of(port, "replication").is_some_and(|info| info.contains("role:master"));
        self.nodes.iter().map(|(port, _)| *port).filter(|port| master(*port)).collect()
    }

    /// The cluster, found from every node.
    pub fn target(&self) -> RedisTarget {
        RedisTarget::Cluster { nodes: self.nodes(), tls_ca: None }
    }

    /// Kills a master, as a crash would, once its replica has everything it wrote, and waits
    /// until the replica has taken its place and every node left says the cluster is ok.
    pub fn fail_over(&mut self) {
        self.fail_over_master_serving(None);
    }

    /// [`RedisCluster::fail_over`] of the master serving `key`'s slot.
    pub fn fail_over_master_of(&mut self, key: &str) {
        let port = self.nodes[0].0;
        let mut connection = connection(port, None).unwrap_or_else(|| panic!("the node on {port} answers"));
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut connection).expect("CLUSTER KEYSLOT");
        self.fail_over_master_serving(Some(slot));
    }

    fn fail_over_master_serving(&mut self, slot: Option<u16>) {
        let (master, replica) = self.a_master_and_its_replica(slot);
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        let offset = |port: u16, field: &str| {
            let info = info_of(port, "replication")?;
            info.lines().find_map(|line| line.trim_end().strip_prefix(field)?.strip_prefix(':')?.parse::<u64>().ok())
        };
        while offset(master, "master_repl_offset") != offset(replica, "slave_repl_offset") {
            assert!(Instant::now() < deadline, "the replica on {replica} did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
        let index = self.nodes.iter().position(|(port, _)| *port == master).expect("the master is a node");
        let (_, mut process) = self.nodes.remove(index);
        let _ = process.kill();
        let _ = process.wait();
        let promoted = |port: u16| info_of(port, "replication").is_some_and(|info| info.contains("role:master"));
        while !(promoted(replica) && self.nodes.iter().all(|(port, _)| cluster_ok(*port))) {
            assert!(Instant::now() < deadline, "the replica on {replica} did not take over within {CLUSTER_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The ports of a master and of its replica, as `CLUSTER NODES` lists them once the node
    /// asked has heard of a replica (the gossip takes a moment after the cluster is created).
    fn a_master_and_its_replica(&self, slot: Option<u16>) -> (u16, u16) {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        loop {
            match self.listed_master_and_replica(slot) {
                Ok(ports) => return ports,
                Err(nodes) if Instant::now() >= deadline => panic!("no master with a replica in {nodes}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A master (serving `slot`, if given) and its replica, or what `CLUSTER NODES` said when it
    /// listed none.
    fn listed_master_and_replica(&self, slot: Option<u16>) -> Result<(u16, u16), String> {
        let port = self.nodes[0].0;
        let mut connection = connection(port, None).unwrap_or_else(|| panic!("the node on {port} answers"));
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut connection).expect("CLUSTER NODES");
        // `<id> <ip:port@bus> <flags> <master id or -> …`
        let fields: Vec<Vec<&str>> = nodes.lines().map(|line| line.split(' ').collect()).collect();
        let port_of = |address: &str| -> u16 {
            let port = address.split('@').next().and_then(|address| address.rsplit(':').next());
            port.and_then(|port| port.parse().ok()).expect("a node's address has a port")
        };
        // A master's slots follow its first eight fields: `0-5460`, or one slot alone.
        let serves = |node: &[&str], slot: u16| {
            node.iter().skip(8).any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(low), Ok(high)) if (low..=high).contains(&slot))
            })
        };
        let masters = fields.iter().filter(|node| node.len() > 3 && node[2].contains("master"));
        for master in masters.filter(|node| slot.is_none_or(|slot| serves(node, slot))) {
            if let Some(replica) = fields.iter().find(|node| node.len() > 3 && node[3] == master[0]) {
                return Ok((port_of(master[1]), port_of(replica[1])));
            }
        }
        Err(nodes)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, process) in &mut self.nodes {
            let _ = process.kill();
            let _ = process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (10 000 above it) is free too.
fn cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55_535 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn info_of(port: u16, section: &str) -> Option<String> {
    redis::cmd("INFO").arg(section).query(&mut connection(port, None)?).ok()
}

/// Whether the node says every slot is served.
fn cluster_ok(port: u16) -> bool {
    let Some(mut connection) = connection(port, None) else { return false };
    redis::cmd("CLUSTER")
        .arg("INFO")
        .query::<String>(&mut connection)
        .is_ok_and(|info| info.lines().any(|line| line.trim_end() == "cluster_state:ok"))
}
