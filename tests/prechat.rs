//! Pre-chats end to end on the messaging channels: the real gateway in this process, a channel
//! pointed at a fake platform on loopback (Graph API for WhatsApp and Messenger, the Bot API for
//! Telegram), the helpdesk reporting a conversation the end user opened, and the end user
//! answering by typing and tapping, in Spanish.
//!
//! Every test runs on the embedded store, on one Redis server and on a Redis Cluster.

use jiff::Timestamp;
use ratewire_core::{ChannelId, RecipientId, TenantId};
use ratewire_gateway::flow::prechat::{self, Answer};
use ratewire_gateway::flow::records::ChannelInUse;
use ratewire_tests::fake_graph::{self, FakeGraph, GraphRequest, PHONE_NUMBER_ID};
use ratewire_tests::fake_messenger::FakeMessenger;
use ratewire_tests::fake_telegram::{FakeTelegram, TelegramUser};
use ratewire_tests::service::{ACME, Api, Gateway, Receiver};
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-test";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
const BOT_TOKEN: &str = "7012345678:AAH0test-Token_of_the_bot";

ratewire_tests::on_every_store!(
    a_whatsapp_prechat_asks_an_invalid_email_again_in_spanish_and_tells_the_business,
    a_telegram_prechat_asks_an_invalid_email_again_in_spanish,
    a_messenger_prechat_asks_an_invalid_email_again_in_spanish,
    a_prechat_left_unanswered_is_abandoned_and_a_known_contact_is_not_asked_again,
);

/// A pre-chat: name, email, an optional order id, the inquiry type (the routing question) and
/// consent.
fn prechat_config(abandon_after_secs: u32) -> Value {
    json!({
        "scale": "stars:5",
        "prechat": {
            "abandon_after_secs": abandon_after_secs,
            "inquiry_question": "inquiry",
            "questionnaire": {
                "questions": [
                    {"id": "name", "kind": "name"},
                    {"id": "email", "kind": "email"},
                    {"id": "order_id", "kind": "identifier", "pattern": "[A-Z]{2}[0-9]{6}", "example": "AB123456",
                     "case_insensitive": true, "required": false,
                     "text": {"en": "What's your order number?", "es": "¿Cuál es su número de pedido?"}},
                    {"id": "inquiry", "kind": "single_choice",
                     "text": {"en": "What is it about?", "es": "¿Sobre qué es su consulta?"},
                     "options": [
                        {"id": "billing", "label": {"en": "Billing", "es": "Facturación"}},
                        {"id": "shipping", "label": {"en": "Shipping", "es": "Envío"}},
                        {"id": "other", "label": {"en": "Something else", "es": "Otra cosa"}}
                     ]},
                    {"id": "consent", "kind": "consent", "policy_url": "https://acme.example/privacy"}
                ]
            }
        }
    })
}

/// A configuration with a pre-chat; its id.
async fn create_config(api: &Api, abandon_after_secs: u32) -> String {
    let body = json!({ "name": "Pre-chat", "config": prechat_config(abandon_after_secs) });
    api.post("/v1/configs", &body).await.expect(201)["id"].as_str().expect("a configuration has an id").to_owned()
}

/// The helpdesk reports a conversation `id` that the end user opened on `channel`.
async fn opens(api: &Api, id: &str, channel: &str, user: &str, languages: &[&str]) {
    let open =
        json!({ "id": id, "opened_by": "end_user", "channel": channel, "recipient": user, "languages": languages });
    api.post("/v1/conversations", &open).await.expect(201);
}

/// A message ratewire sent the end user: its text and the choices to tap, as `(payload, title)`.
struct Said {
    text: String,
    choices: Vec<(String, String)>,
    /// The platform's id of the message, for a tap on it.
    message_id: String,
}

/// An end user on a platform, as the tests drive them: each message of theirs gets one back.
trait EndUser {
    /// The `count`th message ratewire sent them, once it is sent.
    async fn said(&self, count: usize) -> Said;
    /// How many messages ratewire sent them so far.
    fn heard(&self) -> usize;
    /// They type `text`, as message `id`.
    async fn types(&self, id: &str, text: &str);
    /// They tap the choice titled `title` of `on`, as message `id`.
    async fn taps(&self, id: &str, on: &Said, title: &str);

    /// They type `text`; what they are told.
    async fn says(&self, id: &str, text: &str) -> Said {
        let heard = self.heard();
        self.types(id, text).await;
        self.said(heard + 1).await
    }
}

