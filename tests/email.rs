//! Email end to end: the gateway in this process sends its invitations through a real SMTP
//! server on loopback (aiosmtpd, see [`SmtpServer`]); the messages that arrive are parsed and
//! their links followed with an HTTP client, and replies are posted as raw RFC 822 messages to
//! the channel's webhook URL, as an MTA or an inbound-mail service would.
//!
//! The flows run on the embedded store and on Redis; the rating page in a real headless
//! Chromium on the embedded store.

use std::time::Duration;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use mail_parser::{Message, MessageParser, MimeHeaders};
use ratewire_core::store::Task;
use ratewire_core::{Event, SurveyId, TenantId};
use ratewire_gateway::flow::surveys;
use ratewire_tests::browser::{Browser, artifact};
use ratewire_tests::service::{ACME, Api, BODY_LIMIT, EMAIL_BODY_LIMIT, Gateway, eventually, survey, survey_until};
use ratewire_tests::smtp::{Mail, SmtpServer};
use reqwest::Method;
use serde_json::{Value, json};

/// The channel's id: its webhook is `/hooks/acme/mail`, its pages under `/email/acme/mail`.
const CHANNEL: &str = "mail";
const FROM: &str = "Acme Support <help@acme.example>";

ratewire_tests::on_both_stores!(
    an_invitation_arrives_with_both_parts_and_links_that_confirm_before_they_rate,
    replies_by_email_rate_and_comment_and_programs_are_ignored,
    unsubscribing_stops_invitations_to_the_address,
    smtp_refusals_fail_the_survey_or_wait,
    links_of_an_expired_survey_say_it_closed,
    a_low_rating_by_email_offers_each_reason_as_a_link,
);

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// A configuration and the email channel on the test's SMTP server; the channel as the API
/// shows it when connected.
async fn connect(gw: &Gateway, smtp: &SmtpServer, config: Value) -> Value {
    connect_with(gw, smtp, config, json!({}), json!({})).await
}

/// The same, with more settings and secrets for the channel.
async fn connect_with(gw: &Gateway, smtp: &SmtpServer, config: Value, settings: Value, secrets: Value) -> Value {
    let api = gw.acme();
    let config = api.post("/v1/configs", &json!({ "name": "Email surveys", "config": config })).await.expect(201);
    let mut all = json!({
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port.to_string(), "smtp_tls": "none",
        "from": FROM, "reply_to": "ratings@acme.example",
    });
    for (name, value) in settings.as_object().into_iter().flatten() {
        all[name] = value.clone();
    }
    let body = json!({
        "id": CHANNEL, "kind": "email", "name": "Support mail", "config": config["id"],
        "settings": all, "secrets": secrets,
    });
    api.post("/v1/channels", &body).await.expect(201)
}

/// Waits until the outbox holds no message to an end user: every send is done, and what the
/// SMTP server has is all there will be.
async fn settled(gw: &Gateway, smtp: &SmtpServer) -> Vec<Mail> {
    let tenant = TenantId::new(ACME).unwrap();
    eventually("the outbox to send everything", || async {
        let items = gw.state.flow.store.pending_items(&tenant, 100).await.expect("the outbox");
        (!items.iter().any(|item| matches!(item.task, Task::Send { .. }))).then_some(())
    })
    .await;
    smtp.mails()
}

/// An agent's invitation to `address`; the survey's id.
async fn invite(api: &Api, conversation: &str, address: &str, locale: Option<&str>) -> String {
    let body = json!({ "conversation": conversation, "channel": CHANNEL, "recipient": address, "locale": locale });
    let survey = api.post("/v1/invitations", &body).await.expect(201);
    survey["id"].as_str().expect("a survey has an id").to_owned()
}

fn parse(mail: &Mail) -> Message<'_> {
    MessageParser::default().parse(&mail.raw).expect("the SMTP server got an RFC 822 message")
}

