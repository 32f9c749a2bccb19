//! The sustained rate: typed ratings paced at rising rates, each step checking that the replies
//! they call for (messages to the end user, events to the business) reach the fake platform and
//! receiver as fast as the ratings come. A rate is kept when every rating is answered 2xx, the
//! answers keep the pace, and what is still owed when the step ends is no more than half a
//! second of its replies; the highest rate kept is the sustained rate. The same search runs on
//! the gateway and on the relay, counted the same way: posts the fake Graph API and the
//! receiver took, against what the ratings sent call for.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drive::{self, CpuShare, Measured, Pace};
use crate::figures;
use crate::processes::Setup;
use crate::traffic::{Replies, Traffic};

/// Answers must come at no less than this share of the rate asked for.
const PACE_KEPT: f64 = 0.95;
/// What may still be owed when a step ends, in seconds of the step's replies.
const OWED_ALLOWED: f64 = 0.5;
/// The longest a step's replies get to arrive after it ends.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// The pause after a step's replies have arrived, before the next.
const SETTLE: Duration = Duration::from_millis(500);

/// How the search goes.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// The first rate tried, ratings a second.
    pub start: f64,
    /// The next rate, after one kept: this many times the last.
    pub growth: f64,
    /// Steps that halve the gap between the highest rate kept and the lowest lost.
    pub refine: u32,
    /// Steps at most.
    pub max_steps: usize,
    pub step: Duration,
    pub connections: usize,
}

/// What is driven: the gateway or the relay.
pub struct Target<'a> {
    pub name: &'static str,
    /// Where the ratings go: one server, or the gateways behind the run's load balancing.
    pub bases: Vec<String>,
    /// Processes whose CPU is measured during each step.
    pub processes: Vec<(&'static str, u32)>,
    /// The ports of the gateway's Redis servers, whose outbox is read when a step ends.
    pub redis: Option<Vec<u16>>,
    /// Whether each rating needs a pending survey.
    pub seeded: bool,
    pub traffic: Arc<Traffic>,
    pub replies: Replies,
    pub setup: &'a Setup,
}

/// One step at one rate.
pub struct Step {
    pub rate: f64,
    pub measured: Measured,
    /// Replies still owed when the step ended, and what was allowed.
    pub owed: u64,
    pub allowed: u64,
    /// Outbox items waiting when the step ended (the gateway only).
    pub outbox: Option<u64>,
    /// How long the rest took to arrive after the step; `None` when it did not within the limit.
    pub drained_in: Option<Duration>,
    pub cpu: CpuShare,
}

impl Step {
    /// Why the rate was not kept, if it was not.
    pub fn lost(&self) -> Option<String> {
        let m = &self.measured;
        if m.error_count() > 0 {
            return Some(format!("{} answers not 2xx", m.error_count()));
        }
        if m.throughput() < self.rate * PACE_KEPT {
            return Some(format!("answered at {:.0}/s", m.throughput()));
        }
        if self.owed > self.allowed {
            return Some(format!("{} replies owed at the end", self.owed));
        }
        if self.drained_in.is_none() {
            return Some(format!("replies still owed {DRAIN_LIMIT:?} after the end"));
        }
        None
    }