/// The pre-chat the helpdesk started, answered in Spanish, an invalid email first.
async fn answers_in_spanish(user: &impl EndUser) {
    let first = user.said(1).await;
    assert_eq!(first.text, "¿Cómo se llama?");
    // Platforms give a message's time to the second, and what was written in the second the
    // pre-chat started in is taken as written before it: a person answers later than that.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(user.says("m1", "Me llamo Ana Gil").await.text, "¿Cuál es su correo electrónico?");
    // Not an address: asked again, in Spanish, saying what to send.
    let again = user.says("m2", "ana arroba example punto com").await;
    assert_eq!(again.text, "Eso no parece un correo electrónico. Envíelo así: nombre@ejemplo.com.");
    let order = user.says("m3", "es Ana.Gil@Example.com").await;
    assert_eq!(order.text, "¿Cuál es su número de pedido?\nOpcional: envíe «saltar» para omitirla.");
    let inquiry = user.says("m4", "mi pedido es el #ab123456").await;
    assert_eq!(inquiry.text, "¿Sobre qué es su consulta?");
    let titles: Vec<&str> = inquiry.choices.iter().map(|(_, title)| title.as_str()).collect();
    assert_eq!(titles, ["Facturación", "Envío", "Otra cosa"]);
    // A tap on "Envío": the consent, with its link and yes/no to tap.
    let heard = user.heard();
    user.taps("m5", &inquiry, "Envío").await;
    let consent = user.said(heard + 1).await;
    assert_eq!(consent.text, "¿Acepta nuestra política de privacidad? https://acme.example/privacy");
    let titles: Vec<&str> = consent.choices.iter().map(|(_, title)| title.as_str()).collect();
    assert_eq!(titles, ["Sí", "No"]);
    assert_eq!(user.says("m6", "sí").await.text, "¡Gracias!");
}

/// What the end user answered, as the contact keeps it.
fn answered() -> Value {
    json!({ "name": "Ana Gil", "email": "Ana.Gil@example.com", "order_id": "AB123456", "inquiry": "shipping", "consent": true })
}

// ---------------------------------------------------------------------------------------------
// WhatsApp.

struct WhatsappUser<'a> {
    graph: &'a FakeGraph,
    hook: String,
    wa_id: &'a str,
}

impl WhatsappUser<'_> {
    /// Connects WhatsApp channel `wa` on `config`.
    async fn connect<'a>(gw: &Gateway, graph: &'a FakeGraph, config: &str, wa_id: &'a str) -> WhatsappUser<'a> {
        let body = json!({
            "id": "wa", "kind": "whatsapp", "name": "Support line", "config": config,
            "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
            "settings": { "phone_number_id": PHONE_NUMBER_ID, "api_base_url": graph.base_url },
        });
        gw.acme().post("/v1/channels", &body).await.expect(201);
        WhatsappUser { graph, hook: format!("{}/hooks/{ACME}/wa", gw.base), wa_id }
    }

    async fn deliver(&self, message: Value) {
        let delivery = fake_graph::messages(PHONE_NUMBER_ID, vec![message]);
        let (status, answer) = self.graph.webhooks.post(&self.hook, &delivery).await;
        assert_eq!(status, 200, "the delivery is taken: {answer}");
    }
}

impl EndUser for WhatsappUser<'_> {
    async fn said(&self, count: usize) -> Said {
        let send: GraphRequest = self.graph.wait_for_sends_to(self.wa_id, count).await.swap_remove(count - 1);
        let json = &send.json;
        let text = match json["type"].as_str() {
            Some("text") => &json["text"]["body"],
            _ => &json["interactive"]["body"]["text"],
        };
        let buttons = json["interactive"]["action"]["buttons"].as_array().cloned().unwrap_or_default();
        let choices = buttons
            .iter()
            .map(|b| (b["reply"]["id"].as_str().unwrap().to_owned(), b["reply"]["title"].as_str().unwrap().to_owned()))
            .collect();
        Said { text: text.as_str().unwrap_or_default().to_owned(), choices, message_id: send.message_id.unwrap() }
    }

    fn heard(&self) -> usize {
        self.graph.sends_to(self.wa_id).len()
    }

    async fn types(&self, id: &str, text: &str) {
        self.deliver(fake_graph::text(self.wa_id, &format!("wamid.{id}"), Timestamp::now(), text)).await;
    }

    async fn taps(&self, id: &str, on: &Said, title: &str) {
        let (payload, _) = on.choices.iter().find(|(_, t)| t == title).expect("the choice");
        let id = format!("wamid.{id}");
        self.deliver(fake_graph::button_reply(self.wa_id, &id, Timestamp::now(), &on.message_id, payload, title)).await;
    }
}

