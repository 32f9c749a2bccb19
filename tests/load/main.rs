//! `ratewire-load`: how much WhatsApp traffic one gateway takes, next to what the machine's HTTP
//! stack and Redis can do at all. One run starts everything it needs (a Redis server, a fake
//! Graph API and event receiver, the gateway as a process of its own, a bare axum server), drives
//! them with the same signed webhooks and helpdesk calls, and prints one table. See
//! `docs/performance.md`.

mod drive;
mod figures;
mod processes;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::drive::{CpuShare, Pace, Phase};
use crate::processes::Server;
use crate::traffic::Traffic;

/// The longest the run waits for the outbox to catch up after the full-speed phase.
const DRAIN_LIMIT: Duration = Duration::from_secs(45);

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
    /// Seconds each phase runs (the gateway at full speed, at half of it, the baseline).
    #[arg(long, default_value_t = 15)]
    pub duration: u64,
    /// Requests a second for the paced phase; 0: half of the rate the gateway reached.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Requests in flight at once (one keep-alive connection each).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Pending surveys seeded for the replies to answer.
    #[arg(long, default_value_t = 80_000)]
    pub surveys: usize,
    /// Pending surveys stored for the memory figure (0: skip it).
    #[arg(long, default_value_t = 100_000)]
    pub memory_surveys: usize,
    /// Requests each `redis-benchmark` test makes (0: skip it).
    #[arg(long, default_value_t = 50_000)]
    pub benchmark_requests: u64,
}

#[derive(Subcommand)]
enum Command {
    /// The gateway under test: `ratewire serve` with the given settings (started by the run).
    #[command(hide = true)]
    Gateway { config: PathBuf },
    /// The baseline: a bare axum server answering 200 to everything (started by the run).
    #[command(hide = true)]
    Baseline { listen: String },
}

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
        None => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
            match runtime.block_on(run(cli.options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("ratewire-load: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The whole run: the gateway at full speed, then paced at half of that, then the baseline at
/// full speed, then Redis's own figures.
pub async fn run(options: Options) -> Result<(), String> {
    let phase_length = Duration::from_secs(options.duration.max(1));
    eprintln!("load before the run: {}", figures::load_average());
    let setup = processes::Setup::start().await?;
    let gateway = setup.gateway().await?;
    let traffic = Arc::new(Traffic::new(&setup));
    eprintln!("seeding {} pending surveys…", options.surveys);
    traffic.seed(&setup.redis.url(), options.surveys).await?;

    let calls_before = figures::command_calls(&setup.redis.url()).await?;
    eprintln!("gateway, as fast as it goes, {} connections, {phase_length:?}…", options.connections);
    let redis_pid = figures::redis_pid(&setup.redis.url()).await?;
    let processes = [("gateway", gateway.pid()), ("redis-server", redis_pid), ("load generator", std::process::id())];
    let full = drive::run(&traffic, &gateway.base, Pace::Unbounded, options.connections, phase_length);
    let (full, full_cpu) = CpuShare::during(&processes, full).await?;
    let calls = figures::command_calls(&setup.redis.url()).await?;
    let outbox_backlog = figures::outbox_backlog(&setup.redis.url()).await?;
    let commands_per_request = calls
        .into_iter()
        .map(|(name, calls)| {
            let made = calls - calls_before.get(&name).copied().unwrap_or(0);
            (name, made as f64 / full.requests().max(1) as f64)
        })
        .filter(|(name, per_request)| *per_request >= 0.01 && !name.starts_with("info"))
        .collect();
    let memory = gateway.memory()?;

    // The paced phase measures a steady state: the backlog of the burst goes out first.
    eprintln!("waiting for the outbox to send the {outbox_backlog} items the burst left…");
    let drained = figures::drain_outbox(&setup.redis.url(), DRAIN_LIMIT).await?;

    let rate = if options.rate > 0 { options.rate as f64 } else { (full.throughput() / 2.0).max(1.0) };
    eprintln!("gateway, paced at {rate:.0} requests/s…");
    let paced = drive::run(&traffic, &gateway.base, Pace::Fixed(rate), options.connections, phase_length).await;
    let paced_backlog = figures::outbox_backlog(&setup.redis.url()).await?;
    let sends_absorbed = setup.graph.sends().len();
    drop(gateway);

    let baseline_server = Server::baseline().await?;
    eprintln!("baseline, as fast as it goes…");
    let baseline = drive::run(&traffic, &baseline_server.base, Pace::Unbounded, options.connections, phase_length);
    let processes = [("bare axum", baseline_server.pid()), ("load generator", std::process::id())];
    let (baseline, baseline_cpu) = CpuShare::during(&processes, baseline).await?;
    drop(baseline_server);

    let redis_benchmark = match options.benchmark_requests {
        0 => None,
        requests => Some(figures::redis_benchmark(&setup.redis, requests).await?),
    };
    let stored = if options.memory_surveys > 0 {
        eprintln!("storing {} pending surveys for the memory figure…", options.memory_surveys);
        Some(figures::bytes_per_pending_survey(options.memory_surveys).await?)
    } else {
        None
    };

    let report = figures::Report {
        load: figures::load_average(),
        phases: vec![
            Phase::new("gateway, full speed", full.clone()),
            Phase::new(&format!("gateway, paced at {rate:.0}/s"), paced),
            Phase::new("bare axum, full speed", baseline.clone()),
        ],
        ratio: full.throughput() / baseline.throughput().max(f64::MIN_POSITIVE),
        commands_per_request,
        outbox_backlog: [outbox_backlog, paced_backlog],
        drained,
        gateway_memory: memory,
        cpu: vec![("gateway, full speed", full_cpu), ("bare axum, full speed", baseline_cpu)],
        redis_benchmark,
        stored,
        graph_sends: sends_absorbed,
        traffic: traffic.summary(),
    };
    println!("{report}");
    Ok(())
}
