//! The service's settings: a TOML file (`--config`) overlaid by `RATEWIRE_…` environment
//! variables, with `REDIS_URL` honoured as well. With neither, ratewire runs its demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ratewire_adapters::outbound::OutboundPolicy;
use ratewire_core::store::{RedisTarget, SentinelTarget};
use ratewire_core::{FieldError, TenantId};

pub use crate::flow::{DeliverySettings, FlowSettings, WebhookSettings};
pub use crate::http::HttpConfig;
pub use crate::http::auth::{DashboardSettings, Tenant};
pub use crate::http::server::HttpSettings;
use serde::{Deserialize, Serialize};

/// Settings as read, before they are checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// How channels and browsers reach this service: the base of webhook URLs and links.
    /// Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Redis to keep state in; without it (and without `redis_sentinel`), an embedded in-memory
    /// store. `rediss://` connects over TLS.
    pub redis_url: Option<String>,
    /// A PEM file with the CA certificate a `rediss://` server's certificate is checked against,
    /// instead of the public roots: for a Redis with a private CA.
    pub redis_tls_ca_file: Option<PathBuf>,
    /// A Sentinel group that names the Redis master, instead of `redis_url`.
    pub redis_sentinel: Option<SentinelSettings>,
    /// A Redis Cluster's seed nodes, instead of `redis_url`: `host:port`, `redis://…` or
    /// `rediss://…` each (a URL may carry the ACL user and password); the rest of the cluster
    /// is found from them. In the environment, `RATEWIRE_REDIS_CLUSTER_NODES`, separated by
    /// commas.
    #[serde(deserialize_with = "list_or_commas")]
    pub redis_cluster_nodes: Vec<String>,
    /// Seconds `serve` keeps trying, with backoff, to reach Redis at start (not up yet, or still
    /// loading its data) before it gives up; 0 tries once.
    pub redis_wait_secs: u64,
    /// Refuse to start on a Redis that would lose data on a crash or evict keys (`appendonly`
    /// off, `appendfsync no`, a `maxmemory-policy` other than `noeviction`); otherwise each
    /// shortfall is logged at start. Settings the server won't tell are logged either way.
    pub redis_require_durability: bool,
    /// The largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// The largest reply an email channel's webhook takes, in bytes: replies carry inline
    /// images and quoted HTML.
    pub email_body_limit_bytes: usize,
    /// Requests a second one tenant may make to the API, sustained; bursts of twice as many
    /// are let through. Past it, 429.
    pub api_requests_per_second: u32,
    /// The most surveys one report reads one by one: those of the part of its range from before
    /// the store kept counters. Past it, that part counts its first ones and the report says
    /// `truncated`. Bounds the memory a report takes (the ratings export streams).
    pub report_max_surveys: usize,
    /// Run the demo tenant, channel and page (on by default when no tenant is configured).
    pub demo: Option<bool>,
    pub tenants: Vec<TenantSettings>,
    pub webhooks: WebhookSettings,
    pub dashboard: DashboardSettings,
    pub outbound: OutboundSettings,
    pub delivery: DeliverySettings,
    pub http: HttpSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// SHA-256 digests of the tenant's API keys, as `ratewire new-key` prints them:
    /// `sha256:<64 hex digits>`. Keys themselves are never stored.
    pub api_key_hashes: Vec<String>,
}

/// The Sentinel group to ask for the Redis master; the store follows the master it names after
/// a failover.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SentinelSettings {
    /// The name the sentinels monitor the master under (`sentinel monitor <name> …`).
    pub master_name: String,
    /// The sentinels, as `host:port`.
    pub addresses: Vec<String>,
    /// The ACL user on the master and its replicas (the sentinels are asked without one).
    pub username: Option<String>,
    /// The password on the master and its replicas.
    pub password: Option<String>,
}

/// Never shows the password, should the settings be logged.
impl std::fmt::Debug for SentinelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSettings")
            .field("master_name", &self.master_name)
            .field("addresses", &self.addresses)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Where ratewire may connect on tenants' behalf (event webhooks, channels' platforms, SMTP);