    /// CPU time per rating of the processes of a kind (`gateway`, `redis-server`), added up.
    pub fn cpu_per_rating(&self, process: &str) -> Option<Duration> {
        // Every process of the kind: the cluster's masters, the gateways ("gateway 2").
        let of_kind = |name: &str| name == process || name.strip_prefix(process).is_some_and(|n| n.starts_with(' '));
        let cores: Vec<f64> = self.cpu.0.iter().filter(|(name, _)| of_kind(name)).map(|(_, cores)| *cores).collect();
        (!cores.is_empty()).then(|| {
            Duration::from_secs_f64(cores.iter().sum::<f64>() / self.measured.throughput().max(f64::MIN_POSITIVE))
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.measured;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "| {:.0} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            self.rate,
            m.requests(),
            m.throughput(),
            ms(m.percentile(0.5)),
            ms(m.percentile(0.99)),
            m.error_count(),
            self.owed,
            self.outbox.map_or("-".into(), |n| n.to_string()),
            self.cpu,
            self.lost().unwrap_or_else(|| "kept".into()),
        )
    }
}

/// A search's steps and its outcome.
pub struct Sustained {
    pub name: &'static str,
    pub steps: Vec<Step>,
    /// Why the search stopped before it was done, if it did.
    pub stopped: Option<String>,
}

impl Sustained {
    /// The highest rate kept.
    pub fn rate(&self) -> Option<f64> {
        self.steps.iter().filter(|s| s.lost().is_none()).map(|s| s.rate).reduce(f64::max)
    }
}

impl fmt::Display for Sustained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}, paced steps:", self.name)?;
        writeln!(
            f,
            "| rate/s | ratings | answered/s | p50 ms | p99 ms | errors | owed at end | outbox | CPU (cores) | |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|")?;
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        if let Some(why) = &self.stopped {
            writeln!(f, "(stopped: {why})")?;
        }
        match self.rate() {
            Some(rate) => write!(f, "{} sustained: {rate:.0} ratings/s", self.name),
            None => write!(f, "{} sustained: none of the rates tried", self.name),
        }
    }
}

impl Target<'_> {
    /// Paces ratings at rising rates and returns every step.
    pub async fn search(&self, search: Search) -> Result<Sustained, String> {
        let mut steps: Vec<Step> = Vec::new();
        let mut stopped = None;
        let (mut kept, mut lost): (Option<f64>, Option<f64>) = (None, None);
        let mut rate = search.start;
        let mut refined = 0;
        while steps.len() < search.max_steps {
            let needed = (rate * search.step.as_secs_f64()).ceil() as usize;
            if self.seeded && self.traffic.pending_len() < needed {
                stopped = Some(format!(
                    "{needed} pending surveys needed at {rate:.0}/s, {} left: seed more with --surveys",
                    self.traffic.pending_len()
                ));
                break;
            }
            eprintln!("{}: {rate:.0} ratings/s for {:?}…", self.name, search.step);
            let step = self.step(rate, search.step, search.connections).await?;
            let drained = step.drained_in.is_some();
            if step.lost().is_none() {
                kept = Some(kept.map_or(rate, |k| k.max(rate)));
            } else {
                lost = Some(lost.map_or(rate, |l| l.min(rate)));
            }
            steps.push(step);
            if !drained {
                stopped = Some("the replies of a step did not all arrive: the next would start behind".into());
                break;
            }
            rate = match lost {
                None => rate * search.growth,
                Some(lost) => {
                    let low = kept.unwrap_or(0.0);
                    if refined >= search.refine || lost - low < lost * 0.05 {
                        break;
                    }
                    refined += 1;
                    (low + lost) / 2.0
                }
            };
        }
        Ok(Sustained { name: self.name, steps, stopped })
    }

    /// Ratings at `rate` for `length`, then the wait for their replies.
    pub async fn step(&self, rate: f64, length: Duration, connections: usize) -> Result<Step, String> {
        let first = self.traffic.sent();
        let delivered_before = self.setup.delivered();
        let phase = drive::run(&self.traffic, &self.bases, Pace::Fixed(rate), connections, length);
        let (measured, cpu) = CpuShare::during(&self.processes, phase).await?;
        let owed_by_step = self.replies.owed(first, self.traffic.sent());
        let delivered = || self.setup.delivered().saturating_sub(delivered_before);
        let owed = owed_by_step.saturating_sub(delivered());
        let outbox = match &self.redis {
            Some(masters) => Some(figures::outbox_backlog(masters).await?),
            None => None,
        };
        let end = Instant::now();
        let drained_in = loop {
            if delivered() >= owed_by_step {
                break Some(end.elapsed());
            }
            if end.elapsed() > DRAIN_LIMIT {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(SETTLE).await;
        let allowed = ((owed_by_step as f64 / length.as_secs_f64()) * OWED_ALLOWED).ceil() as u64;
        Ok(Step { rate, measured, owed, allowed, outbox, drained_in, cpu })
    }
}
