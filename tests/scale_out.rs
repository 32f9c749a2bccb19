//! Many gateways as one service: three gateway processes on a Redis Cluster of three masters with
//! a replica each, the platforms' webhooks and the business's API calls spread over them in turn
//! as a load balancer spreads them. Each test starts its own cluster and processes, and is
//! bounded (well under a minute here).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ratewire_core::store::{Outbox, SurveyStore};
use ratewire_core::store::{RedisStore, RedisStoreOptions};
use ratewire_core::{
    ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId, TenantId,
};
use ratewire_gateway::http::auth;
use ratewire_tests::fake_graph::{self, FakeGraph, PHONE_NUMBER_ID};
use ratewire_tests::process::{RunDir, ServerProcess, TENANT};
use ratewire_tests::redis_setups::RedisCluster;
use ratewire_tests::service::{Api, Receiver, Widget, eventually_within, visitor_token};
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-scale";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
/// How long a test waits for the whole of its traffic to settle.
const SETTLING: Duration = Duration::from_secs(60);

/// A WhatsApp end user's number, one per survey.
fn wa_id(i: usize) -> String {
    format!("1650556{i:04}")
}

/// Three gateway processes on one Redis Cluster, serving one tenant.
struct Service {
    cluster: RedisCluster,
    /// `None` once killed.
    gateways: Vec<Option<ServerProcess>>,
    key: String,
    _dir: RunDir,
}

impl Service {
    /// Starts a cluster and three gateways on it, with `extra` settings (TOML tables).
    async fn start(extra: &str) -> Service {
        let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("the cluster starts");
        let key = auth::new_key();
        let dir = RunDir::fresh();
        let redis = format!("redis_cluster_nodes = {:?}", cluster.nodes());
        let program = Path::new(env!("CARGO_BIN_EXE_ratewire-load"));
        let gateways =
            ServerProcess::gateways(program, &dir.0, 3, &redis, &key, extra).await.expect("the gateways start");
        Service { cluster, gateways: gateways.into_iter().map(Some).collect(), key, _dir: dir }
    }

    /// The gateways alive, in turn: the `turn`-th call's.
    fn base(&self, turn: usize) -> String {
        let alive: Vec<&ServerProcess> = self.gateways.iter().flatten().collect();
        alive[turn % alive.len()].base.clone()
    }

    /// The API through the `turn`-th gateway alive.
    fn api(&self, turn: usize) -> Api {
        Api::new(&self.base(turn), Some(&self.key))
    }

    /// The channel's webhook through the `turn`-th gateway alive.
    fn hook(&self, turn: usize, channel: &str) -> String {
        format!("{}/hooks/{TENANT}/{channel}", self.base(turn))
    }

    /// `kill -9` of gateway `n`.
    fn kill(&mut self, n: usize) {
        self.gateways[n].take().expect("a gateway alive").kill();
    }

    /// A store on the cluster, as the test's own window on what the gateways keep.
    async fn store(&self) -> RedisStore {
        RedisStore::connect_to(&self.cluster.target(), RedisStoreOptions::default()).await.expect("the cluster answers")
    }
}

/// Connects the rating configuration and a WhatsApp channel talking to `graph` at
/// `sends_per_second`, through the first gateway; every end user writes first (each message
/// through the next gateway), so the invitations go out free-form.
async fn connect_whatsapp(service: &Service, graph: &FakeGraph, sends_per_second: &str, users: usize) {
    graph.connect_support_line(&service.api(0), sends_per_second).await;
    let now = ratewire_tests::now();
    for i in 0..users {
        let hello = fake_graph::text(&wa_id(i), &format!("wamid.hello-{i}"), now, "hi");
        let delivery = fake_graph::messages(PHONE_NUMBER_ID, vec![hello]);
        assert!(graph.webhooks.deliver(&service.hook(i, "wa"), &delivery).await, "hello {i} never taken");
    }
}

