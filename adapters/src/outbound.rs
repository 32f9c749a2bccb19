//! Where ratewire may send requests: the outbound-address policy, in one place for every
//! outbound client (event webhooks, every channel's platform client, SMTP).
//!
//! Tenants choose where ratewire connects (an endpoint's `url`, a channel's `api_base_url`,
//! `smtp_host`), so by default ratewire refuses addresses inside the network it runs in —
//! loopback, private, link-local, shared (100.64.0.0/10), multicast, unspecified and reserved
//! ones, IPv4-mapped IPv6 included — or a tenant could map and reach internal services. The
//! operator's `outbound.allow` lists the networks and host names allowed all the same.
//!
//! The address judged is the one connected to: names are judged as they resolve, at each
//! connection (a name that later resolves inward is refused then), and IP literals, which no
//! resolver sees, are judged from the URL. Clients follow no redirects, and use no proxy (the
//! proxy, not ratewire, would choose the address).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use ratewire_core::FailureReason;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error;

/// Why an address is not one ratewire connects to by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Private,
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    Shared,
    Multicast,
    Unspecified,
    /// Set aside, not routed on the internet (240.0.0.0/4, benchmarking, documentation…).
    Reserved,
    /// On the internet: refused only where the operator turned `outbound.public` off.
    Public,
}

/// As a sentence names it: "a loopback address".
impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Shared => "a shared address (100.64.0.0/10)",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Reserved => "a reserved address",
            AddressClass::Public => "a public address",
        })
    }
}

/// The IPv4 networks refused by default, each with its class.
static REFUSED_V4: LazyLock<Vec<(Ipv4Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    [
        ("0.0.0.0/8", Unspecified),
        ("10.0.0.0/8", Private),
        ("100.64.0.0/10", Shared),
        ("127.0.0.0/8", Loopback),
        ("169.254.0.0/16", LinkLocal),
        ("172.16.0.0/12", Private),
        ("192.0.0.0/24", Reserved),
        ("192.0.2.0/24", Reserved),
        ("192.168.0.0/16", Private),
        ("198.18.0.0/15", Reserved),
        ("198.51.100.0/24", Reserved),
        ("203.0.113.0/24", Reserved),
        ("224.0.0.0/4", Multicast),
        ("240.0.0.0/4", Reserved),
    ]
    .into_iter()
    .map(|(net, class)| (net.parse().expect("a valid network"), class))
    .collect()
});

/// The IPv6 networks refused by default. Addresses outside them that embed an IPv4 address
/// (mapped, NAT64, 6to4) are judged by that address: see [`embedded_v4`].
static REFUSED_V6: LazyLock<Vec<(Ipv6Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    [
        ("::/128", Unspecified),
        ("::1/128", Loopback),
        ("64:ff9b:1::/48", Private),
        ("100::/64", Reserved),
        ("2001:db8::/32", Reserved),
        ("fc00::/7", Private),
        ("fe80::/10", LinkLocal),
        ("fec0::/10", Private),
        ("ff00::/8", Multicast),
    ]
    .into_iter()
    .map(|(net, class)| (net.parse().expect("a valid network"), class))
    .collect()
});

/// The IPv4 address an IPv6 address stands for, where it embeds one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4
/// (`2002:AABB:CCDD::`). Reaching it reaches that IPv4 address, so it is judged as one.
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let low = Ipv4Addr::new((segments[6] >> 8) as u8, segments[6] as u8, (segments[7] >> 8) as u8, segments[7] as u8);
    match segments {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // (`::` and `::1` are IPv6's own, judged before.)
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, high, low_half, ..] => {
            Some(Ipv4Addr::new((high >> 8) as u8, high as u8, (low_half >> 8) as u8, low_half as u8))
        }
        _ => None,
    }
}

