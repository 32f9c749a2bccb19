use std::collections::BTreeMap;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::reply::Labels;

fn id(id: &str) -> QuestionId {
    QuestionId::new(id).unwrap()
}

fn now() -> Timestamp {
    "2026-12-03T10:00:00Z".parse().unwrap()
}

/// A pre-chat form: name, email, order id, inquiry type, consent.
fn prechat() -> Questionnaire {
    Questionnaire::from_json(json!({
        "default_locale": "en",
        "questions": [
            {"id": "name", "kind": "name"},
            {"id": "email", "kind": "email"},
            {"id": "order_id", "kind": "identifier", "pattern": "[A-Z]{2}[0-9]{6}", "example": "AB123456",
             "case_insensitive": true, "required": false,
             "text": {"en": "What's your order number?", "es": "¿Cuál es su número de pedido?"}},
            {"id": "inquiry", "kind": "single_choice", "text": {"en": "What is it about?"}, "options": [
                {"id": "billing", "label": {"en": "Billing", "es": "Facturación"}},
                {"id": "shipping", "label": {"en": "Shipping", "es": "Envío"}},
                {"id": "other", "label": {"en": "Something else", "es": "Otra cosa"}}
            ]},
            {"id": "consent", "kind": "consent", "policy_url": "https://example.com/privacy"}
        ]
    }))
    .unwrap()
}

/// A post-chat survey: CSAT, resolved?, "tell us more" after a no, effort, a comment.
fn postchat() -> Questionnaire {
    Questionnaire::from_json(json!({
        "questions": [
            {"id": "rating", "kind": "rating", "scale": "stars:5", "changeable": true},
            {"id": "reason", "kind": "single_choice", "text": {"en": "What went wrong?"},
             "when": {"question": "rating", "is": "negative"}, "options": [
                {"id": "slow", "label": {"en": "Too slow"}},
                {"id": "unfriendly", "label": {"en": "Unfriendly"}}
            ]},
            {"id": "resolved", "kind": "yes_no"},
            {"id": "more", "kind": "free_text", "text": {"en": "Tell us more"}, "required": false,
             "when": {"question": "resolved", "is": "no"}},
            {"id": "effort", "kind": "ces", "required": false}
        ]
    }))
    .unwrap()
}

fn reply(run: &Run, questionnaire: &Questionnaire, text: &str, locale: Locale) -> Step {
    let labels = Labels::default();
    run.step(questionnaire, RunEvent::Reply { text, locale, labels: &labels }, now()).unwrap()
}

fn asked(step: &Step) -> Option<(&str, Option<Invalid>)> {
    match step.said()? {
        Say::Ask { question, again } => Some((question.as_str(), *again)),
        _ => None,
    }
}

fn read(kind: serde_json::Value, text: &str, locale: Locale) -> Result<Read, Invalid> {
    let mut question = json!({"id": "q", "text": {"en": "?"}});
    question.as_object_mut().unwrap().extend(kind.as_object().unwrap().clone());
    let question: Question = serde_json::from_value(question).unwrap();
    read_answer(&question, text, locale, &Labels::default())
}

fn text(value: &str) -> Result<Read, Invalid> {
    Ok(Read::Answer(AnswerValue::Text(value.into())))
}

#[test]
fn a_full_configuration_reads_and_serializes_back_the_same() {
    for questionnaire in [prechat(), postchat()] {
        let again = Questionnaire::from_json(serde_json::to_value(&questionnaire).unwrap()).unwrap();
        assert_eq!(again, questionnaire);
    }
}

#[test]
fn validation_names_every_problem() {
    let problems = Questionnaire::from_json(json!({
        "max_attempts": 9,
        "questions": [
            {"id": "a", "kind": "yes_no"},
            {"id": "a", "kind": "name"},
            {"id": "b", "kind": "free_text", "when": {"question": "c", "is": "answered"}},
            {"id": "c", "kind": "single_choice", "text": {"en": "?"}, "options": [{"id": "x", "label": {"en": "X"}}]},
            {"id": "d", "kind": "identifier", "pattern": "[0-9]{4}", "example": "12", "text": {"en": "Id?"}},
            {"id": "e", "kind": "identifier", "pattern": "([", "example": "x", "text": {"en": "Id?"}},
            {"id": "f", "kind": "phone", "default_region": "XX"},
            {"id": "g", "kind": "consent", "policy_url": "ftp://x", "required": false},
            {"id": "h", "kind": "free_text", "when": {"question": "a", "is": "negative"}},
            {"id": "i", "kind": "free_text", "when": {"question": "c", "is": {"any_of": ["nope"]}}}
        ]
    }))
    .unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "max_attempts",
            "questions[0].text",
            "questions[1].id",
            "questions[2].when.question",
            "questions[3].options",
            "questions[4].example",
            "questions[5].pattern",
            "questions[6].default_region",
            "questions[7].policy_url",
            "questions[7].required",
            "questions[8].when.is",
            "questions[9].when.is",
        ],
        "{problems:#?}"
    );
    let unknown = Questionnaire::from_json(json!({"questions": [{"id": "a", "kind": "essay"}]})).unwrap_err();
    assert_eq!(unknown[0].field, "questions[0]");
    assert!(unknown[0].problem.contains("essay"), "{unknown:?}");
}

