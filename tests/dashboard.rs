//! The reports dashboard in a real headless Chromium, against the real service in-process on a
//! Redis server of the test's own.
//!
//! Today's surveys are made through the API and rated in the widget, as end users would. The
//! API stamps a survey with the current time, so the history behind them (a hundred days of
//! ratings) is written to the store directly, as the gateway would have written it then.
//!
//! The browser logs in through the login page, and everything the page shows is compared with
//! the report API's JSON for the range the page asked for (the query of its CSV link). The
//! browser runs in a time zone other than UTC, so the days of the charts are the reader's.
//! Screenshots are kept in `target/test-artifacts/`.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::{Scale, Survey, SurveyConfig, TenantId};
use ratewire_tests::RedisServer;
use ratewire_tests::browser::{Browser, artifact, js_string};
use ratewire_tests::history::{counting_for_over_a_year, past_survey};
use ratewire_tests::service::{ACME, Api, GLOBEX, Gateway};
use reqwest::Method;
use serde_json::{Value, json};

/// How long the page gets to show what a step should change.
const WAIT: Duration = Duration::from_secs(10);

/// The reader's time zone: three hours behind UTC, all year.
const READER_ZONE: &str = "America/Sao_Paulo";

/// What the dashboard shows, read from the page.
const SHOWN: &str = r##"(() => {
  const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)]
    .filter((row) => !row.querySelector(".empty"))
    .map((row) => [...row.cells].map((cell) => cell.textContent));
  const titles = (selector) => [...document.querySelectorAll(selector)].map((title) => title.textContent);
  return {
    loaded: document.body.dataset.loaded || null,
    csv: document.getElementById("csv").getAttribute("href"),
    figures: Object.fromEntries([...document.querySelectorAll("[data-figure]")].map((e) => [e.dataset.figure, e.textContent])),
    tiles: { csat: !document.getElementById("tile-csat").hidden, nps: !document.getElementById("tile-nps").hidden },
    trend_title: document.getElementById("trend-title").textContent,
    trend: titles("#trend circle title"),
    volume: titles("#volume g title"),
    distribution: titles("#distribution g title"),
    agents: rows("agents"),
    channels: rows("channels"),
    negative: [...document.querySelectorAll("#negative tbody tr[data-survey]")].map((row) => ({
      survey: row.dataset.survey,
      rated_at: row.querySelector("time").dateTime,
      cells: [...row.cells].slice(1).map((cell) => cell.textContent),
    })),
    markup_in_comments: document.querySelectorAll("#negative td.comment *").length,
    error: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
    truncated: document.getElementById("truncated").hidden ? null : document.getElementById("truncated").textContent,
  };
})()"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_what_the_report_api_computes() {
    let gw = Gateway::start(Some(RedisServer::start())).await;
    let api = gw.acme();
    seed_today(&gw).await;
    let stars =
        SurveyConfig { low_rating_reasons: vec!["slow".into(), "unresolved".into()], ..SurveyConfig::default() };
    seed_history(&gw, ACME, &stars, 100).await;

    let browser = Browser::launch().await;
    browser.call("Emulation.setTimezoneOverride", json!({ "timezoneId": READER_ZONE })).await;

    // Without a session, the dashboard sends the reader to its login; a wrong key is refused there.
    browser.navigate(&format!("{}/dashboard", gw.base)).await;
    assert_eq!(browser.eval("location.pathname").await, "/dashboard/login");
    log_in(&browser, "rw_not-a-key").await;
    let refusal = browser
        .wait_for("document.querySelector('.error') && document.querySelector('.error').textContent", WAIT)
        .await;
    assert!(refusal.as_str().is_some_and(|text| text.starts_with("That key is not valid")), "{refusal}");
    assert_eq!(browser.eval("location.pathname").await, "/dashboard/login");
    assert_eq!(post_login(&gw, "rw_x", &[]).await, (401, None, None));

    // The session cookie reads reports, and nothing else: no route that changes anything takes it.
    // Its address is relative to the login page's, so a `public_url` with a path works.
    let (status, location, cookie) = post_login(&gw, gw.acme_key(), &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("../dashboard")));
    let cookie = cookie.as_deref().and_then(|cookie| cookie.split(';').next()).expect("a session cookie");
    assert_eq!(status_with_cookie(&gw, cookie, Method::GET, "/v1/reports").await, 200);
    assert_eq!(status_with_cookie(&gw, cookie, Method::GET, "/v1/reports/ratings.csv").await, 200);
    for (method, path) in [
        (Method::GET, "/v1/surveys"),
        (Method::POST, "/v1/configs"),
        (Method::POST, "/v1/invitations"),
        (Method::DELETE, "/v1/channels/site"),
    ] {
        let status = status_with_cookie(&gw, cookie, method.clone(), path).await;
        assert_eq!(status, 401, "{method} {path} with the session cookie");
    }

    // Pre-chats, five days ago (UTC), whatever the reader's zone: inside the last 30 days.
    let tenant = ratewire_core::TenantId::new(ACME).unwrap();
    let day = (Timestamp::now() - SignedDuration::from_hours(24 * 5)).to_zoned(TimeZone::UTC).date();
    let tallies = [
        ("started", 4),
        ("completed", 3),
        ("abandoned", 1),
        ("q/email/reached", 4),
        ("q/email/answered", 3),
        ("q/email/stopped", 1),
        ("q/email/invalid", 2),
        ("q/name/reached", 4),
        ("q/name/answered", 4),
    ];
    let tallies: Vec<(String, i64)> = tallies.iter().map(|(name, n)| ((*name).to_owned(), *n)).collect();
    gw.state.flow.store.tally(&tenant, day, &tallies).await.expect("tallied");

    // The right key opens the dashboard on the last 30 days, in the reader's time zone.
    log_in(&browser, gw.acme_key()).await;
    let shown = loaded(&browser, None).await;
    let prechat = browser.eval(r#"(() => ({
        hidden: document.getElementById('prechat-section').hidden,
        note: document.getElementById('prechat-note').textContent,
        rows: [...document.querySelectorAll('#prechat tbody tr')].map((row) => [...row.cells].map((cell) => cell.textContent)),
    }))()"#).await;
    assert_eq!(prechat["hidden"], false);
    assert!(
        prechat["note"].as_str().unwrap().starts_with("4 started on these days (UTC): 75.0% of those finished"),
        "{prechat}"
    );
    assert_eq!(
        prechat["rows"],
        json!([["email", "4", "3", "0", "1", "25.0%", "2"], ["name", "4", "4", "0", "0", "0.0%", "0"]])
    );
    let report = report_for(&api, &shown).await;
    let days = report["by_day"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = Timestamp::now().to_zoned(TimeZone::get(READER_ZONE).unwrap()).date();
    assert_eq!(days[29]["date"], today.to_string());
    assert_eq!(query_of(&shown)["tz"], READER_ZONE);
    assert_shows(&shown, &report);
    assert!(shown["tiles"]["csat"] == true && shown["tiles"]["nps"] == false, "{}", shown["tiles"]);
    assert_eq!(shown["trend_title"], "CSAT by day");
    assert_eq!(shown["markup_in_comments"], 0, "comments are shown as text, never as markup");
    let comments: Vec<&str> =
        shown["negative"].as_array().unwrap().iter().filter_map(|row| row["cells"][4].as_str()).collect();
    assert!(comments.contains(&HOSTILE_COMMENT), "{comments:?}");
    browser.screenshot(&artifact("dashboard.png")).await;

    // A year: one call, aggregated by day.
    browser.click("[data-days='365']").await;
    let shown = loaded(&browser, shown["loaded"].as_str()).await;
    let report = report_for(&api, &shown).await;
    assert_eq!(report["by_day"].as_array().unwrap().len(), 365);
    assert_shows(&shown, &report);
    assert_eq!(
        browser.eval("document.querySelector(\"[data-days='365']\").getAttribute('aria-pressed')").await,
        "true"
    );

    // One agent's surveys.
    browser.eval("(() => { const agent = document.getElementById('agent'); agent.value = 'bo'; agent.dispatchEvent(new Event('change')); })()").await;
    let shown = loaded(&browser, shown["loaded"].as_str()).await;
    assert_eq!(query_of(&shown)["agent"], "bo");
    let report = report_for(&api, &shown).await;
    assert_shows(&shown, &report);
    assert!(report["negative"].as_array().unwrap().iter().all(|rating| rating["agent"] == "bo"));
    assert_eq!(shown["agents"].as_array().unwrap().len(), 1);

    // A week of its own, typed into the date fields, for every agent.
    let (from, to) = (today - SignedDuration::from_hours(24 * 50), today - SignedDuration::from_hours(24 * 44));
    browser
        .eval(&format!(
            "(() => {{ document.getElementById('from').value = {}; document.getElementById('to').value = {}; document.getElementById('agent').value = ''; }})()",
            js_string(&from.to_string()),
            js_string(&to.to_string())
        ))
        .await;
    browser.click("#range button[type=submit]").await;
    let shown = loaded(&browser, shown["loaded"].as_str()).await;
    let report = report_for(&api, &shown).await;
    let days: Vec<&str> =
        report["by_day"].as_array().unwrap().iter().map(|day| day["date"].as_str().unwrap()).collect();
    assert_eq!(days.len(), 7);
    assert_eq!((days[0], days[6]), (from.to_string().as_str(), to.to_string().as_str()));
    assert_shows(&shown, &report);
    assert!(report["totals"]["rated"].as_u64().unwrap() > 0, "history in the week: {}", report["totals"]);

    // The CSV link downloads the same range.
    let downloads = artifact("dashboard-downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).unwrap();
    browser
        .call(
            "Page.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads.display().to_string() }),
        )
        .await;
    browser.click("#csv").await;
    let file = downloaded(&downloads).await;
    // The link is relative to the page, `/dashboard`, so a `public_url` with a path works.
    let link = shown["csv"].as_str().unwrap();
    assert!(link.starts_with("v1/reports/ratings.csv?"), "{link}");
    let expected = api.get(&format!("/{link}")).await;
    assert_eq!(expected.status, 200);
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(expected.header("content-disposition").is_some_and(|value| value.contains(&name)), "{name}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected.text);
    assert!(expected.text.lines().count() > 1, "the week has ratings");

    // On a phone's width, nothing runs off the side: wide tables scroll in their own box.
    let phone = json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true });
    browser.call("Emulation.setDeviceMetricsOverride", phone).await;
    browser.wait_for("document.documentElement.scrollWidth <= 390 && document.querySelector('#trend svg').getAttribute('width') < 390", WAIT).await;
    browser.screenshot(&artifact("dashboard-phone.png")).await;
    browser.call("Emulation.clearDeviceMetricsOverride", json!({})).await;

    // The browser logs the refused login's 401, which is the answer it should get; nothing else.
    let errors: Vec<String> =
        browser.errors().into_iter().filter(|error| !error.contains("status of 401 (Unauthorized) (http")).collect();
    assert_eq!(errors, Vec::<String>::new(), "the page logged errors");
    assert_eq!(browser.errors().len(), 1, "the refused login only");

    // Logging out ends the session in this browser.
    browser.click("header button[type=submit]").await;
    browser.wait_for("location.pathname === '/dashboard/login'", WAIT).await;
    browser.navigate(&format!("{}/dashboard", gw.base)).await;
    assert_eq!(browser.eval("location.pathname").await, "/dashboard/login");
}