/// A header's value as sent, found by name in any case.
fn header(message: &Message<'_>, name: &str) -> Option<String> {
    let header = message.headers().iter().find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let raw = &message.raw_message()[header.offset_start as usize..header.offset_end as usize];
    Some(String::from_utf8_lossy(raw).split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Every link in `text` to the channel's pages of `kind` (`rate`, `survey`, `unsubscribe`), as
/// paths on the gateway.
fn links(gw: &Gateway, text: &str, kind: &str) -> Vec<String> {
    let prefix = format!("{}/email/{ACME}/{CHANNEL}/{kind}/", gw.base);
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let link: String = rest[at..].chars().take_while(|c| c.is_ascii_graphic() && *c != '"' && *c != '<').collect();
        found.push(link.trim_start_matches(&gw.base).to_owned());
        rest = &rest[at + prefix.len()..];
    }
    found
}

/// A page of the gateway: its status and HTML.
async fn page(gw: &Gateway, method: Method, path: &str, form: Option<&str>) -> (u16, String) {
    let content_type = form.map(|_| "application/x-www-form-urlencoded");
    let answer = gw.api(None).raw(method, path, content_type, form.unwrap_or_default().as_bytes().to_vec()).await;
    // Every answer is a page, the failures too.
    assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{path}: {}", answer.status);
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{path}");
    (answer.status, answer.text)
}

/// A link with another score in its token but the same MAC: an edited URL.
fn tampered(link: &str, from: u8, to: u8) -> String {
    let (head, token) = link.rsplit_once('/').expect("a link ends with its token");
    let (payload, mac) = token.split_once('.').expect("a token has a MAC");
    let payload = String::from_utf8(hex::decode(payload).expect("hex")).expect("text");
    let edited = payload.replacen(&format!("r:{from}:"), &format!("r:{to}:"), 1);
    assert_ne!(edited, payload);
    format!("{head}/{}.{mac}", hex::encode(edited))
}

/// A reply as a mail client sends it.
fn reply(from: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {FROM}\r\nSubject: Re: How would you rate the help you received today?\r\n\
         Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@mail.example.com>\r\n{headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        uuid_like(from, body),
    )
    .into_bytes()
}

/// A stable Message-ID part for a reply: the same reply posted twice is the same message.
fn uuid_like(from: &str, body: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (from, body).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Posts a raw message to the channel's webhook URL with `secret` as the bearer credential.
async fn post_mail(gw: &Gateway, secret: Option<&str>, raw: Vec<u8>) -> ratewire_tests::service::Answer {
    gw.api(secret).raw(Method::POST, &format!("/hooks/{ACME}/{CHANNEL}"), Some("message/rfc822"), raw).await
}

/// Posts to the channel's webhook over a bare connection, with `secret` as the bearer token or
/// none, the body framed by the header `framing` and as much of it as `body` holds; the status
/// the gateway answers without waiting for more.
async fn post_by_hand(gw: &Gateway, secret: Option<&str>, framing: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = gw.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("the gateway listens");
    let authorization = secret.map(|secret| format!("Authorization: Bearer {secret}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /hooks/{ACME}/{CHANNEL} HTTP/1.1\r\nHost: {address}\r\nContent-Type: message/rfc822\r\n\
         {framing}\r\n{authorization}\r\n"
    );
    stream.write_all(&[head.as_bytes(), body].concat()).await.expect("the request is sent");
    let mut answer = [0; 12];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer))
        .await
        .expect("an answer before the body is sent")
        .expect("a status line");
    assert_eq!(read, answer.len());
    let status_line = String::from_utf8_lossy(&answer);
    status_line.strip_prefix("HTTP/1.1 ").and_then(|status| status.parse().ok()).expect("an HTTP/1.1 status line")
}

// ---------------------------------------------------------------------------------------------
// 1. The invitation: headers, both parts, and links a scanner can open safely.

async fn an_invitation_arrives_with_both_parts_and_links_that_confirm_before_they_rate(gw: Gateway) {
    let smtp = SmtpServer::start();
    let channel = connect(&gw, &smtp, json!({ "low_rating_reasons": ["slow", "unresolved"] })).await;
    assert_eq!(channel["webhook_url"], format!("{}/hooks/{ACME}/{CHANNEL}", gw.base));
    let api = gw.acme();
    let id = invite(&api, "conv-ana", "ana@example.com", Some("es")).await;

    let mails = smtp.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "help@acme.example");
    assert_eq!(mail.rcpt_to, ["ana@example.com"]);
    let message = parse(mail);
    let from = message.from().and_then(|from| from.first()).expect("a From address");
    assert_eq!((from.name(), from.address()), (Some("Acme Support"), Some("help@acme.example")));
    assert_eq!(header(&message, "To").as_deref(), Some("ana@example.com"));
    assert_eq!(message.subject(), Some("¿Cómo calificaría la ayuda que recibió hoy?"));
    assert_eq!(message.message_id(), Some(format!("rw.{id}.invitation@acme.example").as_str()));
    assert_eq!(header(&message, "Reply-To"), Some(format!("ratings+{id}@acme.example")));
    assert_eq!(header(&message, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    assert_eq!(header(&message, "Auto-Submitted").as_deref(), Some("auto-generated"));
    assert_eq!(header(&message, "Content-Language").as_deref(), Some("es"));
    let unsubscribe = header(&message, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(unsubscribe.starts_with(&format!("<{}/email/{ACME}/{CHANNEL}/unsubscribe/", gw.base)), "{unsubscribe}");

    // multipart/alternative: plain text and HTML, each with one link per level, the same links.
    let root = message.content_type().expect("a content type");
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("alternative")));
    assert_eq!((message.text_body_count(), message.html_body_count()), (1, 1));
    let text = message.body_text(0).expect("a text part").into_owned();
    let html = message.body_html(0).expect("an HTML part").into_owned();
    assert!(text.starts_with("¿Cómo calificaría la ayuda que recibió hoy?"), "{text}");
    assert!(text.contains("Responda con un número del 1 al 5."), "{text}");
    assert!(html.contains("<html lang=\"es\" dir=\"ltr\">"), "{html}");
    let rate_links = links(&gw, &text, "rate");
    assert_eq!(rate_links.len(), 5, "{text}");
    assert_eq!(links(&gw, &html, "rate"), rate_links);
    assert!(text.contains(&format!("⭐⭐⭐⭐ Satisfecho: {}{}", gw.base, rate_links[3])), "{text}");
    assert_eq!(survey(&api, &id).await["state"], "pending");
    let sent = survey_until(&api, &id, "the survey sent", |s| s["sent_at"].is_string()).await;
    assert_eq!(sent["state"], "pending");

    // A GET — what a mail scanner does — only asks; the survey is untouched.
    let (status, confirm) = page(&gw, Method::GET, &rate_links[1], None).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("<html lang=\"es\" dir=\"ltr\">"), "{confirm}");
    assert!(confirm.contains("¿Es esta su calificación?") && confirm.contains("Insatisfecho"), "{confirm}");
    assert!(confirm.contains("<form method=\"post\">"), "{confirm}");
    assert_eq!(survey(&api, &id).await["state"], "pending");

    // An edited score is refused, and changes nothing.
    let (status, refused) = page(&gw, Method::POST, &tampered(&rate_links[1], 2, 5), None).await;
    assert_eq!(status, 404, "{refused}");
    assert!(refused.contains("not valid"), "{refused}");
    let (status, _) = page(&gw, Method::GET, &tampered(&rate_links[1], 2, 5), None).await;
    assert_eq!(status, 404);
    assert_eq!(survey(&api, &id).await["state"], "pending");

    // The POST records it: a low rating asks for a reason, then the comment.
    let (status, rated) = page(&gw, Method::POST, &rate_links[1], None).await;
    assert_eq!(status, 200, "{rated}");
    assert!(rated.contains("¡Gracias por su calificación!"), "{rated}");
    assert!(rated.contains("name=\"reason\" value=\"slow\""), "{rated}");
    let rated_survey = survey(&api, &id).await;
    assert_eq!((&rated_survey["state"], &rated_survey["score"]), (&json!("rated"), &json!(2)));
    let survey_page = form_action(&gw, &rate_links[1], &rated);
    assert!(survey_page.starts_with(&format!("/email/{ACME}/{CHANNEL}/survey/")), "{survey_page}");
    let (status, reasoned) = page(&gw, Method::POST, &survey_page, Some("reason=slow")).await;
    assert_eq!(status, 200, "{reasoned}");
    assert!(reasoned.contains("<textarea id=\"comment\" name=\"comment\""), "{reasoned}");
    // A blank comment is a clear 400, said in the survey's language; nothing is recorded.
    let (status, blank) = page(&gw, Method::POST, &survey_page, Some("comment=+%0A+")).await;
    assert_eq!(status, 400, "{blank}");
    assert!(blank.contains("Escriba su comentario antes de enviarlo."), "{blank}");
    assert_eq!(survey(&api, &id).await["comment"], Value::Null);
    let (status, commented) = page(&gw, Method::POST, &survey_page, Some("comment=Tardaron+mucho")).await;
    assert_eq!(status, 200, "{commented}");
    assert!(commented.contains("Tardaron mucho"), "{commented}");
    let done = survey(&api, &id).await;
    assert_eq!(
        (&done["state"], &done["reason"], &done["comment"]),
        (&json!("locked"), &json!("slow"), &json!("Tardaron mucho"))
    );

    // The rating is final now: another level's link says so, and changes nothing.
    let (status, late) = page(&gw, Method::POST, &rate_links[4], None).await;
    assert_eq!(status, 409, "{late}");
    assert!(late.contains("Su calificación es definitiva"), "{late}");
    assert_eq!(survey(&api, &id).await["score"], 2);
    // So is another reason: the page says so in the survey's language, not the core's words.
    let (status, late) = page(&gw, Method::POST, &survey_page, Some("reason=unresolved")).await;
    assert_eq!(status, 409, "{late}");
    assert!(late.contains("Esta respuesta ya no se puede registrar."), "{late}");
    assert_eq!(survey(&api, &id).await["reason"], "slow");
    // A form that isn't the page's is a clear 400.
    let (status, bad) = page(&gw, Method::POST, &survey_page, Some("score=4&comment=x")).await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad.contains("send one of score, reason or comment"), "{bad}");

    // What was answered on the page was shown there: no follow-up email went out.
    assert_eq!(settled(&gw, &smtp).await.len(), 1);
}

