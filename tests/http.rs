//! The HTTP front of the gateway, tried from outside as a careless or hostile client would:
//! the shape of JSON bodies, clients that are slow or silent, a flood of them against
//! `ratewire serve` as a process of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ratewire_gateway::http::auth;
use ratewire_tests::RedisServer;
use ratewire_tests::fake_graph::{self, FakeGraph};
use ratewire_tests::service::{Api, Gateway, client, eventually};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every JSON body is an object: serde would otherwise fill a struct from a positional array,
/// so `["final", "renamed"]` would rename a channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_objects_or_422() {
    let gw = Gateway::start(None).await;
    let api = gw.acme();
    api.post("/v1/configs", &json!({ "id": "support", "name": "Support", "config": {} })).await.expect(201);
    let channel = json!({ "id": "site", "kind": "web_widget", "name": "Site chat", "config": "support" });
    api.post("/v1/channels", &channel).await.expect(201);

    let json = Some("application/json");
    for (method, path, body) in [
        (Method::PATCH, "/v1/channels/site", r#"["support", "renamed via array"]"#),
        (Method::POST, "/v1/invitations", r#" ["c1", "site", "visitor-1", null, null]"#),
        (Method::POST, "/v1/configs", r#"["array", "Array", {}]"#),
        (Method::POST, "/v1/channels", r#""site""#),
        (Method::POST, "/v1/conversations", "42"),
        (Method::POST, "/api/understand", r#"["5"]"#),
    ] {
        let answer = api.raw(method.clone(), path, json, body.as_bytes().to_vec()).await;
        assert_eq!(answer.error(422), "invalid", "{method} {path} {body}");
        assert_eq!(
            answer.json()["error"]["fields"],
            json!([{ "field": "body", "problem": "must be a JSON object" }]),
            "{method} {path}"
        );
    }
    // Nothing was changed or made.
    let site = api.get("/v1/channels/site").await.expect(200);
    assert_eq!(site["name"], "Site chat");
    assert_eq!(api.get("/v1/surveys").await.expect(200)["surveys"], json!([]));
    assert_eq!(api.get("/v1/configs").await.expect(200)["configs"].as_array().map(Vec::len), Some(1));
    // Not JSON at all is still malformed, and an object still works.
    let answer = api.raw(Method::PATCH, "/v1/channels/site", json, b"[\"support\",".to_vec()).await;
    assert_eq!(answer.error(400), "malformed_json");
    let answer = api.patch("/v1/channels/site", &json!({ "name": "Renamed" })).await;
    assert_eq!(answer.expect(200)["name"], "Renamed");
}

/// How long a test waits for the gateway to close a connection it should close.
const CLOSE_PATIENCE: Duration = Duration::from_secs(8);

/// Reads what the gateway sends until it closes the connection; `None` if it is still open
/// after `patience`.
async fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(patience, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).await.expect("the gateway accepts")
}

/// Silent and slow clients are cut off by the `[http]` deadlines; a body declared over the
/// limit is refused before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_off() {
    let gw = Gateway::start_with(None, |settings| {
        settings.http.header_read_timeout_secs = 1;
        settings.http.body_read_timeout_secs = 2;
        settings.http.idle_timeout_secs = 1;
    })
    .await;

    // Connected, and nothing sent.
    let mut silent = connect(&gw.base).await;
    assert_eq!(read_until_closed(&mut silent, CLOSE_PATIENCE).await.as_deref(), Some(""), "a silent client");

    // Headers a byte at a time, never finished: the deadline counts from the first byte.
    let mut trickle = connect(&gw.base).await;
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: ratewire\r\nX-Slow: ";
    let mut closed = false;
    for byte in head.iter().chain(std::iter::repeat(&b'a')) {
        if trickle.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        if started.elapsed() > CLOSE_PATIENCE {
            break;
        }
        let mut probe = [0u8; 1];
        if let Ok(read) = tokio::time::timeout(Duration::from_millis(200), trickle.read(&mut probe)).await {
            closed = matches!(read, Ok(0) | Err(_));
            break;
        }
    }
    assert!(closed, "a client trickling its headers is cut off");

    // A body that stops coming: 408 once its deadline passes, and the connection closed.
    let mut slow_body = connect(&gw.base).await;
    slow_body
        .write_all(b"POST /api/understand HTTP/1.1\r\nHost: ratewire\r\nContent-Length: 100\r\n\r\n{\"text\": ")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow_body, CLOSE_PATIENCE).await.expect("a slow body is cut off");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"body_timeout""#), "{answer}");
    // The same for a form, as the document says of every operation with a body.
    let mut slow_form = connect(&gw.base).await;
    slow_form
        .write_all(
            b"POST /dashboard/login HTTP/1.1\r\nHost: ratewire\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nkey=",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow_form, CLOSE_PATIENCE).await.expect("a slow form is cut off");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A body declared larger than the limit: 413 at once, without waiting for it.
    let mut huge = connect(&gw.base).await;
    let key = gw.acme_key().to_owned();
    let request = format!(
        "POST /v1/configs HTTP/1.1\r\nHost: ratewire\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n0123456789"
    );
    huge.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut huge, Duration::from_secs(1)).await.expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    // The webhooks' route too, whose limit is the larger email one.
    let mut huge = connect(&gw.base).await;
    let request = "POST /hooks/acme/wa HTTP/1.1\r\nHost: ratewire\r\nContent-Length: 1099511627776\r\n\r\n0123456789";
    huge.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut huge, Duration::from_secs(1)).await.expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Headers past 64 KiB: 431, and closed.
    let mut bloated = connect(&gw.base).await;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: ratewire\r\nX-Padding: {}\r\n\r\n", "a".repeat(70 * 1024));
    bloated.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut bloated, CLOSE_PATIENCE).await.expect("refused and closed");
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // A kept-alive connection is answered, then closed once idle.
    let mut kept = connect(&gw.base).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: ratewire\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut kept, CLOSE_PATIENCE).await.expect("an idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Meanwhile, and after, a real client is served; the document tells of the 408.
    let document = gw.api(None).get("/openapi.json").await.expect(200);
    assert_eq!(
        document["paths"]["/v1/configs"]["post"]["responses"]["408"]["$ref"],
        "#/components/responses/BodyTimeout"
    );
}

