use proptest::prelude::*;

use super::*;
use crate::catalog::Catalog;

const FIVE: Scale = Scale::FIVE_STARS;
const NPS: Scale = Scale::NPS;

fn read(text: &str, scale: Scale, locale: Locale) -> Understanding {
    let labels = Labels::new(Catalog::shipped().default_labels(locale, scale));
    understand(text, scale, locale, &labels)
}

/// `(locale, scale, text, score, comment)` rows that must read as that rating.
fn assert_ratings(rows: &[(Locale, Scale, &str, u8, Option<&str>)]) {
    for &(locale, scale, text, score, comment) in rows {
        let expected =
            Understanding::Rating { score: scale.score(score.into()).unwrap(), comment: comment.map(str::to_owned) };
        assert_eq!(read(text, scale, locale), expected, "{locale} {scale}: {text:?}");
    }
}

/// `(locale, scale, text, reason)` rows that must not read as a rating.
fn assert_refused(rows: &[(Locale, Scale, &str, NoRating)]) {
    for &(locale, scale, text, reason) in rows {
        assert_eq!(read(text, scale, locale), Understanding::NoRating(reason), "{locale} {scale}: {text:?}");
    }
}

use Locale::*;
use NoRating::*;

#[test]
fn digits_in_every_script() {
    assert_ratings(&[
        (En, FIVE, "4", 4, None),
        (En, FIVE, "  5  ", 5, None),
        (ZhCn, FIVE, "５", 5, None),
        (Ja, FIVE, "３", 3, None),
        (Ar, FIVE, "٤", 4, None),
        (Ar, FIVE, "۵", 5, None),
        (En, FIVE, "४", 4, None),
        (En, NPS, "0", 0, None),
        (En, NPS, "10", 10, None),
        (En, NPS, "１０", 10, None),
        (En, FIVE, "05", 5, None),
    ]);
}

#[test]
fn fractions_over_the_scale_maximum() {
    assert_ratings(&[
        (En, FIVE, "4/5", 4, None),
        (En, FIVE, "4 / 5", 4, None),
        (En, NPS, "8/10", 8, None),
        (En, FIVE, "4 out of 5", 4, None),
        (En, FIVE, "four out of five", 4, None),
        (Es, FIVE, "4 de 5", 4, None),
        (Es, FIVE, "4 sobre 5", 4, None),
        (PtBr, FIVE, "4 de 5", 4, None),
        (Fr, FIVE, "4 sur 5", 4, None),
        (De, FIVE, "4 von 5", 4, None),
        (Ru, FIVE, "4 из 5", 4, None),
        (Id, FIVE, "3 dari 5", 3, None),
        (Ar, FIVE, "٤ من ٥", 4, None),
        (ZhCn, FIVE, "４／５", 4, None),
        (En, NPS, "10/10 would recommend", 10, Some("would recommend")),
    ]);
    assert_refused(&[
        (En, FIVE, "8/10", OutOfRange),
        (En, FIVE, "6/5", OutOfRange),
        (En, FIVE, "12/25", NotARating),
        (En, FIVE, "4/5/2024", NotARating),
        (En, FIVE, "4/", NotARating),
        (Es, FIVE, "5 de mayo", NotARating),
    ]);
}

#[test]
fn number_words_of_the_locale_and_english() {
    assert_ratings(&[
        (En, FIVE, "five", 5, None),
        (En, FIVE, "Four!", 4, None),
        (Es, FIVE, "cinco", 5, None),
        (Es, FIVE, "five", 5, None),
        (PtBr, FIVE, "três", 3, None),
        (PtBr, FIVE, "tres", 3, None),
        (Fr, FIVE, "cinq", 5, None),
        (De, FIVE, "Fünf", 5, None),
        (Ru, FIVE, "пять", 5, None),
        (Ko, FIVE, "다섯", 5, None),
        (ZhCn, FIVE, "五", 5, None),
        (ZhTw, FIVE, "四", 4, None),
        (Ja, FIVE, "三", 3, None),
        (Id, FIVE, "lima", 5, None),
        (Ar, FIVE, "خمسة", 5, None),
        (En, NPS, "zero", 0, None),
        (ZhCn, NPS, "十", 10, None),
    ]);
    assert_refused(&[
        (En, FIVE, "cinco", NotARating),
        (En, FIVE, "oneself", NotARating),
        (ZhCn, FIVE, "一下", NotARating),
        (Ja, FIVE, "一番", NotARating),
        (ZhCn, FIVE, "二十", NotARating),
    ]);
}

