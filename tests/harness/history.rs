//! Past surveys, as the gateway would have written them then: the history the dashboard's tests
//! and the report measurement read. The API stamps a survey with the current time, so a history
//! is built here and written to the store, or, for a year of millions, as the counters their
//! writes leave.

use std::collections::HashMap;
use std::time::Instant;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::counts;
use ratewire_core::{
    AgentId, ChannelId, ConversationId, Event, Invitation, Locale, Origin, RecipientId, Survey, SurveyConfig, SurveyId,
    TenantId,
};

use crate::RedisServer;
use crate::service::{ACME, Gateway};

/// The `n`th past survey of a seed: on one of two channels, for one of three agents or none;
/// expired unanswered one time in six, otherwise rated, with a reason and a comment when low.
pub fn past_survey(tenant: &str, config: &SurveyConfig, created: Timestamp, n: usize) -> Survey {
    let invitation = Invitation {
        tenant: TenantId::new(tenant).unwrap(),
        conversation: ConversationId::new(format!("past-{n}")).unwrap(),
        resolution: 1,
        channel: ChannelId::new(["site", "help"][n % 2]).unwrap(),
        recipient: RecipientId::new(format!("visitor-past-{n}")).unwrap(),
        agent: [Some("ana"), Some("bo"), Some("cy"), None][n % 4].map(|agent| AgentId::new(agent).unwrap()),
        locale: Locale::En,
        origin: Origin::Auto,
    };
    let minutes = |m: i64| created + SignedDuration::from_mins(m);
    let mut survey = Survey::new(SurveyId::generate(), invitation, config, created);
    let mut apply = |event: Event, at: Timestamp| {
        survey = survey.apply(event, at).unwrap_or_else(|refusal| panic!("{refusal}")).survey;
    };
    apply(Event::SENT, minutes(1));
    if n % 6 == 5 {
        apply(Event::Expire, minutes(60 * i64::from(config.validity_hours) + 5));
        return survey;
    }
    // Steps down from the top of the scale, in quarters of it: skewed towards the top, as
    // satisfaction is, with some of every part of the scale.
    const QUARTERS_DOWN: [usize; 10] = [0, 0, 1, 0, 3, 1, 0, 4, 2, 0];
    let levels: Vec<_> = config.scale.scores().collect();
    let top = levels.len() - 1;
    let score = levels[top - QUARTERS_DOWN[n % QUARTERS_DOWN.len()] * top / 4];
    apply(Event::Rate(score), minutes(10));
    if config.scale.is_negative(score) {
        let reasons = &config.low_rating_reasons;
        if !reasons.is_empty() {
            apply(Event::ChooseReason(reasons[n % reasons.len()].clone()), minutes(11));
        }
        apply(Event::Comment(format!("Waited too long ({n})")), minutes(12));
    }
    survey
}

/// A Redis server whose store has kept counters for longer than a year, as one will be a year
/// on (a history has past creation times), and a connection to it.
pub async fn counting_for_over_a_year() -> (RedisServer, redis::aio::MultiplexedConnection) {
    let redis = RedisServer::start();
    let since = crate::now() - SignedDuration::from_hours(24 * 400);
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("rw:counted_since")
        .arg(since.as_millisecond())
        .query_async(&mut connection)
        .await
        .unwrap();
    (redis, connection)
}

/// The surveys of a year written through the store at the end of it, so the index of negative
/// ratings is full and read as in production.
const THROUGH_THE_STORE: usize = 2_000;