/// Why ratewire does not connect to `address` by default, or `None` for a public address.
pub fn classify(address: IpAddr) -> Option<AddressClass> {
    match address {
        IpAddr::V4(v4) => REFUSED_V4.iter().find(|(net, _)| net.contains(&v4)).map(|(_, class)| *class),
        IpAddr::V6(v6) => REFUSED_V6
            .iter()
            .find(|(net, _)| net.contains(&v6))
            .map(|(_, class)| *class)
            .or_else(|| classify(IpAddr::V4(embedded_v4(v6)?))),
    }
}

/// A connection the policy refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct Refused {
    /// The host as the URL or setting names it.
    pub host: String,
    pub address: IpAddr,
    pub class: AddressClass,
}

/// "localhost is 127.0.0.1, a loopback address: …", or for a literal "10.0.0.1 is a private
/// address: …".
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Refused { host, address, class } = self;
        if host.trim_start_matches('[').trim_end_matches(']') == address.to_string() {
            write!(f, "{address} is {class}")?;
        } else {
            write!(f, "{host} is {address}, {class}")?;
        }
        f.write_str(match class {
            AddressClass::Public => ": ratewire connects only to what the operator's outbound.allow lists",
            _ => {
                ": ratewire connects only to public addresses, unless the operator's outbound.allow lists the host \
                 or its network"
            }
        })
    }
}

impl Refused {
    /// What a send refused this way fails its survey with.
    pub fn failure(&self) -> FailureReason {
        FailureReason { code: "refused_destination".into(), detail: self.to_string() }
    }
}

/// The policy's refusal among an error and its causes, if one of them is.
pub fn refusal<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Refused> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused);
        }
        // `io::Error` does not give the error it wraps as its source.
        if let Some(refused) =
            error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).and_then(|e| e.downcast_ref::<Refused>())
        {
            return Some(refused);
        }
        current = error.source();
    }
    None
}

/// A platform request that got no answer: refused by the policy, which fails the send for good
/// (trying again reaches the same address), or else `not_reached`, a passing failure.
pub(crate) fn send_error<E: std::borrow::Borrow<reqwest::Error>>(
    error: E,
    not_reached: impl FnOnce(E) -> String,
) -> crate::SendError {
    match refusal(error.borrow()) {
        Some(refused) => crate::SendError::Permanent(refused.failure()),
        None => crate::SendError::Temporary(not_reached(error)),
    }
}

/// Why a host could not be connected to.
#[derive(Debug, Error)]
pub enum Unreachable {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{host} could not be resolved: {source}")]
    Lookup { host: String, source: std::io::Error },
}

/// One entry of `outbound.allow` that is not a network or an address, nor a host name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a network (10.1.2.0/24), an address or a host name")]
pub struct BadAllowEntry(pub String);

/// Where outbound connections may go: public addresses (unless turned off), and what the
/// operator allows.
/// Cloning is cheap; clones share their clients.
#[derive(Clone, Default)]
pub struct OutboundPolicy {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    networks: Vec<IpNet>,
    /// Lower case, without a trailing dot.
    hosts: Vec<String>,
    /// Only what is listed: egress locked down to known hosts (`outbound.public = false`).
    refuse_public: bool,
    /// One client per use, built with the policy (see [`OutboundPolicy::client`]).
    clients: Mutex<HashMap<&'static str, reqwest::Client>>,
}

impl fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundPolicy")
            .field("networks", &self.inner.networks)
            .field("hosts", &self.inner.hosts)
            .field("refuse_public", &self.inner.refuse_public)
            .finish_non_exhaustive()
    }
}

/// Two policies are the same when they allow the same.
impl PartialEq for OutboundPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.inner.networks == other.inner.networks
            && self.inner.hosts == other.inner.hosts
            && self.inner.refuse_public == other.inner.refuse_public
    }
}

impl Eq for OutboundPolicy {}

fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl OutboundPolicy {
    /// The policy allowing, besides public addresses, each entry: a network (`10.1.2.0/24`,
    /// `fd00::/8`), an address (`10.1.2.3`, a network of one) or a host name
    /// (`receiver.internal`, which may then resolve to any address). Every bad entry is told.
    pub fn new<S: AsRef<str>>(allow: &[S]) -> Result<OutboundPolicy, Vec<(usize, BadAllowEntry)>> {
        let mut inner = Inner::default();
        let mut bad = Vec::new();
        for (index, entry) in allow.iter().enumerate() {
            let entry = entry.as_ref().trim();
            if let Ok(net) = entry.parse::<IpNet>() {
                inner.networks.push(net.trunc());
            } else if let Ok(address) = entry.parse::<IpAddr>() {
                inner.networks.push(IpNet::from(address));
            } else if is_host_name(entry) {
                inner.hosts.push(normalize_host(entry));
            } else {
                bad.push((index, BadAllowEntry(entry.to_owned())));
            }
        }
        if bad.is_empty() { Ok(OutboundPolicy { inner: Arc::new(inner) }) } else { Err(bad) }
    }

    /// The same list, with public addresses refused too: ratewire then connects only to what
    /// the list names.
    pub fn listed_only(self) -> OutboundPolicy {
        let Inner { networks, hosts, .. } = &*self.inner;
        let inner = Inner { networks: networks.clone(), hosts: hosts.clone(), refuse_public: true, ..Inner::default() };
        OutboundPolicy { inner: Arc::new(inner) }
    }

    /// Whether `host` is allowed by name, whatever it resolves to.
    fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.inner.hosts.contains(&host)
    }

    fn allows_address(&self, address: IpAddr) -> bool {
        let mapped = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.inner.networks.iter().any(|net| net.contains(&address) || mapped.is_some_and(|v4| net.contains(&v4)))
    }

    /// Whether ratewire may connect to `address`, reached as `host`.
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), Refused> {
        let class = match classify(address) {
            Some(class) => class,
            None if self.inner.refuse_public => AddressClass::Public,
            None => return Ok(()),
        };
        if self.allows_host(host) || self.allows_address(address) {
            Ok(())
        } else {
            Err(Refused { host: host.to_owned(), address, class })
        }
    }

    /// Judges a URL's host where it can be judged before connecting: an IP literal, which no
    /// resolver sees. A name is judged when it resolves, at each connection.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        url.host_str().map_or(Ok(()), |host| self.check_host(host))
    }

    /// Judges a host as a URL or a setting names it (`smtp_host`, `[::1]`): an IP literal now; a
    /// name when it resolves.
    pub fn check_host(&self, host: &str) -> Result<(), Refused> {
        let literal = host.trim().trim_start_matches('[').trim_end_matches(']');
        match literal.parse::<IpAddr>() {
            Ok(address) => self.check(host.trim(), address),
            Err(_) => Ok(()),
        }
    }

    /// The addresses `host` resolves to that ratewire may connect to, in the resolver's order;
    /// refused when it resolves only to refused ones.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Unreachable> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
            Ok(address) => vec![SocketAddr::new(address, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|source| Unreachable::Lookup { host: host.to_owned(), source })?
                .collect(),
        };
        let mut refused = None;
        let permitted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|address| match self.check(host, address.ip()) {
                Ok(()) => true,
                Err(refusal) => {
                    refused.get_or_insert(refusal);
                    false
                }
            })
            .collect();
        match (permitted.is_empty(), refused) {
            (true, Some(refused)) => Err(refused.into()),
            _ => Ok(permitted),
        }
    }

    /// The HTTP client for one use (`"webhooks"`, `"whatsapp"`…), built once with the policy
    /// and `configure`'s timeouts and kept, so its connections are shared by every caller of
    /// that use. It resolves names through the policy, follows no redirects and uses no proxy.
    /// Callers still judge IP-literal URLs with [`OutboundPolicy::check_url`].
    pub fn client(
        &self,
        purpose: &'static str,
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> reqwest::Result<reqwest::Client> {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(purpose) {
            return Ok(client.clone());
        }
        let client = configure(reqwest::Client::builder())
            .dns_resolver(Arc::new(PolicyResolver { policy: self.clone() }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("ratewire/", env!("CARGO_PKG_VERSION")))
            .build()?;
        clients.insert(purpose, client.clone());
        Ok(client)
    }
}

/// A host name as DNS has them: labels of letters, digits, `-` and `_`, joined by dots.
fn is_host_name(entry: &str) -> bool {
    let entry = entry.trim_end_matches('.');
    !entry.is_empty()
        && entry.len() <= 253
        && entry.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// reqwest's resolver, through the policy: a name resolves only to addresses ratewire may
/// connect to, so the check is on the address the connection is made to.
struct PolicyResolver {
    policy: OutboundPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            match policy.resolve(name.as_str(), 0).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                // The refusal itself, so callers find it among the error's causes.
                Err(Unreachable::Refused(refused)) => Err(Box::new(refused) as _),
                Err(Unreachable::Lookup { source, .. }) => Err(Box::new(source) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(address: &str) -> Option<AddressClass> {
        classify(address.parse().unwrap())
    }

    #[test]
    fn each_class_is_told_and_public_addresses_pass() {
        assert_eq!(class("127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("10.0.0.1"), Some(AddressClass::Private));
        assert_eq!(class("169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("100.64.0.1"), Some(AddressClass::Shared));
        assert_eq!(class("224.0.0.1"), Some(AddressClass::Multicast));
        assert_eq!(class("0.0.0.0"), Some(AddressClass::Unspecified));
        assert_eq!(class("::1"), Some(AddressClass::Loopback));
        assert_eq!(class("::"), Some(AddressClass::Unspecified));
        assert_eq!(class("::ffff:127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("::ffff:169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("64:ff9b::10.0.0.1"), Some(AddressClass::Private));
        assert_eq!(class("2002:a00:1::"), Some(AddressClass::Private));
        assert_eq!(class("fd00::1"), Some(AddressClass::Private));
        assert_eq!(class("fe80::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("::5"), Some(AddressClass::Unspecified));
        assert_eq!(class("93.184.215.14"), None);
        assert_eq!(class("2606:4700::1111"), None);
        assert_eq!(class("::ffff:93.184.215.14"), None);
    }

    #[test]
    fn the_allow_list_takes_networks_addresses_and_names() {
        let policy = OutboundPolicy::new(&["10.1.2.0/24", "127.0.0.1", "Receiver.Internal."]).unwrap();
        assert!(policy.check("x", "10.1.2.7".parse().unwrap()).is_ok());
        assert!(policy.check("x", "10.1.3.7".parse().unwrap()).is_err());
        assert!(policy.check("x", "::ffff:127.0.0.1".parse().unwrap()).is_ok(), "mapped: the same address");
        assert!(policy.check("receiver.internal", "10.9.9.9".parse().unwrap()).is_ok());
        let bad = OutboundPolicy::new(&["10.1.2.0/33", "ok.example", "not a host"]).unwrap_err();
        assert_eq!(bad.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn listed_only_refuses_public_addresses_too() {
        let policy = OutboundPolicy::new(&["127.0.0.0/8", "graph.example"]).unwrap();
        assert!(policy.check("x", "93.184.215.14".parse().unwrap()).is_ok(), "public addresses by default");
        let policy = policy.listed_only();
        let refused = policy.check("x", "93.184.215.14".parse().unwrap()).unwrap_err();
        assert_eq!(refused.class, AddressClass::Public);
        assert!(refused.to_string().ends_with("ratewire connects only to what the operator's outbound.allow lists"));
        assert!(policy.check("x", "127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("graph.example", "93.184.215.14".parse().unwrap()).is_ok());
        assert!(policy.check("x", "10.0.0.1".parse().unwrap()).is_err());
    }
}