/// see `ratewire_adapters::outbound`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundSettings {
    /// Networks (`10.1.2.0/24`), addresses and host names (`receiver.internal`) ratewire may
    /// connect to besides public addresses. Empty by default: loopback, private, link-local,
    /// shared, multicast, unspecified and reserved addresses are refused.
    pub allow: Vec<String>,
    /// Whether public addresses are allowed (the default). Off, ratewire connects only to what
    /// `allow` lists: for a network whose egress is locked down to known hosts.
    pub public: bool,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self { allow: Vec::new(), public: true }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            redis_url: None,
            redis_tls_ca_file: None,
            redis_sentinel: None,
            redis_cluster_nodes: Vec::new(),
            redis_wait_secs: 60,
            redis_require_durability: false,
            body_limit_bytes: 256 * 1024,
            email_body_limit_bytes: 10 * 1024 * 1024,
            api_requests_per_second: 50,
            report_max_surveys: 1_000_000,
            demo: None,
            tenants: Vec::new(),
            webhooks: WebhookSettings::default(),
            dashboard: DashboardSettings::default(),
            outbound: OutboundSettings::default(),
            delivery: DeliverySettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// Settings once checked: what the service runs with.
#[derive(Debug, Clone)]
pub struct Checked {
    pub listen: SocketAddr,
    pub public_url: String,
    /// Where Redis is: `redis_url` (with `redis_tls_ca_file` read) or `redis_sentinel`.
    pub redis: Option<RedisTarget>,
    pub redis_wait: Duration,
    pub redis_require_durability: bool,
    pub body_limit_bytes: usize,
    pub email_body_limit_bytes: usize,
    pub api_requests_per_second: u32,
    pub report_max_surveys: usize,
    pub demo: bool,
    pub tenants: Vec<Tenant>,
    pub webhooks: WebhookSettings,
    pub dashboard: DashboardSettings,
    /// Where ratewire may connect: `outbound.allow`, read.
    pub outbound: OutboundPolicy,
    pub delivery: DeliverySettings,
    pub http: HttpSettings,
}

impl Checked {
    /// What the HTTP service reads of the settings.
    pub fn http_config(&self) -> HttpConfig {
        HttpConfig {
            public_url: self.public_url.clone(),
            body_limit_bytes: self.body_limit_bytes,
            email_body_limit_bytes: self.email_body_limit_bytes,
            report_max_surveys: self.report_max_surveys,
            dashboard: self.dashboard.clone(),
            outbound: self.outbound.clone(),
            http: self.http.clone(),
        }
    }

    /// What the workflow reads of the settings.
    pub fn flow_settings(&self) -> FlowSettings {
        FlowSettings {
            public_url: self.public_url.clone(),
            outbound: self.outbound.clone(),
            webhooks: self.webhooks.clone(),
            delivery: self.delivery.clone(),
        }
    }
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Read(String),
    #[error("{} problem(s):\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
}

impl Settings {
    /// Reads the file if given, then the environment: `RATEWIRE_LISTEN`, `RATEWIRE_PUBLIC_URL`,
    /// `RATEWIRE_REDIS_URL` (or `REDIS_URL`), `RATEWIRE_DEMO`, `RATEWIRE_BODY_LIMIT_BYTES`,
    /// `RATEWIRE_WEBHOOKS__MAX_ATTEMPTS`, `RATEWIRE_DASHBOARD__SESSION_SECRET`,
    /// `RATEWIRE_REDIS_SENTINEL__ADDRESSES='["s1:26379", "s2:26379"]'`, …
    ///
    /// `overrides` (from command-line flags) win over both.
    pub fn load(file: Option<&Path>, overrides: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(SettingsError::Read(format!("{}: no such file", file.display())));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // RATEWIRE_CONFIG names the file itself (read by the command line), not a setting.
        let environment = Env::prefixed("RATEWIRE_").ignore(&["CONFIG"]).split("__");
        let redis = Env::raw().only(&["REDIS_URL"]);
        figment = figment.merge(redis).merge(environment);
        for (key, value) in overrides {
            figment = figment.merge((*key, *value));
        }
        figment.extract().map_err(|e| SettingsError::Read(describe(e)))
    }

