//! WhatsApp end to end: the real gateway in this process, a WhatsApp channel connected through
//! the API and pointed at a fake Graph API on loopback, which records what ratewire sends and
//! posts webhooks signed as Meta signs them.
//!
//! Every test but the restart runs three times: on the embedded store, on one Redis server and
//! on a Redis Cluster.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{Buckets, Task};
use ratewire_core::{
    ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId, TenantId,
};
use ratewire_gateway::flow::surveys::{self, InviteRequest};
use ratewire_gateway::flow::{outbox, send};
use ratewire_tests::RedisServer;
use ratewire_tests::fake_graph::{self, Failure, FakeGraph};
use ratewire_tests::meta::meta_json;
use ratewire_tests::service::{ACME, Api, Gateway, Receiver, client, eventually_within, survey, survey_until};
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-test";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
const PHONE_NUMBER_ID: &str = "106540352242922";

ratewire_tests::on_every_store!(
    a_survey_goes_out_as_a_list_and_comes_back_as_a_tap,
    typed_and_late_replies,
    a_typed_score_changes_the_rating_as_a_tap_does,
    a_new_conversation_ends_the_wait_for_a_comment,
    the_window_decides_between_free_form_and_the_template,
    platform_errors_are_retried_or_recorded,
    a_reply_reported_failed_leaves_its_survey_answerable,
);

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// A WhatsApp channel connected through the API.
struct Channel {
    id: String,
    /// Where Meta posts: the channel's `webhook_url`.
    hook: String,
    verify_token: String,
}

/// Connects a WhatsApp channel `id` on a new configuration, talking to `graph`.
async fn connect(gw: &Gateway, graph: &FakeGraph, id: &str, config: Value, settings: &[(&str, &str)]) -> Channel {
    let api = gw.acme();
    let config = api.post("/v1/configs", &json!({ "name": format!("{id} surveys"), "config": config })).await;
    let config = config.expect(201)["id"].as_str().expect("a configuration has an id").to_owned();
    let mut all = json!({ "phone_number_id": PHONE_NUMBER_ID, "api_base_url": graph.base_url });
    for (name, value) in settings {
        all[*name] = json!(value);
    }
    let body = json!({
        "id": id, "kind": "whatsapp", "name": "Support line", "config": config,
        "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
        "settings": all,
    });
    let channel = api.post("/v1/channels", &body).await.expect(201);
    assert_eq!(channel["kind"], "whatsapp");
    assert_eq!(channel["secrets"], json!({ "access_token": "••••test", "app_secret": "••••9281" }));
    let hook = format!("{}/hooks/{ACME}/{id}", gw.base);
    assert_eq!(channel["webhook_url"], hook.as_str());
    let verify_token = channel["verify_token"].as_str().expect("the verify token, in full").to_owned();
    Channel { id: id.to_owned(), hook, verify_token }
}

/// Posts one signed delivery of `messages` from end users; the gateway's answer.
async fn deliver(graph: &FakeGraph, channel: &Channel, messages: Vec<Value>) -> Value {
    let (status, answer) = graph.webhooks.post(&channel.hook, &fake_graph::messages(PHONE_NUMBER_ID, messages)).await;
    assert_eq!(status, 200, "the delivery is taken: {answer}");
    answer
}

/// The end user writes: the 24-hour window opens (or restarts) at `at`.
async fn writes(graph: &FakeGraph, channel: &Channel, from: &str, at: Timestamp, body: &str) {
    let id = format!("wamid.hello-{from}-{}", at.as_second());
    let answer = deliver(graph, channel, vec![fake_graph::text(from, &id, at, body)]).await;
    assert_eq!(answer, json!({ "received": 1, "duplicates": 0 }));
}

/// An agent's invitation for `wa_id` on `channel`, in `locale`; the survey's id.
async fn invite(api: &Api, channel: &Channel, conversation: &str, wa_id: &str, locale: &str) -> String {
    let body = json!({
        "conversation": conversation, "channel": channel.id, "recipient": wa_id, "agent": "ana", "locale": locale,
    });
    let survey = api.post("/v1/invitations", &body).await.expect(201);
    assert_eq!(survey["state"], "pending");
    survey["id"].as_str().expect("a survey has an id").to_owned()
}

