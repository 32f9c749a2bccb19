//! The figures besides the traffic: Redis's own speed for the commands a rating uses, the bytes
//! a pending survey takes in Redis, the machine's load; and the table that reports them all.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;
use std::time::{Duration, Instant};

use ratewire_core::store::{RedisStore, RedisStoreOptions};
use ratewire_tests::RedisServer;

use crate::drive::{CpuShare, Phase};
use crate::processes::Memory;
use crate::traffic::store_pending_surveys;

/// Survey records whose value length is read for the average.
const VALUES_SAMPLED: u32 = 1000;
/// Connections `redis-benchmark` opens: as many as the gateway's one multiplexed connection
/// carries requests in flight during a run.
const BENCHMARK_CONNECTIONS: &str = "32";

/// Everything one run measured.
pub struct Report {
    pub load: String,
    pub phases: Vec<Phase>,
    /// The gateway's full-speed throughput over the baseline's.
    pub ratio: f64,
    /// Commands Redis processed per request at full speed (the gateway's workers included),
    /// by command.
    pub commands_per_request: BTreeMap<String, f64>,
    /// Outbox items waiting when full speed ended, and when the paced phase did.
    pub outbox_backlog: [u64; 2],
    /// How the outbox caught up between the two.
    pub drained: Drained,
    pub gateway_memory: Memory,
    /// The CPU each process used during a phase, in cores (the machine's count is the most).
    pub cpu: Vec<(&'static str, CpuShare)>,
    pub redis_benchmark: Option<Vec<Benchmarked>>,
    pub stored: Option<Stored>,
    /// Messages the gateway sent the fake Graph API while it ran.
    pub graph_sends: usize,
    pub traffic: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| phase | requests | per second | p50 ms | p99 ms | p99.9 ms | errors |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for phase in &self.phases {
            writeln!(f, "{phase}")?;
        }
        writeln!(f)?;
        writeln!(f, "gateway / bare axum throughput: {:.0}%", self.ratio * 100.0)?;
        let commands: Vec<String> =
            self.commands_per_request.iter().map(|(name, calls)| format!("{name} {calls:.2}")).collect();
        writeln!(
            f,
            "Redis commands per request (workers included): {:.1}: {}",
            self.commands_per_request.values().sum::<f64>(),
            commands.join(", ")
        )?;
        let [full, paced] = self.outbox_backlog;
        writeln!(f, "outbox items waiting when full speed ended: {full}; when the paced phase ended: {paced}")?;
        let Drained { items, left, elapsed } = self.drained;
        writeln!(
            f,
            "outbox after full speed: {items} items sent in {:.1} s with no traffic ({:.0} items/s), {left} left",
            elapsed.as_secs_f64(),
            items as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
        )?;
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        for (phase, share) in &self.cpu {
            writeln!(f, "CPU used during {phase}, in cores of {cores}: {share}")?;
        }
        writeln!(
            f,
            "gateway resident memory after full speed: {} MiB (peak {} MiB)",
            self.gateway_memory.resident_kib / 1024,
            self.gateway_memory.peak_kib / 1024
        )?;
        if let Some(phase) = self.phases.first() {
            let kinds: Vec<String> = phase.measured.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(f, "full-speed mix: {}", kinds.join(", "))?;
            if !phase.measured.errors.is_empty() {
                writeln!(f, "full-speed errors by status (0: no answer): {:?}", phase.measured.errors)?;
            }
        }
        writeln!(f, "sends absorbed by the fake Graph API: {}; {}", self.graph_sends, self.traffic)?;
        if let Some(benchmarked) = &self.redis_benchmark {
            writeln!(f)?;
            writeln!(f, "| redis-benchmark ({BENCHMARK_CONNECTIONS} connections) | per second | p50 ms |")?;
            writeln!(f, "|---|---|---|")?;
            for b in benchmarked {
                writeln!(f, "| {} | {:.0} | {:.3} |", b.command, b.per_second, b.p50_ms)?;
            }
        }
        if let Some(stored) = &self.stored {
            writeln!(f)?;
            writeln!(
                f,
                "Redis memory per pending survey ({} stored): {:.0} bytes (used_memory), {:.0} bytes by MEMORY USAGE:",
                stored.count,
                stored.used_memory_per_survey,
                stored.by_key.values().sum::<f64>()
            )?;
            for (key, bytes) in &stored.by_key {
                writeln!(f, "  {key}: {bytes:.0}")?;
            }
            writeln!(f, "  (the survey record's value alone: {:.0} bytes)", stored.value_bytes)?;
        }
        write!(f, "load average at the end: {}", self.load)
    }
}

/// `uptime`'s load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

async fn connection(url: &str) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    client.get_multiplexed_async_connection().await.map_err(|e| format!("Redis at {url}: {e}"))
}

/// A field of `INFO <section>`.
async fn info_field(url: &str, section: &str, field: &str) -> Result<u64, String> {
    let mut connection = connection(url).await?;
    let info: String = redis::cmd("INFO").arg(section).query_async(&mut connection).await.map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in INFO {section}"))
}