/// Where the form on a page posts to, as a path on the gateway: forms post to paths relative
/// to their page, so the pages work under any `public_url`.
fn form_action(gw: &Gateway, page_path: &str, html: &str) -> String {
    let (_, rest) = html.split_once("action=\"").expect("a form with an action");
    let action = &rest[..rest.find('"').expect("a closed attribute")];
    assert!(!action.starts_with('/') && !action.contains("://"), "relative: {action}");
    let page = reqwest::Url::parse(&format!("{}{page_path}", gw.base)).expect("a page URL");
    page.join(action).expect("the action resolves").path().to_owned()
}

// ---------------------------------------------------------------------------------------------
// 2. Replies by email.

async fn replies_by_email_rate_and_comment_and_programs_are_ignored(gw: Gateway) {
    let smtp = SmtpServer::start();
    let channel = connect(&gw, &smtp, json!({})).await;
    let secret = channel["verify_token"].as_str().expect("the secret, in full when connected").to_owned();
    let api = gw.acme();
    let bob = invite(&api, "conv-bob", "bob@example.com", None).await;
    let carol = invite(&api, "conv-carol", "carol@example.com", None).await;
    let dave = invite(&api, "conv-dave", "dave@example.com", None).await;
    smtp.wait_for(3).await;

    // Only posts with the channel's secret are read.
    let threaded = format!("In-Reply-To: <rw.{bob}.invitation@acme.example>\r\n");
    let body = "4 - quick and helpful\r\n\r\nOn Sat, 21 Nov 2026, Acme Support <help@acme.example> wrote:\r\n\
                > How would you rate the help you received today?\r\n> 1: http://x\r\n";
    let raw = reply("Bob <bob@example.com>", &threaded, body);
    assert_eq!(post_mail(&gw, None, raw.clone()).await.status, 401);
    assert_eq!(post_mail(&gw, Some("0123456789abcdef0123456789abcdef"), raw.clone()).await.status, 401);
    assert_eq!(survey(&api, &bob).await["state"], "pending");
    // Refused on its headers: a body over the API's limit and within the email limit is not
    // waited for, so no caller without the secret makes the gateway hold one.
    let framing = format!("Content-Length: {}", BODY_LIMIT * 2);
    for wrong in [None, Some("0123456789abcdef0123456789abcdef")] {
        assert_eq!(post_by_hand(&gw, wrong, &framing, b"").await, 401, "{wrong:?}");
    }

    // "4 - quick and helpful", threaded to Bob's survey: rated 4 with the comment.
    assert_eq!(post_mail(&gw, Some(&secret), raw.clone()).await.expect(200), json!({ "received": 1, "duplicates": 0 }));
    let rated = survey_until(&api, &bob, "rated by the reply", |s| s["state"] == "locked").await;
    assert_eq!((&rated["score"], &rated["comment"]), (&json!(4), &json!("quick and helpful")));
    // The MTA posts it again: taken once.
    assert_eq!(post_mail(&gw, Some(&secret), raw).await.expect(200), json!({ "received": 0, "duplicates": 1 }));
    // The answer is sent in the survey's thread, under the invitation's subject, and ends with
    // the comment's thanks (how many answers one reply gets has a test of its own, below).
    let mails = settled(&gw, &smtp).await;
    assert!(mails.len() > 3, "the reply was answered");
    for mail in &mails[3..] {
        assert_eq!(mail.rcpt_to, ["bob@example.com"]);
        let answer = parse(mail);
        assert_eq!(answer.in_reply_to().as_text(), Some(format!("rw.{bob}.invitation@acme.example").as_str()));
        assert_eq!(answer.subject(), Some("Re: How would you rate the help you received today?"));
    }
    let thanks = parse(mails.last().expect("the answer"));
    let text = thanks.body_text(0).unwrap_or_default();
    assert!(text.starts_with("Thank you, we have passed your comment on"), "{text}");

    // Carol's client drops the thread headers; the plus-addressed reply-to names her survey.
    let raw = format!(
        "From: carol@example.com\r\nTo: ratings+{carol}@acme.example\r\nSubject: Re: survey\r\n\
         Message-ID: <carol-1@mail.example.com>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <div dir=\"ltr\">5</div><div>-- <br>Carol</div>"
    );
    assert_eq!(post_mail(&gw, Some(&secret), raw.into_bytes()).await.expect(200)["received"], 1);
    survey_until(&api, &carol, "rated by the plus-addressed reply", |s| s["score"] == 5).await;

    // Dave is away: his out-of-office reply is taken, and ignored.
    let away = reply(
        "dave@example.com",
        &format!("In-Reply-To: <rw.{dave}.invitation@acme.example>\r\nAuto-Submitted: auto-replied\r\n"),
        "I am out of the office until Monday. 5 days left.\r\n",
    );
    assert_eq!(post_mail(&gw, Some(&secret), away).await.expect(200), json!({ "received": 0, "duplicates": 0 }));
    assert_eq!(survey(&api, &dave).await["state"], "pending");

    // A sender ratewire can't name an end user by is skipped with a 200: a 4xx would have the
    // MTA post it again for days.
    let unanswerable =
        reply("Sean <o'brien@example.com>", &format!("In-Reply-To: <rw.{dave}.invitation@acme.example>\r\n"), "1\r\n");
    assert_eq!(
        post_mail(&gw, Some(&secret), unanswerable).await.expect(200),
        json!({ "received": 0, "duplicates": 0 })
    );
    assert_eq!(survey(&api, &dave).await["state"], "pending");

    // A reply with its signature's logo inline is over the API's body limit, and within the
    // email limit: taken.
    let logo = base64::engine::general_purpose::STANDARD.encode(vec![0x89u8; BODY_LIMIT * 2]);
    let with_logo = |logo: &str| {
        format!(
            "From: dave@example.com\r\nTo: {FROM}\r\nSubject: Re: survey\r\nMessage-ID: <dave-{}@mail.example.com>\r\n\
             In-Reply-To: <rw.{dave}.invitation@acme.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/related; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n3\r\n\
             --b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <logo>\r\n\r\n\
             {logo}\r\n--b--\r\n",
            logo.len()
        )
        .into_bytes()
    };
    let raw = with_logo(&logo);
    assert!(raw.len() > BODY_LIMIT && raw.len() < EMAIL_BODY_LIMIT);
    assert_eq!(post_mail(&gw, Some(&secret), raw).await.expect(200)["received"], 1);
    survey_until(&api, &dave, "rated by the reply with a logo", |s| s["score"] == 3).await;
    // Over the email limit: 413, and nothing read.
    let huge = base64::engine::general_purpose::STANDARD.encode(vec![0x89u8; EMAIL_BODY_LIMIT]);
    assert_eq!(post_mail(&gw, Some(&secret), with_logo(&huge)).await.status, 413);
    // A body that can't be read whole is not too large: 400.
    assert_eq!(post_by_hand(&gw, Some(&secret), "Transfer-Encoding: chunked", b"zz\r\n").await, 400);

    // What isn't a message is a clear 400, not a panic.
    for broken in [&b""[..], b"\xff\xfe garbage", b"Subject: no sender\r\n\r\n5"] {
        let answer = post_mail(&gw, Some(&secret), broken.to_vec()).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
    }
    let answer = post_mail(&gw, Some(&secret), b"Subject: no sender\r\n\r\n5".to_vec()).await;
    assert!(answer.text.contains("no From address"), "{}", answer.text);
    assert_eq!(survey(&api, &dave).await["score"], 3);
}