    /// Reads a settings file alone, without the environment: what `check-config` checks.
    pub fn load_file(file: &Path) -> Result<Settings, SettingsError> {
        if !file.is_file() {
            return Err(SettingsError::Read(format!("{}: no such file", file.display())));
        }
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file_exact(file))
            .extract()
            .map_err(|e| SettingsError::Read(describe(e)))
    }

    /// Checks every field and reports every problem, each with its field.
    pub fn check(&self) -> Result<Checked, SettingsError> {
        let mut errors = Vec::new();
        let mut problem = |field: String, message: String| errors.push(FieldError { field, problem: message });
        let listen = match self.listen.parse::<SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                problem("listen".into(), format!("{:?} is not an address like 127.0.0.1:8080", self.listen));
                None
            }
        };
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problem("public_url".into(), "must start with http:// or https://".into());
        }
        let redis = self.check_redis(&mut problem);
        if self.redis_wait_secs > 3600 {
            problem("redis_wait_secs".into(), "must be between 0 and 3600".into());
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.body_limit_bytes) {
            problem("body_limit_bytes".into(), "must be between 1024 and 67108864".into());
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.email_body_limit_bytes) {
            problem("email_body_limit_bytes".into(), "must be between 1024 and 67108864".into());
        }
        if !(1..=100_000).contains(&self.api_requests_per_second) {
            problem("api_requests_per_second".into(), "must be between 1 and 100000".into());
        }
        if !(1..=10_000_000).contains(&self.report_max_surveys) {
            problem("report_max_surveys".into(), "must be between 1 and 10000000".into());
        }
        if self.webhooks.timeout_secs == 0 || self.webhooks.timeout_secs > 120 {
            problem("webhooks.timeout_secs".into(), "must be between 1 and 120".into());
        }
        if self.webhooks.max_attempts == 0 || self.webhooks.max_attempts > 500 {
            problem("webhooks.max_attempts".into(), "must be between 1 and 500".into());
        }
        if !(1..=3600).contains(&self.delivery.claim_secs) {
            problem("delivery.claim_secs".into(), "must be between 1 and 3600".into());
        }
        if !(1..=3600).contains(&self.delivery.lease_secs) {
            problem("delivery.lease_secs".into(), "must be between 1 and 3600".into());
        }
        if !(3..=3600).contains(&self.delivery.share_secs) {
            problem("delivery.share_secs".into(), "must be between 3 and 3600".into());
        }
        if !(1..=86_400).contains(&self.delivery.reconcile_secs) {
            problem("delivery.reconcile_secs".into(), "must be between 1 and 86400".into());
        }
        if self.dashboard.session_secret.as_ref().is_some_and(|secret| secret.chars().count() < 32) {
            problem("dashboard.session_secret".into(), "must be at least 32 characters".into());
        }
        if !(1..=24 * 30).contains(&self.dashboard.session_hours) {
            problem("dashboard.session_hours".into(), "must be between 1 and 720".into());
        }
        let http = &self.http;
        for (field, secs) in [
            ("http.header_read_timeout_secs", http.header_read_timeout_secs),
            ("http.body_read_timeout_secs", http.body_read_timeout_secs),
            ("http.idle_timeout_secs", http.idle_timeout_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                problem(field.into(), "must be between 1 and 3600".into());
            }
        }
        if !(1..=1_000_000).contains(&http.max_connections) {
            problem("http.max_connections".into(), "must be between 1 and 1000000".into());
        }
        if http.shutdown_drain_secs > 300 {
            problem("http.shutdown_drain_secs".into(), "must be between 0 and 300".into());
        }
        let mut tenants = Vec::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            let id = match TenantId::new(tenant.id.clone()) {
                Ok(id) => Some(id),
                Err(e) => {
                    problem(format!("tenants[{i}].id"), e.to_string());
                    None
                }
            };
            if self.tenants[..i].iter().any(|other| other.id == tenant.id) {
                problem(format!("tenants[{i}].id"), format!("{:?} is listed twice", tenant.id));
            }
            if tenant.api_key_hashes.is_empty() {
                problem(format!("tenants[{i}].api_key_hashes"), "needs at least one key (see ratewire new-key)".into());
            }
            let mut digests = Vec::new();
            for (k, hash) in tenant.api_key_hashes.iter().enumerate() {
                match parse_key_hash(hash) {
                    Some(digest) => digests.push(digest),
                    None => problem(
                        format!("tenants[{i}].api_key_hashes[{k}]"),
                        "must be sha256: followed by 64 hex digits, as ratewire new-key prints".into(),
                    ),
                }
            }
            if let Some(id) = id {
                let name = tenant.name.clone().unwrap_or_else(|| id.to_string());
                tenants.push(Tenant { id, name, key_digests: digests });
            }
        }
        let demo = self.demo.unwrap_or(self.tenants.is_empty());
        if demo && listen.is_some_and(|address| !address.ip().is_loopback()) {
            problem(
                "demo".into(),
                "the demo page carries the demo's API key, so the demo listens on loopback only".into(),
            );
        }
        if !demo && self.tenants.is_empty() {
            problem(
                "tenants".into(),
                "no tenant is configured, so no API call could succeed (or set demo = true)".into(),
            );
        }
        let outbound = OutboundPolicy::new(&self.outbound.allow).unwrap_or_else(|bad| {
            for (index, entry) in bad {
                problem(format!("outbound.allow[{index}]"), entry.to_string());
            }
            OutboundPolicy::default()
        });
        let outbound = if self.outbound.public { outbound } else { outbound.listed_only() };
        match listen {
            Some(listen) if errors.is_empty() => Ok(Checked {
                listen,
                public_url: self
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{listen}"))
                    .trim_end_matches('/')
                    .to_owned(),
                redis,
                redis_wait: Duration::from_secs(self.redis_wait_secs),
                redis_require_durability: self.redis_require_durability,
                body_limit_bytes: self.body_limit_bytes,
                email_body_limit_bytes: self.email_body_limit_bytes,
                api_requests_per_second: self.api_requests_per_second,
                report_max_surveys: self.report_max_surveys,
                demo,
                tenants,
                webhooks: self.webhooks.clone(),
                dashboard: self.dashboard.clone(),
                outbound,
                delivery: self.delivery.clone(),
                http: self.http.clone(),
            }),
            _ => Err(SettingsError::Invalid(errors)),
        }
    }
}

