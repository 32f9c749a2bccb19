//! The figures besides the traffic: the bytes a pending survey takes in Redis, the commands
//! Redis runs, Redis's own speed for the commands a rating uses, the machine's load; and the
//! report that gives them all.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;
use std::time::{Duration, Instant};

use ratewire_core::store::RedisStore;
use ratewire_tests::RedisServer;
use ratewire_tests::history::YearOfReports;

use crate::drive::Phase;
use crate::processes::Setup;
use crate::sustained::{Step, Sustained};
use crate::trace::Trace;
use ratewire_tests::process::Memory;
/// Connections `redis-benchmark` opens: as many as the gateway's one multiplexed connection
/// carries requests in flight during a run.
const BENCHMARK_CONNECTIONS: &str = "32";

/// Everything one run measured.
pub struct Report {
    /// `uptime`'s load averages when the run started and when it ended.
    pub load: [String; 2],
    pub seeding: Seeded,
    pub memory: Stored,
    pub trace: Trace,
    pub gateway: Sustained,
    /// The gateway paced at half its sustained rate.
    pub half: Option<Step>,
    /// Redis commands per rating at half the sustained rate, by command (the outbox's
    /// included, Redis's idle traffic taken out).
    pub commands_per_rating: BTreeMap<String, f64>,
    pub relay: Sustained,
    /// The bare axum server at full speed.
    pub bare: Phase,
    pub gateway_memory: Memory,
    pub redis_benchmark: Option<Vec<Benchmarked>>,
    /// The report API over a year of surveys.
    pub reports: YearOfReports,
    /// Ratings sent from numbers with no pending survey (none, unless the seeds ran out).
    pub unmatched: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Seeded { asked, created, requests, sent, all_sent_after, outbox_left } = self.seeding;
        writeln!(
            f,
            "seeding: {created} of {asked} invitations taken by POST /v1/invitations in {:.1} s ({:.0}/s); \
             {sent} messages taken by the fake Graph API and {outbox_left} outbox items left {:.1} s after the first",
            requests.as_secs_f64(),
            created as f64 / requests.as_secs_f64().max(f64::MIN_POSITIVE),
            all_sent_after.as_secs_f64(),
        )?;
        writeln!(f)?;
        writeln!(f, "{}", self.memory)?;
        writeln!(f)?;
        writeln!(f, "{}", self.trace)?;
        writeln!(f, "{}", self.gateway)?;
        writeln!(f)?;
        writeln!(f, "{}", self.relay)?;
        writeln!(f)?;
        writeln!(f, "| bare axum, full speed | requests | per second | p50 ms | p99 ms | p99.9 ms | errors |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        writeln!(f, "{}", self.bare)?;
        writeln!(f)?;
        let commands: Vec<String> =
            self.commands_per_rating.iter().map(|(name, calls)| format!("{name} {calls:.2}")).collect();
        writeln!(f, "Redis commands per rating, by command: {}", commands.join(", "))?;
        writeln!(
            f,
            "gateway resident memory at the end: {} MiB (peak {} MiB)",
            self.gateway_memory.resident_kib / 1024,
            self.gateway_memory.peak_kib / 1024
        )?;
        if let Some(benchmarked) = &self.redis_benchmark {
            writeln!(f)?;
            writeln!(f, "| redis-benchmark ({BENCHMARK_CONNECTIONS} connections) | per second | p50 ms |")?;
            writeln!(f, "|---|---|---|")?;
            for b in benchmarked {
                writeln!(f, "| {} | {:.0} | {:.3} |", b.command, b.per_second, b.p50_ms)?;
            }
        }
        self.summary(f)
    }
}