// ---------------------------------------------------------------------------------------------
// 3. Unsubscribing.

async fn unsubscribing_stops_invitations_to_the_address(gw: Gateway) {
    let smtp = SmtpServer::start();
    connect(&gw, &smtp, json!({ "reminder_after_hours": 24 })).await;
    let api = gw.acme();
    // Two surveys wait for Erin's rating, in two conversations, the address spelled two ways.
    let first = invite(&api, "conv-erin-1", "erin@example.com", Some("fr")).await;
    let message = smtp.wait_for(1).await;
    let message = parse(&message[0]);
    let list = header(&message, "List-Unsubscribe").expect("List-Unsubscribe");
    let link = list.trim_matches(['<', '>']).trim_start_matches(&gw.base).to_owned();
    // The footer's link is the same.
    assert_eq!(links(&gw, &message.body_text(0).unwrap(), "unsubscribe"), std::slice::from_ref(&link));
    let second = invite(&api, "conv-erin-2", "Erin@Example.COM", None).await;
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].rcpt_to, ["erin@example.com"], "one address, however it was given");

    // A GET only asks.
    let (status, asked) = page(&gw, Method::GET, &link, None).await;
    assert_eq!(status, 200, "{asked}");
    assert!(asked.contains("erin@example.com"), "{asked}");
    assert_eq!(survey(&api, &second).await["state"], "pending");

    // The mail client's one-click POST (RFC 8058) unsubscribes, and the survey her replies
    // would go to is cancelled: no reminder of it goes out.
    let (status, done) = page(&gw, Method::POST, &link, Some("List-Unsubscribe=One-Click")).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("no more rating requests"), "{done}");
    assert_eq!(survey(&api, &second).await["state"], "cancelled");
    // The older one's reminder comes due a day on: it is not sent, and the survey is cancelled.
    let (tenant, older) = (TenantId::new(ACME).unwrap(), SurveyId::new(first.clone()).unwrap());
    let later = Timestamp::now() + SignedDuration::from_hours(25);
    surveys::apply(&gw.state.flow, &tenant, &older, Event::Remind, later).await.expect("the reminder is due");
    assert_eq!(settled(&gw, &smtp).await.len(), 2, "nothing more to Erin");
    survey_until(&api, &first, "the older survey cancelled", |s| s["state"] == "cancelled").await;

    // Invitations to the address, in any case, are refused with a reason to match.
    for address in ["erin@example.com", "Erin@Example.com"] {
        let body = json!({ "conversation": "conv-erin-3", "channel": CHANNEL, "recipient": address });
        assert_eq!(api.post("/v1/invitations", &body).await.error(409), "unsubscribed");
    }
    // A close that would invite says which rule stopped it.
    let open =
        json!({ "id": "conv-erin-4", "opened_by": "end_user", "channel": CHANNEL, "recipient": "erin@example.com" });
    api.post("/v1/conversations", &open).await.expect(201);
    let events = "/v1/conversations/conv-erin-4/events";
    for author in [json!({ "kind": "end_user", "id": "erin" }), json!({ "kind": "agent", "id": "ana" })] {
        api.post(events, &json!({ "type": "message", "author": author, "length": 300 })).await.expect(200);
    }
    let closed = api.post(events, &json!({ "type": "closed" })).await.expect(200);
    assert_eq!(closed["invitation"]["sent"], false, "{closed}");
    assert_eq!(closed["invitation"]["rule"]["rule"], "unsubscribed", "{closed}");
    // Once is enough; the page says so again.
    let (status, again) = page(&gw, Method::GET, &link, None).await;
    assert_eq!(status, 200);
    assert!(again.contains("no more rating requests"), "{again}");

    // The business sees the address, and takes the unsubscribe back when Erin asks it to.
    let listed = api.get("/v1/unsubscribes").await.expect(200);
    assert_eq!(listed["unsubscribes"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        (&listed["unsubscribes"][0]["address"], &listed["unsubscribes"][0]["channel"]),
        (&json!("erin@example.com"), &json!(CHANNEL))
    );
    assert!(listed["unsubscribes"][0]["at"].is_string(), "{listed}");
    assert_eq!(api.delete("/v1/unsubscribes/Erin@Example.com").await.status, 204);
    assert_eq!(api.delete("/v1/unsubscribes/erin@example.com").await.error(404), "not_found");
    assert_eq!(api.delete("/v1/unsubscribes/o'brien@example.com").await.error(400), "invalid_address");
    assert_eq!(api.get("/v1/unsubscribes").await.expect(200), json!({ "unsubscribes": [] }));
    invite(&api, "conv-erin-5", "erin@example.com", None).await;
    let mails = smtp.wait_for(3).await;
    assert_eq!(mails.iter().filter(|m| m.rcpt_to == ["erin@example.com"]).count(), 3);
}

