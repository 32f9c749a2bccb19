//! The web widget and the demo page in a real headless Chromium, against the real service
//! started in-process with its demo tenant.
//!
//! The widget is embedded, as a business would, in a page served from another origin; clicks and
//! key presses are real input events. Screenshots are kept in `target/test-artifacts/`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::response::Html;
use axum::routing::get;
use ratewire_gateway::cli::serve;
use ratewire_gateway::cli::settings::Settings;
use ratewire_gateway::http;
use ratewire_tests::browser::{Browser, DEEP_ACTIVE, artifact, js_string};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the page gets to show what a step should change.
const WAIT: Duration = Duration::from_secs(10);

/// The widget's card as the visitor sees it, or `null` while it is hidden.
const CARD: &str = r#"(() => {
  const host = document.querySelector("ratewire-widget");
  const card = host && host.shadowRoot && host.shadowRoot.querySelector(".rw-card");
  if (!card || card.hidden) return null;
  const question = card.querySelector(".rw-q");
  const active = host.shadowRoot.activeElement;
  return {
    dir: card.getAttribute("dir"),
    lang: card.getAttribute("lang"),
    question: question ? question.textContent : null,
    survey: question ? question.id.replace(/^rw-q-/, "") : null,
    levels: [...card.querySelectorAll(".rw-level")].map((b) => ({
      label: b.getAttribute("aria-label"),
      pressed: b.getAttribute("aria-pressed"),
      disabled: b.disabled,
      lit: b.classList.contains("rw-on"),
      left: b.getBoundingClientRect().left,
    })),
    comment_box: !!card.querySelector("textarea"),
    done: card.querySelector(".rw-done") ? card.querySelector(".rw-done").textContent : null,
    draft: card.querySelector("textarea") ? card.querySelector("textarea").value : null,
    text: card.innerText,
    focused: active && card.contains(active) ? active.getAttribute("aria-label") : null,
  };
})()"#;

