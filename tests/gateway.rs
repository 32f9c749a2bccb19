//! The gateway end to end: the real service in this process on a free loopback port, with its
//! sweeper and webhook deliverer running, called over real HTTP and a real WebSocket the way a
//! business's helpdesk, its server, its site's widget and its webhook endpoint would.
//!
//! Every test runs twice: on the embedded store and on Redis (a `redis-server` of its own).

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp, ToSpan};
use ratewire_core::store::Buckets;
use ratewire_core::{
    ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId, TenantId,
};
use ratewire_gateway::flow::outbox;
use ratewire_tests::redis_setups::RedisCluster;
use ratewire_tests::service::{
    ACME, Answer, Api, BODY_LIMIT, GLOBEX, Gateway, Post, Receiver, Widget, client, eventually, visitor_token,
};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

ratewire_tests::on_both_stores!(
    configurations_and_channels,
    closes_invite_by_the_auto_invite_rules,
    a_sampled_configuration_invites_its_share_and_decides_each_conversation_once,
    a_conversation_is_invited_again_only_as_its_repeat_policy_says,
    an_end_user_asked_within_the_cooldown_is_not_asked_again,
    agents_invite_as_the_configuration_allows,
    visitors_rate_through_the_widget,
    text_in_another_conversation_is_never_the_last_surveys_comment,
    a_typed_score_changes_the_rating_as_a_tap_does,
    a_survey_keeps_its_rules_when_the_configuration_changes,
    late_ratings_are_refused_and_the_sweeper_expires_the_survey,
    reports_count_what_came_of_the_surveys,
    tenants_never_see_each_others_data,
    event_webhooks_are_signed_and_retried_until_delivered,
    health_and_readiness,
    a_configuration_reports_every_problem_at_once,
    reasons_default_the_same_on_every_scale,
);

// ---------------------------------------------------------------------------------------------
// Fixtures: what a business sets up through the API.

/// Creates a configuration; its id.
async fn create_config(api: &Api, name: &str, config: Value) -> String {
    let body = api.post("/v1/configs", &json!({ "name": name, "config": config })).await.expect(201);
    body["id"].as_str().expect("a configuration has an id").to_owned()
}

/// A connected web widget channel, with the secret its visitors' tokens are signed with.
struct Channel {
    id: String,
    visitor_secret: String,
}

/// Connects a web widget channel bound to `config`, with the given id or a generated one.
async fn connect_channel(api: &Api, id: Option<&str>, config: &str) -> Channel {
    let mut body = json!({ "kind": "web_widget", "name": "Site chat", "config": config });
    if let Some(id) = id {
        body["id"] = json!(id);
    }
    let channel = api.post("/v1/channels", &body).await.expect(201);
    Channel {
        id: channel["id"].as_str().expect("a channel has an id").to_owned(),
        visitor_secret: channel["visitor_secret"].as_str().expect("a widget channel has a visitor secret").to_owned(),
    }
}

fn end_user(id: &str) -> Value {
    json!({ "kind": "end_user", "id": id })
}

fn agent(id: &str) -> Value {
    json!({ "kind": "agent", "id": id })
}

fn bot(id: &str) -> Value {
    json!({ "kind": "bot", "id": id })
}

/// The widget visitor a conversation's survey goes to.
fn visitor_of(conversation: &str) -> String {
    format!("visitor-{conversation}")
}

/// Opens a conversation with its visitor ([`visitor_of`]) on `channel`, at `at` or now, and
/// reports its messages, each `(author, length)`, at the same time.
async fn converse(
    api: &Api,
    channel: &str,
    id: &str,
    opened_by: &str,
    at: Option<Timestamp>,
    messages: &[(Value, u32)],
) {
    let open = json!({
        "id": id, "opened_by": opened_by, "channel": channel, "recipient": visitor_of(id),
        "languages": ["en"], "at": at,
    });
    api.post("/v1/conversations", &open).await.expect(201);
    for (author, length) in messages {
        let message = json!({ "type": "message", "author": author, "length": length, "at": at });
        api.post(&format!("/v1/conversations/{id}/events"), &message).await.expect(200);
    }
}

/// Closes a conversation (at `at`, or now); the answer's `invitation`: whether one was sent.
async fn close(api: &Api, id: &str, at: Option<Timestamp>) -> Value {
    let answer = api.post(&format!("/v1/conversations/{id}/events"), &json!({ "type": "closed", "at": at })).await;
    let body = answer.expect(200);
    assert_eq!(body["conversation"]["status"], "closed");
    body["invitation"].clone()
}

async fn reopen(api: &Api, id: &str) {
    let body = api.post(&format!("/v1/conversations/{id}/events"), &json!({ "type": "reopened" })).await.expect(200);
    assert_eq!(body["conversation"]["status"], "open");
}

/// An agent's invitation for `conversation`'s visitor.
async fn invite(api: &Api, channel: &str, conversation: &str, agent: Option<&str>) -> Answer {
    let mut body = json!({ "conversation": conversation, "channel": channel, "recipient": visitor_of(conversation) });
    if let Some(agent) = agent {
        body["agent"] = json!(agent);
    }
    api.post("/v1/invitations", &body).await
}

/// The id of a survey as the API shows it.
fn id_of(survey: &Value) -> String {
    survey["id"].as_str().unwrap_or_else(|| panic!("not a survey: {survey}")).to_owned()
}

/// Rates a survey as its visitor does in the widget: a tap on a level.
async fn rate_in_widget(gw: &Gateway, channel: &Channel, visitor: &str, survey: &str, score: u8) {
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, visitor).await;
    assert_eq!(widget.view().await["id"], survey, "the widget shows the visitor's survey");
    widget.send(json!({ "type": "rate", "survey": survey, "score": score })).await;
    widget.until_view(|view| view["score"] == score).await;
}

/// Now, to the second.
fn now() -> Timestamp {
    ratewire_tests::now()
}

