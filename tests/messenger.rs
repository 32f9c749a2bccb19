//! Facebook Messenger end to end: the real gateway in this process, a Messenger channel
//! connected through the API and pointed at a fake Messenger Platform that checks what it is
//! sent against Meta's documented contract and posts the Page's webhooks signed as Meta signs them.
//!
//! Every test but the restart runs twice: on the embedded store and on Redis.

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{self, Buckets, OutboundMessage};
use ratewire_core::{
    ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId, TenantId,
};
use ratewire_gateway::flow::outbox::{self, DEFAULT_LEASE};
use ratewire_gateway::flow::records::SentMessage;
use ratewire_gateway::flow::surveys::{self, InviteRequest};
use ratewire_gateway::flow::{contacts, send};
use ratewire_tests::RedisServer;
use ratewire_tests::fake_messenger::{Failure, FakeMessenger, Request};
use ratewire_tests::meta::{self, meta_json};
use ratewire_tests::service::{ACME, Api, Gateway, Receiver, survey, survey_until};
use serde_json::{Value, json};

ratewire_tests::on_both_stores!(
    connecting_and_verifying_the_webhook,
    a_tap_a_comment_and_a_redelivery,
    typed_and_late_replies,
    the_messaging_window_both_ways,
    platform_errors_are_retried_or_recorded,
);

// ---------------------------------------------------------------------------------------------
// Fixtures.

const CHANNEL: &str = "fb-page";

/// A channel connected to the fake platform, with what Meta's dashboard is given.
struct Page {
    fake: FakeMessenger,
    /// Where Meta posts: the channel's `webhook_url`.
    hook: String,
    verify_token: String,
    config: String,
}

/// The texts the tests expect, in English.
fn config_json() -> Value {
    json!({
        "labels": { "1": "Poor", "5": "Excellent" },
        "content": { "en": {
            "invitation": "How did we do? Tap a star.",
            "thank_you": "Thank you!",
            "comment_prompt": "Anything to add? Just write it here.",
            "comment_thanks": "Thanks, noted.",
            "expiry_notice": "Sorry, this survey has closed.",
        } },
    })
}

/// The connect body for a Messenger channel on the fake, with these extra settings.
fn channel_body(fake: &FakeMessenger, id: &str, config: &str, settings: &[(&str, &str)]) -> Value {
    let mut body = json!({
        "id": id,
        "kind": "messenger",
        "name": "Support page",
        "config": config,
        "secrets": { "page_access_token": fake.page_token, "app_secret": fake.webhooks.app_secret },
        "settings": { "page_id": fake.page_id, "api_base_url": fake.base },
    });
    for (name, value) in settings {
        body["settings"][*name] = json!(value);
    }
    body
}

/// Starts a fake platform and connects channel [`CHANNEL`] to it.
async fn page(gw: &Gateway, settings: &[(&str, &str)]) -> Page {
    let api = gw.acme();
    let fake = FakeMessenger::start().await;
    let config = api.post("/v1/configs", &json!({ "name": "Messenger", "config": config_json() })).await.expect(201);
    let config = config["id"].as_str().expect("a configuration has an id").to_owned();
    let channel = api.post("/v1/channels", &channel_body(&fake, CHANNEL, &config, settings)).await.expect(201);
    Page {
        hook: channel["webhook_url"].as_str().expect("a webhook URL").to_owned(),
        verify_token: channel["verify_token"].as_str().expect("the verify token, in full").to_owned(),
        fake,
        config,
    }
}

/// A person writes to the Page at `at`: the signed webhook is taken.
async fn writes(page: &Page, psid: &str, mid: &str, text: &str, at: Timestamp) {
    let notification = page.fake.notification(vec![page.fake.text(psid, mid, text, at)]);
    let (status, body) = page.fake.webhooks.post(&page.hook, &notification).await;
    assert_eq!((status, &body), (200, &json!({ "received": 1, "duplicates": 0 })));
}

