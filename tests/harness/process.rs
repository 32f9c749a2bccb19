//! Servers as processes of their own: the gateway (`ratewire serve`, run by the load generator's
//! binary's hidden `gateway` command) and the load generator's baselines. A test that kills a
//! gateway with -9, or runs several side by side as a deployment does, starts them here.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ratewire_gateway::http::auth;

use crate::service::client;

/// How long a server process gets to answer after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The tenant a gateway process serves.
pub const TENANT: &str = "acme";

/// The settings a gateway process runs with: listening on `port`, keeping its state where
/// `redis` (a TOML line: `redis_url = …` or `redis_cluster_nodes = […]`) says, serving
/// [`TENANT`] with `key`, and allowed to reach the fake platforms on loopback; `extra` is
/// appended as it is (tables such as `[delivery]`).
pub fn gateway_settings(port: u16, redis: &str, key: &str, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
{redis}
api_requests_per_second = 100000
demo = false

[[tenants]]
id = "{TENANT}"
api_key_hashes = ["sha256:{hash}"]

[outbound]
# The fake platforms and receivers are on loopback, which ratewire refuses by default.
allow = ["127.0.0.0/8"]

{extra}
"#,
        hash = auth::digest(key),
    )
}

/// A server process, killed when dropped.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    process: Child,
}

impl ServerProcess {
    /// Starts `program` with `args`, its output in `log`, and waits until it answers
    /// `/healthz` on `port`.
    pub async fn start(program: &Path, args: &[&str], port: u16, log: &Path) -> Result<ServerProcess, String> {
        let log_file = std::fs::File::create(log).map_err(|e| format!("can't create {}: {e}", log.display()))?;
        let errors = log_file.try_clone().map_err(|e| e.to_string())?;
        let process = Command::new(program)
            .args(args)
            // Logs at `info` write a line per message sent; what is measured is the work.
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(errors)
            .spawn()
            .map_err(|e| format!("can't start {} {args:?}: {e}", program.display()))?;
        let mut server = ServerProcess { base: format!("http://127.0.0.1:{port}"), process };
        let deadline = Instant::now() + START_TIMEOUT;
        let http = client();
        loop {
            if http.get(format!("{}/healthz", server.base)).send().await.is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.process.try_wait() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!("{args:?} exited ({status}): {log}"));
            }
            if Instant::now() > deadline {
                return Err(format!("{args:?} did not answer within {START_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a gateway (`program gateway FILE`) with `settings` written to `FILE` in `dir`,
    /// its log beside it; both are named after `name`.
    pub async fn gateway(
        program: &Path,
        dir: &Path,
        name: &str,
        port: u16,
        settings: &str,
    ) -> Result<ServerProcess, String> {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, settings).map_err(|e| format!("can't write {}: {e}", path.display()))?;
        ServerProcess::start(program, &["gateway", &path.to_string_lossy()], port, &dir.join(format!("{name}.log")))
            .await
    }

    /// `count` gateways side by side, as behind a load balancer: each on a port of its own, on
    /// the Redis `redis` names (see [`gateway_settings`]), with `extra` settings; their settings
    /// and logs in `dir` (`gateway-N.toml`, `gateway-N.log`).
    pub async fn gateways(
        program: &Path,
        dir: &Path,
        count: usize,
        redis: &str,
        key: &str,
        extra: &str,
    ) -> Result<Vec<ServerProcess>, String> {
        let mut gateways = Vec::new();
        for n in 1..=count {
            let port = crate::free_port();
            let settings = gateway_settings(port, redis, key, extra);
            gateways.push(ServerProcess::gateway(program, dir, &format!("gateway-{n}"), port, &settings).await?);
        }
        Ok(gateways)
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `kill -9`: no shutdown, no finishing what is in flight.
    pub fn kill(mut self) {
        self.process.kill().expect("SIGKILL");
        self.process.wait().expect("reaped");
    }

    /// The process's resident memory now and at its peak, from `/proc`.
    pub fn memory(&self) -> Result<Memory, String> {
        let path = format!("/proc/{}/status", self.process.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("can't read {path}: {e}"))?;
        let field = |name: &str| -> Result<u64, String> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
                .ok_or_else(|| format!("no {name} in {path}"))
        };
        Ok(Memory { resident_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A process's resident memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub resident_kib: u64,
    pub peak_kib: u64,
}

/// A directory of its own for a run's settings and logs, removed when dropped.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn fresh() -> RunDir {
        RunDir(crate::fresh_dir())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
