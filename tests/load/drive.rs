//! Sending the traffic and timing it: as fast as the server answers, or open-loop at a fixed
//! rate, where each request's latency counts from when it was due to be sent, so a server that
//! falls behind shows it in the percentiles instead of slowing the generator down.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::traffic::Traffic;

/// How fast requests go out.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection sends its next request as soon as the last is answered.
    Unbounded,
    /// Requests a second, spread evenly, whatever the answers.
    Fixed(f64),
}

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub elapsed: Duration,
    /// Every answered request's latency, in microseconds.
    latencies: Vec<u64>,
    /// Answers other than 2xx, by status, and requests with no answer (status 0).
    pub errors: BTreeMap<u16, u64>,
}

impl Measured {
    pub fn requests(&self) -> u64 {
        self.latencies.len() as u64
    }

    pub fn throughput(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency at quantile `q` (0 to 1).
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len());
        Duration::from_micros(self.latencies[rank - 1])
    }

    fn merge(&mut self, other: Measured) {
        self.latencies.extend(other.latencies);
        for (status, count) in other.errors {
            *self.errors.entry(status).or_default() += count;
        }
    }

    fn record(&mut self, status: u16, latency: Duration) {
        self.latencies.push(latency.as_micros() as u64);
        if !(200..300).contains(&status) {
            *self.errors.entry(status).or_default() += 1;
        }
    }
}

/// A measured phase, named.
pub struct Phase {
    pub name: String,
    pub measured: Measured,
}

impl Phase {
    pub fn new(name: &str, measured: Measured) -> Phase {
        Phase { name: name.to_owned(), measured }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.measured;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.name,
            m.requests(),
            m.throughput(),
            ms(m.percentile(0.5)),
            ms(m.percentile(0.99)),
            ms(m.percentile(0.999)),
            m.error_count(),
        )
    }
}

/// The CPU each process used during a phase, in cores.
#[derive(Debug, Clone, Default)]
pub struct CpuShare(pub Vec<(&'static str, f64)>);

impl CpuShare {
    /// Runs `phase`, measuring the CPU time of the named processes.
    pub async fn during<T>(
        processes: &[(&'static str, u32)],
        phase: impl Future<Output = T>,
    ) -> Result<(T, CpuShare), String> {
        let start = Instant::now();
        let before: Vec<Duration> =
            processes.iter().map(|(_, pid)| crate::processes::cpu_time(*pid)).collect::<Result<_, _>>()?;
        let result = phase.await;
        let elapsed = start.elapsed().as_secs_f64();
        let mut shares = Vec::new();
        for ((name, pid), before) in processes.iter().zip(before) {
            let used = crate::processes::cpu_time(*pid)?.saturating_sub(before);
            shares.push((*name, used.as_secs_f64() / elapsed));
        }
        Ok((result, CpuShare(shares)))
    }
}

impl fmt::Display for CpuShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shares: Vec<String> = self.0.iter().map(|(name, cores)| format!("{name} {cores:.2}")).collect();
        write!(f, "{}", shares.join(", "))
    }
}

/// Sends the traffic for `length` over `connections` connections, spread over `bases` as a
/// load balancer spreads connections: connection `i` goes to `bases[i % n]`.
pub async fn run(
    traffic: &Arc<Traffic>,
    bases: &[String],
    pace: Pace,
    connections: usize,
    length: Duration,
) -> Measured {
    let http = http_client(connections);
    let start = Instant::now();
    let end = start + length;
    let sequence = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections.max(1))
        .map(|i| {
            let base = bases[i % bases.len()].clone();
            let (http, traffic, sequence) = (http.clone(), traffic.clone(), sequence.clone());
            tokio::spawn(async move {
                let mut measured = Measured::default();
                loop {
                    let due = match pace {
                        Pace::Unbounded => Instant::now(),
                        Pace::Fixed(rate) => {
                            let n = sequence.fetch_add(1, Ordering::Relaxed);
                            start + Duration::from_secs_f64(n as f64 / rate)
                        }
                    };
                    if due >= end {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    send(&http, &base, &traffic, due, &mut measured).await;
                }
                measured
            })
        })
        .collect();
    let mut all = Measured::default();
    for worker in workers {
        // A worker that failed sent requests nobody counted: the run's figures would be wrong.
        match worker.await {
            Ok(measured) => all.merge(measured),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("a load worker did not finish: {error}"),
        }
    }
    all.elapsed = start.elapsed();
    all.latencies.sort_unstable();
    all
}

/// A client keeping up to `connections` keep-alive connections, talking to loopback directly.
pub fn http_client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// Sends one typed rating and records its answer.
async fn send(http: &reqwest::Client, base: &str, traffic: &Traffic, due: Instant, measured: &mut Measured) {
    let status = post(http, base, traffic).await;
    measured.record(status, due.elapsed());
}

/// Posts the next typed rating to `base`: its answer's status, 0 when there was none.
pub async fn post(http: &reqwest::Client, base: &str, traffic: &Traffic) -> u16 {
    let request = traffic.next();
    let request = http
        .post(format!("{base}{}", traffic.hook_path))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", request.signature)
        .body(request.body);
    answer(request).await
}

/// The answer's status, once its body is read; 0 when there was none.
async fn answer(request: reqwest::RequestBuilder) -> u16 {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}