/// An agent's invitation for `psid`; the survey's id.
async fn invite(api: &Api, conversation: &str, psid: &str) -> String {
    let body = json!({ "conversation": conversation, "channel": CHANNEL, "recipient": psid });
    let survey = api.post("/v1/invitations", &body).await.expect(201);
    survey["id"].as_str().expect("a survey has an id").to_owned()
}

/// The record of a message ratewire sent on `channel`, by the id the platform gave it.
async fn sent_record(gw: &Gateway, channel: &str, request: &Request) -> SentMessage {
    let tenant = TenantId::new(ACME).unwrap();
    let message_id = request.message_id.as_deref().expect("the platform took the message");
    let id = format!("{channel}/{message_id}");
    store::read::<SentMessage>(gw.state.flow.store.as_ref(), &tenant, &id)
        .await
        .expect("the store answers")
        .unwrap_or_else(|| panic!("no record of message {id}"))
        .value
}

/// The quick reply of an invitation whose payload ends in `:score`: its title and payload.
fn quick_reply(invitation: &Request, score: u8) -> (String, String) {
    let replies = invitation.json["message"]["quick_replies"].as_array().expect("quick replies");
    let reply = replies
        .iter()
        .find(|r| r["payload"].as_str().is_some_and(|p| p.ends_with(&format!(":{score}"))))
        .unwrap_or_else(|| panic!("no quick reply for {score}"));
    (reply["title"].as_str().unwrap().to_owned(), reply["payload"].as_str().unwrap().to_owned())
}

fn texts(requests: &[Request]) -> Vec<String> {
    requests.iter().map(|r| r.text().to_owned()).collect()
}

/// What the gateway knows of a person on [`CHANNEL`].
async fn contact_of(gw: &Gateway, psid: &str) -> Option<ratewire_gateway::flow::records::Contact> {
    let (tenant, channel) = (TenantId::new(ACME).unwrap(), ChannelId::new(CHANNEL).unwrap());
    contacts::contact(&gw.state.flow, &tenant, &channel, &RecipientId::new(psid).unwrap())
        .await
        .expect("the store answers")
}

fn now() -> Timestamp {
    ratewire_tests::now()
}

// ---------------------------------------------------------------------------------------------
// 1. Connecting, and who may post.