// ---------------------------------------------------------------------------------------------
// 4. What the SMTP server refuses.

async fn smtp_refusals_fail_the_survey_or_wait(gw: Gateway) {
    let smtp = SmtpServer::start();
    connect(&gw, &smtp, json!({})).await;
    let api = gw.acme();
    let id = invite(&api, "conv-nobody", "reject-nobody@example.com", None).await;
    let failed = survey_until(&api, &id, "the refused invitation failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "undeliverable", "{failed}");
    assert_eq!(failed["failure"]["detail"], "SMTP 550: 5.1.1 No such user here", "{failed}");
    // A recipient that is no address fails for good too.
    let id = invite(&api, "conv-typo", "not-an-address", None).await;
    let failed = survey_until(&api, &id, "the invalid recipient failed", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "invalid_recipient", "{failed}");

    // A busy mailbox (451) is tried again later; the survey waits.
    let id = invite(&api, "conv-busy", "busy-bea@example.com", None).await;
    let tenant = TenantId::new(ACME).unwrap();
    let waiting = eventually("the busy mailbox's send to wait for a retry", || async {
        let items = gw.state.flow.store.pending_items(&tenant, 10).await.expect("the outbox");
        items.into_iter().find(|item| item.attempts == 1 && item.id.contains(&id))
    })
    .await;
    let error = waiting.last_error.unwrap_or_default();
    assert_eq!(error, "SMTP 451: 4.3.0 Mailbox busy, try again later");
    assert!(waiting.due > Timestamp::now(), "retried later, with backoff");
    let pending = survey(&api, &id).await;
    assert_eq!((&pending["state"], &pending["sent_at"]), (&json!("pending"), &Value::Null));
    assert!(smtp.mails().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 5. After the validity period.

async fn links_of_an_expired_survey_say_it_closed(gw: Gateway) {
    let smtp = SmtpServer::start();
    connect(&gw, &smtp, json!({ "validity_hours": 72 })).await;
    let api = gw.acme();
    let id = invite(&api, "conv-gil", "gil@example.com", None).await;
    let mails = smtp.wait_for(1).await;
    let rate_links = links(&gw, &parse(&mails[0]).body_text(0).expect("a text part"), "rate");
    // The sweeper's expiry, as it would run three days on.
    let (tenant, survey_id) = (TenantId::new(ACME).unwrap(), SurveyId::new(id.clone()).unwrap());
    let later = Timestamp::now() + SignedDuration::from_hours(73);
    surveys::apply(&gw.state.flow, &tenant, &survey_id, Event::Expire, later).await.expect("the survey expires");
    assert_eq!(survey(&api, &id).await["state"], "expired");

    let closed = "Sorry, this survey has closed and can no longer take a rating.";
    let (status, shown) = page(&gw, Method::GET, &rate_links[4], None).await;
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains(closed) && !shown.contains("<form"), "{shown}");
    let (status, refused) = page(&gw, Method::POST, &rate_links[4], None).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains(closed), "{refused}");
    assert_eq!(survey(&api, &id).await["state"], "expired");
}

// ---------------------------------------------------------------------------------------------
// 6. A low rating by email, the reasons as links.

async fn a_low_rating_by_email_offers_each_reason_as_a_link(gw: Gateway) {
    let smtp = SmtpServer::start();
    let channel = connect(&gw, &smtp, json!({ "low_rating_reasons": ["slow", "unresolved"] })).await;
    let secret = channel["verify_token"].as_str().expect("the secret").to_owned();
    let api = gw.acme();
    // The address as the helpdesk has it; the reply comes from the same address in other case,
    // with no thread headers: it is the same end user.
    let id = invite(&api, "conv-hana", "Hana@Example.com", None).await;
    let invitation = smtp.wait_for(1).await;
    assert_eq!(invitation[0].rcpt_to, ["hana@example.com"]);
    survey_until(&api, &id, "the invitation sent", |s| s["sent_at"].is_string()).await;
    let raw = "From: HANA@example.COM\r\nTo: help@acme.example\r\nSubject: Re: rating\r\n\
               Message-ID: <hana-1@mail.example.com>\r\n\r\n2\r\n";
    assert_eq!(post_mail(&gw, Some(&secret), raw.as_bytes().to_vec()).await.expect(200)["received"], 1);
    survey_until(&api, &id, "rated by the reply", |s| s["score"] == 2).await;

    // The question comes with one link per reason, in both parts: typed back, "Slow response"
    // would read as a comment.
    let mails = settled(&gw, &smtp).await;
    let asked = mails[1..]
        .iter()
        .map(parse)
        .find(|m| m.body_text(0).is_some_and(|t| t.contains("What went wrong?")))
        .expect("the reasons are asked for");
    assert_eq!(asked.subject(), Some("Re: How would you rate the help you received today?"));
    let text = asked.body_text(0).expect("a text part").into_owned();
    let html = asked.body_html(0).expect("an HTML part").into_owned();
    let reason_links = links(&gw, &text, "reason");
    assert_eq!(reason_links.len(), 2, "{text}");
    assert_eq!(links(&gw, &html, "reason"), reason_links);
    assert!(text.contains(&format!("- Slow response: {}{}", gw.base, reason_links[0])), "{text}");

    // A GET only asks; the POST records the reason and offers the comment box.
    let (status, confirm) = page(&gw, Method::GET, &reason_links[0], None).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("Is this what went wrong?") && confirm.contains("Slow response"), "{confirm}");
    assert_eq!(survey(&api, &id).await["reason"], Value::Null);
    let (status, reasoned) = page(&gw, Method::POST, &reason_links[0], None).await;
    assert_eq!(status, 200, "{reasoned}");
    assert!(reasoned.contains("<textarea id=\"comment\" name=\"comment\""), "{reasoned}");
    assert_eq!(survey(&api, &id).await["reason"], "slow");
    // The other reason's link now shows the survey as it is, and changes nothing.
    let (status, shown) = page(&gw, Method::GET, &reason_links[1], None).await;
    assert_eq!(status, 200, "{shown}");
    assert!(!shown.contains("Is this what went wrong?"), "{shown}");
    let (status, refused) = page(&gw, Method::POST, &reason_links[1], None).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(survey(&api, &id).await["reason"], "slow");
    // What was answered on the page was shown there: no more mail.
    assert_eq!(settled(&gw, &smtp).await.len(), mails.len());
}