/// The text of a text message ratewire sent.
/// An end user who just wrote, invited: the survey's id once its invitation went out, and the
/// sends to them so far.
async fn sent_survey(
    api: &Api,
    graph: &FakeGraph,
    channel: &Channel,
    conversation: &str,
    wa_id: &str,
) -> (String, Vec<fake_graph::GraphRequest>) {
    writes(graph, channel, wa_id, now(), "hi").await;
    let id = invite(api, channel, conversation, wa_id, "en").await;
    let sends = graph.wait_for_sends_to(wa_id, 1).await;
    survey_until(api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;
    (id, sends)
}

fn body_of(send: &fake_graph::GraphRequest) -> &str {
    assert_eq!(send.json["type"], "text", "a text message: {}", send.json);
    send.json["text"]["body"].as_str().expect("a text message has a body")
}

fn now() -> Timestamp {
    ratewire_tests::now()
}

// ---------------------------------------------------------------------------------------------
// 1. The whole round: verification, signatures, the invitation, a tap, a comment.

async fn a_survey_goes_out_as_a_list_and_comes_back_as_a_tap(gw: Gateway) {
    const USER: &str = "16505551234";
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    let events = json!({ "url": receiver.url, "events": ["survey.sent", "survey.rated", "survey.commented"] });
    api.post("/v1/endpoints", &events).await.expect(201);
    // What the channel can't work without, or can't work with, is told when it is connected.
    let refused = json!({
        "id": "wa", "kind": "whatsapp", "name": "Support line", "config": "none-yet",
        "secrets": { "access_token": ACCESS_TOKEN },
        "settings": { "phone_number_id": "+1 650 555 1234", "template_name": "Rating Request" },
    });
    let answer = api.post("/v1/channels", &refused).await;
    assert_eq!(answer.error(422), "invalid");
    let problems = answer.json()["error"]["fields"].clone();
    let fields: Vec<&str> = problems.as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for field in ["secrets.app_secret", "settings.phone_number_id", "settings.template_name"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5" }), &[]).await;

    // Meta checks the callback URL with the verify token the channel was given.
    assert_eq!(
        graph.webhooks.verify(&channel.hook, &channel.verify_token, "1158201444").await,
        (200, "1158201444".into())
    );
    assert_eq!(graph.webhooks.verify(&channel.hook, "someone-elses-token", "1158201444").await.0, 403);

    // Deliveries without Meta's signature over their exact bytes are refused, unread.
    let hello = fake_graph::messages(
        PHONE_NUMBER_ID,
        vec![fake_graph::text(USER, "wamid.in-1", now(), "Hola / hello, where is my order? 📦")],
    );
    let bytes = meta_json(&hello);
    assert!(String::from_utf8_lossy(&bytes).contains(r"Hola \/ hello, where is my order? \ud83d\udce6"));
    assert_eq!(graph.webhooks.post_raw(&channel.hook, bytes.clone(), None).await.0, 401);
    let zeros = format!("sha256={}", "0".repeat(64));
    assert_eq!(graph.webhooks.post_raw(&channel.hook, bytes.clone(), Some(&zeros)).await.0, 401);
    // The same JSON written out another way is other bytes: its signature doesn't carry over.
    let rewritten = serde_json::to_vec(&hello).unwrap();
    assert_eq!(graph.webhooks.post_raw(&channel.hook, rewritten, Some(&graph.webhooks.sign(&bytes))).await.0, 401);
    let signature = graph.webhooks.sign(&bytes);
    let (status, answer) = graph.webhooks.post_raw(&channel.hook, bytes, Some(&signature)).await;
    assert_eq!((status, answer), (200, json!({ "received": 1, "duplicates": 0 })));
    // Another number's messages, stickers and broken JSON.
    let other = fake_graph::messages("999999999", vec![fake_graph::text(USER, "wamid.other", now(), "5")]);
    assert_eq!(graph.webhooks.post(&channel.hook, &other).await, (200, json!({ "received": 0, "duplicates": 0 })));
    let answer = deliver(&graph, &channel, vec![fake_graph::sticker(USER, "wamid.sticker", now())]).await;
    assert_eq!(answer, json!({ "received": 0, "duplicates": 0 }));
    let broken = b"{\"object\":".to_vec();
    let signature = graph.webhooks.sign(&broken);
    assert_eq!(graph.webhooks.post_raw(&channel.hook, broken, Some(&signature)).await.0, 400);
    assert!(graph.sends().is_empty(), "nothing to answer yet");

    // The helpdesk reports the conversation and closes it: the invitation goes out as a list.
    let open = json!({ "id": "c1", "opened_by": "end_user", "channel": "wa", "recipient": USER, "languages": ["en"] });
    api.post("/v1/conversations", &open).await.expect(201);
    for (author, length) in
        [(json!({ "kind": "end_user", "id": USER }), 300), (json!({ "kind": "agent", "id": "ana" }), 300)]
    {
        let message = json!({ "type": "message", "author": author, "length": length });
        api.post("/v1/conversations/c1/events", &message).await.expect(200);
    }
    let closed = api.post("/v1/conversations/c1/events", &json!({ "type": "closed" })).await.expect(200);
    assert_eq!(closed["invitation"]["sent"], true, "{closed}");
    let id = closed["invitation"]["survey"]["id"].as_str().unwrap().to_owned();

    let sends = graph.wait_for_sends_to(USER, 1).await;
    let invitation = &sends[0];
    assert_eq!(invitation.path, format!("/v21.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(invitation.header("authorization"), Some(format!("Bearer {ACCESS_TOKEN}").as_str()));
    assert_eq!(invitation.header("content-type"), Some("application/json"));
    let row = |score: u8, title: &str, label: &str| json!({ "id": format!("rw1:s:{id}:{score}"), "title": title, "description": label });
    assert_eq!(
        invitation.json,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": USER,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": { "text": "How would you rate the help you received today?" },
                "action": {
                    "button": "Rate",
                    "sections": [{ "title": "Rate", "rows": [
                        row(1, "⭐", "Very dissatisfied"),
                        row(2, "⭐⭐", "Dissatisfied"),
                        row(3, "⭐⭐⭐", "Neutral"),
                        row(4, "⭐⭐⭐⭐", "Satisfied"),
                        row(5, "⭐⭐⭐⭐⭐", "Very satisfied"),
                    ] }],
                },
            },
            // Echoed in every status webhook of the message, naming the send after a crash.
            "biz_opaque_callback_data": format!("send_{id}_invitation"),
        })
    );
    let invitation_id = invitation.message_id.clone().expect("the fake accepted it");
    survey_until(&api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;

    // Delivery reports are taken; they change nothing of a sent survey.
    let reports = ["sent", "delivered", "read"].map(|s| fake_graph::status(&invitation_id, s, USER, now())).to_vec();
    let (status, answer) = graph.webhooks.post(&channel.hook, &fake_graph::statuses(PHONE_NUMBER_ID, reports)).await;
    assert_eq!((status, answer), (200, json!({ "received": 3, "duplicates": 0 })));
    assert_eq!(survey(&api, &id).await["state"], "pending");

    // A tap on the fourth row: rated, thanked and asked for a comment.
    let tap = fake_graph::list_reply(
        USER,
        "wamid.tap-1",
        now(),
        &invitation_id,
        &format!("rw1:s:{id}:4"),
        "⭐⭐⭐⭐",
        "Satisfied",
    );
    assert_eq!(deliver(&graph, &channel, vec![tap.clone()]).await, json!({ "received": 1, "duplicates": 0 }));
    let rated = survey(&api, &id).await;
    assert_eq!((&rated["state"], &rated["score"]), (&json!("rated"), &json!(4)));
    let sends = graph.wait_for_sends_to(USER, 3).await;
    // In the order they were said: the thanks, then the prompt.
    let said: Vec<&str> = sends[1..].iter().map(body_of).collect();
    assert_eq!(said, ["Thank you for your rating!", "Would you like to tell us more? Just reply with a few words."]);
    assert_eq!(
        sends[1].json,
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": USER, "type": "text",
                "text": { "preview_url": false, "body": sends[1].json["text"]["body"] },
                "biz_opaque_callback_data": sends[1].json["biz_opaque_callback_data"] })
    );
    let reference = sends[1].json["biz_opaque_callback_data"].as_str().unwrap_or_default();
    assert!(reference.starts_with(&format!("send_{id}_")), "each send names its outbox item: {reference}");

    // Meta delivers the tap again: it is dropped, once handled.
    assert_eq!(deliver(&graph, &channel, vec![tap]).await, json!({ "received": 0, "duplicates": 1 }));
    assert_eq!(survey(&api, &id).await["history"].as_array().unwrap().len(), 1);

    // The next thing typed is the comment; non-ASCII and slashes arrive intact.
    let comment = "Muy rápido / very quick 👍";
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.comment", now(), comment)]).await;
    let commented = survey(&api, &id).await;
    assert_eq!((&commented["state"], &commented["comment"]), (&json!("locked"), &json!(comment)));
    let sends = graph.wait_for_sends_to(USER, 4).await;
    assert_eq!(body_of(&sends[3]), "Thank you, we have passed your comment on to the team.");

    let posts = receiver.wait_for("three events", |posts| posts.len() >= 3).await;
    let mut types: Vec<String> = posts.iter().map(|p| p.json()["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    assert_eq!(types, ["survey.commented", "survey.rated", "survey.sent"]);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(graph.sends().len(), 4, "nothing sent twice");
}

// ---------------------------------------------------------------------------------------------
// 2. Typed answers and answers after the deadline.

async fn typed_and_late_replies(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let config = json!({
        "scale": "stars:5", "validity_hours": 1,
        "content": { "en": { "expiry_notice": "Sorry, too late." } },
    });
    let channel = connect(&gw, &graph, "wa", config, &[]).await;

    // A typed rating with a comment.
    const TYPIST: &str = "447700900123";
    let (id, _) = sent_survey(&api, &graph, &channel, "t1", TYPIST).await;
    deliver(&graph, &channel, vec![fake_graph::text(TYPIST, "wamid.typed", now(), "4 - quick")]).await;
    let rated = survey(&api, &id).await;
    assert_eq!((&rated["score"], &rated["comment"]), (&json!(4), &json!("quick")));
    // One message, one answer: the thanks for the comment, not a prompt for what was just given.
    gw.outbox_empty(ACME).await;
    let sends = graph.sends_to(TYPIST);
    assert_eq!(
        sends[1..].iter().map(body_of).collect::<Vec<_>>(),
        ["Thank you, we have passed your comment on to the team."]
    );

    // A buttons' title that isn't ratewire's is read as typed: "5" rates the next survey.
    const TAPPER: &str = "5511987654321";
    writes(&graph, &channel, TAPPER, now(), "oi").await;
    let second = invite(&api, &channel, "t2", TAPPER, "en").await;
    let sends = graph.wait_for_sends_to(TAPPER, 1).await;
    survey_until(&api, &second, "the survey sent", |s| s["sent_at"].is_string()).await;
    let foreign = fake_graph::button_reply(TAPPER, "wamid.foreign", now(), "wamid.menu", "menu:five", "5");
    deliver(&graph, &channel, vec![foreign]).await;
    assert_eq!(survey(&api, &second).await["score"], 5);
    assert!(sends[0].json["interactive"].is_object());

    // A survey sent two hours ago, valid for one: stored as it would have been then.
    const LATE: &str = "61412345678";
    let stored = api.get("/v1/channels/wa").await.expect(200);
    let config = api.get(&format!("/v1/configs/{}", stored["config"].as_str().unwrap())).await.expect(200);
    let config: SurveyConfig = serde_json::from_value(config["config"].clone()).unwrap();
    let sent_at = now() - SignedDuration::from_hours(2);
    let invitation = Invitation {
        tenant: TenantId::new(ACME).unwrap(),
        conversation: ConversationId::new("late").unwrap(),
        resolution: 1,
        channel: ChannelId::new("wa").unwrap(),
        recipient: RecipientId::new(LATE).unwrap(),
        agent: None,
        locale: Locale::En,
        origin: Origin::Agent,
    };
    let late = Survey::new(SurveyId::generate(), invitation, &config, sent_at);
    let store = gw.state.flow.store.as_ref();
    store.create(&late, None).await.unwrap();
    ratewire_core::store::apply(store, &late.invitation.tenant, &late.id, Event::SENT, sent_at).await.unwrap();

    // The answer comes anyway, typed: told the survey closed, and nothing is rated.
    deliver(&graph, &channel, vec![fake_graph::text(LATE, "wamid.late", now(), "5 stars")]).await;
    let sends = graph.wait_for_sends_to(LATE, 1).await;
    assert_eq!(body_of(&sends[0]), "Sorry, too late.");
    let view = survey(&api, late.id.as_str()).await;
    assert_eq!(view["score"], Value::Null);
    assert!(view["state"] == "pending" || view["state"] == "expired", "{view}");
}

/// A survey of `conversation` sent to `wa_id` and rated `score` with a tap on its list; its id.
/// Three messages went out: the invitation, the thanks and the comment prompt.
async fn rated_with_a_tap(
    api: &Api,
    graph: &FakeGraph,
    channel: &Channel,
    conversation: &str,
    wa_id: &str,
    score: u8,
) -> String {
    let (id, sends) = sent_survey(api, graph, channel, conversation, wa_id).await;
    let invitation = sends[0].message_id.clone().expect("the fake accepted it");
    let row = format!("rw1:s:{id}:{score}");
    let tap = fake_graph::list_reply(wa_id, &format!("wamid.tap-{wa_id}"), now(), &invitation, &row, "⭐", "");
    deliver(graph, channel, vec![tap]).await;
    assert_eq!(survey(api, &id).await["score"], score);
    graph.wait_for_sends_to(wa_id, 3).await;
    id
}

async fn a_typed_score_changes_the_rating_as_a_tap_does(gw: Gateway) {
    const USER: &str = "16505550142";
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["survey.changed"] })).await.expect(201);
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5", "low_rating_reasons": [] }), &[]).await;
    let id = rated_with_a_tap(&api, &graph, &channel, "c1", USER, 5).await;

    // Just "4": the score changes, as a tap on 4 would, and the thanks is the one answer.
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.four", now(), "4")]).await;
    let changed = survey(&api, &id).await;
    assert_eq!((&changed["state"], &changed["score"], &changed["comment"]), (&json!("rated"), &json!(4), &Value::Null));
    let posts = receiver.wait_for("the change", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!((&event["type"], &event["survey"]["previous_score"]), (&json!("survey.changed"), &json!(5)));
    gw.outbox_empty(ACME).await;
    let sends = graph.sends_to(USER);
    assert_eq!(sends[3..].iter().map(body_of).collect::<Vec<_>>(), ["Thank you for your rating!"]);

    // Words make it the comment, whole.
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.words", now(), "⭐⭐⭐⭐ but slow")]).await;
    let commented = survey(&api, &id).await;
    assert_eq!(
        (&commented["state"], &commented["score"], &commented["comment"]),
        (&json!("locked"), &json!(4), &json!("⭐⭐⭐⭐ but slow"))
    );
}