async fn connecting_and_verifying_the_webhook(gw: Gateway) {
    let api = gw.acme();
    let page = page(&gw, &[]).await;
    let fake = &page.fake;
    assert!(page.hook.ends_with(&format!("/hooks/{ACME}/{CHANNEL}")), "{}", page.hook);

    // A retired or unknown message tag is refused when connecting, naming the setting.
    for tag in ["ISSUE_RESOLUTION", "SURVEY_PROMPT"] {
        let body = channel_body(fake, "fb-tagged", &page.config, &[("message_tag", tag)]);
        let answer = api.post("/v1/channels", &body).await;
        assert_eq!(answer.error(422), "invalid");
        let fields = &answer.json()["error"]["fields"];
        assert_eq!(fields[0]["field"], "settings.message_tag", "{fields}");
    }
    let answer = api
        .post("/v1/channels", &channel_body(fake, "fb-tagged", &page.config, &[("message_tag", "HUMAN_AGENT")]))
        .await;
    answer.expect(201);
    let mut no_page = channel_body(fake, "fb-nopage", &page.config, &[]);
    no_page["settings"].as_object_mut().unwrap().remove("page_id");
    let answer = api.post("/v1/channels", &no_page).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(answer.json()["error"]["fields"][0]["field"], "settings.page_id");

    // Meta's verification: the challenge for the channel's verify token, 403 for another.
    assert_eq!(
        fake.webhooks.verify(&page.hook, &page.verify_token, "1158201444").await,
        (200, "1158201444".to_owned())
    );
    assert_eq!(fake.webhooks.verify(&page.hook, "guessed", "1158201444").await.0, 403);

    // Unsigned, or signed with another secret, or a signature over other bytes: refused.
    let at = Timestamp::now();
    let notification = fake.notification(vec![fake.text("PSID-1", "m_hello", "Bonjour, ça va ? 👋", at)]);
    let bytes = meta_json(&notification);
    assert!(bytes.is_ascii(), "Meta escapes non-ASCII");
    assert_eq!(fake.webhooks.post_raw(&page.hook, bytes.clone(), None).await.0, 401);
    let forged = meta::sign("not-the-app-secret", &bytes);
    assert_eq!(fake.webhooks.post_raw(&page.hook, bytes.clone(), Some(&forged)).await.0, 401);
    let reserialized = notification.to_string().into_bytes();
    assert_eq!(fake.webhooks.post_raw(&page.hook, reserialized, Some(&fake.webhooks.sign(&bytes))).await.0, 401);
    let contact = contact_of(&gw, "PSID-1").await;
    assert!(contact.is_none(), "nothing of a refused webhook was taken");

    // Signed over the exact bytes: taken. The Page's own echo is not an end user's message.
    let (status, body) = fake.webhooks.post_raw(&page.hook, bytes.clone(), Some(&fake.webhooks.sign(&bytes))).await;
    assert_eq!((status, body), (200, json!({ "received": 1, "duplicates": 0 })));
    let echo = fake.notification(vec![fake.echo("PSID-1", "m_echo", "Hi! How can we help?", at)]);
    assert_eq!(fake.webhooks.post(&page.hook, &echo).await, (200, json!({ "received": 0, "duplicates": 0 })));
    // Another Page's entry is not this channel's.
    let mut other = fake.notification(vec![fake.text("PSID-1", "m_other", "5", at)]);
    other["entry"][0]["id"] = json!("999999");
    assert_eq!(fake.webhooks.post(&page.hook, &other).await, (200, json!({ "received": 0, "duplicates": 0 })));
    let contact = contact_of(&gw, "PSID-1").await;
    let last = contact.expect("the person is known now").last_inbound_at.expect("they wrote");
    assert_eq!(last, Timestamp::from_millisecond(at.as_millisecond()).unwrap(), "Meta's millisecond timestamp");
    assert!(fake.requests().is_empty(), "nothing was sent to anyone");
}

// ---------------------------------------------------------------------------------------------
// 2. The invitation, a tap, the comment, and Meta delivering the same tap twice.

async fn a_tap_a_comment_and_a_redelivery(gw: Gateway) {
    let api = gw.acme();
    let page = page(&gw, &[]).await;
    let fake = &page.fake;
    let psid = "7362514098";
    writes(&page, psid, "m_in_1", "My parcel arrived, thanks", now()).await;
    let id = invite(&api, "conv-tap", psid).await;

    // The invitation as Meta received it: a response, five quick replies.
    let invitation = fake.wait_for_delivered(psid, 1).await.remove(0);
    assert_eq!(invitation.path, "/v21.0/me/messages");
    assert_eq!(invitation.header("authorization"), Some(format!("Bearer {}", fake.page_token).as_str()));
    assert_eq!(invitation.query, None, "the token is not in the URL");
    let payload = |score: u8| format!("rw1:s:{id}:{score}");
    assert_eq!(
        invitation.json,
        json!({
            "recipient": { "id": psid },
            "messaging_type": "RESPONSE",
            "message": {
                "text": "How did we do? Tap a star.",
                "quick_replies": [
                    { "content_type": "text", "title": "⭐ Poor", "payload": payload(1) },
                    { "content_type": "text", "title": "⭐⭐", "payload": payload(2) },
                    { "content_type": "text", "title": "⭐⭐⭐", "payload": payload(3) },
                    { "content_type": "text", "title": "⭐⭐⭐⭐", "payload": payload(4) },
                    { "content_type": "text", "title": "⭐⭐⭐⭐⭐ Excellent", "payload": payload(5) },
                ],
                // Echoed back by Meta (`message_echoes`), naming the send after a crash.
                "metadata": format!("send_{id}_invitation"),
            },
        })
    );
    let sent = survey_until(&api, &id, "the survey sent", |s| !s["sent_at"].is_null()).await;
    assert_eq!(sent["state"], "pending");
    assert_eq!(sent_record(&gw, CHANNEL, &invitation).await.route.as_deref(), Some("RESPONSE"));

    // A tap on four stars: Meta sends the title as text and the payload; the payload counts.
    let (title, tapped) = quick_reply(&invitation, 4);
    let tap = fake.notification(vec![fake.quick_reply(psid, "m_tap_1", &title, &tapped, now())]);
    assert_eq!(fake.webhooks.post(&page.hook, &tap).await, (200, json!({ "received": 1, "duplicates": 0 })));
    let rated = survey_until(&api, &id, "the survey rated", |s| s["score"] == 4).await;
    assert_eq!(rated["state"], "rated");
    let replies = fake.wait_for_delivered(psid, 3).await;
    assert_eq!(texts(&replies[1..]), ["Thank you!", "Anything to add? Just write it here."]);
    assert!(replies[1..].iter().all(|r| r.json["messaging_type"] == "RESPONSE" && r.json.get("tag").is_none()));

    // Meta delivers the same tap again: dropped by its mid.
    assert_eq!(fake.webhooks.post(&page.hook, &tap).await, (200, json!({ "received": 0, "duplicates": 1 })));

    // The next free text is the comment.
    writes(&page, psid, "m_in_2", "Quick and friendly — merci !", now()).await;
    let locked = survey_until(&api, &id, "the comment recorded", |s| s["state"] == "locked").await;
    assert_eq!(locked["comment"], "Quick and friendly — merci !");
    assert_eq!(locked["history"].as_array().map(Vec::len), Some(1), "rated once");
    let all = fake.wait_for_delivered(psid, 4).await;
    assert_eq!(all[3].text(), "Thanks, noted.");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(fake.sends_to(psid).len(), 4, "nothing more was sent");
}