// ---------------------------------------------------------------------------------------------
// The gateway as a process of its own, so that its memory is its own.

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-http";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
const PHONE_NUMBER_ID: &str = "106540352242922";

/// `ratewire serve` with a settings file, killed when dropped.
struct Process {
    base: String,
    key: String,
    pid: u32,
    child: std::sync::Mutex<Child>,
    dir: PathBuf,
}

impl Process {
    /// Starts `ratewire serve` (through the load binary's `gateway` command, which is the same
    /// function) with a tenant `acme` and `extra` settings appended; does not wait for it.
    fn spawn(name: &str, extra: &str) -> Process {
        Process::spawn_limited(name, extra, None)
    }

    /// [`Process::spawn`], with the open-files soft limit lowered to `soft_files` if given, as a
    /// system's default of 1024 would be.
    fn spawn_limited(name: &str, extra: &str, soft_files: Option<u32>) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("ratewire-http-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = auth::new_key();
        let settings = format!(
            "listen = \"127.0.0.1:{port}\"\ndemo = false\napi_requests_per_second = 100000\n{extra}\n\n[outbound]\nallow = [\"127.0.0.0/8\"]\n\n[[tenants]]\nid = \"acme\"\napi_key_hashes = [\"sha256:{}\"]\n",
            auth::digest(&key)
        );
        let path = dir.join("ratewire.toml");
        std::fs::write(&path, settings).unwrap();
        let log = std::fs::File::create(dir.join("ratewire.log")).unwrap();
        let exe = env!("CARGO_BIN_EXE_ratewire-load");
        let mut command = match soft_files {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell.arg("-c").arg(format!("ulimit -Sn {limit} && exec \"$0\" \"$@\"")).arg(exe);
                shell
            }
            None => Command::new(exe),
        };
        let child = command
            .arg("gateway")
            .arg(&path)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("ratewire starts");
        Process { base: format!("http://127.0.0.1:{port}"), key, pid: child.id(), child: child.into(), dir }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("ratewire.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits until `/healthz` answers; panics with the log if ratewire exits first.
    async fn wait_up(&self) {
        let http = client();
        let url = format!("{}/healthz", self.base);
        eventually("ratewire to answer", || async {
            if let Some(status) = self.exited() {
                panic!("ratewire exited ({status}): {}", self.log());
            }
            http.get(&url).send().await.ok().filter(|answer| answer.status() == 200).map(|_| ())
        })
        .await;
    }

    /// How the process ended, if it has.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child.lock().unwrap().try_wait().expect("the process's status")
    }