#[test]
fn numbers_with_rating_units() {
    assert_ratings(&[
        (En, FIVE, "5 stars", 5, None),
        (En, FIVE, "1 star", 1, None),
        (En, NPS, "5 points", 5, None),
        (En, FIVE, "5stars", 5, None),
        (Es, FIVE, "5 estrellas", 5, None),
        (Es, FIVE, "cinco estrellas", 5, None),
        (PtBr, FIVE, "5 estrelas", 5, None),
        (Fr, FIVE, "4 étoiles", 4, None),
        (De, FIVE, "4 Sterne", 4, None),
        (Ru, FIVE, "5 звёзд", 5, None),
        (Ru, FIVE, "4 балла", 4, None),
        (Id, FIVE, "5 bintang", 5, None),
        (Ar, FIVE, "5 نجوم", 5, None),
        (ZhCn, FIVE, "5星", 5, None),
        (ZhCn, FIVE, "五星", 5, None),
        (ZhCn, FIVE, "5分", 5, None),
        (ZhTw, FIVE, "五顆星", 5, None),
        (Ja, FIVE, "星5", 5, None),
        (Ja, FIVE, "星５つ", 5, None),
        (Ja, FIVE, "5つ星", 5, None),
        (Ja, FIVE, "4点", 4, None),
        (Ja, FIVE, "4点です", 4, None),
        (Ko, FIVE, "5점", 5, None),
        (Ko, FIVE, "5점이요", 5, None),
        (Ko, FIVE, "별 5개", 5, None),
        (En, FIVE, "5⭐", 5, None),
        (En, FIVE, "★5", 5, None),
        (Ja, FIVE, "★４", 4, None),
    ]);
    assert_refused(&[
        (En, FIVE, "6 stars", OutOfRange),
        (ZhCn, FIVE, "5分钟", NotARating),
        (ZhCn, FIVE, "一星期", NotARating),
        (ZhCn, FIVE, "五星级酒店", NotARating),
        (ZhCn, NPS, "十分满意吗", NotARating),
        (Ja, FIVE, "5分", NotARating),
        (ZhCn, FIVE, "5点", NotARating),
        (Ko, FIVE, "별로", NotARating),
    ]);
}

#[test]
fn star_glyph_runs() {
    assert_ratings(&[
        (En, FIVE, "⭐⭐⭐⭐", 4, None),
        (En, FIVE, "⭐️⭐️⭐️⭐️⭐️", 5, None),
        (En, FIVE, "★★★☆☆", 3, None),
        (En, FIVE, "⭐ ⭐ ⭐", 3, None),
        (En, FIVE, "🌟🌟", 2, None),
        (En, FIVE, "***", 3, None),
        (En, FIVE, "*", 1, None),
        (En, FIVE, "⭐⭐⭐⭐⭐ Ana was great", 5, Some("Ana was great")),
        (En, FIVE, "5 ⭐⭐⭐⭐⭐", 5, None),
        (En, FIVE, "⭐⭐⭐⭐⭐ 5/5", 5, None),
    ]);
    assert_refused(&[
        (En, FIVE, "⭐⭐⭐⭐⭐⭐", OutOfRange),
        (En, FIVE, "☆☆☆☆☆", OutOfRange),
        (En, FIVE, "*great*", NotARating),
        (En, FIVE, "* first point", NotARating),
        (En, FIVE, "⭐⭐⭐⭐ 5", Ambiguous),
        (En, FIVE, "4 ⭐⭐", Ambiguous),
    ]);
}

