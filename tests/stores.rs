//! The store suite: every store passes the same tests (the in-memory store defines the
//! semantics), and the Redis store some of its own (key layout, expiry, lost connections).
//!
//! The Redis tests start a real `redis-server` each (see `ratewire_tests::RedisServer`).

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::slice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ratewire_core::store::{
    self, Along, Answering, ApplyError, BUCKETS, Buckets, DueSurvey, Handled, MemoryStore, Outbox, OutboxItem,
    RecordKind, RecordStore, RedisStore, RedisStoreOptions, RedisTarget, SendLane, SendSlots, SentinelTarget, Sighting,
    StoreError, SurveyStore, Task, Versioned, WorkerId, send_interval,
};
use ratewire_core::{
    ChannelId, Effect, Event, Notice, RecipientId, Refusal, Scale, Score, StateName, Survey, SurveyId, SurveyState,
    TenantId, Transition,
};
use ratewire_gateway::cli::serve;
use ratewire_gateway::cli::settings::{SentinelSettings, Settings};
use ratewire_gateway::http::StoreKind;
use ratewire_tests::redis_setups::{GROUP_PASSWORD, MASTER_NAME, RedisCluster, SentinelGroup, TlsRedisServer};
use ratewire_tests::{Fixture, RedisServer, now, survey_config, survey_fixture};

type Store = Arc<dyn store::Store>;

const MINUTE: SignedDuration = SignedDuration::from_mins(1);
const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// Lists the suite's cases once: each runs against the memory store and against a Redis store
/// with a server of its own (see `on_both_stores!`), and [`SUITE`] names them all for the runs
/// that share one server (TLS, Sentinel).
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        ratewire_tests::on_both_stores!(
            memory_store => Arc::new(MemoryStore::new()),
            redis_store(server) => Arc::new(connect(&server, RedisStoreOptions::default()).await);
            $($case),*
        );

        /// Every case of the suite, with its name.
        const SUITE: &[(&str, Case)] = &[$((stringify!($case), |store| Box::pin($case(store)))),*];
    };
}

type Case = fn(Store) -> Pin<Box<dyn Future<Output = ()> + Send>>;