/// Invites every end user, each invitation through the next gateway; the surveys' ids.
async fn invite_all(service: &Service, users: usize) -> Vec<String> {
    let mut surveys = Vec::new();
    for i in 0..users {
        let body = json!({ "conversation": format!("c-{i}"), "channel": "wa", "recipient": wa_id(i) });
        let survey = service.api(i).post("/v1/invitations", &body).await.expect(201);
        surveys.push(survey["id"].as_str().expect("a survey id").to_owned());
    }
    surveys
}

/// The web widget's visitor.
const VISITOR: &str = "visitor-across";

/// Connects a web widget channel (through the first gateway) and opens [`VISITOR`]'s widget on
/// the `turn`-th gateway, with nothing to show yet; the widget and the channel's id.
async fn open_widget(service: &Service, turn: usize) -> (Widget, String) {
    let body = json!({ "kind": "web_widget", "name": "Site", "config": "support" });
    let web = service.api(0).post("/v1/channels", &body).await.expect(201);
    let (id, secret) = (web["id"].as_str().unwrap(), web["visitor_secret"].as_str().unwrap());
    let token = visitor_token(secret, VISITOR);
    let query = [("tenant", TENANT), ("channel", id), ("visitor", VISITOR), ("token", token.as_str())];
    let mut widget = Widget::connect(&service.base(turn), &query).await.expect("the widget connects");
    assert_eq!(widget.view().await, Value::Null, "nothing to show yet");
    (widget, id.to_owned())
}

/// The end user's rating, as WhatsApp posts it.
fn rating(i: usize, text: &str) -> Value {
    let message = fake_graph::text(&wa_id(i), &format!("wamid.rating-{i}"), ratewire_tests::now(), text);
    fake_graph::messages(PHONE_NUMBER_ID, vec![message])
}

/// How many of the user's messages the fake took, for each user that had other than `expected`.
fn sent_other_than(graph: &FakeGraph, users: usize, expected: usize) -> Vec<(String, usize)> {
    (0..users).map(|i| (wa_id(i), graph.sends_to(&wa_id(i)).len())).filter(|(_, sends)| *sends != expected).collect()
}