    fn api(&self) -> Api {
        Api::new(&self.base, Some(&self.key))
    }

    /// Resident memory now and at its peak, in KiB, from `/proc`.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/…/status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The open-files limit of this process (and of the gateway it starts).
fn open_files_limit() -> usize {
    open_files_limits("self").0
}

/// A process's open-files limits, soft and hard, from `/proc/<pid>/limits`.
fn open_files_limits(pid: &str) -> (usize, usize) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let line = limits.lines().find_map(|line| line.strip_prefix("Max open files")).unwrap_or_default();
    let mut numbers = line.split_whitespace().map(|n| n.parse().unwrap_or(usize::MAX));
    (numbers.next().unwrap_or(1024), numbers.next().unwrap_or(1024))
}

/// Started under a soft open-files limit below `max_connections` (a system's usual 1024), the
/// gateway raises it to the hard limit, so the connections it allows can be opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_files_limit_is_raised_to_fit_the_connections() {
    let (_, hard) = open_files_limits("self");
    assert!(hard > 256, "the hard open-files limit ({hard}) leaves nothing to raise");
    let gateway = Process::spawn_limited("files", "[http]\nmax_connections = 200", Some(256));
    gateway.wait_up().await;
    assert_eq!(open_files_limits(&gateway.pid.to_string()), (hard, hard), "{}", gateway.log());
}

/// The cap the flood runs against, and the bound on the gateway's resident memory while it
/// lasts (docs/performance.md explains the figure).
const FLOOD_MAX_CONNECTIONS: usize = 500;
const FLOOD_MEMORY_BOUND_KIB: u64 = 96 * 1024;