/// Another site's page can neither log a reader in (to its own tenant, say) nor log them out:
/// the browser says where a form came from, and the dashboard refuses other sites with a 403
/// page. A client that says nothing of where it is (curl) still logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sites_cannot_log_a_reader_in_or_out() {
    let gw = Gateway::start(None).await;
    let key = gw.acme_key();
    for headers in [
        [("sec-fetch-site", "cross-site")].as_slice(),
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://attacker.example")],
        &[("origin", "null")],
        // A browser's own word wins over an Origin that only looks right.
        &[("sec-fetch-site", "cross-site"), ("origin", gw.base.as_str())],
    ] {
        let (status, location, cookie, page) = post_form(&gw, "/dashboard/login", key, headers).await;
        assert_eq!((status, location, cookie), (403, None, None), "{headers:?}");
        assert!(page.contains("This form was sent from another site"), "{headers:?}: {page}");
        let (status, _, cookie, _) = post_form(&gw, "/dashboard/logout", key, headers).await;
        assert_eq!((status, cookie), (403, None), "logging out, {headers:?}");
    }
    for headers in [
        [("sec-fetch-site", "same-origin")].as_slice(),
        &[("origin", gw.base.as_str())],
        &[("sec-fetch-site", "none")],
        &[],
    ] {
        let (status, location, cookie) = post_login(&gw, key, headers).await;
        assert_eq!((status, location.as_deref()), (303, Some("../dashboard")), "{headers:?}");
        assert!(cookie.is_some_and(|cookie| cookie.starts_with("ratewire_session=")), "{headers:?}");
        let (status, location, cookie, _) = post_form(&gw, "/dashboard/logout", key, headers).await;
        assert_eq!((status, location.as_deref()), (303, Some("login")), "{headers:?}");
        assert!(cookie.is_some_and(|cookie| cookie.contains("Max-Age=0")), "{headers:?}");
    }
}