#[test]
fn shipped_texts_stand_in_for_the_standard_questions() {
    let catalog = Catalog::shipped();
    let questionnaire = prechat();
    let email = questionnaire.question(&id("email")).unwrap();
    assert_eq!(questionnaire.prompt(email, Locale::Es, catalog), "¿Cuál es su correo electrónico?");
    let order = questionnaire.question(&id("order_id")).unwrap();
    assert_eq!(questionnaire.prompt(order, Locale::Es, catalog), "¿Cuál es su número de pedido?");
    // No French text of its own and no shipped one: the default locale's.
    assert_eq!(questionnaire.prompt(order, Locale::Fr, catalog), "What's your order number?");
    let consent = questionnaire.question(&id("consent")).unwrap();
    assert!(questionnaire.prompt(consent, Locale::De, catalog).ends_with("https://example.com/privacy"));
    assert_eq!(
        catalog.reask(Locale::Es, Invalid::NotAnEmail, email),
        "Eso no parece un correo electrónico. Envíelo así: nombre@ejemplo.com."
    );
    assert_eq!(
        catalog.reask(Locale::En, Invalid::NotTheId, order),
        "That doesn't look right. Please send it like AB123456."
    );
    let effort = postchat();
    let ces = effort.question(&id("effort")).unwrap();
    assert!(catalog.reask(Locale::Ja, Invalid::NotAScore, ces).contains('7'));
    let resolved = effort.question(&id("resolved")).unwrap();
    assert_eq!(effort.prompt(resolved, Locale::Ko, catalog), "문제가 해결되었나요?");
    let inquiry = questionnaire.question(&id("inquiry")).unwrap();
    assert_eq!(questionnaire.option_label(&inquiry.kind.options()[0], Locale::Es), "Facturación");
    assert_eq!(questionnaire.option_label(&inquiry.kind.options()[2], Locale::Ja), "Something else");
}

#[test]
fn every_locale_reads_yes_and_no() {
    let cases = [
        (Locale::En, "yes", Some(true)),
        (Locale::En, "Not really", Some(false)),
        (Locale::En, "no, it still fails", Some(false)),
        (Locale::En, "nothing", None),
        (Locale::En, "Nope!", Some(false)),
        (Locale::Es, "Sí", Some(true)),
        (Locale::Es, "si, gracias", Some(true)),
        (Locale::Es, "todavía no", Some(false)),
        (Locale::PtBr, "não", Some(false)),
        (Locale::Fr, "Oui !", Some(true)),
        (Locale::De, "Nein", Some(false)),
        (Locale::Ja, "はい", Some(true)),
        (Locale::Ja, "いいえ、まだです", Some(false)),
        (Locale::Ko, "네", Some(true)),
        (Locale::ZhCn, "是的，谢谢", Some(true)),
        (Locale::ZhCn, "没有解决", Some(false)),
        (Locale::ZhCn, "对不起", None),
        (Locale::ZhTw, "沒有", Some(false)),
        (Locale::Ar, "نعم", Some(true)),
        (Locale::Ru, "нет", Some(false)),
        (Locale::Id, "belum", Some(false)),
        (Locale::Id, "yes", Some(true)),
        (Locale::De, "👍", Some(true)),
    ];
    for (locale, text, expected) in cases {
        assert_eq!(answer::read_yes_no(text, locale), expected, "{locale} {text:?}");
    }
}

