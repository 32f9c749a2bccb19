//! Reports read from the tenant's counters ([`store::report`]) equal reports counted survey by
//! survey ([`report::build`]), on both stores: for ranges whose ends fall between quarter hours,
//! in time zones whose offsets are not whole hours, across daylight saving changes, with and
//! without filters.
//!
//! A Redis store that held surveys before it kept counters reads those one by one, and its
//! reports are still exact.
//!
//! The surveys are created around the next daylight saving change in St. John's (UTC−3:30 or
//! −2:30), which Berlin's change and Lord Howe's half-hour one follow or precede by weeks; near
//! the real clock, because Redis expires keys by its own.

use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ratewire_core::report::{self, ReportQuery};
use ratewire_core::store::{self, MemoryStore, RedisStore, RedisStoreOptions, SurveyStore};
use ratewire_core::{
    AgentId, ChannelId, Event, FailureReason, Scale, Survey, SurveyConfig, SurveyId, SurveyState, TenantId,
};
use ratewire_tests::redis_setups::RedisCluster;
use ratewire_tests::{Fixture, RedisServer, now, survey_config};

type Store = Arc<dyn SurveyStore>;

ratewire_tests::on_both_stores!(
    memory_store => Arc::new(MemoryStore::new()),
    redis_store(server) => Arc::new(RedisStore::connect(&server.url(), RedisStoreOptions::default()).await.unwrap());
    reports_from_counters_equal_reports_counted_survey_by_survey,
);

/// On a cluster, a tenant's counters are split into shards, each in the slot of its surveys: a
/// report adds them up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_from_counters_equal_reports_counted_survey_by_survey_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("the cluster starts");
    let store = RedisStore::connect_to(&cluster.target(), RedisStoreOptions::default()).await.unwrap();
    reports_from_counters_equal_reports_counted_survey_by_survey(Arc::new(store)).await;
}

const MINUTE: SignedDuration = SignedDuration::from_mins(1);
const HOUR: SignedDuration = SignedDuration::from_hours(1);
const DAY: SignedDuration = SignedDuration::from_hours(24);
const NANOSECOND: SignedDuration = SignedDuration::from_nanos(1);
/// More than any of these tests reads one by one.
const MAX_SCANNED: usize = 1_000_000;

/// UTC; offsets of half and three-quarter hours; daylight saving by an hour, and by half an hour.
const ZONES: [&str; 6] =
    ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Europe/Berlin", "Australia/Lord_Howe"];
const CHANNELS: [&str; 2] = ["whatsapp-main", "telegram-bot"];
const AGENTS: [Option<&str>; 3] = [None, Some("ana"), Some("bo")];

/// A small deterministic generator (SplitMix64), so a failure replays.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A duration from zero up to `span`, to the nanosecond.
    fn within(&mut self, span: SignedDuration) -> SignedDuration {
        SignedDuration::from_nanos(self.below(span.as_nanos() as u64) as i64)
    }
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|error| panic!("the time zone database has {name}: {error}"))
}

/// The first instant of the quarter hour holding `at`.
fn quarter_of(at: Timestamp) -> Timestamp {
    let quarter = (15 * MINUTE).as_nanos();
    Timestamp::from_nanosecond(at.as_nanosecond() - at.as_nanosecond().rem_euclid(quarter)).unwrap()
}

/// Creates a survey at `at` and takes it through `outcome` with the store's writes, as the
/// gateway does.
async fn survey(store: &Store, n: usize, at: Timestamp, random: &mut Random) {
    let fixture = Fixture::new("acme", &format!("conv-{n}"), &format!("+1555{n:07}"));
    let config = SurveyConfig { scale: random.pick(&[Scale::NPS, Scale::FIVE_STARS]), ..survey_config(72, 24) };
    let mut invitation = fixture.invitation();
    invitation.channel = ChannelId::new(random.pick(&CHANNELS)).unwrap();
    invitation.agent = random.pick(&AGENTS).map(|agent| AgentId::new(agent).unwrap());
    let survey = Survey::new(SurveyId::generate(), invitation, &config, at);
    store.create(&survey, None).await.expect("the survey is created");
    let (tenant, id, scale) = (&fixture.tenant, &survey.id, config.scale);
    let rate = |random: &mut Random| {
        let scores: Vec<_> = scale.scores().collect();
        Event::Rate(random.pick(&scores))
    };
    let sent = Event::Sent { route: None };
    let fail = Event::Fail(FailureReason { code: "user_blocked".into(), detail: "blocked".into() });
    let events = match random.below(9) {
        0 => vec![],
        1 => vec![(sent, MINUTE)],
        2 => vec![(sent, MINUTE), (rate(random), 9 * MINUTE)],
        // Rated, then changed: the counts move from one score to another.
        3 => vec![(sent, MINUTE), (rate(random), 9 * MINUTE), (rate(random), 3 * HOUR)],
        4 => vec![(rate(random), 2 * MINUTE)],
        5 => vec![(fail, MINUTE)],
        6 => vec![(sent, MINUTE), (fail, 2 * MINUTE)],
        7 => vec![(sent, MINUTE), (Event::Expire, 73 * HOUR)],
        _ => vec![(sent, MINUTE), (Event::Cancel, 20 * MINUTE)],
    };
    for (event, after) in events {
        store::apply(&**store, tenant, id, event, at + after).await.expect("the event applies");
    }
}

