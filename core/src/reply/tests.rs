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
        (En, FIVE, "☆☆☆☆☆", NotARating),
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

#[test]
fn a_hyphen_glued_to_a_word_makes_one_word() {
    assert_refused(&[
        (Ru, FIVE, "5-й раз пишу!", NotARating),
        (Ru, FIVE, "2-й заказ", NotARating),
        (Ru, FIVE, "3-го числа", NotARating),
        (Ru, FIVE, "2-х недель", NotARating),
        (De, FIVE, "2-stündige Wartezeit", NotARating),
        (De, FIVE, "3-mal", NotARating),
        (De, FIVE, "2-Faktor-Authentifizierung geht nicht", NotARating),
        (De, FIVE, "5-Sterne-Hotel", NotARating),
        (En, FIVE, "one-time code", NotARating),
        (En, FIVE, "two-factor auth", NotARating),
        (En, FIVE, "Two-step verification?", NotARating),
        (En, FIVE, "Ten-four", NotARating),
        (Id, FIVE, "Dua-duanya rusak", NotARating),
        (Id, FIVE, "Satu-satunya masalah", NotARating),
        (Id, FIVE, "2-nya rusak", NotARating),
        (En, FIVE, "1) the app crashes 2) no refund", NotARating),
    ]);
    assert_ratings(&[(En, FIVE, "5-star", 5, None), (En, FIVE, "five-star service!", 5, Some("service!"))]);
    assert_refused(&[(En, FIVE, "4-5", Ambiguous)]);
}

#[test]
fn a_dotted_number_before_a_word_is_a_german_ordinal() {
    assert_refused(&[
        (De, FIVE, "2. Versuch, bitte helfen", NotARating),
        (De, FIVE, "5. Dezember bestellt", NotARating),
        (De, FIVE, "1. Mahnung erhalten?!", NotARating),
        (De, FIVE, "2.Versuch", NotARating),
    ]);
    assert_ratings(&[
        (De, FIVE, "5.", 5, None),
        (De, FIVE, "5. - super", 5, Some("super")),
        (De, FIVE, "5.\nSuper", 5, Some("Super")),
        (En, FIVE, "1. Terrible", 1, Some("Terrible")),
        (Fr, FIVE, "1. Nul", 1, Some("Nul")),
    ]);
}

#[test]
fn after_a_chinese_japanese_or_korean_unit_only_known_words_run_on() {
    assert_refused(&[
        (ZhCn, FIVE, "三星手机坏了", NotARating),
        (ZhTw, FIVE, "三星手機壞了", NotARating),
        (ZhCn, FIVE, "三星的售后电话是多少", NotARating),
        (ZhCn, FIVE, "三星很好用", NotARating),
        (ZhCn, FIVE, "三星 Galaxy坏了", NotARating),
        (ZhCn, FIVE, "一分钱都没退", NotARating),
        (ZhTw, FIVE, "一分錢都沒退", NotARating),
        (ZhCn, FIVE, "一分都不值", NotARating),
        (ZhCn, FIVE, "五分裤什么时候发货", NotARating),
        (ZhCn, FIVE, "五分糖可以吗", NotARating),
        (ZhCn, Scale::stars(10).unwrap(), "七分熟", NotARating),
        (ZhCn, FIVE, "一分半钟就挂了", NotARating),
        (ZhCn, FIVE, "一分为二", NotARating),
        (ZhCn, FIVE, "一星半点都没有", NotARating),
        (ZhCn, NPS, "零星几个问题", NotARating),
        (ZhCn, NPS, "八分饱", NotARating),
        (ZhCn, NPS, "十分满意", NotARating),
        (ZhCn, NPS, "十分感谢", NotARating),
        (ZhCn, FIVE, "五星红旗", NotARating),
        (ZhCn, FIVE, "5分 good", NotARating),
        (Ja, FIVE, "一点だけ質問があります", NotARating),
        (Ja, FIVE, "一点お伺いしたいのですが", NotARating),
        (Ja, FIVE, "二点確認させてください", NotARating),
        (Ja, FIVE, "1点足りません", NotARating),
        (Ja, FIVE, "5点注文したのに3点しか届いていません", NotARating),
        (Ja, FIVE, "5つ星ホテル", NotARating),
        (Ja, FIVE, "★5月のキャンペーン", NotARating),
        (Ko, FIVE, "5점대", NotARating),
        (Ko, FIVE, "5점 반품하고 싶어요", NotARating),
    ]);
    assert_ratings(&[
        (ZhCn, FIVE, "三星", 3, None),
        (ZhCn, FIVE, "三星！", 3, None),
        (ZhCn, FIVE, "三星吧", 3, None),
        (ZhCn, FIVE, "5星好评", 5, Some("好评")),
        (ZhCn, FIVE, "五星很满意", 5, Some("很满意")),
        (ZhCn, FIVE, "一星差评", 1, Some("差评")),
        (ZhCn, FIVE, "5分 服务很好", 5, Some("服务很好")),
        (ZhTw, FIVE, "五顆星星", 5, None),
        (ZhCn, NPS, "十分！", 10, None),
        (ZhCn, FIVE, "5分吧", 5, None),
        (Ja, FIVE, "二点", 2, None),
        (Ja, FIVE, "5点を付けます", 5, None),
        (Ja, FIVE, "5点つけました", 5, None),
        (Ja, FIVE, "★5つ", 5, None),
        (Ko, FIVE, "5점 드릴께요", 5, None),
        (Ko, FIVE, "5점 주고 싶어요", 5, None),
        (Ko, FIVE, "5점 감사합니다", 5, Some("감사합니다")),
        (Ko, FIVE, "별 5개 정말 친절했어요", 5, Some("정말 친절했어요")),
    ]);
}