// ---------------------------------------------------------------------------------------------
// 7. One reply, one answer.

/// "4 - quick and helpful" is a rating and a comment in one message: one answer goes back,
/// the comment's thanks, and not the rating's thanks and the comment's prompt as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_with_a_rating_and_a_comment_is_answered_once() {
    let gw = Gateway::start(None).await;
    let smtp = SmtpServer::start();
    let channel = connect(&gw, &smtp, json!({})).await;
    let secret = channel["verify_token"].as_str().expect("the secret").to_owned();
    let api = gw.acme();
    let id = invite(&api, "conv-ivy", "ivy@example.com", None).await;
    smtp.wait_for(1).await;
    let raw = reply(
        "ivy@example.com",
        &format!("In-Reply-To: <rw.{id}.invitation@acme.example>\r\n"),
        "4 - quick and helpful\r\n",
    );
    assert_eq!(post_mail(&gw, Some(&secret), raw).await.expect(200)["received"], 1);
    survey_until(&api, &id, "rated and commented", |s| s["state"] == "locked").await;
    let mails = settled(&gw, &smtp).await;
    assert_eq!(mails.len(), 2, "the invitation and one answer");
    let answer = parse(&mails[1]).body_text(0).unwrap_or_default().into_owned();
    assert!(answer.starts_with("Thank you, we have passed your comment on"), "{answer}");
}