impl Report {
    /// The figures that count, one a line as `name: value`.
    fn summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.0} %", a / b * 100.0),
            _ => "-".into(),
        };
        let rate = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.0}"));
        let (gateway, relay, bare) = (self.gateway.rate(), self.relay.rate(), Some(self.bare.measured.throughput()));
        let [(sent, scripted), (outbox_sent, outbox_scripted)] = self.trace.commands();
        writeln!(f)?;
        writeln!(f, "summary:")?;
        writeln!(f, "invitations sent: {} of {}", self.seeding.sent, self.seeding.asked)?;
        writeln!(f, "outbox left after seeding: {}", self.seeding.outbox_left)?;
        writeln!(f, "used_memory per pending survey: {:.0} bytes", self.memory.used_memory_per_survey())?;
        let trips = |read_copies| self.trace.median_round_trips(read_copies).map_or("-".to_owned(), |n| n.to_string());
        writeln!(f, "round trips in sequence per rating: {} (the gateway's copies fresh)", trips(false))?;
        writeln!(f, "round trips in sequence per rating, copies read again: {}", trips(true))?;
        writeln!(
            f,
            "traced commands per rating: webhook {sent:.1} sent + {scripted:.1} in scripts, \
             outbox {outbox_sent:.1} sent + {outbox_scripted:.1} in scripts"
        )?;
        writeln!(f, "replies per rating: {:.2}", self.trace.replies().per_rating())?;
        writeln!(f, "Redis commands per rating: {:.1}", self.commands_per_rating.values().sum::<f64>())?;
        writeln!(f, "gateway sustained: {} ratings/s", rate(gateway))?;
        writeln!(f, "relay sustained: {} ratings/s", rate(relay))?;
        writeln!(f, "bare axum full speed: {} requests/s", rate(bare))?;
        writeln!(f, "gateway / relay: {}", ratio(gateway, relay))?;
        writeln!(f, "gateway / bare axum: {}", ratio(gateway, bare))?;
        if let Some(half) = &self.half {
            let m = &half.measured;
            let ms = |q: f64| m.percentile(q).as_secs_f64() * 1000.0;
            writeln!(
                f,
                "at half the sustained rate ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
                half.rate,
                ms(0.5),
                ms(0.99),
                ms(0.999)
            )?;
            writeln!(f, "errors at half: {}", m.error_count())?;
            writeln!(f, "owed after half: {}", if half.drained_in.is_some() { 0 } else { half.owed })?;
            let micros = |name: &str| half.cpu_per_rating(name).map_or("-".into(), |d| format!("{}", d.as_micros()));
            writeln!(
                f,
                "CPU per rating at half, µs: gateway {}, redis-server {}, load generator {}",
                micros("gateway"),
                micros("redis-server"),
                micros("load generator")
            )?;
        }
        let YearOfReports { surveys, seeded_in_secs, counter_fields, used_memory, zones } = &self.reports;
        let medians: Vec<String> =
            zones.iter().map(|(zone, timings)| format!("{:.1} ms in {zone}", timings[timings.len() / 2])).collect();
        writeln!(f, "report API, a year of {surveys} surveys: {}", medians.join(", "))?;
        writeln!(
            f,
            "year of reports seeded in {seeded_in_secs:.0} s: {counter_fields} counter fields, Redis used_memory {used_memory} bytes"
        )?;
        writeln!(f, "ratings from numbers with no pending survey: {}", self.unmatched)?;
        write!(f, "load average: {} at the start, {} at the end", self.load[0], self.load[1])
    }
}

/// How seeding went.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    /// Invitations asked for, and taken by the API.
    pub asked: usize,
    pub created: usize,
    /// How long the API calls took.
    pub requests: Duration,
    /// Messages the fake Graph API took.
    pub sent: u64,
    /// From the first call until every invitation was sent and the outbox empty.
    pub all_sent_after: Duration,
    pub outbox_left: u64,
}