async fn reports_from_counters_equal_reports_counted_survey_by_survey(store: Store) {
    let mut random = Random(0x5eed);
    let st_johns = zone("America/St_Johns");
    let change = st_johns.following(now() + 45 * DAY).next().expect("St. John's keeps daylight saving").timestamp();
    let (start, end) = (change - 40 * DAY, change + 40 * DAY);

    let mut queries = Vec::new();
    for name in ZONES {
        let whole =
            ReportQuery::new(start + 3 * HOUR + 7 * MINUTE + SignedDuration::from_millis(13_250), end - 5 * HOUR)
                .in_time_zone(zone(name));
        // Around the change: its days are 23 or 25 hours long in St. John's.
        let around = ReportQuery::new(change - 2 * DAY - 3 * HOUR - 7 * MINUTE, change + DAY + 11 * HOUR + 59 * MINUTE)
            .in_time_zone(zone(name));
        // Whole UTC months in the middle, read from the months' hashes.
        let months = ReportQuery::new(start - 62 * DAY + 7 * MINUTE + SignedDuration::from_secs(3), end + 33 * DAY)
            .in_time_zone(zone(name));
        queries.extend([
            whole.clone(),
            whole.clone().for_channel(ChannelId::new("telegram-bot").unwrap()),
            whole.for_agent(AgentId::new("ana").unwrap()),
            around.clone(),
            around.for_channel(ChannelId::new("whatsapp-main").unwrap()).for_agent(AgentId::new("bo").unwrap()),
            months,
        ]);
    }
    for _ in 0..80 {
        let from = start - 2 * DAY + random.within(end.duration_since(start) + 4 * DAY);
        let longest = random.pick(&[30 * MINUTE, 6 * HOUR, 3 * DAY, 45 * DAY]);
        let length = random.within(longest);
        let mut query = ReportQuery::new(from, from + length).in_time_zone(zone(random.pick(&ZONES)));
        if random.below(3) == 0 {
            query = query.for_channel(ChannelId::new(random.pick(&CHANNELS)).unwrap());
        }
        if let Some(agent) = random.pick(&AGENTS).filter(|_| random.below(3) == 0) {
            query = query.for_agent(AgentId::new(agent).unwrap());
        }
        queries.push(query);
    }
    // Within one quarter hour: read survey by survey only.
    let inside = quarter_of(start + random.within(end.duration_since(start))) + 4 * MINUTE;
    queries.push(ReportQuery::new(inside, inside + 7 * MINUTE).in_time_zone(zone("Asia/Kathmandu")));

    let mut at: Vec<Timestamp> = (0..360).map(|_| start + random.within(end.duration_since(start))).collect();
    // On the edges of buckets: a quarter hour's first and last instants, and a UTC midnight's.
    for n in 0..24 {
        let quarter = quarter_of(at[n]);
        at.extend([quarter, quarter - NANOSECOND]);
    }
    let midnight = change.to_zoned(TimeZone::UTC).start_of_day().unwrap().timestamp();
    at.extend([midnight, midnight - NANOSECOND, midnight + 15 * MINUTE]);
    // On the edges of every range, and in the pieces shorter than a quarter hour at its ends.
    for query in &queries {
        let (from, to) = (query.from, query.to);
        at.extend([from, from - NANOSECOND, to - NANOSECOND, to]);
        at.extend([from + random.within(15 * MINUTE), to - random.within(15 * MINUTE)]);
    }
    for (n, at) in at.iter().enumerate() {
        survey(&store, n, *at, &mut random).await;
    }
    let tenant = TenantId::new("acme").unwrap();
    let surveys = store.list(&tenant, start - 70 * DAY, end + 50 * DAY, usize::MAX).await.unwrap();
    assert_eq!(surveys.len(), at.len());

    for query in &queries {
        let counted = store::report(&*store, &tenant, query, MAX_SCANNED).await.expect("the store answers");
        assert_eq!(counted, report::build(&surveys, query), "{query:?}");
    }
    let whole = store::report(&*store, &tenant, &ReportQuery::new(start - 70 * DAY, end + 50 * DAY), MAX_SCANNED)
        .await
        .unwrap();
    let cancelled = surveys.iter().filter(|survey| matches!(survey.state, SurveyState::Cancelled { .. })).count();
    assert_eq!(whole.totals.invited as usize, surveys.len() - cancelled);
    assert!(
        whole.totals.rated > 0 && whole.totals.failed > 0 && whole.totals.expired > 0 && !whole.negative.is_empty()
    );
}