/// Logging out ends that session on the server: the cookie taken before no longer reads
/// reports, on this gateway or another sharing its store. "Log out everywhere" (the API, with a
/// key, or the dashboard's button, with a session) ends every session of the tenant at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_sessions_on_every_gateway_on_redis() {
    sessions_end_on_the_server(Some(RedisServer::start())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_sessions_on_the_embedded_store() {
    sessions_end_on_the_server(None).await;
}

async fn sessions_end_on_the_server(redis: Option<RedisServer>) {
    const SECRET: &str = "the session secret every gateway here shares";
    let first = Gateway::start_with(redis, |settings| settings.dashboard.session_secret = Some(SECRET.into())).await;
    let key = first.acme_key().to_owned();
    let hash = |key: &str| vec![format!("sha256:{}", ratewire_gateway::http::auth::digest(key))];
    let (acme_hashes, globex_hashes) = (hash(&key), hash(first.globex_key()));
    // Behind one address, a second gateway on the same Redis, with the same secret and keys.
    let second = match &first.redis {
        Some(server) => Some(
            Gateway::start_with(None, |settings| {
                settings.dashboard.session_secret = Some(SECRET.into());
                settings.redis_url = Some(server.url());
                settings.tenants[0].api_key_hashes = acme_hashes;
                settings.tenants[1].api_key_hashes = globex_hashes;
            })
            .await,
        ),
        None => None,
    };
    let gateways: Vec<&Gateway> = std::iter::once(&first).chain(second.as_ref()).collect();
    let reads = |cookie: String| {
        let gateways = gateways.clone();
        async move {
            let mut statuses = Vec::new();
            for gw in gateways {
                statuses.push(status_with_cookie(gw, &cookie, Method::GET, "/v1/reports").await);
            }
            statuses
        }
    };
    let all = |status: u16| vec![status; gateways.len()];
    let session = |set_cookie: Option<String>| -> String {
        set_cookie.expect("a session cookie").split(';').next().expect("a cookie").to_owned()
    };

    // Logging out ends that session everywhere, and only that one.
    let kept = session(post_login(&first, &key, &[]).await.2);
    let ended = session(post_login(&first, &key, &[]).await.2);
    let other_tenant = session(post_login(&first, first.globex_key(), &[]).await.2);
    assert_eq!(reads(ended.clone()).await, all(200));
    let (status, location, cleared, _) = post_form(&first, "/dashboard/logout", "", &[("cookie", &ended)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("login")));
    assert!(cleared.is_some_and(|cookie| cookie.contains("Max-Age=0")));
    assert_eq!(reads(ended.clone()).await, all(401), "the cookie kept from before the logout");
    assert_eq!(reads(kept.clone()).await, all(200), "another session of the tenant");

    // Log out everywhere, from the API with a key: every session of the tenant ends, and only
    // the tenant's. The session cookie can't call it.
    assert_eq!(status_with_cookie(&first, &kept, Method::DELETE, "/v1/dashboard/sessions").await, 401);
    first.acme().delete("/v1/dashboard/sessions").await.expect(204);
    assert_eq!(reads(kept.clone()).await, all(401), "a session from before logging out everywhere");
    assert_eq!(reads(other_tenant.clone()).await, all(200), "another tenant's session");

    // A login after it opens a session as before; the dashboard's button ends it everywhere too.
    let fresh = session(post_login(gateways[gateways.len() - 1], &key, &[]).await.2);
    assert_eq!(reads(fresh.clone()).await, all(200));
    let (status, _, _, _) =
        post_form(&first, "/dashboard/logout-everywhere", "", &[("cookie", &fresh), ("sec-fetch-site", "cross-site")])
            .await;
    assert_eq!(status, 403, "another site can't log a reader out everywhere");
    assert_eq!(reads(fresh.clone()).await, all(200));
    let (status, location, cleared, _) =
        post_form(&first, "/dashboard/logout-everywhere", "", &[("cookie", &fresh)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("login")));
    assert!(cleared.is_some_and(|cookie| cookie.contains("Max-Age=0")));
    assert_eq!(reads(fresh).await, all(401));
    // Without a session, the button ends nothing.
    let last = session(post_login(&first, &key, &[]).await.2);
    let (status, _, _, _) = post_form(&first, "/dashboard/logout-everywhere", "", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(reads(last).await, all(200));
}

/// A report reads from counters what the store counted, and survey by survey what came before
/// it kept counters: at most `report_max_surveys` of those, the first of the range. Past the cap
/// the report says so, and so does the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_cut_short_by_the_cap_says_so() {
    const CAP: usize = 16;
    let gw = Gateway::start_with(Some(RedisServer::start()), |settings| settings.report_max_surveys = CAP).await;
    let api = gw.acme();
    let config = SurveyConfig::default();
    // Eight days, 20 days before the store first kept counters (when the gateway connected):
    // two surveys a day, and three on the fifth.
    let today = ratewire_tests::now().to_zoned(TimeZone::UTC).date();
    let first_day = today - SignedDuration::from_hours(24 * 20);
    let midnight =
        |days: i64| (first_day + SignedDuration::from_hours(24 * days)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let mut n = 0;
    for day in 0..8 {
        for hour in 0..if day == 4 { 3 } else { 2 } {
            let survey = past_survey(ACME, &config, midnight(day) + SignedDuration::from_hours(hour + 1), n);
            gw.state.flow.store.create(&survey, None).await.expect("the store takes the survey");
            n += 1;
        }
    }
    let report = |days: i64| {
        let path = format!("/v1/reports?from={}&to={}&tz=UTC", midnight(0), midnight(days));
        let api = &api;
        async move { api.get(&path).await.expect(200) }
    };
    // The first 16 of the range's 17 are counted: the last day's second is not.
    let cut = report(8).await;
    assert_eq!((&cut["truncated"], &cut["totals"]["invited"]), (&json!(true), &json!(16)), "{cut}");
    let invited: Vec<u64> =
        cut["by_day"].as_array().unwrap().iter().map(|day| day["invited"].as_u64().unwrap()).collect();
    assert_eq!(invited, [2, 2, 2, 2, 3, 2, 2, 1]);
    // The ratings export is not cut: it streams every rating of the range, whatever the cap.
    let csv = api.get(&format!("/v1/reports/ratings.csv?from={}&to={}&tz=UTC", midnight(0), midnight(8))).await;
    let rated = (0..n).filter(|n| n % 6 != 5).count();
    assert_eq!(csv.text.lines().count(), 1 + rated, "{}", csv.text);
    // Seven days hold 15: all counted, nothing cut.
    let whole = report(7).await;
    assert_eq!((&whole["truncated"], &whole["totals"]["invited"]), (&json!(false), &json!(15)), "{whole}");

    // The page says so above the figures.
    let browser = Browser::launch().await;
    browser.call("Emulation.setTimezoneOverride", json!({ "timezoneId": "UTC" })).await;
    browser.navigate(&format!("{}/dashboard/login", gw.base)).await;
    log_in(&browser, gw.acme_key()).await;
    loaded(&browser, None).await;
    let last_day = first_day + SignedDuration::from_hours(24 * 7);
    browser.navigate(&format!("{}/dashboard?from={first_day}&to={last_day}", gw.base)).await;
    let shown = loaded(&browser, None).await;
    assert_shows(&shown, &report_for(&api, &shown).await);
    let notice = shown["truncated"].as_str().unwrap_or_default();
    assert!(notice.starts_with("This range reaches back before these figures were kept as counts"), "{shown}");
    browser.screenshot(&artifact("dashboard-truncated.png")).await;
    assert_eq!(browser.errors(), Vec::<String>::new(), "the page logged errors");
}

/// A tenant on the 0–10 scale sees NPS, not CSAT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_on_the_nps_scale_sees_nps() {
    let gw = Gateway::start(Some(RedisServer::start())).await;
    let nps = SurveyConfig { scale: Scale::NPS, ..SurveyConfig::default() };
    seed_history(&gw, GLOBEX, &nps, 20).await;
    let browser = Browser::launch().await;
    browser.call("Emulation.setTimezoneOverride", json!({ "timezoneId": READER_ZONE })).await;
    browser.navigate(&format!("{}/dashboard/login", gw.base)).await;
    log_in(&browser, gw.globex_key()).await;
    let shown = loaded(&browser, None).await;
    let report = report_for(&gw.globex(), &shown).await;
    assert_eq!(report["scales"], json!(["numeric:0-10"]));
    assert!(report["totals"]["nps"].is_number() && report["totals"]["csat"].is_null(), "{}", report["totals"]);
    assert_shows(&shown, &report);
    assert!(shown["tiles"]["csat"] == false && shown["tiles"]["nps"] == true, "{}", shown["tiles"]);
    assert_eq!(shown["trend_title"], "NPS by day");
    browser.screenshot(&artifact("dashboard-nps.png")).await;
    assert_eq!(browser.errors(), Vec::<String>::new(), "the page logged errors");
}

/// A year of surveys, 100 000 of them, for `docs/performance.md`: how long the report API takes
/// over them, and how long the page takes to show them. Run with
/// `cargo test --release -p ratewire-tests --test dashboard -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: seeds 100 000 surveys"]
async fn a_year_of_surveys() {
    const SURVEYS: usize = 100_000;
    let (redis, _) = counting_for_over_a_year().await;
    let gw = Gateway::start(Some(redis)).await;
    let config = SurveyConfig { low_rating_reasons: vec!["slow".into()], ..SurveyConfig::default() };
    let started = Instant::now();
    let now = ratewire_tests::now();
    let surveys: Vec<Survey> = (0..SURVEYS)
        .map(|i| {
            // Spread evenly over the last 364 days.
            let created = now - SignedDuration::from_secs((i as i64 * 364 * 86_400) / SURVEYS as i64 + 60);
            past_survey(ACME, &config, created, i)
        })
        .collect();
    let store = gw.state.flow.store.clone();
    for chunk in surveys.chunks(500) {
        let writes = chunk.iter().map(|survey| store.create(survey, None));
        for result in futures_util::future::join_all(writes).await {
            result.expect("the store takes the survey");
        }
    }
    println!("seeded {SURVEYS} surveys in {:.1} s", started.elapsed().as_secs_f64());

    let api = gw.acme();
    let today = now.to_zoned(TimeZone::UTC).date();
    let from = (today - SignedDuration::from_hours(24 * 364)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let to = today.tomorrow().unwrap().to_zoned(TimeZone::UTC).unwrap().timestamp();
    let path = format!("/v1/reports?from={from}&to={to}&tz=UTC");
    let mut timings = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let answer = api.get(&path).await;
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer.expect(200)["totals"]["invited"], SURVEYS);
        size = answer.text.len();
    }
    timings.sort_by(f64::total_cmp);
    println!("report API, 365 days: median {:.0} ms (runs: {timings:.0?}), {} kB of JSON", timings[2], size / 1000);
    // For comparison, what a report took before counters: reading every survey of the range,
    // then counting them one by one.
    let started = Instant::now();
    let all = store.list(&TenantId::new(ACME).unwrap(), from, to, 1_000_000).await.unwrap();
    let listed = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let report = ratewire_core::report::build(&all, &ratewire_core::ReportQuery::new(from, to));
    let built = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(report.totals.invited, SURVEYS as u64);
    println!(
        "counted survey by survey instead: reading the surveys {listed:.0} ms, the report over them {built:.0} ms"
    );

    let browser = Browser::launch().await;
    browser.navigate(&format!("{}/dashboard/login", gw.base)).await;
    log_in(&browser, gw.acme_key()).await;
    loaded(&browser, None).await;
    let started = Instant::now();
    browser
        .navigate(&format!("{}/dashboard?from={}&to={today}", gw.base, today - SignedDuration::from_hours(24 * 364)))
        .await;
    let shown = loaded(&browser, None).await;
    let shown_in = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(shown["figures"]["invited"], count(SURVEYS as u64));
    let render = browser.eval("document.body.dataset.renderMs").await;
    println!(
        "page, 365 days: shown {shown_in:.0} ms after navigating; drawing took {} ms",
        render.as_str().unwrap_or("?")
    );
    browser.screenshot(&artifact("dashboard-year.png")).await;
}