async fn a_whatsapp_prechat_asks_an_invalid_email_again_in_spanish_and_tells_the_business(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["prechat.completed"] })).await.expect(201);
    let config = create_config(&api, 1800).await;
    let user = WhatsappUser::connect(&gw, &graph, &config, "34612345678").await;

    // The end user writes in; the helpdesk reports the conversation they opened, in Spanish,
    // before ratewire has that message: when it comes, it is the conversation's, not the name.
    let written = Timestamp::now() - jiff::SignedDuration::from_secs(2);
    opens(&api, "c1", "wa", user.wa_id, &["es-ES"]).await;
    user.deliver(fake_graph::text(user.wa_id, "wamid.hola", written, "Hola, mi pedido no llegó")).await;
    answers_in_spanish(&user).await;

    // Meta delivers the last answer again: not read twice.
    user.types("m6", "sí").await;

    // The business hears of it once, signed, with what was gathered and the inquiry type.
    let posts = receiver.wait_for("prechat.completed", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!(event["type"], "prechat.completed");
    let prechat = &event["prechat"];
    assert_eq!(
        (&prechat["status"], &prechat["conversation"], &prechat["locale"]),
        (&json!("completed"), &json!("c1"), &json!("es"))
    );
    assert_eq!(prechat["inquiry_type"], "shipping");
    assert_eq!(prechat["fields"], answered());
    // What was written that was not an answer is passed on with it, not lost.
    assert_eq!(prechat["messages"][0]["text"], "ana arroba example punto com");
    let email = prechat["outcomes"].as_array().unwrap().iter().find(|o| o["question"] == "email").unwrap().clone();
    assert_eq!(email["invalid_replies"], 1);
    assert!(posts[0].header("ratewire-signature").is_some_and(|s| s.starts_with("t=")));

    // The contact keeps the answers; one ratewire knows nothing of has none.
    let contact = api.get(&format!("/v1/contacts/wa/{}", user.wa_id)).await.expect(200);
    assert_eq!((&contact["fields"], &contact["prechat"]["status"]), (&answered(), &json!("completed")));
    let stranger = api.get("/v1/contacts/wa/34600000000").await.expect(200);
    assert_eq!((&stranger["fields"], &stranger["prechat"]), (&json!({}), &Value::Null));
    assert_eq!(api.get(&format!("/v1/contacts/none/{}", user.wa_id)).await.error(404), "not_found");

    // The reports count it: completed, the email read at the second reply.
    let report = api.get("/v1/reports/prechat").await.expect(200);
    assert_eq!(
        (&report["started"], &report["completed"], &report["completion_rate"]),
        (&json!(1), &json!(1), &json!(1.0))
    );
    let email = report["questions"].as_array().unwrap().iter().find(|q| q["question"] == "email").unwrap().clone();
    assert_eq!((&email["reached"], &email["answered"], &email["invalid_replies"]), (&json!(1), &json!(1), &json!(1)));

    // Written after it ended, a message is the conversation's: no answer from the pre-chat.
    user.types("m7", "¿Hay alguien?").await;
    gw.outbox_empty(ACME).await;
    assert_eq!(user.heard(), 7, "nothing more said");
    assert_eq!(receiver.posts().len(), 1, "the event once");

    // A platform delivers a message again only when its handling failed (the handled mark is
    // missing): the last answer, taken again, is still the pre-chat's, and what it called for is
    // done again under the same ids, so the event reaches the business as the one it had.
    let flow = &gw.state.flow;
    let (tenant, channel) = (TenantId::new(ACME).unwrap(), ChannelId::new("wa").unwrap());
    let in_use = ChannelInUse::of(&flow.store, &tenant, &channel);
    let from = RecipientId::new(user.wa_id).unwrap();
    let again =
        prechat::take(flow, &in_use, &from, Answer::Typed("sí"), ("wamid.m6", Timestamp::now()), Timestamp::now())
            .await;
    assert!(again.expect("taken"), "a redelivered answer is the pre-chat's, not the conversation's");
    let posts = receiver.wait_for("the event again", |posts| posts.len() == 2).await;
    assert_eq!(posts[1].json()["id"], posts[0].json()["id"]);
    let report = api.get("/v1/reports/prechat").await.expect(200);
    assert_eq!(report["completed"], 1, "counted once");
}

