//! The outbound-address policy end to end: where a tenant may make ratewire connect (event
//! endpoints, channels' `api_base_url`, `smtp_host`). Every fake here runs on loopback, which
//! the default policy refuses, so each test sets `outbound.allow` itself: the default (nothing)
//! or what it shows being let through.

use jiff::Timestamp;
use ratewire_core::TenantId;
use ratewire_core::store;
use ratewire_gateway::cli::settings::Settings;
use ratewire_gateway::flow::records::EndpointRecord;
use ratewire_tests::fake_graph::FakeGraph;
use ratewire_tests::fake_telegram::FakeTelegram;
use ratewire_tests::service::{Api, Gateway, Receiver, eventually, survey_until};
use ratewire_tests::smtp::SmtpServer;
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAG-outbound-test";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";

/// A gateway whose `outbound.allow` is `allow` (the harness's loopback allowance dropped).
async fn gateway_allowing(allow: &[&str]) -> Gateway {
    let allow: Vec<String> = allow.iter().map(|entry| (*entry).to_owned()).collect();
    Gateway::start_with(None, move |settings: &mut Settings| settings.outbound.allow = allow).await
}

/// A configuration to bind channels to; its id.
async fn config(api: &Api) -> String {
    let answer = api.post("/v1/configs", &json!({ "name": "Outbound", "config": { "scale": "stars:5" } })).await;
    answer.expect(201)["id"].as_str().expect("a configuration has an id").to_owned()
}

/// The body connecting a WhatsApp channel `id` whose platform is at `api_base_url`; invitations
/// go as a template, so an agent's invitation is sent without the end user writing first.
fn whatsapp(id: &str, config: &str, api_base_url: &str) -> Value {
    json!({
        "id": id, "kind": "whatsapp", "name": "Support line", "config": config,
        "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
        "settings": { "phone_number_id": "106540352242922", "api_base_url": api_base_url,
                      "template_name": "rating_request" },
    })
}

/// An agent's invitation on `channel` to `recipient`; the survey's id.
async fn invite(api: &Api, channel: &str, conversation: &str, recipient: &str) -> String {
    let body = json!({ "conversation": conversation, "channel": channel, "recipient": recipient, "agent": "ana" });
    api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().expect("a survey id").to_owned()
}