// ---------------------------------------------------------------------------------------------
// Round robin over three gateways: one service.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_on_a_cluster_work_as_one_service() {
    const USERS: usize = 24;
    const RATE: usize = 10;
    let service = Service::start("").await;
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    connect_whatsapp(&service, &graph, &RATE.to_string(), USERS).await;
    let receiver = Receiver::start().await;
    let endpoint = json!({ "url": receiver.url, "events": ["survey.sent", "survey.rated"] });
    service.api(1).post("/v1/endpoints", &endpoint).await.expect(201);

    // A visitor's widget, held by gateway C, sees the invitation an agent made through A.
    let (mut on_c, web) = open_widget(&service, 2).await;
    let invitation = json!({ "conversation": "web-1", "channel": web, "recipient": VISITOR });
    let survey = service.api(0).post("/v1/invitations", &invitation).await.expect(201);
    let (_, shown) = on_c.until_view(|view| !view.is_null()).await;
    assert_eq!(shown["id"], survey["id"]);

    // Every invitation sent once, at the channel's rate for the three together.
    let surveys = invite_all(&service, USERS).await;
    eventually_within(SETTLING, "every invitation sent", || async { (graph.sends().len() >= USERS).then_some(()) })
        .await;

    // Every rating taken once, though the platform posts each one twice, to two gateways.
    for i in 0..USERS {
        for turn in [i, i + 1] {
            assert!(graph.webhooks.deliver(&service.hook(turn, "wa"), &rating(i, "4")).await, "rating {i} never taken");
        }
    }
    eventually_within(SETTLING, "every rating thanked", || async { (graph.sends().len() >= 2 * USERS).then_some(()) })
        .await;
    receiver
        .wait_for("every rating's event", |posts| {
            posts.iter().filter(|post| post.json()["type"] == "survey.rated").count() >= USERS
        })
        .await;
    for (i, id) in surveys.iter().enumerate() {
        let survey = service.api(i + 2).get(&format!("/v1/surveys/{id}")).await.expect(200);
        assert_eq!((&survey["score"], &survey["state"]), (&json!(4), &json!("rated")), "{survey}");
    }
    // Nothing more is coming: the outbox of each gateway works what it queued at once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent_other_than(&graph, USERS, 2), [], "each end user gets an invitation and a thank-you, once");
    let events = |kind: &str| {
        let mut surveys: Vec<String> = receiver
            .posts()
            .iter()
            .map(|post| post.json())
            .filter(|event| event["type"] == kind)
            .map(|event| event["survey"]["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        surveys.sort();
        surveys
    };
    let mut expected: Vec<String> = surveys.clone();
    expected.sort();
    assert_eq!(events("survey.rated"), expected, "one survey.rated a survey");

    graph.assert_sent_within(RATE);
}

// ---------------------------------------------------------------------------------------------
// A master killed under a stream of signed ratings.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_killed_under_a_stream_of_ratings_loses_none() {
    const USERS: usize = 90;
    const STREAMS: usize = 6;
    // Holds short enough for a test: a rating whose handling failed with its master is taken on
    // a redelivery 5 s on, and a reply whose sending could not be recorded goes 5 s on.
    let mut service = Service::start("[delivery]\nclaim_secs = 5\nlease_secs = 5").await;
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    connect_whatsapp(&service, &graph, "1000", USERS).await;
    let surveys = invite_all(&service, USERS).await;
    // End users rate what they were sent (a rating that overtook its invitation would leave
    // the invitation unsent, and the end user one message short).
    eventually_within(SETTLING, "every invitation sent", || async { (graph.sends().len() >= USERS).then_some(()) })
        .await;
    // A visitor's widget held by gateway C, which hears of others' changes on the shard the
    // master killed below serves.
    let (mut on_c, web) = open_widget(&service, 2).await;

    // Streams of ratings over the three gateways, each redelivered until taken, as Meta does; a
    // master is killed once a third are in, and its replica takes its place.
    let taken = Arc::new(AtomicUsize::new(0));
    let mut streams = tokio::task::JoinSet::new();
    let hooks: Vec<String> = (0..3).map(|turn| service.hook(turn, "wa")).collect();
    for stream in 0..STREAMS {
        let (webhooks, hooks, taken) = (graph.webhooks.clone(), hooks.clone(), taken.clone());
        streams.spawn(async move {
            for i in (stream..USERS).step_by(STREAMS) {
                assert!(webhooks.deliver(&hooks[i % 3], &rating(i, "4")).await, "rating {i} never taken");
                taken.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    eventually_within(SETTLING, "a third of the ratings taken", || async {
        (taken.load(Ordering::SeqCst) >= USERS / 3).then_some(())
    })
    .await;
    // The master of the gateways' notices ("rw:{notices}", sharded pub/sub). (Blocking this
    // worker while the cluster elects: the streams run on the others.)
    tokio::task::block_in_place(|| service.cluster.fail_over_master_of("rw:{notices}"));
    while let Some(stream) = streams.join_next().await {
        stream.expect("a stream of ratings");
    }
    assert_eq!(taken.load(Ordering::SeqCst), USERS);

    // Not one rating lost, and every end user thanked.
    let mut lost = Vec::new();
    for (i, id) in surveys.iter().enumerate() {
        let survey = service.api(i).get(&format!("/v1/surveys/{id}")).await.expect(200);
        if survey["score"] != 4 {
            lost.push(survey);
        }
    }
    assert!(lost.is_empty(), "{} of {USERS} ratings lost: {lost:?}", lost.len());
    eventually_within(SETTLING, "every end user thanked", || async {
        sent_other_than(&graph, USERS, 2).iter().all(|(_, sends)| *sends > 2).then_some(())
    })
    .await;

    // The gateways recovered without a restart: each takes an invitation and sends it.
    let users = USERS..USERS + 3;
    for i in users.clone() {
        let hello = fake_graph::messages(
            PHONE_NUMBER_ID,
            vec![fake_graph::text(&wa_id(i), &format!("wamid.hello-{i}"), ratewire_tests::now(), "hi")],
        );
        assert!(graph.webhooks.deliver(&service.hook(i, "wa"), &hello).await, "hello {i} never taken");
        let body = json!({ "conversation": format!("c-{i}"), "channel": "wa", "recipient": wa_id(i) });
        service.api(i).post("/v1/invitations", &body).await.expect(201);
    }
    for i in users {
        graph.wait_for_sends_to(&wa_id(i), 1).await;
    }
    // And C, subscribed again on the shard's new master, shows the widget what A did.
    let invitation = json!({ "conversation": "web-after", "channel": web, "recipient": VISITOR });
    let survey = service.api(0).post("/v1/invitations", &invitation).await.expect(201);
    let (_, shown) = on_c.until_view(|view| !view.is_null()).await;
    assert_eq!(shown["id"], survey["id"]);
}

// ---------------------------------------------------------------------------------------------
// A gateway killed with -9 mid-send: the others take its work over.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_send_leaves_its_work_to_the_others() {
    const USERS: usize = 90;
    const EXPIRING: usize = 32;
    // Leases short enough for a test: a dead gateway's sends are taken over after two seconds,
    // its buckets after three.
    let mut service = Service::start("[delivery]\nlease_secs = 2\nshare_secs = 3\nreconcile_secs = 15").await;
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    // The platform takes each message at once and answers a moment later: a gateway killed in
    // that moment has sends out whose outcome it never learnt. It reports what it took seconds
    // later (to gateway B), after the dead gateway's lease ran out: the others must wait for its
    // word rather than send again.
    graph.answer_after(Duration::from_millis(300));
    graph.delay_reports(Duration::from_secs(3));
    connect_whatsapp(&service, &graph, "30", USERS).await;
    graph.report_statuses_to(&service.hook(1, "wa"), PHONE_NUMBER_ID);
    let surveys = invite_all(&service, USERS).await;

    // Killed mid-send: a third of the invitations out, others in flight, the rest queued.
    eventually_within(SETTLING, "a third of the invitations sent", || async {
        (graph.sends().len() >= USERS / 3).then_some(())
    })
    .await;
    service.kill(0);
    assert!(graph.sends().len() < USERS, "killed mid-queue");

    // Surveys whose deadline has passed, in every bucket: the dead gateway's share among them.
    let store = service.store().await;
    let tenant = TenantId::new(TENANT).unwrap();
    let config = SurveyConfig { validity_hours: 1, ..ratewire_tests::survey_config(1, 0) };
    let sent_at = ratewire_tests::now() - jiff::SignedDuration::from_hours(2);
    let mut expiring = Vec::new();
    for n in 0..EXPIRING {
        let invitation = Invitation {
            tenant: tenant.clone(),
            conversation: ConversationId::new(format!("late-{n}")).unwrap(),
            resolution: 1,
            channel: ChannelId::new("wa").unwrap(),
            recipient: RecipientId::new(format!("1650557{n:04}")).unwrap(),
            agent: None,
            locale: Locale::En,
            origin: Origin::Agent,
        };
        let survey = Survey::new(SurveyId::generate(), invitation, &config, sent_at);
        store.create(&survey, None).await.expect("the cluster takes the survey");
        ratewire_core::store::apply(&store, &tenant, &survey.id, Event::SENT, sent_at).await.expect("sent");
        expiring.push(survey.id);
    }

    // The two left send every invitation, none twice, and expire every survey past its deadline.
    eventually_within(SETTLING, "every survey past its deadline expired", || async {
        for id in &expiring {
            let survey = store.get(&tenant, id).await.ok()??;
            if survey.state.name() != ratewire_core::StateName::Expired {
                return None;
            }
        }
        Some(())
    })
    .await;
    eventually_within(SETTLING, "the outbox to empty", || async {
        store.pending_items(&tenant, 1).await.ok()?.is_empty().then_some(())
    })
    .await;
    assert_eq!(sent_other_than(&graph, USERS, 1), [], "every invitation delivered, none twice");
    for (i, id) in surveys.iter().enumerate() {
        let survey = service.api(i).get(&format!("/v1/surveys/{id}")).await.expect(200);
        assert!(survey["sent_at"].is_string(), "every survey knows it was sent: {survey}");
    }
}
