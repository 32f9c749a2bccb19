//! `ratewire-load`: how many signed WhatsApp ratings one gateway sustains on the path a business
//! uses, next to what the machine does of the same work with no gateway logic (the relay) and
//! with none at all (a bare axum server). One run starts everything it needs (a Redis server, a
//! fake Graph API and event receiver, the gateway as a process of its own), has the gateway
//! send invitations through its API, and prints one report. See `docs/performance.md`.

mod drive;
mod figures;
mod processes;
mod relay;
mod sustained;
mod trace;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::drive::{Pace, Phase};
use crate::sustained::{Search, Target};
use crate::traffic::{TYPED_RATINGS, Traffic};

/// Invitations asked for at once while seeding.
const SEED_CONCURRENCY: usize = 64;
/// How long the invitations get to go out, beyond a millisecond each.
const SEND_LIMIT: Duration = Duration::from_secs(60);
/// How long Redis's idle traffic is measured, to take it out of the commands per rating.
const IDLE: Duration = Duration::from_secs(2);
/// The gateways' names in the figures, with `--gateways N` (one alone is "gateway").
const GATEWAY_NAMES: [&str; 6] = ["gateway 1", "gateway 2", "gateway 3", "gateway 4", "gateway 5", "gateway 6"];

#[derive(Parser)]
#[command(name = "ratewire-load")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

/// What a run measures, and for how long.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Pending surveys seeded through the API (`POST /v1/invitations`) and sent by the outbox.
    #[arg(long, default_value_t = 100_000)]
    pub surveys: usize,
    /// Seconds each step of the sustained-rate search runs.
    #[arg(long, default_value_t = 5)]
    pub step: u64,
    /// The search's first rate, ratings a second; each rate kept is followed by 1.5 times it.
    #[arg(long, default_value_t = 400.0)]
    pub start_rate: f64,
    /// Steps halving the gap between the highest rate kept and the lowest lost.
    #[arg(long, default_value_t = 3)]
    pub refine: u32,
    /// Seconds of the phase at half the sustained rate, and of the bare server's.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Requests in flight at most (one keep-alive connection each).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Ratings traced one at a time with MONITOR, in cycles of the five texts.
    #[arg(long, default_value_t = 2)]
    pub trace_cycles: usize,
    /// Requests each `redis-benchmark` test makes (0: skip it).
    #[arg(long, default_value_t = 0)]
    pub benchmark_requests: u64,
    /// Surveys of the year whose report API times are measured at the end of the run, on a
    /// Redis server and a gateway of their own: their counters are written as their writes
    /// leave them, the latest 2 000 surveys through the store.
    #[arg(long, default_value_t = 10_000_000)]
    pub report_surveys: usize,
    /// A short run (a few hundred surveys, one-second steps), to check the figures come out.
    #[arg(long)]
    pub probe: bool,
    /// Gateways side by side on the same Redis, the API calls and ratings spread over them in
    /// turn as a load balancer spreads them; each one's CPU is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=GATEWAY_NAMES.len() as i64))]
    pub gateways: u8,
    /// Runs the gateway on a local Redis Cluster of three masters with a replica each, instead
    /// of one server: Redis's figures are the masters' added up, and `redis-benchmark` is left
    /// out.
    #[arg(long)]
    pub cluster: bool,
}

impl Options {
    /// The search as the options say.
    fn search(&self) -> Search {
        if self.probe {
            return Search {
                start: 20.0,
                growth: 2.0,
                refine: 1,
                max_steps: 2,
                step: Duration::from_secs(1),
                connections: self.connections.min(8),
            };
        }
        Search {
            start: self.start_rate.max(1.0),
            growth: 1.5,
            refine: self.refine,
            max_steps: 16,
            step: Duration::from_secs(self.step.max(1)),
            connections: self.connections.max(1),
        }
    }

    /// A probe's short settings in place of the others.
    fn probed(mut self) -> Options {
        if self.probe {
            self.surveys = self.surveys.min(200);
            self.duration = 1;
            self.trace_cycles = 1;
            self.benchmark_requests = 0;
            self.report_surveys = self.report_surveys.min(20_000);
        }
        self
    }
}

#[derive(Subcommand)]
enum Command {
    /// The gateway under test: `ratewire serve` with the given settings (started by the run).
    #[command(hide = true)]
    Gateway { config: PathBuf },
    /// The baseline: a bare axum server answering 200 to everything (started by the run).
    #[command(hide = true)]
    Baseline { listen: String },
    /// The relay: answers 200 and posts what the gateway would (started by the run).
    #[command(hide = true)]
    Relay(relay::RelayArgs),
}

