//! Telegram end to end: the gateway in this process talks to a fake Bot API on loopback
//! ([`FakeTelegram`]) through teloxide, as it would to api.telegram.org, and takes the fake's
//! webhook posts on its one route for every channel, `/hooks/{tenant}/{channel}`.
//!
//! The flows run on the embedded store and on Redis; the restart test on Redis only.

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{Buckets, OutboundMessage};
use ratewire_core::{
    ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId, TenantId,
};
use ratewire_gateway::flow::{outbox, send};
use ratewire_gateway::http::auth;
use ratewire_tests::RedisServer;
use ratewire_tests::fake_telegram::{Call, Failure, FakeTelegram, TelegramUser};
use ratewire_tests::process::{RunDir, ServerProcess};
use ratewire_tests::service::{ACME, Api, Gateway, Receiver, eventually, survey, survey_until};
use serde_json::{Value, json};

/// The bot's token, as BotFather gives it.
const TOKEN: &str = "7012345678:AAH0test-Token_of_the_bot";
/// The channel's id: its webhook is `/hooks/acme/tg`.
const CHANNEL: &str = "tg";

ratewire_tests::on_both_stores!(
    connecting_registers_the_webhook_and_only_signed_updates_are_taken,
    a_tap_rates_in_the_users_language_and_the_keyboard_shows_the_choice,
    typed_replies_reasons_and_late_replies,
    flood_control_blocked_users_and_no_window,
    disconnecting_removes_the_webhook_and_a_refusal_does_not_keep_the_channel,
);

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// Creates a configuration; its id.
async fn create_config(api: &Api, config: Value) -> String {
    let body = api.post("/v1/configs", &json!({ "name": "Telegram surveys", "config": config })).await.expect(201);
    body["id"].as_str().expect("a configuration has an id").to_owned()
}

/// The connect request for the bot, talking to `fake`.
fn connect_body(config: &str, fake: &FakeTelegram, token: &str, id: &str) -> Value {
    json!({
        "id": id, "kind": "telegram", "name": "Support bot", "config": config,
        "secrets": { "bot_token": token }, "settings": { "api_base_url": fake.url },
    })
}

/// A fake Bot API and the channel connected to it with `config`; the channel as the API shows it.
async fn connect(gw: &Gateway, config: Value) -> (FakeTelegram, Value) {
    let fake = FakeTelegram::start(TOKEN).await;
    let api = gw.acme();
    let config = create_config(&api, config).await;
    let channel = api.post("/v1/channels", &connect_body(&config, &fake, TOKEN, CHANNEL)).await.expect(201);
    (fake, channel)
}

/// An agent's invitation for `user`, with no language given; the survey's id.
async fn invite(api: &Api, conversation: &str, user: &TelegramUser) -> String {
    let body = json!({ "conversation": conversation, "channel": CHANNEL, "recipient": user.recipient() });
    let survey = api.post("/v1/invitations", &body).await.expect(201);
    survey["id"].as_str().expect("a survey has an id").to_owned()
}

fn payload(survey: &str, score: u32) -> String {
    format!("rw1:s:{survey}:{score}")
}

fn webhook_url(gw: &Gateway) -> String {
    format!("{}/hooks/{ACME}/{CHANNEL}", gw.base)
}

// ---------------------------------------------------------------------------------------------
// 1. Connecting the bot, and the webhook's secret.