/// The ratings export of a year holding a million ratings, for `docs/performance.md`: it streams,
/// so the gateway's memory while it runs stays what it was, however many rows go out. Run with
/// `cargo test --release -p ratewire-tests --test dashboard a_million -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: seeds 1 200 000 surveys"]
async fn a_million_ratings_export_in_constant_memory() {
    const SURVEYS: usize = 1_200_000;
    let gw = Gateway::start(Some(RedisServer::start())).await;
    let config = SurveyConfig::default();
    let now = ratewire_tests::now();
    let store = gw.state.flow.store.clone();
    let started = Instant::now();
    for first in (0..SURVEYS).step_by(500) {
        let surveys: Vec<Survey> = (first..(first + 500).min(SURVEYS))
            .map(|i| {
                let created = now - SignedDuration::from_secs((i as i64 * 364 * 86_400) / SURVEYS as i64 + 60);
                past_survey(ACME, &config, created, i)
            })
            .collect();
        for result in futures_util::future::join_all(surveys.iter().map(|survey| store.create(survey, None))).await {
            result.expect("the store takes the survey");
        }
    }
    println!("seeded {SURVEYS} surveys in {:.0} s", started.elapsed().as_secs_f64());

    let today = now.to_zoned(TimeZone::UTC).date();
    let from = (today - SignedDuration::from_hours(24 * 364)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let to = today.tomorrow().unwrap().to_zoned(TimeZone::UTC).unwrap().timestamp();
    let resident = |field: &str| -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
        let line = status.lines().find(|line| line.starts_with(field)).expect("the field");
        line.split_whitespace().nth(1).and_then(|kib| kib.parse::<u64>().ok()).expect("a number of kB") / 1024
    };
    // The peak is measured from here: writing 5 resets it.
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak resident memory reset");
    let before = resident("VmRSS:");
    let started = Instant::now();
    let url = format!("{}/v1/reports/ratings.csv?from={from}&to={to}&tz=UTC", gw.base);
    let mut response = reqwest::Client::new().get(url).bearer_auth(gw.acme_key()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut rows) = (0, 0);
    // Read as it comes and let go of, so the measure is the gateway's, not the download's.
    while let Some(chunk) = response.chunk().await.expect("the export goes on") {
        bytes += chunk.len();
        rows += chunk.iter().filter(|byte| **byte == b'\n').count();
    }
    let took = started.elapsed().as_secs_f64();
    let peak = resident("VmHWM:");
    let rated = (0..SURVEYS).filter(|n| n % 6 != 5).count();
    assert_eq!(rows, 1 + rated, "a header and a row per rating");
    println!(
        "ratings export: {rated} rows, {} MB in {took:.1} s ({:.0} rows/s); resident memory {before} MiB before, \
         peak {peak} MiB while it streamed",
        bytes / 1_000_000,
        rated as f64 / took
    );
    assert!(peak < before + 64, "the export held {} MiB", peak - before);
}