/// Waits until the fake Graph API has taken `count` messages and the outbox is empty, or
/// `limit` has passed since `start`.
pub async fn wait_sent(setup: &Setup, count: usize, start: Instant, limit: Duration) -> Result<(u64, u64), String> {
    let masters = setup.redis.master_ports();
    loop {
        let (sent, left) = (setup.graph.taken(), outbox_backlog(&masters).await?);
        if (sent >= count as u64 && left == 0) || start.elapsed() >= limit {
            return Ok((sent, left));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Commands Redis ran between two `command_calls`, per rating, with Redis's idle traffic (the
/// workers' polling, at `idle` calls a second by command) over `elapsed` taken out, and the
/// generator's own `INFO` left out.
pub fn commands_per_rating(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    idle: &BTreeMap<String, f64>,
    elapsed: Duration,
    ratings: u64,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(name, calls)| {
            let made = calls.saturating_sub(before.get(name).copied().unwrap_or(0)) as f64;
            let idle = idle.get(name).copied().unwrap_or(0.0) * elapsed.as_secs_f64();
            (name.clone(), (made - idle).max(0.0) / ratings.max(1) as f64)
        })
        .filter(|(name, per_rating)| *per_rating >= 0.01 && !name.starts_with("info"))
        .collect()
}

/// Commands a second Redis runs, by command, while nothing is sent: over `length`.
pub async fn idle_commands(masters: &[u16], length: Duration) -> Result<BTreeMap<String, f64>, String> {
    let before = command_calls(masters).await?;
    tokio::time::sleep(length).await;
    let after = command_calls(masters).await?;
    Ok(after
        .into_iter()
        .map(|(name, calls)| {
            let made = calls.saturating_sub(before.get(&name).copied().unwrap_or(0));
            (name, made as f64 / length.as_secs_f64())
        })
        .collect())
}

/// `uptime`'s load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A connection to one server (of a cluster: a node, which answers for its own keys only).
async fn connection(port: u16) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    client.get_multiplexed_async_connection().await.map_err(|e| format!("Redis on {port}: {e}"))
}

/// A field of `INFO <section>`.
async fn info_field(port: u16, section: &str, field: &str) -> Result<u64, String> {
    let mut connection = connection(port).await?;
    let info: String = redis::cmd("INFO").arg(section).query_async(&mut connection).await.map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in INFO {section}"))
}

/// The Redis servers' process ids.
pub async fn redis_pids(masters: &[u16]) -> Result<Vec<u32>, String> {
    let mut pids = Vec::new();
    for port in masters {
        pids.push(info_field(*port, "server", "process_id").await? as u32);
    }
    Ok(pids)
}

/// The calls of each command the servers have processed since they started (`INFO
/// commandstats`), added up.
pub async fn command_calls(masters: &[u16]) -> Result<BTreeMap<String, u64>, String> {
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for port in masters {
        let mut connection = connection(*port).await?;
        let info: String =
            redis::cmd("INFO").arg("commandstats").query_async(&mut connection).await.map_err(|e| e.to_string())?;
        for line in info.lines() {
            let Some((name, stats)) = line.strip_prefix("cmdstat_").and_then(|line| line.split_once(':')) else {
                continue;
            };
            let made = stats.strip_prefix("calls=").and_then(|stats| stats.split(',').next()?.parse::<u64>().ok());
            *calls.entry(name.to_owned()).or_default() += made.unwrap_or(0);
        }
    }
    Ok(calls)
}

/// The outbox items waiting: the entries of the 16 buckets of the outbox's due index
/// (docs/surveys.md). Each bucket is on one server; the others answer it with `MOVED`.
pub async fn outbox_backlog(masters: &[u16]) -> Result<u64, String> {
    let mut waiting = 0;
    for port in masters {
        let mut connection = connection(*port).await?;
        for bucket in 0..16 {
            let key = format!("rw:outbox:due:{{{bucket}}}");
            waiting += redis::cmd("ZCARD").arg(key).query_async::<u64>(&mut connection).await.unwrap_or(0);
        }
    }
    Ok(waiting)
}

/// One `redis-benchmark` test.
pub struct Benchmarked {
    pub command: String,
    pub per_second: f64,
    pub p50_ms: f64,
}

/// `redis-benchmark` on the commands a rating uses, against the run's Redis.
pub async fn redis_benchmark(redis: &RedisServer, requests: u64) -> Result<Vec<Benchmarked>, String> {
    let mut connection = connection(redis.port()).await?;
    let load = |script: &str| redis::cmd("SCRIPT").arg("LOAD").arg(script).to_owned();
    let write: String =
        load(RedisStore::SURVEY_WRITE_SCRIPT).query_async(&mut connection).await.map_err(|e| e.to_string())?;
    // A survey's record as large as a pending one is stored.
    let value = "x".repeat(80);
    let tests: Vec<Vec<String>> = vec![
        vec!["PING".into()],
        "SET bench:seen:__rand_int__ 1 NX PX 604800000".split(' ').map(String::from).collect(),
        "GET bench:pointer:__rand_int__".split(' ').map(String::from).collect(),
        "HMGET bench:record:__rand_int__ rev body".split(' ').map(String::from).collect(),
        vec![
            "EVALSHA".into(),
            write,
            "1".into(),
            "bench:{s:__rand_int__}".into(),
            String::new(),
            format!("1:{value}"),
            "34560000000".into(),
        ],
    ];
    let mut results = Vec::new();
    for args in tests {
        let output = Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &redis.port().to_string(), "--csv", "-r", "1000000"])
            .args(["-n", &requests.to_string(), "-c", BENCHMARK_CONNECTIONS])
            .args(&args)
            .output()
            .map_err(|e| format!("can't run redis-benchmark (apt-get install redis-tools): {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",…
        let row = text.lines().nth(1).ok_or_else(|| format!("redis-benchmark said: {text}"))?;
        let fields: Vec<&str> = row.split(',').map(|field| field.trim_matches('"')).collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
        let command = match args[0].as_str() {
            "EVALSHA" => "EVALSHA (the survey write script)".to_owned(),
            _ => args.iter().take(3).cloned().collect::<Vec<_>>().join(" "),
        };
        results.push(Benchmarked { command, per_second: number(1), p50_ms: number(4) });
    }
    Ok(results)
}

/// Redis memory taken by the pending surveys seeded through the API.
pub struct Stored {
    pub surveys: usize,
    /// `used_memory` before seeding and once every invitation was sent.
    pub used_memory: [u64; 2],
    /// Keys by shape (ids replaced by `*`): how many, and their `MEMORY USAGE` per survey.
    pub shapes: BTreeMap<String, (u64, f64)>,
}

impl Stored {
    pub fn used_memory_per_survey(&self) -> f64 {
        self.used_memory[1].saturating_sub(self.used_memory[0]) as f64 / self.surveys.max(1) as f64
    }
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Redis used_memory: {} bytes before seeding, {} after {} surveys sent: {:.0} bytes per pending survey",
            self.used_memory[0],
            self.used_memory[1],
            self.surveys,
            self.used_memory_per_survey()
        )?;
        writeln!(f, "| key (ids as *) | keys | MEMORY USAGE per survey, bytes |")?;
        writeln!(f, "|---|---|---|")?;
        for (shape, (keys, bytes)) in &self.shapes {
            writeln!(f, "| `{shape}` | {keys} | {bytes:.0} |")?;
        }
        write!(
            f,
            "| all | {} | {:.0} |",
            self.shapes.values().map(|s| s.0).sum::<u64>(),
            self.shapes.values().map(|s| s.1).sum::<f64>()
        )
    }
}

