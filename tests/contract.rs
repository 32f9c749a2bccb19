//! The API's contract, checked from outside: the OpenAPI document the gateway serves is valid
//! (`openapi-spec-validator`), and the gateway keeps it (`schemathesis run` with every check):
//! every request the document allows is taken, every one it forbids is refused, and every
//! answer is of the documented status, content type and schema.
//!
//! The gateway serves on Redis, with a tenant whose configuration, channels, conversation,
//! survey and endpoint are seeded so the paths have real ids. Its workers are not started, so
//! nothing it accepts (an endpoint's URL, an SMTP host) is ever contacted, and its outbound
//! policy allows loopback alone (`outbound.public = false`), so its calls to platforms
//! (Telegram's `setWebhook` when a channel is connected) are refused before they connect:
//! nothing leaves the machine whatever schemathesis sends.
//!
//! Both tools come from PyPI (`python3 -m pip install schemathesis openapi-spec-validator`, the
//! versions `.ci/run` pins); without them the test fails, naming the packages.

use std::path::Path;
use std::process::Command;

use ratewire_gateway::cli::serve;
use ratewire_gateway::cli::settings::{OutboundSettings, Settings, TenantSettings};
use ratewire_gateway::http::auth;
use ratewire_tests::RedisServer;
use ratewire_tests::service::Api;
use serde_json::json;

/// How many cases schemathesis tries per operation and phase, and how long it may take in all:
/// enough to find what the suite found so far, and within a few minutes on two shared cores.
const MAX_EXAMPLES: &str = "30";
const MAX_SECONDS: &str = "150";

const NOT_INSTALLED: &str = "needs the PyPI packages schemathesis and openapi-spec-validator: \
     `python3 -m pip install 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'` (as .ci/run does)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_and_the_gateway_keeps_it() {
    for tool in ["openapi-spec-validator", "schemathesis"] {
        let found = Command::new(tool).arg("--help").output().is_ok_and(|out| out.status.success());
        assert!(found, "{tool} not found: the contract test {NOT_INSTALLED}");
    }
    let redis = RedisServer::start();
    let (base, key) = serve_gateway(&redis).await;
    seed(&Api::new(&base, Some(&key))).await;

    // The document as served, kept where a failure can be looked into.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/contract");
    std::fs::create_dir_all(&artifacts).expect("the artifacts directory");
    let document = artifacts.join("openapi.json");
    let served = Api::new(&base, None).get("/openapi.json").await;
    assert_eq!(served.status, 200, "{}", served.text);
    std::fs::write(&document, &served.text).expect("the document written");

    let validated = run_tool(Command::new("openapi-spec-validator").arg(&document)).await;
    assert!(validated.0, "openapi-spec-validator refuses the served document:\n{}", validated.1);

    let mut schemathesis = Command::new("schemathesis");
    schemathesis
        .arg("--config-file")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml"))
        .arg("run")
        .arg(&document)
        .args(["--url", &base, "--checks", "all", "--max-examples", MAX_EXAMPLES, "--max-time", MAX_SECONDS])
        .args(["--header", &format!("Authorization: Bearer {key}")])
        // One worker: CPython 3.11's `ast.parse` is not safe across threads, and schemathesis's
        // generator parses source with it, so two workers fail at random with "AST constructor
        // recursion depth mismatch" — an error of the tool, not of the gateway.
        .args(["--seed", "1", "--workers", "1", "--no-color", "--warnings", "off"])
        .arg("--report-dir")
        .arg(artifacts.join("report"))
        // Its example database goes with the artifacts, not into the sources.
        .current_dir(&artifacts)
        .env("NO_COLOR", "1");
    let (passed, output) = run_tool(&mut schemathesis).await;
    assert!(passed, "schemathesis found the gateway breaking its document:\n{output}");
}

/// Runs a tool to its end without holding up the gateway serving it; whether it passed, and
/// what it printed.
async fn run_tool(command: &mut Command) -> (bool, String) {
    // The tools talk to the gateway on loopback directly, whatever proxy the machine sets.
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    let mut command = std::mem::replace(command, Command::new("true"));
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("the tool's thread");
    let output = output.unwrap_or_else(|e| panic!("the tool did not run ({e}): the contract test {NOT_INSTALLED}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

const PROXY_VARIABLES: [&str; 8] =
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"];

/// Starts the gateway on `redis`, serving on a free loopback port without its workers; its base
/// URL and tenant `acme`'s key.
async fn serve_gateway(redis: &RedisServer) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
    let address = listener.local_addr().expect("a bound listener has an address");
    let key = auth::new_key();
    let settings = Settings {
        listen: address.to_string(),
        public_url: Some(format!("http://{address}")),
        redis_url: Some(redis.url()),
        api_requests_per_second: 100_000,
        demo: Some(false),
        tenants: vec![TenantSettings {
            id: "acme".into(),
            name: None,
            api_key_hashes: vec![format!("sha256:{}", auth::digest(&key))],
        }],
        outbound: OutboundSettings { allow: vec!["127.0.0.0/8".into()], public: false },
        ..Settings::default()
    };
    let settings = settings.check().unwrap_or_else(|e| panic!("the test settings are valid: {e}"));
    let state = serve::state(settings).await.unwrap_or_else(|e| panic!("the service starts: {e}"));
    tokio::spawn(serve::serve_on(listener, state, std::future::pending()));
    (format!("http://{address}"), key)
}

/// What a business would have set up, so the paths schemathesis fills have real ids.
async fn seed(api: &Api) {
    api.post("/v1/configs", &json!({ "id": "support", "name": "Support" })).await.expect(201);
    let nps = json!({ "id": "nps", "name": "NPS", "config": { "scale": "numeric:0-10" } });
    api.post("/v1/configs", &nps).await.expect(201);
    let site = json!({ "id": "site", "kind": "web_widget", "name": "Website", "config": "support" });
    api.post("/v1/channels", &site).await.expect(201);
    let conversation = json!({ "id": "T-1", "opened_by": "end_user", "channel": "site", "recipient": "visitor-1" });
    api.post("/v1/conversations", &conversation).await.expect(201);
    let invitation = json!({ "conversation": "T-2", "channel": "site", "recipient": "visitor-2", "agent": "ana" });
    api.post("/v1/invitations", &invitation).await.expect(201);
    api.post("/v1/endpoints", &json!({ "url": "http://127.0.0.1:9/hooks" })).await.expect(201);
}