// ---------------------------------------------------------------------------------------------
// Seeding.

/// A comment that would run as markup if the page put it in as HTML.
const HOSTILE_COMMENT: &str = "<img src=x onerror=alert(1)> still broken";

/// Today's surveys, made through the API and rated in the widget: on two widget channels, for
/// three agents and none, with reasons and comments.
async fn seed_today(gw: &Gateway) {
    let api = gw.acme();
    let config = json!({ "scale": "stars:5", "low_rating_reasons": ["slow", "unresolved"] });
    let config = api.post("/v1/configs", &json!({ "name": "Stars", "config": config })).await.expect(201);
    let config = config["id"].as_str().unwrap();
    let mut secrets = std::collections::HashMap::new();
    for channel in ["site", "help"] {
        let body = json!({ "id": channel, "kind": "web_widget", "name": channel, "config": config });
        let connected = api.post("/v1/channels", &body).await.expect(201);
        secrets.insert(channel, connected["visitor_secret"].as_str().unwrap().to_owned());
    }
    // Each conversation's channel and agent, and what its end user answers: a score, and after
    // it perhaps a reason and a comment.
    type Answer = Option<(u8, Option<&'static str>, Option<&'static str>)>;
    let plan: [(&str, &str, Option<&str>, Answer); 6] = [
        ("site", "t1", Some("ana"), Some((5, None, Some("Quick and kind")))),
        ("help", "t2", Some("bo"), Some((1, Some("unresolved"), Some(HOSTILE_COMMENT)))),
        ("site", "t3", None, None),
        ("help", "t4", Some("cy"), Some((4, None, None))),
        ("site", "t5", Some("bo"), Some((2, Some("slow"), Some("Had to ask three times, \"twice\" too many")))),
        ("help", "t6", Some("ana"), Some((3, None, None))),
    ];
    for (channel, conversation, agent, answer) in plan {
        let visitor = format!("visitor-{conversation}");
        let mut body = json!({ "conversation": conversation, "channel": channel, "recipient": visitor });
        if let Some(agent) = agent {
            body["agent"] = json!(agent);
        }
        let survey = api.post("/v1/invitations", &body).await.expect(201);
        let survey = survey["id"].as_str().unwrap().to_owned();
        let Some((score, reason, comment)) = answer else { continue };
        let mut widget = gw.widget(ACME, channel, &secrets[channel], &visitor).await;
        assert_eq!(widget.view().await["id"], survey);
        widget.send(json!({ "type": "rate", "survey": survey, "score": score })).await;
        widget.until_view(|view| view["score"] == score).await;
        if let Some(reason) = reason {
            widget.send(json!({ "type": "reason", "survey": survey, "reason": reason })).await;
            widget.until_view(|view| view["reason"] == reason).await;
        }
        if let Some(text) = comment {
            widget.send(json!({ "type": "comment", "survey": survey, "text": text })).await;
            widget.until_view(|view| view["comment"] == text).await;
        }
    }
}