#[test]
fn a_score_out_of_full_marks_reads_as_the_score_given() {
    assert_ratings(&[
        (Ja, FIVE, "5点満点中4点", 4, None),
        (Ja, NPS, "10点満点中8点", 8, None),
        (Ja, FIVE, "5点満点で4点です", 4, None),
        (Ko, FIVE, "5점 만점에 4점", 4, None),
        (Ko, NPS, "10점 만점에 9점", 9, None),
        (Ko, FIVE, "5점 만점에 3점이요", 3, None),
        (ZhCn, NPS, "10分满分，我给8分", 8, None),
    ]);
    assert_refused(&[
        (Ja, FIVE, "10点満点中8点", OutOfRange),
        (Ja, FIVE, "5点満点", NotARating),
        (Ko, FIVE, "5점 만점", NotARating),
        (ZhCn, NPS, "10分满分", NotARating),
    ]);
}

#[test]
fn money_and_rates_are_not_ratings() {
    assert_refused(&[
        (Es, FIVE, "5 € de más", NotARating),
        (Es, FIVE, "5 % de descuento", NotARating),
        (Fr, FIVE, "5 % de réduction pas appliquée", NotARating),
        (Ar, FIVE, "٥٪ خصم", NotARating),
        (Ar, FIVE, "5 ﷼", NotARating),
        (En, FIVE, "5 $ extra charged", NotARating),
        (En, FIVE, "5₹ charged", NotARating),
        (En, FIVE, "5¢", NotARating),
        (Ru, FIVE, "5₽ списали", NotARating),
        (Ko, FIVE, "5₩", NotARating),
        (ZhCn, FIVE, "5￥", NotARating),
        (Ja, FIVE, "5 ￥", NotARating),
        (En, FIVE, "5 %", NotARating),
        (En, FIVE, "5‰", NotARating),
        (En, FIVE, "5％", NotARating),
        (En, FIVE, "2× charged!", NotARating),
        (En, FIVE, "2 + 2", NotARating),
        (En, FIVE, "5*5", NotARating),
        (De, FIVE, "5,- € zu viel", NotARating),
        (De, FIVE, "5,-", NotARating),
        (Ar, FIVE, "٥٬٠٠٠ ريال", NotARating),
        (Ar, FIVE, "٤٫٥", Ambiguous),
        (Ar, FIVE, "٤ ٫٥", Ambiguous),
    ]);
}

#[test]
fn fractions_joined_by_words_take_no_words_after_them() {
    assert_refused(&[
        (En, FIVE, "2 of 5 packages arrived damaged", NotARating),
        (En, FIVE, "3 out of 5 orders were late", NotARating),
        (En, FIVE, "4 out of 5 dentists", NotARating),
        (Es, FIVE, "2 de 5 productos llegaron rotos", NotARating),
        (PtBr, FIVE, "2 de 5 itens vieram quebrados", NotARating),
        (Fr, FIVE, "2 sur 5 colis sont arrivés abîmés", NotARating),
        (De, FIVE, "2 von 5 Paketen fehlen", NotARating),
        (Ru, FIVE, "3 из 5 товаров пришли битые", NotARating),
        (Id, FIVE, "3 dari 5 barang rusak", NotARating),
        (Ar, FIVE, "٣ من ٥ منتجات وصلت مكسورة", NotARating),
        (En, Scale::stars(2).unwrap(), "1 of 2 items missing", NotARating),
        (En, FIVE, "8 of 10 packages arrived", NotARating),
        (En, FIVE, "1/5 of my order is missing", NotARating),
        (Es, FIVE, "1/5 de mi pedido falta", NotARating),
    ]);
    assert_ratings(&[
        (En, FIVE, "4 out of 5", 4, None),
        (En, FIVE, "4 of 5 stars", 4, None),
        (En, FIVE, "four out of five stars", 4, None),
        (En, FIVE, "4 out of 5 ⭐", 4, None),
        (En, FIVE, "4 out of 5 stars great support", 4, Some("great support")),
        (Es, FIVE, "4 de 5, muy bien", 4, Some("muy bien")),
        (Ru, FIVE, "5 баллов из 5", 5, None),
        (En, FIVE, "4 stars out of 5", 4, None),
        (En, FIVE, "2/5 items broken", 2, Some("items broken")),
        (En, FIVE, "4/5 stars", 4, None),
    ]);
}