// ---------------------------------------------------------------------------------------------
// 3. A typed rating with a comment, and a reply after the survey's deadline.

async fn typed_and_late_replies(gw: Gateway) {
    let api = gw.acme();
    let page = page(&gw, &[]).await;
    let fake = &page.fake;

    let psid = "5550001";
    writes(&page, psid, "m_t1", "hello", now()).await;
    let id = invite(&api, "conv-typed", psid).await;
    fake.wait_for_delivered(psid, 1).await;
    survey_until(&api, &id, "the survey sent", |s| !s["sent_at"].is_null()).await;
    writes(&page, psid, "m_t2", "4 - quick", now()).await;
    let locked = survey_until(&api, &id, "the typed rating", |s| s["state"] == "locked").await;
    assert_eq!((&locked["score"], &locked["comment"]), (&json!(4), &json!("quick")));
    // One message, one answer: the thanks for the comment, not a prompt for what was just given.
    gw.outbox_empty(ACME).await;
    assert_eq!(texts(&fake.sends_to(psid)[1..]), ["Thanks, noted."]);

    // A survey sent two hours ago, valid for one, stored as it would have been then.
    let stored = api.get(&format!("/v1/configs/{}", page.config)).await.expect(200);
    let mut config: SurveyConfig = serde_json::from_value(stored["config"].clone()).expect("a configuration");
    config.validity_hours = 1;
    let sent_at = now() - SignedDuration::from_hours(2);
    let late = "5550002";
    let survey = Survey::new(SurveyId::generate(), invitation(late, "conv-late", Origin::Agent), &config, sent_at);
    let store = gw.state.flow.store.as_ref();
    store.create(&survey, None).await.expect("the store takes the survey");
    ratewire_core::store::apply(store, &survey.invitation.tenant, &survey.id, Event::SENT, sent_at)
        .await
        .expect("the survey was sent");

    // The person answers anyway: told it closed, and nothing is rated.
    writes(&page, late, "m_l1", "5", now()).await;
    let notice = fake.wait_for_delivered(late, 1).await;
    assert_eq!(notice[0].text(), "Sorry, this survey has closed.");
    assert_eq!(notice[0].json["messaging_type"], "RESPONSE");
    let view = survey_until(&api, survey.id.as_str(), "the late survey", |s| s["score"].is_null()).await;
    assert_eq!(view["history"], json!([]));
}