#[test]
fn every_kind_reads_its_answers_and_says_what_was_wrong() {
    let stars = json!({"kind": "rating", "scale": "stars:5"});
    assert_eq!(
        read(stars.clone(), "4/5", Locale::En),
        Ok(Read::Answer(AnswerValue::Score(crate::Scale::FIVE_STARS.score(4).unwrap())))
    );
    assert_eq!(read(stars.clone(), "cinco estrellas", Locale::Es).map(|_| ()), Ok(()));
    assert_eq!(read(stars, "hello", Locale::En), Err(Invalid::NotAScore));
    assert_eq!(read(json!({"kind": "ces"}), "6", Locale::En).map(|_| ()), Ok(()));
    assert_eq!(read(json!({"kind": "ces"}), "9", Locale::En), Err(Invalid::NotAScore));
    assert_eq!(read(json!({"kind": "yes_no"}), "maybe", Locale::En), Err(Invalid::NotYesOrNo));

    let options = json!({"kind": "multiple_choice", "options": [
        {"id": "billing", "label": {"en": "Billing", "es": "Facturación"}},
        {"id": "late", "label": {"en": "Late delivery"}},
        {"id": "other", "label": {"en": "Other"}}
    ]});
    let choices = |ids: &[&str]| Ok(Read::Answer(AnswerValue::Choices(ids.iter().map(|i| id(i)).collect())));
    assert_eq!(read(options.clone(), "1, 3", Locale::En), choices(&["billing", "other"]));
    assert_eq!(read(options.clone(), "1 3", Locale::En), choices(&["billing", "other"]));
    assert_eq!(read(options.clone(), "facturacion y 2", Locale::Es), choices(&["billing", "late"]));
    assert_eq!(read(options.clone(), "Billing und 3", Locale::De), choices(&["billing", "other"]));
    assert_eq!(read(options.clone(), "Billing or 3", Locale::En), Err(Invalid::NotAnOption));
    assert_eq!(read(options.clone(), "Late delivery and billing", Locale::En), choices(&["late", "billing"]));
    assert_eq!(read(options.clone(), "4", Locale::En), Err(Invalid::NotAnOption));
    let mut single = options;
    single["kind"] = json!("single_choice");
    assert_eq!(read(single.clone(), "FACTURACIÓN", Locale::Es), Ok(Read::Answer(AnswerValue::Choice(id("billing")))));
    assert_eq!(read(single, "1, 2", Locale::En), Err(Invalid::NotAnOption));

    assert_eq!(read(json!({"kind": "name"}), "Me llamo Ana María", Locale::Es), text("Ana María"));
    assert_eq!(read(json!({"kind": "name"}), "王小明", Locale::ZhCn), text("王小明"));
    assert_eq!(read(json!({"kind": "name"}), "ana@example.com", Locale::En), Err(Invalid::NotAName));
    assert_eq!(read(json!({"kind": "name"}), "12345", Locale::En), Err(Invalid::NotAName));

    let email = json!({"kind": "email"});
    assert_eq!(read(email.clone(), "mi correo es Ana.Gil@Example.COM.", Locale::Es), text("Ana.Gil@example.com"));
    for wrong in ["ana@", "ana at example dot com", "ana@example", "a@b.com c@d.com"] {
        assert_eq!(read(email.clone(), wrong, Locale::En), Err(Invalid::NotAnEmail), "{wrong}");
    }

    let spain = json!({"kind": "phone", "default_region": "ES"});
    assert_eq!(read(spain.clone(), "612 34 56 78", Locale::Es), text("+34612345678"));
    assert_eq!(read(spain.clone(), "0034 612-345-678", Locale::Es), text("+34612345678"));
    assert_eq!(read(spain.clone(), "+49 151 23456789", Locale::Es), text("+4915123456789"));
    assert_eq!(read(spain, "12", Locale::Es), Err(Invalid::NotAPhone));
    assert_eq!(read(json!({"kind": "phone"}), "612 34 56 78", Locale::Es), Err(Invalid::NotAPhone));

    let order =
        json!({"kind": "identifier", "pattern": "[A-Z]{2}[0-9]{6}", "example": "AB123456", "case_insensitive": true});
    assert_eq!(read(order.clone(), "my order is #ab123456.", Locale::En), text("AB123456"));
    assert_eq!(read(order.clone(), "AB12345", Locale::En), Err(Invalid::NotTheId));
    assert_eq!(read(order, "AB123456 or CD654321", Locale::En), Err(Invalid::NotTheId));

    let on = |y, m, d| Ok(Read::Answer(AnswerValue::Date(date(y, m, d))));
    let day = json!({"kind": "date"});
    assert_eq!(read(day.clone(), "2026-12-31", Locale::En), on(2026, 12, 31));
    assert_eq!(read(day.clone(), "31/12/2026", Locale::Es), on(2026, 12, 31));
    assert_eq!(read(day.clone(), "12/31/2026", Locale::En), on(2026, 12, 31));
    assert_eq!(read(day.clone(), "2026年12月31日", Locale::ZhCn), on(2026, 12, 31));
    assert_eq!(read(day.clone(), "03/04/2026", Locale::En), Err(Invalid::AmbiguousDate));
    assert_eq!(read(day.clone(), "04/04/2026", Locale::En), on(2026, 4, 4));
    assert_eq!(read(day.clone(), "32/01/2026", Locale::En), Err(Invalid::NotADate));
    assert_eq!(read(day, "tomorrow", Locale::En), Err(Invalid::NotADate));

    let optional = json!({"kind": "free_text", "required": false});
    assert_eq!(read(optional.clone(), "saltar", Locale::Es), Ok(Read::Declined));
    assert_eq!(read(optional, "  ", Locale::En), Err(Invalid::Empty));
    assert_eq!(read(json!({"kind": "email"}), "skip", Locale::En), Err(Invalid::Required));
}

