//! The store suite: every store passes the same tests (the in-memory store defines the
//! semantics), and the Redis store some of its own (key layout, expiry, lost connections).
//!
//! The Redis tests start a real `redis-server` each (see `ratewire_tests::RedisServer`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{
    self, ApplyError, DueSurvey, MemoryStore, RedisStore, RedisStoreOptions, StoreError, SurveyStore,
};
use ratewire_core::{
    Effect, Event, Notice, Refusal, Scale, Score, StateName, Survey, SurveyId, SurveyState, Transition,
};
use ratewire_tests::{Fixture, RedisServer, now, survey_config};

type Store = Arc<dyn SurveyStore>;

const MINUTE: SignedDuration = SignedDuration::from_mins(1);
const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// Runs each listed test once against the memory store and once against a Redis store with a
/// server of its own.
macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        mod memory_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(std::sync::Arc::new(super::MemoryStore::new())).await;
                }
            )*
        }

        mod redis_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let server = super::RedisServer::start();
                    let store = super::connect(&server, super::RedisStoreOptions::default()).await;
                    super::$test(std::sync::Arc::new(store)).await;
                    drop(server);
                }
            )*
        }
    };
}

store_suite!(
    created_surveys_read_back,
    tenants_do_not_see_each_other,
    ids_with_colons_stay_in_their_tenant,
    create_checks_the_conversation_and_the_id,
    save_refuses_a_stale_revision,
    apply_rates_a_pending_survey,
    racing_ratings_without_a_change_window_rate_once,
    racing_ratings_inside_the_change_window_lose_no_update,
    pending_surveys_fall_due_at_their_deadline,
    rated_surveys_fall_due_when_their_change_window_ends,
    due_lists_the_soonest_first_up_to_the_limit,
    forget_due_removes_an_entry,
    the_due_index_follows_racing_writers,
    the_sweeper_expires_and_locks_what_is_due,
);

async fn connect(server: &RedisServer, options: RedisStoreOptions) -> RedisStore {
    RedisStore::connect(&server.url(), options).await.expect("the test server accepts the store")
}

fn score(value: u32) -> Score {
    Scale::NPS.score(value).expect("a score on the 0-10 scale")
}

fn notified(transition: &Transition, notice: Notice) -> bool {
    transition.effects.contains(&Effect::Notify(notice))
}

async fn stored(store: &Store, survey: &Survey) -> Survey {
    store.get(&survey.invitation.tenant, &survey.id).await.expect("the store answers").expect("the survey is stored")
}

/// The due index, as far ahead as anything can be.
async fn all_due(store: &Store) -> Vec<DueSurvey> {
    store.due(Timestamp::MAX, 1000).await.expect("the store answers")
}

fn due_entry(survey: &Survey, due: Timestamp) -> DueSurvey {
    DueSurvey { tenant: survey.invitation.tenant.clone(), id: survey.id.clone(), due }
}

async fn created_surveys_read_back(store: Store) {
    let fixture = Fixture::new("acme", "conv-1", "+15550001");
    let survey = fixture.survey(&survey_config(72, 24), now());
    store.create(&survey, None).await.unwrap();

    assert_eq!(stored(&store, &survey).await, survey);
    assert_eq!(store.get(&fixture.tenant, &SurveyId::generate()).await.unwrap(), None);
    let latest = store.latest_for_conversation(&fixture.tenant, &fixture.conversation).await.unwrap();
    assert_eq!(latest, Some(survey.clone()));
    let latest = store.latest_for_recipient(&fixture.tenant, &fixture.channel, &fixture.recipient).await.unwrap();
    assert_eq!(latest, Some(survey.clone()));

    let other = Fixture::new("acme", "conv-2", "+15550002");
    assert_eq!(store.latest_for_conversation(&other.tenant, &other.conversation).await.unwrap(), None);
    assert_eq!(store.latest_for_recipient(&other.tenant, &other.channel, &other.recipient).await.unwrap(), None);
}