/// `days` days of past surveys of `tenant` on `config`, one to four a day, written to the store.
async fn seed_history(gw: &Gateway, tenant: &str, config: &SurveyConfig, days: i64) {
    let now = ratewire_tests::now();
    let mut n = 0;
    for day in 1..=days {
        for i in 0..(day % 4 + 1) {
            let created = now - SignedDuration::from_hours(24 * day) + SignedDuration::from_mins(97 * i);
            let survey = past_survey(tenant, config, created, n);
            gw.state.flow.store.create(&survey, None).await.expect("the store takes the survey");
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The page.

/// Logs in on the login page, as a reader would: types the key and presses the button.
async fn log_in(browser: &Browser, key: &str) {
    browser.wait_for("location.pathname === '/dashboard/login' && document.readyState === 'complete'", WAIT).await;
    browser.click("#key").await;
    browser.type_text(key).await;
    browser.click("button[type=submit]").await;
}

/// The login form posted with `key` and `headers`, as a browser posts it; the answer itself, not
/// where it leads: its status, `location` and `set-cookie`.
async fn post_login(gw: &Gateway, key: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, Option<String>) {
    let (status, location, cookie, _) = post_form(gw, "/dashboard/login", key, headers).await;
    (status, location, cookie)
}

/// A form with `key` posted to `path` with `headers`: the answer's status, `location`,
/// `set-cookie` and body.
async fn post_form(
    gw: &Gateway,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, String) {
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = client.post(format!("{}{path}", gw.base)).form(&[("key", key)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
    let (status, location, cookie) = (response.status().as_u16(), header("location"), header("set-cookie"));
    (status, location, cookie, response.text().await.unwrap())
}

/// The status of a call that carries the session cookie and no key (and an empty JSON body).
async fn status_with_cookie(gw: &Gateway, cookie: &str, method: Method, path: &str) -> u16 {
    let request = ratewire_tests::service::client().request(method, format!("{}{path}", gw.base));
    let response = request.header("cookie", cookie).json(&json!({})).send().await.unwrap();
    response.status().as_u16()
}

/// What the page shows once it has loaded a report other than `previous`.
async fn loaded(browser: &Browser, previous: Option<&str>) -> Value {
    let condition = format!(
        "location.pathname === '/dashboard' && document.body && document.body.dataset.loaded && document.body.dataset.loaded !== {}",
        js_string(previous.unwrap_or(""))
    );
    browser.wait_for(&condition, WAIT).await;
    let shown = browser.eval(SHOWN).await;
    assert_eq!(shown["error"], Value::Null, "the page shows an error");
    assert_eq!(
        shown["csv"].as_str().and_then(|csv| csv.split_once('?')).map(|(_, query)| query),
        shown["loaded"].as_str()
    );
    shown
}

/// The query the page asked for, from its CSV link.
fn query_of(shown: &Value) -> Value {
    let query = shown["loaded"].as_str().expect("a loaded page");
    let pairs = reqwest::Url::parse(&format!("http://x/?{query}")).unwrap();
    pairs.query_pairs().map(|(name, value)| (name.into_owned(), json!(value))).collect::<serde_json::Map<_, _>>().into()
}

/// The report API's answer, with the tenant's key, for the range the page asked for.
async fn report_for(api: &Api, shown: &Value) -> Value {
    api.get(&format!("/v1/reports?{}", shown["loaded"].as_str().unwrap())).await.expect(200)
}

/// Whether the page shows the report: every figure, chart point, table row and negative rating.
#[track_caller]
fn assert_shows(shown: &Value, report: &Value) {
    let totals = &report["totals"];
    let figures = &shown["figures"];
    let on_nps = totals["csat"].is_null() && !totals["nps"].is_null();
    for name in ["csat", "response_rate"] {
        assert_eq!(figures[name], percent(&totals[name]), "{name}");
    }
    assert_eq!(figures["nps"], nps(&totals["nps"]));
    assert_eq!(figures["average_score"], average(&totals["average_score"]));
    for name in ["invited", "delivered", "rated"] {
        assert_eq!(figures[name], count(totals[name].as_u64().unwrap()), "{name}");
    }
    assert_eq!(shown["truncated"].is_string(), report["truncated"] == true, "the notice of a report cut short");

    // The tables have the CSAT and NPS columns of the tiles shown.
    let columns = |figures: &Value| {
        let mut cells = vec![count_of(figures, "invited"), count_of(figures, "delivered"), count_of(figures, "rated")];
        cells.push(percent(&figures["response_rate"]));
        if shown["tiles"]["csat"] == true {
            cells.push(percent(&figures["csat"]));
        }
        if shown["tiles"]["nps"] == true {
            cells.push(nps(&figures["nps"]));
        }
        cells.push(average(&figures["average_score"]));
        cells
    };
    let rows = |list: &Value, key: &str| -> Vec<Vec<String>> {
        let list = list.as_array().unwrap();
        list.iter()
            .map(|row| [row[key].as_str().unwrap_or("(no agent)").to_owned()].into_iter().chain(columns(row)).collect())
            .collect()
    };
    assert_eq!(shown["tiles"]["csat"], !on_nps, "the CSAT tile unless NPS is all there is");
    assert_eq!(shown["tiles"]["nps"], !totals["nps"].is_null(), "the NPS tile when there is NPS");
    assert_eq!(shown["agents"], json!(rows(&report["by_agent"], "agent")), "by agent");
    assert_eq!(shown["channels"], json!(rows(&report["by_channel"], "channel")), "by channel");

    let negative: Vec<Value> = report["negative"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rating| {
            let text = |key: &str| rating[key].as_str().unwrap_or_default().to_owned();
            json!({
                "survey": rating["survey_id"], "rated_at": rating["rated_at"],
                "cells": [rating["score"].to_string(), rating["agent"].as_str().unwrap_or("(no agent)"), text("channel"), text("reason"), text("comment")],
            })
        })
        .collect();
    assert_eq!(shown["negative"], json!(negative), "negative ratings");

    // The trend: one point per day with ratings, each titled with its figure.
    let days = report["by_day"].as_array().unwrap();
    let points: Vec<String> = days
        .iter()
        .filter_map(|day| {
            let figure = if on_nps {
                (!day["nps"].is_null()).then(|| format!("NPS {}", nps(&day["nps"])))
            } else {
                (!day["csat"].is_null()).then(|| format!("CSAT {}", percent(&day["csat"])))
            };
            figure.map(|figure| format!(": {figure} ({} rated)", count(day["rated"].as_u64().unwrap())))
        })
        .collect();
    assert_titles(&shown["trend"], &points, "trend");
    let bars: Vec<String> = days
        .iter()
        .map(|day| {
            let n = |key: &str| count(day[key].as_u64().unwrap());
            format!(
                ": {} delivered, {} rated (response rate {})",
                n("delivered"),
                n("rated"),
                percent(&day["response_rate"])
            )
        })
        .collect();
    assert_titles(&shown["volume"], &bars, "volume");
    let distribution = totals["distribution"].as_object().unwrap();
    let total: u64 = distribution.values().map(|n| n.as_u64().unwrap()).sum();
    let mut levels: Vec<(u64, u64)> =
        distribution.iter().map(|(score, n)| (score.parse().unwrap(), n.as_u64().unwrap())).collect();
    levels.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    let expected: Vec<String> = levels
        .iter()
        .map(|(score, n)| {
            format!("Score {score}: {} ratings ({})", count(*n), percent(&json!(*n as f64 / total as f64)))
        })
        .collect();
    assert_eq!(shown["distribution"], json!(expected), "distribution");
}

/// Each title ends with its expected text, one for one.
#[track_caller]
fn assert_titles(titles: &Value, endings: &[String], what: &str) {
    let titles: Vec<&str> = titles.as_array().unwrap().iter().map(|title| title.as_str().unwrap()).collect();
    assert_eq!(titles.len(), endings.len(), "{what}: {titles:?}");
    for (title, ending) in titles.iter().zip(endings) {
        assert!(title.ends_with(ending.as_str()), "{what}: {title:?} should end with {ending:?}");
    }
}

fn count_of(figures: &Value, key: &str) -> String {
    count(figures[key].as_u64().unwrap_or_else(|| panic!("no count {key} in {figures}")))
}

// What the page shows of the API's numbers: shares as percentages to one decimal, NPS signed
// to one decimal, the average to two, counts grouped by thousands; "–" for null.

fn percent(share: &Value) -> String {
    share.as_f64().map_or("–".into(), |share| format!("{:.1}%", (share * 1000.0).round() / 10.0))
}

fn nps(value: &Value) -> String {
    value.as_f64().map_or("–".into(), |value| format!("{}{value:.1}", if value > 0.0 { "+" } else { "" }))
}

fn average(value: &Value) -> String {
    value.as_f64().map_or("–".into(), |value| format!("{:.2}", (value * 100.0).round() / 100.0))
}

fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The file the browser downloaded into `dir`, once complete.
async fn downloaded(dir: &Path) -> std::path::PathBuf {
    let deadline = Instant::now() + WAIT;
    loop {
        let files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        if let [file] = files.as_slice()
            && file.extension().is_some_and(|ext| ext == "csv")
        {
            return file.clone();
        }
        assert!(Instant::now() < deadline, "no download within {WAIT:?}: {files:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn counts_are_grouped_by_thousands() {
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(1000), "1,000");
    assert_eq!(count(100_000), "100,000");
    assert_eq!(count(1_234_567), "1,234,567");
}