#[test]
fn a_prechat_in_spanish_asks_an_invalid_email_again_then_takes_it() {
    let questionnaire = prechat();
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    assert_eq!(asked(&start), Some(("name", None)));
    let step = reply(&start.run, &questionnaire, "Me llamo Ana", Locale::Es);
    assert_eq!(asked(&step), Some(("email", None)));
    let step = reply(&step.run, &questionnaire, "ana arroba example", Locale::Es);
    assert_eq!(asked(&step), Some(("email", Some(Invalid::NotAnEmail))));
    assert_eq!(step.run.asking(), Some((id("email"), 2)));
    let step = reply(&step.run, &questionnaire, "ana@example.com", Locale::Es);
    assert_eq!(asked(&step), Some(("order_id", None)));
    let step = reply(&step.run, &questionnaire, "saltar", Locale::Es);
    assert_eq!(asked(&step), Some(("inquiry", None)));
    let step = reply(&step.run, &questionnaire, "Envío", Locale::Es);
    assert_eq!(asked(&step), Some(("consent", None)));
    let step = reply(&step.run, &questionnaire, "sí", Locale::Es);
    assert_eq!(step.said(), Some(&Say::Close));
    assert!(step.effects.contains(&Effect::Finished));
    let run = step.run;
    assert!(matches!(run.status, RunStatus::Completed { .. }));
    assert_eq!(run.answer(&id("email")), Some(&AnswerValue::Text("ana@example.com".into())));
    assert_eq!(run.answer(&id("inquiry")), Some(&AnswerValue::Choice(id("shipping"))));
    let email = run.outcomes.iter().find(|o| o.question == id("email")).unwrap();
    assert_eq!(email.invalid_replies, 1);
    let order = run.outcomes.iter().find(|o| o.question == id("order_id")).unwrap();
    assert_eq!(order.outcome, Outcome::Skipped { cause: SkipCause::Declined });
    // What is written after it is over is not an answer: the caller passes it on.
    let labels = Labels::default();
    let later = run.step(&questionnaire, RunEvent::Reply { text: "hola", locale: Locale::Es, labels: &labels }, now());
    assert_eq!(later, Err(RunRefusal::Finished));
}

#[test]
fn what_the_contact_already_gave_is_not_asked() {
    let questionnaire = prechat();
    let known = BTreeMap::from([
        (id("name"), AnswerValue::Text("Ana".into())),
        (id("email"), AnswerValue::Text("ana@example.com".into())),
        // A value that can't answer its question is asked for all the same.
        (id("inquiry"), AnswerValue::Text("billing".into())),
    ]);
    let start = Run::start(&questionnaire, &known, now());
    assert_eq!(asked(&start), Some(("order_id", None)));
    assert!(matches!(start.run.outcomes[0].outcome, Outcome::Answered { known: true, .. }));
    let all = BTreeMap::from([
        (id("name"), AnswerValue::Text("Ana".into())),
        (id("email"), AnswerValue::Text("ana@example.com".into())),
        (id("order_id"), AnswerValue::Text("AB123456".into())),
        (id("inquiry"), AnswerValue::Choice(id("billing"))),
        (id("consent"), AnswerValue::YesNo(true)),
    ]);
    let start = Run::start(&questionnaire, &all, now());
    assert_eq!(start.said(), Some(&Say::Close));
    assert!(start.effects.contains(&Effect::Finished));
}

#[test]
fn a_refused_consent_ends_the_questionnaire() {
    let questionnaire = prechat();
    let known = BTreeMap::from([
        (id("name"), AnswerValue::Text("Ana".into())),
        (id("email"), AnswerValue::Text("ana@example.com".into())),
        (id("order_id"), AnswerValue::Text("AB123456".into())),
        (id("inquiry"), AnswerValue::Choice(id("billing"))),
        // A refusal known from before is no consent: asked again.
        (id("consent"), AnswerValue::YesNo(false)),
    ]);
    let start = Run::start(&questionnaire, &known, now());
    assert_eq!(asked(&start), Some(("consent", None)));
    let step = reply(&start.run, &questionnaire, "no", Locale::En);
    assert_eq!(step.said(), Some(&Say::End(EndCause::ConsentRefused(id("consent")))));
    assert!(matches!(step.run.status, RunStatus::Ended { .. }));
}