async fn tenants_do_not_see_each_other(store: Store) {
    let t0 = now();
    let config = survey_config(72, 24);
    let acme = Fixture::new("acme", "conv-1", "+15550001");
    let globex = Fixture::new("globex", "conv-1", "+15550001");
    let id = SurveyId::generate();
    let acme_survey = acme.survey_with_id(id.clone(), &config, t0);
    store.create(&acme_survey, None).await.unwrap();

    assert_eq!(store.get(&globex.tenant, &id).await.unwrap(), None);
    assert_eq!(store.latest_for_conversation(&globex.tenant, &globex.conversation).await.unwrap(), None);
    let latest = store.latest_for_recipient(&globex.tenant, &globex.channel, &globex.recipient).await.unwrap();
    assert_eq!(latest, None);

    // The same survey id, conversation and recipient under another tenant are another survey.
    let globex_survey = globex.survey_with_id(id.clone(), &survey_config(12, 0), t0 + MINUTE);
    store.create(&globex_survey, None).await.unwrap();
    assert_eq!(store.get(&acme.tenant, &id).await.unwrap(), Some(acme_survey.clone()));
    assert_eq!(store.get(&globex.tenant, &id).await.unwrap(), Some(globex_survey.clone()));
    let latest = store.latest_for_conversation(&acme.tenant, &acme.conversation).await.unwrap();
    assert_eq!(latest, Some(acme_survey.clone()));
    let latest = store.latest_for_recipient(&globex.tenant, &globex.channel, &globex.recipient).await.unwrap();
    assert_eq!(latest, Some(globex_survey.clone()));

    // Rating one leaves the other alone.
    store::apply(&*store, &globex.tenant, &id, Event::Rate(score(3)), t0 + 2 * MINUTE).await.unwrap();
    assert_eq!(stored(&store, &acme_survey).await, acme_survey);
    assert_eq!(stored(&store, &globex_survey).await.score(), Some(score(3)));

    let due = all_due(&store).await;
    assert_eq!(due, vec![due_entry(&acme_survey, t0 + 72 * HOUR)], "the rated survey has no change window");
}

/// Ids may contain `:`, which must not let one tenant's keys reach another's.
async fn ids_with_colons_stay_in_their_tenant(store: Store) {
    let t0 = now();
    let config = survey_config(72, 24);
    let first = Fixture::new("a", "x:c:y", "x:r:y");
    let second = Fixture::new("a:c:x", "y", "y");
    let survey = first.survey(&config, t0);
    store.create(&survey, None).await.unwrap();

    assert_eq!(store.latest_for_conversation(&second.tenant, &second.conversation).await.unwrap(), None);
    let other = second.survey(&config, t0);
    store.create(&other, None).await.expect("another tenant's conversation");
    assert_eq!(store.latest_for_conversation(&first.tenant, &first.conversation).await.unwrap(), Some(survey));
    assert_eq!(store.latest_for_conversation(&second.tenant, &second.conversation).await.unwrap(), Some(other));
}

async fn create_checks_the_conversation_and_the_id(store: Store) {
    let t0 = now();
    let config = survey_config(1, 24);
    let fixture = Fixture::new("acme", "conv-1", "+15550001");
    let first = fixture.survey(&config, t0);
    store.create(&first, None).await.unwrap();

    // A second survey for the conversation must name the first as the one it follows.
    let second = fixture.survey(&config, t0 + 2 * HOUR);
    let refused = store.create(&second, None).await;
    assert!(
        matches!(refused, Err(StoreError::ConversationChanged(ref c)) if *c == fixture.conversation),
        "{refused:?}"
    );
    let refused = store.create(&second, Some(&SurveyId::generate())).await;
    assert!(matches!(refused, Err(StoreError::ConversationChanged(_))), "{refused:?}");
    // A refused survey leaves no trace.
    assert_eq!(store.get(&fixture.tenant, &second.id).await.unwrap(), None);
    let latest = store.latest_for_conversation(&fixture.tenant, &fixture.conversation).await.unwrap();
    assert_eq!(latest.map(|s| s.id), Some(first.id.clone()));
    let latest = store.latest_for_recipient(&fixture.tenant, &fixture.channel, &fixture.recipient).await.unwrap();
    assert_eq!(latest.map(|s| s.id), Some(first.id.clone()));
    assert_eq!(all_due(&store).await, vec![due_entry(&first, t0 + HOUR)]);

    // An id can't be created twice, whatever the conversation, and the first survey stays as it was.
    let refused = store.create(&first, Some(&first.id)).await;
    assert!(matches!(refused, Err(StoreError::AlreadyExists(ref id)) if *id == first.id), "{refused:?}");
    let impostor =
        Fixture::new("acme", "conv-9", "+15550009").survey_with_id(first.id.clone(), &survey_config(5, 0), t0);
    let refused = store.create(&impostor, None).await;
    assert!(matches!(refused, Err(StoreError::AlreadyExists(_))), "{refused:?}");
    assert_eq!(stored(&store, &first).await, first);
    assert_eq!(store.latest_for_conversation(&fixture.tenant, &impostor.invitation.conversation).await.unwrap(), None);
    assert_eq!(all_due(&store).await, vec![due_entry(&first, t0 + HOUR)]);

    // Named right, the second survey becomes the conversation's and the recipient's latest.
    store.create(&second, Some(&first.id)).await.unwrap();
    let latest = store.latest_for_conversation(&fixture.tenant, &fixture.conversation).await.unwrap();
    assert_eq!(latest, Some(second.clone()));
    let latest = store.latest_for_recipient(&fixture.tenant, &fixture.channel, &fixture.recipient).await.unwrap();
    assert_eq!(latest, Some(second.clone()));
    assert_eq!(stored(&store, &first).await, first);
    let refused = store.create(&fixture.survey(&config, t0 + 4 * HOUR), Some(&first.id)).await;
    assert!(matches!(refused, Err(StoreError::ConversationChanged(_))), "{refused:?}");
}