/// The allocator of the `ratewire` binary, so the gateway this binary runs is measured as it runs
/// in production.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Gateway { config }) => {
            ratewire_gateway::cli::serve::run(ratewire_gateway::cli::serve::ServeOptions {
                config: Some(config),
                ..Default::default()
            })
        }
        Some(Command::Baseline { listen }) => processes::serve_baseline(&listen),
        Some(Command::Relay(args)) => relay::serve(args),
        None => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
            match runtime.block_on(run(cli.options.probed())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("ratewire-load: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The whole run: seeding through the API, the memory it took, a traced rating of each text,
/// the gateway's sustained rate and its latency at half of it, then the relay's sustained rate,
/// the bare server at full speed, and the report API over a year of surveys.
pub async fn run(options: Options) -> Result<(), String> {
    let search = options.search();
    let load_before = figures::load_average();
    eprintln!("load before the run: {load_before}");
    let setup = processes::Setup::start(options.cluster).await?;
    let masters = setup.redis.master_ports();
    let gateways = setup.gateways(options.gateways.into()).await?;
    let bases: Vec<String> = gateways.iter().map(|gateway| gateway.base.clone()).collect();
    let traffic = Arc::new(Traffic::new());

    eprintln!("seeding {} pending surveys through POST /v1/invitations…", options.surveys);
    let used_before = figures::used_memory(&masters).await?;
    let start = Instant::now();
    let seeding = traffic.seed(&bases, &setup.key, options.surveys, SEED_CONCURRENCY).await?;
    let limit = SEND_LIMIT + Duration::from_millis(options.surveys as u64);
    let (sent, outbox_left) = figures::wait_sent(&setup, seeding.created, start, limit).await?;
    let all_sent_after = start.elapsed();
    let used_after = figures::used_memory(&masters).await?;
    eprintln!("{sent} invitations sent in {all_sent_after:.1?}; reading every key's size…");
    let memory = figures::Stored {
        surveys: seeding.created,
        used_memory: [used_before, used_after],
        shapes: figures::key_shapes(&masters, seeding.created).await?,
    };
    let seeding = figures::Seeded {
        asked: options.surveys,
        created: seeding.created,
        requests: seeding.requests,
        sent,
        all_sent_after,
        outbox_left,
    };

    eprintln!("tracing {} ratings one at a time with MONITOR…", options.trace_cycles * TYPED_RATINGS.len());
    let trace = trace::trace(&setup, &bases[0], &traffic, options.trace_cycles.max(1)).await?;
    if !trace.consistent() {
        return Err(format!("the same text called for different replies:\n{trace}"));
    }
    let replies = trace.replies();

    let redis_pids = figures::redis_pids(&masters).await?;
    let gateway_names: &[&'static str] = if gateways.len() == 1 { &["gateway"] } else { &GATEWAY_NAMES };
    let processes: Vec<(&'static str, u32)> = gateway_names
        .iter()
        .zip(&gateways)
        .map(|(name, gateway)| (*name, gateway.pid()))
        .chain([("load generator", std::process::id())])
        .chain(redis_pids.into_iter().map(|pid| ("redis-server", pid)))
        .collect();
    let target = Target {
        name: "gateway",
        bases: bases.clone(),
        processes,
        redis: Some(masters.clone()),
        seeded: true,
        traffic: traffic.clone(),
        replies,
        setup: &setup,
    };
    let sustained = target.search(search).await?;
    let (half, commands_per_rating) = match sustained.rate() {
        Some(rate) => {
            let half_rate = (rate / 2.0).max(1.0);
            eprintln!("gateway at half its sustained rate, {half_rate:.0} ratings/s…");
            let idle = figures::idle_commands(&masters, IDLE.min(Duration::from_secs(options.duration.max(1)))).await?;
            let calls_before = figures::command_calls(&masters).await?;
            let start = Instant::now();
            let half = target.step(half_rate, Duration::from_secs(options.duration.max(1)), search.connections).await?;
            let elapsed = start.elapsed();
            let calls_after = figures::command_calls(&masters).await?;
            let ratings = half.measured.requests();
            (Some(half), figures::commands_per_rating(&calls_before, &calls_after, &idle, elapsed, ratings))
        }
        None => (None, Default::default()),
    };
    let gateway_memory = gateways[0].memory()?;
    drop(target);
    drop(gateways);

    let relay_server = processes::relay(&setup, &replies).await?;
    let relay = Target {
        name: "relay",
        bases: vec![relay_server.base.clone()],
        processes: vec![("relay", relay_server.pid()), ("load generator", std::process::id())],
        redis: None,
        seeded: false,
        traffic: Arc::new(Traffic::new()),
        replies,
        setup: &setup,
    };
    let relay = relay.search(search).await?;
    drop(relay_server);

    let baseline_server = processes::baseline().await?;
    eprintln!("bare axum, as fast as it goes…");
    let bare = drive::run(
        &Arc::new(Traffic::new()),
        std::slice::from_ref(&baseline_server.base),
        Pace::Unbounded,
        options.connections,
        Duration::from_secs(options.duration.max(1)),
    )
    .await;
    drop(baseline_server);

    let redis_benchmark = match (options.benchmark_requests, &setup.redis) {
        (0, _) | (_, processes::Redis::Cluster(_)) => None,
        (requests, processes::Redis::Server(server)) => Some(figures::redis_benchmark(server, requests).await?),
    };

    eprintln!("the report API over a year of {} surveys…", options.report_surveys);
    let reports = ratewire_tests::history::year_of_reports(options.report_surveys).await?;

    let report = figures::Report {
        load: [load_before, figures::load_average()],
        seeding,
        memory,
        trace,
        gateway: sustained,
        half,
        commands_per_rating,
        relay,
        bare: Phase::new("bare axum, full speed", bare),
        gateway_memory,
        redis_benchmark,
        reports,
        unmatched: traffic.unmatched(),
    };
    println!("{report}");
    Ok(())
}