async fn a_new_conversation_ends_the_wait_for_a_comment(gw: Gateway) {
    const USER: &str = "16505550199";
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5", "low_rating_reasons": [] }), &[]).await;
    let id = rated_with_a_tap(&api, &graph, &channel, "c1", USER, 4).await;

    // The helpdesk opens another conversation for the same number: what comes next is about it.
    let open = json!({ "id": "c2", "opened_by": "end_user", "channel": "wa", "recipient": USER });
    api.post("/v1/conversations", &open).await.expect(201);
    let invoice = "Hello, I need help with my invoice";
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.invoice", now(), invoice)]).await;
    let kept = survey(&api, &id).await;
    assert_eq!((&kept["state"], &kept["score"], &kept["comment"]), (&json!("locked"), &json!(4), &Value::Null));
    gw.outbox_empty(ACME).await;
    assert_eq!(graph.sends_to(USER).len(), 3, "the message is the helpdesk's, unanswered");
}

// ---------------------------------------------------------------------------------------------
// 3. The 24-hour window.

async fn the_window_decides_between_free_form_and_the_template(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["survey.failed"] })).await.expect(201);
    let bare = connect(&gw, &graph, "wa", json!({ "scale": "stars:5" }), &[]).await;
    let templated =
        connect(&gw, &graph, "wa-tpl", json!({ "scale": "stars:5" }), &[("template_name", "rating_request")]).await;

    // Nobody wrote lately and the channel has no template: nothing goes, and the survey says why.
    const SILENT: &str = "4915123456789";
    writes(&graph, &bare, SILENT, now() - SignedDuration::from_hours(25), "hallo").await;
    let id = invite(&api, &bare, "w1", SILENT, "de").await;
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "outside_window");
    assert!(graph.sends_to(SILENT).is_empty());
    let posts = receiver.wait_for("survey.failed", |posts| !posts.is_empty()).await;
    assert_eq!((&posts[0].json()["type"], &posts[0].json()["survey"]["id"]), (&json!("survey.failed"), &json!(id)));

    // Written within the day: the free-form list, even where a template is set.
    const RECENT: &str = "34600111222";
    writes(&graph, &templated, RECENT, now() - SignedDuration::from_hours(23), "hola").await;
    invite(&api, &templated, "w2", RECENT, "es").await;
    let sends = graph.wait_for_sends_to(RECENT, 1).await;
    assert_eq!(sends[0].json["type"], "interactive");
    assert_eq!(sends[0].json["interactive"]["body"]["text"], "¿Cómo calificaría la ayuda que recibió hoy?");
    assert_eq!(sends[0].json["interactive"]["action"]["button"], "Calificar");

    // Not written for more than a day: the approved template, in the survey's language, its
    // quick-reply buttons carrying the levels.
    const AWAY: &str = "34600333444";
    writes(&graph, &templated, AWAY, now() - SignedDuration::from_hours(30), "hola").await;
    let id = invite(&api, &templated, "w3", AWAY, "es").await;
    let sends = graph.wait_for_sends_to(AWAY, 1).await;
    let button = |index: u8| {
        json!({ "type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                "parameters": [{ "type": "payload", "payload": format!("rw1:s:{id}:{}", index + 1) }] })
    };
    assert_eq!(
        sends[0].json,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": AWAY,
            "type": "template",
            "template": {
                "name": "rating_request",
                "language": { "policy": "deterministic", "code": "es" },
                "components": [button(0), button(1), button(2), button(3), button(4)],
            },
            "biz_opaque_callback_data": format!("send_{id}_invitation"),
        })
    );
    survey_until(&api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;
    // A tap on the template's fifth button rates; the tap opens the window for the thanks.
    let template_id = sends[0].message_id.clone().unwrap();
    let tap =
        fake_graph::template_button(AWAY, "wamid.qr", now(), &template_id, &format!("rw1:s:{id}:5"), "⭐⭐⭐⭐⭐");
    deliver(&graph, &templated, vec![tap]).await;
    assert_eq!(survey(&api, &id).await["score"], 5);
    let sends = graph.wait_for_sends_to(AWAY, 2).await;
    assert!(sends[1..].iter().any(|send| body_of(send) == "¡Gracias por su calificación!"));
}