// ---------------------------------------------------------------------------------------------
// 8. SMTP AUTH.

/// A relay that requires a login: the channel's credentials are given, over the plain
/// connection allowed on loopback only; wrong ones fail the survey as the channel's problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_auth_sends_the_channels_credentials() {
    let gw = Gateway::start(None).await;
    let smtp = SmtpServer::start_with_login("relay-user", "relay-pass");
    let settings = json!({ "smtp_username": "relay-user" });
    let channel = connect_with(&gw, &smtp, json!({}), settings, json!({ "smtp_password": "relay-pass" })).await;
    let api = gw.acme();
    invite(&api, "conv-jon", "jon@example.com", None).await;
    smtp.wait_for(1).await;
    // The next send reuses the connection, logged in already.
    invite(&api, "conv-lea", "lea@example.com", None).await;
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].user.as_deref(), Some("relay-user"));
    assert_eq!(mails[1].peer, mails[0].peer, "one pooled SMTP connection for both sends");
    assert_eq!(
        (mails[0].user.as_deref(), &mails[0].rcpt_to[..]),
        (Some("relay-user"), &["jon@example.com".to_owned()][..])
    );

    // Another password: refused by the server (535), the survey fails with the channel's problem.
    let wrong = json!({
        "id": "mail-wrong", "kind": "email", "name": "Wrong password", "config": channel["config"],
        "settings": {
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port.to_string(), "smtp_tls": "none",
            "smtp_username": "relay-user", "from": FROM,
        },
        "secrets": { "smtp_password": "wrong" },
    });
    api.post("/v1/channels", &wrong).await.expect(201);
    let invitation = json!({ "conversation": "conv-kim", "channel": "mail-wrong", "recipient": "kim@example.com" });
    let id = api.post("/v1/invitations", &invitation).await.expect(201)["id"].as_str().expect("an id").to_owned();
    let failed = survey_until(&api, &id, "the refused login failed the survey", |s| s["state"] == "failed").await;
    assert_eq!(failed["failure"]["code"], "bad_credentials", "{failed}");
    assert_eq!(smtp.mails().len(), 2);

    // Credentials over a plain connection to anything but loopback are refused when connecting.
    let far = json!({
        "id": "mail-far", "kind": "email", "name": "Far relay", "config": channel["config"],
        "settings": { "smtp_host": "smtp.example.com", "smtp_tls": "none", "smtp_username": "u", "from": FROM },
        "secrets": { "smtp_password": "p" },
    });
    let refused = api.post("/v1/channels", &far).await.expect(422);
    assert_eq!(refused["error"]["code"], "invalid", "{refused}");
    assert_eq!(refused["error"]["fields"][0]["field"], "settings.smtp_tls", "{refused}");
}

