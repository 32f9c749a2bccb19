//! Chaos: what happens to ratings and invitations when Redis restarts or a gateway is killed
//! mid-work, with traffic flowing. Both tests are bounded (well under a minute here) and run
//! against real parts: redis-server, the gateway (in-process for the Redis restart, as a process
//! of its own for the kill, so `kill -9` is real), and the fake platforms, which redeliver and
//! report back as Meta does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ratewire_gateway::http::auth;
use ratewire_tests::RedisServer;
use ratewire_tests::fake_graph::{self, FakeGraph, PHONE_NUMBER_ID};
use ratewire_tests::fake_messenger::FakeMessenger;
use ratewire_tests::process::{RunDir, ServerProcess, gateway_settings};
use ratewire_tests::service::{ACME, Api, Gateway, eventually_within};
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-chaos";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
/// How long a test waits for the whole of its traffic to settle.
const SETTLING: Duration = Duration::from_secs(90);

/// A WhatsApp end user's number, one per survey.
fn wa_id(i: usize) -> String {
    format!("1650555{i:04}")
}

/// Connects the survey configuration and a WhatsApp channel talking to `graph`, sending at most
/// `sends_per_second`; the channel's `webhook_url`.
async fn connect_whatsapp(api: &Api, base: &str, graph: &FakeGraph, sends_per_second: &str) -> String {
    graph.connect_support_line(api, sends_per_second).await;
    format!("{base}/hooks/{ACME}/wa")
}

/// Posts a webhook as Meta does, redelivering after every answer but 200, until it is taken.
async fn taken(platform: &ratewire_tests::meta::Webhooks, hook: &str, payload: &Value) {
    assert!(platform.deliver(hook, payload).await, "the webhook was never taken");
}