#[test]
fn attempts_run_out_into_a_skip_or_the_end() {
    let mut questionnaire = prechat();
    questionnaire.max_attempts = 2;
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    let step = reply(&start.run, &questionnaire, "Ana", Locale::En);
    let step = reply(&step.run, &questionnaire, "nope", Locale::En);
    assert_eq!(asked(&step), Some(("email", Some(Invalid::NotAnEmail))));
    let skipped = reply(&step.run, &questionnaire, "still nope", Locale::En);
    assert_eq!(asked(&skipped), Some(("order_id", None)));
    let email = skipped.run.outcomes.iter().find(|o| o.question == id("email")).unwrap();
    assert_eq!(
        (email.outcome.clone(), email.invalid_replies),
        (Outcome::Skipped { cause: SkipCause::AttemptsRanOut }, 1)
    );

    questionnaire.when_attempts_run_out = WhenAttemptsRunOut::End;
    let ended = reply(&step.run, &questionnaire, "still nope", Locale::En);
    assert_eq!(ended.said(), Some(&Say::End(EndCause::AttemptsRanOut(id("email")))));
    // An optional question is skipped whatever the setting.
    let step = reply(&skipped.run, &questionnaire, "12", Locale::En);
    let step = reply(&step.run, &questionnaire, "34", Locale::En);
    assert_eq!(asked(&step), Some(("inquiry", None)));
}

#[test]
fn a_post_chat_survey_asks_for_more_only_after_not_resolved() {
    let questionnaire = postchat();
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    assert_eq!(asked(&start), Some(("rating", None)));
    // A good rating: no reason.
    let good = reply(&start.run, &questionnaire, "5", Locale::En);
    assert_eq!(asked(&good), Some(("resolved", None)));
    let yes = reply(&good.run, &questionnaire, "yes", Locale::En);
    assert_eq!(asked(&yes), Some(("effort", None)));
    // A low rating: the reason, then resolved? no → tell us more → effort.
    let low = reply(&start.run, &questionnaire, "2", Locale::En);
    assert_eq!(asked(&low), Some(("reason", None)));
    let step = reply(&low.run, &questionnaire, "Too slow", Locale::En);
    assert_eq!(asked(&step), Some(("resolved", None)));
    let step = reply(&step.run, &questionnaire, "no, still broken", Locale::En);
    assert_eq!(asked(&step), Some(("more", None)));
    let step = reply(&step.run, &questionnaire, "The app still crashes on login", Locale::En);
    assert_eq!(asked(&step), Some(("effort", None)));
    let done = reply(&step.run, &questionnaire, "2", Locale::En);
    assert_eq!(done.said(), Some(&Say::Close));
    assert_eq!(done.run.answer(&id("more")), Some(&AnswerValue::Text("The app still crashes on login".into())));
}

#[test]
fn a_changed_rating_asks_what_now_applies_and_drops_what_no_longer_does() {
    let questionnaire = postchat();
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    let low = reply(&start.run, &questionnaire, "1", Locale::En);
    let reason = reply(&low.run, &questionnaire, "1", Locale::En);
    assert_eq!(reason.run.answer(&id("reason")), Some(&AnswerValue::Choice(id("slow"))));
    // Changed to five stars while "resolved?" is asked: the reason no longer applies.
    let rating = id("rating");
    let changed = reason.run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "5" }, now()).unwrap();
    assert!(changed.effects.contains(&Effect::Changed(rating.clone())));
    assert_eq!(asked(&changed), Some(("resolved", None)));
    assert_eq!(changed.run.answer(&id("reason")), None);
    // And back to one star: the reason is asked again, before "resolved?".
    let back = changed.run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "1" }, now()).unwrap();
    assert_eq!(asked(&back), Some(("reason", None)));
    // Not a changeable question, or not asked yet: refused.
    let reason_id = id("reason");
    let fixed = reason.run.step(&questionnaire, RunEvent::Tap { question: &reason_id, option: "unfriendly" }, now());
    assert_eq!(fixed, Err(RunRefusal::NotChangeable(reason_id)));
    let effort = id("effort");
    let not_asked = reason.run.step(&questionnaire, RunEvent::Tap { question: &effort, option: "3" }, now());
    assert_eq!(not_asked, Err(RunRefusal::NotAsked(effort)));
    let wrong = reason.run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "9" }, now());
    assert!(matches!(wrong, Err(RunRefusal::UnknownOption { .. })));
}