async fn save_refuses_a_stale_revision(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();

    let refused = store.save(&survey).await;
    assert!(matches!(refused, Err(StoreError::Conflict(ref id)) if *id == survey.id), "{refused:?}");
    let rated = survey.apply(Event::Rate(score(9)), t0 + MINUTE).unwrap().survey;
    let reminded = survey.apply(Event::Remind, t0 + MINUTE).unwrap().survey;
    assert_eq!((rated.revision, reminded.revision), (1, 1));
    store.save(&rated).await.unwrap();
    // Another writer read the same revision: its write would lose the rating.
    let refused = store.save(&reminded).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let refused = store.save(&rated).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let mut ahead = rated.clone();
    ahead.revision = 5;
    assert!(matches!(store.save(&ahead).await, Err(StoreError::Conflict(_))));
    assert_eq!(stored(&store, &survey).await, rated);
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, t0 + MINUTE + 24 * HOUR)]);

    // A survey that was never created can't be saved.
    let mut unknown = Fixture::new("acme", "conv-2", "+15550002").survey(&survey_config(72, 24), t0);
    unknown.revision = 1;
    assert!(matches!(store.save(&unknown).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.get(&unknown.invitation.tenant, &unknown.id).await.unwrap(), None);
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, t0 + MINUTE + 24 * HOUR)]);
}

async fn apply_rates_a_pending_survey(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();

    let transition =
        store::apply(&*store, &survey.invitation.tenant, &survey.id, Event::Rate(score(9)), t0 + MINUTE).await.unwrap();
    assert!(transition.changed);
    assert!(notified(&transition, Notice::Rated), "{:?}", transition.effects);
    let rated = stored(&store, &survey).await;
    assert_eq!(rated, transition.survey);
    assert_eq!(rated.score(), Some(score(9)));
    assert_eq!(rated.revision, survey.revision + 1);
    assert_eq!(rated.ratings.len(), 1);
    assert_eq!(rated.state.name(), StateName::Rated);

    // The same score again is accepted and writes nothing.
    let again =
        store::apply(&*store, &survey.invitation.tenant, &survey.id, Event::Rate(score(9)), t0 + MINUTE).await.unwrap();
    assert!(!again.changed);
    assert_eq!(stored(&store, &survey).await.revision, 1);

    let missing = SurveyId::generate();
    let refused = store::apply(&*store, &survey.invitation.tenant, &missing, Event::Rate(score(9)), t0).await;
    assert!(matches!(refused, Err(ApplyError::NotFound(ref id)) if *id == missing), "{refused:?}");
}

const RACERS: u32 = 50;

/// Every racer rates the survey at once, racer `i` with score `i mod 11`.
async fn race_ratings(store: &Store, survey: &Survey, at: Timestamp) -> Vec<(Score, Result<Transition, ApplyError>)> {
    let start = Arc::new(tokio::sync::Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, start) = (store.clone(), start.clone());
            let (tenant, id) = (survey.invitation.tenant.clone(), survey.id.clone());
            tokio::spawn(async move {
                let score = score(i % 11);
                start.wait().await;
                (score, store::apply(&*store, &tenant, &id, Event::Rate(score), at).await)
            })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.expect("a racer panicked"));
    }
    results
}