async fn connecting_registers_the_webhook_and_only_signed_updates_are_taken(gw: Gateway) {
    let (fake, channel) = connect(&gw, json!({})).await;
    let secret = channel["verify_token"].as_str().expect("the secret, in full when connected").to_owned();
    assert_eq!(channel["webhook_url"], webhook_url(&gw));
    assert_eq!(channel["secrets"]["bot_token"], "••••_bot");

    // setWebhook was called with ratewire's URL, the channel's secret and the two kinds of update.
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].is("setWebhook") && calls[0].succeeded());
    assert_eq!(calls[0].path, format!("/bot{TOKEN}"));
    assert_eq!(
        calls[0].body,
        json!({ "url": webhook_url(&gw), "secret_token": secret, "allowed_updates": ["message", "callback_query"] })
    );
    assert_eq!(fake.webhook().expect("registered").secret_token.as_deref(), Some(secret.as_str()));

    // A bot whose token Telegram doesn't know is not connected.
    let api = gw.acme();
    let config = channel["config"].as_str().unwrap();
    let answer = api.post("/v1/channels", &connect_body(config, &fake, "7012345678:wrong", "tg-bad")).await;
    assert_eq!(answer.error(502), "webhook_registration_failed");
    assert!(answer.json()["error"]["message"].as_str().unwrap().contains("bad_token"), "{}", answer.text);
    assert_eq!(api.get("/v1/channels/tg-bad").await.error(404), "not_found");
    assert_eq!(fake.webhook().expect("still ratewire's").secret_token.as_deref(), Some(secret.as_str()));
    // Nor one whose token or settings can't be right: refused before Telegram is called.
    let mut body = connect_body(config, &fake, "7012345678 AAH", "tg-typo");
    body["settings"]["set_webhook"] = json!("maybe");
    let answer = api.post("/v1/channels", &body).await;
    assert_eq!(answer.error(422), "invalid");
    let fields: Vec<Value> =
        answer.json()["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].clone()).collect();
    assert_eq!(fields, [json!("secrets.bot_token"), json!("settings.set_webhook")]);
    // A business that forwards its bot's updates itself keeps its webhook.
    let mut body = connect_body(config, &fake, TOKEN, "tg-forwarded");
    body["settings"]["set_webhook"] = json!("off");
    api.post("/v1/channels", &body).await.expect(201);
    assert_eq!(fake.calls_of("setWebhook").len(), 2, "only the first channel and the refused token called it");

    // Telegram's post, with the secret: taken. Without it, or with another: refused, and nothing
    // in it is read.
    let ana = TelegramUser::new(5_551_234, "Ana", Some("en"));
    let update = fake.text_update(&ana, "hello", Timestamp::now());
    let body = serde_json::to_vec(&update).unwrap();
    let unsigned = fake.post(&webhook_url(&gw), None, body.clone()).await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.text);
    let forged = fake.post(&webhook_url(&gw), Some("0123456789abcdef0123456789abcdef"), body.clone()).await;
    assert_eq!(forged.status, 401, "{}", forged.text);
    let taken = fake.deliver(&update).await;
    assert_eq!(taken.expect(200), json!({ "received": 1, "duplicates": 0 }));
    // The same update again (Telegram retries when unsure): dropped.
    assert_eq!(fake.deliver(&update).await.expect(200), json!({ "received": 0, "duplicates": 1 }));
    let broken = fake.post(&webhook_url(&gw), Some(&secret), b"{\"update_id\":".to_vec()).await;
    assert_eq!(broken.status, 400, "{}", broken.text);
    // A photo, a group message: not survey replies, taken and skipped.
    let photo = json!({ "update_id": 1, "message": { "message_id": 9, "date": 1_767_000_000,
        "chat": { "id": ana.id, "type": "private", "first_name": "Ana" },
        "from": { "id": ana.id, "is_bot": false, "first_name": "Ana" },
        "photo": [{ "file_id": "f", "file_unique_id": "u", "width": 90, "height": 90 }] } });
    assert_eq!(fake.deliver(&photo).await.expect(200), json!({ "received": 0, "duplicates": 0 }));
    // Nothing was sent to anyone.
    assert!(fake.calls_of("sendMessage").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. An invitation in the user's language, a tap, the acknowledged keyboard, and the comment.

async fn a_tap_rates_in_the_users_language_and_the_keyboard_shows_the_choice(gw: Gateway) {
    let (fake, _) = connect(&gw, json!({})).await;
    let api = gw.acme();
    // Ana writes to the bot from a Spanish Telegram: ratewire notes her language.
    let ana = TelegramUser::new(5_551_234, "Ana", Some("es"));
    let hola = fake.text_update(&ana, "hola", Timestamp::now());
    assert_eq!(fake.deliver(&hola).await.expect(200)["received"], 1);

    // An invitation created without a locale goes out in Spanish, as an inline keyboard.
    let id = invite(&api, "conv-ana", &ana).await;
    fake.wait_for_texts(ana.id, 1).await;
    let sent = &fake.sent_to(ana.id)[0];
    assert!(sent.is("SendMessage"), "teloxide spells the method {}", sent.method);
    let labels = ["Muy insatisfecho", "Insatisfecho", "Neutral", "Satisfecho", "Muy satisfecho"];
    let rows: Vec<Value> = (1..=5)
        .map(|n| json!([{ "text": format!("{} {}", "⭐".repeat(n), labels[n - 1]), "callback_data": payload(&id, n as u32) }]))
        .collect();
    assert_eq!(
        sent.body,
        json!({
            "chat_id": ana.id,
            "text": "¿Cómo calificaría la ayuda que recibió hoy?",
            "reply_markup": { "inline_keyboard": rows },
        })
    );
    let shown = survey_until(&api, &id, "the survey sent", |s| !s["sent_at"].is_null()).await;
    assert_eq!((&shown["state"], &shown["locale"]), (&json!("pending"), &json!("es")));

    // She taps four stars.
    let message_id = fake.last_message_id(ana.id);
    let tap = fake.tap_update(&ana, message_id, &payload(&id, 4));
    assert_eq!(fake.deliver(&tap).await.expect(200), json!({ "received": 1, "duplicates": 0 }));
    let rated = survey(&api, &id).await;
    assert_eq!((&rated["state"], &rated["score"]), (&json!("rated"), &json!(4)));

    // The tap is answered, and the keyboard becomes one button showing the choice.
    let answers = fake.calls_of("answerCallbackQuery");
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].body,
        json!({ "callback_query_id": tap["callback_query"]["id"], "text": "⭐⭐⭐⭐ Satisfecho" })
    );
    let edits = fake.calls_of("editMessageReplyMarkup");
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].body,
        json!({ "chat_id": ana.id, "message_id": message_id,
            "reply_markup": { "inline_keyboard": [[{ "text": "⭐⭐⭐⭐ Satisfecho", "callback_data": "rw1:ack" }]] } })
    );
    let message = fake.message(ana.id, message_id).unwrap();
    assert_eq!(message["reply_markup"]["inline_keyboard"].as_array().unwrap().len(), 1, "old buttons are gone");

    // The same tap delivered again is handled once; a tap on the acknowledgement does nothing.
    assert_eq!(fake.deliver(&tap).await.expect(200), json!({ "received": 0, "duplicates": 1 }));
    let ack = fake.tap_update(&ana, message_id, "rw1:ack");
    assert_eq!(fake.deliver(&ack).await.expect(200), json!({ "received": 0, "duplicates": 0 }));
    assert_eq!(fake.calls_of("answerCallbackQuery").len(), 1);

    // Thanks, then the comment prompt, in that order; her next message is the comment.
    let texts = fake.wait_for_texts(ana.id, 3).await.split_off(1);
    assert_eq!(
        texts,
        ["¡Gracias por su calificación!", "¿Quiere contarnos algo más? Solo responda con unas palabras."]
    );
    let comment = fake.text_update(&ana, "Muy rápido, gracias", Timestamp::now());
    assert_eq!(fake.deliver(&comment).await.expect(200)["received"], 1);
    let commented = survey(&api, &id).await;
    assert_eq!((&commented["state"], &commented["comment"]), (&json!("locked"), &json!("Muy rápido, gracias")));
    let texts = fake.wait_for_texts(ana.id, 4).await;
    assert_eq!(texts[3], "Gracias, ya compartimos su comentario con el equipo.");
}