#[test]
fn a_bare_number_before_a_greater_one_opens_a_range_or_a_list() {
    assert_refused(&[
        (En, FIVE, "5 - 7 days for delivery?", Ambiguous),
        (En, FIVE, "3 - 5 business days?", Ambiguous),
        (En, FIVE, "4 – 5 days ago I ordered", Ambiguous),
        (Es, FIVE, "5 - 7 días hábiles?", Ambiguous),
        (Ru, FIVE, "2 - 3 дня", Ambiguous),
        (En, FIVE, "1, 2 and 3 are missing", Ambiguous),
        (En, FIVE, "3, 4 times I called", Ambiguous),
        (Ru, FIVE, "Два, три раза звонил", Ambiguous),
        (Id, FIVE, "Dua, tiga hari lagi?", Ambiguous),
        (En, FIVE, "1 - two agents were rude", Ambiguous),
    ]);
    assert_ratings(&[
        (En, FIVE, "5 - 2 agents helped me", 5, Some("2 agents helped me")),
        (En, FIVE, "5 stars, 10 minutes wait", 5, Some("10 minutes wait")),
        (ZhCn, FIVE, "1，十分不满意", 1, Some("十分不满意")),
    ]);
}

#[test]
fn points_take_a_comment_only_after_punctuation() {
    assert_refused(&[
        (En, FIVE, "5 points not credited to my account", NotARating),
        (En, FIVE, "3 points missing from my rewards", NotARating),
        (En, FIVE, "2 points: the app crashes and login fails", NotARating),
        (En, FIVE, "1 point for trying", NotARating),
        (Es, FIVE, "5 puntos de mi cuenta desaparecieron", NotARating),
        (PtBr, FIVE, "5 pontos não foram creditados", NotARating),
        (De, FIVE, "5 Punkte fehlen auf meinem Konto", NotARating),
        (Ru, FIVE, "5 баллов не начислили", NotARating),
        (Id, FIVE, "5 poin belum masuk", NotARating),
        (Ar, FIVE, "5 نقاط لم تضف لحسابي", NotARating),
        (En, FIVE, "One point: you never called back", NotARating),
        (Fr, FIVE, "Un point : ma commande est incomplète", NotARating),
        (Fr, FIVE, "Un point c'est tout", NotARating),
        (Fr, FIVE, "Deux points à signaler", NotARating),
        (PtBr, FIVE, "Dois pontos: atraso e atendimento", NotARating),
        (De, FIVE, "Ein Punkt noch: Rechnung fehlt", NotARating),
        (En, FIVE, "4 out of 5 points not credited", NotARating),
    ]);
    assert_ratings(&[
        (En, FIVE, "5 points", 5, None),
        (En, FIVE, "5 points!", 5, None),
        (En, FIVE, "5 points - great", 5, Some("great")),
        (En, FIVE, "5 points 👍", 5, Some("👍")),
        (En, FIVE, "5pts", 5, None),
        (De, FIVE, "5 Punkte - super", 5, Some("super")),
        (Ru, FIVE, "Пять баллов!", 5, None),
        (Fr, FIVE, "Deux points", 2, None),
        (En, NPS, "Ten points!", 10, None),
    ]);
}