async fn racing_ratings_without_a_change_window_rate_once(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 0), t0);
    store.create(&survey, None).await.unwrap();

    let results = race_ratings(&store, &survey, t0 + MINUTE).await;
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.as_ref().is_ok_and(|t| t.changed)).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let (winning_score, Ok(winner)) = winners[0] else { unreachable!() };
    assert!(notified(winner, Notice::Rated));
    let rated_notices = results.iter().filter(|(_, r)| r.as_ref().is_ok_and(|t| notified(t, Notice::Rated))).count();
    assert_eq!(rated_notices, 1);
    for (score, result) in &results {
        match result {
            Ok(transition) if transition.changed => {}
            Ok(_) => assert_eq!(score, winning_score, "only the same score is accepted without a change"),
            Err(ApplyError::Refused(Refusal::ChangeWindowClosed)) => {
                assert_ne!(score, winning_score)
            }
            Err(error) => panic!("a racer with {score} failed: {error:?}"),
        }
    }

    let stored = stored(&store, &survey).await;
    assert_eq!(stored.ratings.len(), 1);
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.score(), Some(*winning_score));
    assert!(matches!(stored.state, SurveyState::Locked { .. }), "{:?}", stored.state);
    assert_eq!(all_due(&store).await, vec![], "a locked survey is never due");
}

async fn racing_ratings_inside_the_change_window_lose_no_update(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();

    let results = race_ratings(&store, &survey, t0 + MINUTE).await;
    let transitions: Vec<&Transition> = results
        .iter()
        .map(|(score, result)| result.as_ref().unwrap_or_else(|e| panic!("a racer with {score} failed: {e:?}")))
        .collect();
    let rated = transitions.iter().filter(|t| notified(t, Notice::Rated)).count();
    let changed = transitions.iter().filter(|t| notified(t, Notice::Changed)).count();
    let writes: BTreeSet<u64> = transitions.iter().filter(|t| t.changed).map(|t| t.survey.revision).collect();
    assert_eq!(rated, 1);
    assert_eq!(transitions.iter().filter(|t| t.changed).count(), 1 + changed);
    // Each write built on the one before: one revision each, none lost.
    assert_eq!(writes, (1..=1 + changed as u64).collect());

    let stored = stored(&store, &survey).await;
    assert_eq!(stored.ratings.len(), 1 + changed);
    assert_eq!(stored.revision, 1 + changed as u64);
    assert_eq!(stored.score(), stored.ratings.last().map(|r| r.score));
    let last = transitions.iter().find(|t| t.changed && t.survey.revision == stored.revision).unwrap();
    assert_eq!(stored, last.survey);
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, t0 + MINUTE + 24 * HOUR)]);
}

async fn pending_surveys_fall_due_at_their_deadline(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(1, 24), t0);
    store.create(&survey, None).await.unwrap();
    let (tenant, id) = (&survey.invitation.tenant, &survey.id);

    assert_eq!(store.due(t0 + 30 * MINUTE, 10).await.unwrap(), vec![]);
    assert_eq!(store.due(t0 + HOUR - SignedDuration::from_secs(1), 10).await.unwrap(), vec![]);
    assert_eq!(store.due(t0 + HOUR, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);
    assert_eq!(store.due(t0 + 2 * HOUR, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

    let early = store::apply(&*store, tenant, id, Event::Expire, t0 + 30 * MINUTE).await;
    assert!(matches!(early, Err(ApplyError::Refused(Refusal::NotDue))), "{early:?}");
    let expired = store::apply(&*store, tenant, id, Event::Expire, t0 + 2 * HOUR).await.unwrap();
    assert!(expired.changed);
    assert!(notified(&expired, Notice::Expired), "{:?}", expired.effects);
    assert_eq!(stored(&store, &survey).await.state, SurveyState::Expired { at: t0 + HOUR });
    assert_eq!(store.due(t0 + 2 * HOUR, 10).await.unwrap(), vec![]);
    assert_eq!(all_due(&store).await, vec![]);

    // The sweeper running twice changes nothing.
    let again = store::apply(&*store, tenant, id, Event::Expire, t0 + 3 * HOUR).await.unwrap();
    assert!(!again.changed);
}

async fn rated_surveys_fall_due_when_their_change_window_ends(store: Store) {
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();
    let (tenant, id) = (&survey.invitation.tenant, &survey.id);

    let t1 = t0 + 10 * MINUTE;
    store::apply(&*store, tenant, id, Event::Rate(score(7)), t1).await.unwrap();
    let window_end = t1 + 24 * HOUR;
    assert_eq!(store.due(window_end - MINUTE, 10).await.unwrap(), vec![]);
    assert_eq!(store.due(window_end, 10).await.unwrap(), vec![due_entry(&survey, window_end)]);
    // No longer due at the invitation's deadline.
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, window_end)]);

    let early = store::apply(&*store, tenant, id, Event::CloseChangeWindow, window_end - MINUTE).await;
    assert!(matches!(early, Err(ApplyError::Refused(Refusal::NotDue))), "{early:?}");
    let locked = store::apply(&*store, tenant, id, Event::CloseChangeWindow, window_end).await.unwrap();
    assert!(locked.changed);
    let stored = stored(&store, &survey).await;
    assert_eq!(stored.state.name(), StateName::Locked);
    assert_eq!(stored.score(), Some(score(7)));
    assert_eq!(all_due(&store).await, vec![]);
}