fn invitation(psid: &str, conversation: &str, origin: Origin) -> Invitation {
    Invitation {
        tenant: TenantId::new(ACME).unwrap(),
        conversation: ConversationId::new(conversation).unwrap(),
        resolution: 1,
        channel: ChannelId::new(CHANNEL).unwrap(),
        recipient: RecipientId::new(psid).unwrap(),
        agent: None,
        locale: Locale::En,
        origin,
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The 24-hour window, and the business's chosen tag.

async fn the_messaging_window_both_ways(gw: Gateway) {
    let api = gw.acme();
    let page = page(&gw, &[]).await;
    let fake = &page.fake;

    // Inside 24 hours: a response (see the tests above). Outside, with no tag: not sent, and
    // the survey says why.
    let psid = "6660001";
    writes(&page, psid, "m_w1", "hi", now() - SignedDuration::from_hours(30)).await;
    let id = invite(&api, "conv-window", psid).await;
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "outside_window");
    let detail = failed["failure"]["detail"].as_str().unwrap();
    assert!(detail.contains("no message tag is configured"), "{detail}");
    assert!(fake.sends_to(psid).is_empty(), "nothing was sent");

    // With HUMAN_AGENT chosen: an agent's invitation goes out tagged, within 7 days.
    let tagged = "fb-human";
    let body = channel_body(fake, tagged, &page.config, &[("message_tag", "HUMAN_AGENT")]);
    let channel = api.post("/v1/channels", &body).await.expect(201);
    // The same Page on the same platform: only its webhook URL differs.
    let tagged_page = Page { hook: channel["webhook_url"].as_str().unwrap().to_owned(), ..page };
    let fake = &tagged_page.fake;
    writes(&tagged_page, "6660002", "m_w2", "hi", now() - SignedDuration::from_hours(48)).await;
    writes(&tagged_page, "6660003", "m_w3", "hi", now() - SignedDuration::from_hours(48)).await;
    writes(&tagged_page, "6660004", "m_w4", "hi", now() - SignedDuration::from_hours(24 * 8)).await;

    let body = json!({ "conversation": "conv-agent", "channel": tagged, "recipient": "6660002" });
    let agent = api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let delivered = fake.wait_for_delivered("6660002", 1).await;
    assert_eq!(delivered[0].json["messaging_type"], "MESSAGE_TAG");
    assert_eq!(delivered[0].json["tag"], "HUMAN_AGENT");
    let sent = survey_until(&api, &agent, "the tagged invitation sent", |s| !s["sent_at"].is_null()).await;
    // The survey records the route taken.
    assert_eq!(sent["route"], "MESSAGE_TAG:HUMAN_AGENT");
    let record = sent_record(&gw, tagged, &delivered[0]).await;
    assert_eq!(record.route.as_deref(), Some("MESSAGE_TAG:HUMAN_AGENT"));

    // An automatic invitation may not use HUMAN_AGENT.
    let request = InviteRequest {
        conversation: ConversationId::new("conv-auto").unwrap(),
        resolution: 1,
        channel: ChannelId::new(tagged).unwrap(),
        recipient: RecipientId::new("6660003").unwrap(),
        agent: None,
        languages: vec!["en".into()],
        origin: Origin::Auto,
    };
    let auto = surveys::invite(&gw.state.flow, &TenantId::new(ACME).unwrap(), request, Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("the automatic invitation is created: {e}"));
    let failed = survey_until(&api, auto.id.as_str(), "the automatic one failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "outside_window");
    assert!(failed["failure"]["detail"].as_str().unwrap().contains("agent's own invitation"));

    // Nor reach someone who last wrote 8 days ago.
    let body = json!({ "conversation": "conv-old", "channel": tagged, "recipient": "6660004" });
    let old = api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let failed = survey_until(&api, &old, "the old one failed", |s| s["state"] == "failed").await;
    assert!(failed["failure"]["detail"].as_str().unwrap().contains("7 days"));
    assert!(fake.sends_to("6660003").is_empty() && fake.sends_to("6660004").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 5. Meta's errors: a rate limit waited out, a 5xx retried, a permanent one recorded.

async fn platform_errors_are_retried_or_recorded(gw: Gateway) {
    let api = gw.acme();
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["survey.failed"] })).await.expect(201);
    let page = page(&gw, &[]).await;
    let fake = &page.fake;
    let http = outbox::http_client(&gw.state.flow).expect("an HTTP client");

    // (#613) with "access back in 1 minute": not retried before, retried after.
    let psid = "7770001";
    writes(&page, psid, "m_r1", "hi", now()).await;
    fake.fail_next([Failure::RateLimited { minutes: 1 }]);
    let id = invite(&api, "conv-limited", psid).await;
    let first = fake.wait_for_sends(psid, 1).await;
    assert_eq!(first[0].answered, 400);
    let after_first = now();
    gw.attempt_recorded(ACME, &id).await;
    outbox::run_due(&gw.state.flow, &http, after_first + SignedDuration::from_secs(50), Buckets::ALL)
        .await
        .expect("the outbox runs");
    assert_eq!(fake.sends_to(psid).len(), 1, "not before the platform's wait");
    assert!(survey(&api, &id).await["sent_at"].is_null());
    outbox::run_due(&gw.state.flow, &http, after_first + SignedDuration::from_secs(63), Buckets::ALL)
        .await
        .expect("the outbox runs");
    let sends = fake.sends_to(psid);
    assert_eq!(sends.iter().map(|r| r.answered).collect::<Vec<_>>(), [400, 200]);
    assert_eq!(sends[0].json, sends[1].json, "the same message, again");
    survey_until(&api, &id, "sent after the wait", |s| !s["sent_at"].is_null()).await;

    // A 502 from Meta's edge: retried after the backoff (10 s and a little).
    let psid = "7770002";
    writes(&page, psid, "m_r2", "hi", now()).await;
    fake.fail_next([Failure::Status(502)]);
    let id = invite(&api, "conv-502", psid).await;
    fake.wait_for_sends(psid, 1).await;
    gw.attempt_recorded(ACME, &id).await;
    outbox::run_due(&gw.state.flow, &http, now() + SignedDuration::from_secs(15), Buckets::ALL)
        .await
        .expect("the outbox runs");
    assert_eq!(fake.sends_to(psid).iter().map(|r| r.answered).collect::<Vec<_>>(), [502, 200]);
    survey_until(&api, &id, "sent after the backoff", |s| !s["sent_at"].is_null()).await;

    // (#551/1545041): the person is unavailable. The survey fails with the reason, once.
    let psid = "7770003";
    writes(&page, psid, "m_r3", "hi", now()).await;
    fake.fail_next([Failure::user_unavailable()]);
    let id = invite(&api, "conv-gone", psid).await;
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "user_unavailable");
    let detail = failed["failure"]["detail"].as_str().unwrap();
    assert!(detail.starts_with("(#551/1545041) This person isn't available right now."), "{detail}");
    let posts = receiver.wait_for("survey.failed", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!((&event["type"], &event["survey"]["id"]), (&json!("survey.failed"), &json!(id)));
    outbox::run_due(&gw.state.flow, &http, now() + SignedDuration::from_secs(3600), Buckets::ALL)
        .await
        .expect("the outbox runs");
    assert_eq!(fake.sends_to(psid).len(), 1, "not retried");

    // A Page token Meta no longer takes: (#190), the survey fails with `bad_token`.
    let mut stale = channel_body(fake, "fb-stale", &page.config, &[]);
    stale["secrets"]["page_access_token"] = json!("EAAG-revoked");
    let stale = api.post("/v1/channels", &stale).await.expect(201);
    let stale_hook = stale["webhook_url"].as_str().unwrap();
    let hi = fake.notification(vec![fake.text("7770004", "m_r4", "hi", now())]);
    assert_eq!(fake.webhooks.post(stale_hook, &hi).await.0, 200);
    let body = json!({ "conversation": "conv-stale", "channel": "fb-stale", "recipient": "7770004" });
    let id = api.post("/v1/invitations", &body).await.expect(201)["id"].as_str().unwrap().to_owned();
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "bad_token");
}