// ---------------------------------------------------------------------------------------------
// 3. Typed replies, a low rating's reasons, and a reply after the deadline.

async fn typed_replies_reasons_and_late_replies(gw: Gateway) {
    let config = json!({ "low_rating_reasons": ["slow", "unresolved"] });
    let (fake, channel) = connect(&gw, config).await;
    let api = gw.acme();

    // Bob types his rating with a comment.
    let bob = TelegramUser::new(6_000_001, "Bob", None);
    fake.start_bot(&bob).await.expect(200);
    let id = invite(&api, "conv-bob", &bob).await;
    let texts = fake.wait_for_texts(bob.id, 1).await;
    assert_eq!(texts[0], "How would you rate the help you received today?");
    let typed = fake.text_update(&bob, "4 - quick", Timestamp::now());
    assert_eq!(fake.deliver(&typed).await.expect(200)["received"], 1);
    let rated = survey(&api, &id).await;
    assert_eq!((&rated["score"], &rated["comment"]), (&json!(4), &json!("quick")));
    // One message, one answer: the thanks for the comment, not a prompt for what was just given.
    gw.outbox_empty(ACME).await;
    assert_eq!(fake.texts_to(bob.id)[1..], ["Thank you, we have passed your comment on to the team."]);

    // Cleo taps one star: she is asked why, with the reasons as buttons, and taps one.
    let cleo = TelegramUser::new(6_000_002, "Cleo", None);
    fake.start_bot(&cleo).await.expect(200);
    let id = invite(&api, "conv-cleo", &cleo).await;
    fake.wait_for_texts(cleo.id, 1).await;
    let tap = fake.tap_update(&cleo, fake.last_message_id(cleo.id), &payload(&id, 1));
    fake.deliver(&tap).await.expect(200);
    let asked = |call: &Call| call.body["text"] == "Sorry to hear that. What went wrong?";
    fake.wait_for("the reasons", |_| fake.sent_to(cleo.id).iter().any(asked)).await;
    let question = fake.sent_to(cleo.id).into_iter().find(asked).expect("asked");
    // The thanks and the question answer one tap, but Telegram takes one message a second in a
    // chat: the second of them waited for the first one's second.
    fake.wait_for("the thanks", |_| fake.sent_to(cleo.id).len() == 3).await;
    let sent = fake.sent_to(cleo.id);
    let texts: Vec<&str> = sent[1..].iter().map(|call| call.body["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Thank you for your rating!", "Sorry to hear that. What went wrong?"]);
    let gap = sent[2].at.duration_since(sent[1].at);
    assert!(gap >= SignedDuration::from_secs(1), "the second message came {gap:?} after the first");
    assert_eq!(
        question.body["reply_markup"],
        json!({ "inline_keyboard": [
            [{ "text": "Slow response", "callback_data": format!("rw1:r:{id}:slow") }],
            [{ "text": "Problem not solved", "callback_data": format!("rw1:r:{id}:unresolved") }],
        ] })
    );
    let message_id = question.answer["result"]["message_id"].as_i64().expect("a message id");
    let reason = fake.tap_update(&cleo, message_id, &format!("rw1:r:{id}:unresolved"));
    fake.deliver(&reason).await.expect(200);
    let chosen = survey(&api, &id).await;
    assert_eq!((&chosen["score"], &chosen["reason"]), (&json!(1), &json!("unresolved")));

    // Dan's survey was sent two hours ago and was valid for one: his rating is refused, typed
    // or tapped, and he is told it closed.
    let dan = TelegramUser::new(6_000_003, "Dan", None);
    fake.start_bot(&dan).await.expect(200);
    let config: SurveyConfig = serde_json::from_value(
        api.get(&format!("/v1/configs/{}", channel["config"].as_str().unwrap())).await.expect(200)["config"].clone(),
    )
    .unwrap();
    let sent_at = Timestamp::now() - SignedDuration::from_hours(2);
    let late = Survey::new(
        SurveyId::generate(),
        invitation("conv-dan", &dan, Origin::Agent),
        &SurveyConfig { validity_hours: 1, ..config },
        sent_at,
    );
    let store = gw.state.flow.store.as_ref();
    store.create(&late, None).await.expect("stored");
    ratewire_core::store::apply(store, &late.invitation.tenant, &late.id, Event::SENT, sent_at).await.expect("sent");
    let typed = fake.text_update(&dan, "5", Timestamp::now());
    fake.deliver(&typed).await.expect(200);
    let texts = fake.wait_for_texts(dan.id, 1).await;
    assert_eq!(texts, ["Sorry, this survey has closed and can no longer take a rating."]);
    // A tap on the old invitation's button: answered with why, and nothing is rated.
    let stale = json!({ "update_id": 1, "callback_query": {
        "id": "991", "from": { "id": dan.id, "is_bot": false, "first_name": "Dan" }, "chat_instance": "-1",
        "message": { "message_id": 5, "date": sent_at.as_second(), "chat": { "id": dan.id, "type": "private", "first_name": "Dan" },
            "from": { "id": 7_012_345_678_i64, "is_bot": true, "first_name": "Acme Support" }, "text": "How would you rate…?" },
        "data": payload(late.id.as_str(), 5) } });
    fake.deliver(&stale).await.expect(200);
    // Whether or not the sweeper expired it meanwhile, the answer is the survey's expiry notice.
    let answered = fake.calls_of("answerCallbackQuery");
    let answer = &answered.last().expect("the tap is answered").body;
    assert_eq!(answer["callback_query_id"], "991");
    let why = answer["text"].as_str().expect("with why");
    assert_eq!(why, "Sorry, this survey has closed and can no longer take a rating.");
    let still = survey(&api, late.id.as_str()).await;
    assert_eq!(still["score"], Value::Null);
}