// ---------------------------------------------------------------------------------------------
// Telegram.

struct TelegramEndUser<'a> {
    fake: &'a FakeTelegram,
    user: TelegramUser,
}

impl EndUser for TelegramEndUser<'_> {
    async fn said(&self, count: usize) -> Said {
        self.fake.wait_for_texts(self.user.id, count).await;
        let sent = self.fake.sent_to(self.user.id).swap_remove(count - 1);
        let rows = sent.body["reply_markup"]["inline_keyboard"].as_array().cloned().unwrap_or_default();
        let choices = rows
            .iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| (b["callback_data"].as_str().unwrap().to_owned(), b["text"].as_str().unwrap().to_owned()))
            .collect();
        let message_id = sent.answer["result"]["message_id"].as_i64().expect("a sent message has an id");
        Said {
            text: sent.body["text"].as_str().unwrap_or_default().to_owned(),
            choices,
            message_id: message_id.to_string(),
        }
    }

    fn heard(&self) -> usize {
        self.fake.sent_to(self.user.id).len()
    }

    async fn types(&self, _id: &str, text: &str) {
        let answer = self.fake.deliver(&self.fake.text_update(&self.user, text, Timestamp::now())).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }

    async fn taps(&self, _id: &str, on: &Said, title: &str) {
        let (payload, _) = on.choices.iter().find(|(_, t)| t == title).expect("the choice");
        let update = self.fake.tap_update(&self.user, on.message_id.parse().unwrap(), payload);
        assert_eq!(self.fake.deliver(&update).await.status, 200);
    }
}

async fn a_telegram_prechat_asks_an_invalid_email_again_in_spanish(gw: Gateway) {
    let api = gw.acme();
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let config = create_config(&api, 1800).await;
    let body = json!({
        "id": "tg", "kind": "telegram", "name": "Support bot", "config": config,
        "secrets": { "bot_token": BOT_TOKEN }, "settings": { "api_base_url": fake.url },
    });
    api.post("/v1/channels", &body).await.expect(201);
    // Telegram says the user's language with their message: the helpdesk needn't.
    let user = TelegramEndUser { fake: &fake, user: TelegramUser::new(4242, "Ana", Some("es")) };
    user.types("hola", "Hola").await;
    opens(&api, "c1", "tg", &user.user.recipient(), &[]).await;
    answers_in_spanish(&user).await;
    let contact = api.get(&format!("/v1/contacts/tg/{}", user.user.recipient())).await.expect(200);
    assert_eq!(contact["fields"], answered());
}

// ---------------------------------------------------------------------------------------------
// Messenger.

struct MessengerUser<'a> {
    fake: &'a FakeMessenger,
    hook: String,
    psid: &'a str,
}

impl MessengerUser<'_> {
    async fn deliver(&self, event: Value) {
        let (status, body) = self.fake.webhooks.post(&self.hook, &self.fake.notification(vec![event])).await;
        assert_eq!(status, 200, "{body}");
    }
}

impl EndUser for MessengerUser<'_> {
    async fn said(&self, count: usize) -> Said {
        let sent = self.fake.wait_for_sends(self.psid, count).await.swap_remove(count - 1);
        let replies = sent.json["message"]["quick_replies"].as_array().cloned().unwrap_or_default();
        let choices = replies
            .iter()
            .map(|r| (r["payload"].as_str().unwrap().to_owned(), r["title"].as_str().unwrap().to_owned()))
            .collect();
        Said { text: sent.text().to_owned(), choices, message_id: sent.message_id.unwrap_or_default() }
    }

    fn heard(&self) -> usize {
        self.fake.sends_to(self.psid).len()
    }

    async fn types(&self, id: &str, text: &str) {
        self.deliver(self.fake.text(self.psid, &format!("mid.{id}"), text, Timestamp::now())).await;
    }

    async fn taps(&self, id: &str, on: &Said, title: &str) {
        let (payload, _) = on.choices.iter().find(|(_, t)| t == title).expect("the choice");
        self.deliver(self.fake.quick_reply(self.psid, &format!("mid.{id}"), title, payload, Timestamp::now())).await;
    }
}