// ---------------------------------------------------------------------------------------------
// 6. A gateway killed mid-queue: nothing lost, nothing sent twice.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_queue_loses_nothing_and_sends_nothing_twice() {
    let mut first = Gateway::start(Some(RedisServer::start())).await;
    let page = page(&first, &[]).await;
    let fake = &page.fake;
    let (claimed, half_done) = ("8880001", "8880002");
    writes(&page, claimed, "m_k1", "hi", now()).await;
    writes(&page, half_done, "m_k2", "hi", now()).await;

    // Two invitations queued for later, so the running workers leave them alone until the
    // test drives the outbox itself.
    let stored = first.acme().get(&format!("/v1/configs/{}", page.config)).await.expect(200);
    let config: SurveyConfig = serde_json::from_value(stored["config"].clone()).expect("a configuration");
    let created = now();
    let later = created + SignedDuration::from_mins(10);
    let mut surveys = Vec::new();
    for (psid, conversation) in [(claimed, "conv-k1"), (half_done, "conv-k2")] {
        let survey = Survey::new(SurveyId::generate(), invitation(psid, conversation, Origin::Agent), &config, created);
        first.state.flow.store.create(&survey, None).await.expect("the store takes the survey");
        send::queue_messages(&first.state.flow, &survey, &[OutboundMessage::Invitation], later).await.expect("queued");
        surveys.push(survey);
    }

    // A worker of the first gateway claims both, sends one without finishing its item, and dies.
    let items =
        first.state.flow.store.claim_due(later, later + DEFAULT_LEASE, Buckets::ALL, 10).await.expect("claimed");
    assert_eq!(items.len(), 2);
    let mut item = items.iter().find(|i| i.id.contains(surveys[1].id.as_str())).expect("the second item").clone();
    let channel = ChannelId::new(CHANNEL).unwrap();
    let attempt =
        send::send_message(&first.state.flow, &mut item, &channel, &surveys[1].id, OutboundMessage::Invitation, later)
            .await
            .expect("the store answers");
    assert!(matches!(attempt, outbox::Attempt::Done), "{attempt:?}");
    assert_eq!(fake.delivered_to(half_done).len(), 1);
    let redis = first.redis.take();
    drop(first);

    // A second gateway on the same Redis: the items wait out the dead worker's lease, then
    // the unsent invitation goes out once and the sent one is not sent again.
    let second = Gateway::start(redis).await;
    let http = outbox::http_client(&second.state.flow).expect("an HTTP client");
    outbox::run_due(&second.state.flow, &http, later + SignedDuration::from_secs(30), Buckets::ALL)
        .await
        .expect("the outbox runs");
    assert!(fake.sends_to(claimed).is_empty(), "still leased to the dead worker");
    outbox::run_due(&second.state.flow, &http, later + DEFAULT_LEASE + SignedDuration::from_secs(1), Buckets::ALL)
        .await
        .expect("the outbox runs");
    outbox::run_due(&second.state.flow, &http, later + SignedDuration::from_secs(600), Buckets::ALL)
        .await
        .expect("the outbox runs");
    assert_eq!(fake.sends_to(claimed).len(), 1, "sent once");
    assert_eq!(fake.sends_to(half_done).len(), 1, "never twice");
    let api = second.acme();
    for survey in &surveys {
        let view = survey_until(&api, survey.id.as_str(), "the survey sent", |s| !s["sent_at"].is_null()).await;
        assert_eq!(view["state"], "pending");
    }
    let left = second.state.flow.store.claim_due(
        later + SignedDuration::from_hours(2),
        later + SignedDuration::from_hours(3),
        Buckets::ALL,
        10,
    );
    assert!(left.await.expect("the store answers").is_empty(), "nothing left in the outbox");
}