/// `INFO memory`'s `used_memory`, added up over the servers.
pub async fn used_memory(masters: &[u16]) -> Result<u64, String> {
    let mut used = 0;
    for port in masters {
        used += info_field(*port, "memory", "used_memory").await?;
    }
    Ok(used)
}

/// Every key of the servers, grouped by shape, with its `MEMORY USAGE`, per survey of
/// `surveys`.
pub async fn key_shapes(masters: &[u16], surveys: usize) -> Result<BTreeMap<String, (u64, f64)>, String> {
    let mut shapes: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for port in masters {
        shapes_of(*port, &mut shapes).await?;
    }
    for (_, bytes) in shapes.values_mut() {
        *bytes /= surveys.max(1) as f64;
    }
    Ok(shapes)
}

/// Adds the keys of one server to `shapes`.
async fn shapes_of(port: u16, shapes: &mut BTreeMap<String, (u64, f64)>) -> Result<(), String> {
    let mut connection = connection(port).await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        cursor = next;
        if keys.is_empty() {
            if cursor == 0 {
                break;
            }
            continue;
        }
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0);
        }
        let sizes: Vec<Option<u64>> = pipe.query_async(&mut connection).await.map_err(|e| e.to_string())?;
        for (key, bytes) in keys.iter().zip(sizes) {
            let entry = shapes.entry(shape(key)).or_default();
            entry.0 += 1;
            entry.1 += bytes.unwrap_or(0) as f64;
        }
        if cursor == 0 {
            break;
        }
    }
    Ok(())
}

/// A key with its ids replaced by `*`: every run of letters, digits, `-`, `_` and `.` holding
/// a digit that is all digits or at least 6 long (`rw:t:acme:{s:*}`, `rw:t:acme:r/wa/*`).
fn shape(key: &str) -> String {
    let mut shaped = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, shaped: &mut String| {
        let has_digit = word.chars().any(|c| c.is_ascii_digit());
        let all_digits = !word.is_empty() && word.chars().all(|c| c.is_ascii_digit());
        if has_digit && (all_digits || word.len() >= 6) {
            shaped.push('*');
        } else {
            shaped.push_str(word);
        }
        word.clear();
    };
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            word.push(c);
        } else {
            flush(&mut word, &mut shaped);
            shaped.push(c);
        }
    }
    flush(&mut word, &mut shaped);
    shaped
}