// ---------------------------------------------------------------------------------------------
// (a) Redis restarts under a stream of ratings.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restarted_under_a_stream_of_ratings_loses_none() {
    const SURVEYS: usize = 150;
    const STREAMS: usize = 6;
    let gw = Gateway::start_with(Some(RedisServer::start_durable()), |settings| {
        settings.delivery.claim_secs = 2;
    })
    .await;
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let hook = connect_whatsapp(&api, &gw.base, &graph, "1000").await;
    // Everyone writes first (one delivery), so the invitations go out free-form.
    let hello: Vec<Value> = (0..SURVEYS)
        .map(|i| fake_graph::text(&wa_id(i), &format!("wamid.hello-{i}"), ratewire_tests::now(), "hi"))
        .collect();
    // (In deliveries of ten: the test gateway takes small bodies.)
    for hello in hello.chunks(10) {
        taken(&graph.webhooks, &hook, &fake_graph::messages(PHONE_NUMBER_ID, hello.to_vec())).await;
    }
    let mut surveys = Vec::new();
    for i in 0..SURVEYS {
        let body = json!({ "conversation": format!("c-{i}"), "channel": "wa", "recipient": wa_id(i) });
        surveys.push(api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned());
    }

    // Streams of ratings, each redelivered until taken, as Meta does; Redis is killed and
    // restarted once a third of them are in.
    let taken = Arc::new(AtomicUsize::new(0));
    let mut streams = tokio::task::JoinSet::new();
    for stream in 0..STREAMS {
        let (graph_webhooks, hook, taken) = (graph.webhooks.clone(), hook.clone(), taken.clone());
        streams.spawn(async move {
            for i in (stream..SURVEYS).step_by(STREAMS) {
                let rating = fake_graph::messages(
                    PHONE_NUMBER_ID,
                    vec![fake_graph::text(&wa_id(i), &format!("wamid.rating-{i}"), ratewire_tests::now(), "4")],
                );
                assert!(graph_webhooks.deliver(&hook, &rating).await, "rating {i} never taken");
                taken.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    eventually_within(SETTLING, "a third of the ratings taken", || async {
        (taken.load(Ordering::SeqCst) >= SURVEYS / 3).then_some(())
    })
    .await;
    let mut gw = gw;
    gw.redis.as_mut().expect("on Redis").restart();
    while let Some(stream) = streams.join_next().await {
        stream.expect("a stream of ratings");
    }
    assert!(taken.load(Ordering::SeqCst) == SURVEYS);

    // Not one rating lost.
    let api = gw.acme();
    let mut lost = Vec::new();
    for id in &surveys {
        let survey = api.get(&format!("/v1/surveys/{id}")).await.expect(200);
        if survey["score"] != 4 {
            lost.push(survey);
        }
    }
    assert!(lost.is_empty(), "{} of {SURVEYS} ratings lost: {lost:?}", lost.len());
}

// ---------------------------------------------------------------------------------------------
// (b) The gateway is killed with -9 mid-send, and restarted.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_send_delivers_every_invitation_and_none_twice() {
    const PER_CHANNEL: usize = 120;
    let redis = RedisServer::start();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let messenger = FakeMessenger::start().await;
    // The platforms take each message at once and answer a moment later: a gateway killed in
    // that moment has sends out whose outcome it never learnt.
    graph.answer_after(Duration::from_millis(300));
    messenger.answer_after(Duration::from_millis(300));
    // And they report what they took seconds later, after the dead gateway's lease ran out: the
    // restarted one must wait for their word rather than send again.
    graph.delay_reports(Duration::from_secs(3));
    messenger.delay_reports(Duration::from_secs(3));

    let port = ratewire_tests::free_port();
    let key = auth::new_key();
    let dir = RunDir::fresh();
    let settings = gateway_settings(
        port,
        &format!("redis_url = {:?}", redis.url()),
        &key,
        "[delivery]\nlease_secs = 2\nreconcile_secs = 15",
    );
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_ratewire-load"));
    let gateway =
        ServerProcess::gateway(program, &dir.0, "gateway", port, &settings).await.expect("the gateway starts");
    let base = gateway.base.clone();
    let api = Api::new(&base, Some(&key));

    // Sends are paced, so a queue builds up.
    let wa_hook = connect_whatsapp(&api, &base, &graph, "40").await;
    let page = json!({
        "id": "fb", "kind": "messenger", "name": "Page", "config": "support",
        "secrets": { "page_access_token": messenger.page_token, "app_secret": messenger.webhooks.app_secret },
        "settings": { "page_id": messenger.page_id, "api_base_url": messenger.base, "sends_per_second": "40" },
    });
    api.post("/v1/channels", &page).await.expect(201);
    let fb_hook = format!("{base}/hooks/{ACME}/fb");
    // The platforms report what they took: WhatsApp's statuses, Messenger's echoes.
    graph.report_statuses_to(&wa_hook, PHONE_NUMBER_ID);
    messenger.echo_to(&fb_hook);

    // Everyone writes first, so the invitations may go out.
    let psid = |i: usize| format!("2468{i:04}");
    let now = ratewire_tests::now();
    let hello: Vec<Value> =
        (0..PER_CHANNEL).map(|i| fake_graph::text(&wa_id(i), &format!("wamid.hello-{i}"), now, "hi")).collect();
    taken(&graph.webhooks, &wa_hook, &fake_graph::messages(PHONE_NUMBER_ID, hello)).await;
    let hello: Vec<Value> =
        (0..PER_CHANNEL).map(|i| messenger.text(&psid(i), &format!("m_hello-{i}"), "hi", now)).collect();
    taken(&messenger.webhooks, &fb_hook, &messenger.notification(hello)).await;

    let mut surveys = Vec::new();
    for i in 0..PER_CHANNEL {
        for (channel, recipient) in [("wa", wa_id(i)), ("fb", psid(i))] {
            let body = json!({ "conversation": format!("{channel}-{i}"), "channel": channel, "recipient": recipient });
            surveys.push(api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned());
        }
    }

    // Killed mid-send: a third of the invitations out, others in flight, the rest queued.
    eventually_within(SETTLING, "a third of the invitations sent", || async {
        (graph.sends().len() >= PER_CHANNEL / 3 && messenger.requests().len() >= PER_CHANNEL / 3).then_some(())
    })
    .await;
    gateway.kill();
    let sent_before = (graph.sends().len(), messenger.requests().len());
    assert!(sent_before.0 < PER_CHANNEL && sent_before.1 < PER_CHANNEL, "killed mid-queue: {sent_before:?}");

    // Restarted on the same Redis and address: every invitation goes out, none twice.
    let _gateway =
        ServerProcess::gateway(program, &dir.0, "restarted", port, &settings).await.expect("the gateway restarts");
    eventually_within(SETTLING, "the outbox to empty", || async {
        let mut waiting = 0;
        for bucket in 0..16 {
            if let redis::Value::Int(count) = redis.command(&["ZCARD", &format!("rw:outbox:due:{{{bucket}}}")]).await {
                waiting += count;
            }
        }
        (waiting == 0).then_some(())
    })
    .await;
    let mut twice = Vec::new();
    let mut never = Vec::new();
    for i in 0..PER_CHANNEL {
        match graph.sends_to(&wa_id(i)).len() {
            0 => never.push(wa_id(i)),
            1 => {}
            n => twice.push((wa_id(i), n)),
        }
        match messenger.delivered_to(&psid(i)).len() {
            0 => never.push(psid(i)),
            1 => {}
            n => twice.push((psid(i), n)),
        }
    }
    assert!(never.is_empty(), "invitations never delivered: {never:?}");
    assert!(twice.is_empty(), "invitations delivered twice: {twice:?}");
    for id in &surveys {
        let survey = api.get(&format!("/v1/surveys/{id}")).await.expect(200);
        assert!(survey["sent_at"].is_string(), "every survey knows it was sent: {survey}");
    }
}