async fn due_lists_the_soonest_first_up_to_the_limit(store: Store) {
    let t0 = now();
    let mut surveys = Vec::new();
    for (n, validity) in [3, 1, 2].into_iter().enumerate() {
        let fixture = Fixture::new("acme", &format!("conv-{n}"), &format!("+1555000{n}"));
        let survey = fixture.survey(&survey_config(validity, 24), t0);
        store.create(&survey, None).await.unwrap();
        surveys.push(survey);
    }
    let [in_3h, in_1h, in_2h] = [&surveys[0], &surveys[1], &surveys[2]];
    let expected = vec![due_entry(in_1h, t0 + HOUR), due_entry(in_2h, t0 + 2 * HOUR), due_entry(in_3h, t0 + 3 * HOUR)];
    assert_eq!(store.due(t0 + 4 * HOUR, 10).await.unwrap(), expected);
    assert_eq!(store.due(t0 + 4 * HOUR, 2).await.unwrap(), expected[..2]);
    assert_eq!(store.due(t0 + 2 * HOUR, 10).await.unwrap(), expected[..2]);
    assert_eq!(store.due(t0 + 4 * HOUR, 0).await.unwrap(), vec![]);
    assert_eq!(store.due(t0, 10).await.unwrap(), vec![]);
}

async fn forget_due_removes_an_entry(store: Store) {
    let t0 = now();
    let first = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(1, 24), t0);
    let second = Fixture::new("acme", "conv-2", "+15550002").survey(&survey_config(2, 24), t0);
    store.create(&first, None).await.unwrap();
    store.create(&second, None).await.unwrap();

    store.forget_due(&first.invitation.tenant, &first.id).await.unwrap();
    assert_eq!(all_due(&store).await, vec![due_entry(&second, t0 + 2 * HOUR)]);
    // Forgetting is idempotent, and scoped to the tenant.
    store.forget_due(&first.invitation.tenant, &first.id).await.unwrap();
    store.forget_due(&"globex".parse().unwrap(), &second.id).await.unwrap();
    store.forget_due(&first.invitation.tenant, &SurveyId::generate()).await.unwrap();
    assert_eq!(all_due(&store).await, vec![due_entry(&second, t0 + 2 * HOUR)]);
    // The record itself stays.
    assert_eq!(stored(&store, &first).await, first);
}