fn invitation(conversation: &str, user: &TelegramUser, origin: Origin) -> Invitation {
    Invitation {
        tenant: TenantId::new(ACME).unwrap(),
        conversation: ConversationId::new(conversation).unwrap(),
        resolution: 1,
        channel: ChannelId::new(CHANNEL).unwrap(),
        recipient: RecipientId::new(user.recipient()).unwrap(),
        agent: None,
        locale: Locale::En,
        origin,
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Flood control, a blocked bot, and Telegram's lack of a window.

async fn flood_control_blocked_users_and_no_window(gw: Gateway) {
    let (fake, _) = connect(&gw, json!({})).await;
    let api = gw.acme();
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["survey.failed"] })).await.expect(201);
    let http = outbox::http_client(&gw.state.flow).unwrap();

    // Flood control: Telegram says to wait 30 s. The invitation waits, then goes out once.
    let eve = TelegramUser::new(7_000_001, "Eve", None);
    fake.start_bot(&eve).await.expect(200);
    fake.fail_next("sendMessage", 1, Failure::RetryAfter(30));
    let id = invite(&api, "conv-eve", &eve).await;
    let calls = fake.wait_for("the refused send", |calls| calls.iter().any(|c| c.is("sendMessage"))).await;
    let refused = calls.iter().find(|c| c.is("sendMessage")).expect("a send");
    assert_eq!(refused.status, 429);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(survey(&api, &id).await["sent_at"].is_null(), "not sent before Telegram's wait");
    assert_eq!(fake.calls_of("sendMessage").len(), 1, "not retried before Telegram's wait");
    // Past Telegram's wait, and moving on with the clock: the chat's own pace is kept on the
    // store's clock, and a send it holds back comes due a second after the run that held it.
    let later = || Timestamp::now().max(refused.at) + SignedDuration::from_secs(32);
    eventually("the retry after Telegram's wait", || async {
        outbox::run_due(&gw.state.flow, &http, later(), Buckets::ALL).await.expect("the outbox runs");
        (!fake.sent_to(eve.id).is_empty()).then_some(())
    })
    .await;
    let sent = survey_until(&api, &id, "sent", |s| !s["sent_at"].is_null()).await;
    assert_eq!(sent["state"], "pending");
    assert_eq!(fake.calls_of("sendMessage").len(), 2);

    // Frank blocked the bot: the survey fails with that reason, and the business is told.
    let frank = TelegramUser::new(7_000_002, "Frank", None);
    fake.start_bot(&frank).await.expect(200);
    fake.fail_next("sendMessage", 1, Failure::blocked());
    let id = invite(&api, "conv-frank", &frank).await;
    let failed = survey_until(&api, &id, "the survey failed", |s| s["state"] == "failed").await;
    assert_eq!(
        failed["failure"],
        json!({ "code": "user_blocked", "detail": "Forbidden: bot was blocked by the user" })
    );
    let posts = receiver.wait_for("survey.failed", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!((&event["type"], &event["survey"]["id"]), (&json!("survey.failed"), &json!(id)));
    assert_eq!(event["survey"]["failure"]["code"], "user_blocked");

    // No window: Gina last wrote a month ago, and her invitation goes out all the same.
    let gina = TelegramUser::new(7_000_003, "Gina", None);
    let old = fake.text_update(&gina, "thanks!", Timestamp::now() - SignedDuration::from_hours(24 * 30));
    fake.deliver(&old).await.expect(200);
    let id = invite(&api, "conv-gina", &gina).await;
    survey_until(&api, &id, "sent a month after her last message", |s| !s["sent_at"].is_null()).await;
    assert_eq!(fake.sent_to(gina.id).len(), 1);

    // But a bot can't write first: Hal never started it, and Telegram refuses.
    let hal = TelegramUser::new(7_000_004, "Hal", None);
    let id = invite(&api, "conv-hal", &hal).await;
    let failed = survey_until(&api, &id, "refused: never started", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "undeliverable");
}