#[test]
fn changes_after_completion_close_with_the_change_window() {
    let questionnaire = postchat();
    let rating = id("rating");
    let mut run = Run::start(&questionnaire, &BTreeMap::new(), now()).run;
    for text in ["4", "yes", "skip"] {
        run = reply(&run, &questionnaire, text, Locale::En).run;
    }
    assert!(matches!(run.status, RunStatus::Completed { .. }), "{:?}", run.status);
    let within = now() + SignedDuration::from_hours(23);
    let changed = run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "5" }, within).unwrap();
    assert_eq!(changed.said(), Some(&Say::Close));
    assert!(!changed.effects.contains(&Effect::Finished), "the business heard of the end once");
    let late = now() + SignedDuration::from_hours(25);
    let refused = run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "5" }, late);
    assert_eq!(refused, Err(RunRefusal::ChangesClosed));
    // A change to a low rating reopens the run for the reason.
    let reopened = run.step(&questionnaire, RunEvent::Tap { question: &rating, option: "1" }, within).unwrap();
    assert_eq!(asked(&reopened), Some(("reason", None)));
}

#[test]
fn an_abandoned_run_says_nothing_and_takes_nothing_more() {
    let questionnaire = prechat();
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    let step = reply(&start.run, &questionnaire, "Ana", Locale::En);
    let abandoned = step.run.step(&questionnaire, RunEvent::Abandon, now()).unwrap();
    assert_eq!(abandoned.said(), None);
    assert_eq!(abandoned.effects, [Effect::Finished]);
    assert_eq!(abandoned.run.status, RunStatus::Abandoned { at: now(), question: id("email"), invalid_replies: 0 });
    assert_eq!(abandoned.run.step(&questionnaire, RunEvent::Abandon, now()), Err(RunRefusal::Finished));
}

#[test]
fn a_rating_configuration_is_a_questionnaire_of_rating_reason_and_comment() {
    let catalog = Catalog::shipped();
    let config = SurveyConfig::default();
    let questionnaire = Questionnaire::of_rating(&config, catalog);
    assert_eq!(questionnaire.validate(), Ok(()));
    let ids: Vec<&str> = questionnaire.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["rating", "reason", "comment"]);
    let reason = questionnaire.question(&id("reason")).unwrap();
    assert_eq!(
        questionnaire.option_label(&reason.kind.options()[0], Locale::Es),
        catalog.reason(Locale::Es, "slow").unwrap()
    );
    let start = Run::start(&questionnaire, &BTreeMap::new(), now());
    let high = reply(&start.run, &questionnaire, "5", Locale::En);
    assert_eq!(asked(&high), Some(("comment", None)));
    let low = reply(&start.run, &questionnaire, "1", Locale::En);
    assert_eq!(asked(&low), Some(("reason", None)));
    let bare = SurveyConfig { follow_up_comment: false, low_rating_reasons: vec![], ..SurveyConfig::default() };
    let questionnaire = Questionnaire::of_rating(&bare, catalog);
    let done = reply(&Run::start(&questionnaire, &BTreeMap::new(), now()).run, &questionnaire, "1", Locale::En);
    assert_eq!(done.said(), Some(&Say::Close));
}

/// Replies that read as answers to some kinds and not to others.
const REPLIES: [&str; 16] = [
    "yes",
    "no",
    "1",
    "2",
    "5",
    "7",
    "skip",
    "ana@example.com",
    "Ana",
    "AB123456",
    "2026-01-31",
    "+34 612 34 56 78",
    "hello there",
    "",
    "billing",
    "1, 2",
];

fn kind_strategy() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!({"kind": "rating", "scale": "stars:5"})),
        Just(json!({"kind": "ces"})),
        Just(json!({"kind": "yes_no"})),
        Just(json!({"kind": "single_choice", "options": [
            {"id": "billing", "label": {"en": "Billing"}}, {"id": "other", "label": {"en": "Other"}}]})),
        Just(json!({"kind": "multiple_choice", "options": [
            {"id": "billing", "label": {"en": "Billing"}}, {"id": "other", "label": {"en": "Other"}}]})),
        Just(json!({"kind": "free_text"})),
        Just(json!({"kind": "name"})),
        Just(json!({"kind": "email"})),
        Just(json!({"kind": "phone"})),
        Just(json!({"kind": "identifier", "pattern": "[A-Z]{2}[0-9]{6}", "example": "AB123456"})),
        Just(json!({"kind": "date"})),
        Just(json!({"kind": "consent", "policy_url": "https://example.com/p"})),
    ]
}