/// What a year of surveys took to seed, and the report API's times over it.
#[derive(Debug)]
pub struct YearOfReports {
    pub surveys: usize,
    pub seeded_in_secs: f64,
    pub counter_fields: usize,
    pub used_memory: String,
    /// Each zone, with the report API's times for the whole year, in milliseconds, sorted.
    pub zones: Vec<(&'static str, Vec<f64>)>,
}

/// The report of a year of `surveys` surveys of `acme`: what the report API takes when every
/// counter of the year is full. Millions of surveys written one by one would take hours, and a
/// report reads their counters, not them: so the counters are written as those surveys' writes
/// leave them, each survey's changes (`counts::changes`, what the store's write script adds)
/// summed in this process and stored once a field; the latest 2 000 go through the store. A
/// report that does not count every survey is an error.
pub async fn year_of_reports(surveys: usize) -> Result<YearOfReports, String> {
    let surveys = surveys.max(THROUGH_THE_STORE);
    let started = Instant::now();
    let (redis, mut connection) = counting_for_over_a_year().await;
    let gw = Gateway::start(Some(redis)).await;
    let config = SurveyConfig { low_rating_reasons: vec!["slow".into()], ..SurveyConfig::default() };
    let now = crate::now();
    let created =
        |i: usize| now - SignedDuration::from_secs(((surveys - 1 - i) as i64 * 364 * 86_400) / surveys as i64 + 60);

    let summed = std::thread::scope(|scope| {
        let counted = surveys - THROUGH_THE_STORE;
        let halves = [0..counted / 2, counted / 2..counted];
        let workers: Vec<_> = halves
            .map(|range| {
                let (config, created) = (&config, &created);
                scope.spawn(move || {
                    let mut sums: HashMap<(counts::Period, counts::Field), Vec<i64>> = HashMap::new();
                    for i in range {
                        let survey = past_survey(ACME, config, created(i), i);
                        for change in counts::changes(None, Some(&survey)) {
                            counts::add_packed(sums.entry((change.period, change.field)).or_default(), &change.deltas);
                        }
                    }
                    sums
                })
            })
            .into_iter()
            .collect();
        let mut all: HashMap<(counts::Period, counts::Field), Vec<i64>> = HashMap::new();
        for worker in workers {
            for (key, deltas) in worker.join().unwrap() {
                counts::add_packed(all.entry(key).or_default(), &deltas);
            }
        }
        all
    });
    let counter_fields = summed.len();
    let entries: Vec<_> = summed.into_iter().collect();
    for chunk in entries.chunks(5_000) {
        let mut pipe = redis::pipe();
        for ((period, field), sums) in chunk {
            let packed: Vec<String> = sums.iter().map(i64::to_string).collect();
            pipe.cmd("HSET")
                .arg(format!("rw:t:{ACME}:counts/{period}"))
                .arg(field.to_string())
                .arg(packed.join(","))
                .ignore();
        }
        let _: () = pipe.query_async(&mut connection).await.unwrap();
    }
    let store = gw.state.flow.store.clone();
    let latest: Vec<Survey> =
        (surveys - THROUGH_THE_STORE..surveys).map(|i| past_survey(ACME, &config, created(i), i)).collect();
    for result in futures_util::future::join_all(latest.iter().map(|survey| store.create(survey, None))).await {
        result.expect("the store takes the survey");
    }
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut connection).await.unwrap();
    let used_memory = info.lines().find_map(|line| line.strip_prefix("used_memory:")).unwrap_or("?").trim().to_owned();
    let seeded_in_secs = started.elapsed().as_secs_f64();

    let api = gw.acme();
    let today = now.to_zoned(TimeZone::UTC).date();
    let from = (today - SignedDuration::from_hours(24 * 364)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let to = today.tomorrow().unwrap().to_zoned(TimeZone::UTC).unwrap().timestamp();
    let mut zones = Vec::new();
    for zone in ["UTC", "Asia/Kolkata", "Asia/Kathmandu"] {
        let path = format!("/v1/reports?from={from}&to={to}&tz={zone}");
        let mut timings = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let answer = api.get(&path).await;
            timings.push(started.elapsed().as_secs_f64() * 1000.0);
            let invited = &answer.expect(200)["totals"]["invited"];
            if *invited != surveys {
                return Err(format!("the report in {zone} counts {invited} invited of {surveys} surveys"));
            }
        }
        timings.sort_by(f64::total_cmp);
        zones.push((zone, timings));
    }
    Ok(YearOfReports { surveys, seeded_in_secs, counter_fields, used_memory, zones })
}