// ---------------------------------------------------------------------------------------------
// 5. Disconnecting the bot.

async fn disconnecting_removes_the_webhook_and_a_refusal_does_not_keep_the_channel(gw: Gateway) {
    let (fake, channel) = connect(&gw, json!({})).await;
    let api = gw.acme();
    let config = channel["config"].as_str().unwrap().to_owned();
    let channel_path = format!("/v1/channels/{CHANNEL}");

    // ratewire's webhook is removed with the channel.
    assert_eq!(fake.webhook().expect("registered").url, webhook_url(&gw));
    let answer = api.delete(&channel_path).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(fake.webhook(), None);
    let removal = fake.calls_of("deleteWebhook");
    assert_eq!(removal.len(), 1);
    assert_eq!(removal[0].answer, json!({ "ok": true, "result": true, "description": "Webhook was deleted" }));
    assert_eq!(api.get(&channel_path).await.error(404), "not_found");

    // The bot was connected elsewhere since: that webhook stays.
    api.post("/v1/channels", &connect_body(&config, &fake, TOKEN, CHANNEL)).await.expect(201);
    fake.set_webhook_elsewhere("https://elsewhere.example/telegram");
    assert_eq!(api.delete(&channel_path).await.status, 204);
    assert_eq!(fake.webhook().expect("kept").url, "https://elsewhere.example/telegram");
    assert_eq!(fake.calls_of("deleteWebhook").len(), 1, "only the first removal");

    // Telegram refuses: the channel is gone all the same, and the answer says what Telegram said.
    api.post("/v1/channels", &connect_body(&config, &fake, TOKEN, CHANNEL)).await.expect(201);
    let refusal = Failure::Api { status: 401, description: "Unauthorized".into() };
    fake.fail_next("deleteWebhook", 1, refusal);
    let answer = api.delete(&channel_path).await.expect(200);
    assert_eq!(answer["id"], CHANNEL);
    let warning = answer["webhook_warning"].as_str().expect("a warning");
    assert!(warning.contains("bad_token"), "{warning}");
    assert_eq!(api.get(&channel_path).await.error(404), "not_found");
    // The webhook Telegram kept points at a channel that is gone: its posts are refused.
    assert_eq!(fake.webhook().expect("kept by Telegram").url, webhook_url(&gw));
    let update = fake.text_update(&TelegramUser::new(8_000_001, "Ivy", None), "hello", Timestamp::now());
    assert_eq!(fake.deliver(&update).await.status, 404);

    // A business that keeps its own webhook keeps it.
    let mut body = connect_body(&config, &fake, TOKEN, CHANNEL);
    body["settings"]["set_webhook"] = json!("off");
    api.post("/v1/channels", &body).await.expect(201);
    let before = fake.calls().len();
    assert_eq!(api.delete(&channel_path).await.status, 204);
    assert_eq!(fake.calls().len(), before, "Telegram is not called");
    assert_eq!(fake.webhook().expect("kept").url, webhook_url(&gw));
}