/// As an earlier version leaves Redis: surveys, no counters. The first store that keeps them marks
/// since when; a report reads what came before survey by survey, and the rest from counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn surveys_from_before_the_counters_are_read_one_by_one() {
    let server = RedisServer::start();
    let connect = || async { RedisStore::connect(&server.url(), RedisStoreOptions::default()).await.unwrap() };
    let mut random = Random(0xbe40);
    let start = now() + 5 * DAY;
    let since = start + 10 * DAY + 7 * MINUTE + SignedDuration::from_millis(250);
    let earlier: Store = Arc::new(connect().await);
    for n in 0..150 {
        survey(&earlier, n, start + random.within(since.duration_since(start)), &mut random).await;
    }
    let mut redis = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let counters: Vec<String> = redis::cmd("KEYS").arg("rw:t:acme:counts/*").query_async(&mut redis).await.unwrap();
    assert!(!counters.is_empty(), "the surveys were counted");
    let _: () = redis::cmd("DEL").arg(counters).arg("rw:t:acme:negative").query_async(&mut redis).await.unwrap();
    let _: () =
        redis::cmd("SET").arg("rw:counted_since").arg(since.as_millisecond()).query_async(&mut redis).await.unwrap();

    let store: Store = Arc::new(connect().await);
    assert_eq!(store.counted_since().as_millisecond(), since.as_millisecond(), "set once, read by every store");
    let tenant = TenantId::new("acme").unwrap();
    // Earlier surveys still change: what their writes add to their counters is not read.
    let pending: Vec<Survey> = store.list(&tenant, since - 2 * DAY, since, usize::MAX).await.unwrap();
    let pending = pending.into_iter().filter(|survey| matches!(survey.state, SurveyState::Pending { .. }));
    let mut rated = 0;
    for survey in pending.take(12) {
        rated += 1;
        store::apply(&*store, &tenant, &survey.id, Event::Rate(survey.rules.scale.scores().next().unwrap()), since)
            .await
            .expect("an earlier survey is rated");
    }
    assert!(rated > 0, "some earlier surveys were still pending");
    for n in 150..300 {
        survey(&store, n, since + random.within(10 * DAY), &mut random).await;
    }
    let surveys = store.list(&tenant, start - DAY, since + 11 * DAY, usize::MAX).await.unwrap();
    assert_eq!(surveys.len(), 300);

    let mut queries = Vec::new();
    for name in ZONES {
        queries.extend(
            [
                ReportQuery::new(start - DAY, since + 11 * DAY),
                ReportQuery::new(since - 3 * HOUR - 2 * MINUTE, since + 2 * DAY + 13 * MINUTE),
                ReportQuery::new(start, since - DAY),
                ReportQuery::new(since, since + 9 * DAY).for_agent(AgentId::new("ana").unwrap()),
            ]
            .map(|query| query.in_time_zone(zone(name))),
        );
    }
    for query in &queries {
        let report = store::report(&*store, &tenant, query, MAX_SCANNED).await.expect("the store answers");
        assert_eq!(report, report::build(&surveys, query), "{query:?}");
    }
    let whole = store::report(&*store, &tenant, &queries[0], MAX_SCANNED).await.unwrap();
    assert!(!whole.truncated && whole.totals.rated > 0 && !whole.negative.is_empty());
}