/// Thousands of clients that open a connection and never finish a request, or never finish its
/// body, while WhatsApp sends signed ratings: the ratings are taken, every slow connection is
/// closed by the deadlines, and the gateway's resident memory stays under the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_slow_clients_leaves_ratings_answered_and_memory_bounded() {
    let flood = 3000.min(open_files_limit().saturating_sub(FLOOD_MAX_CONNECTIONS + 200));
    assert!(flood >= 1000, "the open-files limit ({}) is too low for this test", open_files_limit());
    let gateway = Process::spawn(
        "flood",
        &format!(
            "[http]\nheader_read_timeout_secs = 1\nbody_read_timeout_secs = 1\nidle_timeout_secs = 2\nmax_connections = {FLOOD_MAX_CONNECTIONS}"
        ),
    );
    gateway.wait_up().await;
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let api = gateway.api();
    api.post("/v1/configs", &json!({ "id": "support", "name": "Support", "config": { "scale": "stars:5" } }))
        .await
        .expect(201);
    let channel = json!({
        "id": "wa", "kind": "whatsapp", "name": "Support line", "config": "support",
        "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
        "settings": { "phone_number_id": PHONE_NUMBER_ID, "api_base_url": graph.base_url, "sends_per_second": "1000" },
    });
    api.post("/v1/channels", &channel).await.expect(201);
    const RATINGS: usize = 20;
    let users: Vec<String> = (0..RATINGS).map(|i| format!("1650555{i:04}")).collect();
    let mut surveys = Vec::new();
    let url = format!("{}/hooks/acme/wa", gateway.base);
    for (i, user) in users.iter().enumerate() {
        // The end user writes first: WhatsApp's 24-hour window lets the invitation go out.
        let hello = fake_graph::text(user, &format!("wamid.hello-{i}"), Timestamp::now(), "Hi, my order?");
        let (status, _) = graph.webhooks.post(&url, &fake_graph::messages(PHONE_NUMBER_ID, vec![hello])).await;
        assert_eq!(status, 200);
        let body = json!({ "conversation": format!("c{i}"), "channel": "wa", "recipient": user, "locale": "en" });
        surveys.push(api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned());
    }
    for user in &users {
        graph.wait_for_sends_to(user, 1).await;
    }
    let (before, _) = gateway.memory();

    // The flood: half never finish their headers, half never finish their bodies. Each waits
    // for the gateway to close its connection.
    let address = gateway.base.trim_start_matches("http://").to_owned();
    let attackers: Vec<_> = (0..flood)
        .map(|i| {
            let address = address.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(&address).await.expect("connects");
                let partial: &[u8] = if i % 2 == 0 {
                    b"POST /hooks/acme/wa HTTP/1.1\r\nHost: ratewire\r\nContent-Type: application/json\r\n"
                } else {
                    b"POST /api/understand HTTP/1.1\r\nHost: ratewire\r\nContent-Length: 1000\r\n\r\n{\"text\""
                };
                let _ = stream.write_all(partial).await;
                // Queued in the backlog behind the cap, then the deadline: well within this.
                read_until_closed(&mut stream, Duration::from_secs(30)).await.is_some()
            })
        })
        .collect();

    // The ratings, signed as Meta signs them, sent while the flood is on.
    let at = Timestamp::now();
    let ratings = users.iter().enumerate().map(|(i, user)| {
        let message = fake_graph::text(user, &format!("wamid.rating-{i}"), at, "5");
        let payload = fake_graph::messages(PHONE_NUMBER_ID, vec![message]);
        let graph = &graph;
        let url = url.clone();
        async move { graph.webhooks.post(&url, &payload).await }
    });
    let answers = futures_util::future::join_all(ratings).await;
    for (status, body) in &answers {
        assert_eq!((*status, body), (200, &json!({ "received": 1, "duplicates": 0 })), "a rating is taken");
    }
    let mut closed = 0;
    for attacker in attackers {
        closed += usize::from(attacker.await.expect("the attacker runs"));
    }
    let (after, peak) = gateway.memory();
    assert_eq!(closed, flood, "every slow connection is closed by the gateway");
    for survey in &surveys {
        let survey = api.get(&format!("/v1/surveys/{survey}")).await.expect(200);
        assert_eq!(survey["score"], 5, "{survey}");
    }
    println!("flood of {flood}: resident {before} KiB before, {after} KiB after, peak {peak} KiB");
    assert!(
        peak < FLOOD_MEMORY_BOUND_KIB,
        "peak resident memory {peak} KiB is over {FLOOD_MEMORY_BOUND_KIB} KiB:\n{}",
        gateway.log().lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
}

/// `ratewire serve` started before its Redis waits for it instead of exiting; once stopping
/// (SIGTERM), `/readyz` answers 503 while the rest is still served, and then it exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratewire_waits_for_redis_and_is_unready_as_soon_as_it_stops() {
    let port = ratewire_tests::free_port();
    let gateway = Process::spawn(
        "startup",
        &format!("redis_url = \"redis://127.0.0.1:{port}\"\nredis_wait_secs = 30\n[http]\nshutdown_drain_secs = 3"),
    );
    // It is still there, trying, when Redis is not.
    eventually("ratewire to wait for Redis", || async {
        assert!(gateway.exited().is_none(), "ratewire exited: {}", gateway.log());
        gateway.log().contains("waiting for Redis").then_some(())
    })
    .await;
    let _redis = RedisServer::start_on(port);
    gateway.wait_up().await;
    let anonymous = Api::new(&gateway.base, None);
    assert_eq!(anonymous.get("/readyz").await.expect(200)["store"], "redis");

    let status = Command::new("kill").args(["-TERM", &gateway.pid.to_string()]).status().unwrap();
    assert!(status.success());
    let answer = eventually("/readyz to answer 503", || async {
        let answer = anonymous.get("/readyz").await;
        (answer.status == 503).then_some(answer)
    })
    .await;
    assert_eq!(answer.error(503), "stopping");
    // Still serving everything else while load balancers take notice.
    assert_eq!(anonymous.get("/healthz").await.status, 200);
    let exited = eventually("ratewire to exit", || async { gateway.exited() }).await;
    assert!(exited.success(), "{exited}: {}", gateway.log());
}