fn timestamp(value: &Value) -> Timestamp {
    value.as_str().and_then(|text| text.parse().ok()).unwrap_or_else(|| panic!("not a timestamp: {value}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Configurations and channels.

async fn configurations_and_channels(gw: Gateway) {
    let api = gw.acme();

    // A configuration: what it sets comes back as set, the rest with its default.
    let config = json!({
        "scale": "stars:5",
        "validity_hours": 48,
        "labels": { "1": "Awful", "5": "Superb" },
        "low_rating_reasons": ["slow", "rude"],
        "content": {
            "en": { "reasons": { "rude": "Rude" } },
            "es": { "invitation": "¿Qué tal te atendimos?", "reasons": { "rude": "Maleducados" } },
        },
    });
    let created = api.post("/v1/configs", &json!({ "name": "Support", "config": config })).await.expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cfg_") && id.len() == 16, "a generated id: {id}");
    assert_eq!(created["name"], "Support");
    assert_eq!(created["revision"], 1);
    let stored = &created["config"];
    assert_eq!(stored["validity_hours"], 48);
    assert_eq!(stored["labels"], json!({ "1": "Awful", "5": "Superb" }));
    assert_eq!(stored["content"]["es"]["invitation"], "¿Qué tal te atendimos?");
    assert_eq!(stored["content"]["es"]["reasons"], json!({ "rude": "Maleducados" }));
    assert_eq!(stored["change_window_hours"], 24);
    assert_eq!(stored["invitation_method"], "both");
    assert_eq!(stored["repeat"], "once_per_conversation");
    assert_eq!(stored["auto_invite"]["min_characters"], 250);
    assert_eq!(api.get(&format!("/v1/configs/{id}")).await.expect(200), created);
    assert_eq!(api.get("/v1/configs").await.expect(200), json!({ "configs": [created] }));

    // Every problem is reported, each naming its field; nothing is stored.
    let invalid = json!({ "name": "Broken", "config": { "validity_hours": 0, "labels": { "6": "Six" } } });
    let answer = api.post("/v1/configs", &invalid).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(
        answer.json()["error"]["fields"],
        json!([
            { "field": "config.validity_hours", "problem": "must be at least 1 hour" },
            { "field": "config.labels.6", "problem": "level 6 is outside the scale stars:5" },
        ])
    );
    let answer =
        api.post("/v1/configs", &json!({ "name": " ", "config": { "labels": { "1": "Bad", "2": "bad" } } })).await;
    assert_eq!(answer.error(422), "invalid");
    let fields: Vec<Value> =
        answer.json()["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].clone()).collect();
    assert_eq!(fields, [json!("name"), json!("config.labels.2")]);

    // A language that isn't shipped, or a field that doesn't exist, is refused as it is read.
    let dutch = json!({ "name": "Dutch", "config": { "content": { "nl": { "invitation": "Hoe was het?" } } } });
    let answer = api.post("/v1/configs", &dutch).await;
    assert_eq!(answer.error(422), "invalid");
    let problem = &answer.json()["error"]["fields"][0];
    assert_eq!(problem["field"], "config.content.nl", "{problem}");
    assert!(problem["problem"].as_str().unwrap().contains(r#""nl" is not a shipped locale"#), "{problem}");
    let typo = json!({ "name": "Typo", "config": { "validty_hours": 12 } });
    let answer = api.post("/v1/configs", &typo).await;
    assert_eq!(answer.error(422), "invalid");
    let problem = &answer.json()["error"]["fields"][0];
    assert_eq!(problem["field"], "config.validty_hours", "{problem}");
    assert!(problem["problem"].as_str().unwrap().starts_with("unknown field `validty_hours`"), "{problem}");

    // A body that isn't JSON, or isn't said to be, or is too large, is refused before that.
    let answer = api.raw(Method::POST, "/v1/configs", Some("application/json"), br#"{"name": "x","#.to_vec()).await;
    assert_eq!(answer.error(400), "malformed_json");
    let body = json!({ "name": "Plain" }).to_string().into_bytes();
    let answer = api.raw(Method::POST, "/v1/configs", Some("text/plain"), body.clone()).await;
    assert_eq!(answer.error(400), "unsupported_media_type");
    let answer = api.raw(Method::POST, "/v1/configs", None, body).await;
    assert_eq!(answer.error(400), "unsupported_media_type");
    let oversized = json!({ "name": "x".repeat(10 * 1024) }).to_string().into_bytes();
    assert!(oversized.len() > BODY_LIMIT);
    let answer = api.raw(Method::POST, "/v1/configs", Some("application/json"), oversized).await;
    assert_eq!(answer.error(413), "too_large");
    // Just under the limit is fine, and a charset parameter is too.
    let text = "é".repeat(1000);
    let large = json!({ "name": "Large", "config": { "content": { "fr": { "invitation": text } } } });
    let large = large.to_string().into_bytes();
    assert!(large.len() > 2000 && large.len() < BODY_LIMIT);
    let answer = api.raw(Method::POST, "/v1/configs", Some("application/json; charset=utf-8"), large).await;
    assert_eq!(answer.expect(201)["config"]["content"]["fr"]["invitation"], text);

    // A configuration is updated as a whole, against the revision it was read at.
    let other = create_config(&api, "Numbers", json!({ "scale": "numeric:0-10" })).await;
    let update =
        json!({ "name": "Numbers v2", "revision": 1, "config": { "scale": "numeric:0-10", "validity_hours": 24 } });
    let updated = api.put(&format!("/v1/configs/{other}"), &update).await.expect(200);
    assert_eq!(
        (&updated["name"], &updated["revision"], &updated["config"]["validity_hours"]),
        (&json!("Numbers v2"), &json!(2), &json!(24))
    );
    let answer = api.put(&format!("/v1/configs/{other}"), &update).await;
    assert_eq!(answer.error(409), "stale_revision");
    let answer = api.put("/v1/configs/cfg_nowhere", &update).await;
    assert_eq!(answer.error(404), "not_found");

    // A web widget channel: its secrets in full, once.
    let answer = api.post("/v1/channels", &json!({ "kind": "web_widget", "name": "Site chat", "config": id })).await;
    let channel = answer.expect(201);
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    assert!(channel_id.starts_with("ch_"), "a generated id: {channel_id}");
    assert_eq!(channel["kind"], "web_widget");
    assert_eq!(channel["config"], id.as_str());
    assert_eq!(channel["revision"], 1);
    // The widget talks over its own socket: it has no webhook URL.
    assert!(channel.get("webhook_url").is_none(), "{channel}");
    let verify_token = channel["verify_token"].as_str().unwrap().to_owned();
    let visitor_secret = channel["visitor_secret"].as_str().unwrap().to_owned();
    for secret in [&verify_token, &visitor_secret] {
        assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()), "a secret in full: {secret}");
    }
    assert_ne!(verify_token, visitor_secret);
    let embed = channel["embed"].as_str().unwrap();
    assert!(
        embed.starts_with(&format!(
            r#"<script src="{}/widget.js" data-tenant="{ACME}" data-channel="{channel_id}""#,
            gw.base
        )),
        "{embed}"
    );

    // Reads mask them: four bullets and the last four characters.
    let masked = |secret: &str| format!("••••{}", &secret[secret.len() - 4..]);
    let read = api.get(&format!("/v1/channels/{channel_id}")).await.expect(200);
    assert_eq!(read["verify_token"], masked(&verify_token));
    assert_eq!(read["visitor_secret"], masked(&visitor_secret));
    assert!(read.get("webhook_url").is_none());
    let listed = api.get("/v1/channels").await.expect(200);
    assert_eq!(listed, json!({ "channels": [read] }));
    // The secret given once is the one the widget checks.
    let mut widget = gw.widget(ACME, &channel_id, &visitor_secret, "visitor-1").await;
    assert_eq!(widget.next().await, json!({ "type": "survey", "survey": null }));

    // Rebinding to another configuration is one call.
    let rebound = api.patch(&format!("/v1/channels/{channel_id}"), &json!({ "config": other })).await.expect(200);
    assert_eq!((&rebound["config"], &rebound["revision"]), (&json!(other), &json!(2)));
    assert_eq!(rebound["visitor_secret"], masked(&visitor_secret));
    assert_eq!(api.get(&format!("/v1/channels/{channel_id}")).await.expect(200)["config"], other.as_str());
    let answer = api.patch(&format!("/v1/channels/{channel_id}"), &json!({ "config": "cfg_nowhere" })).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(
        answer.json()["error"]["fields"],
        json!([{ "field": "config", "problem": "no configuration cfg_nowhere" }])
    );

    // What can't be connected says why, field by field.
    let answer =
        api.post("/v1/channels", &json!({ "kind": "web_widget", "name": "Nowhere", "config": "cfg_nowhere" })).await;
    assert_eq!(
        answer.json()["error"]["fields"],
        json!([{ "field": "config", "problem": "no configuration cfg_nowhere" }])
    );
    assert_eq!(answer.error(422), "invalid");
    let answer = api.post("/v1/channels", &json!({ "kind": "whatsapp", "name": "WhatsApp", "config": id })).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(
        answer.json()["error"]["fields"],
        json!([
            { "field": "secrets.access_token", "problem": "is required for this kind of channel" },
            { "field": "secrets.app_secret", "problem": "is required for this kind of channel" },
            { "field": "settings.phone_number_id", "problem": "is required for this kind of channel" },
        ])
    );
    // Email needs its server and sender; a password goes with a user name (a local relay takes
    // neither). Connecting it for real is in tests/email.rs.
    let email = json!({ "kind": "email", "name": "Mail", "config": id, "secrets": { "smtp_password": "pw" },
        "settings": { "smtp_tls": "ssl" } });
    let answer = api.post("/v1/channels", &email).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(
        answer.json()["error"]["fields"],
        json!([
            { "field": "settings.smtp_host", "problem": "is required for this kind of channel" },
            { "field": "settings.from", "problem": "is required for this kind of channel" },
            { "field": "settings.smtp_tls", "problem": "must be starttls, tls or none" },
            { "field": "settings.smtp_username", "problem": "is required with secrets.smtp_password" },
        ])
    );
    let answer = api
        .post("/v1/channels", &json!({ "id": channel_id, "kind": "web_widget", "name": "Again", "config": id }))
        .await;
    assert_eq!(answer.error(409), "already_exists");

    // Disconnecting: gone, and its widget with it.
    assert_eq!(api.delete(&format!("/v1/channels/{channel_id}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1/channels/{channel_id}")).await.error(404), "not_found");
    assert_eq!(api.delete(&format!("/v1/channels/{channel_id}")).await.error(404), "not_found");
    let token = visitor_token(&visitor_secret, "visitor-1");
    let query = [("tenant", ACME), ("channel", &channel_id), ("visitor", "visitor-1"), ("token", &token)];
    assert_eq!(Widget::connect(&gw.base, &query).await.err(), Some(403));
}

// ---------------------------------------------------------------------------------------------
// 2. Conversations: which closes invite, and how often.

async fn a_sampled_configuration_invites_its_share_and_decides_each_conversation_once(gw: Gateway) {
    let api = gw.acme();
    let sampled =
        json!({ "auto_invite": { "require_agent_reply": false, "min_characters": null, "sample_percent": 40 } });
    let config = create_config(&api, "Sampled", sampled).await;
    let channel = connect_channel(&api, Some("sampled-site"), &config).await;
    let mut invited = 0;
    for n in 0..30 {
        let id = format!("zd-{n}");
        converse(&api, &channel.id, &id, "end_user", None, &[(end_user("u1"), 20)]).await;
        let first = close(&api, &id, None).await;
        // Reopened and closed again, it is decided the same way: by its id, not by chance.
        reopen(&api, &id).await;
        let second = close(&api, &id, None).await;
        let not_sampled = json!({ "sent": false, "rule": { "rule": "not_sampled", "percent": 40 } });
        if ratewire_core::conversation::sampled(&ConversationId::new(&id).unwrap(), 40) {
            assert_eq!(first["sent"], true, "{id}: {first}");
            // (Invited once already: the repeat policy speaks, not the sample.)
            assert_ne!(second, not_sampled, "{id}");
            invited += 1;
        } else {
            assert_eq!((&first, &second), (&not_sampled, &not_sampled), "{id}");
        }
    }
    assert!((6..=18).contains(&invited), "{invited} of 30 sampled at 40 %");
}

async fn closes_invite_by_the_auto_invite_rules(gw: Gateway) {
    let api = gw.acme();
    let strict = json!({
        "auto_invite": {
            "require_agent_reply": true,
            "min_characters": 250,
            "max_days_since_last_reply": 7,
            "single_end_user": true,
            "include_agent_outbound": false,
            "include_api_outbound": false,
        },
    });
    let strict = create_config(&api, "Strict", strict).await;
    let channel = connect_channel(&api, Some("site"), &strict).await;
    let t = now();
    let long_ago = |days: i64| Some(t - SignedDuration::from_hours(24 * days));

    // Each rule, broken by one conversation that keeps all the others.
    let refused = [
        ("no-agent", "end_user", None, vec![(end_user("u1"), 300)], json!({ "rule": "no_agent_reply" })),
        (
            "short",
            "end_user",
            None,
            // A bot's messages don't count.
            vec![(end_user("u1"), 100), (bot("faq-bot"), 900), (agent("ana"), 49)],
            json!({ "rule": "too_short", "characters": 149, "required": 250 }),
        ),
        (
            "stale",
            "end_user",
            long_ago(10),
            vec![(end_user("u1"), 200), (agent("ana"), 100)],
            json!({ "rule": "stale", "days_since_last_reply": 10, "limit": 7 }),
        ),
        (
            "group",
            "end_user",
            None,
            vec![(end_user("u1"), 100), (end_user("u2"), 100), (agent("ana"), 100)],
            json!({ "rule": "group_conversation", "end_users": 2 }),
        ),
        (
            "agent-out",
            "agent",
            None,
            vec![(agent("ana"), 200), (end_user("u1"), 100)],
            json!({ "rule": "agent_outbound" }),
        ),
        ("api-out", "api", None, vec![(agent("ana"), 200), (end_user("u1"), 100)], json!({ "rule": "api_outbound" })),
    ];
    for (id, opened_by, at, messages, rule) in &refused {
        converse(&api, &channel.id, id, opened_by, *at, messages).await;
        let close_at = at.map(|_| t);
        assert_eq!(close(&api, id, close_at).await, json!({ "sent": false, "rule": rule }), "conversation {id}");
        let surveys = api.get("/v1/surveys").await.expect(200);
        assert_eq!(surveys["surveys"], json!([]), "no survey for conversation {id}");
    }

    // A conversation that keeps every rule, each at its limit: exactly 250 characters, closed
    // exactly 7 days after the last reply. The end user's language picks the survey's.
    let open = json!({
        "id": "good", "opened_by": "end_user", "channel": channel.id, "recipient": visitor_of("good"),
        "languages": ["es-MX", "en;q=0.5"], "at": long_ago(8),
    });
    api.post("/v1/conversations", &open).await.expect(201);
    for (author, length) in [(end_user("u1"), 150), (agent("bo"), 50), (agent("ana"), 50)] {
        let message = json!({ "type": "message", "author": author, "length": length, "at": long_ago(7) });
        api.post("/v1/conversations/good/events", &message).await.expect(200);
    }
    let invitation = close(&api, "good", Some(t)).await;
    assert_eq!(invitation["sent"], true, "{invitation}");
    assert!(invitation.get("rule").is_none(), "{invitation}");
    let survey = &invitation["survey"];
    assert_eq!(survey["state"], "pending");
    assert_eq!(survey["origin"], "auto");
    assert_eq!(survey["conversation"], "good");
    assert_eq!(survey["resolution"], 1);
    assert_eq!(survey["channel"], "site");
    assert_eq!(survey["recipient"], visitor_of("good"));
    assert_eq!(survey["agent"], "ana", "the agent who replied last is credited");
    assert_eq!(survey["locale"], "es");
    assert_eq!(survey["scale"], "stars:5");
    assert!(survey["sent_at"].is_string(), "the widget channel takes it at once: {survey}");
    let created = timestamp(&survey["created_at"]);
    assert_eq!(timestamp(&survey["deadline"]), created + SignedDuration::from_hours(72));
    assert_eq!(api.get(&format!("/v1/surveys/{}", id_of(survey))).await.expect(200), *survey);
    let conversation = api.get("/v1/conversations/good").await.expect(200);
    assert_eq!(conversation["conversation"]["characters"], 250);
    assert_eq!(conversation["conversation"]["agents"], json!(["bo", "ana"]));
    assert_eq!(conversation["languages"], json!(["es-MX", "en;q=0.5"]));
    // What counts is when the conversation closed, not when the close is reported: six days
    // after the last reply, reported four days later, is in time.
    converse(&api, &channel.id, "late-report", "end_user", long_ago(10), &[(end_user("u1"), 200), (agent("ana"), 100)])
        .await;
    assert_eq!(close(&api, "late-report", long_ago(4)).await["sent"], true);

    // Resolved by a bot, or by the helpdesk on its own (the close says which): not asked.
    let resolved = [("bot-resolved", "bot", "bot_resolved"), ("auto-resolved", "automation", "auto_resolved")];
    let resolve = |id: String, by: &'static str| {
        let api = api.clone();
        async move {
            let close = json!({ "type": "closed", "resolved_by": by });
            api.post(&format!("/v1/conversations/{id}/events"), &close).await.expect(200)["invitation"].clone()
        }
    };
    for (id, by, rule) in resolved {
        converse(&api, &channel.id, id, "end_user", None, &[(end_user("u1"), 200), (agent("ana"), 100)]).await;
        assert_eq!(resolve(id.to_owned(), by).await, json!({ "sent": false, "rule": { "rule": rule } }), "{id}");
    }

    // A closed conversation can't be closed again, nor take messages.
    let answer = api.post("/v1/conversations/good/events", &json!({ "type": "closed" })).await;
    assert_eq!(answer.error(409), "already_closed");
    let message = json!({ "type": "message", "author": end_user("u1"), "length": 5 });
    assert_eq!(api.post("/v1/conversations/good/events", &message).await.error(409), "closed_to_messages");
    let answer = api.post("/v1/conversations/nowhere/events", &json!({ "type": "closed" })).await;
    assert_eq!(answer.error(404), "not_found");
    let again = json!({ "id": "good", "opened_by": "end_user", "channel": channel.id, "recipient": "someone" });
    assert_eq!(api.post("/v1/conversations", &again).await.error(409), "already_exists");
    let elsewhere = json!({ "id": "lost", "opened_by": "end_user", "channel": "nowhere", "recipient": "someone" });
    // A body naming a channel that doesn't exist is the body's fault: 422 naming the field.
    let answer = api.post("/v1/conversations", &elsewhere).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(answer.json()["error"]["fields"][0]["field"], "channel");

    // Every rule switched off: the same conversations are invited. Rebinding the channel is
    // what switches them, in one call.
    let relaxed = json!({
        "auto_invite": {
            "require_agent_reply": false,
            "min_characters": null,
            "max_days_since_last_reply": null,
            "single_end_user": false,
            "include_agent_outbound": true,
            "include_api_outbound": true,
            "include_bot_resolved": true,
            "include_auto_resolved": true,
        },
    });
    let relaxed = create_config(&api, "Relaxed", relaxed).await;
    api.patch("/v1/channels/site", &json!({ "config": relaxed })).await.expect(200);
    for (id, opened_by, at, messages, _) in &refused {
        let id = format!("{id}-again");
        converse(&api, &channel.id, &id, opened_by, *at, messages).await;
        let invitation = close(&api, &id, at.map(|_| t)).await;
        assert_eq!(invitation["sent"], true, "conversation {id}: {invitation}");
        assert_eq!(invitation["survey"]["conversation"], id.as_str());
    }
    for (id, by, _) in resolved {
        let id = format!("{id}-again");
        converse(&api, &channel.id, &id, "end_user", None, &[(end_user("u1"), 200), (agent("ana"), 100)]).await;
        assert_eq!(resolve(id.clone(), by).await["sent"], true, "{id}");
    }
    let surveys = api.get("/v1/surveys").await.expect(200);
    assert_eq!(surveys["surveys"].as_array().unwrap().len(), 2 + refused.len() + resolved.len());
}

async fn an_end_user_asked_within_the_cooldown_is_not_asked_again(gw: Gateway) {
    let api = gw.acme();
    let cooling = json!({ "repeat": "once_per_resolution",
        "auto_invite": { "require_agent_reply": false, "min_characters": null, "cooldown_days": 7 } });
    let config = create_config(&api, "Cooling", cooling).await;
    let channel = connect_channel(&api, None, &config).await;
    converse(&api, &channel.id, "cool", "end_user", None, &[(end_user("u1"), 20)]).await;
    let first = close(&api, "cool", None).await;
    assert_eq!(first["sent"], true, "{first}");
    rate_in_widget(&gw, &channel, &visitor_of("cool"), &id_of(&first["survey"]), 4).await;
    // Reopened and resolved again: the repeat policy would ask, the cooldown doesn't.
    reopen(&api, "cool").await;
    let second = close(&api, "cool", None).await;
    assert_eq!((&second["sent"], &second["rule"]["rule"]), (&json!(false), &json!("cooling_down")), "{second}");
    assert_eq!(second["rule"]["days"], 7);
    assert!(second["rule"]["last_asked_at"].is_string(), "{second}");
}

async fn a_conversation_is_invited_again_only_as_its_repeat_policy_says(gw: Gateway) {
    let api = gw.acme();
    let anything = json!({
        "require_agent_reply": false, "min_characters": null, "max_days_since_last_reply": null,
    });
    let config = create_config(&api, "Once", json!({ "auto_invite": anything })).await;
    let channel = connect_channel(&api, None, &config).await;

    // Once per conversation: a survey, then none while it is pending, then none at all.
    converse(&api, &channel.id, "once", "end_user", None, &[(end_user("u1"), 20), (agent("ana"), 20)]).await;
    let first = close(&api, "once", None).await;
    assert_eq!(first["sent"], true, "{first}");
    let first = id_of(&first["survey"]);
    reopen(&api, "once").await;
    assert_eq!(
        close(&api, "once", None).await,
        json!({ "sent": false, "rule": {
            "rule": "survey_pending", "message": format!("survey {first} is still pending for this conversation"),
        } })
    );
    rate_in_widget(&gw, &channel, &visitor_of("once"), &first, 4).await;
    reopen(&api, "once").await;
    assert_eq!(
        close(&api, "once", None).await,
        json!({ "sent": false, "rule": {
            "rule": "already_invited", "message": format!("survey {first} was already sent for this conversation"),
        } })
    );
    assert_eq!(api.get("/v1/conversations/once").await.expect(200)["conversation"]["resolution"], 3);

    // Once per resolution: surveyed again after a reopening, but never twice for one close.
    let mut per_resolution = api.get(&format!("/v1/configs/{config}")).await.expect(200)["config"].clone();
    per_resolution["repeat"] = json!("once_per_resolution");
    let update = json!({ "name": "Per resolution", "config": per_resolution });
    api.put(&format!("/v1/configs/{config}"), &update).await.expect(200);
    converse(&api, &channel.id, "again", "end_user", None, &[(end_user("u1"), 20), (agent("ana"), 20)]).await;
    let first = close(&api, "again", None).await;
    assert_eq!((&first["sent"], &first["survey"]["resolution"]), (&json!(true), &json!(1)), "{first}");
    let first = id_of(&first["survey"]);
    rate_in_widget(&gw, &channel, &visitor_of("again"), &first, 5).await;
    reopen(&api, "again").await;
    let second = close(&api, "again", None).await;
    assert_eq!((&second["sent"], &second["survey"]["resolution"]), (&json!(true), &json!(2)), "{second}");
    let second = id_of(&second["survey"]);
    assert_ne!(first, second);
    // The agent asks for one more for this resolution: refused, the close's survey is pending.
    let answer = invite(&api, &channel.id, "again", Some("ana")).await;
    assert_eq!(answer.error(409), "survey_pending");
    rate_in_widget(&gw, &channel, &visitor_of("again"), &second, 3).await;
    let answer = invite(&api, &channel.id, "again", Some("ana")).await;
    assert_eq!(answer.error(409), "already_invited");
}

async fn agents_invite_as_the_configuration_allows(gw: Gateway) {
    let api = gw.acme();
    let both = create_config(&api, "Both", json!({ "invitation_method": "both" })).await;
    let channel = connect_channel(&api, None, &both).await;

    // An agent asks during the conversation: the survey is sent, crediting that agent.
    converse(&api, &channel.id, "c1", "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    let survey = invite(&api, &channel.id, "c1", Some("carla")).await.expect(201);
    assert_eq!(survey["state"], "pending");
    assert_eq!(survey["origin"], "agent");
    assert_eq!(survey["agent"], "carla");
    assert_eq!(survey["resolution"], 1);
    assert_eq!(survey["recipient"], visitor_of("c1"));
    assert!(survey["sent_at"].is_string());
    // While it is pending, neither the agent nor the close sends another.
    let answer = invite(&api, &channel.id, "c1", Some("carla")).await;
    assert_eq!(answer.error(409), "survey_pending");
    assert_eq!(
        answer.json()["error"]["message"],
        format!("survey {} is still pending for this conversation", id_of(&survey))
    );
    let invitation = close(&api, "c1", None).await;
    assert_eq!(invitation["sent"], false);
    assert_eq!(invitation["rule"]["rule"], "survey_pending");

    // Without an agent named, the conversation's last agent is credited; a conversation the
    // helpdesk never reported is surveyed too, crediting nobody.
    converse(&api, &channel.id, "c2", "end_user", None, &[(agent("ana"), 10), (agent("bo"), 10)]).await;
    assert_eq!(invite(&api, &channel.id, "c2", None).await.expect(201)["agent"], "bo");
    let body = json!({ "conversation": "c8", "channel": channel.id, "recipient": "v8", "locale": "pt-PT, en;q=0.8" });
    assert_eq!(api.post("/v1/invitations", &body).await.expect(201)["locale"], "pt-BR");
    let unknown = invite(&api, &channel.id, "c3", None).await.expect(201);
    assert_eq!((&unknown["agent"], &unknown["conversation"]), (&Value::Null, &json!("c3")));
    let answer = invite(&api, "ch_nowhere", "c4", None).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(answer.json()["error"]["fields"][0]["field"], "channel");

    // A configuration for closes only refuses agents; one for agents only, closes.
    let auto = create_config(&api, "Auto only", json!({ "invitation_method": "auto" })).await;
    api.patch(&format!("/v1/channels/{}", channel.id), &json!({ "config": auto })).await.expect(200);
    let answer = invite(&api, &channel.id, "c5", Some("ana")).await;
    assert_eq!(answer.error(409), "method_not_allowed");
    let agent_only = create_config(&api, "Agent only", json!({ "invitation_method": "agent" })).await;
    api.patch(&format!("/v1/channels/{}", channel.id), &json!({ "config": agent_only })).await.expect(200);
    converse(&api, &channel.id, "c6", "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    let invitation = close(&api, "c6", None).await;
    assert_eq!(invitation["sent"], false);
    assert_eq!(invitation["rule"]["rule"], "method_not_allowed");
    assert_eq!(invite(&api, &channel.id, "c6", Some("ana")).await.expect(201)["resolution"], 1);

    // Surveys switched off: nobody invites.
    let off = create_config(&api, "Off", json!({ "enabled": false })).await;
    api.patch(&format!("/v1/channels/{}", channel.id), &json!({ "config": off })).await.expect(200);
    assert_eq!(invite(&api, &channel.id, "c7", Some("ana")).await.error(409), "surveys_disabled");
}

// ---------------------------------------------------------------------------------------------
// 3. Rating in the web widget.

async fn visitors_rate_through_the_widget(gw: Gateway) {
    let api = gw.acme();
    let config = json!({
        "scale": "stars:5",
        "labels": { "1": "Awful", "2": "Poor", "3": "Okay", "4": "Good", "5": "Superb" },
        "low_rating_reasons": ["slow", "unresolved"],
        "content": { "en": {
            "invitation": "How did we do?",
            "thank_you": "Thanks for rating us!",
            "comment_prompt": "Anything to add?",
            "comment_thanks": "Noted, thank you.",
            "reason_prompt": "What went wrong?",
            "expiry_notice": "This survey has closed.",
            "reasons": { "slow": "Too slow", "unresolved": "Not solved" },
        } },
    });
    let config = create_config(&api, "Widget", config).await;
    let channel = connect_channel(&api, None, &config).await;

    // Only the visitor the business vouched for gets in.
    let token = visitor_token(&channel.visitor_secret, "visitor-w1");
    let other_token = visitor_token(&channel.visitor_secret, "visitor-w2");
    let wrong_secret = visitor_token("0123456789abcdef0123456789abcdef", "visitor-w1");
    let base = [("tenant", ACME), ("channel", channel.id.as_str()), ("visitor", "visitor-w1")];
    for token in [None, Some(""), Some("00"), Some(other_token.as_str()), Some(wrong_secret.as_str())] {
        let query: Vec<(&str, &str)> = base.iter().copied().chain(token.map(|t| ("token", t))).collect();
        assert_eq!(Widget::connect(&gw.base, &query).await.err(), Some(403), "token {token:?}");
    }
    let unknown = [("tenant", ACME), ("channel", "ch_nowhere"), ("visitor", "visitor-w1"), ("token", token.as_str())];
    assert_eq!(Widget::connect(&gw.base, &unknown).await.err(), Some(403));

    // The visitor's widget is open before there is a survey; the invitation shows up in it.
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, "visitor-w1").await;
    assert_eq!(widget.next().await, json!({ "type": "survey", "survey": null }));
    widget.send(json!({ "type": "ping" })).await;
    assert_eq!(widget.next().await, json!({ "type": "pong" }));
    widget.send(json!({ "type": "dance" })).await;
    assert_eq!(widget.next().await["code"], "malformed_message");
    converse(&api, &channel.id, "w1", "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    let survey = id_of(&invite(&api, &channel.id, "w1", Some("ana")).await.expect(201));
    let level = |score: u8, label: &str| json!({ "score": score, "title": "★", "label": label });
    let pending = json!({
        "id": survey, "state": "pending", "kind": "stars", "locale": "en", "rtl": false,
        "invitation": "How did we do?",
        "levels": [level(1, "Awful"), level(2, "Poor"), level(3, "Okay"), level(4, "Good"), level(5, "Superb")],
        "score": null, "reason": null, "comment": null,
        "reasons": [["slow", "Too slow"], ["unresolved", "Not solved"]],
        "awaits_reason": false, "awaits_comment": false, "can_change": true,
        "texts": {
            "thank_you": "Thanks for rating us!", "comment_prompt": "Anything to add?",
            "reason_prompt": "What went wrong?", "comment_thanks": "Noted, thank you.",
            "expiry_notice": "This survey has closed.", "send": "Send", "close": "Close",
        },
    });
    // Drawn as soon as it is sent (the gateway may redraw it more than once: the same view).
    let drawn = widget.drain(std::time::Duration::from_millis(500)).await;
    assert!(!drawn.is_empty());
    for message in drawn {
        assert_eq!(message, json!({ "type": "survey", "survey": pending }));
    }

    // A tap on 4: thanks, and the comment is asked for.
    widget.send(json!({ "type": "rate", "survey": survey, "score": 4 })).await;
    let mut rated = pending.clone();
    rated["state"] = json!("rated");
    rated["score"] = json!(4);
    rated["awaits_comment"] = json!(true);
    let say = |text: &str| json!({ "type": "say", "text": text });
    let view = |survey: &Value| json!({ "type": "survey", "survey": survey });
    assert_eq!(widget.next().await, say("Thanks for rating us!"));
    assert_eq!(widget.next().await, view(&rated));
    assert_eq!(widget.next().await, say("Anything to add?"));
    assert_eq!(widget.next().await, view(&rated));

    // Changed inside the change window: the new score counts, the old one is kept.
    widget.send(json!({ "type": "rate", "survey": survey, "score": 5 })).await;
    rated["score"] = json!(5);
    assert_eq!(widget.next().await, say("Thanks for rating us!"));
    assert_eq!(widget.next().await, view(&rated));
    // The same score again changes nothing and says nothing.
    widget.send(json!({ "type": "rate", "survey": survey, "score": 5 })).await;
    widget.send(json!({ "type": "rate", "survey": survey, "score": 11 })).await;
    assert_eq!(widget.next().await, json!({ "type": "error", "code": "out_of_scale", "message": "11 is not a level" }));

    // The comment ends it: locked.
    widget.send(json!({ "type": "comment", "survey": survey, "text": "  Quick and friendly  " })).await;
    let mut locked = rated.clone();
    locked["state"] = json!("locked");
    locked["comment"] = json!("Quick and friendly");
    locked["awaits_comment"] = json!(false);
    locked["can_change"] = json!(false);
    assert_eq!(widget.next().await, say("Noted, thank you."));
    assert_eq!(widget.next().await, view(&locked));
    // A rating can't change after a comment; the visitor is told so.
    widget.send(json!({ "type": "rate", "survey": survey, "score": 3 })).await;
    assert_eq!(widget.next().await, say("Your rating is final and can no longer be changed."));
    assert_eq!(widget.next().await, view(&locked));
    widget.send(json!({ "type": "comment", "survey": survey, "text": "More" })).await;
    assert_eq!(widget.next().await["code"], "already_commented");

    let stored = api.get(&format!("/v1/surveys/{survey}")).await.expect(200);
    assert_eq!(stored["state"], "locked");
    assert_eq!(stored["score"], 5);
    assert_eq!(stored["comment"], "Quick and friendly");
    assert_eq!(stored["reason"], Value::Null);
    let history: Vec<&Value> = stored["history"].as_array().unwrap().iter().map(|entry| &entry["score"]).collect();
    assert_eq!(history, [&json!(4), &json!(5)]);
    assert_eq!((&stored["changeable_until"], &stored["deadline"]), (&Value::Null, &Value::Null));
    assert_eq!(
        (&stored["origin"], &stored["agent"], &stored["channel"]),
        (&json!("agent"), &json!("ana"), &json!(channel.id))
    );

    // Another visitor types their answer on their own survey: a rating and a comment at once.
    converse(&api, &channel.id, "w2", "end_user", None, &[(end_user("u2"), 300), (agent("bo"), 300)]).await;
    let typed = id_of(&invite(&api, &channel.id, "w2", None).await.expect(201));
    let mut other = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("w2")).await;
    assert_eq!(other.view().await["id"], typed);
    // Nobody answers someone else's survey.
    other.send(json!({ "type": "rate", "survey": survey, "score": 1 })).await;
    assert_eq!(other.next().await["code"], "not_found");
    other.send(json!({ "type": "text", "text": "5 - great" })).await;
    // Both are read before the widget is redrawn: every view shows the end result.
    let mut typed_view = pending.clone();
    typed_view["id"] = json!(typed);
    typed_view["state"] = json!("locked");
    typed_view["score"] = json!(5);
    typed_view["comment"] = json!("great");
    typed_view["can_change"] = json!(false);
    // One message, one answer: the thanks for the comment, not a prompt for what was just given.
    let heard = other.take(2).await;
    assert_eq!(heard, [say("Noted, thank you."), view(&typed_view)]);
    let stored = api.get(&format!("/v1/surveys/{typed}")).await.expect(200);
    assert_eq!(
        (&stored["state"], &stored["score"], &stored["comment"]),
        (&json!("locked"), &json!(5), &json!("great"))
    );
    // The first visitor's widget heard none of it.
    assert_eq!(widget.next_within(std::time::Duration::from_millis(300)).await, None);

    // A low rating: the reasons are offered before the comment.
    converse(&api, &channel.id, "w3", "end_user", None, &[(end_user("u3"), 300), (agent("bo"), 300)]).await;
    let low = id_of(&invite(&api, &channel.id, "w3", None).await.expect(201));
    let mut third = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("w3")).await;
    assert_eq!(third.view().await["state"], "pending");
    third.send(json!({ "type": "rate", "survey": low, "score": 2 })).await;
    let (said, asked) = third.until_view(|view| view["score"] == 2).await;
    assert_eq!(said, ["Thanks for rating us!"]);
    assert_eq!((&asked["awaits_reason"], &asked["awaits_comment"]), (&json!(true), &json!(false)));
    assert_eq!(third.next().await, say("What went wrong?"));
    assert_eq!(third.view().await, asked);
    third.send(json!({ "type": "reason", "survey": low, "reason": "rude" })).await;
    assert_eq!(third.next().await["code"], "unknown_reason");
    third.send(json!({ "type": "reason", "survey": low, "reason": "slow" })).await;
    assert_eq!(third.next().await, say("Anything to add?"));
    let chosen = third.view().await;
    assert_eq!(
        (&chosen["reason"], &chosen["awaits_reason"], &chosen["awaits_comment"], &chosen["state"]),
        (&json!("slow"), &json!(false), &json!(true), &json!("rated"))
    );
    let stored = api.get(&format!("/v1/surveys/{low}")).await.expect(200);
    assert_eq!((&stored["state"], &stored["score"], &stored["reason"]), (&json!("rated"), &json!(2), &json!("slow")));
    third.send(json!({ "type": "text", "text": "It took ages" })).await;
    let (said, done) = third.until_view(|view| view["state"] == "locked").await;
    assert_eq!(said, ["Noted, thank you."]);
    assert_eq!((&done["comment"], &done["reason"]), (&json!("It took ages"), &json!("slow")));

    // With no survey to answer, a typed rating is just a message, unless the configuration
    // lets visitors rate on their own and the page names the conversation.
    let mut stranger = gw.widget(ACME, &channel.id, &channel.visitor_secret, "visitor-new").await;
    assert_eq!(stranger.view().await, Value::Null);
    stranger.send(json!({ "type": "text", "text": "4 - très bien" })).await;
    assert_eq!(stranger.next_within(std::time::Duration::from_millis(300)).await, None);
    let own = create_config(&api, "Own ratings", json!({ "user_initiated": true })).await;
    let own = connect_channel(&api, None, &own).await;
    let token = visitor_token(&own.visitor_secret, "visitor-own");
    let query = [
        ("tenant", ACME),
        ("channel", own.id.as_str()),
        ("visitor", "visitor-own"),
        ("token", token.as_str()),
        ("lang", "fr-CA"),
        ("conversation", "w4"),
    ];
    let mut own_widget = Widget::connect(&gw.base, &query).await.expect("the visitor is let in");
    assert_eq!(own_widget.view().await, Value::Null);
    own_widget.send(json!({ "type": "text", "text": "4 - très bien" })).await;
    let heard = own_widget.take(2).await;
    let said: Vec<&Value> = heard.iter().filter(|m| m["type"] == "say").map(|m| &m["text"]).collect();
    assert_eq!(said, ["Merci, nous avons transmis votre commentaire à l’équipe."]);
    let last = &heard.last().unwrap()["survey"];
    assert_eq!((&last["locale"], &last["score"], &last["comment"]), (&json!("fr"), &json!(4), &json!("très bien")));
    let stored = api.get(&format!("/v1/surveys/{}", id_of(last))).await.expect(200);
    assert_eq!(
        (&stored["origin"], &stored["conversation"], &stored["state"]),
        (&json!("user"), &json!("w4"), &json!("locked"))
    );
    assert_eq!(stored["sent_at"], Value::Null, "no invitation was needed");
}

/// A widget page of `visitor` on `channel` that names its conversation (`data-conversation`).
async fn page_of(gw: &Gateway, channel: &Channel, visitor: &str, conversation: &str) -> Widget {
    let token = visitor_token(&channel.visitor_secret, visitor);
    let query = [
        ("tenant", ACME),
        ("channel", channel.id.as_str()),
        ("visitor", visitor),
        ("token", token.as_str()),
        ("conversation", conversation),
    ];
    Widget::connect(&gw.base, &query).await.expect("the visitor is let in")
}

/// Waits until the gateway has handled everything the widget sent: it answers in order.
async fn handled(widget: &mut Widget) -> Vec<Value> {
    widget.send(json!({ "type": "ping" })).await;
    let mut before = Vec::new();
    loop {
        let message = widget.next().await;
        if message["type"] == "pong" {
            return before;
        }
        before.push(message);
    }
}

/// A survey of `conversation` for its visitor, rated `score` with a tap and waiting for a comment.
async fn rated_survey(gw: &Gateway, channel: &Channel, conversation: &str, score: u8) -> String {
    let api = gw.acme();
    converse(&api, &channel.id, conversation, "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    let survey = id_of(&invite(&api, &channel.id, conversation, Some("ana")).await.expect(201));
    rate_in_widget(gw, channel, &visitor_of(conversation), &survey, score).await;
    survey
}

async fn text_in_another_conversation_is_never_the_last_surveys_comment(gw: Gateway) {
    let api = gw.acme();
    let config = create_config(&api, "Comments", json!({ "scale": "stars:5", "low_rating_reasons": [] })).await;
    let channel = connect_channel(&api, None, &config).await;
    const INVOICE: &str = "Hello, I need help with my invoice";

    // The helpdesk opens another conversation for the visitor who rated: the survey stops
    // waiting for its comment, and what they write next is about the new conversation.
    let first = rated_survey(&gw, &channel, "n1", 4).await;
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("n1")).await;
    assert_eq!(widget.view().await["awaits_comment"], true);
    let open = json!({ "id": "n2", "opened_by": "end_user", "channel": channel.id, "recipient": visitor_of("n1") });
    api.post("/v1/conversations", &open).await.expect(201);
    let (said, view) = widget.until_view(|view| view["awaits_comment"] == false).await;
    assert!(said.is_empty(), "nothing to tell the visitor: {said:?}");
    assert_eq!((&view["state"], &view["score"], &view["can_change"]), (&json!("locked"), &json!(4), &json!(false)));
    widget.send(json!({ "type": "text", "text": INVOICE })).await;
    assert_eq!(handled(&mut widget).await, Vec::<Value>::new(), "the message passes through, unanswered");
    let stored = api.get(&format!("/v1/surveys/{first}")).await.expect(200);
    assert_eq!((&stored["state"], &stored["score"], &stored["comment"]), (&json!("locked"), &json!(4), &Value::Null));
    // A tap on the old survey is told the rating is final.
    widget.send(json!({ "type": "rate", "survey": first, "score": 2 })).await;
    let (said, _) = widget.until_view(|_| true).await;
    assert_eq!(said, ["Your rating is final and can no longer be changed."]);

    // A page that names its conversation: text written in another conversation than the
    // survey's is never the survey's comment.
    let second = rated_survey(&gw, &channel, "n3", 5).await;
    let mut elsewhere = page_of(&gw, &channel, &visitor_of("n3"), "n4").await;
    assert_eq!(elsewhere.view().await["awaits_comment"], true);
    elsewhere.send(json!({ "type": "text", "text": INVOICE })).await;
    let (said, view) = elsewhere.until_view(|view| view["state"] == "locked").await;
    assert!(said.is_empty(), "nothing to tell the visitor: {said:?}");
    assert_eq!((&view["comment"], &view["awaits_comment"]), (&Value::Null, &json!(false)));
    let stored = api.get(&format!("/v1/surveys/{second}")).await.expect(200);
    assert_eq!((&stored["score"], &stored["comment"]), (&json!(5), &Value::Null));

    // On the survey's own conversation's page, the text is the comment.
    let third = rated_survey(&gw, &channel, "n5", 5).await;
    let mut own = page_of(&gw, &channel, &visitor_of("n5"), "n5").await;
    own.view().await;
    own.send(json!({ "type": "text", "text": "Quick and kind" })).await;
    let (said, done) = own.until_view(|view| view["state"] == "locked").await;
    assert_eq!(said, ["Thank you, we have passed your comment on to the team."]);
    assert_eq!(done["comment"], "Quick and kind");
    let stored = api.get(&format!("/v1/surveys/{third}")).await.expect(200);
    assert_eq!(stored["comment"], "Quick and kind");
}

async fn a_typed_score_changes_the_rating_as_a_tap_does(gw: Gateway) {
    let api = gw.acme();
    let receiver = Receiver::start().await;
    api.post("/v1/endpoints", &json!({ "url": receiver.url, "events": ["survey.changed"] })).await.expect(201);
    let config = create_config(&api, "Changes", json!({ "scale": "stars:5", "low_rating_reasons": [] })).await;
    let channel = connect_channel(&api, None, &config).await;

    // Rated 5 with a tap, then typed: a reply that is only a rating changes the score.
    let survey = rated_survey(&gw, &channel, "s1", 5).await;
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("s1")).await;
    widget.view().await;
    widget.send(json!({ "type": "text", "text": "4" })).await;
    let (said, view) = widget.until_view(|view| view["score"] == 4).await;
    assert_eq!(said, ["Thank you for your rating!"]);
    assert_eq!(
        (&view["state"], &view["comment"], &view["awaits_comment"]),
        (&json!("rated"), &Value::Null, &json!(true))
    );
    widget.send(json!({ "type": "text", "text": "⭐⭐⭐" })).await;
    widget.until_view(|view| view["score"] == 3).await;
    // A reply with words is the comment, whole.
    widget.send(json!({ "type": "text", "text": "3 - quick, but I had to ask twice" })).await;
    let (said, done) = widget.until_view(|view| view["state"] == "locked").await;
    assert_eq!(said, ["Thank you, we have passed your comment on to the team."]);
    assert_eq!((&done["score"], &done["comment"]), (&json!(3), &json!("3 - quick, but I had to ask twice")));
    let stored = api.get(&format!("/v1/surveys/{survey}")).await.expect(200);
    let history: Vec<&Value> = stored["history"].as_array().unwrap().iter().map(|entry| &entry["score"]).collect();
    assert_eq!(history, [&json!(5), &json!(4), &json!(3)]);
    let posts = receiver.wait_for("two changes", |posts| posts.len() >= 2).await;
    let mut changes: Vec<(Value, Value)> = posts
        .iter()
        .map(Post::json)
        .map(|e| (e["survey"]["previous_score"].clone(), e["survey"]["score"].clone()))
        .collect();
    changes.sort_by_key(|(_, score)| std::cmp::Reverse(score.as_u64()));
    assert_eq!(changes, [(json!(5), json!(4)), (json!(4), json!(3))]);

    // Ratings final at once: a typed score is refused as a tap is, and the comment still counts.
    let final_at_once =
        create_config(&api, "Final", json!({ "scale": "stars:5", "low_rating_reasons": [], "change_window_hours": 0 }))
            .await;
    let channel = connect_channel(&api, None, &final_at_once).await;
    let survey = rated_survey(&gw, &channel, "s2", 5).await;
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("s2")).await;
    assert_eq!(widget.view().await["awaits_comment"], true);
    widget.send(json!({ "type": "text", "text": "4" })).await;
    let (said, view) = widget.until_view(|_| true).await;
    assert_eq!(said, ["Your rating is final and can no longer be changed."]);
    assert_eq!((&view["score"], &view["comment"], &view["awaits_comment"]), (&json!(5), &Value::Null, &json!(true)));
    widget.send(json!({ "type": "text", "text": "Fine" })).await;
    let (_, done) = widget.until_view(|view| view["comment"] == "Fine").await;
    assert_eq!(done["score"], 5);
    let stored = api.get(&format!("/v1/surveys/{survey}")).await.expect(200);
    assert_eq!((&stored["score"], &stored["comment"]), (&json!(5), &json!("Fine")));
}

async fn a_survey_keeps_its_rules_when_the_configuration_changes(gw: Gateway) {
    let api = gw.acme();
    let before = json!({ "scale": "stars:5", "low_rating_reasons": ["slow", "unresolved"], "change_window_hours": 0 });
    let config = create_config(&api, "Before", before).await;
    let channel = connect_channel(&api, None, &config).await;
    let survey = id_of(&invite(&api, &channel.id, "k1", Some("ana")).await.expect(201));

    // The business switches to NPS with other reasons while the survey is under way.
    let after = json!({
        "scale": "numeric:0-10", "low_rating_reasons": ["price"], "change_window_hours": 24,
        "content": { "en": { "reasons": { "price": "Too expensive" } } },
    });
    api.put(&format!("/v1/configs/{config}"), &json!({ "name": "After", "config": after })).await.expect(200);

    // The survey is still on five stars, offering its own reasons.
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("k1")).await;
    let shown = widget.view().await;
    let scores: Vec<&Value> = shown["levels"].as_array().unwrap().iter().map(|level| &level["score"]).collect();
    assert_eq!(scores, [&json!(1), &json!(2), &json!(3), &json!(4), &json!(5)]);
    assert_eq!(shown["kind"], "stars");
    assert_eq!(shown["levels"][0]["label"], "Very dissatisfied");
    // A reply that isn't a rating is answered with the survey's scale.
    widget.send(json!({ "type": "text", "text": "hmm" })).await;
    assert_eq!(
        widget.next().await,
        json!({ "type": "say", "text": "Sorry, I didn't understand that. Please reply with a number from 1 to 5." })
    );
    assert_eq!(widget.view().await, shown);
    widget.send(json!({ "type": "rate", "survey": survey, "score": 9 })).await;
    assert_eq!(widget.next().await["code"], "out_of_scale");
    widget.send(json!({ "type": "rate", "survey": survey, "score": 1 })).await;
    let (_, rated) = widget.until_view(|view| view["score"] == 1).await;
    // A zero change window, as it was: final at once.
    assert_eq!(
        (&rated["state"], &rated["can_change"], &rated["awaits_reason"]),
        (&json!("locked"), &json!(false), &json!(true))
    );
    assert_eq!(rated["reasons"], json!([["slow", "Slow response"], ["unresolved", "Problem not solved"]]));
    widget.drain(std::time::Duration::from_millis(300)).await;
    widget.send(json!({ "type": "reason", "survey": survey, "reason": "price" })).await;
    assert_eq!(widget.next().await["code"], "unknown_reason");
    widget.send(json!({ "type": "reason", "survey": survey, "reason": "slow" })).await;
    let (_, chosen) = widget.until_view(|view| view["reason"] == "slow").await;
    assert_eq!(chosen["awaits_reason"], false);
    let stored = api.get(&format!("/v1/surveys/{survey}")).await.expect(200);
    assert_eq!((&stored["scale"], &stored["score"], &stored["reason"]), (&json!("stars:5"), &json!(1), &json!("slow")));
}

// ---------------------------------------------------------------------------------------------
// 4. A rating after the deadline.

async fn late_ratings_are_refused_and_the_sweeper_expires_the_survey(gw: Gateway) {
    let api = gw.acme();
    let receiver = Receiver::start().await;
    let endpoint = json!({ "url": receiver.url, "events": ["survey.expired", "survey.rated"] });
    api.post("/v1/endpoints", &endpoint).await.expect(201);
    let config_json = json!({ "validity_hours": 1, "content": { "en": { "expiry_notice": "Sorry, too late." } } });
    let config_id = create_config(&api, "Short-lived", config_json).await;
    let channel = connect_channel(&api, None, &config_id).await;

    // A survey sent two hours ago, valid for one: nobody waits an hour, so it is stored as it
    // would have been then.
    let stored = api.get(&format!("/v1/configs/{config_id}")).await.expect(200);
    let config: SurveyConfig = serde_json::from_value(stored["config"].clone()).expect("the API shows a configuration");
    let sent_at = now() - SignedDuration::from_hours(2);
    let visitor = "visitor-late";
    let invitation = Invitation {
        tenant: TenantId::new(ACME).unwrap(),
        conversation: ConversationId::new("late").unwrap(),
        resolution: 1,
        channel: ChannelId::new(&channel.id).unwrap(),
        recipient: RecipientId::new(visitor).unwrap(),
        agent: None,
        locale: Locale::En,
        origin: Origin::Agent,
    };
    let survey = Survey::new(SurveyId::generate(), invitation, &config, sent_at);
    let store = gw.state.flow.store.as_ref();
    store.create(&survey, None).await.expect("the store takes the survey");
    ratewire_core::store::apply(store, &survey.invitation.tenant, &survey.id, Event::SENT, sent_at)
        .await
        .expect("the survey was sent");
    let id = survey.id.to_string();

    // The visitor answers anyway: told it closed, and nothing is rated — by a tap or typed.
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, visitor).await;
    let shown = widget.view().await;
    assert_eq!((&shown["id"], &shown["score"], &shown["can_change"]), (&json!(id), &Value::Null, &json!(false)));
    widget.send(json!({ "type": "rate", "survey": id, "score": 4 })).await;
    let (said, _) = widget.until_view(|view| view["id"] == id.as_str()).await;
    assert_eq!(said, ["Sorry, too late."]);
    widget.send(json!({ "type": "text", "text": "5 stars" })).await;
    let (said, _) = widget.until_view(|view| view["id"] == id.as_str()).await;
    assert_eq!(said, ["Sorry, too late."]);

    // The sweeper expires it at its deadline and tells the business.
    let posts = receiver.wait_for("survey.expired", |posts| !posts.is_empty()).await;
    let event = posts[0].json();
    assert_eq!(event["type"], "survey.expired");
    assert_eq!((&event["survey"]["id"], &event["survey"]["state"]), (&json!(id), &json!("expired")));
    assert_eq!(event["survey"]["score"], Value::Null);
    let expired = api.get(&format!("/v1/surveys/{id}")).await.expect(200);
    assert_eq!(expired["state"], "expired");
    assert_eq!((&expired["score"], &expired["history"]), (&Value::Null, &json!([])));
    assert_eq!(timestamp(&expired["ended_at"]), sent_at + SignedDuration::from_hours(1));
    let (_, view) = widget.until_view(|view| view["state"] == "expired").await;
    assert_eq!(view["can_change"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let types: Vec<Value> = receiver.posts().iter().map(|post| post.json()["type"].clone()).collect();
    assert_eq!(types, [json!("survey.expired")], "expired once, never rated");
}

// ---------------------------------------------------------------------------------------------
// 5. Reports.

async fn reports_count_what_came_of_the_surveys(gw: Gateway) {
    let api = gw.acme();
    let config = create_config(&api, "Stars", json!({ "scale": "stars:5" })).await;
    let site = connect_channel(&api, Some("site"), &config).await;
    let help = connect_channel(&api, Some("help"), &config).await;

    // Scores 5 and 4 for ana on the site, 3 and 1 for bo on the help page, and one delivered
    // survey nobody answered.
    let answers =
        [(Some(5), Some("Great, thanks")), (Some(4), None), (Some(3), None), (Some(1), Some("=1+1, \"really\""))];
    let invited =
        [(&site, "r1", Some("ana")), (&site, "r2", Some("ana")), (&help, "r3", Some("bo")), (&help, "r4", Some("bo"))];
    let plan = invited.into_iter().zip(answers).chain([((&site, "r5", None), (None, None))]);
    let mut ids = Vec::new();
    for ((channel, conversation, agent), (score, comment)) in plan {
        let survey = id_of(&invite(&api, &channel.id, conversation, agent).await.expect(201));
        if let Some(score) = score {
            let visitor = visitor_of(conversation);
            let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor).await;
            widget.view().await;
            widget.send(json!({ "type": "rate", "survey": survey, "score": score })).await;
            widget.until_view(|view| view["score"] == score).await;
            if let Some(text) = comment {
                widget.send(json!({ "type": "comment", "survey": survey, "text": text })).await;
                widget.until_view(|view| view["comment"] == text).await;
            }
        }
        ids.push(survey);
    }
    let mut surveys = Vec::new();
    for id in &ids {
        surveys.push(api.get(&format!("/v1/surveys/{id}")).await.expect(200));
    }

    // Listed page by page: each survey once, oldest first.
    let mut paged = Vec::new();
    let mut path = "/v1/surveys?limit=2".to_owned();
    for _ in 0..ids.len() {
        let page = api.get(&path).await.expect(200);
        paged.extend(page["surveys"].as_array().unwrap().iter().map(id_of));
        let Some(next) = page["next"].as_str() else { break };
        path = format!("/v1/surveys?limit=2&cursor={next}");
    }
    assert_eq!(paged, ids, "every survey once, in the order they were made");
    let rated_by_bo = api.get("/v1/surveys?agent=bo&state=rated").await.expect(200);
    let listed: Vec<String> = rated_by_bo["surveys"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(listed, [ids[2].as_str()], "bo's survey still open to a change");
    let fives = api.get("/v1/surveys?score=5").await.expect(200);
    assert_eq!(fives["surveys"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(), [ids[0].as_str()]);
    assert_eq!(api.get("/v1/surveys?limit=0").await.error(422), "invalid");
    assert_eq!(api.get("/v1/surveys?cursor=nonsense").await.error(422), "invalid");

    // The day they were made, in UTC.
    let day = timestamp(&surveys[0]["created_at"]).to_zoned(jiff::tz::TimeZone::UTC).date();
    let from = day.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
    let to = from + 24.hours();
    let range = format!("from={from}&to={to}");
    let report = api.get(&format!("/v1/reports?{range}")).await.expect(200);

    let figures = |invited: u64, rated: u64, response_rate: f64, csat: Value, average: Value, distribution: Value| {
        json!({
            "invited": invited, "delivered": invited, "failed": 0, "expired": 0, "rated": rated,
            "response_rate": response_rate, "csat": csat, "nps": null,
            "average_score": average, "distribution": distribution,
        })
    };
    let totals = figures(5, 4, 0.8, json!(0.5), json!(3.25), json!({ "1": 1, "2": 0, "3": 1, "4": 1, "5": 1 }));
    let ana = figures(2, 2, 1.0, json!(1.0), json!(4.5), json!({ "1": 0, "2": 0, "3": 0, "4": 1, "5": 1 }));
    let bo = figures(2, 2, 1.0, json!(0.0), json!(2.0), json!({ "1": 1, "2": 0, "3": 1, "4": 0, "5": 0 }));
    let nobody = figures(1, 0, 0.0, Value::Null, Value::Null, json!({}));
    let help_figures = bo.clone();
    let site_figures =
        figures(3, 2, 2.0 / 3.0, json!(1.0), json!(4.5), json!({ "1": 0, "2": 0, "3": 0, "4": 1, "5": 1 }));
    let with = |mut figures: Value, key: &str, value: Value| {
        figures[key] = value;
        figures
    };
    assert_eq!(report["from"], from.to_string());
    assert_eq!(report["to"], to.to_string());
    assert_eq!(report["totals"], totals);
    assert_eq!(
        report["by_agent"],
        json!([with(ana, "agent", json!("ana")), with(bo, "agent", json!("bo")), with(nobody, "agent", Value::Null)])
    );
    assert_eq!(
        report["by_channel"],
        json!([with(help_figures.clone(), "channel", json!("help")), with(site_figures, "channel", json!("site"))])
    );
    assert_eq!(report["by_day"], json!([with(totals, "date", json!(day.to_string()))]));
    let low = &surveys[3];
    assert_eq!(
        report["negative"],
        json!([{
            "survey_id": ids[3], "score": 1, "scale": "stars:5", "comment": "=1+1, \"really\"", "reason": null,
            "agent": "bo", "channel": "help", "rated_at": low["history"][0]["at"],
        }])
    );
    assert_eq!(report["scales"], json!(["stars:5"]));

    // Narrowed to a channel; a range the wrong way round, an unknown zone or parameter refused.
    let narrowed = api.get(&format!("/v1/reports?{range}&channel=help")).await.expect(200);
    assert_eq!(narrowed["totals"], help_figures);
    let answer = api.get(&format!("/v1/reports?from={to}&to={from}")).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(api.get("/v1/reports?tz=Mars/Olympus").await.error(422), "invalid");
    assert_eq!(api.get("/v1/reports?colour=red").await.error(400), "invalid_query");

    // The ratings as CSV: one row per rated survey, oldest first.
    let answer = api.get(&format!("/v1/reports/ratings.csv?{range}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("text/csv; charset=utf-8"));
    let stamp = |date: jiff::civil::Date| date.strftime("%Y%m%d").to_string();
    let next_day = day.tomorrow().unwrap();
    assert_eq!(
        answer.header("content-disposition").map(str::to_owned),
        Some(format!("attachment; filename=\"ratings-{}-{}.csv\"", stamp(day), stamp(next_day)))
    );
    let seconds = |value: &Value| timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut expected =
        "survey_id,created_at,rated_at,channel,agent,locale,scale,score,positive,comment,reason,changes\r\n".to_owned();
    let mut rated: Vec<&Value> = surveys.iter().filter(|survey| survey["score"].is_number()).collect();
    rated.sort_by_key(|survey| (timestamp(&survey["created_at"]), id_of(survey)));
    for survey in rated {
        let score = survey["score"].as_u64().unwrap();
        let comment = match survey["comment"].as_str() {
            None => String::new(),
            Some("Great, thanks") => "\"Great, thanks\"".to_owned(),
            // Quoted for its comma and quotes, and kept from being read as a formula.
            Some(text) => {
                assert_eq!(text, "=1+1, \"really\"");
                "\"'=1+1, \"\"really\"\"\"".to_owned()
            }
        };
        expected += &format!(
            "{},{},{},{},{},en,stars:5,{score},{},{comment},,0\r\n",
            id_of(survey),
            seconds(&survey["created_at"]),
            seconds(&survey["history"][0]["at"]),
            survey["channel"].as_str().unwrap(),
            survey["agent"].as_str().unwrap(),
            score >= 4,
        );
    }
    assert_eq!(answer.text, expected);
    let empty = gw.globex().get(&format!("/v1/reports/ratings.csv?{range}")).await;
    assert_eq!(empty.text, expected.lines().next().unwrap().to_owned() + "\r\n");
}

// ---------------------------------------------------------------------------------------------
// 6. Tenants.

/// Every `/v1` route the router has, as `(method, path)`.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/configs"),
    ("POST", "/v1/configs"),
    ("GET", "/v1/configs/{id}"),
    ("PUT", "/v1/configs/{id}"),
    ("GET", "/v1/channels"),
    ("POST", "/v1/channels"),
    ("GET", "/v1/channels/{id}"),
    ("PATCH", "/v1/channels/{id}"),
    ("DELETE", "/v1/channels/{id}"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations/{id}"),
    ("POST", "/v1/conversations/{id}/events"),
    ("GET", "/v1/surveys"),
    ("GET", "/v1/surveys/{id}"),
    ("POST", "/v1/invitations"),
    ("GET", "/v1/reports"),
    ("GET", "/v1/reports/ratings.csv"),
    ("GET", "/v1/endpoints"),
    ("POST", "/v1/endpoints"),
    ("DELETE", "/v1/endpoints/{id}"),
    ("GET", "/v1/deliveries"),
    ("GET", "/v1/unsubscribes"),
    ("DELETE", "/v1/unsubscribes/{address}"),
    ("DELETE", "/v1/dashboard/sessions"),
    ("GET", "/v1/contacts/{channel}/{recipient}"),
    ("GET", "/v1/reports/prechat"),
];

/// The `/v1` operations the service documents at `/openapi.json`. The document and the router
/// are made from the same `routes!` lists, so an operation added to the router is listed there,
/// and fails the tenant test until it is checked here.
async fn documented_routes(gw: &Gateway) -> BTreeSet<(String, String)> {
    let document = gw.api(None).get("/openapi.json").await.expect(200);
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("the document has paths") {
        if path.starts_with("/v1/") {
            for method in item.as_object().expect("a path item").keys() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

async fn tenants_never_see_each_others_data(gw: Gateway) {
    let routes = documented_routes(&gw).await;
    let checked: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(routes, checked, "the routes checked here are the router's");

    let (a, b) = (gw.acme(), gw.globex());

    // Tenant A: a configuration, a channel, a conversation with a rated survey, a webhook
    // endpoint whose events wait to be delivered (nothing listens at its address).
    let a_config = create_config(&a, "A", json!({})).await;
    let a_support =
        a.post("/v1/configs", &json!({ "id": "support", "name": "A support", "config": {} })).await.expect(201);
    let a_channel = connect_channel(&a, None, &a_config).await;
    converse(&a, &a_channel.id, "a-conv", "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    converse(&a, &a_channel.id, "shared-conv", "end_user", None, &[]).await;
    let a_survey = id_of(&invite(&a, &a_channel.id, "a-conv", Some("ana")).await.expect(201));
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hooks", dead.local_addr().unwrap());
    drop(dead);
    let a_endpoint = a.post("/v1/endpoints", &json!({ "url": dead_url })).await.expect(201);
    let a_endpoint = a_endpoint["id"].as_str().unwrap().to_owned();
    rate_in_widget(&gw, &a_channel, &visitor_of("a-conv"), &a_survey, 5).await;
    let a_deliveries = eventually("A's failed delivery", || async {
        let deliveries = a.get("/v1/deliveries").await.expect(200)["deliveries"].clone();
        let tried = deliveries.as_array()?.iter().any(|d| d["attempts"].as_u64() >= Some(1));
        tried.then_some(deliveries)
    })
    .await;
    let attempt = &a_deliveries[0];
    assert_eq!(attempt["endpoint"], a_endpoint.as_str());
    assert!(attempt["last_error"].as_str().unwrap().starts_with("request failed"), "{attempt}");

    // Tenant B: its own configuration, channel and survey.
    let b_config = create_config(&b, "B", json!({})).await;
    let b_channel = connect_channel(&b, None, &b_config).await;
    let b_survey = id_of(&invite(&b, &b_channel.id, "b-conv", None).await.expect(201));
    let ids = |body: &Value, list: &str| -> Vec<String> {
        body[list].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
    };
    let a_view_of = |path: String| {
        let a = a.clone();
        async move { a.get(&path).await.expect(200) }
    };
    let a_config_before = a_view_of(format!("/v1/configs/{a_config}")).await;
    let a_channel_before = a_view_of(format!("/v1/channels/{}", a_channel.id)).await;
    let a_conversation_before = a_view_of("/v1/conversations/a-conv".to_owned()).await;
    // An address that unsubscribed from A's email (as its page would record it).
    let (acme, mail) = (TenantId::new(ACME).unwrap(), ChannelId::new("mail").unwrap());
    let unsubscribed = RecipientId::new("ana@example.com").unwrap();
    ratewire_gateway::flow::contacts::unsubscribe(&gw.state.flow, &acme, &mail, &unsubscribed, Timestamp::now())
        .await
        .expect("unsubscribed");

    // Every documented operation, so one without a check here fails below.
    for (method, path) in &routes {
        let (method, path) = (method.as_str(), path.as_str());
        match (method, path) {
            ("GET", "/v1/configs") => {
                assert_eq!(ids(&b.get(path).await.expect(200), "configs"), [b_config.as_str()]);
            }
            ("POST", "/v1/configs") => {
                // B's ids are B's: the same id as A's makes a configuration of B's own.
                let mine = json!({ "id": "support", "name": "B support", "config": { "validity_hours": 5 } });
                assert_eq!(b.post(path, &mine).await.expect(201)["name"], "B support");
                assert_eq!(a.get("/v1/configs/support").await.expect(200), a_support);
                assert_eq!(b.get("/v1/configs/support").await.expect(200)["name"], "B support");
            }
            ("GET", "/v1/configs/{id}") => {
                assert_eq!(b.get(&format!("/v1/configs/{a_config}")).await.error(404), "not_found");
            }
            ("PUT", "/v1/configs/{id}") => {
                let change = json!({ "name": "Taken over", "config": { "enabled": false } });
                assert_eq!(b.put(&format!("/v1/configs/{a_config}"), &change).await.error(404), "not_found");
            }
            ("GET", "/v1/channels") => {
                assert_eq!(ids(&b.get(path).await.expect(200), "channels"), [b_channel.id.as_str()]);
            }
            ("POST", "/v1/channels") => {
                // B can't bind a channel to A's configuration.
                let body = json!({ "kind": "web_widget", "name": "Borrowed", "config": a_config });
                let answer = b.post(path, &body).await;
                assert_eq!(answer.error(422), "invalid");
                assert_eq!(answer.json()["error"]["fields"][0]["field"], "config");
            }
            ("GET", "/v1/channels/{id}") => {
                assert_eq!(b.get(&format!("/v1/channels/{}", a_channel.id)).await.error(404), "not_found");
            }
            ("PATCH", "/v1/channels/{id}") => {
                let answer = b.patch(&format!("/v1/channels/{}", a_channel.id), &json!({ "config": b_config })).await;
                assert_eq!(answer.error(404), "not_found");
                let answer = b.patch(&format!("/v1/channels/{}", b_channel.id), &json!({ "config": a_config })).await;
                assert_eq!(answer.error(422), "invalid");
            }
            ("DELETE", "/v1/channels/{id}") => {
                assert_eq!(b.delete(&format!("/v1/channels/{}", a_channel.id)).await.error(404), "not_found");
            }
            ("POST", "/v1/conversations") => {
                let on_a = json!({ "id": "b-2", "opened_by": "end_user", "channel": a_channel.id, "recipient": "x" });
                assert_eq!(b.post(path, &on_a).await.error(422), "invalid");
                // A's conversation id names a conversation of B's own.
                let same_id =
                    json!({ "id": "shared-conv", "opened_by": "agent", "channel": b_channel.id, "recipient": "y" });
                b.post(path, &same_id).await.expect(201);
                let a_shared = a.get("/v1/conversations/shared-conv").await.expect(200);
                assert_eq!(
                    (&a_shared["conversation"]["opened_by"], &a_shared["conversation"]["channel"]),
                    (&json!("end_user"), &json!(a_channel.id))
                );
            }
            ("GET", "/v1/conversations/{id}") => {
                assert_eq!(b.get("/v1/conversations/a-conv").await.error(404), "not_found");
            }
            ("GET", "/v1/reports/prechat") => {
                // A's pre-chats, as its tallies have them, are A's alone.
                let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
                let started = [("started".to_owned(), 2)];
                gw.state.flow.store.tally(&acme, today, &started).await.expect("tallied");
                assert_eq!(a.get(path).await.expect(200)["started"], 2);
                assert_eq!(b.get(path).await.expect(200)["started"], 0);
            }
            ("GET", "/v1/contacts/{channel}/{recipient}") => {
                // A's channel is none of B's, whoever the end user is.
                let contact = format!("/v1/contacts/{}/{}", a_channel.id, visitor_of("a-conv"));
                assert_eq!(b.get(&contact).await.error(404), "not_found");
                assert_eq!(a.get(&contact).await.expect(200)["channel"], a_channel.id.as_str());
            }
            ("POST", "/v1/conversations/{id}/events") => {
                let answer = b.post("/v1/conversations/a-conv/events", &json!({ "type": "closed" })).await;
                assert_eq!(answer.error(404), "not_found");
                let message = json!({ "type": "message", "author": agent("mallory"), "length": 1000 });
                assert_eq!(b.post("/v1/conversations/a-conv/events", &message).await.error(404), "not_found");
            }
            ("GET", "/v1/surveys") => {
                assert_eq!(ids(&b.get(path).await.expect(200), "surveys"), [b_survey.as_str()]);
                let filtered = b.get(&format!("/v1/surveys?channel={}", a_channel.id)).await.expect(200);
                assert_eq!(filtered["surveys"], json!([]));
            }
            ("GET", "/v1/surveys/{id}") => {
                assert_eq!(b.get(&format!("/v1/surveys/{a_survey}")).await.error(404), "not_found");
            }
            ("POST", "/v1/invitations") => {
                let answer = invite(&b, &a_channel.id, "a-conv", Some("mallory")).await;
                assert_eq!(answer.error(422), "invalid");
            }
            ("GET", "/v1/reports") => {
                let report = b.get(path).await.expect(200);
                assert_eq!((&report["totals"]["invited"], &report["totals"]["rated"]), (&json!(1), &json!(0)));
                let channels: Vec<&Value> =
                    report["by_channel"].as_array().unwrap().iter().map(|c| &c["channel"]).collect();
                assert_eq!(channels, [&json!(b_channel.id)]);
                let answer = b.get(&format!("/v1/reports?channel={}", a_channel.id)).await.expect(200);
                assert_eq!(answer["totals"]["invited"], 0);
            }
            ("GET", "/v1/reports/ratings.csv") => {
                let csv = b.get(path).await;
                assert_eq!(csv.status, 200);
                assert_eq!(csv.text.lines().count(), 1, "only the header: {}", csv.text);
                assert_eq!(a.get(path).await.text.lines().count(), 2, "A's own rating is there");
            }
            ("GET", "/v1/endpoints") => {
                assert_eq!(b.get(path).await.expect(200), json!({ "endpoints": [] }));
            }
            ("POST", "/v1/endpoints") => {
                let mine = b.post(path, &json!({ "url": "http://127.0.0.1:9/b" })).await.expect(201);
                assert_eq!(ids(&b.get(path).await.expect(200), "endpoints"), [mine["id"].as_str().unwrap().to_owned()]);
                assert_eq!(ids(&a.get(path).await.expect(200), "endpoints"), [a_endpoint.as_str()]);
            }
            ("DELETE", "/v1/endpoints/{id}") => {
                assert_eq!(b.delete(&format!("/v1/endpoints/{a_endpoint}")).await.error(404), "not_found");
                assert_eq!(ids(&a.get("/v1/endpoints").await.expect(200), "endpoints"), [a_endpoint.as_str()]);
            }
            ("GET", "/v1/deliveries") => {
                assert_eq!(b.get(path).await.expect(200), json!({ "deliveries": [] }));
                let a_now = a.get(path).await.expect(200);
                assert!(!a_now["deliveries"].as_array().unwrap().is_empty(), "A's deliveries are still there");
            }
            ("GET", "/v1/unsubscribes") => {
                assert_eq!(b.get(path).await.expect(200), json!({ "unsubscribes": [] }));
            }
            ("DELETE", "/v1/unsubscribes/{address}") => {
                assert_eq!(b.delete("/v1/unsubscribes/ana@example.com").await.error(404), "not_found");
                let a_now = a.get("/v1/unsubscribes").await.expect(200);
                assert_eq!(a_now["unsubscribes"][0]["address"], "ana@example.com", "A's is still there");
            }
            ("DELETE", "/v1/dashboard/sessions") => {
                // A's dashboard session outlives B's logging out everywhere.
                let no_redirects = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none());
                let login = no_redirects.build().unwrap().post(format!("{}/dashboard/login", gw.base));
                let answer = login.form(&[("key", gw.acme_key())]).send().await.unwrap();
                let set_cookie = answer.headers().get("set-cookie").unwrap().to_str().unwrap();
                let cookie = set_cookie.split(';').next().unwrap().to_owned();
                b.delete(path).await.expect(204);
                let reports = client().get(format!("{}/v1/reports", gw.base));
                assert_eq!(reports.header("cookie", cookie).send().await.unwrap().status(), 200);
            }
            (method, path) => panic!("no tenant check for {method} {path}"),
        }
    }

    // A's data is as it was.
    assert_eq!(a_view_of(format!("/v1/configs/{a_config}")).await, a_config_before);
    assert_eq!(a_view_of(format!("/v1/channels/{}", a_channel.id)).await, a_channel_before);
    assert_eq!(a_view_of("/v1/conversations/a-conv".to_owned()).await, a_conversation_before);
    let a_rated = a.get(&format!("/v1/surveys/{a_survey}")).await.expect(200);
    assert_eq!((&a_rated["state"], &a_rated["score"]), (&json!("rated"), &json!(5)));
    // A widget names its tenant, and B's tenant has no such channel.
    let token = visitor_token(&a_channel.visitor_secret, "v");
    let query = [("tenant", GLOBEX), ("channel", a_channel.id.as_str()), ("visitor", "v"), ("token", token.as_str())];
    assert_eq!(Widget::connect(&gw.base, &query).await.err(), Some(403));

    // Without a key, or with one that isn't a tenant's, no route answers.
    let unauthorized = json!({ "error": {
        "code": "unauthorized", "message": "missing or unknown API key: send Authorization: Bearer <key>",
    } });
    let nobody = gw.api(None);
    let stranger = gw.api(Some(&ratewire_gateway::http::auth::new_key()));
    for (method, path) in &routes {
        let path = path.replace("{id}", "x");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        for (who, api) in [("no key", &nobody), ("an unknown key", &stranger)] {
            let answer = api.send(method.clone(), &path, body.as_ref()).await;
            assert_eq!(answer.expect(401), unauthorized, "{method} {path} with {who}");
        }
    }
    let answer = reqwest_with_header(&gw, "/v1/configs", "Basic YWNtZTpzZWNyZXQ=").await;
    assert_eq!(answer, 401);
}

/// The status of a GET with the given Authorization header.
async fn reqwest_with_header(gw: &Gateway, path: &str, authorization: &str) -> u16 {
    let response = client().get(format!("{}{path}", gw.base)).header("authorization", authorization).send().await;
    response.expect("the service answers").status().as_u16()
}

// ---------------------------------------------------------------------------------------------
// 7. Event webhooks.

/// Checks a post's signature by the documented recipe, and that its event id header is its
/// body's: `ratewire-signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
#[track_caller]
fn assert_signed(post: &Post, secret: &str) {
    let signature = post.header("ratewire-signature").expect("a signature header");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("a signature is t=…,v1=…: {signature}"));
    let sent: i64 = t.parse().expect("t is unix seconds");
    assert!((now().as_second() - sent).abs() <= 60, "signed just now: {signature}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", post.body).as_bytes());
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()), "the signature of {}", post.body);
    assert_eq!(post.header("ratewire-event-id"), post.json()["id"].as_str(), "the event id header is the body's id");
    assert_eq!(post.header("content-type"), Some("application/json"));
}

async fn event_webhooks_are_signed_and_retried_until_delivered(gw: Gateway) {
    let api = gw.acme();
    let receiver = Receiver::start().await;
    let answer = api.post("/v1/endpoints", &json!({ "url": "ftp://example.com/hooks" })).await;
    assert_eq!(answer.error(422), "invalid");
    assert_eq!(api.post("/v1/endpoints", &json!({ "url": "not a url" })).await.error(422), "invalid");

    // The endpoint's secret is shown in full once, masked after.
    let endpoint = api.post("/v1/endpoints", &json!({ "url": receiver.url })).await.expect(201);
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 38, "a secret in full: {secret}");
    assert_eq!((&endpoint["url"], &endpoint["events"]), (&json!(receiver.url), &json!([])));
    let listed = api.get("/v1/endpoints").await.expect(200);
    assert_eq!(listed["endpoints"][0]["secret"], format!("••••{}", &secret[secret.len() - 4..]));
    // A second endpoint that only wants comments.
    let comments = Receiver::start().await;
    let filtered = json!({ "url": comments.url, "events": ["survey.commented"] });
    let comments_secret = api.post("/v1/endpoints", &filtered).await.expect(201)["secret"].as_str().unwrap().to_owned();

    // A survey sent, rated and commented: three events, each signed.
    let config = create_config(&api, "Hooks", json!({})).await;
    let channel = connect_channel(&api, None, &config).await;
    converse(&api, &channel.id, "h1", "end_user", None, &[(end_user("u1"), 300), (agent("ana"), 300)]).await;
    let survey = id_of(&invite(&api, &channel.id, "h1", Some("ana")).await.expect(201));
    let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of("h1")).await;
    widget.view().await;
    widget.send(json!({ "type": "rate", "survey": survey, "score": 4 })).await;
    widget.until_view(|view| view["score"] == 4).await;
    widget.send(json!({ "type": "rate", "survey": survey, "score": 5 })).await;
    widget.until_view(|view| view["score"] == 5).await;
    widget.send(json!({ "type": "comment", "survey": survey, "text": "Lovely" })).await;
    widget.until_view(|view| view["comment"] == "Lovely").await;

    let posts = receiver.wait_for("four events", |posts| posts.len() >= 4).await;
    let mut events: Vec<Value> = posts.iter().map(Post::json).collect();
    // The survey's revision orders its events, whatever order they arrived in.
    events.sort_by_key(|event| event["survey"]["revision"].as_u64().expect("a revision"));
    let types: Vec<&Value> = events.iter().map(|event| &event["type"]).collect();
    assert_eq!(
        types,
        [&json!("survey.sent"), &json!("survey.rated"), &json!("survey.changed"), &json!("survey.commented")]
    );
    for post in &posts {
        assert_signed(post, &secret);
        assert!(post.header("user-agent").is_some_and(|ua| ua.starts_with("ratewire/")));
    }
    let distinct: BTreeSet<&str> = events.iter().map(|event| event["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 4, "every event has its own id");
    let about = |event: &Value| {
        let s = &event["survey"];
        (s["state"].clone(), s["score"].clone(), s["previous_score"].clone(), s["comment"].clone())
    };
    assert_eq!(about(&events[0]), (json!("pending"), Value::Null, Value::Null, Value::Null));
    assert_eq!(about(&events[1]), (json!("rated"), json!(4), Value::Null, Value::Null));
    assert_eq!(about(&events[2]), (json!("rated"), json!(5), json!(4), Value::Null));
    assert_eq!(about(&events[3]), (json!("locked"), json!(5), json!(4), json!("Lovely")));
    for event in &events {
        let s = &event["survey"];
        assert_eq!((&s["id"], &s["conversation"], &s["channel"]), (&json!(survey), &json!("h1"), &json!(channel.id)));
        assert_eq!(
            (&s["recipient"], &s["agent"], &s["scale"]),
            (&json!(visitor_of("h1")), &json!("ana"), &json!("stars:5"))
        );
    }
    let only_comments = comments.wait_for("the comment", |posts| !posts.is_empty()).await;
    assert_eq!(only_comments[0].json()["type"], "survey.commented");
    assert_signed(&only_comments[0], &comments_secret);
    eventually("the deliveries to finish", || async {
        let pending = api.get("/v1/deliveries").await.expect(200);
        (pending == json!({ "deliveries": [] })).then_some(())
    })
    .await;
    assert_eq!(receiver.posts().len(), 4, "each event posted once");
    assert_eq!(comments.posts().len(), 1);

    // The receiver is down for a while: the event waits, and says why.
    receiver.answer_with(503);
    converse(&api, &channel.id, "h2", "end_user", None, &[(end_user("u2"), 300), (agent("ana"), 300)]).await;
    let second = id_of(&invite(&api, &channel.id, "h2", Some("ana")).await.expect(201));
    let refused = receiver.wait_for("the refused post", |posts| posts.len() == 5).await;
    assert_eq!(refused[4].answered, 503);
    let event_id = refused[4].json()["id"].as_str().unwrap().to_owned();
    assert_eq!(refused[4].json()["survey"]["id"], second.as_str());
    let delivery = eventually("the failed attempt to be recorded", || async {
        let pending = api.get("/v1/deliveries").await.expect(200);
        let delivery = pending["deliveries"].get(0)?.clone();
        (delivery["attempts"] == 1).then_some(delivery)
    })
    .await;
    assert_eq!(delivery["id"], event_id.as_str());
    assert_eq!(delivery["endpoint"], endpoint_id.as_str());
    assert_eq!(delivery["last_error"], "the endpoint answered 503 Service Unavailable");
    // The first retry comes 10 to 12 seconds later (backoff with up to 20% jitter).
    let wait = timestamp(&delivery["next_attempt"]).duration_since(refused[4].received_at);
    let (earliest, latest) = (SignedDuration::from_secs(10), SignedDuration::from_millis(12_500));
    assert!(wait >= earliest && wait <= latest, "retry in {wait:?}");

    // Time passes (the deliverer is called as its worker would be, later): still down, so
    // another attempt, with the same event.
    let http = client();
    let later = Timestamp::now() + SignedDuration::from_secs(30);
    outbox::run_due(&gw.state.flow, &http, later, Buckets::ALL).await.expect("the store answers");
    let pending = api.get("/v1/deliveries").await.expect(200);
    assert_eq!(pending["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(pending["deliveries"][0]["attempts"], 2);
    assert_eq!(pending["deliveries"][0]["last_error"], "the endpoint answered 503 Service Unavailable");

    // It comes back: the event is delivered, and nothing is left waiting.
    receiver.answer_with(200);
    let much_later = Timestamp::now() + SignedDuration::from_secs(120);
    outbox::run_due(&gw.state.flow, &http, much_later, Buckets::ALL).await.expect("the store answers");
    assert_eq!(api.get("/v1/deliveries").await.expect(200), json!({ "deliveries": [] }));
    let posts = receiver.posts();
    let attempts: Vec<&Post> =
        posts.iter().filter(|post| post.header("ratewire-event-id") == Some(&event_id)).collect();
    let answered: Vec<u16> = attempts.iter().map(|post| post.answered).collect();
    assert_eq!(answered, [503, 503, 200], "posted until it was taken");
    assert!(attempts.iter().all(|post| post.body == attempts[0].body), "every attempt posts the same event");
    for post in &attempts {
        assert_signed(post, &secret);
    }

    // A removed endpoint gets nothing more.
    assert_eq!(api.delete(&format!("/v1/endpoints/{endpoint_id}")).await.status, 204);
    assert_eq!(api.delete(&format!("/v1/endpoints/{endpoint_id}")).await.error(404), "not_found");
    converse(&api, &channel.id, "h3", "end_user", None, &[]).await;
    invite(&api, &channel.id, "h3", None).await.expect(201);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(receiver.posts().len(), posts.len());
}

// ---------------------------------------------------------------------------------------------
// 8. Health.

async fn health_and_readiness(mut gw: Gateway) {
    let anonymous = gw.api(None);
    let store = if gw.redis.is_some() { "redis" } else { "embedded" };
    assert_eq!(anonymous.get("/healthz").await.expect(200), json!({ "status": "ok", "store": store }));
    assert_eq!(anonymous.get("/readyz").await.expect(200), json!({ "status": "ready", "store": store }));

    let Some(redis) = gw.redis.as_mut() else { return };
    // Redis goes away: the process is alive, but not ready.
    redis.stop();
    let answer = anonymous.get("/readyz").await;
    assert_eq!(
        answer.expect(503),
        json!({ "error": { "code": "unavailable", "message": "the store is unavailable; try again shortly" } })
    );
    assert_eq!(anonymous.get("/healthz").await.expect(200), json!({ "status": "ok", "store": "redis" }));
    // It comes back: ready again, without a restart of the service.
    redis.restart();
    eventually("ready again", || async { (anonymous.get("/readyz").await.status == 200).then_some(()) }).await;
}

async fn a_configuration_reports_every_problem_at_once(gw: Gateway) {
    let api = gw.acme();
    // Four problems: two that stop the configuration being read, two that its checks find.
    let config = json!({
        "scale": "stars:11",
        "content": { "nl": {} },
        "validity_hours": 0,
        "low_rating_reasons": ["slow", "price"],
    });
    let answer = api.post("/v1/configs", &json!({ "name": "Four", "config": config })).await.expect(422);
    let fields: BTreeSet<&str> =
        answer["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    let expected = ["config.content.nl", "config.low_rating_reasons[1]", "config.scale", "config.validity_hours"];
    assert_eq!(fields, BTreeSet::from(expected), "{answer}");

    // A reason of the business's own, without a label, would show end users its bare id.
    let unlabelled = json!({ "name": "Price", "config": { "low_rating_reasons": ["price"] } });
    let answer = api.post("/v1/configs", &unlabelled).await.expect(422);
    assert_eq!(answer["error"]["fields"][0]["field"], "config.low_rating_reasons[0]", "{answer}");
    assert!(answer["error"]["fields"][0]["problem"].as_str().unwrap().contains("content.en.reasons"), "{answer}");
    let labelled = json!({ "name": "Price", "config": {
        "low_rating_reasons": ["price"], "content": { "en": { "reasons": { "price": "Too expensive" } } },
    } });
    api.post("/v1/configs", &labelled).await.expect(201);
    // The whole configuration in the wrong shape is named as such.
    let answer = api.post("/v1/configs", &json!({ "name": "Null", "config": null })).await.expect(422);
    assert_eq!(answer["error"]["fields"][0]["field"], "config", "{answer}");
    // A revision is never negative, on create as on update.
    let answer = api.post("/v1/configs", &json!({ "name": "Minus", "revision": -1 })).await.expect(422);
    assert_eq!(answer["error"]["fields"][0]["field"], "revision", "{answer}");
}

async fn reasons_default_the_same_on_every_scale(gw: Gateway) {
    let api = gw.acme();
    let shipped = json!([
        ["slow", "Slow response"],
        ["unresolved", "Problem not solved"],
        ["unfriendly", "Unfriendly service"],
        ["other", "Something else"],
    ]);
    for (n, (scale, low)) in [("stars:5", 1), ("numeric:0-10", 3), ("emoji:5", 2)].into_iter().enumerate() {
        let config = create_config(&api, scale, json!({ "scale": scale })).await;
        let stored = api.get(&format!("/v1/configs/{config}")).await.expect(200);
        assert_eq!(stored["config"]["low_rating_reasons"], json!(["slow", "unresolved", "unfriendly", "other"]));
        // A low rating on the scale is followed by the reasons, in the widget.
        let channel = connect_channel(&api, None, &config).await;
        let conversation = format!("reasons-{n}");
        let survey = id_of(&invite(&api, &channel.id, &conversation, Some("ana")).await.expect(201));
        let mut widget = gw.widget(ACME, &channel.id, &channel.visitor_secret, &visitor_of(&conversation)).await;
        let shown = widget.until_view(|view| view["id"] == survey.as_str()).await.1;
        assert_eq!(shown["reasons"], shipped, "{scale}");
        widget.send(json!({ "type": "rate", "survey": survey, "score": low })).await;
        let asked = widget.until_view(|view| view["score"] == low).await.1;
        assert_eq!(asked["awaits_reason"], true, "{scale}: {asked}");
    }
}

// A Redis that would lose data on a crash is named at start, and refused when durability is
// required.
#[tokio::test]
async fn a_redis_that_would_lose_data_is_refused_when_durability_is_required() {
    use ratewire_gateway::cli::serve;
    use ratewire_gateway::cli::settings::Settings;
    let start = |url: String| {
        let settings = Settings { redis_url: Some(url), redis_require_durability: true, ..Settings::default() };
        async move { serve::state(settings.check().expect("the settings are fine")).await.map(|_| ()) }
    };
    // The harness's plain server keeps nothing: no append-only file.
    let forgetful = ratewire_tests::RedisServer::start();
    let refused = start(forgetful.url()).await.expect_err("a server without an append-only file is refused");
    assert!(refused.contains("redis_require_durability") && refused.contains("appendonly is no"), "{refused}");
    // One that evicts keys when memory fills is refused too, whatever it keeps on disk.
    let durable = ratewire_tests::RedisServer::start_durable();
    durable.command(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]).await;
    let refused = start(durable.url()).await.expect_err("an evicting server is refused");
    assert!(refused.contains("maxmemory-policy is allkeys-lru"), "{refused}");
    assert!(!refused.contains("appendonly"), "its append-only file is on: {refused}");
    durable.command(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]).await;
    start(durable.url()).await.expect("a durable server that never evicts is taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_widget_held_by_one_gateway_sees_what_another_did() {
    let a = Gateway::start(Some(ratewire_tests::RedisServer::start())).await;
    let b = a.beside().await;
    a_widget_sees_what_the_other_gateway_did(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_cluster_a_widget_held_by_one_gateway_sees_what_another_did() {
    let a = Gateway::start_on_cluster(RedisCluster::start()).await;
    let b = a.beside().await;
    a_widget_sees_what_the_other_gateway_did(a, b).await;
}

/// Two gateways on one store, a visitor's widget on each: what happens through one reaches the
/// widget the other holds, both ways, as soon as on one gateway.
async fn a_widget_sees_what_the_other_gateway_did(a: Gateway, b: Gateway) {
    let config = create_config(&a.acme(), "Across", json!({ "scale": "stars:5", "low_rating_reasons": [] })).await;
    let channel = connect_channel(&a.acme(), None, &config).await;
    let visitor = visitor_of("across");
    let mut on_b = b.widget(ACME, &channel.id, &channel.visitor_secret, &visitor).await;
    assert_eq!(on_b.view().await, Value::Null, "nothing to show yet");

    // An agent invites through gateway A: the widget gateway B holds shows the invitation.
    let survey = id_of(&invite(&a.acme(), &channel.id, "across", None).await.expect(201));
    let (_, shown) = on_b.until_view(|view| !view.is_null()).await;
    assert_eq!(shown["id"], survey.as_str());

    // The visitor rates in a second tab, held by gateway A: the tab on B follows.
    let mut on_a = a.widget(ACME, &channel.id, &channel.visitor_secret, &visitor).await;
    assert_eq!(on_a.view().await["id"], survey.as_str());
    on_a.send(json!({ "type": "rate", "survey": survey, "score": 4 })).await;
    let (said, rated) = on_b.until_view(|view| view["score"] == 4).await;
    assert_eq!((said, &rated["state"]), (vec!["Thank you for your rating!".to_owned()], &json!("rated")));
}

/// A configuration changed through one gateway is what another reads next, not its copy of a
/// second ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_through_one_gateway_is_read_at_once_by_another() {
    let a = Gateway::start(Some(ratewire_tests::RedisServer::start())).await;
    let b = a.beside().await;
    let config = create_config(&a.acme(), "Copied", json!({ "scale": "stars:5" })).await;
    let path = format!("/v1/configs/{config}");
    for round in 1..=3 {
        // B reads the configuration, and so keeps a copy of it for a second.
        let read = b.acme().get(&path).await.expect(200);
        assert_eq!(read["revision"], round);
        let update =
            json!({ "name": format!("Copied v{}", round + 1), "revision": round, "config": { "scale": "stars:5" } });
        a.acme().put(&path, &update).await.expect(200);
        // B hears of the change from A and drops its copy: well within the copy's second.
        let started = std::time::Instant::now();
        let seen = eventually("gateway B reads the new revision", || async {
            let read = b.acme().get(&path).await.expect(200);
            (read["revision"] == round + 1).then(|| started.elapsed())
        })
        .await;
        assert!(seen < std::time::Duration::from_millis(300), "B read its old copy for {seen:?}");
    }
}