impl Settings {
    /// Checks `redis_url`, `redis_tls_ca_file`, `redis_sentinel` and `redis_cluster_nodes`
    /// together, and reads the CA.
    fn check_redis(&self, problem: &mut impl FnMut(String, String)) -> Option<RedisTarget> {
        let tls_ca = match &self.redis_tls_ca_file {
            Some(path) => match std::fs::read(path) {
                Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => Some(pem),
                Ok(_) => {
                    problem("redis_tls_ca_file".into(), format!("{} holds no PEM certificate", path.display()));
                    None
                }
                Err(error) => {
                    problem("redis_tls_ca_file".into(), format!("cannot read {}: {error}", path.display()));
                    None
                }
            },
            None => None,
        };
        let cluster = !self.redis_cluster_nodes.is_empty();
        if usize::from(self.redis_url.is_some()) + usize::from(self.redis_sentinel.is_some()) + usize::from(cluster) > 1
        {
            let field = if cluster { "redis_cluster_nodes" } else { "redis_sentinel" };
            problem(field.into(), "set one of redis_url, redis_sentinel and redis_cluster_nodes".into());
            return None;
        }
        if cluster {
            let mut nodes = Vec::new();
            for (i, node) in self.redis_cluster_nodes.iter().enumerate() {
                if node.starts_with("redis://") || node.starts_with("rediss://") {
                    nodes.push(node.clone());
                } else if parse_host_port(node).is_some() {
                    nodes.push(format!("redis://{node}"));
                } else {
                    problem(
                        format!("redis_cluster_nodes[{i}]"),
                        format!("{node:?} is not a node like redis-1:6379 or rediss://redis-1:6379"),
                    );
                }
            }
            if self.redis_tls_ca_file.is_some() && !nodes.iter().any(|node| node.starts_with("rediss://")) {
                problem("redis_tls_ca_file".into(), "only rediss:// cluster nodes use a CA file".into());
            }
            return Some(RedisTarget::Cluster { nodes, tls_ca });
        }
        // One at most, as checked above.
        match (&self.redis_url, &self.redis_sentinel) {
            (Some(url), _) => {
                if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
                    problem("redis_url".into(), "must start with redis://, rediss:// or unix://".into());
                } else if self.redis_tls_ca_file.is_some() && !url.starts_with("rediss://") {
                    problem("redis_tls_ca_file".into(), "only a rediss:// redis_url uses a CA file".into());
                }
                Some(RedisTarget::Url { url: url.clone(), tls_ca })
            }
            (None, Some(sentinel)) => {
                if self.redis_tls_ca_file.is_some() {
                    problem("redis_tls_ca_file".into(), "only a rediss:// redis_url uses a CA file".into());
                }
                if sentinel.master_name.trim().is_empty() {
                    problem("redis_sentinel.master_name".into(), "names the master the sentinels monitor".into());
                }
                if sentinel.addresses.is_empty() {
                    problem("redis_sentinel.addresses".into(), "needs at least one sentinel, as host:port".into());
                }
                let mut sentinels = Vec::new();
                for (i, address) in sentinel.addresses.iter().enumerate() {
                    match parse_host_port(address) {
                        Some(sentinel) => sentinels.push(sentinel),
                        None => problem(
                            format!("redis_sentinel.addresses[{i}]"),
                            format!("{address:?} is not an address like sentinel-1:26379"),
                        ),
                    }
                }
                Some(RedisTarget::Sentinel(SentinelTarget {
                    master_name: sentinel.master_name.clone(),
                    sentinels,
                    username: sentinel.username.clone(),
                    password: sentinel.password.clone(),
                }))
            }
            (None, None) => {
                if self.redis_tls_ca_file.is_some() {
                    problem("redis_tls_ca_file".into(), "only a rediss:// redis_url uses a CA file".into());
                }
                None
            }
        }
    }
}