#[test]
fn halves_empty_stars_and_keycaps() {
    assert_refused(&[
        (En, FIVE, "4 stars and a half", Ambiguous),
        (Fr, FIVE, "4 étoiles et demie", Ambiguous),
        (Es, FIVE, "4 estrellas y media", Ambiguous),
        (PtBr, FIVE, "4 estrelas e meia", Ambiguous),
        (De, FIVE, "4 Sterne und ein halber", Ambiguous),
        (Ru, FIVE, "4 звезды с половиной", Ambiguous),
        (Id, FIVE, "4 bintang setengah", Ambiguous),
        (Ar, FIVE, "4 نجوم ونصف", Ambiguous),
        (ZhCn, FIVE, "四星半", Ambiguous),
        (ZhCn, FIVE, "4星半", Ambiguous),
        (ZhTw, FIVE, "四顆星半", Ambiguous),
        (Ja, FIVE, "星4つ半", Ambiguous),
        (Ko, FIVE, "별 4개 반", Ambiguous),
        (En, FIVE, "4½", Ambiguous),
        (En, FIVE, "4 ½", Ambiguous),
        (En, FIVE, "4, and a half", Ambiguous),
        (Es, FIVE, "4, y media", Ambiguous),
        (En, FIVE, "★★★★½", Ambiguous),
        (En, FIVE, "☆☆☆", NotARating),
        (En, NPS, "☆☆☆", NotARating),
        (En, FIVE, "1️⃣0️⃣", OutOfRange),
        (En, FIVE, "*️⃣", NotARating),
    ]);
    assert_ratings(&[
        (En, FIVE, "5️⃣", 5, None),
        (En, NPS, "1️⃣0️⃣", 10, None),
        (Ja, FIVE, "☆5", 5, None),
        (En, FIVE, "★★★★☆", 4, None),
    ]);
}

#[test]
fn folding_drops_what_a_reader_does_not_see() {
    assert_ratings(&[
        (Ar, FIVE, "\u{202b}٥\u{202c}", 5, None),
        (Ar, FIVE, "\u{2067}٥\u{2069}", 5, None),
        (En, FIVE, "\u{202a}5\u{202c}", 5, None),
        (En, FIVE, "5\u{ad}", 5, None),
        (En, FIVE, "5\u{301}", 5, None),
        (Fr, FIVE, "5 e\u{301}toiles", 5, None),
        (Ar, FIVE, "خمسةٌ", 5, None),
        (Ar, FIVE, "خمــسة", 5, None),
        (Ar, FIVE, "راض", 4, None),
        (Ar, FIVE, "راضٍ", 4, None),
        (Ar, FIVE, "راض جدا", 5, None),
        (Ar, FIVE, "غير راض", 2, None),
        (En, Scale::Faces, "🙂🏻", 4, None),
        (En, Scale::Faces, "😀\u{200d}", 4, None),
        (En, FIVE, "5/5\u{0}", 5, None),
    ]);
    assert_refused(&[
        (En, Scale::Faces, "😶\u{200d}🌫️", NotARating),
        (En, FIVE, "⭐\u{200d}🔥", NotARating),
        (En, FIVE, "5\u{0}abc", NotARating),
    ]);
    assert_eq!(fold("راضٍ جدًا"), "راض جدا");
    assert_eq!(fold("Tre\u{300}s satisfait\u{ad}!"), "tres satisfait");
}

#[test]
fn units_before_numbers_unit_only_numbers_and_star_asterisks() {
    assert_ratings(&[
        (Id, FIVE, "bintang 5", 5, None),
        (Id, FIVE, "Bintang satu", 1, None),
        (Ko, FIVE, "별점 5점", 5, None),
        (Ko, FIVE, "별점 5", 5, None),
        (Ko, FIVE, "별점 5점 드려요", 5, None),
        (Ko, FIVE, "별 다섯 개", 5, None),
        (De, FIVE, "Ein Stern", 1, None),
        (De, FIVE, "einen Stern", 1, None),
        (Ar, FIVE, "نجمة واحدة", 1, None),
        (Ru, FIVE, "Одну звезду", 1, None),
        (En, FIVE, "5*", 5, None),
        (En, FIVE, "4*", 4, None),
        (En, FIVE, "5*!", 5, None),
        (En, FIVE, "5* service", 5, Some("service")),
        (En, FIVE, "5 *great*", 5, Some("*great*")),
    ]);
    assert_refused(&[
        (Id, FIVE, "bintang 5 kak", NotARating),
        (Ar, FIVE, "نجمة", NotARating),
        (De, FIVE, "Ein Problem", NotARating),
        (De, FIVE, "Eine Frage", NotARating),
        (En, FIVE, "*great*", NotARating),
        (En, FIVE, "5 *", Ambiguous),
    ]);
}

#[test]
fn labels_take_polite_endings() {
    assert_ratings(&[
        (Ko, FIVE, "만족해요", 4, None),
        (Ko, FIVE, "매우 만족합니다", 5, None),
        (Ja, FIVE, "満足です", 4, None),
        (Ja, FIVE, "非常に満足しました", 5, None),
        (ZhCn, FIVE, "一般吧", 3, None),
    ]);
    assert_refused(&[(ZhCn, FIVE, "一般多久发货？", NotARating), (Ko, FIVE, "보통 며칠 걸려요?", NotARating)]);
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