/// Writers racing on one survey leave its due entry matching whatever was stored last, even
/// when a loser's event no longer applies and it never writes again.
async fn the_due_index_follows_racing_writers(store: Store) {
    let t0 = now();
    let config = survey_config(72, 24);
    for round in 0..20 {
        let fixture = Fixture::new("acme", &format!("conv-{round}"), &format!("+1555{round:04}"));
        let survey = fixture.survey(&config, t0);
        store.create(&survey, None).await.unwrap();
        let events = [
            Event::Remind,
            Event::Unreadable,
            Event::Rate(score(3)),
            Event::Sent,
            Event::Remind,
            Event::Rate(score(8)),
            Event::Unreadable,
            Event::Sent,
        ];
        let start = Arc::new(tokio::sync::Barrier::new(events.len()));
        let writers: Vec<_> = events
            .into_iter()
            .map(|event| {
                let (store, start) = (store.clone(), start.clone());
                let (tenant, id) = (survey.invitation.tenant.clone(), survey.id.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    match store::apply(&*store, &tenant, &id, event, t0 + MINUTE).await {
                        Ok(_) | Err(ApplyError::Refused(_)) => {}
                        Err(error) => panic!("{error:?}"),
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let last = stored(&store, &survey).await;
        let entry = all_due(&store).await.into_iter().find(|d| d.id == survey.id);
        assert_eq!(entry.map(|d| d.due), last.next_due(), "round {round}: {:?}", last.state);
    }
}

// The Redis store's own tests.

async fn redis_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn query<T: redis::FromRedisValue>(connection: &mut redis::aio::MultiplexedConnection, cmd: &redis::Cmd) -> T {
    cmd.query_async(connection).await.unwrap()
}

async fn keys(connection: &mut redis::aio::MultiplexedConnection) -> BTreeSet<String> {
    query(connection, redis::cmd("KEYS").arg("*")).await
}

async fn pttl(connection: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    query(connection, redis::cmd("PTTL").arg(key)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_keys_are_tenant_scoped_and_hash_tagged() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let t0 = now();
    let fixture = Fixture::new("acme", "zendesk:42", "+15550001");
    let survey = fixture.survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();

    let mut redis = redis_connection(&server).await;
    let record = format!("rw:t:acme:{{s:{}}}", survey.id);
    let expected: BTreeSet<String> = [
        record.clone(),
        "rw:t:acme:c/zendesk:42".to_owned(),
        "rw:t:acme:r/whatsapp-main/+15550001".to_owned(),
        "rw:due".to_owned(),
        "rw:t:acme:surveys".to_owned(),
    ]
    .into();
    assert_eq!(keys(&mut redis).await, expected);
    let created_ms: i64 =
        query(&mut redis, redis::cmd("ZSCORE").arg("rw:t:acme:surveys").arg(survey.id.as_str())).await;
    assert_eq!(created_ms, t0.as_millisecond());
    assert!(record.contains(&format!("{{s:{}}}", survey.id)));

    let fields: std::collections::HashMap<String, String> = query(&mut redis, redis::cmd("HGETALL").arg(&record)).await;
    assert_eq!(fields.get("rev").map(String::as_str), Some("0"));
    let json: Survey = serde_json::from_str(&fields["json"]).unwrap();
    assert_eq!(json, survey);
    let pointer: String = query(&mut redis, redis::cmd("GET").arg("rw:t:acme:c/zendesk:42")).await;
    assert_eq!(pointer, survey.id.as_str());
    let member = format!("acme/{}", survey.id);
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(due_ms, (t0 + 72 * HOUR).as_millisecond());

    store::apply(&store, &fixture.tenant, &survey.id, Event::Rate(score(5)), t0 + MINUTE).await.unwrap();
    let revision: String = query(&mut redis, redis::cmd("HGET").arg(&record).arg("rev")).await;
    assert_eq!(revision, "1");
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(due_ms, (t0 + MINUTE + 24 * HOUR).as_millisecond());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_records_and_pointers_expire() {
    let server = RedisServer::start();
    let options = RedisStoreOptions::default();
    let (retention, grace) = (options.retention, options.late_reply_grace);
    let store = connect(&server, options).await;
    let t0 = now();
    let fixture = Fixture::new("acme", "conv-1", "+15550001");
    let survey = fixture.survey(&survey_config(1, 24), t0);
    store.create(&survey, None).await.unwrap();

    let mut redis = redis_connection(&server).await;
    let record = format!("rw:t:acme:{{s:{}}}", survey.id);
    let conversation = "rw:t:acme:c/conv-1";
    let recipient = "rw:t:acme:r/whatsapp-main/+15550001";
    let close_to = |ttl: i64, expected: SignedDuration| {
        let expected = expected.as_millis() as i64;
        ttl > 0 && (ttl - expected).abs() < 10_000
    };
    let ttl = pttl(&mut redis, &record).await;
    assert!(close_to(ttl, retention), "record: {ttl} ms");
    let ttl = pttl(&mut redis, conversation).await;
    assert!(close_to(ttl, retention), "conversation pointer: {ttl} ms");
    let ttl = pttl(&mut redis, recipient).await;
    assert!(close_to(ttl, HOUR + grace), "recipient pointer: {ttl} ms");

    // Rated, the recipient's replies matter until the end of the comment window.
    store::apply(&store, &fixture.tenant, &survey.id, Event::Rate(score(9)), t0).await.unwrap();
    let ttl = pttl(&mut redis, recipient).await;
    assert!(close_to(ttl, 24 * HOUR + grace), "recipient pointer once rated: {ttl} ms");
    let ttl = pttl(&mut redis, &record).await;
    assert!(close_to(ttl, retention), "record after a save: {ttl} ms");

    // A newer survey for the recipient takes the pointer. Its comment window ends before its
    // deadline: the pointer keeps the later of the two.
    let newer = Fixture::new("acme", "conv-2", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&newer, None).await.unwrap();
    let ttl = pttl(&mut redis, recipient).await;
    assert!(close_to(ttl, 72 * HOUR + grace), "recipient pointer of the newer survey: {ttl} ms");
    store::apply(&store, &fixture.tenant, &newer.id, Event::Rate(score(6)), t0).await.unwrap();
    let ttl = pttl(&mut redis, recipient).await;
    assert!(close_to(ttl, 72 * HOUR + grace), "recipient pointer of the newer survey, rated: {ttl} ms");

    // The older survey's saves leave the newer one's pointer alone.
    let an_hour = HOUR.as_millis() as i64;
    let _: () = query(&mut redis, redis::cmd("PEXPIRE").arg(recipient).arg(an_hour)).await;
    let _: () = query(&mut redis, redis::cmd("PEXPIRE").arg(conversation).arg(an_hour)).await;
    store::apply(&store, &fixture.tenant, &survey.id, Event::Rate(score(2)), t0 + MINUTE).await.unwrap();
    let ttl = pttl(&mut redis, recipient).await;
    assert!(close_to(ttl, HOUR), "recipient pointer after the older survey's save: {ttl} ms");
    // Its conversation pointer lives on with its record.
    let ttl = pttl(&mut redis, conversation).await;
    assert!(close_to(ttl, retention), "conversation pointer after a save: {ttl} ms");
    let latest = store.latest_for_recipient(&fixture.tenant, &fixture.channel, &fixture.recipient).await.unwrap();
    assert_eq!(latest.map(|s| s.id), Some(newer.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_options_name_and_keep_the_keys() {
    let server = RedisServer::start();
    let options = RedisStoreOptions {
        prefix: "staging".to_owned(),
        retention: SignedDuration::from_hours(24),
        late_reply_grace: SignedDuration::ZERO,
    };
    let store = connect(&server, options).await;
    // Old timestamps: the recipient pointer still lives as long as the grace from now.
    let t0 = Timestamp::from_second(1_700_000_000).unwrap();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(1, 24), t0);
    store.create(&survey, None).await.unwrap();

    let mut redis = redis_connection(&server).await;
    let record = format!("staging:t:acme:{{s:{}}}", survey.id);
    let found = keys(&mut redis).await;
    assert!(found.contains(&record), "{found:?}");
    assert!(found.contains("staging:due"), "{found:?}");
    assert!(found.iter().all(|key| key.starts_with("staging:")), "{found:?}");
    let ttl = pttl(&mut redis, &record).await;
    assert!(ttl > 0 && ttl <= 24 * 3_600_000, "{ttl}");
    assert_eq!(store.due(t0 + 2 * HOUR, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

    let invalid = RedisStoreOptions { retention: SignedDuration::ZERO, ..RedisStoreOptions::default() };
    assert!(matches!(RedisStore::connect(&server.url(), invalid).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_reports_corrupt_records_and_skips_unreadable_due_entries() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let t0 = now();
    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(1, 24), t0);
    store.create(&survey, None).await.unwrap();

    let mut redis = redis_connection(&server).await;
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:due").arg(0).arg("not-a-member")).await;
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:due").arg(0).arg("bad tenant/x")).await;
    assert_eq!(store.due(t0 + 2 * HOUR, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

    let record = format!("rw:t:acme:{{s:{}}}", survey.id);
    let _: () = query(&mut redis, redis::cmd("HSET").arg(&record).arg("json").arg("{\"not\": \"a survey\"}")).await;
    match store.get(&survey.invitation.tenant, &survey.id).await {
        Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, record),
        other => panic!("{other:?}"),
    }
    // A record holding another survey is corrupt too.
    let other = Fixture::new("acme", "conv-2", "+15550002").survey(&survey_config(1, 24), t0);
    let json = serde_json::to_string(&other).unwrap();
    let _: () = query(&mut redis, redis::cmd("HSET").arg(&record).arg("json").arg(json)).await;
    assert!(matches!(store.get(&survey.invitation.tenant, &survey.id).await, Err(StoreError::Corrupt { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_lost_connections_are_unavailable_until_redis_is_back() {
    const LIMIT: Duration = Duration::from_secs(10);
    let mut server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let t0 = now();
    let fixture = Fixture::new("acme", "conv-1", "+15550001");
    let survey = fixture.survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();
    assert!(store.get(&fixture.tenant, &survey.id).await.unwrap().is_some());

    server.stop();
    let lost = tokio::time::timeout(LIMIT, store.get(&fixture.tenant, &survey.id)).await.expect("no answer in 10 s");
    assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");
    let later = fixture.survey(&survey_config(72, 24), t0);
    let lost = tokio::time::timeout(LIMIT, store.create(&later, None)).await.expect("no answer in 10 s");
    assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");
    let lost = tokio::time::timeout(LIMIT, store.due(t0, 10)).await.expect("no answer in 10 s");
    assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");

    // The restarted server kept nothing, and has none of the store's scripts loaded.
    server.restart();
    let started = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(LIMIT, store.get(&fixture.tenant, &survey.id)).await {
            Ok(Ok(found)) => {
                assert_eq!(found, None);
                break;
            }
            Ok(Err(StoreError::Unavailable(_))) | Err(_) => {}
            Ok(Err(error)) => panic!("{error:?}"),
        }
        assert!(started.elapsed() < LIMIT, "the store did not reconnect within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.create(&later, None).await.unwrap();
    store::apply(&store, &fixture.tenant, &later.id, Event::Rate(score(4)), t0 + MINUTE).await.unwrap();
    assert_eq!(store.get(&fixture.tenant, &later.id).await.unwrap().and_then(|s| s.score()), Some(score(4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_without_a_server_is_unavailable() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let connected =
        tokio::time::timeout(Duration::from_secs(10), RedisStore::connect(&url, RedisStoreOptions::default()))
            .await
            .expect("no answer in 10 s");
    assert!(matches!(connected, Err(StoreError::Unavailable(_))), "{connected:?}");
    let connected = RedisStore::connect("not a url", RedisStoreOptions::default()).await;
    assert!(matches!(connected, Err(StoreError::Unavailable(_))), "{connected:?}");
}

async fn the_sweeper_expires_and_locks_what_is_due(store: Store) {
    let t0 = now();
    let config = survey_config(1, 2);
    let waiting = Fixture::new("acme", "conv-1", "+15550001").survey(&config, t0);
    let answered = Fixture::new("acme", "conv-2", "+15550002").survey(&config, t0);
    let commented = Fixture::new("beta", "conv-3", "+15550003").survey(&config, t0);
    for survey in [&waiting, &answered, &commented] {
        store.create(survey, None).await.unwrap();
    }
    store::apply(&*store, &answered.invitation.tenant, &answered.id, Event::Rate(score(4)), t0 + MINUTE).await.unwrap();
    store::apply(&*store, &commented.invitation.tenant, &commented.id, Event::Rate(score(2)), t0 + MINUTE)
        .await
        .unwrap();
    store::apply(&*store, &commented.invitation.tenant, &commented.id, Event::Comment("slow".into()), t0 + 2 * MINUTE)
        .await
        .unwrap();

    assert_eq!(store::sweep(&*store, t0 + 30 * MINUTE, 10).await.unwrap(), vec![]);

    let swept = store::sweep(&*store, t0 + 3 * HOUR, 10).await.unwrap();
    let mut states: Vec<(SurveyId, StateName)> =
        swept.iter().map(|t| (t.survey.id.clone(), t.survey.state.name())).collect();
    states.sort();
    let mut expected = vec![(waiting.id.clone(), StateName::Expired), (answered.id.clone(), StateName::Locked)];
    expected.sort();
    assert_eq!(states, expected);
    let expiry = swept.iter().find(|t| t.survey.id == waiting.id).unwrap();
    assert_eq!(expiry.effects, [Effect::Notify(Notice::Expired)]);
    assert_eq!(all_due(&store).await, vec![]);
    assert_eq!(store::sweep(&*store, t0 + 4 * HOUR, 10).await.unwrap(), vec![]);
}