// ---------------------------------------------------------------------------------------------
// 9. The rating page in a real browser.

/// What the page shows.
const PAGE: &str = r#"(() => ({
  dir: document.documentElement.getAttribute("dir"),
  lang: document.documentElement.getAttribute("lang"),
  heading: document.querySelector("h1") ? document.querySelector("h1").textContent : null,
  buttons: [...document.querySelectorAll("button")].map((b) => b.textContent),
  textarea: !!document.querySelector("textarea"),
  scripts: document.scripts.length,
  width: document.documentElement.scrollWidth,
}))()"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rating_page_works_in_a_browser_without_javascript() {
    let gw = Gateway::start(None).await;
    let smtp = SmtpServer::start();
    connect(&gw, &smtp, json!({ "low_rating_reasons": ["slow", "unresolved"] })).await;
    let api = gw.acme();
    let id = invite(&api, "conv-layla", "layla@example.com", Some("ar")).await;
    let mails = smtp.wait_for(1).await;
    let text = parse(&mails[0]).body_text(0).expect("a text part").into_owned();
    let rate_links = links(&gw, &text, "rate");
    assert_eq!(rate_links.len(), 5, "{text}");

    let browser = Browser::launch().await;
    // A phone's screen.
    browser
        .call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await;
    // The invitation's HTML part, as a mail client shows it.
    let html = parse(&mails[0]).body_html(0).expect("an HTML part").into_owned();
    browser
        .navigate(&format!("data:text/html;base64,{}", base64::engine::general_purpose::STANDARD.encode(&html)))
        .await;
    let shown = browser.eval("[...document.querySelectorAll('a')].map((a) => a.innerText.trim())").await;
    assert_eq!(shown.as_array().map(Vec::len), Some(6), "five levels and the unsubscribe link: {shown}");
    assert_eq!(shown[5], "إيقاف طلبات التقييم");
    browser.screenshot(&artifact("email-invitation-arabic.png")).await;

    browser.navigate(&format!("{}{}", gw.base, rate_links[1])).await;
    let shown = wait_page(&browser, "the confirmation", |p| p["heading"] == "هل هذا تقييمك؟").await;
    assert_eq!((&shown["dir"], &shown["lang"]), (&json!("rtl"), &json!("ar")));
    assert_eq!(shown["buttons"], json!(["تأكيد تقييمي"]));
    assert_eq!(shown["scripts"], 0);
    assert!(shown["width"].as_f64().is_some_and(|w| w <= 390.0), "no sideways scrolling on a phone: {shown}");
    browser.screenshot(&artifact("email-confirm-arabic.png")).await;
    assert_eq!(survey(&api, &id).await["state"], "pending");

    // A real click submits the form: rated 2, and the reasons are offered.
    submit(&browser, "button.primary").await;
    let rated = wait_page(&browser, "the reasons", |p| {
        p["buttons"].as_array().is_some_and(|b| b.iter().any(|t| t == "بطء الاستجابة"))
    })
    .await;
    assert_eq!(rated["heading"], "شكرًا لك على تقييمك!");
    assert_eq!(survey(&api, &id).await["score"], 2);
    browser.screenshot(&artifact("email-rated-arabic.png")).await;
    submit(&browser, "button[name=reason][value=slow]").await;
    wait_page(&browser, "the comment box", |p| p["textarea"] == true).await;
    browser.click("textarea").await;
    browser.type_text("كان الرد بطيئًا").await;
    submit(&browser, "form.comment button").await;
    let done = survey_until(&api, &id, "the comment", |s| s["state"] == "locked").await;
    assert_eq!((&done["reason"], &done["comment"]), (&json!("slow"), &json!("كان الرد بطيئًا")));
    let thanked = wait_page(&browser, "the comment's thanks", |p| p["textarea"] == false).await;
    assert_eq!(thanked["buttons"], json!([]), "nothing more to answer: {thanked}");
    browser.screenshot(&artifact("email-commented-arabic.png")).await;
    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// Clicks a form's button and waits for the page it posts to to load.
async fn submit(browser: &Browser, selector: &str) {
    let loads = || browser.events().iter().filter(|event| event["method"] == "Page.loadEventFired").count();
    let before = loads();
    browser.click(selector).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while loads() == before {
        assert!(std::time::Instant::now() < deadline, "clicking {selector} loaded no page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_page(browser: &Browser, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let shown = browser.eval(PAGE).await;
        if done(&shown) {
            return shown;
        }
        assert!(std::time::Instant::now() < deadline, "the page never showed {what}: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