async fn a_messenger_prechat_asks_an_invalid_email_again_in_spanish(gw: Gateway) {
    let api = gw.acme();
    let fake = FakeMessenger::start().await;
    let config = create_config(&api, 1800).await;
    let body = json!({
        "id": "fb", "kind": "messenger", "name": "Support page", "config": config,
        "secrets": { "page_access_token": fake.page_token, "app_secret": fake.webhooks.app_secret },
        "settings": { "page_id": fake.page_id, "api_base_url": fake.base },
    });
    let channel = api.post("/v1/channels", &body).await.expect(201);
    let hook = channel["webhook_url"].as_str().unwrap().to_owned();
    let user = MessengerUser { fake: &fake, hook, psid: "6024551234567890" };
    user.types("hola", "Hola").await;
    opens(&api, "c1", "fb", user.psid, &["es"]).await;
    answers_in_spanish(&user).await;
    let contact = api.get(&format!("/v1/contacts/fb/{}", user.psid)).await.expect(200);
    assert_eq!(contact["fields"], answered());

    // A second conversation whose pre-chat is left half-way when the agent closes it: given up
    // then, so what the end user writes next (the rating the close asks for) is not an answer.
    let other = MessengerUser { fake: &fake, hook: user.hook.clone(), psid: "6024559999999999" };
    other.types("hola2", "Hola").await;
    opens(&api, "c2", "fb", other.psid, &["es"]).await;
    assert_eq!(other.said(1).await.text, "¿Cómo se llama?");
    api.post("/v1/conversations/c2/events", &json!({ "type": "closed" })).await.expect(200);
    let contact = api.get(&format!("/v1/contacts/fb/{}", other.psid)).await.expect(200);
    assert_eq!(
        (&contact["prechat"]["status"], &contact["prechat"]["stopped_at"]),
        (&json!("abandoned"), &json!("name"))
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    other.types("late", "5").await;
    gw.outbox_empty(ACME).await;
    assert_eq!(other.heard(), 1, "the pre-chat says nothing more");
}

// ---------------------------------------------------------------------------------------------
// Given up, and asked again.

async fn a_prechat_left_unanswered_is_abandoned_and_a_known_contact_is_not_asked_again(gw: Gateway) {
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url })).await.expect(201);
    let config = create_config(&api, 5).await;
    let user = WhatsappUser::connect(&gw, &graph, &config, "5511987654321").await;

    user.types("oi", "oi").await;
    opens(&api, "c1", "wa", user.wa_id, &["pt-BR"]).await;
    assert_eq!(user.said(1).await.text, "Qual é o seu nome?");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(user.says("m1", "Joana").await.text, "Qual é o seu e-mail?");

    // Then nothing: five seconds later it is given up, and the business is told where it stopped.
    let abandoned = |post: &ratewire_tests::service::Post| post.json()["type"] == "prechat.abandoned";
    let posts = receiver.wait_for("prechat.abandoned", |posts| posts.iter().any(abandoned)).await;
    let event = posts.iter().find(|p| abandoned(p)).unwrap().json();
    assert_eq!(event["prechat"]["stopped_at"], "email");
    assert_eq!(event["prechat"]["fields"], json!({ "name": "Joana" }));
    // The reports show where it stopped.
    let report = api.get("/v1/reports/prechat").await.expect(200);
    assert_eq!((&report["abandoned"], &report["completion_rate"]), (&json!(1), &json!(0.0)));
    let email = report["questions"].as_array().unwrap().iter().find(|q| q["question"] == "email").unwrap().clone();
    assert_eq!((&email["stopped"], &email["drop_off_rate"]), (&json!(1), &json!(1.0)));
    // What was answered is kept: the next conversation greets her by name and asks on from there.
    let contact = api.get(&format!("/v1/contacts/wa/{}", user.wa_id)).await.expect(200);
    assert_eq!(contact["fields"], json!({ "name": "Joana" }));
    let heard = user.heard();
    opens(&api, "c2", "wa", user.wa_id, &["pt-BR"]).await;
    assert_eq!(user.said(heard + 1).await.text, "Olá, Joana! Qual é o seu e-mail?");
    // The same conversation reported again starts nothing.
    let again = json!({ "id": "c2", "opened_by": "end_user", "channel": "wa", "recipient": user.wa_id });
    assert_eq!(api.post("/v1/conversations", &again).await.error(409), "already_exists");
    gw.outbox_empty(ACME).await;
    assert_eq!(user.heard(), heard + 1, "no second greeting");
}