#[test]
fn faces_on_the_face_scale_only() {
    let faces = Scale::Faces;
    assert_ratings(&[
        (En, faces, "😠", 1, None),
        (En, faces, "🙁", 2, None),
        (En, faces, "😐", 3, None),
        (En, faces, "😀", 4, None),
        (En, faces, "🤩", 5, None),
        (En, faces, "☹️", 2, None),
        (En, faces, "🤩 so quick", 5, Some("so quick")),
        (En, faces, "4", 4, None),
        (En, faces, "⭐⭐", 2, None),
    ]);
    assert_refused(&[(En, FIVE, "😀", NotARating), (En, faces, "😠😀", Ambiguous), (En, faces, "6", OutOfRange)]);
}

#[test]
fn labels_match_whole() {
    assert_ratings(&[
        (En, FIVE, "Satisfied", 4, None),
        (En, FIVE, "very SATISFIED!!", 5, None),
        (En, FIVE, "Very satisfied - Ana was great", 5, Some("Ana was great")),
        (ZhCn, FIVE, "非常满意", 5, None),
        (ZhCn, FIVE, "不满意", 2, None),
        (ZhCn, FIVE, "满意！", 4, None),
        (Fr, FIVE, "tres satisfait", 5, None),
    ]);
    let labels = Labels::new(
        [(1, "Not satisfied"), (5, "Satisfied")]
            .into_iter()
            .map(|(level, text)| (FIVE.score(level).unwrap(), text.to_owned()))
            .collect(),
    );
    let score = |n| FIVE.score(n).unwrap();
    assert_eq!(
        understand("not satisfied", FIVE, En, &labels),
        Understanding::Rating { score: score(1), comment: None }
    );
    assert_eq!(
        understand("Ｓａｔｉｓｆｉｅｄ.", FIVE, En, &labels),
        Understanding::Rating { score: score(5), comment: None }
    );
    assert_eq!(understand("Satisfied customers are rare", FIVE, En, &labels), Understanding::NoRating(NotARating));
    assert_eq!(understand("Satisf", FIVE, En, &labels), Understanding::NoRating(NotARating));
    assert_eq!(understand("not", FIVE, En, &labels), Understanding::NoRating(NotARating));
    let good = Labels::new([(score(4), "Good".to_owned())].into());
    assert_eq!(understand("Good morning, one more thing", FIVE, En, &good), Understanding::NoRating(NotARating));
}

#[test]
fn ratings_followed_by_comments() {
    assert_ratings(&[
        (En, FIVE, "5 - great service", 5, Some("great service")),
        (En, FIVE, "4, but slow", 4, Some("but slow")),
        (En, FIVE, "1. Terrible", 1, Some("Terrible")),
        (En, FIVE, "3\nok I guess", 3, Some("ok I guess")),
        (En, FIVE, "5!", 5, None),
        (En, FIVE, "5 👍", 5, Some("👍")),
        (En, FIVE, "5 stars great support", 5, Some("great support")),
        (En, FIVE, "5 - 2 agents helped me", 5, Some("2 agents helped me")),
        (ZhCn, FIVE, "五星，客服很耐心", 5, Some("客服很耐心")),
        (ZhCn, FIVE, "5星好评", 5, Some("好评")),
        (Es, FIVE, "cinco estrellas, muy amables", 5, Some("muy amables")),
        (Ar, FIVE, "٥، خدمة ممتازة", 5, Some("خدمة ممتازة")),
    ]);
}