store_suite!(
    created_surveys_read_back,
    tenants_do_not_see_each_other,
    ids_with_colons_stay_in_their_tenant,
    create_checks_the_conversation_and_the_id,
    save_refuses_a_stale_revision,
    a_save_writes_what_goes_along_or_nothing,
    apply_rates_a_pending_survey,
    racing_ratings_without_a_change_window_rate_once,
    racing_ratings_inside_the_change_window_lose_no_update,
    pending_surveys_fall_due_at_their_deadline,
    rated_surveys_fall_due_when_their_change_window_ends,
    due_lists_the_soonest_first_up_to_the_limit,
    forget_due_removes_an_entry,
    the_due_index_follows_racing_writers,
    the_sweeper_expires_and_locks_what_is_due,
    a_sighting_is_claimed_then_handled_and_a_claim_runs_out,
    a_message_from_someone_with_no_survey_is_settled_by_its_claim,
    the_latest_time_an_end_user_wrote_is_kept,
    list_returns_a_tenants_surveys_by_creation_time,
    list_orders_within_a_millisecond_by_creation_time,
    records_are_written_by_compare_and_set,
    racing_record_writers_one_wins,
    records_list_by_id_per_tenant_and_kind,
    deleted_records_leave_no_entry_behind,
    records_changed_through_the_store_read_back_at_once,
    outbox_enqueue_keeps_the_first_item,
    outbox_claims_due_items_and_hides_them_until_the_lease_ends,
    outbox_reschedule_moves_an_item_and_complete_removes_it,
    outbox_pending_items_are_per_tenant_soonest_first,
    racing_claimers_never_take_the_same_item,
    claims_and_sweeps_read_only_the_buckets_asked,
    the_workers_alive_share_the_buckets_and_take_over_a_dead_ones,
    a_channels_send_slots_are_spaced_by_its_rate_for_every_caller,
    tallies_add_up_by_day_and_tenant,
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
    store.due(Timestamp::MAX, Buckets::ALL, 1000).await.expect("the store answers")
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

    let refused = store.save(&survey, &survey, &Along::default()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(ref id)) if *id == survey.id), "{refused:?}");
    let rated = survey.apply(Event::Rate(score(9)), t0 + MINUTE).unwrap().survey;
    let reminded = survey.apply(Event::Remind, t0 + MINUTE).unwrap().survey;
    assert_eq!((rated.revision, reminded.revision), (1, 1));
    store.save(&survey, &rated, &Along::default()).await.unwrap();
    // Another writer read the same revision: its write would lose the rating.
    let refused = store.save(&survey, &reminded, &Along::default()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let refused = store.save(&survey, &rated, &Along::default()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let mut behind = rated.clone();
    behind.revision = 0;
    assert!(matches!(store.save(&rated, &behind, &Along::default()).await, Err(StoreError::Conflict(_))));
    assert_eq!(stored(&store, &survey).await, rated);
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, t0 + MINUTE + 24 * HOUR)]);

    // A survey that was never created can't be saved.
    let never_created = Fixture::new("acme", "conv-2", "+15550002").survey(&survey_config(72, 24), t0);
    let mut unknown = never_created.clone();
    unknown.revision = 1;
    assert!(matches!(store.save(&never_created, &unknown, &Along::default()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.get(&unknown.invitation.tenant, &unknown.id).await.unwrap(), None);
    assert_eq!(all_due(&store).await, vec![due_entry(&survey, t0 + MINUTE + 24 * HOUR)]);
}

async fn a_save_writes_what_goes_along_or_nothing(store: Store) {
    let t0 = now();
    let survey = Fixture::new("alongco", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    let tenant = survey.invitation.tenant.clone();
    store.create(&survey, None).await.unwrap();
    // Keyed as a platform's message from the survey's end user: on a cluster, in its slot.
    let (channel, from) = (&survey.invitation.channel, &survey.invitation.recipient);
    let message_key = |message: &str| store.message_key(&tenant, channel, from, message);
    let along = |item: &str, message: &str| Along {
        items: vec![
            outbox_item("alongco", &format!("{item}-event"), t0),
            outbox_item("alongco", &format!("{item}-reply"), t0),
        ],
        handled: Some(Handled { key: message_key(message), until: t0 + HOUR }),
    };

    // Two transitions of one message, written at once with their items and the message's mark.
    let rated = survey.apply(Event::Rate(score(9)), t0 + MINUTE).unwrap().survey;
    let commented = rated.apply(Event::Comment("quick and kind".to_owned()), t0 + MINUTE).unwrap().survey;
    assert_eq!(commented.revision, 2);
    store.save(&survey, &commented, &along("first", "wamid.1")).await.unwrap();
    assert_eq!(stored(&store, &survey).await, commented);
    let pending = store.pending_items(&tenant, 10).await.unwrap();
    assert_eq!(ids_of(&pending), ["first-event", "first-reply"]);
    assert_eq!(store.claim(&message_key("wamid.1"), t0, MINUTE, None).await.unwrap(), Sighting::Handled);

    // A write refused writes none of what goes with it.
    let reminded = survey.apply(Event::Remind, t0 + MINUTE).unwrap().survey;
    let refused = store.save(&survey, &reminded, &along("second", "wamid.2")).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(stored(&store, &survey).await, commented);
    assert_eq!(ids_of(&store.pending_items(&tenant, 10).await.unwrap()), ["first-event", "first-reply"]);
    assert!(!store.remembers(&message_key("wamid.2"), t0).await.unwrap());

    // What goes along is claimed by the outbox as what was enqueued is.
    let mut claimed = store.claim_due(t0, t0 + HOUR, Buckets::ALL, 100).await.unwrap();
    claimed.retain(|item| item.tenant == tenant);
    assert_eq!(ids_of(&claimed), ["first-event", "first-reply"]);
    for item in &claimed {
        store.complete(item).await.unwrap();
    }
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

    assert_eq!(store.due(t0 + 30 * MINUTE, Buckets::ALL, 10).await.unwrap(), vec![]);
    assert_eq!(store.due(t0 + HOUR - SignedDuration::from_secs(1), Buckets::ALL, 10).await.unwrap(), vec![]);
    assert_eq!(store.due(t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

    let early = store::apply(&*store, tenant, id, Event::Expire, t0 + 30 * MINUTE).await;
    assert!(matches!(early, Err(ApplyError::Refused(Refusal::NotDue))), "{early:?}");
    let expired = store::apply(&*store, tenant, id, Event::Expire, t0 + 2 * HOUR).await.unwrap();
    assert!(expired.changed);
    assert!(notified(&expired, Notice::Expired), "{:?}", expired.effects);
    assert_eq!(stored(&store, &survey).await.state, SurveyState::Expired { at: t0 + HOUR });
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
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
    assert_eq!(store.due(window_end - MINUTE, Buckets::ALL, 10).await.unwrap(), vec![]);
    assert_eq!(store.due(window_end, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, window_end)]);
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
    assert_eq!(store.due(t0 + 4 * HOUR, Buckets::ALL, 10).await.unwrap(), expected);
    assert_eq!(store.due(t0 + 4 * HOUR, Buckets::ALL, 2).await.unwrap(), expected[..2]);
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), expected[..2]);
    assert_eq!(store.due(t0 + 4 * HOUR, Buckets::ALL, 0).await.unwrap(), vec![]);
    assert_eq!(store.due(t0, Buckets::ALL, 10).await.unwrap(), vec![]);
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
            Event::SENT,
            Event::Remind,
            Event::Rate(score(8)),
            Event::Unreadable,
            Event::SENT,
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

fn tenant(name: &str) -> TenantId {
    name.parse().expect("a valid tenant id")
}

async fn list(store: &Store, tenant: &TenantId, from: Timestamp, to: Timestamp, limit: usize) -> Vec<SurveyId> {
    let surveys = store.list(tenant, from, to, limit).await.expect("the store answers");
    assert!(surveys.iter().all(|s| s.invitation.tenant == *tenant), "{surveys:?}");
    surveys.into_iter().map(|s| s.id).collect()
}

async fn list_returns_a_tenants_surveys_by_creation_time(store: Store) {
    let t0 = now();
    let config = survey_config(72, 24);
    let acme = Fixture::new("acme", "conv-1", "+15550001");
    let mut created = Vec::new();
    // Created out of order, two of them at the same moment.
    for (n, minutes) in [3, 0, 5, 1, 3].into_iter().enumerate() {
        let fixture = Fixture::new("acme", &format!("conv-{n}"), &format!("+1555000{n}"));
        let survey = fixture.survey(&config, t0 + minutes * MINUTE);
        store.create(&survey, None).await.unwrap();
        created.push(survey);
    }
    let globex = Fixture::new("globex", "conv-1", "+15550001").survey(&config, t0 + MINUTE);
    store.create(&globex, None).await.unwrap();
    let mut by_time = created.clone();
    by_time.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let ids: Vec<SurveyId> = by_time.iter().map(|s| s.id.clone()).collect();

    let everything = store.list(&acme.tenant, t0, t0 + HOUR, 100).await.unwrap();
    assert_eq!(everything, by_time, "whole surveys, oldest first, ties by id");
    assert_eq!(list(&store, &acme.tenant, t0, t0 + HOUR, 2).await, ids[..2]);
    assert_eq!(list(&store, &acme.tenant, t0, t0 + HOUR, 3).await, ids[..3]);
    // From is included, to is not.
    assert_eq!(list(&store, &acme.tenant, t0 + MINUTE, t0 + 5 * MINUTE, 100).await, ids[1..4]);
    assert_eq!(
        list(&store, &acme.tenant, t0 + 3 * MINUTE, t0 + 3 * MINUTE + SignedDuration::from_nanos(1), 1).await,
        ids[2..3]
    );
    assert_eq!(list(&store, &acme.tenant, t0 + 6 * MINUTE, t0 + HOUR, 100).await, vec![]);
    assert_eq!(list(&store, &acme.tenant, t0 - HOUR, t0, 100).await, vec![]);
    assert_eq!(list(&store, &acme.tenant, t0, t0 + HOUR, 0).await, vec![]);
    assert_eq!(list(&store, &acme.tenant, t0 + HOUR, t0, 100).await, vec![]);

    // Each tenant sees its own.
    assert_eq!(list(&store, &globex.invitation.tenant, t0, t0 + HOUR, 100).await, vec![globex.id.clone()]);
    assert_eq!(list(&store, &tenant("initech"), t0, t0 + HOUR, 100).await, vec![]);

    // A refused survey is not listed; a changed one is listed as it is now.
    let refused = acme.survey(&config, t0 + 2 * MINUTE);
    assert!(store.create(&refused, None).await.is_err());
    store::apply(&*store, &acme.tenant, &ids[0], Event::Rate(score(8)), t0 + 10 * MINUTE).await.unwrap();
    let listed = store.list(&acme.tenant, t0, t0 + HOUR, 100).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(listed[0].score(), Some(score(8)));
}

/// Creation times finer than a millisecond still order the list, whatever the ids say.
async fn list_orders_within_a_millisecond_by_creation_time(store: Store) {
    let t0 = now();
    let config = survey_config(72, 24);
    let micros = SignedDuration::from_micros;
    let mut expected = Vec::new();
    for (n, (id, at)) in [("s-c", micros(100)), ("s-a", micros(700)), ("s-b", micros(400))].into_iter().enumerate() {
        let fixture = Fixture::new("acme", &format!("conv-{n}"), &format!("+1555000{n}"));
        let survey = fixture.survey_with_id(id.parse().unwrap(), &config, t0 + at);
        store.create(&survey, None).await.unwrap();
        expected.push(survey.id);
    }
    expected.sort_by_key(|id| ["s-c", "s-b", "s-a"].iter().position(|s| id.as_str() == *s));
    let acme = tenant("acme");
    for limit in 1..=3 {
        assert_eq!(list(&store, &acme, t0, t0 + MINUTE, limit).await, expected[..limit], "limit {limit}");
    }
    assert_eq!(list(&store, &acme, t0 + micros(400), t0 + micros(700), 10).await, expected[1..2]);
}

async fn records_are_written_by_compare_and_set(store: Store) {
    let acme = tenant("acme");
    let kind = RecordKind::Config;
    let conflict = |result: Result<u64, StoreError>| match result {
        Err(StoreError::RecordConflict { kind: k, id }) => assert_eq!((k, id.as_str()), (kind, "nps")),
        other => panic!("expected a conflict, got {other:?}"),
    };
    assert_eq!(store.get_record(&acme, kind, "nps").await.unwrap(), None);
    conflict(store.put_record(&acme, kind, "nps", Some(1), "{}").await);
    assert_eq!(store.get_record(&acme, kind, "nps").await.unwrap(), None, "a refused update creates nothing");

    assert_eq!(store.put_record(&acme, kind, "nps", None, r#"{"v":1}"#).await.unwrap(), 1);
    let first = Versioned { revision: 1, value: r#"{"v":1}"#.to_owned() };
    assert_eq!(store.get_record(&acme, kind, "nps").await.unwrap(), Some(first.clone()));
    // Created twice: the second creator didn't know of the first.
    conflict(store.put_record(&acme, kind, "nps", None, r#"{"v":"other"}"#).await);
    conflict(store.put_record(&acme, kind, "nps", Some(0), r#"{"v":"other"}"#).await);
    conflict(store.put_record(&acme, kind, "nps", Some(2), r#"{"v":"other"}"#).await);
    assert_eq!(store.get_record(&acme, kind, "nps").await.unwrap(), Some(first));

    assert_eq!(store.put_record(&acme, kind, "nps", Some(1), r#"{"v":2}"#).await.unwrap(), 2);
    assert_eq!(store.put_record(&acme, kind, "nps", Some(2), r#"{"v":3}"#).await.unwrap(), 3);
    // A writer that read revision 1 would lose two updates.
    conflict(store.put_record(&acme, kind, "nps", Some(1), r#"{"v":"stale"}"#).await);
    let stored = store.get_record(&acme, kind, "nps").await.unwrap();
    assert_eq!(stored, Some(Versioned { revision: 3, value: r#"{"v":3}"#.to_owned() }));

    // The typed helpers go through the same checks, under their type's kind.
    let value = AnyConfig(serde_json::json!({"v": 4}));
    assert_eq!(store::write(&*store, &acme, "nps", Some(3), &value).await.unwrap(), 4);
    let read = store::read::<AnyConfig>(&*store, &acme, "nps").await.unwrap();
    assert_eq!(read, Some(Versioned { revision: 4, value }));
    // The same id under another tenant or kind is another record.
    assert_eq!(store.get_record(&tenant("globex"), kind, "nps").await.unwrap(), None);
    assert_eq!(store.get_record(&acme, RecordKind::Channel, "nps").await.unwrap(), None);
}

/// A configuration record of any JSON, for the typed helpers.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct AnyConfig(serde_json::Value);

impl store::Record for AnyConfig {
    const KIND: RecordKind = RecordKind::Config;
}

/// A channel record of any JSON.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct AnyChannel(serde_json::Value);

impl store::Record for AnyChannel {
    const KIND: RecordKind = RecordKind::Channel;
}

async fn racing_record_writers_one_wins(store: Store) {
    const WRITERS: usize = 16;
    let acme = tenant("acme");
    for expected in [None, Some(1), Some(2)] {
        let start = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| {
                let (store, start, acme) = (store.clone(), start.clone(), acme.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let written = store.put_record(&acme, RecordKind::Endpoint, "hook", expected, &n.to_string()).await;
                    (n, written)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for writer in writers {
            match writer.await.unwrap() {
                (n, Ok(revision)) => winners.push((n, revision)),
                (_, Err(StoreError::RecordConflict { .. })) => {}
                (_, Err(error)) => panic!("{error:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "{expected:?}: {winners:?}");
        let (winner, revision) = winners[0];
        assert_eq!(revision, expected.unwrap_or(0) + 1);
        let stored = store.get_record(&acme, RecordKind::Endpoint, "hook").await.unwrap();
        assert_eq!(stored, Some(Versioned { revision, value: winner.to_string() }));
    }
}

async fn records_list_by_id_per_tenant_and_kind(store: Store) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let ids = ["b", "a", "c:1", "A", "a-2", "x.y@z+1", "a.b", "9"];
    for (n, id) in ids.iter().enumerate() {
        store.put_record(&acme, RecordKind::Channel, id, None, &format!("channel {n}")).await.unwrap();
    }
    store.put_record(&acme, RecordKind::Channel, "b", Some(1), "channel b, again").await.unwrap();
    store.put_record(&acme, RecordKind::Endpoint, "a", None, "endpoint a").await.unwrap();
    store.put_record(&globex, RecordKind::Channel, "a", None, "globex's a").await.unwrap();
    // A refused write adds nothing to the list.
    assert!(store.put_record(&acme, RecordKind::Channel, "zz", Some(1), "nothing").await.is_err());

    let mut expected: Vec<(String, Versioned)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (id.to_string(), Versioned { revision: 1, value: format!("channel {n}") }))
        .collect();
    expected[0].1 = Versioned { revision: 2, value: "channel b, again".to_owned() };
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(store.list_records(&acme, RecordKind::Channel).await.unwrap(), expected);
    let endpoints = store.list_records(&acme, RecordKind::Endpoint).await.unwrap();
    assert_eq!(endpoints, vec![("a".to_owned(), Versioned { revision: 1, value: "endpoint a".to_owned() })]);
    let theirs = store.list_records(&globex, RecordKind::Channel).await.unwrap();
    assert_eq!(theirs, vec![("a".to_owned(), Versioned { revision: 1, value: "globex's a".to_owned() })]);
    assert_eq!(store.list_records(&acme, RecordKind::Config).await.unwrap(), vec![]);
    assert_eq!(store.list_records(&tenant("initech"), RecordKind::Channel).await.unwrap(), vec![]);
    let as_json = store::read_all::<AnyChannel>(&*store, &acme).await;
    assert!(matches!(as_json, Err(StoreError::Corrupt { .. })), "the bodies are not JSON: {as_json:?}");

    // Deleting.
    assert!(store.delete_record(&acme, RecordKind::Channel, "b").await.unwrap());
    assert!(!store.delete_record(&acme, RecordKind::Channel, "b").await.unwrap());
    assert!(!store.delete_record(&acme, RecordKind::Channel, "never").await.unwrap());
    assert_eq!(store.get_record(&acme, RecordKind::Channel, "b").await.unwrap(), None);
    expected.retain(|(id, _)| id != "b");
    assert_eq!(store.list_records(&acme, RecordKind::Channel).await.unwrap(), expected);
    // Only that tenant's record of that kind.
    assert!(store.delete_record(&acme, RecordKind::Endpoint, "a").await.unwrap());
    assert_eq!(store.list_records(&acme, RecordKind::Endpoint).await.unwrap(), vec![]);
    assert_eq!(store.list_records(&globex, RecordKind::Channel).await.unwrap(), theirs);
    assert_eq!(store.list_records(&acme, RecordKind::Channel).await.unwrap(), expected);
    // A deleted id starts over.
    assert!(store.put_record(&acme, RecordKind::Channel, "b", Some(2), "stale").await.is_err());
    assert_eq!(store.put_record(&acme, RecordKind::Channel, "b", None, "new b").await.unwrap(), 1);
    let listed = store.list_records(&acme, RecordKind::Channel).await.unwrap();
    assert!(listed.contains(&("b".to_owned(), Versioned { revision: 1, value: "new b".to_owned() })));
}

/// The records a store keeps a copy of (a channel, a configuration, an endpoint) are read back
/// as changed through that store at once, not after the copy's life.
async fn records_changed_through_the_store_read_back_at_once(store: Store) {
    let acme = tenant("acme");
    for kind in [RecordKind::Channel, RecordKind::Config, RecordKind::Endpoint] {
        let versioned = |revision, value: &str| Versioned { revision, value: value.to_owned() };
        store.put_record(&acme, kind, "main", None, "one").await.unwrap();
        // Read twice: the second read is served from the copy, if the store keeps one.
        for _ in 0..2 {
            assert_eq!(store.get_record(&acme, kind, "main").await.unwrap(), Some(versioned(1, "one")), "{kind:?}");
            let listed = store.list_records(&acme, kind).await.unwrap();
            assert_eq!(listed, vec![("main".to_owned(), versioned(1, "one"))], "{kind:?}");
        }
        store.put_record(&acme, kind, "main", Some(1), "two").await.unwrap();
        assert_eq!(store.get_record(&acme, kind, "main").await.unwrap(), Some(versioned(2, "two")), "{kind:?}");
        let listed = store.list_records(&acme, kind).await.unwrap();
        assert_eq!(listed, vec![("main".to_owned(), versioned(2, "two"))], "{kind:?}");
        assert!(store.delete_record(&acme, kind, "main").await.unwrap());
        assert_eq!(store.get_record(&acme, kind, "main").await.unwrap(), None, "{kind:?}");
        assert_eq!(store.list_records(&acme, kind).await.unwrap(), vec![], "{kind:?}");
    }
}

/// A record deleted and created again at once is listed exactly when it exists.
async fn deleted_records_leave_no_entry_behind(store: Store) {
    let acme = tenant("acme");
    let kind = RecordKind::Conversation;
    for round in 0..30 {
        let id = format!("r{round}");
        store.put_record(&acme, kind, &id, None, "first").await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let deleter = {
            let (store, start, acme, id) = (store.clone(), start.clone(), acme.clone(), id.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.delete_record(&acme, kind, &id).await.unwrap()
            })
        };
        let creator = {
            let (store, start, acme, id) = (store.clone(), start.clone(), acme.clone(), id.clone());
            tokio::spawn(async move {
                start.wait().await;
                // Keeps trying until the delete lets it create the record again.
                for _ in 0..1000 {
                    match store.put_record(&acme, kind, &id, None, "second").await {
                        Ok(revision) => return revision,
                        Err(StoreError::RecordConflict { .. }) => tokio::task::yield_now().await,
                        Err(error) => panic!("{error:?}"),
                    }
                }
                panic!("the record was never deleted");
            })
        };
        assert!(deleter.await.unwrap());
        assert_eq!(creator.await.unwrap(), 1);
        let stored = store.get_record(&acme, kind, &id).await.unwrap();
        assert_eq!(stored, Some(Versioned { revision: 1, value: "second".to_owned() }));
        let listed = store.list_records(&acme, kind).await.unwrap();
        assert!(listed.iter().any(|(listed, _)| *listed == id), "round {round}: {listed:?}");
    }
}

fn outbox_item(tenant: &str, id: &str, due: Timestamp) -> OutboxItem {
    OutboxItem {
        id: id.to_owned(),
        tenant: self::tenant(tenant),
        task: Task::Webhook { endpoint: "hook-1".to_owned(), body: format!(r#"{{"delivery":"{id}"}}"#), survey: None },
        attempts: 0,
        due,
        last_error: None,
        attempt_started_at: None,
    }
}

fn ids_of(items: &[OutboxItem]) -> Vec<&str> {
    items.iter().map(|item| item.id.as_str()).collect()
}

async fn outbox_enqueue_keeps_the_first_item(store: Store) {
    let t0 = now();
    let item = outbox_item("acme", "d-1", t0);
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    let other = OutboxItem {
        task: Task::Webhook { endpoint: "hook-1".to_owned(), body: "something else".to_owned(), survey: None },
        due: t0 + HOUR,
        attempts: 3,
        ..item.clone()
    };
    // In one call with a new item: the new one is added, the one there kept.
    let second = outbox_item("acme", "d-2", t0 + MINUTE);
    store.enqueue(&[other, second.clone()]).await.unwrap();
    assert_eq!(store.pending_items(&item.tenant, 10).await.unwrap(), vec![item.clone(), second.clone()]);
    store.complete(&second).await.unwrap();

    // Not even once it was claimed: its lease stands.
    let lease = t0 + 5 * MINUTE;
    assert_eq!(store.claim_due(t0, lease, Buckets::ALL, 10).await.unwrap(), vec![item.clone()]);
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    assert_eq!(store.claim_due(t0 + MINUTE, t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
    assert_eq!(store.pending_items(&item.tenant, 10).await.unwrap(), vec![OutboxItem { due: lease, ..item }]);
}

async fn outbox_claims_due_items_and_hides_them_until_the_lease_ends(store: Store) {
    let t0 = now();
    let a = outbox_item("acme", "a", t0);
    let b = outbox_item("acme", "b", t0 + MINUTE);
    let c = outbox_item("acme", "c", t0 + HOUR);
    let d = outbox_item("globex", "d", t0 + 30 * SignedDuration::from_secs(1));
    for item in [&c, &a, &d, &b] {
        store.enqueue(slice::from_ref(item)).await.unwrap();
    }

    assert_eq!(store.claim_due(t0 - SignedDuration::from_secs(1), t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
    assert_eq!(store.claim_due(t0 + 2 * MINUTE, t0 + HOUR, Buckets::ALL, 0).await.unwrap(), vec![]);
    // Soonest first, up to the limit, as they were before the claim.
    let lease = t0 + 6 * MINUTE;
    assert_eq!(store.claim_due(t0 + 2 * MINUTE, lease, Buckets::ALL, 2).await.unwrap(), vec![a.clone(), d.clone()]);
    assert_eq!(store.claim_due(t0 + 2 * MINUTE, lease, Buckets::ALL, 10).await.unwrap(), vec![b.clone()]);
    // Taken, they are no one else's until the lease ends.
    assert_eq!(store.claim_due(t0 + 5 * MINUTE, t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
    let pending = store.pending_items(&a.tenant, 10).await.unwrap();
    let leased = |item: &OutboxItem| OutboxItem { due: lease, ..item.clone() };
    assert_eq!(pending, vec![leased(&a), leased(&b), c.clone()]);
    assert_eq!(store.pending_items(&d.tenant, 10).await.unwrap(), vec![leased(&d)]);

    // Neither completed nor rescheduled (their taker died): due again when the lease ends.
    let again = store.claim_due(lease, t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap();
    assert_eq!(again, vec![leased(&a), leased(&b), leased(&d)]);
    let later = store.claim_due(t0 + HOUR, t0 + 3 * HOUR, Buckets::ALL, 10).await.unwrap();
    assert_eq!(later, vec![c.clone()]);
    assert_eq!(store.claim_due(t0 + HOUR, t0 + 3 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
}

async fn outbox_reschedule_moves_an_item_and_complete_removes_it(store: Store) {
    let t0 = now();
    let item = outbox_item("acme", "d-1", t0);
    let other = outbox_item("acme", "d-2", t0 + MINUTE);
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    store.enqueue(slice::from_ref(&other)).await.unwrap();
    let [claimed] = store.claim_due(t0, t0 + MINUTE, Buckets::ALL, 1).await.unwrap().try_into().unwrap();
    assert_eq!(claimed, item);

    // The attempt failed: try again in ten minutes.
    let failed = OutboxItem {
        attempts: 1,
        due: t0 + 10 * MINUTE,
        last_error: Some("502 from the endpoint".to_owned()),
        ..claimed.clone()
    };
    store.reschedule(&failed).await.unwrap();
    assert_eq!(store.pending_items(&item.tenant, 10).await.unwrap(), vec![other.clone(), failed.clone()]);
    assert_eq!(store.claim_due(t0 + 5 * MINUTE, t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![other.clone()]);
    assert_eq!(
        store.claim_due(t0 + 10 * MINUTE, t0 + 11 * MINUTE, Buckets::ALL, 10).await.unwrap(),
        vec![failed.clone()]
    );

    // Delivered: gone for good.
    store.complete(&failed).await.unwrap();
    store.complete(&failed).await.unwrap();
    store.complete(&outbox_item("acme", "never-enqueued", t0)).await.unwrap();
    let pending = store.pending_items(&item.tenant, 10).await.unwrap();
    assert_eq!(ids_of(&pending), vec!["d-2"]);
    // A late reschedule doesn't bring it back.
    store.reschedule(&OutboxItem { attempts: 2, due: t0 + 20 * MINUTE, ..failed.clone() }).await.unwrap();
    assert_eq!(ids_of(&store.pending_items(&item.tenant, 10).await.unwrap()), vec!["d-2"]);
    assert_eq!(ids_of(&store.claim_due(t0 + 2 * HOUR, t0 + 3 * HOUR, Buckets::ALL, 10).await.unwrap()), vec!["d-2"]);
    store.complete(&other).await.unwrap();
    assert_eq!(store.pending_items(&item.tenant, 10).await.unwrap(), vec![]);
    assert_eq!(store.claim_due(Timestamp::MAX, Timestamp::MAX, Buckets::ALL, 10).await.unwrap(), vec![]);

    // Rescheduling an item that was never there does nothing either.
    store.reschedule(&outbox_item("acme", "d-3", t0)).await.unwrap();
    assert_eq!(store.pending_items(&item.tenant, 10).await.unwrap(), vec![]);
    assert_eq!(store.claim_due(t0 + HOUR, t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
}

async fn outbox_pending_items_are_per_tenant_soonest_first(store: Store) {
    let t0 = now();
    let acme = [outbox_item("acme", "x", t0 + 3 * MINUTE), outbox_item("acme", "y", t0), outbox_item("acme", "z", t0)];
    let others = [
        outbox_item("acme:eu", "eu-1", t0),
        outbox_item("globex", "g-1", t0 + MINUTE),
        outbox_item("acm", "short", t0),
    ];
    for item in acme.iter().chain(&others) {
        store.enqueue(slice::from_ref(item)).await.unwrap();
    }
    let acme_tenant = tenant("acme");
    // Due within one millisecond of each other: the exact time orders them, not the id.
    let micros = SignedDuration::from_micros;
    let fine = [
        outbox_item("acme", "fine-a", t0 + 2 * MINUTE + micros(700)),
        outbox_item("acme", "fine-b", t0 + 2 * MINUTE + micros(300)),
    ];
    for item in &fine {
        store.enqueue(slice::from_ref(item)).await.unwrap();
    }

    let expected = vec![acme[1].clone(), acme[2].clone(), fine[1].clone(), fine[0].clone(), acme[0].clone()];
    assert_eq!(store.pending_items(&acme_tenant, 10).await.unwrap(), expected);
    for limit in 0..=5 {
        assert_eq!(store.pending_items(&acme_tenant, limit).await.unwrap(), expected[..limit], "limit {limit}");
    }
    assert_eq!(store.pending_items(&tenant("acme:eu"), 10).await.unwrap(), vec![others[0].clone()]);
    assert_eq!(store.pending_items(&tenant("globex"), 10).await.unwrap(), vec![others[1].clone()]);
    assert_eq!(store.pending_items(&tenant("acm"), 10).await.unwrap(), vec![others[2].clone()]);
    assert_eq!(store.pending_items(&tenant("initech"), 10).await.unwrap(), vec![]);
}

async fn racing_claimers_never_take_the_same_item(store: Store) {
    const ITEMS: usize = 50;
    const CLAIMERS: usize = 4;
    let t0 = now();
    let mut all = BTreeSet::new();
    for n in 0..ITEMS {
        let item = outbox_item(["acme", "globex"][n % 2], &format!("d-{n:02}"), t0 + (n as i32 % 7) * MINUTE);
        store.enqueue(slice::from_ref(&item)).await.unwrap();
        all.insert(item.id);
    }
    let start = Arc::new(tokio::sync::Barrier::new(CLAIMERS));
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|_| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut taken = Vec::new();
                loop {
                    let claimed = store.claim_due(t0 + 10 * MINUTE, t0 + HOUR, Buckets::ALL, 3).await.unwrap();
                    if claimed.is_empty() {
                        return taken;
                    }
                    taken.extend(claimed.into_iter().map(|item| item.id));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for claimer in claimers {
        taken.extend(claimer.await.unwrap());
    }
    let distinct: BTreeSet<String> = taken.iter().cloned().collect();
    assert_eq!(distinct.len(), taken.len(), "an item was taken twice: {taken:?}");
    assert_eq!(distinct, all);
    // Within the lease they stay taken; after it, they are all due again.
    assert_eq!(store.claim_due(t0 + 59 * MINUTE, t0 + 2 * HOUR, Buckets::ALL, 100).await.unwrap(), vec![]);
    assert_eq!(store.claim_due(t0 + HOUR, t0 + 2 * HOUR, Buckets::ALL, 100).await.unwrap().len(), ITEMS);
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
    // The due entry is in one of the index's buckets, `rw:due:{0}` to `rw:due:{15}`.
    let all = keys(&mut redis).await;
    let due_keys: Vec<&String> = all.iter().filter(|key| key.starts_with("rw:due:{")).collect();
    assert_eq!(due_keys.len(), 1, "{all:?}");
    let due_key = due_keys[0].clone();
    let bucket: usize = due_key["rw:due:{".len()..due_key.len() - 1].parse().expect("a bucket number");
    assert!(bucket < 16, "{due_key}");
    // The survey's counts, in its UTC month's and day's hashes.
    let day = t0.to_zoned(jiff::tz::TimeZone::UTC).date();
    let (month_counts, day_counts) =
        (day.strftime("rw:t:acme:counts/%Y-%m"), day.strftime("rw:t:acme:counts/%Y-%m-%d"));
    let expected: BTreeSet<String> = [
        record.clone(),
        "rw:t:acme:c/zendesk:42".to_owned(),
        "rw:t:acme:r/whatsapp-main/+15550001".to_owned(),
        due_key.clone(),
        "rw:t:acme:surveys".to_owned(),
        month_counts.to_string(),
        day_counts.to_string(),
        // Since when the store counts, set when it first connected.
        "rw:counted_since".to_owned(),
    ]
    .into();
    assert_eq!(all, expected);
    let invited: String =
        query(&mut redis, redis::cmd("HGET").arg(day_counts.to_string()).arg("w/all/numeric:0-10")).await;
    assert_eq!(invited, "1,0,0,0,0,0,0,0,0,0,0,0,0,0,0", "invited, delivered, failed, expired, then each score");
    let created_ms: i64 =
        query(&mut redis, redis::cmd("ZSCORE").arg("rw:t:acme:surveys").arg(survey.id.as_str())).await;
    assert_eq!(created_ms, t0.as_millisecond());
    assert!(record.contains(&format!("{{s:{}}}", survey.id)));

    // The compact record leads with its revision; what it holds reads back as the survey.
    let stored: Vec<u8> = query(&mut redis, redis::cmd("GET").arg(&record)).await;
    assert!(stored.starts_with(b"0:"), "{stored:?}");
    assert!(stored.len() < 100, "{} bytes", stored.len());
    assert_eq!(store.get(&fixture.tenant, &survey.id).await.unwrap(), Some(survey.clone()));
    let pointer: String = query(&mut redis, redis::cmd("GET").arg("rw:t:acme:c/zendesk:42")).await;
    assert_eq!(pointer, survey.id.as_str());
    let member = format!("acme/{}", survey.id);
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg(&due_key).arg(&member)).await;
    assert_eq!(due_ms, (t0 + 72 * HOUR).as_millisecond());

    store::apply(&store, &fixture.tenant, &survey.id, Event::Rate(score(5)), t0 + MINUTE).await.unwrap();
    let stored: Vec<u8> = query(&mut redis, redis::cmd("GET").arg(&record)).await;
    assert!(stored.starts_with(b"1:"), "{stored:?}");
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg(&due_key).arg(&member)).await;
    assert_eq!(due_ms, (t0 + MINUTE + 24 * HOUR).as_millisecond());
    // A detractor's rating: counted under its score, and in the index of negative ratings by
    // when it was given.
    let rated: String =
        query(&mut redis, redis::cmd("HGET").arg(day_counts.to_string()).arg("w/all/numeric:0-10")).await;
    assert_eq!(rated, "1,1,0,0,0,0,0,0,0,1,0,0,0,0,0");
    let rated_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg("rw:t:acme:negative").arg(survey.id.as_str())).await;
    assert_eq!(rated_ms, (t0 + MINUTE).as_millisecond());
}

/// Surveys written before the due index was split into buckets keep their deadlines: the one
/// key of before is read with the buckets, and what falls due there moves into its bucket; a
/// survey's writes don't touch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_due_entries_of_the_unbucketed_index_are_found_and_drained() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let t0 = now();
    let fixture = Fixture::new("acme", "zendesk:7", "+15550007");
    let survey = fixture.survey(&survey_config(1, 24), t0);
    store.create(&survey, None).await.unwrap();
    // As an older version left it: the entry in `rw:due`, none in the buckets.
    let mut redis = redis_connection(&server).await;
    let member = format!("acme/{}", survey.id);
    let buckets: Vec<String> = (0..16).map(|bucket| format!("rw:due:{{{bucket}}}")).collect();
    for bucket in &buckets {
        let _: () = query(&mut redis, redis::cmd("ZREM").arg(bucket).arg(&member)).await;
    }
    let due = (t0 + HOUR).as_millisecond();
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:due").arg(due).arg(&member)).await;
    // Not due yet: found neither way, and left where it is.
    assert_eq!(store.due(t0 + MINUTE, Buckets::ALL, 10).await.unwrap(), vec![]);
    let left: Option<f64> = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(left, Some(due as f64));
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);
    let left: Option<f64> = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(left, None, "the sweeper's read moved the old entry");
    assert_eq!(
        store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(),
        vec![due_entry(&survey, t0 + HOUR)],
        "into its bucket"
    );

    // An old entry of a survey whose bucket has a newer one gives way to it.
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:due").arg(0).arg(&member)).await;
    store::apply(&store, &fixture.tenant, &survey.id, Event::Rate(score(4)), t0 + MINUTE).await.unwrap();
    let left: Option<f64> = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(left, Some(0.0), "a write doesn't touch the old key");
    let rated = store.get(&fixture.tenant, &survey.id).await.unwrap().unwrap();
    let due = rated.next_due().expect("a rated survey falls due when its change window ends");
    assert_eq!(store.due(due, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&rated, due)], "its bucket holds it");
    let left: Option<f64> = query(&mut redis, redis::cmd("ZSCORE").arg("rw:due").arg(&member)).await;
    assert_eq!(left, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_record_and_outbox_keys() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let acme = tenant("acme");
    store.put_record(&acme, RecordKind::Config, "nps:v2", None, "{}").await.unwrap();
    store.put_record(&acme, RecordKind::Config, "nps:v2", Some(1), r#"{"v":2}"#).await.unwrap();
    let t0 = now();
    store.enqueue(&[outbox_item("acme:eu", "d-1", t0)]).await.unwrap();

    let mut redis = redis_connection(&server).await;
    // The item's bucket of the outbox's due index: one of 16.
    let buckets: Vec<String> = (0..16).map(|bucket| format!("rw:outbox:due:{{{bucket}}}")).collect();
    let all_keys = keys(&mut redis).await;
    let bucket = buckets.iter().find(|bucket| all_keys.contains(*bucket)).expect("the item's due entry").clone();
    let expected: BTreeSet<String> = [
        "rw:t:acme:rec:config/nps:v2".to_owned(),
        "rw:t:acme:rec:config".to_owned(),
        "rw:outbox:item:d-1".to_owned(),
        bucket.clone(),
        // The tenant's own index of its items, which listing them reads.
        "rw:t:acme:eu:outbox".to_owned(),
        "rw:counted_since".to_owned(),
    ]
    .into();
    assert_eq!(keys(&mut redis).await, expected);
    let fields: std::collections::HashMap<String, String> =
        query(&mut redis, redis::cmd("HGETALL").arg("rw:t:acme:rec:config/nps:v2")).await;
    assert_eq!(fields, [("rev".to_owned(), "2".to_owned()), ("body".to_owned(), r#"{"v":2}"#.to_owned())].into());
    let index: Vec<(String, f64)> =
        query(&mut redis, redis::cmd("ZRANGE").arg("rw:t:acme:rec:config").arg(0).arg(-1).arg("WITHSCORES")).await;
    assert_eq!(index, vec![("nps:v2".to_owned(), 0.0)]);
    // Records are kept until deleted; the outbox until delivered.
    for key in &expected {
        assert_eq!(pttl(&mut redis, key).await, -1, "{key}");
    }
    let json: String = query(&mut redis, redis::cmd("GET").arg("rw:outbox:item:d-1")).await;
    assert_eq!(serde_json::from_str::<OutboxItem>(&json).unwrap(), outbox_item("acme:eu", "d-1", t0));
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg(&bucket).arg("acme:eu/d-1")).await;
    assert_eq!(due_ms, t0.as_millisecond());

    // A claim moves the entry and writes the lease into the item.
    let lease = t0 + MINUTE;
    store.claim_due(t0, lease, Buckets::ALL, 10).await.unwrap();
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg(&bucket).arg("acme:eu/d-1")).await;
    assert_eq!(due_ms, lease.as_millisecond());
    let due_ms: i64 = query(&mut redis, redis::cmd("ZSCORE").arg("rw:t:acme:eu:outbox").arg("d-1")).await;
    assert_eq!(due_ms, lease.as_millisecond(), "the tenant's index follows");
    let json: String = query(&mut redis, redis::cmd("GET").arg("rw:outbox:item:d-1")).await;
    assert_eq!(serde_json::from_str::<OutboxItem>(&json).unwrap().due, lease);
    // Should the item not say so, the index still tells when it is due.
    let stale = serde_json::to_string(&outbox_item("acme:eu", "d-1", t0)).unwrap();
    let _: () = query(&mut redis, redis::cmd("SET").arg("rw:outbox:item:d-1").arg(stale)).await;
    let pending = store.pending_items(&tenant("acme:eu"), 10).await.unwrap();
    assert_eq!(pending, vec![OutboxItem { due: lease, ..outbox_item("acme:eu", "d-1", t0) }]);

    store.complete(&outbox_item("acme:eu", "d-1", t0)).await.unwrap();
    store.delete_record(&acme, RecordKind::Config, "nps:v2").await.unwrap();
    assert_eq!(keys(&mut redis).await, BTreeSet::from(["rw:counted_since".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_creation_index_is_kept_as_long_as_the_surveys() {
    let server = RedisServer::start();
    let options = RedisStoreOptions::default();
    let retention = options.retention;
    let store = connect(&server, options).await;
    let mut redis = redis_connection(&server).await;
    let t0 = now();
    let index = "rw:t:acme:surveys";
    let old_ms = (t0 - retention - HOUR).as_millisecond();
    let _: () = query(&mut redis, redis::cmd("ZADD").arg(index).arg(old_ms).arg("long-gone")).await;
    let recent_ms = (t0 - retention + HOUR).as_millisecond();
    let _: () = query(&mut redis, redis::cmd("ZADD").arg(index).arg(recent_ms).arg("still-kept")).await;

    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0);
    store.create(&survey, None).await.unwrap();
    let members: Vec<String> = query(&mut redis, redis::cmd("ZRANGE").arg(index).arg(0).arg(-1)).await;
    assert_eq!(members, vec!["still-kept".to_owned(), survey.id.to_string()]);
    let ttl = pttl(&mut redis, index).await;
    assert!(ttl > 0 && (ttl - retention.as_millis() as i64).abs() < 10_000, "{ttl} ms");
    // A survey the conversation refused is taken out again.
    let refused = Fixture::new("acme", "conv-1", "+15550002").survey(&survey_config(72, 24), t0 + MINUTE);
    assert!(store.create(&refused, None).await.is_err());
    let members: Vec<String> = query(&mut redis, redis::cmd("ZRANGE").arg(index).arg(0).arg(-1)).await;
    assert_eq!(members, vec!["still-kept".to_owned(), survey.id.to_string()]);
}

/// Index entries whose record is gone (a crash between two writes) are skipped, and don't take
/// the place of the records after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_skips_index_entries_that_lead_nowhere() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let mut redis = redis_connection(&server).await;
    let t0 = now();
    let acme = tenant("acme");

    let survey = Fixture::new("acme", "conv-1", "+15550001").survey(&survey_config(72, 24), t0 + MINUTE);
    store.create(&survey, None).await.unwrap();
    for (n, ghost) in ["ghost-1", "ghost-2", "ghost-3"].into_iter().enumerate() {
        let score = t0.as_millisecond() + n as i64;
        let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:t:acme:surveys").arg(score).arg(ghost)).await;
    }
    let listed = store.list(&acme, t0, t0 + HOUR, 1).await.unwrap();
    assert_eq!(listed, vec![survey.clone()]);

    store.put_record(&acme, RecordKind::Channel, "real", None, "{}").await.unwrap();
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:t:acme:rec:channel").arg(0).arg("a-ghost")).await;
    let records = store.list_records(&acme, RecordKind::Channel).await.unwrap();
    assert_eq!(records, vec![("real".to_owned(), Versioned { revision: 1, value: "{}".to_owned() })]);

    let item = outbox_item("acme", "real", t0 + MINUTE);
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    // In every bucket, and in the one key of earlier versions.
    let buckets = (0..16).map(|bucket| format!("rw:outbox:due:{{{bucket}}}"));
    let due_keys: Vec<String> = buckets.chain(["rw:outbox:due".to_owned()]).collect();
    for key in &due_keys {
        for ghost in ["acme/ghost-1", "acme/ghost-2", "no-tenant"] {
            let _: () = query(&mut redis, redis::cmd("ZADD").arg(key).arg(t0.as_millisecond()).arg(ghost)).await;
        }
    }
    assert_eq!(store.pending_items(&acme, 1).await.unwrap(), vec![item.clone()]);
    // Ghosts come first, and take the places of the claim: it claims again until it has its
    // items or nothing is left.
    let mut claimed = Vec::new();
    for _ in 0..10 {
        claimed.extend(store.claim_due(t0 + MINUTE, t0 + HOUR, Buckets::ALL, 10).await.unwrap());
    }
    assert_eq!(claimed, vec![item]);
    let mut due = Vec::new();
    for key in &due_keys {
        let members: Vec<String> = query(&mut redis, redis::cmd("ZRANGE").arg(key).arg(0).arg(-1)).await;
        due.extend(members);
    }
    assert_eq!(due, vec!["acme/real".to_owned()], "the stale entries are dropped once found");
}

/// Items queued by a version with one due key are moved into their buckets when found due, and
/// claimed from there in the same round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outbox_entries_of_the_unbucketed_index_are_moved_and_claimed() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let mut redis = redis_connection(&server).await;
    let t0 = now();
    let item = outbox_item("acme", "old", t0);
    let json = serde_json::to_string(&item).unwrap();
    let _: () = query(&mut redis, redis::cmd("SET").arg("rw:outbox:item:old").arg(json)).await;
    let _: () =
        query(&mut redis, redis::cmd("ZADD").arg("rw:outbox:due").arg(t0.as_millisecond()).arg("acme/old")).await;
    assert_eq!(store.claim_due(t0, t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![item.clone()]);
    let left: i64 = query(&mut redis, redis::cmd("EXISTS").arg("rw:outbox:due")).await;
    assert_eq!(left, 0);
    store.complete(&item).await.unwrap();
    assert_eq!(keys(&mut redis).await, BTreeSet::from(["rw:counted_since".to_owned()]));
}

/// Listing reads a few hundred entries at a time (in the store and in its scripts).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_lists_more_than_one_page() {
    const MANY: usize = 1_200;
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let t0 = now();
    let acme = tenant("acme");

    let mut surveys = Vec::new();
    for n in 0..MANY {
        let fixture = Fixture::new("acme", &format!("conv-{n}"), &format!("+1{n:010}"));
        let survey = fixture.survey(&survey_config(72, 24), t0 + SignedDuration::from_millis(n as i64 / 3));
        store.create(&survey, None).await.unwrap();
        surveys.push(survey);
    }
    surveys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let ids: Vec<SurveyId> = surveys.iter().map(|s| s.id.clone()).collect();
    let listed = store.list(&acme, t0, t0 + HOUR, MANY + 1).await.unwrap();
    assert_eq!(listed.into_iter().map(|s| s.id).collect::<Vec<_>>(), ids);
    let listed = store.list(&acme, t0, t0 + HOUR, 700).await.unwrap();
    assert_eq!(listed.into_iter().map(|s| s.id).collect::<Vec<_>>(), ids[..700]);

    for n in 0..MANY {
        store.put_record(&acme, RecordKind::Endpoint, &format!("e{n:05}"), None, "{}").await.unwrap();
    }
    let records = store.list_records(&acme, RecordKind::Endpoint).await.unwrap();
    assert_eq!(records.len(), MANY);
    assert!(records.windows(2).all(|pair| pair[0].0 < pair[1].0));

    // The tenant's items sit among many of another tenant's.
    let mut mine = Vec::new();
    for n in 0..MANY {
        let due = t0 + SignedDuration::from_secs(n as i64);
        let tenant = if n % 400 == 399 { "acme" } else { "globex" };
        let item = outbox_item(tenant, &format!("d-{n:05}"), due);
        store.enqueue(slice::from_ref(&item)).await.unwrap();
        if tenant == "acme" {
            mine.push(item);
        }
    }
    assert_eq!(store.pending_items(&acme, 10).await.unwrap(), mine);
    assert_eq!(store.pending_items(&acme, 2).await.unwrap(), mine[..2]);
    assert_eq!(store.pending_items(&tenant("globex"), 1_000).await.unwrap().len(), 1_000);
}

/// Contacts and sent messages, written with every end user and message and only looked up by id,
/// expire with the retention and are in no index; the business's own records are kept and listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_contacts_and_sent_messages_expire_and_are_not_listed() {
    let server = RedisServer::start();
    let options = RedisStoreOptions::default();
    let retention = options.retention.as_millis() as i64;
    let store = connect(&server, options).await;
    let mut redis = redis_connection(&server).await;
    let acme = tenant("acme");
    for kind in [RecordKind::Contact, RecordKind::Message] {
        store.put_record(&acme, kind, "wa/1", None, "{}").await.unwrap();
        let key = format!("rw:t:acme:rec:{kind}/wa/1");
        let ttl = pttl(&mut redis, &key).await;
        assert!(retention - 60_000 < ttl && ttl <= retention, "{key}: {ttl} ms");
        // Written again, it lives from then.
        let _: () = query(&mut redis, redis::cmd("PEXPIRE").arg(&key).arg(5_000)).await;
        store.put_record(&acme, kind, "wa/1", Some(1), "{}").await.unwrap();
        assert!(pttl(&mut redis, &key).await > retention - 60_000, "{key}");
        assert_eq!(store.get_record(&acme, kind, "wa/1").await.unwrap().map(|r| r.revision), Some(2));
        assert_eq!(store.list_records(&acme, kind).await.unwrap(), vec![]);
    }
    store.put_record(&acme, RecordKind::Config, "support", None, "{}").await.unwrap();
    assert_eq!(pttl(&mut redis, "rw:t:acme:rec:config/support").await, -1);
    assert_eq!(store.list_records(&acme, RecordKind::Config).await.unwrap().len(), 1);
    let indexes: BTreeSet<String> = query(&mut redis, redis::cmd("KEYS").arg("rw:t:acme:rec:*")).await;
    let indexes: BTreeSet<&str> = indexes.iter().map(String::as_str).filter(|key| !key.contains('/')).collect();
    assert_eq!(indexes, BTreeSet::from(["rw:t:acme:rec:config"]));
}

/// A tenant's pending items are read from its own index, not by walking every tenant's; an item
/// enqueued by a version without that index joins it when claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_a_tenants_outbox_is_listed_from_its_own_index() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let mut redis = redis_connection(&server).await;
    let t0 = now();
    for n in 0..300 {
        store.enqueue(&[outbox_item("globex", &format!("g-{n}"), t0 - HOUR)]).await.unwrap();
    }
    let mine = outbox_item("acme", "a-1", t0);
    store.enqueue(slice::from_ref(&mine)).await.unwrap();
    let members: Vec<String> = query(&mut redis, redis::cmd("ZRANGE").arg("rw:t:acme:outbox").arg(0).arg(-1)).await;
    assert_eq!(members, vec!["a-1".to_owned()]);
    assert_eq!(store.pending_items(&tenant("acme"), 1).await.unwrap(), vec![mine.clone()]);

    // As an earlier version left it: the item and its due entry, no entry in the tenant's index.
    let earlier = outbox_item("acme", "a-0", t0 - MINUTE);
    let json = serde_json::to_string(&earlier).unwrap();
    let _: () = query(&mut redis, redis::cmd("SET").arg("rw:outbox:item:a-0").arg(json)).await;
    let score = earlier.due.as_millisecond();
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:outbox:due").arg(score).arg("acme/a-0")).await;
    assert_eq!(store.pending_items(&tenant("acme"), 10).await.unwrap(), vec![mine.clone()]);
    let lease = t0 + MINUTE;
    let claimed = store.claim_due(t0, lease, Buckets::ALL, 400).await.unwrap();
    assert_eq!(claimed.len(), 302);
    let listed = store.pending_items(&tenant("acme"), 10).await.unwrap();
    assert_eq!(listed, vec![OutboxItem { due: lease, ..earlier }, OutboxItem { due: lease, ..mine }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_reports_corrupt_records_and_outbox_items() {
    let server = RedisServer::start();
    let store = connect(&server, RedisStoreOptions::default()).await;
    let mut redis = redis_connection(&server).await;
    let t0 = now();
    let acme = tenant("acme");

    let key = "rw:t:acme:rec:config/broken";
    let _: () = query(&mut redis, redis::cmd("HSET").arg(key).arg("rev").arg("one").arg("body").arg("{}")).await;
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:t:acme:rec:config").arg(0).arg("broken")).await;
    match store.get_record(&acme, RecordKind::Config, "broken").await {
        Err(StoreError::Corrupt { key: reported, .. }) => assert_eq!(reported, key),
        other => panic!("{other:?}"),
    }
    assert!(matches!(store.list_records(&acme, RecordKind::Config).await, Err(StoreError::Corrupt { .. })));
    let _: () = query(&mut redis, redis::cmd("HDEL").arg(key).arg("body")).await;
    let _: () = query(&mut redis, redis::cmd("HSET").arg(key).arg("rev").arg("1")).await;
    assert!(matches!(store.get_record(&acme, RecordKind::Config, "broken").await, Err(StoreError::Corrupt { .. })));

    // An unreadable item doesn't hold up the others' delivery; it stays for someone to look at.
    let item = outbox_item("acme", "fine", t0);
    store.enqueue(slice::from_ref(&item)).await.unwrap();
    let _: () = query(&mut redis, redis::cmd("SET").arg("rw:outbox:item:broken").arg("not json")).await;
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:outbox:due").arg(0).arg("acme/broken")).await;
    let _: () = query(&mut redis, redis::cmd("ZADD").arg("rw:t:acme:outbox").arg(0).arg("broken")).await;
    assert_eq!(store.claim_due(t0, t0 + HOUR, Buckets::ALL, 10).await.unwrap(), vec![item]);
    assert!(matches!(store.pending_items(&acme, 10).await, Err(StoreError::Corrupt { .. })));
    // Completing it removes the item; its entry goes when next found.
    store.complete(&outbox_item("acme", "broken", t0)).await.unwrap();
    assert_eq!(store.claim_due(t0 + 2 * HOUR, t0 + 3 * HOUR, Buckets::ALL, 10).await.unwrap().len(), 1);
    let mut due = Vec::new();
    for key in (0..16).map(|bucket| format!("rw:outbox:due:{{{bucket}}}")).chain(["rw:outbox:due".to_owned()]) {
        let members: Vec<String> = query(&mut redis, redis::cmd("ZRANGE").arg(key).arg(0).arg(-1)).await;
        due.extend(members);
    }
    assert_eq!(due, vec!["acme/fine".to_owned()]);
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
    assert!(found.iter().any(|key| key.starts_with("staging:due:{")), "{found:?}");
    assert!(found.iter().all(|key| key.starts_with("staging:")), "{found:?}");
    let ttl = pttl(&mut redis, &record).await;
    assert!(ttl > 0 && ttl <= 24 * 3_600_000, "{ttl}");
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

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
    assert_eq!(store.due(t0 + 2 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![due_entry(&survey, t0 + HOUR)]);

    let record = format!("rw:t:acme:{{s:{}}}", survey.id);
    let _: () = query(&mut redis, redis::cmd("SET").arg(&record).arg("{\"not\": \"a survey\"}")).await;
    match store.get(&survey.invitation.tenant, &survey.id).await {
        Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, record),
        other => panic!("{other:?}"),
    }
    // A record in a format this version doesn't know is corrupt too.
    let _: () = query(&mut redis, redis::cmd("SET").arg(&record).arg(b"0:\x07".as_slice())).await;
    assert!(matches!(store.get(&survey.invitation.tenant, &survey.id).await, Err(StoreError::Corrupt { .. })));
}

/// A gateway keeps the records every message reads for a second; one that lost a write to
/// another gateway reads the winner's record at once, not its own stale copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_a_lost_record_write_drops_the_stale_copy() {
    let server = RedisServer::start();
    let (first, second) =
        (connect(&server, RedisStoreOptions::default()).await, connect(&server, RedisStoreOptions::default()).await);
    let acme = tenant("acme");
    first.put_record(&acme, RecordKind::Channel, "wa", None, "one").await.unwrap();
    let copy = second.get_record(&acme, RecordKind::Channel, "wa").await.unwrap();
    assert_eq!(copy, Some(Versioned { revision: 1, value: "one".to_owned() }));
    first.put_record(&acme, RecordKind::Channel, "wa", Some(1), "two").await.unwrap();
    let stale = second.put_record(&acme, RecordKind::Channel, "wa", Some(1), "stale").await;
    assert!(matches!(stale, Err(StoreError::RecordConflict { .. })), "{stale:?}");
    let fresh = second.get_record(&acme, RecordKind::Channel, "wa").await.unwrap();
    assert_eq!(fresh, Some(Versioned { revision: 2, value: "two".to_owned() }));
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
    let lost = tokio::time::timeout(LIMIT, store.due(t0, Buckets::ALL, 10)).await.expect("no answer in 10 s");
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

    assert_eq!(store::sweep(&*store, t0 + 30 * MINUTE, Buckets::ALL, 10).await.unwrap(), vec![]);

    let swept = store::sweep(&*store, t0 + 3 * HOUR, Buckets::ALL, 10).await.unwrap();
    let mut states: Vec<(SurveyId, StateName)> =
        swept.iter().map(|t| (t.survey.id.clone(), t.survey.state.name())).collect();
    states.sort();
    let mut expected = vec![(waiting.id.clone(), StateName::Expired), (answered.id.clone(), StateName::Locked)];
    expected.sort();
    assert_eq!(states, expected);
    let expiry = swept.iter().find(|t| t.survey.id == waiting.id).unwrap();
    assert_eq!(expiry.effects, [Effect::Notify(Notice::Expired)]);
    assert_eq!(all_due(&store).await, vec![]);
    assert_eq!(store::sweep(&*store, t0 + 4 * HOUR, Buckets::ALL, 10).await.unwrap(), vec![]);
}

async fn a_sighting_is_claimed_then_handled_and_a_claim_runs_out(store: Store) {
    let t0 = now();
    let lease = SignedDuration::from_millis(300);
    let week = SignedDuration::from_hours(24 * 7);
    assert_eq!(store.claim("wa/wamid.1", t0, lease, None).await.unwrap(), Sighting::First);
    assert_eq!(store.claim("wa/wamid.1", t0, lease, None).await.unwrap(), Sighting::InHand);
    assert_eq!(store.claim("wa/wamid.2", t0, lease, None).await.unwrap(), Sighting::First);
    // Handled: repeats are dropped, and a late release doesn't take the mark back.
    store.confirm("wa/wamid.2", t0, week).await.unwrap();
    store.release("wa/wamid.2").await.unwrap();
    assert_eq!(store.claim("wa/wamid.2", t0, lease, None).await.unwrap(), Sighting::Handled);
    // A claim released is taken afresh.
    store.release("wa/wamid.1").await.unwrap();
    assert_eq!(store.claim("wa/wamid.1", t0, lease, None).await.unwrap(), Sighting::First);
    // A claim never confirmed nor released runs out by itself: Redis by its own clock, the
    // memory store by the time it is given.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = t0 + SignedDuration::from_millis(400);
    assert_eq!(store.claim("wa/wamid.1", later, lease, None).await.unwrap(), Sighting::First);
    assert_eq!(store.claim("wa/wamid.2", later, lease, None).await.unwrap(), Sighting::Handled);
}

async fn claims_and_sweeps_read_only_the_buckets_asked(store: Store) {
    let t0 = now();
    let items: Vec<OutboxItem> = (0..40).map(|n| outbox_item("acme", &format!("d-{n}"), t0)).collect();
    store.enqueue(&items).await.unwrap();
    let mut surveys = Vec::new();
    for n in 0..40 {
        let survey = survey_fixture("acme", &format!("conv-{n}"), &format!("+1555000{n:02}"), &survey_config(1, 0), t0);
        store.create(&survey, None).await.unwrap();
        surveys.push(survey.id);
    }
    let (half, rest) = (Buckets::of(0..8), Buckets::of(8..16));
    let later = t0 + 2 * HOUR;

    // Each half of the buckets gives its own items and surveys: some, none of the other's.
    let first = store.claim_due(t0, t0 + HOUR, half, 100).await.unwrap();
    let second = store.claim_due(t0, t0 + HOUR, rest, 100).await.unwrap();
    assert!(!first.is_empty() && !second.is_empty(), "40 items spread over both halves");
    let mut all: Vec<&str> = ids_of(&first).into_iter().chain(ids_of(&second)).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 40, "every item claimed once");
    assert_eq!(store.claim_due(later, later + HOUR, Buckets::NONE, 100).await.unwrap(), vec![]);

    let (first, second) = (store.due(later, half, 100).await.unwrap(), store.due(later, rest, 100).await.unwrap());
    assert!(!first.is_empty() && !second.is_empty(), "40 surveys spread over both halves");
    let mut ids: Vec<SurveyId> = first.iter().chain(&second).map(|due| due.id.clone()).collect();
    ids.sort();
    ids.dedup();
    surveys.sort();
    assert_eq!(ids, surveys, "every survey due in one half");
    assert_eq!(store.due(later, Buckets::NONE, 100).await.unwrap(), vec![]);
    let swept = store::sweep(&*store, later, half, 100).await.unwrap();
    assert_eq!(swept.len(), first.len(), "the sweep of a half expires its surveys only");
}

async fn the_workers_alive_share_the_buckets_and_take_over_a_dead_ones(store: Store) {
    let (a, b, c) = (WorkerId::new("gateway-a"), WorkerId::new("gateway-b"), WorkerId::new("gateway-c"));
    let t0 = now();
    let until = t0 + MINUTE;
    // Alone, a worker holds every bucket.
    assert_eq!(store.share_work(&a, t0, until).await.unwrap(), Buckets::ALL);
    // A second one's share is still held by the first, until the first's next turn gives it back.
    assert_eq!(store.share_work(&b, t0, until).await.unwrap(), Buckets::NONE);
    let share_a = store.share_work(&a, t0, until).await.unwrap();
    assert_eq!(share_a.len(), BUCKETS / 2);
    assert_eq!(store.share_work(&b, t0, until).await.unwrap(), share_a.rest());
    // A third that dies: its share, taken, goes back to the others once its lease has ended
    // (Redis by its own clock, the memory store by the time it is given).
    let short = t0 + SignedDuration::from_millis(300);
    assert_eq!(store.share_work(&c, t0, short).await.unwrap(), Buckets::NONE, "held by a and b still");
    // A turn each gives back what moved; the next takes what was given back.
    let mut held = Vec::new();
    for _ in 0..2 {
        held = vec![
            store.share_work(&a, t0, until).await.unwrap(),
            store.share_work(&b, t0, until).await.unwrap(),
            store.share_work(&c, t0, short).await.unwrap(),
        ];
    }
    assert_eq!(held.iter().fold(Buckets::NONE, |all, share| all | *share), Buckets::ALL);
    assert_eq!(held.iter().map(|share| share.len()).sum::<usize>(), BUCKETS, "no bucket held twice");
    assert!(held.iter().all(|share| share.len() >= BUCKETS / 3), "equal shares: {held:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = t0 + SignedDuration::from_millis(400);
    for _ in 0..2 {
        held =
            vec![store.share_work(&a, later, until).await.unwrap(), store.share_work(&b, later, until).await.unwrap()];
    }
    assert_eq!(held, [share_a, share_a.rest()]);
    // One that leaves gives its share back at once.
    store.leave(&b).await.unwrap();
    assert_eq!(store.share_work(&a, later, until).await.unwrap(), Buckets::ALL);
}

async fn a_channels_send_slots_are_spaced_by_its_rate_for_every_caller(store: Store) {
    let (acme, wa) = (tenant("acme"), ChannelId::new("wa").unwrap());
    let (five, eighty) = (NonZeroU32::new(5).unwrap(), NonZeroU32::new(80).unwrap());
    let ms = SignedDuration::from_millis;
    let horizon = ms(250);
    let take = |per_second, count| {
        store.take_send_slots(&acme, SendLane::Channel(&wa), send_interval(per_second), count, horizon)
    };
    // The slots a batch gets: those of the wanted that fit between its first and the horizon
    // (the store's clock moves between calls, so the first is what it says).
    let fitting = |first: SignedDuration, interval: SignedDuration, wanted: u32| {
        wanted.min(((horizon - first).as_micros() / interval.as_micros() + 1) as u32)
    };
    // A fresh pace: now. Then slots 200 ms apart while they are within the horizon, then none.
    let interval = ms(200);
    assert_eq!(take(five, 1).await.unwrap(), SendSlots::Taken { first: ms(0), interval, count: 1 });
    let SendSlots::Taken { first, count, .. } = take(five, 3).await.unwrap() else { panic!("a slot within 250 ms") };
    assert!(first <= interval && count == fitting(first, interval, 3), "{first:?} {count}");
    let none = loop {
        match take(five, 1).await.unwrap() {
            SendSlots::Taken { first, .. } => assert!(first <= horizon, "{first:?}"),
            SendSlots::NoneBefore(wait) => break wait,
        }
    };
    assert!(none > horizon && none <= horizon + interval, "{none:?}");
    // Another tenant's channel of the same id has its own pace; a changed rate starts afresh,
    // and a batch takes the slots that fit within the horizon.
    let globex = tenant("globex");
    let theirs = store.take_send_slots(&globex, SendLane::Channel(&wa), interval, 1, horizon).await.unwrap();
    assert_eq!(theirs, SendSlots::Taken { first: ms(0), interval, count: 1 });
    let interval = send_interval(eighty);
    assert_eq!(take(eighty, 8).await.unwrap(), SendSlots::Taken { first: ms(0), interval, count: 8 });
    let SendSlots::Taken { first, count, .. } = take(eighty, 64).await.unwrap() else { panic!("slots within 250 ms") };
    assert!(first <= ms(100) && count == fitting(first, interval, 64), "{first:?} {count}");
    // A recipient's pace (Telegram's one message a second in a chat) is its own: apart from its
    // channel's and from every other recipient's.
    let (ana, bob) = (RecipientId::new("ana").unwrap(), RecipientId::new("bob").unwrap());
    let second = SignedDuration::from_secs(1);
    let to = |recipient| store.take_send_slots(&acme, SendLane::Recipient(&wa, recipient), second, 1, horizon);
    assert_eq!(to(&ana).await.unwrap(), SendSlots::Taken { first: ms(0), interval: second, count: 1 });
    let next = to(&ana).await.unwrap();
    assert!(matches!(next, SendSlots::NoneBefore(wait) if wait > horizon && wait <= second), "{next:?}");
    assert_eq!(to(&bob).await.unwrap(), SendSlots::Taken { first: ms(0), interval: second, count: 1 });
}

async fn a_message_from_someone_with_no_survey_is_settled_by_its_claim(store: Store) {
    let t0 = now();
    let fixture = Fixture::new("acme", "conv-1", "+15550001");
    let survey = fixture.survey(&survey_config(72, 24), t0);
    let (tenant, channel) = (&survey.invitation.tenant, &survey.invitation.channel);
    let (ana, bob) = (&survey.invitation.recipient, &RecipientId::new("+15550002").unwrap());
    let answering = |from| Some(Answering { tenant, channel, from, handled_for: HOUR });
    let key = |from, message: &str| store.message_key(tenant, channel, from, message);

    // Nobody has a survey yet: Ana's message is handled by its claim, a redelivery is the repeat.
    assert_eq!(store.claim(&key(ana, "wamid.1"), t0, MINUTE, answering(ana)).await.unwrap(), Sighting::Settled);
    assert_eq!(store.claim(&key(ana, "wamid.1"), t0, MINUTE, answering(ana)).await.unwrap(), Sighting::Handled);
    // Her survey is made: her next message is claimed for its handling, Bob's still settled.
    store.create(&survey, None).await.unwrap();
    assert_eq!(store.claim(&key(ana, "wamid.2"), t0, MINUTE, answering(ana)).await.unwrap(), Sighting::First);
    assert_eq!(store.claim(&key(bob, "wamid.3"), t0, MINUTE, answering(bob)).await.unwrap(), Sighting::Settled);
    // Forgotten (its noting failed), a settled message is taken again.
    store.forget(&key(bob, "wamid.3")).await.unwrap();
    assert_eq!(store.claim(&key(bob, "wamid.3"), t0, MINUTE, None).await.unwrap(), Sighting::First);
}

async fn the_latest_time_an_end_user_wrote_is_kept(store: Store) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let (wa, tg) = (ChannelId::new("wa").unwrap(), ChannelId::new("tg").unwrap());
    let ana = RecipientId::new("+15550001").unwrap();
    let t0 = now();
    assert_eq!(store.last_written(&acme, &wa, &ana).await.unwrap(), None);
    store.note_written(&acme, &wa, &ana, t0).await.unwrap();
    // Kept to the microsecond.
    let exact = Timestamp::from_microsecond(t0.as_microsecond()).unwrap();
    assert_eq!(store.last_written(&acme, &wa, &ana).await.unwrap(), Some(exact));
    // A message handled out of order doesn't move it back; a later one moves it on.
    store.note_written(&acme, &wa, &ana, t0 - MINUTE).await.unwrap();
    assert_eq!(store.last_written(&acme, &wa, &ana).await.unwrap(), Some(exact));
    store.note_written(&acme, &wa, &ana, t0 + MINUTE).await.unwrap();
    assert_eq!(store.last_written(&acme, &wa, &ana).await.unwrap(), Some(exact + MINUTE));
    // Per tenant, channel and end user.
    assert_eq!(store.last_written(&globex, &wa, &ana).await.unwrap(), None);
    assert_eq!(store.last_written(&acme, &tg, &ana).await.unwrap(), None);
}

/// A store on `target` for each of `cases`, each under a key prefix of its own: the cases share
/// the server, and some read indexes (the due index, the outbox) every tenant shares.
async fn stores_for(target: &RedisTarget, cases: &[(&'static str, Case)]) -> Vec<(&'static str, Case, RedisStore)> {
    let mut stores = Vec::new();
    for (name, case) in cases {
        let options = RedisStoreOptions { prefix: format!("suite-{name}"), ..RedisStoreOptions::default() };
        let store = RedisStore::connect_to(target, options).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        stores.push((*name, *case, store));
    }
    stores
}

/// Runs the cases side by side (their keys are apart), naming the first that fails.
async fn run_cases(stores: &[(&'static str, Case, RedisStore)]) {
    let running: Vec<_> =
        stores.iter().map(|(name, case, store)| (*name, tokio::spawn(case(Arc::new(store.clone()))))).collect();
    for (name, case) in running {
        if let Err(failure) = case.await {
            panic!("{name} failed: {failure}");
        }
    }
}

/// A store of its own on `target` (prefix `witness`), and `count` surveys it wrote before a
/// failover, which must lose none of them.
async fn witness(target: &RedisTarget, count: usize) -> (RedisStore, Vec<Survey>) {
    let options = RedisStoreOptions { prefix: "witness".into(), ..Default::default() };
    let witness = RedisStore::connect_to(target, options).await.expect("the store connects");
    let mut written = Vec::new();
    for n in 0..count {
        let fixture = Fixture::new("acme", &format!("conv-failover-{n}"), &format!("+1555000{n:02}"));
        let survey = fixture.survey(&survey_config(72, 24), now());
        witness.create(&survey, None).await.unwrap();
        written.push(survey);
    }
    (witness, written)
}

async fn all_there(witness: &RedisStore, written: &[Survey]) {
    for survey in written {
        assert_eq!(witness.get(&survey.invitation.tenant, &survey.id).await.unwrap().as_ref(), Some(survey));
    }
}

/// Starts the gateway's state on `settings`, as `ratewire serve` does, and checks it is on Redis
/// (the demo it prepares writes there).
async fn gateway_starts_on(settings: Settings) {
    let settings = settings.check().unwrap_or_else(|e| panic!("the settings are valid: {e}"));
    let state = serve::state(settings).await.unwrap_or_else(|e| panic!("the gateway starts: {e}"));
    assert_eq!(state.store_kind, StoreKind::Redis);
    assert!(state.demo.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_on_redis_over_tls() {
    let server = tokio::task::spawn_blocking(TlsRedisServer::start).await.expect("the TLS server starts");
    run_cases(&stores_for(&server.target(), SUITE).await).await;

    // The certificate is checked: without its CA, the public roots don't vouch for it.
    let untrusted = RedisStore::connect(&server.url(), RedisStoreOptions::default()).await;
    assert!(matches!(untrusted, Err(StoreError::Unavailable(_))), "{untrusted:?}");

    gateway_starts_on(Settings {
        redis_url: Some(server.url()),
        redis_tls_ca_file: Some(server.ca_file()),
        redis_wait_secs: 0,
        ..Settings::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_follows_a_sentinel_failover() {
    let group = tokio::task::spawn_blocking(SentinelGroup::start).await.expect("the Sentinel group starts");
    let target = group.target();
    // The master asks for a password, which the sentinels don't give out.
    let RedisTarget::Sentinel(with_password) = &target else { panic!("a Sentinel target") };
    let without = RedisTarget::Sentinel(SentinelTarget { password: None, ..with_password.clone() });
    let refused = RedisStore::connect_to(&without, RedisStoreOptions::default()).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    let (before, after) = SUITE.split_at(SUITE.len() / 2);
    let before = stores_for(&target, before).await;
    // Connected to the first master: they have to follow the failover.
    let after = stores_for(&target, after).await;
    let (witness, written) = witness(&target, 1).await;
    run_cases(&before).await;

    let group = tokio::task::spawn_blocking(move || {
        let mut group = group;
        group.fail_over();
        group
    })
    .await
    .expect("the group fails over");

    // A store's connections died with the master. The first call on them fails, as a call in
    // flight would (the store can't tell one from the other, so it doesn't run it again); the
    // store asks the sentinels for the new master then, and the next call goes there.
    let settling = after.iter().map(|(name, _, store)| (*name, store)).chain([("witness", &witness)]);
    for (name, store) in settling {
        let first = store.due(Timestamp::MAX, Buckets::ALL, 1).await;
        assert!(matches!(first, Ok(_) | Err(StoreError::Unavailable(_))), "{name}: {first:?}");
        store
            .due(Timestamp::MAX, Buckets::ALL, 1)
            .await
            .unwrap_or_else(|e| panic!("{name} follows the new master: {e}"));
    }
    all_there(&witness, &written).await;
    run_cases(&after).await;

    gateway_starts_on(Settings {
        redis_sentinel: Some(SentinelSettings {
            master_name: MASTER_NAME.into(),
            addresses: group.addresses(),
            password: Some(GROUP_PASSWORD.into()),
            ..SentinelSettings::default()
        }),
        redis_wait_secs: 0,
        ..Settings::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_on_a_redis_cluster_follows_a_failover() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("the cluster starts");
    let target = cluster.target();
    // Every script touches keys of one slot, or the cluster refuses it (CROSSSLOT); every
    // pipeline is split by slot, or the connection refuses it.
    let (before, after) = SUITE.split_at(SUITE.len() / 2);
    let before = stores_for(&target, before).await;
    // Connected before the failover: they have to learn the new master of its slots.
    let after = stores_for(&target, after).await;
    // Spread over the masters.
    let (witness, written) = witness(&target, 20).await;
    run_cases(&before).await;

    let cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.fail_over();
        cluster
    })
    .await
    .expect("the cluster fails over");

    // Calls in flight when the master died fail; the connections ask the cluster for the slots
    // again and the next calls go to the promoted replica. Each of a store's connections learns
    // it on its own: calls from many tasks (a task's calls go on one connection) reach them all.
    let settling = after.iter().map(|(name, _, store)| (*name, store)).chain([("witness", &witness)]);
    for (name, store) in settling {
        let tasks = (0..64).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    match store.due(Timestamp::MAX, Buckets::ALL, 1).await {
                        Ok(_) => return Ok(()),
                        Err(error) if Instant::now() >= deadline => return Err(error),
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            })
        });
        for settled in futures_util::future::join_all(tasks).await {
            if let Err(error) = settled.expect("a settling task runs") {
                panic!("{name} did not follow the failover: {error}");
            }
        }
    }
    all_there(&witness, &written).await;
    run_cases(&after).await;

    gateway_starts_on(Settings { redis_cluster_nodes: cluster.nodes(), redis_wait_secs: 0, ..Settings::default() })
        .await;
}

/// A server without the scripts (a replica just promoted, a restarted master) answers NOSCRIPT to
/// the calls of a pipeline sent to it, while the other masters ran theirs: only the calls that
/// did not run are sent again, so a claim returns every item it leased.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_on_a_cluster_with_a_master_without_scripts_returns_all_it_leased() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("the cluster starts");
    let store = RedisStore::connect_to(&cluster.target(), RedisStoreOptions::default()).await.unwrap();
    let t0 = now();
    let items: Vec<OutboxItem> = (0..64).map(|n| outbox_item("acme", &format!("d-{n}"), t0)).collect();
    store.enqueue(&items).await.unwrap();
    let master = cluster.master_ports()[0];
    let client = redis::Client::open(format!("redis://127.0.0.1:{master}")).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut connection).await.unwrap();

    let claimed = store.claim_due(t0, t0 + HOUR, Buckets::ALL, 100).await.unwrap();
    assert_eq!(claimed.len(), items.len(), "claimed {:?}", ids_of(&claimed));
}

/// Pre-chat tallies add up per tenant and day, and a range reads only its days.
async fn tallies_add_up_by_day_and_tenant(store: Store) {
    let (acme, globex) = (TenantId::new("acme").unwrap(), TenantId::new("globex").unwrap());
    let day = |d: i8| jiff::civil::date(2026, 12, d);
    let add = |pairs: &[(&str, i64)]| pairs.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect::<Vec<_>>();
    store.tally(&acme, day(1), &add(&[("started", 1), ("q/email/invalid", 2)])).await.unwrap();
    store.tally(&acme, day(1), &add(&[("started", 1), ("completed", 1)])).await.unwrap();
    store.tally(&acme, day(2), &add(&[("started", 1), ("q/email/invalid", 1)])).await.unwrap();
    store.tally(&acme, day(3), &add(&[("started", 5)])).await.unwrap();
    store.tally(&globex, day(1), &add(&[("started", 7)])).await.unwrap();
    store.tally(&acme, day(4), &[]).await.unwrap();

    let both = store.tallies(&acme, &[day(1), day(2)]).await.unwrap();
    let expected = [("completed", 1), ("q/email/invalid", 3), ("started", 3)];
    assert_eq!(both, expected.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect());
    assert_eq!(store.tallies(&globex, &[day(1), day(2)]).await.unwrap().get("started"), Some(&7));
    assert!(store.tallies(&acme, &[day(4), day(5)]).await.unwrap().is_empty());
}