/// The field and problem of a 422 answer that names one field.
#[track_caller]
fn refused_field(answer: &ratewire_tests::service::Answer) -> (String, String) {
    let body = answer.expect(422);
    let field = &body["error"]["fields"][0];
    (field["field"].as_str().unwrap_or_default().to_owned(), field["problem"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_refuses_inward_addresses_naming_the_field() {
    let gw = gateway_allowing(&[]).await;
    let api = gw.acme();
    for (url, class) in [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1:8080/", "private"),
        ("http://[::1]:6379/", "loopback"),
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://[::ffff:127.0.0.1]:6379/", "loopback"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://100.64.0.1/", "shared"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
    ] {
        let answer = api.post("/v1/endpoints", &json!({ "url": url })).await;
        let (field, problem) = refused_field(&answer);
        assert_eq!(field, "url", "{url}");
        assert!(problem.contains(&format!("{class} address")), "{url}: {problem}");
    }
    assert_eq!(api.get("/v1/endpoints").await.expect(200), json!({ "endpoints": [] }), "none was kept");

    // Channels: the platform's address when connecting or changing it, and the SMTP server's.
    let config = config(&api).await;
    let answer = api.post("/v1/channels", &whatsapp("wa", &config, "http://[::ffff:169.254.169.254]")).await;
    assert_eq!(refused_field(&answer).0, "settings.api_base_url");
    let telegram = json!({
        "id": "tg", "kind": "telegram", "name": "Bot", "config": config,
        "secrets": { "bot_token": "123456:ABC-def" }, "settings": { "api_base_url": "http://10.0.0.1:8081" },
    });
    assert_eq!(refused_field(&api.post("/v1/channels", &telegram).await).0, "settings.api_base_url");
    let email = json!({
        "id": "mail", "kind": "email", "name": "Mail", "config": config,
        "settings": { "smtp_host": "10.0.0.5", "smtp_tls": "none", "from": "Acme <help@acme.example>" },
    });
    assert_eq!(refused_field(&api.post("/v1/channels", &email).await).0, "settings.smtp_host");
    api.post("/v1/channels", &whatsapp("wa", &config, "https://graph.facebook.com")).await.expect(201);
    let moved = json!({ "settings": { "api_base_url": "http://127.0.0.1:9000" } });
    assert_eq!(refused_field(&api.patch("/v1/channels/wa", &moved).await).0, "settings.api_base_url");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn names_that_resolve_inward_are_refused_when_connecting_with_the_reason_recorded() {
    let gw = gateway_allowing(&[]).await;
    let api = gw.acme();
    // `localhost` is a name: accepted as given, and judged by what it resolves to, 127.0.0.1.
    let receiver = Receiver::start().await;
    let hook = format!("http://localhost:{}/hooks", receiver.address.port());
    let endpoint = api.post("/v1/endpoints", &json!({ "url": hook, "events": ["survey.failed"] })).await.expect(201);
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let graph_port = graph.base_url.rsplit(':').next().expect("a port");
    let config = config(&api).await;
    let at_localhost = whatsapp("wa", &config, &format!("http://localhost:{graph_port}"));
    api.post("/v1/channels", &at_localhost).await.expect(201);

    // The invitation is never posted to the platform: the survey fails, saying why.
    let survey = invite(&api, "wa", "c1", "16505550100").await;
    let failed = survey_until(&api, &survey, "the survey to fail", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "refused_destination");
    let detail = failed["failure"]["detail"].as_str().unwrap();
    assert!(detail.starts_with("localhost is ") && detail.contains("a loopback address"), "{detail}");
    assert!(graph.requests().is_empty(), "nothing reached the platform");

    // Its survey.failed event is not posted to the endpoint either: the delivery waits, saying why.
    let delivery = eventually("the refused delivery to be recorded", || async {
        let pending = api.get("/v1/deliveries").await.expect(200);
        let delivery = pending["deliveries"].get(0)?.clone();
        delivery["last_error"].is_string().then_some(delivery)
    })
    .await;
    assert_eq!(delivery["endpoint"], endpoint["id"]);
    let reason = delivery["last_error"].as_str().unwrap();
    assert!(reason.starts_with("localhost is ") && reason.contains("a loopback address"), "{reason}");
    assert!(receiver.posts().is_empty(), "nothing reached the receiver");

    // An address literal stored before the policy refused it (an older version, another
    // gateway's settings) is refused when connecting too: no resolver sees a literal.
    let tenant = TenantId::new("globex").unwrap();
    let literal = EndpointRecord {
        id: "ep_literal".into(),
        url: format!("http://[::ffff:127.0.0.1]:{}/hooks", receiver.address.port()),
        secret: "whsec_0123456789abcdef0123456789abcdef".into(),
        events: Vec::new(),
        created_at: Timestamp::now(),
    };
    store::write(&*gw.state.flow.store, &tenant, "ep_literal", None, &literal).await.unwrap();
    let globex = gw.globex();
    let config = self::config(&globex).await;
    globex.post("/v1/channels", &whatsapp("wa", &config, &format!("http://localhost:{graph_port}"))).await.expect(201);
    invite(&globex, "wa", "c2", "16505550200").await;
    let reason = eventually("the literal's refusal to be recorded", || async {
        let pending = globex.get("/v1/deliveries").await.expect(200);
        pending["deliveries"].get(0)?["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(reason.contains("a loopback address"), "{reason}");
    assert!(receiver.posts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_smtp_host_that_resolves_inward_is_refused_when_connecting() {
    let gw = gateway_allowing(&[]).await;
    let api = gw.acme();
    let smtp = SmtpServer::start();
    let config = config(&api).await;
    let body = json!({
        "id": "mail", "kind": "email", "name": "Mail", "config": config,
        "settings": { "smtp_host": "localhost", "smtp_port": smtp.port.to_string(), "smtp_tls": "none",
                      "from": "Acme <help@acme.example>" },
    });
    api.post("/v1/channels", &body).await.expect(201);
    let survey = invite(&api, "mail", "m1", "ana@example.com").await;
    let failed = survey_until(&api, &survey, "the survey to fail", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "refused_destination");
    assert!(smtp.mails().is_empty(), "no mail went to the server on loopback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_allow_list_lets_listed_hosts_and_networks_through() {
    let gw = gateway_allowing(&["localhost", "10.1.2.0/24"]).await;
    let api = gw.acme();
    let receiver = Receiver::start().await;
    // A listed name reaches what it resolves to; the address itself, unlisted, is still refused.
    let hook = format!("http://localhost:{}/hooks", receiver.address.port());
    api.post("/v1/endpoints", &json!({ "url": hook })).await.expect(201);
    let literal = format!("http://127.0.0.1:{}/hooks", receiver.address.port());
    assert_eq!(refused_field(&api.post("/v1/endpoints", &json!({ "url": literal })).await).0, "url");
    // A listed network: its addresses are accepted, the next network's are not.
    api.post("/v1/endpoints", &json!({ "url": "http://10.1.2.3/hooks", "events": ["survey.rated"] })).await.expect(201);
    assert_eq!(refused_field(&api.post("/v1/endpoints", &json!({ "url": "http://10.1.3.3/" })).await).0, "url");

    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let graph_port = graph.base_url.rsplit(':').next().expect("a port");
    let config = config(&api).await;
    api.post("/v1/channels", &whatsapp("wa", &config, &format!("http://localhost:{graph_port}"))).await.expect(201);
    invite(&api, "wa", "c1", "16505550100").await;
    graph.wait_for_sends_to("16505550100", 1).await;
    let posts = receiver.wait_for("the survey.sent event", |posts| !posts.is_empty()).await;
    assert_eq!(posts[0].json()["type"], "survey.sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redirects_are_not_followed() {
    // The platform's address, allowed by name, answers with a redirect to an address that is
    // not allowed: following it would reach the fake Graph API behind it.
    let gw = gateway_allowing(&["localhost"]).await;
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let target = graph.base_url.clone();
    let redirector = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{target}{uri}");
        async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    let server = tokio::spawn(async move { axum::serve(listener, redirector).await.expect("the redirector serves") });

    let config = config(&api).await;
    api.post("/v1/channels", &whatsapp("wa", &config, &format!("http://localhost:{port}"))).await.expect(201);
    let survey = invite(&api, "wa", "c1", "16505550100").await;
    let failed = survey_until(&api, &survey, "the survey to fail", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["detail"], "WhatsApp answered HTTP 307", "the redirect is the answer");
    assert!(graph.requests().is_empty(), "the redirect was not followed");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn telegrams_client_is_held_to_the_policy_too() {
    // teloxide's client is the policy's: registering the webhook with a Bot API server whose
    // name resolves to loopback is refused, and the channel is not kept.
    let gw = gateway_allowing(&[]).await;
    let api = gw.acme();
    let token = "123456:ABC-outbound";
    let fake = FakeTelegram::start(token).await;
    let port = fake.url.rsplit(':').next().expect("a port").trim_end_matches('/');
    let config = config(&api).await;
    let body = json!({
        "id": "tg", "kind": "telegram", "name": "Bot", "config": config,
        "secrets": { "bot_token": token }, "settings": { "api_base_url": format!("http://localhost:{port}") },
    });
    let answer = api.post("/v1/channels", &body).await;
    assert_eq!(answer.error(502), "webhook_registration_failed");
    let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("refused_destination: localhost is ") && message.contains("a loopback address"),
        "{message}"
    );
    assert!(fake.calls().is_empty(), "nothing reached the Bot API server");
    assert_eq!(api.get("/v1/channels/tg").await.error(404), "not_found");
}