/// A condition that fits the kind of question `target`, or none.
fn condition_for(target: &serde_json::Value, pick: u8) -> serde_json::Value {
    let kind = target["kind"].as_str().unwrap();
    let fitting: Vec<serde_json::Value> = match kind {
        "rating" | "ces" => vec![json!("negative"), json!("positive"), json!({"score_at_most": 2})],
        "yes_no" | "consent" => vec![json!("yes"), json!("no")],
        "single_choice" | "multiple_choice" => vec![json!({"any_of": ["billing"]})],
        _ => vec![],
    };
    let all: Vec<serde_json::Value> = fitting.into_iter().chain([json!("answered"), json!("skipped")]).collect();
    all[usize::from(pick) % all.len()].clone()
}

prop_compose! {
    fn questionnaire_strategy()(
        kinds in prop::collection::vec((kind_strategy(), any::<bool>(), any::<Option<(u8, u8)>>()), 1..7),
        max_attempts in 1u8..=3,
        end_when_out in any::<bool>(),
    ) -> Questionnaire {
        let mut questions = Vec::new();
        for (index, (kind, required, condition)) in kinds.iter().enumerate() {
            let mut question = kind.clone();
            let object = question.as_object_mut().unwrap();
            object.insert("id".into(), json!(format!("q{index}")));
            object.insert("text".into(), json!({"en": format!("Question {index}?")}));
            let consent = kind["kind"] == "consent";
            object.insert("required".into(), json!(*required || consent));
            object.insert("changeable".into(), json!(true));
            if let (Some((target, pick)), true) = (condition, index > 0) {
                let target = usize::from(*target) % index;
                object.insert("when".into(), json!({
                    "question": format!("q{target}"),
                    "is": condition_for(&kinds[target].0, *pick),
                }));
            }
            questions.push(question);
        }
        Questionnaire::from_json(json!({
            "questions": questions,
            "max_attempts": max_attempts,
            "when_attempts_run_out": if end_when_out { "end" } else { "skip" },
        })).unwrap()
    }
}

