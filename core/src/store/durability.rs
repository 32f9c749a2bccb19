//! What the Redis server keeps across a crash, as far as it tells: ratewire holds pending
//! surveys, queued messages and the sightings that drop platforms' redeliveries only in Redis, so
//! a server that forgets or evicts them loses ratings silently.
//!
//! | setting | ratewire wants | what anything else loses on a crash or under memory pressure |
//! |---|---|---|
//! | `appendonly` | `yes` | with snapshots only, everything written since the last one: ratings, pending surveys, queued messages |
//! | `appendfsync` | `everysec` (or `always`) | `no` leaves flushing to the OS (about 30 s on Linux): a machine crash loses that much |
//! | `maxmemory-policy` | `noeviction` | any eviction policy drops keys when memory fills — surveys, outbox items, sightings — without a word; `noeviction` refuses writes instead, which ratewire answers 503 and platforms retry |

/// The server's persistence and eviction settings; `None` where the server won't say (managed
/// services often refuse `CONFIG`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durability {
    pub appendonly: Option<bool>,
    pub appendfsync: Option<String>,
    pub maxmemory_policy: Option<String>,
}

/// One way the server falls short of what ratewire needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The Redis setting, as `redis.conf` names it.
    pub setting: &'static str,
    /// What it is (`unknown` when the server won't say).
    pub value: String,
    /// What ratewire wants it to be.
    pub wanted: &'static str,
    /// What is lost meanwhile.
    pub loses: &'static str,
    /// Whether the server said what it is: a setting it hides can't be judged.
    pub known: bool,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {} (wanted: {}): {}", self.setting, self.value, self.wanted, self.loses)
    }
}

impl Durability {
    /// Reads `aof_enabled` and `maxmemory_policy` from `info` (the text of `INFO`), and
    /// `appendfsync` from `CONFIG GET`, when the server answered it.
    pub fn from_info(info: &str, appendfsync: Option<String>) -> Self {
        let field = |name: &str| {
            info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(|v| v.trim().to_owned()))
        };
        Durability {
            appendonly: field("aof_enabled").map(|value| value == "1"),
            appendfsync,
            maxmemory_policy: field("maxmemory_policy"),
        }
    }

    /// Every setting that falls short, or that the server won't tell.
    pub fn shortfalls(&self) -> Vec<Shortfall> {
        let mut shortfalls = Vec::new();
        let mut judge = |setting, value: Option<String>, good: bool, wanted, loses| {
            if !good {
                let known = value.is_some();
                let value = value.unwrap_or_else(|| "unknown".to_owned());
                shortfalls.push(Shortfall { setting, value, wanted, loses, known });
            }
        };
        judge(
            "appendonly",
            self.appendonly.map(|on| if on { "yes" } else { "no" }.to_owned()),
            self.appendonly == Some(true),
            "yes",
            "a crash loses everything written since the last snapshot: ratings, pending surveys, queued messages",
        );
        // Only with the append-only file on does its fsync policy matter.
        if self.appendonly != Some(false) {
            judge(
                "appendfsync",
                self.appendfsync.clone(),
                matches!(self.appendfsync.as_deref(), Some("everysec" | "always")),
                "everysec",
                "the OS flushes the append-only file when it likes: a machine crash loses up to about 30 seconds",
            );
        }
        judge(
            "maxmemory-policy",
            self.maxmemory_policy.clone(),
            self.maxmemory_policy.as_deref() == Some("noeviction"),
            "noeviction",
            "when memory fills, Redis drops keys — surveys, queued messages, sightings — without a word",
        );
        shortfalls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DURABLE: &str = "# Persistence\r\naof_enabled:1\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n";

    #[test]
    fn a_durable_server_falls_short_in_nothing() {
        let durability = Durability::from_info(DURABLE, Some("everysec".into()));
        assert_eq!(durability.appendonly, Some(true));
        assert_eq!(durability.maxmemory_policy.as_deref(), Some("noeviction"));
        assert_eq!(durability.shortfalls(), vec![]);
    }

    #[test]
    fn each_shortfall_is_named_with_what_it_loses() {
        let info = "aof_enabled:0\r\nmaxmemory_policy:allkeys-lru\r\n";
        let shortfalls = Durability::from_info(info, Some("everysec".into())).shortfalls();
        let named: Vec<_> = shortfalls.iter().map(|s| (s.setting, s.value.as_str())).collect();
        assert_eq!(named, vec![("appendonly", "no"), ("maxmemory-policy", "allkeys-lru")]);
        assert!(shortfalls[1].to_string().contains("drops keys"), "{}", shortfalls[1]);

        let lazy = Durability::from_info(DURABLE, Some("no".into())).shortfalls();
        assert_eq!(lazy.len(), 1);
        assert_eq!((lazy[0].setting, lazy[0].value.as_str(), lazy[0].known), ("appendfsync", "no", true));
    }

    #[test]
    fn what_the_server_hides_is_unknown_not_wrong() {
        let hidden = Durability::from_info(DURABLE, None).shortfalls();
        assert_eq!(hidden.len(), 1);
        assert_eq!((hidden[0].setting, hidden[0].value.as_str(), hidden[0].known), ("appendfsync", "unknown", false));
    }
}