#[test]
fn what_is_not_a_rating() {
    assert_refused(&[
        (En, FIVE, "", NotARating),
        (En, FIVE, "   ", NotARating),
        (En, FIVE, "order 12345", NotARating),
        (En, FIVE, "12345", NotARating),
        (En, FIVE, "3 hours waiting", NotARating),
        (En, FIVE, "5 minutes ago", NotARating),
        (En, FIVE, "5am", NotARating),
        (En, FIVE, "5:30", NotARating),
        (En, FIVE, "I have 2 questions", NotARating),
        (En, FIVE, "I have 2 more questions", NotARating),
        (En, FIVE, "2 more questions", NotARating),
        (Ja, FIVE, "3時間待った", NotARating),
        (En, FIVE, "5 great", NotARating),
        (En, FIVE, "not 5", NotARating),
        (En, FIVE, "great", NotARating),
        (En, FIVE, "thanks", NotARating),
        (ZhCn, FIVE, "好评", NotARating),
        (En, FIVE, "-5", NotARating),
        (En, FIVE, "+5", NotARating),
        (En, FIVE, "100%", NotARating),
        (En, FIVE, "#1", NotARating),
        (En, FIVE, "(5)", NotARating),
        (En, FIVE, "6", OutOfRange),
        (En, FIVE, "0", OutOfRange),
        (En, NPS, "11", OutOfRange),
        (En, FIVE, "4.5", Ambiguous),
        (De, FIVE, "4,5", Ambiguous),
        (En, FIVE, "4 or 5", Ambiguous),
        (Es, FIVE, "4 o 5", Ambiguous),
        (ZhCn, FIVE, "4或5", Ambiguous),
        (Ja, FIVE, "4か5", Ambiguous),
        (En, FIVE, "4-5", Ambiguous),
        (En, FIVE, "4 - 5", Ambiguous),
        (En, FIVE, "4, 5", Ambiguous),
        (En, FIVE, "4 5", Ambiguous),
        (En, FIVE, "4 stars, 5 stars", Ambiguous),
    ]);
}

/// Words that are never ratings, for wrapping non-ratings.
const FILLER: &[&str] = &[
    "order",
    "hours",
    "waiting",
    "thanks",
    "great",
    "questions",
    "please",
    "help",
    "am",
    "ago",
    "minutes",
    "I",
    "have",
    "more",
    "my",
    "ticket",
    "refund",
    "not",
    "again",
    "today",
    "envío",
    "пожалуйста",
    "谢谢",
    "待った",
];

proptest! {
    #[test]
    fn a_number_outside_the_scale_never_reads_as_that_number(
        n in 0u32..200, steps in 2u8..=10, min in 0u8..10, text_form in 0usize..4,
    ) {
        let max = (min + 1).max(steps).min(10);
        for scale in [Scale::stars(steps).unwrap(), Scale::numeric(min, max).unwrap()] {
            prop_assume!(!scale.contains(n));
            let text = match text_form {
                0 => n.to_string(),
                1 => format!("{n} stars"),
                2 => format!("{n}/{}", scale.max()),
                _ => format!("{n} - great"),
            };
            let reading = read(&text, scale, En);
            let got = matches!(reading, Understanding::Rating { score, .. } if u32::from(score.value()) == n);
            prop_assert!(!got, "{} on {}: {:?}", text, scale, reading);
        }
    }

    #[test]
    fn wrapping_a_non_rating_in_words_never_makes_it_a_rating(
        before in proptest::collection::vec(proptest::sample::select(FILLER), 1..4),
        after in proptest::collection::vec(proptest::sample::select(FILLER), 0..4),
        middle in prop_oneof![Just("5"), Just("4 stars"), Just("⭐⭐⭐"), Just("4/5"), Just("Satisfied"), Just("five")],
        locale in proptest::sample::select(Locale::ALL.to_vec()),
    ) {
        let text = format!("{} {} {}", before.join(" "), middle, after.join(" "));
        prop_assert!(matches!(read(&text, FIVE, locale), Understanding::NoRating(_)), "{}", text);
    }

    #[test]
    fn any_text_is_read_without_panicking(text in "\\PC{0,40}", steps in 2u8..=10) {
        let _ = read(&text, Scale::stars(steps).unwrap(), En);
    }

    #[test]
    fn every_level_reads_back_in_every_locale(steps in 2u8..=10, locale in proptest::sample::select(Locale::ALL.to_vec())) {
        let scale = Scale::stars(steps).unwrap();
        for score in scale.scores() {
            for text in [score.to_string(), format!("{score}/{steps}"), "⭐".repeat(score.value().into())] {
                let reading = read(&text, scale, locale);
                prop_assert_eq!(reading, Understanding::Rating { score, comment: None }, "{}", text);
            }
        }
    }
}