/// The invariants of a run at rest: the question asked is the first that applies and has no
/// outcome; every outcome is of a question that applies; no question is asked more often than
/// the attempts allow.
fn check_invariants(questionnaire: &Questionnaire, run: &Run) -> Result<(), TestCaseError> {
    for outcome in &run.outcomes {
        let question = questionnaire.question(&outcome.question).unwrap();
        prop_assert!(
            run::applies_to(question, &run.outcomes, questionnaire),
            "{} kept but does not apply",
            outcome.question
        );
        prop_assert!(outcome.invalid_replies < questionnaire.max_attempts);
    }
    match &run.status {
        RunStatus::Asking { question, attempt } => {
            let next = next_question(questionnaire, &run.outcomes).map(|q| &q.id);
            prop_assert_eq!(next, Some(question));
            prop_assert!((1..=questionnaire.max_attempts).contains(attempt));
        }
        RunStatus::Completed { .. } => prop_assert!(next_question(questionnaire, &run.outcomes).is_none()),
        RunStatus::Ended { .. } | RunStatus::Abandoned { .. } => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever is replied, every reply while a question is asked gets exactly one thing said,
    /// the run keeps its invariants, and it finishes within (questions × attempts) replies.
    #[test]
    fn every_reply_gets_one_answer_and_the_run_always_finishes(
        questionnaire in questionnaire_strategy(),
        replies in prop::collection::vec(0..REPLIES.len(), 0..60),
        locale in prop::sample::select(Locale::ALL.to_vec()),
    ) {
        let labels = Labels::default();
        let start = Run::start(&questionnaire, &BTreeMap::new(), now());
        prop_assert_eq!(start.effects.iter().filter(|e| matches!(e, Effect::Say(_))).count(), 1);
        let mut run = start.run;
        check_invariants(&questionnaire, &run)?;
        let bound = questionnaire.questions.len() * usize::from(questionnaire.max_attempts);
        let mut taken = 0;
        for &reply in &replies {
            let event = RunEvent::Reply { text: REPLIES[reply], locale, labels: &labels };
            match run.step(&questionnaire, event, now()) {
                Ok(step) => {
                    taken += 1;
                    prop_assert_eq!(step.effects.iter().filter(|e| matches!(e, Effect::Say(_))).count(), 1);
                    prop_assert_eq!(step.effects.contains(&Effect::Finished), step.run.is_finished());
                    prop_assert_eq!(step.run.revision, run.revision + 1);
                    run = step.run;
                    check_invariants(&questionnaire, &run)?;
                }
                Err(refusal) => {
                    prop_assert_eq!(refusal, RunRefusal::Finished);
                    prop_assert!(run.is_finished());
                }
            }
            prop_assert!(taken <= bound, "{taken} replies taken, more than {bound}");
        }
        // The same replies again give the same run: nothing is read but the events.
        let mut replayed = Run::start(&questionnaire, &BTreeMap::new(), now()).run;
        for &reply in &replies {
            let event = RunEvent::Reply { text: REPLIES[reply], locale, labels: &labels };
            if let Ok(step) = replayed.step(&questionnaire, event, now()) {
                replayed = step.run;
            }
        }
        prop_assert_eq!(replayed, run);
    }

    /// Taps on changeable questions answered before keep the invariants too.
    #[test]
    fn changes_keep_the_invariants(
        questionnaire in questionnaire_strategy(),
        events in prop::collection::vec((any::<bool>(), 0..REPLIES.len(), 0usize..7, 0u8..8), 0..40),
    ) {
        let labels = Labels::default();
        let mut run = Run::start(&questionnaire, &BTreeMap::new(), now()).run;
        for (tap, reply, question, option) in events {
            let options = ["yes", "no", "billing", "other", "1", "2", "5", "7"];
            let target = questionnaire.questions[question % questionnaire.questions.len()].id.clone();
            let event = if tap {
                RunEvent::Tap { question: &target, option: options[usize::from(option)] }
            } else {
                RunEvent::Reply { text: REPLIES[reply], locale: Locale::En, labels: &labels }
            };
            if let Ok(step) = run.step(&questionnaire, event, now()) {
                prop_assert!(step.effects.iter().filter(|e| matches!(e, Effect::Say(_))).count() <= 1);
                run = step.run;
                check_invariants(&questionnaire, &run)?;
            }
        }
    }
}

#[test]
fn finished_prechats_tally_into_a_report_of_completion_and_drop_off() {
    let questionnaire = prechat();
    let known = BTreeMap::from([(id("name"), AnswerValue::Text("Ana".into()))]);
    let mut tallies: BTreeMap<String, i64> = BTreeMap::new();
    let mut add = |run: &Run| {
        *tallies.entry(report::STARTED.to_owned()).or_default() += 1;
        for (name, amount) in report::finished(run) {
            *tallies.entry(name).or_default() += amount;
        }
    };
    // Completed, the email asked twice; the name was known, so not asked.
    let mut run = Run::start(&questionnaire, &known, now()).run;
    for text in ["nope", "ana@example.com", "skip", "1", "yes"] {
        run = reply(&run, &questionnaire, text, Locale::En).run;
    }
    assert!(matches!(run.status, RunStatus::Completed { .. }));
    add(&run);
    // Abandoned at the email after one unreadable reply.
    let mut run = Run::start(&questionnaire, &BTreeMap::new(), now()).run;
    run = reply(&run, &questionnaire, "Ana", Locale::En).run;
    run = reply(&run, &questionnaire, "nope", Locale::En).run;
    add(&run.step(&questionnaire, RunEvent::Abandon, now()).unwrap().run);
    // Ended at the consent.
    let mut run = Run::start(&questionnaire, &known, now()).run;
    for text in ["ana@example.com", "skip", "2", "no"] {
        run = reply(&run, &questionnaire, text, Locale::En).run;
    }
    add(&run);
    // Under way: adds nothing but its start.
    let under_way = Run::start(&questionnaire, &BTreeMap::new(), now()).run;
    assert_eq!(report::finished(&under_way), []);

    let report = report::PrechatReport::from_tallies(&tallies);
    assert_eq!((report.started, report.completed, report.ended, report.abandoned), (3, 1, 1, 1));
    assert_eq!(report.completion_rate, Some(1.0 / 3.0));
    let email = report.questions.iter().find(|q| q.question == "email").unwrap();
    assert_eq!((email.reached, email.answered, email.stopped, email.invalid_replies), (3, 2, 1, 2));
    assert_eq!(email.drop_off_rate, Some(1.0 / 3.0));
    let name = report.questions.iter().find(|q| q.question == "name").unwrap();
    assert_eq!((name.reached, name.answered), (1, 1), "known names count nowhere");
    let consent = report.questions.iter().find(|q| q.question == "consent").unwrap();
    assert_eq!((consent.reached, consent.answered, consent.stopped), (2, 2, 1));
    let order = report.questions.iter().find(|q| q.question == "order_id").unwrap();
    assert_eq!((order.reached, order.skipped), (2, 2));
    assert_eq!(report.questions[0].question, "email", "the most reached first");
    assert_eq!(report::PrechatReport::from_tallies(&BTreeMap::new()).completion_rate, None);
}
