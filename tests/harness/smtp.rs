//! A real SMTP server on loopback for the email tests: Debian's `python3-aiosmtpd`, run by the
//! system Python, keeping every message it accepts as a file of its own.
//!
//! Recipients whose local part starts with `reject` are refused with `550 5.1.1`, and those
//! starting with `busy` with `451 4.3.0`, so the tests can see how SMTP's refusals are taken.
//! [`SmtpServer::start_with_login`] runs one that requires SMTP AUTH (PLAIN or LOGIN) with one
//! user name and password, over the plain loopback connection.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::service::PATIENCE;

/// The system Python: Debian's `python3-aiosmtpd` is installed for it (a Python on `PATH` may be
/// another one, without it).
const PYTHON: &str = "/usr/bin/python3";

const NOT_INSTALLED: &str = "aiosmtpd not found for /usr/bin/python3: the email tests need a real SMTP \
     server. Install it with `apt-get install python3-aiosmtpd` (Debian/Ubuntu) and run the tests again.";

/// The server: an aiosmtpd controller whose handler writes `NNNNNN.eml` (the message as
/// received) next to `NNNNNN.json` (its envelope and the user it authenticated as), and
/// refuses the recipients named above. With a user name and password after the folder, it
/// takes mail only once authenticated as that user.
const SERVER: &str = r#"
import json, os, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, folder = int(sys.argv[1]), sys.argv[2]
login = sys.argv[3:5]

def authenticator(server, session, envelope, mechanism, auth_data):
    given = isinstance(auth_data, LoginPassword) and [auth_data.login.decode(), auth_data.password.decode()]
    if given == login:
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)

class Sink:
    count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        name = os.path.join(folder, "%06d" % Sink.count)
        with open(name + ".json", "w") as f:
            user = session.auth_data.login.decode() if session.authenticated else None
            peer = "%s:%s" % tuple(session.peer[:2])
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "user": user, "peer": peer}, f)
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 Message accepted for delivery"

if login:
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
else:
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
"#;

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope's sender and recipients.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The user the sender authenticated as, when the server required it.
    pub user: Option<String>,
    /// The client's address and port: mails sent over one SMTP connection share it.
    pub peer: String,
    /// The message as it arrived.
    pub raw: Vec<u8>,
}

/// An SMTP server of the test's own on a free loopback port. Killed, and its folder removed,
/// when dropped.
pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    process: Child,
}

impl SmtpServer {
    /// Starts the server and waits until it listens. Panics, saying what to install, when
    /// aiosmtpd is missing.
    pub fn start() -> SmtpServer {
        SmtpServer::run(&[])
    }

    /// Starts a server that takes mail only from senders authenticated as `user` with
    /// `password` (`530` before, `535` for other credentials).
    pub fn start_with_login(user: &str, password: &str) -> SmtpServer {
        SmtpServer::run(&[user, password])
    }

    fn run(login: &[&str]) -> SmtpServer {
        let installed = Command::new(PYTHON).args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status();
        if !installed.is_ok_and(|status| status.success()) {
            panic!("{NOT_INSTALLED}");
        }
        let dir = crate::fresh_dir();
        let mut failures = Vec::new();
        // Another process may take the port between the probe and the server's bind.
        for _ in 0..5 {
            let port = crate::free_port();
            match spawn(port, &dir, login) {
                Ok(process) => return SmtpServer { port, dir, process },
                Err(failure) => failures.push(failure),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("the SMTP server did not start: {}", failures.join("\n"));
    }

    /// Every message accepted so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|path| path.extension().is_some_and(|ext| ext == "eml"));
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                let envelope = std::fs::read_to_string(path.with_extension("json")).expect("the envelope");
                let envelope: serde_json::Value = serde_json::from_str(&envelope).expect("the envelope is JSON");
                Mail {
                    mail_from: envelope["mail_from"].as_str().unwrap_or_default().to_owned(),
                    rcpt_to: envelope["rcpt_tos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect(),
                    user: envelope["user"].as_str().map(str::to_owned),
                    peer: envelope["peer"].as_str().unwrap_or_default().to_owned(),
                    raw,
                }
            })
            .collect()
    }

    /// Waits until at least `count` messages arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        crate::service::eventually(&format!("{count} message(s) at the SMTP server"), || async {
            let mails = self.mails();
            (mails.len() >= count).then_some(mails)
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the server on the port and waits for its "ready".
fn spawn(port: u16, dir: &std::path::Path, login: &[&str]) -> Result<Child, String> {
    let mut process = Command::new(PYTHON)
        .args(["-c", SERVER, &port.to_string()])
        .arg(dir)
        .args(login)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {PYTHON}: {e}"))?;
    let stdout = process.stdout.take().expect("a piped stdout");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = ready_tx.send(line);
    });
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(line) = ready_rx.recv_timeout(Duration::from_millis(50)) {
            if line.trim() == "ready" {
                // Nobody reads what it logs from now on: drained, so a full pipe never stalls it.
                if let Some(mut stderr) = process.stderr.take() {
                    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
                }
                return Ok(process);
            }
            let _ = process.kill();
            let status = process.wait().map(|s| s.to_string()).unwrap_or_default();
            let mut errors = String::new();
            if let Some(mut stderr) = process.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut errors);
            }
            return Err(format!("port {port}: it exited ({status}): {}", errors.trim()));
        }
        if Instant::now() >= deadline {
            let _ = process.kill();
            let _ = process.wait();
            return Err(format!("port {port}: not listening within {PATIENCE:?}"));
        }
    }
}
