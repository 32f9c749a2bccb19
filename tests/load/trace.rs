//! One typed rating at a time, with Redis's `MONITOR` on: the commands each rating costs, and
//! how many round trips to Redis its webhook waits on in a row before it is answered.
//!
//! `MONITOR` prints every command as Redis runs it, stamped to the microsecond with the server's
//! clock (the machine's, which the generator reads too), and the commands a script runs as
//! coming from `lua`. The commands stamped between a rating's send and its answer are its
//! webhook's; those after, until the replies it calls for have all reached the fake platform
//! and receiver, the outbox's. Commands sent together (a pipeline, or calls made at once on the
//! store's several connections) reach Redis within microseconds of each other; one that waits
//! for an answer first comes at least a loopback round trip and the gateway's wake-up later. So
//! the webhook's round trips in sequence are its commands split wherever Redis was idle for
//! more than [`ROUND_TRIP_GAP`] between them. Each rating is traced alone, the gateway
//! otherwise idle, so the gaps are the rating's own; they come a few tenths of a second apart,
//! within the second the gateway keeps its copy of a configuration or channel, so after the
//! first they read what they read under load.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::drive;
use crate::processes::Setup;
use crate::traffic::{Replies, TYPED_RATINGS, Traffic};

/// Redis idle for longer than this between two commands of a webhook: the second waited for
/// an answer. A loopback round trip with the gateway's wake-up takes more on this machine;
/// commands sent together come within a few microseconds of each other.
const ROUND_TRIP_GAP: Duration = Duration::from_micros(40);
/// The gateway left idle before each traced rating.
const QUIET: Duration = Duration::from_millis(100);
/// A rating's replies are all out once nothing more arrives for this long: longer than the
/// outbox's idle poll (250 ms) and a round of its work, on a cluster too.
const SETTLED: Duration = Duration::from_millis(600);

/// How long after the last reply arrived the outbox's commands for it are counted.
const AFTER_LAST_REPLY: Duration = Duration::from_millis(20);

/// One command as `MONITOR` showed it.
#[derive(Debug, Clone)]
pub struct Command {
    /// Microseconds since the Unix epoch.
    pub at: u64,
    /// Run by a script rather than sent by a client.
    pub in_script: bool,
    /// The command's name and its first argument (the key, mostly).
    pub text: String,
}

/// `MONITOR` on a connection of its own, collecting what it shows.
struct Monitor {
    commands: Arc<Mutex<Vec<Command>>>,
    task: JoinHandle<()>,
}