/// A list, or (from the environment) one string of items separated by commas.
fn list_or_commas<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(items) => items,
        ListOrCommas::Commas(text) => {
            text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
        }
    })
}

/// `host:port`, or `[v6 address]:port`.
fn parse_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host);
    let port = port.parse::<u16>().ok().filter(|port| *port != 0)?;
    (!host.is_empty() && !host.contains(char::is_whitespace)).then(|| (host.to_owned(), port))
}

fn parse_key_hash(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// Figment's error, with the field path and where the value came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            if path.is_empty() { format!("{}{source}", e.kind) } else { format!("{path}: {}{source}", e.kind) }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<Checked, SettingsError> {
        let settings: Settings =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(text)).extract().unwrap();
        settings.check()
    }

    const KEY: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_good_file_is_accepted() {
        let checked = from_toml(&format!(
            "listen = \"0.0.0.0:9000\"\npublic_url = \"https://rw.example.com/\"\n[[tenants]]\nid = \"acme\"\napi_key_hashes = [\"{KEY}\"]\n"
        ))
        .unwrap();
        assert_eq!(checked.public_url, "https://rw.example.com");
        assert_eq!(checked.tenants[0].key_digests[0].len(), 64);
        assert!(!checked.demo);
    }

    #[test]
    fn the_demo_listens_on_loopback_only() {
        let Err(SettingsError::Invalid(errors)) = from_toml("listen = \"0.0.0.0:8080\"\n") else {
            panic!("expected a problem");
        };
        assert_eq!(errors[0].field, "demo");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let Err(SettingsError::Invalid(errors)) = from_toml(
            "listen = \"nowhere\"\nredis_url = \"http://x\"\nreport_max_surveys = 0\n[webhooks]\nmax_attempts = 0\n[http]\nidle_timeout_secs = 0\nmax_connections = 0\n[dashboard]\nsession_secret = \"short\"\n[outbound]\nallow = [\"10.1.2.0/24\", \"not a host\"]\n[[tenants]]\nid = \"a b\"\napi_key_hashes = [\"md5:x\"]\n[[tenants]]\nid = \"b\"\napi_key_hashes = []\n",
        ) else {
            panic!("expected problems");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "listen",
                "redis_url",
                "report_max_surveys",
                "webhooks.max_attempts",
                "dashboard.session_secret",
                "http.idle_timeout_secs",
                "http.max_connections",
                "tenants[0].id",
                "tenants[0].api_key_hashes[0]",
                "tenants[1].api_key_hashes",
                "outbound.allow[1]"
            ]
        );
    }

    fn problems(text: &str) -> Vec<FieldError> {
        match from_toml(text) {
            Err(SettingsError::Invalid(errors)) => errors,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn redis_is_a_url_or_a_sentinel_group() {
        let checked = from_toml("redis_url = \"rediss://app:pw@db.example.com:6380/2\"\n").unwrap();
        assert_eq!(
            checked.redis,
            Some(RedisTarget::Url { url: "rediss://app:pw@db.example.com:6380/2".into(), tls_ca: None })
        );
        let checked = from_toml(
            "[redis_sentinel]\nmaster_name = \"mymaster\"\naddresses = [\"s1:26379\", \"[::1]:26380\"]\npassword = \"pw\"\n",
        )
        .unwrap();
        assert_eq!(
            checked.redis,
            Some(RedisTarget::Sentinel(SentinelTarget {
                master_name: "mymaster".into(),
                sentinels: vec![("s1".into(), 26379), ("::1".into(), 26380)],
                username: None,
                password: Some("pw".into()),
            }))
        );
        assert_eq!(Settings::default().check().unwrap().redis, None);
    }

    #[test]
    fn redis_settings_that_cant_be_opened_are_refused() {
        let fields = |text: &str| problems(text).into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields("redis_url = \"http://db:6379\"\n"), ["redis_url"]);
        assert_eq!(
            fields("redis_url = \"redis://db\"\n[redis_sentinel]\nmaster_name = \"m\"\naddresses = [\"s:1\"]\n"),
            ["redis_sentinel"]
        );
        assert_eq!(
            fields("[redis_sentinel]\nusername = \"app\"\n"),
            ["redis_sentinel.master_name", "redis_sentinel.addresses"]
        );
        assert_eq!(
            fields("[redis_sentinel]\nmaster_name = \"m\"\naddresses = [\"s1:26379\", \"s2\", \"s3:0\"]\n"),
            ["redis_sentinel.addresses[1]", "redis_sentinel.addresses[2]"]
        );
        let missing = problems("redis_url = \"rediss://db\"\nredis_tls_ca_file = \"/nonexistent/ca.pem\"\n");
        assert_eq!(missing[0].field, "redis_tls_ca_file");
        assert!(missing[0].problem.contains("/nonexistent/ca.pem"), "{}", missing[0].problem);
        assert_eq!(fields("redis_url = \"rediss://db\"\nredis_tls_ca_file = \"Cargo.toml\"\n"), ["redis_tls_ca_file"]);
    }

    #[test]
    fn a_ca_file_is_read_for_a_tls_url() {
        let path = std::env::temp_dir().join(format!("ratewire-ca-{}.pem", std::process::id()));
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        std::fs::write(&path, pem).unwrap();
        let ca = format!("redis_tls_ca_file = {:?}\n", path.display().to_string());
        let checked = from_toml(&format!("redis_url = \"rediss://db\"\n{ca}"));
        let plain = problems(&format!("redis_url = \"redis://db\"\n{ca}"));
        std::fs::remove_file(&path).unwrap();
        let Some(RedisTarget::Url { tls_ca, .. }) = checked.unwrap().redis else { panic!("a URL") };
        assert_eq!(tls_ca.as_deref(), Some(pem.as_bytes()));
        assert_eq!(plain[0].field, "redis_tls_ca_file");
    }

    #[test]
    // Jail's closures return figment's error, whose size is figment's choice.
    #[allow(clippy::result_large_err)]
    fn the_sentinel_table_comes_from_the_environment_too() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RATEWIRE_REDIS_SENTINEL__MASTER_NAME", "mymaster");
            jail.set_env("RATEWIRE_REDIS_SENTINEL__ADDRESSES", "[\"s1:26379\", \"s2:26379\"]");
            jail.set_env("RATEWIRE_REDIS_SENTINEL__PASSWORD", "pw");
            let settings = Settings::load(None, &[]).unwrap();
            let sentinel = settings.redis_sentinel.expect("a sentinel table");
            assert_eq!(sentinel.master_name, "mymaster");
            assert_eq!(sentinel.addresses, ["s1:26379", "s2:26379"]);
            assert_eq!(sentinel.password.as_deref(), Some("pw"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn cluster_nodes_come_as_a_list_or_separated_by_commas() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RATEWIRE_REDIS_CLUSTER_NODES", "10.0.0.1:6379, rediss://:pw@10.0.0.2:6380");
            let settings = Settings::load(None, &[]).unwrap();
            let Some(RedisTarget::Cluster { nodes, .. }) = settings.check().unwrap().redis else { panic!("a cluster") };
            assert_eq!(nodes, ["redis://10.0.0.1:6379", "rediss://:pw@10.0.0.2:6380"]);
            Ok(())
        });
        let fields = |text: &str| problems(text).into_iter().map(|e| e.field).collect::<Vec<_>>();
        let listed = fields("redis_cluster_nodes = [\"a:1\", \"nowhere\"]\n");
        assert_eq!(listed, ["redis_cluster_nodes[1]"]);
        let both = fields("redis_url = \"redis://a\"\nredis_cluster_nodes = [\"a:1\"]\n");
        assert_eq!(both, ["redis_cluster_nodes"]);
    }

    #[test]
    fn no_settings_at_all_means_the_demo() {
        let checked = Settings::default().check().unwrap();
        assert!(checked.demo);
        assert_eq!(checked.public_url, "http://127.0.0.1:8080");
    }
}
