//! Pre-chats end to end on a messaging channel: the real gateway in this process, a WhatsApp
//! channel pointed at a fake Graph API on loopback, the helpdesk reporting a conversation the
//! end user opened, and the end user answering by typing and tapping, in Spanish.
//!
//! Every test runs on the embedded store, on one Redis server and on a Redis Cluster.

use jiff::Timestamp;
use ratewire_tests::fake_graph::{self, FakeGraph, GraphRequest};
use ratewire_tests::service::{ACME, Api, Gateway, Receiver};
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKZAZD-test";
const APP_SECRET: &str = "0f6a3e5c2d1b4a79e8f7c6d5b4a39281";
const PHONE_NUMBER_ID: &str = "106540352242922";

ratewire_tests::on_every_store!(
    a_prechat_asks_an_invalid_email_again_in_spanish_and_tells_the_business,
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
                     "text": {"en": "What's your order number?", "es": "¿Cuál es tu número de pedido?"}},
                    {"id": "inquiry", "kind": "single_choice",
                     "text": {"en": "What is it about?", "es": "¿Sobre qué es tu consulta?"},
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

/// Connects WhatsApp channel `wa` on a configuration with `config`; its webhook URL.
async fn connect(gw: &Gateway, graph: &FakeGraph, config: Value) -> String {
    let api = gw.acme();
    let config = api.post("/v1/configs", &json!({ "name": "Pre-chat", "config": config })).await.expect(201);
    let body = json!({
        "id": "wa", "kind": "whatsapp", "name": "Support line", "config": config["id"],
        "secrets": { "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET },
        "settings": { "phone_number_id": PHONE_NUMBER_ID, "api_base_url": graph.base_url },
    });
    api.post("/v1/channels", &body).await.expect(201);
    format!("{}/hooks/{ACME}/wa", gw.base)
}

/// The end user sends `messages`, signed as Meta signs them.
async fn deliver(graph: &FakeGraph, hook: &str, messages: Vec<Value>) {
    let (status, answer) = graph.webhooks.post(hook, &fake_graph::messages(PHONE_NUMBER_ID, messages)).await;
    assert_eq!(status, 200, "the delivery is taken: {answer}");
}

/// The end user writes `text`; the next message they get.
async fn writes(graph: &FakeGraph, hook: &str, user: &str, id: &str, text: &str) -> GraphRequest {
    let before = graph.sends_to(user).len();
    deliver(graph, hook, vec![fake_graph::text(user, id, Timestamp::now(), text)]).await;
    graph.wait_for_sends_to(user, before + 1).await.pop().expect("an answer")
}

/// The helpdesk reports a conversation `id` that the end user opened, in `languages`.
async fn opens(api: &Api, id: &str, user: &str, languages: &[&str]) {
    let open = json!({ "id": id, "opened_by": "end_user", "channel": "wa", "recipient": user, "languages": languages });
    api.post("/v1/conversations", &open).await.expect(201);
}

fn text_of(send: &GraphRequest) -> &str {
    match send.json["type"].as_str() {
        Some("text") => send.json["text"]["body"].as_str().unwrap_or_default(),
        _ => send.json["interactive"]["body"]["text"].as_str().unwrap_or_default(),
    }
}

/// The (id, title) of a message's reply buttons.
fn buttons(send: &GraphRequest) -> Vec<(String, String)> {
    let buttons = send.json["interactive"]["action"]["buttons"].as_array().cloned().unwrap_or_default();
    buttons
        .iter()
        .map(|b| {
            let reply = &b["reply"];
            (
                reply["id"].as_str().unwrap_or_default().to_owned(),
                reply["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn a_prechat_asks_an_invalid_email_again_in_spanish_and_tells_the_business(gw: Gateway) {
    const USER: &str = "34612345678";
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["prechat.completed"] })).await.expect(201);
    let hook = connect(&gw, &graph, prechat_config(1800)).await;

    // The end user writes in; the helpdesk reports the conversation they opened, in Spanish.
    deliver(&graph, &hook, vec![fake_graph::text(USER, "wamid.hola", Timestamp::now(), "Hola, mi pedido no llegó")])
        .await;
    opens(&api, "c1", USER, &["es-ES"]).await;
    let first = graph.wait_for_sends_to(USER, 1).await;
    assert_eq!(text_of(&first[0]), "¿Cómo te llamas?");

    let asked = writes(&graph, &hook, USER, "wamid.1", "Me llamo Ana Gil").await;
    assert_eq!(text_of(&asked), "¿Cuál es tu correo electrónico?");
    // Not an address: asked again, in Spanish, saying what to send.
    let again = writes(&graph, &hook, USER, "wamid.2", "ana arroba example punto com").await;
    assert_eq!(text_of(&again), "Eso no parece un correo electrónico. Envíalo así: nombre@ejemplo.com.");
    let asked = writes(&graph, &hook, USER, "wamid.3", "es Ana.Gil@Example.com").await;
    assert_eq!(text_of(&asked), "¿Cuál es tu número de pedido?\nOpcional: envía «saltar» para omitirla.");
    let asked = writes(&graph, &hook, USER, "wamid.4", "mi pedido es el #ab123456").await;
    assert_eq!(text_of(&asked), "¿Sobre qué es tu consulta?");
    let choices = buttons(&asked);
    let titles: Vec<&str> = choices.iter().map(|(_, title)| title.as_str()).collect();
    assert_eq!(titles, ["Facturación", "Envío", "Otra cosa"]);

    // A tap on "Envío": the consent is asked, with its link and yes/no buttons.
    let (payload, title) = choices[1].clone();
    let on = asked.message_id.clone().expect("the fake accepted it");
    let tap = fake_graph::button_reply(USER, "wamid.5", Timestamp::now(), &on, &payload, &title);
    deliver(&graph, &hook, vec![tap.clone()]).await;
    let consent = graph.wait_for_sends_to(USER, 6).await.pop().unwrap();
    assert_eq!(text_of(&consent), "¿Aceptas nuestra política de privacidad? https://acme.example/privacy");
    let titles: Vec<String> = buttons(&consent).into_iter().map(|(_, title)| title).collect();
    assert_eq!(titles, ["Sí", "No"]);
    // Meta delivers the tap again: not read twice.
    deliver(&graph, &hook, vec![tap]).await;

    let closing = writes(&graph, &hook, USER, "wamid.6", "sí").await;
    assert_eq!(text_of(&closing), "¡Gracias!");

    // The business hears of it once, signed, with what was gathered and the inquiry type.
    let posts = receiver.wait_for("prechat.completed", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!(event["type"], "prechat.completed");
    let prechat = &event["prechat"];
    assert_eq!(prechat["status"], "completed");
    assert_eq!(prechat["conversation"], "c1");
    assert_eq!(prechat["locale"], "es");
    assert_eq!(prechat["inquiry_type"], "shipping");
    assert_eq!(
        prechat["fields"],
        json!({ "name": "Ana Gil", "email": "Ana.Gil@example.com", "order_id": "AB123456", "inquiry": "shipping", "consent": true })
    );
    // What was written that was not an answer is passed on with it, not lost.
    assert_eq!(prechat["messages"][0]["text"], "ana arroba example punto com");
    let email = prechat["outcomes"].as_array().unwrap().iter().find(|o| o["question"] == "email").unwrap().clone();
    assert_eq!(email["invalid_replies"], 1);
    assert!(posts[0].header("ratewire-signature").is_some_and(|s| s.starts_with("t=")));

    // The contact keeps the answers.
    let contact = api.get(&format!("/v1/contacts/wa/{USER}")).await.expect(200);
    assert_eq!(contact["fields"]["email"], "Ana.Gil@example.com");
    assert_eq!(contact["prechat"]["status"], "completed");
    let stranger = api.get("/v1/contacts/wa/34600000000").await.expect(200);
    assert_eq!((&stranger["fields"], &stranger["prechat"]), (&json!({}), &Value::Null));
    assert_eq!(api.get(&format!("/v1/contacts/none/{USER}")).await.error(404), "not_found");

    // Written after it ended, a message is the conversation's: no answer from the pre-chat.
    deliver(&graph, &hook, vec![fake_graph::text(USER, "wamid.7", Timestamp::now(), "¿Hay alguien?")]).await;
    gw.outbox_empty(ACME).await;
    assert_eq!(graph.sends_to(USER).len(), 7, "nothing more said");
    assert_eq!(receiver.posts().len(), 1, "the event once");
}

async fn a_prechat_left_unanswered_is_abandoned_and_a_known_contact_is_not_asked_again(gw: Gateway) {
    const USER: &str = "5511987654321";
    let api = gw.acme();
    let graph = FakeGraph::start(ACCESS_TOKEN, APP_SECRET).await;
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url })).await.expect(201);
    let hook = connect(&gw, &graph, prechat_config(5)).await;

    deliver(&graph, &hook, vec![fake_graph::text(USER, "wamid.oi", Timestamp::now(), "oi")]).await;
    opens(&api, "c1", USER, &["pt-BR"]).await;
    let first = graph.wait_for_sends_to(USER, 1).await;
    assert_eq!(text_of(&first[0]), "Qual é o seu nome?");
    let asked = writes(&graph, &hook, USER, "wamid.1", "Joana").await;
    assert_eq!(text_of(&asked), "Qual é o seu e-mail?");

    // Then nothing: five seconds later it is given up, and the business is told where it stopped.
    let posts = receiver
        .wait_for("prechat.abandoned", |posts| posts.iter().any(|p| p.json()["type"] == "prechat.abandoned"))
        .await;
    let event = posts.iter().find(|p| p.json()["type"] == "prechat.abandoned").unwrap().json();
    assert_eq!(event["prechat"]["stopped_at"], "email");
    assert_eq!(event["prechat"]["fields"], json!({ "name": "Joana" }));
    // What was answered is kept: the next conversation greets her by name and asks on from there.
    let contact = api.get(&format!("/v1/contacts/wa/{USER}")).await.expect(200);
    assert_eq!(contact["fields"], json!({ "name": "Joana" }));
    let sent = graph.sends_to(USER).len();
    opens(&api, "c2", USER, &["pt-BR"]).await;
    let greeting = graph.wait_for_sends_to(USER, sent + 1).await.pop().unwrap();
    assert_eq!(text_of(&greeting), "Olá, Joana! Qual é o seu e-mail?");
    // The same conversation reported again starts nothing.
    let again = json!({ "id": "c2", "opened_by": "end_user", "channel": "wa", "recipient": USER });
    assert_eq!(api.post("/v1/conversations", &again).await.error(409), "already_exists");
    gw.outbox_empty(ACME).await;
    assert_eq!(graph.sends_to(USER).len(), sent + 1, "no second greeting");
}