impl Monitor {
    async fn start(port: u16) -> Result<Monitor, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("MONITOR: {e}"))?;
        stream.write_all(b"MONITOR\r\n").await.map_err(|e| format!("MONITOR: {e}"))?;
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).await.map_err(|e| format!("MONITOR: {e}"))?;
        if !first.starts_with("+OK") {
            return Err(format!("MONITOR: {first}"));
        }
        let commands = Arc::new(Mutex::new(Vec::new()));
        let collected = commands.clone();
        let task = tokio::spawn(async move {
            let mut line = String::new();
            while reader.read_line(&mut line).await.is_ok_and(|read| read > 0) {
                if let Some(command) = parse(&line) {
                    collected.lock().unwrap_or_else(|p| p.into_inner()).push(command);
                }
                line.clear();
            }
        });
        Ok(Monitor { commands, task })
    }

    fn between(&self, from: u64, to: u64) -> Vec<Command> {
        let commands = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        commands.iter().filter(|c| (from..=to).contains(&c.at)).cloned().collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `+1733180000.123456 [0 127.0.0.1:54321] "EVALSHA" "3f…" "1" "rw:…"`.
fn parse(line: &str) -> Option<Command> {
    let line = line.trim_end().strip_prefix('+')?;
    let (stamp, rest) = line.split_once(' ')?;
    let (seconds, micros) = stamp.split_once('.')?;
    let at = seconds.parse::<u64>().ok()? * 1_000_000 + micros.parse::<u64>().ok()?;
    let (client, arguments) = rest.strip_prefix('[')?.split_once("] ")?;
    let words: Vec<&str> = arguments.splitn(3, "\" \"").collect();
    let name = words.first()?.trim_matches('"').to_uppercase();
    let first = words.get(1).map(|w| w.trim_matches('"')).unwrap_or_default();
    let first: String = first.chars().take(48).collect();
    Some(Command { at, in_script: client.ends_with("lua"), text: format!("{name} {first}").trim_end().to_owned() })
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// One traced rating.
pub struct Traced {
    pub text: &'static str,
    pub status: u16,
    pub latency: Duration,
    /// The webhook's commands, before its answer.
    pub webhook: Vec<Command>,
    /// The commands after the answer, until its replies were out (the outbox's).
    pub after: Vec<Command>,
    pub messages: u64,
    pub events: u64,
}

impl Traced {
    /// The webhook's round trips in sequence (see the module's documentation).
    pub fn round_trips(&self) -> usize {
        let mut trips = 0;
        let mut last: Option<u64> = None;
        for command in &self.webhook {
            let waited = last.is_none_or(|last| command.at.saturating_sub(last) > ROUND_TRIP_GAP.as_micros() as u64);
            if !command.in_script && waited {
                trips += 1;
            }
            last = Some(command.at);
        }
        trips
    }

    /// Whether the webhook read a business's record (a configuration, channel or endpoint list):
    /// the gateway's copy had run out.
    pub fn read_copies(&self) -> bool {
        self.webhook.iter().any(|command| !command.in_script && command.text.contains(":rec:"))
    }

    /// Commands sent by the gateway, and run by its scripts, in `commands`.
    fn counted(commands: &[Command]) -> (usize, usize) {
        let in_scripts = commands.iter().filter(|c| c.in_script).count();
        (commands.len() - in_scripts, in_scripts)
    }
}

/// Every traced rating.
pub struct Trace {
    pub ratings: Vec<Traced>,
}

impl Trace {
    /// What each text called for, from its first tracing.
    pub fn replies(&self) -> Replies {
        let mut replies = Replies::default();
        for (i, text) in TYPED_RATINGS.iter().enumerate() {
            if let Some(traced) = self.ratings.iter().find(|t| t.text == *text) {
                replies.messages[i] = traced.messages;
                replies.events[i] = traced.events;
            }
        }
        replies
    }

    /// Whether every tracing of a text called for the same replies.
    pub fn consistent(&self) -> bool {
        let replies = self.replies();
        self.ratings.iter().all(|t| {
            let i = TYPED_RATINGS.iter().position(|text| *text == t.text).unwrap_or(0);
            (t.messages, t.events) == (replies.messages[i], replies.events[i])
        })
    }

    /// The median of the round trips in sequence of the webhooks that found the gateway's copies
    /// fresh (as under load), or of those that read them again; none when no webhook did.
    pub fn median_round_trips(&self, read_copies: bool) -> Option<usize> {
        let mut trips: Vec<usize> =
            self.ratings.iter().filter(|t| t.read_copies() == read_copies).map(Traced::round_trips).collect();
        trips.sort_unstable();
        trips.get(trips.len() / 2).copied()
    }

    /// Commands per rating, on average: the webhook's and the outbox's, each as (sent, run by
    /// scripts).
    pub fn commands(&self) -> [(f64, f64); 2] {
        let per = self.ratings.len().max(1) as f64;
        let average = |pick: fn(&Traced) -> &[Command]| {
            let (sent, scripted) =
                self.ratings.iter().map(|t| Traced::counted(pick(t))).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            (sent as f64 / per, scripted as f64 / per)
        };
        [average(|t| &t.webhook), average(|t| &t.after)]
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| typed rating | status | latency ms | round trips | webhook commands (sent + in scripts) | outbox commands | messages | events |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|")?;
        for t in &self.ratings {
            let (sent, scripted) = Traced::counted(&t.webhook);
            let (after_sent, after_scripted) = Traced::counted(&t.after);
            writeln!(
                f,
                "| {} | {} | {:.2} | {} | {sent} + {scripted} | {after_sent} + {after_scripted} | {} | {} |",
                t.text,
                t.status,
                t.latency.as_secs_f64() * 1000.0,
                t.round_trips(),
                t.messages,
                t.events
            )?;
        }
        if let Some(first) = self.ratings.first() {
            writeln!(f, "the first one's webhook, as Redis ran it (µs after its first command; ↳ run by a script):")?;
            let start = first.webhook.first().map_or(0, |c| c.at);
            for command in &first.webhook {
                let mark = if command.in_script { "  ↳ " } else { "" };
                writeln!(f, "  {:>6} {mark}{}", command.at - start, command.text)?;
            }
        }
        Ok(())
    }
}

/// Sends `cycles` × 5 typed ratings (every text, `cycles` times), one at a time, to the gateway
/// at `base`, with `MONITOR` on.
pub async fn trace(setup: &Setup, base: &str, traffic: &Traffic, cycles: usize) -> Result<Trace, String> {
    let mut monitors = Vec::new();
    for port in setup.redis.master_ports() {
        monitors.push(Monitor::start(port).await?);
    }
    let between = |from: u64, to: u64| {
        let mut commands: Vec<Command> = monitors.iter().flat_map(|monitor| monitor.between(from, to)).collect();
        commands.sort_by_key(|command| command.at);
        commands
    };
    let http = drive::http_client(1);
    let mut ratings = Vec::new();
    for _ in 0..cycles * TYPED_RATINGS.len() {
        if traffic.pending_len() == 0 {
            return Err("no pending survey left to trace a rating on".into());
        }
        tokio::time::sleep(QUIET).await;
        let text = TYPED_RATINGS[traffic.sent() as usize % TYPED_RATINGS.len()];
        let (messages_before, events_before) = (setup.graph.taken(), setup.receiver.received());
        let sent_at = now_micros();
        let start = Instant::now();
        let status = drive::post(&http, base, traffic).await;
        let latency = start.elapsed();
        let answered_at = now_micros();
        let mut delivered = setup.delivered();
        let mut last_reply_at = answered_at;
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < SETTLED {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if setup.delivered() != delivered {
                delivered = setup.delivered();
                last_reply_at = now_micros();
                quiet_since = Instant::now();
            }
        }
        // The outbox's last commands (marking the last item done) come just after its send.
        let settled_at = last_reply_at + AFTER_LAST_REPLY.as_micros() as u64;
        ratings.push(Traced {
            text,
            status,
            latency,
            webhook: between(sent_at, answered_at),
            after: between(answered_at + 1, settled_at),
            messages: setup.graph.taken() - messages_before,
            events: setup.receiver.received() - events_before,
        });
    }
    Ok(Trace { ratings })
}