const ENGLISH_LABELS: [&str; 5] = [
    "1 / 5 – Very dissatisfied",
    "2 / 5 – Dissatisfied",
    "3 / 5 – Neutral",
    "4 / 5 – Satisfied",
    "5 / 5 – Very satisfied",
];
const ENGLISH_INVITATION: &str = "How would you rate the help you received today?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_rates_and_comments_with_real_clicks() {
    let gateway = Gateway::start().await;
    let survey = gateway.invite("c-browser", "v-browser", None).await;
    let site = Site::start(&gateway.url("/widget.js")).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-browser")).await;

    let card =
        wait_card(&browser, "the invitation", |card| card["levels"].as_array().is_some_and(|l| l.len() == 5)).await;
    assert_eq!(card["question"], ENGLISH_INVITATION);
    assert_eq!(card["survey"], survey);
    assert_eq!(card["dir"], "ltr");
    assert_eq!(labels(&card), ENGLISH_LABELS);
    assert!(levels(&card).iter().all(|level| level["pressed"] == "false" && level["disabled"] == false));
    assert_eq!(card["comment_box"], false);
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-invitation.png")).await;

    browser.click(".rw-level:nth-of-type(4)").await;
    let rated = gateway.wait_survey(&survey, "rated 4", |s| s["score"] == 4).await;
    assert_eq!(rated["state"], "rated");
    let card = wait_card(&browser, "the 4th star pressed and the comment box", |card| {
        card["levels"][3]["pressed"] == "true" && card["comment_box"] == true
    })
    .await;
    let pressed: Vec<&str> = levels(&card).iter().map(|level| level["pressed"].as_str().unwrap_or("")).collect();
    assert_eq!(pressed, ["false", "false", "false", "true", "false"]);
    let lit: Vec<bool> = levels(&card).iter().map(|level| level["lit"] == true).collect();
    assert_eq!(lit, [true, true, true, true, false], "the stars up to the rating are lit");
    let prompt = "Would you like to tell us more? Just reply with a few words.";
    let text = card["text"].as_str().unwrap_or_default();
    assert_eq!(text.matches("Thank you for your rating!").count(), 1, "said once: {text}");
    assert_eq!(text.matches(prompt).count(), 1, "asked once: {text}");
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-rated.png")).await;

    // The visitor starts a comment, changes the rating (which redraws the card), and sends it.
    let comment = "Quick and friendly, thank you!";
    browser.click(".rw-comment textarea").await;
    browser.type_text(comment).await;
    browser.click(".rw-level:nth-of-type(5)").await;
    gateway.wait_survey(&survey, "rated 5", |s| s["score"] == 5).await;
    let card = wait_card(&browser, "the 5th star pressed", |card| card["levels"][4]["pressed"] == "true").await;
    assert_eq!(card["draft"], comment, "the comment being typed survives the redraw");
    browser.click(".rw-send").await;
    let commented = gateway.wait_survey(&survey, "the comment", |s| s["comment"] == comment).await;
    assert_eq!(commented["state"], "locked");
    assert_eq!(commented["score"], 5);
    let card =
        wait_card(&browser, "the read-only card", |card| card["done"].as_str().is_some_and(|d| d.contains(comment)))
            .await;
    assert!(levels(&card).iter().all(|level| level["disabled"] == true), "a locked rating can't be changed: {card}");
    assert_eq!(card["comment_box"], false);
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-commented.png")).await;

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stars_work_from_the_keyboard() {
    let gateway = Gateway::start().await;
    let survey = gateway.invite("c-keys", "v-keys", None).await;
    let site = Site::start(&gateway.url("/widget.js")).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-keys")).await;
    wait_card(&browser, "the invitation", |card| card["levels"].as_array().is_some_and(|l| l.len() == 5)).await;

    browser.press("Tab").await;
    wait_focus(&browser, ENGLISH_LABELS[0]).await;
    browser.press("ArrowRight").await;
    wait_focus(&browser, ENGLISH_LABELS[1]).await;
    browser.press("ArrowRight").await;
    wait_focus(&browser, ENGLISH_LABELS[2]).await;
    browser.press("ArrowLeft").await;
    browser.press("ArrowRight").await;
    wait_focus(&browser, ENGLISH_LABELS[2]).await;

    browser.press("Enter").await;
    gateway.wait_survey(&survey, "rated 3 with Enter", |s| s["score"] == 3).await;
    wait_card(&browser, "the 3rd star pressed", |card| card["levels"][2]["pressed"] == "true").await;
    // Redrawing the rated survey keeps the keyboard where it was.
    wait_focus(&browser, ENGLISH_LABELS[2]).await;

    // Arrows stop at the ends; Space rates too (the change window is open).
    for _ in 0..4 {
        browser.press("ArrowRight").await;
    }
    wait_focus(&browser, ENGLISH_LABELS[4]).await;
    browser.press("Space").await;
    let changed = gateway.wait_survey(&survey, "rated 5 with Space", |s| s["score"] == 5).await;
    let history: Vec<&Value> = changed["history"].as_array().expect("a history").iter().map(|e| &e["score"]).collect();
    assert_eq!(history, [&json!(3), &json!(5)]);
    wait_card(&browser, "the 5th star pressed", |card| card["levels"][4]["pressed"] == "true").await;

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arabic_surveys_read_right_to_left() {
    let gateway = Gateway::start().await;
    let survey = gateway.invite("c-arabic", "v-arabic", Some("ar")).await;
    let site = Site::start(&gateway.url("/widget.js")).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-arabic")).await;

    let card =
        wait_card(&browser, "the Arabic invitation", |card| card["levels"].as_array().is_some_and(|l| l.len() == 5))
            .await;
    assert_eq!(card["survey"], survey);
    assert_eq!(card["dir"], "rtl");
    assert_eq!(card["lang"], "ar");
    assert_eq!(card["question"], "ما تقييمك للمساعدة التي حصلت عليها اليوم؟");
    assert_eq!(card["levels"][3]["label"], "4 / 5 – راضٍ");
    assert_eq!(card["levels"][4]["label"], "5 / 5 – راضٍ جدًا");
    let lefts: Vec<f64> = levels(&card).iter().map(|level| level["left"].as_f64().unwrap_or_default()).collect();
    assert!(lefts.windows(2).all(|pair| pair[0] > pair[1]), "the first star is on the right: {lefts:?}");
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-arabic.png")).await;

    // Right to left, the left arrow goes on to the next star.
    browser.press("Tab").await;
    wait_focus(&browser, "1 / 5 – غير راضٍ جدًا").await;
    browser.press("ArrowLeft").await;
    wait_focus(&browser, "2 / 5 – غير راضٍ").await;
    browser.press("Enter").await;
    gateway.wait_survey(&survey, "rated 2", |s| s["score"] == 2).await;

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_reach_an_open_page_and_survive_a_dropped_connection() {
    let gateway = Gateway::start().await;
    // The page reaches the gateway through a proxy the test can cut, as a network would.
    let proxy = Proxy::start(gateway.address).await;
    let site = Site::start(&format!("http://{}/widget.js", proxy.address)).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-push")).await;
    // The widget is connected and was told there is no survey yet.
    browser.wait_for("__rw.messages.some((m) => m.type === 'survey' && m.survey === null)", WAIT).await;
    assert_eq!(browser.eval(CARD).await, Value::Null, "nothing to show before the invitation");
    browser.eval("window.sameDocument = true").await;

    let first = gateway.invite("c-push-1", "v-push", None).await;
    let card =
        wait_card(&browser, "the pushed invitation", |card| card["levels"].as_array().is_some_and(|l| !l.is_empty()))
            .await;
    assert_eq!(card["survey"], first);
    assert_eq!(browser.eval("window.sameDocument").await, true, "shown without a reload");

    // The connection drops; the gateway stays unreachable while a new survey is created.
    proxy.cut();
    let connections_before = proxy.accepted();
    browser.wait_for("__rw.sockets[0].readyState === WebSocket.CLOSED", WAIT).await;
    let second = gateway.invite("c-push-2", "v-push", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.eval(CARD).await["survey"], first, "no connection, no news");
    proxy.resume();
    let card = wait_card(&browser, "the survey read again on reconnecting", |card| card["survey"] == second).await;
    assert_eq!(card["levels"][0]["pressed"], "false");
    assert!(browser.eval("__rw.sockets.length").await.as_u64() >= Some(2), "the widget opened a new socket");
    assert!(proxy.accepted() > connections_before, "the widget came back through the proxy");

    // And the new connection carries ratings.
    browser.click(".rw-level:nth-of-type(5)").await;
    gateway.wait_survey(&second, "rated 5 after reconnecting", |s| s["score"] == 5).await;
    wait_card(&browser, "the 5th star pressed", |card| card["levels"][4]["pressed"] == "true").await;
    assert_eq!(gateway.survey(&first).await["state"], "pending", "the older survey is untouched");

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_closes_a_conversation_into_an_invitation() {
    let gateway = Gateway::start().await;
    let browser = Browser::launch().await;
    browser.navigate(&gateway.url("/")).await;
    browser.wait_for("document.getElementById('chat').innerText.includes('New conversation demo-')", WAIT).await;
    browser.wait_for("!!window.ratewire && !!document.querySelector('#survey-slot ratewire-widget')", WAIT).await;
    assert_eq!(browser.eval(CARD).await, Value::Null, "no survey before the conversation closes");

    let answer_before = browser.eval("document.getElementById('answer').textContent").await;
    browser.click("#reply").await;
    browser.wait_for("!!document.querySelector('#chat .msg.agent')", WAIT).await;
    browser.wait_for(&format!("document.getElementById('answer').textContent !== {}", answer_before), WAIT).await;
    browser.click("#close").await;
    browser
        .wait_for("document.getElementById('chat').innerText.includes('Conversation closed: invitation sent')", WAIT)
        .await;
    let card =
        wait_card(&browser, "the demo's invitation", |card| card["levels"].as_array().is_some_and(|l| l.len() == 5))
            .await;
    assert_eq!(card["question"], ENGLISH_INVITATION);
    assert_eq!(labels(&card), ENGLISH_LABELS);

    // Rating it shows up in what the business sees.
    browser.click(".rw-level:nth-of-type(5)").await;
    wait_card(&browser, "the 5th star pressed", |card| card["levels"][4]["pressed"] == "true").await;
    browser.wait_for("document.getElementById('rated').textContent === '1'", WAIT).await;
    browser.wait_for("document.getElementById('csat').textContent === '100%'", WAIT).await;
    browser.eval("window.scrollTo(0, 0)").await;
    browser.screenshot(&artifact("demo.png")).await;

    // The demo opens the reports dashboard, logged in with its key, and the rating shows there.
    // (The form opens a new tab; here it opens in this one, the only page the test drives.)
    browser.eval("document.getElementById('dashboard').target = '_self'").await;
    browser.click("#dashboard button").await;
    browser.wait_for("location.pathname === '/dashboard' && document.body && document.body.dataset.loaded", WAIT).await;
    assert_eq!(browser.eval("document.querySelector('[data-figure=rated]').textContent").await, "1");
    assert_eq!(browser.eval("document.querySelector('[data-figure=csat]').textContent").await, "100.0%");

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_connects_under_a_public_url_with_a_path() {
    // The business's proxy publishes ratewire under /ratewire and serves nothing else of it.
    let proxy = PrefixProxy::start("/ratewire").await;
    let gateway = Gateway::start_with(Some(format!("http://{}/ratewire", proxy.address))).await;
    proxy.forward_to(gateway.address);
    let survey = gateway.invite("c-prefix", "v-prefix", None).await;
    let site = Site::start(&format!("http://{}/ratewire/widget.js", proxy.address)).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-prefix")).await;

    let card = wait_card(&browser, "the invitation through the proxy", |card| card["survey"] == survey).await;
    assert_eq!(card["question"], ENGLISH_INVITATION);
    let sockets = browser.eval("__rw.sockets.map((s) => new URL(s.url).pathname)").await;
    assert_eq!(sockets[0], "/ratewire/widget/ws", "the socket keeps public_url's path");
    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// Styles a careless or hostile host page applies to everything, buttons above all.
const HOSTILE_STYLES: &str = "button { color: #fff !important; background: #fff !important; border: 0 !important; } \
    * { font-family: serif !important; text-transform: uppercase !important; letter-spacing: 6px !important; } \
    p { color: #fff !important; font-size: 40px !important; }";

/// The computed styles that matter inside the widget: fonts, text and the contrast of each level
/// (its text against the first opaque background behind it).
const WIDGET_STYLES: &str = r#"(() => {
  const root = document.querySelector("ratewire-widget").shadowRoot;
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (element) => {
    for (let e = element; e; e = e.parentElement || (e.getRootNode().host || null)) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color.length === 3 || color[3] > 0) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const contrast = (element) => {
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const style = (selector) => getComputedStyle(root.querySelector(selector));
  return {
    card_font: style(".rw-card").fontFamily,
    level_font: style(".rw-level").fontFamily,
    question_transform: style(".rw-q").textTransform,
    question_spacing: style(".rw-q").letterSpacing,
    question_contrast: contrast(root.querySelector(".rw-q")),
    level_contrasts: [...root.querySelectorAll(".rw-level")].map(contrast),
    levels: [...root.querySelectorAll(".rw-level")].map((b) => b.textContent),
  };
})()"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_pages_styles_do_not_reach_the_widget() {
    let gateway = Gateway::start().await;
    gateway.set_scale("numeric:0-10").await;
    let survey = gateway.invite("c-hostile-nps", "v-hostile", None).await;
    let embedding = Embedding { script: gateway.url("/widget.js"), styles: HOSTILE_STYLES, in_slot: true };
    let site = Site::start_with(embedding).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-hostile")).await;

    let card = wait_card(&browser, "the NPS question", |card| card["survey"] == survey).await;
    assert_eq!(levels(&card).len(), 11);
    let styles = browser.eval(WIDGET_STYLES).await;
    for font in [&styles["card_font"], &styles["level_font"]] {
        let font = font.as_str().unwrap_or_default();
        assert!(font.starts_with("system-ui") && font.contains("Noto Color Emoji"), "the widget's own fonts: {font}");
    }
    assert_eq!(styles["question_transform"], "none");
    assert_eq!(styles["question_spacing"], "normal");
    let readable = |contrast: &Value| contrast.as_f64().is_some_and(|c| c >= 4.5);
    assert!(readable(&styles["question_contrast"]), "the question is readable: {styles}");
    let contrasts = styles["level_contrasts"].as_array().cloned().unwrap_or_default();
    assert!(contrasts.len() == 11 && contrasts.iter().all(readable), "every number is readable: {styles}");
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-hostile-page-nps.png")).await;

    // Faces draw with the widget's fonts, emoji fallback included, whatever the page says.
    gateway.set_scale("emoji:5").await;
    let faces = gateway.invite("c-hostile-faces", "v-hostile", None).await;
    wait_card(&browser, "the faces", |card| card["survey"] == faces).await;
    let styles = browser.eval(WIDGET_STYLES).await;
    let font = styles["level_font"].as_str().unwrap_or_default();
    assert!(font.split(',').next().is_some_and(|first| first.contains("Emoji")), "faces draw in color: {font}");
    assert_eq!(styles["levels"].as_array().map(Vec::len), Some(5));
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-hostile-page-faces.png")).await;

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floating_card_closes() {
    let gateway = Gateway::start().await;
    let first = gateway.invite("c-close-1", "v-close", None).await;
    let embedding = Embedding { script: gateway.url("/widget.js"), styles: HOSTILE_STYLES, in_slot: false };
    let site = Site::start_with(embedding).await;
    let browser = Browser::launch().await;
    browser.navigate(&site.page("v-close")).await;

    wait_card(&browser, "the floating invitation", |card| card["survey"] == first).await;
    browser.screenshot_element(".rw-card", 16.0, &artifact("widget-floating.png")).await;
    browser.click(".rw-close").await;
    browser.wait_for(&format!("({CARD}) === null"), WAIT).await;
    assert_eq!(gateway.survey(&first).await["state"], "pending", "closing the card answers nothing");

    // A new invitation opens the card again.
    let second = gateway.invite("c-close-2", "v-close", None).await;
    wait_card(&browser, "the next invitation", |card| card["survey"] == second).await;
    // The close button is a labelled control of the keyboard's reach.
    let label = browser
        .eval("document.querySelector('ratewire-widget').shadowRoot.querySelector('.rw-close').getAttribute('aria-label')")
        .await;
    assert_eq!(label, "Close");

    // A card drawn inside the page's own element has no close button.
    let in_slot = Site::start(&gateway.url("/widget.js")).await;
    browser.navigate(&in_slot.page("v-close")).await;
    wait_card(&browser, "the card in the page", |card| card["survey"] == second).await;
    let close = browser.eval("!!document.querySelector('ratewire-widget').shadowRoot.querySelector('.rw-close')").await;
    assert_eq!(close, false);

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_gets_the_invitation_in_their_browsers_language() {
    let gateway = Gateway::start().await;
    let site = Site::start(&gateway.url("/widget.js")).await;
    let browser = Browser::launch().await;
    let agent = browser.eval("navigator.userAgent").await;
    browser
        .call("Network.setUserAgentOverride", json!({ "userAgent": agent, "acceptLanguage": "es-MX,es;q=0.9" }))
        .await;
    browser.navigate(&site.page("v-spanish")).await;
    assert_eq!(browser.eval("navigator.languages[0]").await, "es-MX");
    // The widget is connected before the conversation closes, as on a chat page.
    browser.wait_for("__rw.messages.some((m) => m.type === 'survey' && m.survey === null)", WAIT).await;

    // The helpdesk gives no language: the browser's is used.
    let spanish = gateway.invite("c-spanish", "v-spanish", None).await;
    let card = wait_card(&browser, "the Spanish invitation", |card| card["survey"] == spanish).await;
    assert_eq!(card["question"], "¿Cómo calificaría la ayuda que recibió hoy?");
    assert_eq!(card["lang"], "es");
    assert_eq!(gateway.survey(&spanish).await["locale"], "es");

    // The helpdesk's word comes first.
    let french = gateway.invite("c-french", "v-spanish", Some("fr")).await;
    let card = wait_card(&browser, "the French invitation", |card| card["survey"] == french).await;
    assert_eq!(card["lang"], "fr");

    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_table_shows_the_newest_surveys() {
    let gateway = Gateway::start().await;
    let mut surveys = Vec::new();
    for n in 0..10 {
        surveys.push(gateway.invite(&format!("c-table-{n}"), &format!("v-table-{n}"), None).await);
    }
    let browser = Browser::launch().await;
    browser.navigate(&gateway.url("/")).await;
    let rows = "[...document.querySelectorAll('#surveys tr')].map((row) => row.cells[0].textContent)";
    let newest: Vec<String> = surveys.iter().rev().take(8).map(|id| id[..8].to_owned()).collect();
    browser.wait_for(&format!("JSON.stringify({rows}) === {}", js_string(&json!(newest).to_string())), WAIT).await;

    // And it keeps up: a new survey comes in on top.
    let latest = gateway.invite("c-table-latest", "v-table-latest", None).await;
    browser.wait_for(&format!("({rows})[0] === {}", js_string(&latest[..8])), WAIT).await;
    assert_eq!(browser.eval(&format!("({rows}).length")).await, 8);

    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// Waits until the widget's card shows and `ready` holds for it; returns it.
async fn wait_card(browser: &Browser, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let card = browser.eval(CARD).await;
        if !card.is_null() && ready(&card) {
            return card;
        }
        if Instant::now() >= deadline {
            panic!(
                "the widget did not show {what} within {WAIT:?}; it shows {card}; page errors: {:?}",
                browser.errors()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the star with this accessible name has the keyboard focus.
async fn wait_focus(browser: &Browser, label: &str) {
    let condition = format!("({DEEP_ACTIVE}) && ({DEEP_ACTIVE}).getAttribute('aria-label') === {}", js_string(label));
    let deadline = Instant::now() + WAIT;
    while browser.eval(&condition).await != true {
        if Instant::now() >= deadline {
            let focused = browser.eval(&format!("({DEEP_ACTIVE}) ? ({DEEP_ACTIVE}).outerHTML : null")).await;
            panic!("focus is not on {label:?} but on {focused}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn levels(card: &Value) -> &[Value] {
    card["levels"].as_array().map_or(&[], Vec::as_slice)
}

fn labels(card: &Value) -> Vec<&str> {
    levels(card).iter().map(|level| level["label"].as_str().unwrap_or("")).collect()
}

/// The real service, in-process, with its demo tenant and widget channel (visitor tokens off).
struct Gateway {
    address: SocketAddr,
    key: String,
    http: reqwest::Client,
    tasks: Vec<JoinHandle<()>>,
}

impl Gateway {
    async fn start() -> Gateway {
        Gateway::start_with(None).await
    }

    /// The gateway, published at `public_url` when one is given.
    async fn start_with(public_url: Option<String>) -> Gateway {
        let settings = Settings { listen: "127.0.0.1:0".into(), demo: Some(true), public_url, ..Settings::default() }
            .check()
            .expect("the demo settings are valid");
        let state = serve::state(settings).await.expect("the demo starts");
        let key = state.demo.as_ref().expect("the demo runs").key.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let mut tasks = state.flow.spawn_workers();
        let router = http::router(state);
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the gateway serves");
        }));
        let http = reqwest::Client::builder().no_proxy().timeout(WAIT).build().expect("an HTTP client");
        Gateway { address, key, http, tasks }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Opens a conversation for the visitor and invites them to rate it; returns the survey id.
    async fn invite(&self, conversation: &str, visitor: &str, locale: Option<&str>) -> String {
        let opened =
            json!({ "id": conversation, "opened_by": "agent", "channel": "demo-widget", "recipient": visitor });
        let (status, answer) = self.api(reqwest::Method::POST, "/v1/conversations", Some(opened)).await;
        assert_eq!(status, 201, "opening {conversation}: {answer}");
        let mut invitation = json!({ "conversation": conversation, "channel": "demo-widget", "recipient": visitor });
        if let Some(locale) = locale {
            invitation["locale"] = json!(locale);
        }
        let (status, survey) = self.api(reqwest::Method::POST, "/v1/invitations", Some(invitation)).await;
        assert_eq!(status, 201, "inviting {visitor}: {survey}");
        assert_eq!(survey["state"], "pending");
        survey["id"].as_str().expect("a survey id").to_owned()
    }

    /// Puts the demo's survey configuration on another scale, for the surveys made from now on.
    async fn set_scale(&self, scale: &str) {
        let (status, config) = self.api(reqwest::Method::GET, "/v1/configs/demo", None).await;
        assert_eq!(status, 200, "reading the demo's configuration: {config}");
        let mut body = json!({ "name": config["name"], "revision": config["revision"], "config": config["config"] });
        body["config"]["scale"] = json!(scale);
        let (status, answer) = self.api(reqwest::Method::PUT, "/v1/configs/demo", Some(body)).await;
        assert_eq!(status, 200, "putting the demo on {scale}: {answer}");
    }

    async fn survey(&self, id: &str) -> Value {
        let (status, survey) = self.api(reqwest::Method::GET, &format!("/v1/surveys/{id}"), None).await;
        assert_eq!(status, 200, "reading survey {id}: {survey}");
        survey
    }

    /// Polls the survey through the API until `done` holds for it.
    async fn wait_survey(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let survey = self.survey(id).await;
            if done(&survey) {
                return survey;
            }
            if Instant::now() >= deadline {
                panic!("survey {id} not {what} within {WAIT:?}: {survey}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A business's website on an origin of its own, embedding the widget from `script`.
///
/// Its pages watch the widget's WebSockets (in `window.__rw`) without changing them, so a test
/// can tell when the widget is connected and when its connection dropped.
struct Site {
    address: SocketAddr,
    task: JoinHandle<()>,
}

const SITE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Acme help centre</title>
<script>
  window.__rw = { sockets: [], messages: [] };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const socket = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    __rw.sockets.push(socket);
    socket.addEventListener("message", (event) => __rw.messages.push(JSON.parse(event.data)));
    return socket;
  };
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, prototype: NativeWebSocket.prototype });
</script>
<style>STYLES</style>
</head>
<body style="font-family: sans-serif; margin: 24px">
<h1>Acme help centre</h1>
<p>Thanks for chatting with us.</p>
<div id="slot"></div>
<script src="SCRIPT" data-tenant="demo" data-channel="demo-widget" data-visitor="VISITOR" TARGET async></script>
</body>
</html>
"#;

/// How a site's page embeds the widget.
#[derive(Clone)]
struct Embedding {
    script: String,
    /// The page's own styles.
    styles: &'static str,
    /// Drawn inside the page's `#slot`, or as a floating card.
    in_slot: bool,
}

impl Site {
    async fn start(script: &str) -> Site {
        Site::start_with(Embedding { script: script.to_owned(), styles: "", in_slot: true }).await
    }

    async fn start_with(embedding: Embedding) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let router = axum::Router::new()
            .route("/favicon.ico", get(|| async { axum::http::StatusCode::NO_CONTENT }))
            .route(
                "/{visitor}",
                get(|State(embedding): State<Arc<Embedding>>, UrlPath(visitor): UrlPath<String>| async move {
                    assert!(visitor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "a plain visitor id");
                    let target = if embedding.in_slot { r#"data-target="slot""# } else { "" };
                    Html(
                        SITE_PAGE
                            .replace("STYLES", embedding.styles)
                            .replace("SCRIPT", &embedding.script)
                            .replace("TARGET", target)
                            .replace("VISITOR", &visitor),
                    )
                }),
            )
            .with_state(Arc::new(embedding));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the site serves");
        });
        Site { address, task }
    }

    /// The page a visitor sees.
    fn page(&self, visitor: &str) -> String {
        format!("http://{}/{visitor}", self.address)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP proxy in front of the gateway that the test can cut, as a network failure would: open
/// connections drop, and new ones are refused until it resumes.
struct Proxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let open = Arc::new(AtomicBool::new(true));
        let (cuts, watcher) = watch::channel(0);
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (open, accepted) = (open.clone(), accepted.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else { return };
                    if !open.load(Ordering::SeqCst) {
                        continue;
                    }
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let mut cut = watcher.clone();
                    cut.borrow_and_update();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(upstream).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            }
        });
        Proxy { address, open, cuts, accepted, task }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    fn resume(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A reverse proxy that publishes the gateway under a path, as a business's would: requests
/// under `prefix` go to the gateway without it, anything else answers 404. One request per
/// connection (or one WebSocket), so every request is seen and rewritten.
struct PrefixProxy {
    address: SocketAddr,
    upstream: Arc<std::sync::OnceLock<SocketAddr>>,
    task: JoinHandle<()>,
}

impl PrefixProxy {
    async fn start(prefix: &'static str) -> PrefixProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let upstream = Arc::new(std::sync::OnceLock::<SocketAddr>::new());
        let task = tokio::spawn({
            let upstream = upstream.clone();
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else { return };
                    let upstream = upstream.get().copied();
                    tokio::spawn(async move {
                        if let Some(upstream) = upstream {
                            let _ = Self::serve(client, upstream, prefix).await;
                        }
                    });
                }
            }
        });
        PrefixProxy { address, upstream, task }
    }

    fn forward_to(&self, upstream: SocketAddr) {
        self.upstream.set(upstream).expect("the proxy forwards to one gateway");
    }

    async fn serve(mut client: TcpStream, upstream: SocketAddr, prefix: &str) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if client.read(&mut byte).await? == 0 || head.len() > 64 * 1024 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let (request_line, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
        let mut parts = request_line.splitn(3, ' ');
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        let (Some(method), Some(target), Some(version)) = (method, target, version) else { return Ok(()) };
        let Some(rest) = target.strip_prefix(prefix).filter(|rest| rest.starts_with('/')) else {
            client.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await?;
            return Ok(());
        };
        let upgrade = headers.to_ascii_lowercase().contains("upgrade: websocket");
        let kept: Vec<&str> = headers
            .split("\r\n")
            .filter(|line| !line.is_empty())
            .filter(|line| upgrade || !line.to_ascii_lowercase().starts_with("connection:"))
            .collect();
        let close = if upgrade { "" } else { "connection: close\r\n" };
        let head = format!("{method} {rest} {version}\r\n{}\r\n{close}\r\n", kept.join("\r\n"));
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(head.as_bytes()).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        Ok(())
    }
}

impl Drop for PrefixProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