// ---------------------------------------------------------------------------------------------
// 6. A gateway killed mid-queue.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_queue_loses_nothing_and_sends_nothing_twice() {
    let mut first = Gateway::start(Some(RedisServer::start())).await;
    let (fake, _) = connect(&first, json!({})).await;
    let ivy = TelegramUser::new(8_000_001, "Ivy", None);
    let jon = TelegramUser::new(8_000_002, "Jon", None);
    fake.start_bot(&ivy).await.expect(200);
    fake.start_bot(&jon).await.expect(200);

    // Two invitations queued, due in an hour (so the running worker leaves them alone).
    let now = ratewire_tests::now();
    let due = now + SignedDuration::from_hours(1);
    let mut surveys = Vec::new();
    for (conversation, user) in [("conv-ivy", &ivy), ("conv-jon", &jon)] {
        let config = SurveyConfig::default();
        let survey = Survey::new(SurveyId::generate(), invitation(conversation, user, Origin::Agent), &config, now);
        first.state.flow.store.create(&survey, None).await.expect("stored");
        send::queue_messages(&first.state.flow, &survey, &[OutboundMessage::Invitation], due).await.expect("queued");
        surveys.push(survey);
    }

    // A worker claims both, sends Ivy's, and dies before it can mark anything done.
    let claimed =
        first.state.flow.store.claim_due(due, due + outbox::DEFAULT_LEASE, Buckets::ALL, 10).await.expect("claimed");
    assert_eq!(claimed.len(), 2);
    let mut ivy_item =
        claimed.iter().find(|item| item.id.contains(surveys[0].id.as_str())).expect("Ivy's item").clone();
    let attempt = send::send_message(
        &first.state.flow,
        &mut ivy_item,
        &ChannelId::new(CHANNEL).unwrap(),
        &surveys[0].id,
        OutboundMessage::Invitation,
        due,
    )
    .await
    .expect("attempted");
    assert!(matches!(attempt, outbox::Attempt::Done), "{attempt:?}");
    assert_eq!(fake.sent_to(ivy.id).len(), 1);
    let redis = first.redis.take().expect("on Redis");
    drop(first);

    // Another gateway on the same Redis takes the items once their lease ends.
    let second = Gateway::start(Some(redis)).await;
    let http = outbox::http_client(&second.state.flow).unwrap();
    let after_lease = due + outbox::DEFAULT_LEASE + SignedDuration::from_secs(1);
    outbox::run_due(&second.state.flow, &http, after_lease, Buckets::ALL).await.expect("the outbox runs");
    outbox::run_due(&second.state.flow, &http, after_lease + SignedDuration::from_secs(600), Buckets::ALL)
        .await
        .expect("again");

    assert_eq!(fake.sent_to(ivy.id).len(), 1, "Ivy's invitation is not sent twice");
    assert_eq!(fake.sent_to(jon.id).len(), 1, "Jon's invitation is not lost");
    let api = second.acme();
    for queued in &surveys {
        let shown = survey(&api, queued.id.as_str()).await;
        assert_eq!(shown["state"], "pending");
        assert!(!shown["sent_at"].is_null(), "{shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// Telegram's one message a second in a chat holds for the whole service.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateways_sending_to_one_chat_at_once_send_a_second_apart() {
    // Two gateway processes on one Redis: they share nothing else.
    let redis = RedisServer::start();
    let (key, dir) = (auth::new_key(), RunDir::fresh());
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_ratewire-load"));
    let on_redis = format!("redis_url = {:?}", redis.url());
    let gateways = ServerProcess::gateways(program, &dir.0, 2, &on_redis, &key, "").await.expect("the gateways start");
    let apis: Vec<Api> = gateways.iter().map(|gateway| Api::new(&gateway.base, Some(&key))).collect();
    let fake = FakeTelegram::start(TOKEN).await;
    let config = create_config(&apis[0], json!({ "scale": "stars:5" })).await;
    apis[0].post("/v1/channels", &connect_body(&config, &fake, TOKEN, CHANNEL)).await.expect(201);
    let dan = TelegramUser::new(6_000_020, "Dan", None);
    fake.start_bot(&dan).await.expect(200);
    // Four of Dan's conversations close at once, their invitations made through both gateways,
    // each of which sends what it queued.
    let invitations = (0..4).map(|n| {
        let (api, dan) = (&apis[n % 2], &dan);
        async move { invite(api, &format!("conv-dan-{n}"), dan).await }
    });
    futures_util::future::join_all(invitations).await;
    fake.wait_for("the four invitations", |_| fake.sent_to(dan.id).len() == 4).await;
    let sent = fake.sent_to(dan.id);
    for pair in sent.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= SignedDuration::from_secs(1), "two messages to one chat {gap:?} apart");
    }
}