// ---------------------------------------------------------------------------------------------
// 4. Graph's errors.

async fn platform_errors_are_retried_or_recorded(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5" }), &[]).await;
    let http = client();

    // Too many messages to one person: tried again after the 6 seconds Meta's pair limit
    // allows, not before.
    const PAIRED: &str = "16505550001";
    writes(&graph, &channel, PAIRED, now(), "hello").await;
    graph.fail_next(1, Failure::PairRateLimit);
    let id = invite(&api, &channel, "e1", PAIRED, "en").await;
    let refused = graph.wait_for_sends_to(PAIRED, 1).await;
    assert_eq!(refused[0].answered, 400);
    let refused_at = Timestamp::now();
    // The worker puts the item back once it has the answer.
    gw.attempt_recorded(ACME, &id).await;
    outbox::run_due(&gw.state.flow, &http, refused_at + SignedDuration::from_secs(4), Buckets::ALL).await.unwrap();
    assert_eq!(graph.sends_to(PAIRED).len(), 1, "not before the wait");
    outbox::run_due(&gw.state.flow, &http, refused_at + SignedDuration::from_secs(8), Buckets::ALL).await.unwrap();
    let sends = graph.wait_for_sends_to(PAIRED, 2).await;
    assert_eq!((sends[1].answered, &sends[1].json), (200, &refused[0].json), "the same message, taken");
    survey_until(&api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;

    // Graph is down: tried again after the backoff.
    const DOWN: &str = "16505550002";
    writes(&graph, &channel, DOWN, now(), "hello").await;
    graph.fail_next(1, Failure::ServerError);
    let id = invite(&api, &channel, "e2", DOWN, "en").await;
    graph.wait_for_sends_to(DOWN, 1).await;
    let refused_at = Timestamp::now();
    gw.attempt_recorded(ACME, &id).await;
    outbox::run_due(&gw.state.flow, &http, refused_at + SignedDuration::from_secs(13), Buckets::ALL).await.unwrap();
    let sends = graph.wait_for_sends_to(DOWN, 2).await;
    assert_eq!((sends[0].answered, sends[1].answered), (500, 200));
    survey_until(&api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;

    // Undeliverable: the survey fails with the reason, and nothing is tried again.
    const GONE: &str = "16505550003";
    writes(&graph, &channel, GONE, now(), "hello").await;
    graph.fail_next(1, Failure::Graph { code: 131026, message: "Message undeliverable".into() });
    let id = invite(&api, &channel, "e3", GONE, "en").await;
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(
        failed["failure"],
        json!({ "code": "undeliverable", "detail": "WhatsApp error 131026: Message undeliverable (HTTP 400)" })
    );
    outbox::run_due(&gw.state.flow, &http, Timestamp::now() + SignedDuration::from_secs(3600), Buckets::ALL)
        .await
        .unwrap();
    assert_eq!(graph.sends_to(GONE).len(), 1);

    // Accepted, then reported failed: the survey fails with Meta's reason.
    const LAPSED: &str = "16505550004";
    let (id, sends) = sent_survey(&api, &graph, &channel, "e4", LAPSED).await;
    let report = fake_graph::failed(
        sends[0].message_id.as_deref().unwrap(),
        LAPSED,
        now(),
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied.",
    );
    let (status, _) = graph.webhooks.post(&channel.hook, &fake_graph::statuses(PHONE_NUMBER_ID, vec![report])).await;
    assert_eq!(status, 200);
    let failed = survey(&api, &id).await;
    assert_eq!((&failed["state"], &failed["failure"]["code"]), (&json!("failed"), &json!("outside_window")));
}

/// A reply's delivery reported failed (the hint after a text that is no rating, say) tells
/// nothing of the survey: its invitation went out, and its rating is still taken.
async fn a_reply_reported_failed_leaves_its_survey_answerable(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5" }), &[]).await;
    const USER: &str = "16505550020";
    let (id, _) = sent_survey(&api, &graph, &channel, "h1", USER).await;
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.help", now(), "Hello, I need help")]).await;
    let sends = graph.wait_for_sends_to(USER, 2).await;
    let hint = sends[1].message_id.as_deref().expect("the fake accepted the hint");
    let report = fake_graph::failed(hint, USER, now(), 131026, "Message undeliverable", "Undeliverable.");
    let (status, _) = graph.webhooks.post(&channel.hook, &fake_graph::statuses(PHONE_NUMBER_ID, vec![report])).await;
    assert_eq!(status, 200);
    assert_eq!(survey(&api, &id).await["state"], "pending");
    deliver(&graph, &channel, vec![fake_graph::text(USER, "wamid.rating", now(), "5")]).await;
    assert_eq!(survey(&api, &id).await["score"], 5);
}

// ---------------------------------------------------------------------------------------------
// 5. A gateway dies with sends in its queue; another takes over.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_queue_loses_nothing_and_sends_nothing_twice() {
    const WAITING: &str = "16505550010";
    const HALF_DONE: &str = "16505550011";
    let mut first = Gateway::start(Some(RedisServer::start())).await;
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let channel = connect(&first, &graph, "wa", json!({ "scale": "stars:5" }), &[]).await;
    writes(&graph, &channel, WAITING, now(), "hello").await;
    writes(&graph, &channel, HALF_DONE, now(), "hello").await;

    // The gateway dies: its server and workers stop. What it was doing at that moment is
    // played on its state: two invitations queued; its worker had claimed both, sent one and
    // died before finishing either.
    let redis = first.redis.take().expect("the first gateway runs on Redis");
    let dead = first.state.flow.clone();
    drop(first);
    let tenant = TenantId::new(ACME).unwrap();
    let now = Timestamp::now();
    let waiting = surveys::invite(&dead, &tenant, agent_invitation("k1", WAITING), now).await.unwrap();
    let half_done = surveys::invite(&dead, &tenant, agent_invitation("k2", HALF_DONE), now).await.unwrap();
    // (A moment later: due times round up to the millisecond.)
    let claimed_at = now + SignedDuration::from_secs(1);
    let claimed = dead.store.claim_due(claimed_at, claimed_at + outbox::DEFAULT_LEASE, Buckets::ALL, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let mut item = claimed.iter().find(|item| item.id.contains(half_done.id.as_str())).unwrap().clone();
    let Task::Send { channel: on, survey, message } = item.task.clone() else { panic!("a send: {item:?}") };
    send::send_message(&dead, &mut item, &on, &survey, message, claimed_at).await.unwrap();
    drop(claimed);
    drop(dead);
    assert_eq!(graph.sends_to(HALF_DONE).len(), 1);
    assert!(graph.sends_to(WAITING).is_empty());

    // Another gateway on the same Redis: once the dead worker's lease ends, the waiting
    // invitation goes out, and the one already sent does not go again.
    let second = Gateway::start(Some(redis)).await;
    let http = client();
    outbox::run_due(&second.state.flow, &http, now + SignedDuration::from_secs(30), Buckets::ALL).await.unwrap();
    assert!(graph.sends_to(WAITING).is_empty(), "not while the lease holds");
    outbox::run_due(
        &second.state.flow,
        &http,
        claimed_at + outbox::DEFAULT_LEASE + SignedDuration::from_secs(1),
        Buckets::ALL,
    )
    .await
    .unwrap();
    outbox::run_due(&second.state.flow, &http, now + SignedDuration::from_secs(600), Buckets::ALL).await.unwrap();
    assert_eq!(graph.sends_to(WAITING).len(), 1, "the waiting invitation, once");
    assert_eq!(graph.sends_to(HALF_DONE).len(), 1, "the sent invitation, not again");
    let api = second.acme();
    for survey in [&waiting, &half_done] {
        let view = survey_until(&api, survey.id.as_str(), "the survey sent", |s| s["sent_at"].is_string()).await;
        assert_eq!(view["state"], "pending");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Send rates: each tenant's channel has its own, and a changed rate applies at once.

/// Connects a WhatsApp channel `wa` for the tenant `api` calls as, sending at most `rate` a second.
async fn connect_rated(api: &Api, graph: &FakeGraph, rate: &str) {
    let config = api.post("/v1/configs", &json!({ "name": "Rated", "config": { "scale": "stars:5" } })).await;
    let config = config.expect(201)["id"].as_str().expect("a configuration has an id").to_owned();
    let body = json!({
        "id": "wa", "kind": "whatsapp", "name": "Support line", "config": config,
        "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
        "settings": { "phone_number_id": PHONE_NUMBER_ID, "api_base_url": graph.base_url, "sends_per_second": rate,
                      "template_name": "rating_request" },
    });
    api.post("/v1/channels", &body).await.expect(201);
}

/// Queues an agent's invitation to `to` on `tenant`'s channel `wa`, behind the API (the
/// gateway's own worker is stopped, so the test decides when the outbox runs).
async fn queue_invitation(flow: &ratewire_gateway::flow::Flow, tenant: &str, conversation: &str, to: &str) {
    let tenant = TenantId::new(tenant).unwrap();
    let request = agent_invitation(conversation, to);
    surveys::invite(flow, &tenant, request, Timestamp::now()).await.expect("the invitation is queued");
}

/// An agent's invitation, in English, to `to` on the channel `wa`, for `conversation`.
fn agent_invitation(conversation: &str, to: &str) -> InviteRequest {
    InviteRequest {
        conversation: ConversationId::new(conversation).unwrap(),
        resolution: 1,
        channel: ChannelId::new("wa").unwrap(),
        recipient: RecipientId::new(to).unwrap(),
        agent: None,
        languages: vec!["en".into()],
        origin: Origin::Agent,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_tenants_channel_has_its_own_send_rate_and_a_changed_rate_applies_at_once() {
    let mut gw = Gateway::start(None).await;
    // Two businesses, each with a channel called `wa` at one send a second, on one platform.
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    connect_rated(&gw.acme(), &graph, "1").await;
    connect_rated(&gw.globex(), &graph, "1").await;
    // The worker stops; one round of the outbox is run by hand, all its sends within the second.
    gw.stop_workers().await;
    let state = gw.state.flow.clone();
    let http = outbox::http_client(&state).expect("an HTTP client");
    for (tenant, to) in
        [(ACME, "16505550101"), (ACME, "16505550102"), ("globex", "16505550201"), ("globex", "16505550202")]
    {
        queue_invitation(&state, tenant, &format!("c-{to}"), to).await;
    }
    outbox::run_due(&state, &http, Timestamp::now() + SignedDuration::from_secs(1), Buckets::ALL).await.unwrap();
    let sent_to =
        |prefix: &str| graph.sends().iter().filter(|s| s.json["to"].as_str().unwrap().starts_with(prefix)).count();
    assert_eq!(sent_to("165055501"), 1, "acme's channel sent its one a second");
    assert_eq!(sent_to("165055502"), 1, "globex's channel sent its own one a second, not acme's");

    // acme raises its rate: the next send goes under the new rate, not the old one's wait.
    let raised =
        gw.acme().patch("/v1/channels/wa", &json!({ "settings": { "sends_per_second": "50" } })).await.expect(200);
    assert_eq!(raised["settings"]["sends_per_second"], "50");
    assert_eq!(raised["settings"]["phone_number_id"], PHONE_NUMBER_ID, "other settings stay");
    outbox::run_due(&state, &http, Timestamp::now() + SignedDuration::from_secs(2), Buckets::ALL).await.unwrap();
    assert_eq!(sent_to("165055501"), 2, "acme's second invitation went at the raised rate");

    // A rate that isn't one is refused, naming the setting.
    let bad = gw.acme().patch("/v1/channels/wa", &json!({ "settings": { "sends_per_second": "0" } })).await;
    assert_eq!(bad.expect(422)["error"]["fields"][0]["field"], "settings.sends_per_second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_on_one_redis_send_at_the_channels_rate_together() {
    const RATE: usize = 5;
    let first = Gateway::start(Some(RedisServer::start())).await;
    let (second, third) = (first.beside().await, first.beside().await);
    let gateways = [first, second, third];
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    connect_rated(&gateways[0].acme(), &graph, &RATE.to_string()).await;

    // Twenty agents' invitations at once, spread over the three gateways, each of which sends
    // what it queued: the channel's five a second hold for the three together.
    let invitations = (0..20).map(|n| {
        let flow = &gateways[n % 3].state.flow;
        async move { queue_invitation(flow, ACME, &format!("c-{n}"), &format!("165055503{n:02}")).await }
    });
    futures_util::future::join_all(invitations).await;
    eventually_within(Duration::from_secs(20), "the twenty invitations sent", || async {
        (graph.sends().len() >= 20).then_some(())
    })
    .await;
    // With a limiter to each gateway, three sent fifteen in the first second.
    graph.assert_sent_within(RATE);
}

// ---------------------------------------------------------------------------------------------
// 7. A rating whose handling failed, with the store failing too, is taken when redelivered; so is
//    a message from someone with no survey whose noting failed.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rating_whose_handling_failed_is_taken_when_redelivered() {
    const USER: &str = "16505550020";
    // The gateway connects to Redis as a user of its own, so the test can take its rights away
    // and give them back, as a Redis going away and coming back would, at a chosen moment.
    let redis = RedisServer::start();
    redis.command(&["ACL", "SETUSER", "gateway", "on", ">gateway-password", "allkeys", "allchannels", "+@all"]).await;
    let as_gateway = format!("redis://gateway:gateway-password@127.0.0.1:{}", redis.port());
    let gw = Gateway::start_with(Some(redis), |settings| {
        settings.redis_url = Some(as_gateway);
        settings.delivery.claim_secs = 1;
    })
    .await;
    let redis = gw.redis.as_ref().expect("the gateway runs on Redis");
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let channel = connect(&gw, &graph, "wa", json!({ "scale": "stars:5", "follow_up_comment": false }), &[]).await;
    let (id, _) = sent_survey(&api, &graph, &channel, "r1", USER).await;

    // The store fails as the rating comes in: the message's sighting is written, then nothing
    // else — neither the handling's reads and writes nor the taking back of the sighting.
    redis.command(&["ACL", "SETUSER", "gateway", "resetkeys", "~rw:seen:*", "%R~rw:t:acme:rec:*", "-del"]).await;
    let rating = fake_graph::messages(PHONE_NUMBER_ID, vec![fake_graph::text(USER, "wamid.rating", now(), "4")]);
    let (status, answer) = graph.webhooks.post(&channel.hook, &rating).await;
    assert_eq!(status, 503, "not taken: {answer}");

    // The store is back. Meta delivers again after every answer but 200, until one is 200.
    redis.command(&["ACL", "SETUSER", "gateway", "allkeys", "+@all"]).await;
    let taken = ratewire_tests::service::eventually("the redelivered rating taken", || async {
        let (status, answer) = graph.webhooks.post(&channel.hook, &rating).await;
        (status == 200).then_some(answer)
    })
    .await;
    assert_eq!(taken, json!({ "received": 1, "duplicates": 0 }), "the redelivery is handled, not dropped");
    assert_eq!(survey(&api, &id).await["score"], 4);
    // Handled now: a later redelivery is the repeat.
    assert_eq!(deliver(&graph, &channel, vec![]).await, json!({ "received": 0, "duplicates": 0 }));
    let (_, again) = graph.webhooks.post(&channel.hook, &rating).await;
    assert_eq!(again, json!({ "received": 0, "duplicates": 1 }));

    // A message from someone with no survey is handled by its claim alone, unless noting when
    // they wrote fails: the mark is then taken back, and the redelivery is taken.
    let hello =
        fake_graph::messages(PHONE_NUMBER_ID, vec![fake_graph::text("16505550021", "wamid.hello", now(), "hi")]);
    redis.command(&["ACL", "SETUSER", "gateway", "resetkeys", "~rw:seen:*", "%R~rw:t:acme:*"]).await;
    let (status, answer) = graph.webhooks.post(&channel.hook, &hello).await;
    assert_eq!(status, 503, "not taken: {answer}");
    redis.command(&["ACL", "SETUSER", "gateway", "allkeys", "+@all"]).await;
    assert_eq!(graph.webhooks.post(&channel.hook, &hello).await, (200, json!({ "received": 1, "duplicates": 0 })));
    assert_eq!(graph.webhooks.post(&channel.hook, &hello).await, (200, json!({ "received": 0, "duplicates": 1 })));
}