/// How the outbox caught up with a backlog.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    pub items: u64,
    pub left: u64,
    pub elapsed: Duration,
}

/// Waits until the outbox has nothing waiting, or `limit` has passed.
pub async fn drain_outbox(url: &str, limit: Duration) -> Result<Drained, String> {
    let start = Instant::now();
    let before = outbox_backlog(url).await?;
    loop {
        let left = outbox_backlog(url).await?;
        if left == 0 || start.elapsed() >= limit {
            return Ok(Drained { items: before.saturating_sub(left), left, elapsed: start.elapsed() });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Redis server's process id.
pub async fn redis_pid(url: &str) -> Result<u32, String> {
    info_field(url, "server", "process_id").await.map(|pid| pid as u32)
}

/// The calls of each command Redis has processed since it started (`INFO commandstats`).
pub async fn command_calls(url: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut connection = connection(url).await?;
    let info: String =
        redis::cmd("INFO").arg("commandstats").query_async(&mut connection).await.map_err(|e| e.to_string())?;
    Ok(info
        .lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
            Some((name.to_owned(), calls))
        })
        .collect())
}

/// The outbox items waiting (the `rw:outbox:due` index of docs/surveys.md).
pub async fn outbox_backlog(url: &str) -> Result<u64, String> {
    let mut connection = connection(url).await?;
    redis::cmd("ZCARD").arg("rw:outbox:due").query_async(&mut connection).await.map_err(|e| e.to_string())
}

/// One `redis-benchmark` test.
pub struct Benchmarked {
    pub command: String,
    pub per_second: f64,
    pub p50_ms: f64,
}

/// `redis-benchmark` on the commands a rating uses, against the run's Redis.
pub async fn redis_benchmark(redis: &RedisServer, requests: u64) -> Result<Vec<Benchmarked>, String> {
    let mut connection = connection(&redis.url()).await?;
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

/// Redis memory taken by pending surveys.
pub struct Stored {
    pub count: usize,
    /// `used_memory` after storing them, less before, per survey.
    pub used_memory_per_survey: f64,
    /// `MEMORY USAGE` of every key, by what the key is, per survey.
    pub by_key: BTreeMap<String, f64>,
    /// A survey record's stored value (`STRLEN`), on average.
    pub value_bytes: f64,
}

/// Stores `count` pending surveys in a Redis server of their own and measures them.
pub async fn bytes_per_pending_survey(count: usize) -> Result<Stored, String> {
    let redis = RedisServer::start();
    let url = redis.url();
    let before = info_field(&url, "memory", "used_memory").await?;
    store_pending_surveys(&url, RedisStoreOptions::default(), count).await?;
    let after = info_field(&url, "memory", "used_memory").await?;

    let mut connection = connection(&url).await?;
    let mut by_key: BTreeMap<String, f64> = BTreeMap::new();
    let (mut value_bytes, mut values_read) = (0.0, 0u32);
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0);
            pipe.cmd("TYPE").arg(key);
        }
        let answers: Vec<redis::Value> = pipe.query_async(&mut connection).await.map_err(|e| e.to_string())?;
        for (key, pair) in keys.iter().zip(answers.chunks(2)) {
            let bytes: u64 = redis::from_redis_value(pair[0].clone()).unwrap_or(0);
            let kind: String = redis::from_redis_value(pair[1].clone()).unwrap_or_default();
            let what = key_kind(key);
            if what == "survey record" && values_read < VALUES_SAMPLED {
                value_bytes += survey_value_bytes(&mut connection, key, &kind).await? as f64;
                values_read += 1;
            }
            *by_key.entry(format!("{what} ({kind})")).or_default() += bytes as f64;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let per = count.max(1) as f64;
    for bytes in by_key.values_mut() {
        *bytes /= per;
    }
    Ok(Stored {
        count,
        used_memory_per_survey: after.saturating_sub(before) as f64 / per,
        by_key,
        value_bytes: value_bytes / f64::from(values_read.max(1)),
    })
}

/// What a key of the store is, from its shape (see `docs/surveys.md`, Redis keys).
fn key_kind(key: &str) -> &'static str {
    if key.contains("{s:") {
        "survey record"
    } else if key.contains(":c/") {
        "conversation pointer"
    } else if key.contains(":r/") {
        "recipient pointer"
    } else if key.ends_with(":due") {
        "due index"
    } else if key.ends_with(":surveys") {
        "creation index"
    } else {
        "other"
    }
}

/// The bytes of a survey record's value.
async fn survey_value_bytes(
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
    kind: &str,
) -> Result<u64, String> {
    let mut command = match kind {
        "hash" => redis::cmd("HSTRLEN"),
        _ => redis::cmd("STRLEN"),
    };
    command.arg(key);
    if kind == "hash" {
        command.arg("json");
    }
    command.query_async(connection).await.map_err(|e| e.to_string())
}
