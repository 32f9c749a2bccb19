//! The words each locale rates with. Every entry is written folded (lower case, accents off,
//! `ё` as `е`, Arabic without vowel marks), the way [`super::fold`] folds a reply.

use crate::locale::Locale;

pub struct Lexicon {
    /// Number words and their values.
    pub numbers: &'static [(&'static str, u8)],
    /// Number words that count only right before a unit: "ein Stern", "одну звезду" (alone,
    /// "ein" and "одну" are too common to be ratings).
    pub unit_numbers: &'static [(&'static str, u8)],
    /// Star-like units that follow a number: "5 stars", "5星". A comment may follow them after a
    /// space: "5 stars great support".
    pub units: &'static [&'static str],
    /// Points units that follow a number: "5 points", "5分", "5점". Points are also counted in
    /// other things (loyalty points, items, cents), so a comment after them must be set off by
    /// punctuation: "5 points - great", not "5 points not credited".
    pub point_units: &'static [&'static str],
    /// Units that come before a number, with the counters that may follow it: "星5つ", "별 5개".
    pub units_before: &'static [(&'static str, &'static [&'static str])],
    /// Words joining a fraction: "4 out of 5", "4 de 5".
    pub of: &'static [&'static str],
    /// Words that offer two ratings: "4 or 5", "4 bis 5".
    pub or: &'static [&'static str],
    /// Endings that add nothing to a rating and are not a comment: "5점이요", "5点です".
    pub trailers: &'static [&'static str],
    /// In Chinese, Japanese and Korean, the only words that may run on right after a unit as
    /// the start of a comment: 5星好评. Anything else run on makes the unit part of another word:
    /// 一分钱, 五分裤, 一点だけ, 5점대.
    pub comment_starters: &'static [&'static str],
    /// A number word and unit that together are a word of their own: 三星 (Samsung), 十分
    /// (very), 零星 (scattered). They read as a rating only standing alone.
    pub idioms: &'static [&'static str],
    /// A half after a rating: "4 stars and a half", "四星半".
    pub half: &'static [&'static str],
    /// "Full marks", as in 5点満点中4点 (4 out of 5).
    pub full_marks: &'static [&'static str],
    /// Words between the full marks and the score given: 中, 에, 我给.
    pub full_marks_joins: &'static [&'static str],
    /// Whether a number with a dot before a word is an ordinal: German "2. Versuch".
    pub dotted_ordinals: bool,
}

const NONE: &[&str] = &[];

const EMPTY: Lexicon = Lexicon {
    numbers: &[],
    unit_numbers: &[],
    units: NONE,
    point_units: NONE,
    units_before: &[],
    of: NONE,
    or: NONE,
    trailers: NONE,
    comment_starters: NONE,
    idioms: NONE,
    half: NONE,
    full_marks: NONE,
    full_marks_joins: NONE,
    dotted_ordinals: false,
};

pub const ENGLISH: Lexicon = Lexicon {
    numbers: &[
        ("zero", 0),
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
    ],
    units: &["stars", "star"],
    point_units: &["points", "point", "pts", "pt"],
    of: &["out of", "of"],
    or: &["or", "to", "and"],
    half: &["and a half", "and half", "& a half"],
    ..EMPTY
};

const SPANISH: Lexicon = Lexicon {
    numbers: &[
        ("cero", 0),
        ("uno", 1),
        ("una", 1),
        ("dos", 2),
        ("tres", 3),
        ("cuatro", 4),
        ("cinco", 5),
        ("seis", 6),
        ("siete", 7),
        ("ocho", 8),
        ("nueve", 9),
        ("diez", 10),
    ],
    units: &["estrellas", "estrella"],
    point_units: &["puntos", "punto"],
    of: &["de", "sobre"],
    or: &["o", "u", "a", "y"],
    half: &["y media", "y medio"],
    ..EMPTY
};

const PORTUGUESE: Lexicon = Lexicon {
    numbers: &[
        ("zero", 0),
        ("um", 1),
        ("uma", 1),
        ("dois", 2),
        ("duas", 2),
        ("tres", 3),
        ("quatro", 4),
        ("cinco", 5),
        ("seis", 6),
        ("sete", 7),
        ("oito", 8),
        ("nove", 9),
        ("dez", 10),
    ],
    units: &["estrelas", "estrela"],
    point_units: &["pontos", "ponto"],
    of: &["de"],
    or: &["ou", "a", "e"],
    half: &["e meia", "e meio"],
    ..EMPTY
};

const FRENCH: Lexicon = Lexicon {
    numbers: &[
        ("zero", 0),
        ("un", 1),
        ("une", 1),
        ("deux", 2),
        ("trois", 3),
        ("quatre", 4),
        ("cinq", 5),
        ("six", 6),
        ("sept", 7),
        ("huit", 8),
        ("neuf", 9),
        ("dix", 10),
    ],
    units: &["etoiles", "etoile"],
    point_units: &["points", "point"],
    of: &["sur"],
    or: &["ou", "a", "et"],
    half: &["et demie", "et demi"],
    ..EMPTY
};

const GERMAN: Lexicon = Lexicon {
    numbers: &[
        ("null", 0),
        ("eins", 1),
        ("zwei", 2),
        ("drei", 3),
        ("vier", 4),
        ("funf", 5),
        ("fuenf", 5),
        ("sechs", 6),
        ("sieben", 7),
        ("acht", 8),
        ("neun", 9),
        ("zehn", 10),
    ],
    unit_numbers: &[("einen", 1), ("eine", 1), ("ein", 1)],
    units: &["sternen", "sterne", "stern"],
    point_units: &["punkten", "punkte", "punkt"],
    of: &["von", "aus"],
    or: &["oder", "bis", "und"],
    half: &["und ein halber", "und einen halben", "und ein halb", "und halb"],
    dotted_ordinals: true,
    ..EMPTY
};

const RUSSIAN: Lexicon = Lexicon {
    numbers: &[
        ("ноль", 0),
        ("один", 1),
        ("одна", 1),
        ("два", 2),
        ("две", 2),
        ("три", 3),
        ("четыре", 4),
        ("пять", 5),
        ("шесть", 6),
        ("семь", 7),
        ("восемь", 8),
        ("девять", 9),
        ("десять", 10),
    ],
    unit_numbers: &[("одну", 1)],
    units: &["звездочки", "звездочек", "звездочку", "звездочка", "звезды", "звезду", "звезд", "звезда"],
    point_units: &["баллов", "балла", "балл"],
    of: &["из"],
    or: &["или", "до", "и"],
    half: &["с половиной", "с половинкой"],
    ..EMPTY
};

const INDONESIAN: Lexicon = Lexicon {
    numbers: &[
        ("nol", 0),
        ("satu", 1),
        ("dua", 2),
        ("tiga", 3),
        ("empat", 4),
        ("lima", 5),
        ("enam", 6),
        ("tujuh", 7),
        ("delapan", 8),
        ("sembilan", 9),
        ("sepuluh", 10),
    ],
    units: &["bintang"],
    point_units: &["poin", "point"],
    units_before: &[("bintang", &[])],
    of: &["dari"],
    or: &["atau", "sampai", "hingga", "dan"],
    half: &["dan setengah", "setengah"],
    ..EMPTY
};

const ARABIC: Lexicon = Lexicon {
    numbers: &[
        ("صفر", 0),
        ("واحد", 1),
        ("واحدة", 1),
        ("اثنان", 2),
        ("اثنين", 2),
        ("ثلاثة", 3),
        ("ثلاث", 3),
        ("اربعة", 4),
        ("اربع", 4),
        ("خمسة", 5),
        ("خمس", 5),
        ("ستة", 6),
        ("ست", 6),
        ("سبعة", 7),
        ("سبع", 7),
        ("ثمانية", 8),
        ("ثماني", 8),
        ("تسعة", 9),
        ("تسع", 9),
        ("عشرة", 10),
        ("عشر", 10),
    ],
    units: &["نجوم", "نجمات", "نجمة"],
    point_units: &["نقاط", "نقطة", "درجات", "درجة"],
    // "نجمة واحدة": the number comes after the noun.
    units_before: &[("نجمة", &[])],
    of: &["من"],
    or: &["او", "الى"],
    half: &["ونصف", "و نصف", "ونص"],
    ..EMPTY
};

const CHINESE_NUMBERS: &[(&str, u8)] = &[
    ("零", 0),
    ("〇", 0),
    ("一", 1),
    ("二", 2),
    ("两", 2),
    ("兩", 2),
    ("三", 3),
    ("四", 4),
    ("五", 5),
    ("六", 6),
    ("七", 7),
    ("八", 8),
    ("九", 9),
    ("十", 10),
];

/// Words that may open a comment right after a Chinese unit: 5星好评, 五星很满意, 5分服务好.
const CHINESE_COMMENT_STARTERS: &[&str] = &[
    "好评", "好評", "差评", "差評", "满意", "滿意", "非常", "很", "太", "服务", "服務", "客服", "谢谢", "謝謝", "感谢",
    "感謝",
];

const CHINESE_SIMPLIFIED: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["颗星星", "颗星", "星"],
    point_units: &["分"],
    or: &["或者", "或", "还是", "到", "至"],
    trailers: &["吧", "啦", "了"],
    comment_starters: CHINESE_COMMENT_STARTERS,
    idioms: &["三星", "零星", "十分"],
    half: &["半"],
    full_marks: &["满分"],
    full_marks_joins: &["我给", "我打", "给", "打"],
    ..EMPTY
};

const CHINESE_TRADITIONAL: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["顆星星", "颗星星", "顆星", "颗星", "星"],
    point_units: &["分"],
    or: &["或者", "或", "還是", "到", "至"],
    trailers: &["吧", "啦", "了"],
    comment_starters: CHINESE_COMMENT_STARTERS,
    idioms: &["三星", "零星", "十分"],
    half: &["半"],
    full_marks: &["滿分", "满分"],
    full_marks_joins: &["我給", "我给", "我打", "給", "给", "打"],
    ..EMPTY
};

const JAPANESE: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["つ星"],
    // 点 also counts items and matters (一点だけ質問, 5点注文): nothing but a polite ending may
    // run on after it.
    point_units: &["点"],
    units_before: &[("星", &["つ"])],
    or: &["または", "から", "か"],
    trailers: &[
        "です",
        "でした",
        "をつけます",
        "を付けます",
        "つけます",
        "付けます",
        "をつけました",
        "を付けました",
        "つけました",
        "付けました",
        "しました",
        "で",
    ],
    half: &["半"],
    full_marks: &["満点"],
    full_marks_joins: &["のうち", "中", "で"],
    ..EMPTY
};

const KOREAN: Lexicon = Lexicon {
    numbers: &[
        ("영", 0),
        ("하나", 1),
        ("둘", 2),
        ("셋", 3),
        ("넷", 4),
        ("다섯", 5),
        ("여섯", 6),
        ("일곱", 7),
        ("여덟", 8),
        ("아홉", 9),
        ("열", 10),
    ],
    // 점 also counts items (5점 반품): after it, a comment needs punctuation.
    point_units: &["점"],
    units_before: &[("별점", &["개"]), ("별", &["개"])],
    or: &["또는", "아니면", "에서"],
    trailers: &[
        "이요",
        "요",
        "입니다",
        "이에요",
        "예요",
        "드려요",
        "드립니다",
        "드릴게요",
        "드릴께요",
        "줄게요",
        "줄께요",
        "주고 싶어요",
        "이오",
        "해요",
        "합니다",
        "했어요",
        "했습니다",
    ],
    comment_starters: &["감사", "최고"],
    half: &["반"],
    full_marks: &["만점"],
    full_marks_joins: &["중에", "중", "에서", "에"],
    ..EMPTY
};

impl Lexicon {
    pub fn of_locale(locale: Locale) -> &'static Lexicon {
        match locale {
            Locale::En => &ENGLISH,
            Locale::ZhCn => &CHINESE_SIMPLIFIED,
            Locale::ZhTw => &CHINESE_TRADITIONAL,
            Locale::Es => &SPANISH,
            Locale::PtBr => &PORTUGUESE,
            Locale::Fr => &FRENCH,
            Locale::De => &GERMAN,
            Locale::Ja => &JAPANESE,
            Locale::Ko => &KOREAN,
            Locale::Ar => &ARABIC,
            Locale::Ru => &RUSSIAN,
            Locale::Id => &INDONESIAN,
        }
    }
}

/// Filled star glyphs. `*` counts only in a run that stands apart from words (so `*great*`
/// is not a star).
pub const STARS: &[char] = &['★', '⭐', '🌟', '✭', '✮', '✯', '*'];
/// Empty star glyphs, allowed after the filled ones: "★★★☆☆".
pub const EMPTY_STARS: &[char] = &['☆', '✩'];

/// Faces on the five-face scale. The first of each row is the one ratewire shows.
pub const FACES: &[(char, u8)] = &[
    ('😠', 1),
    ('😡', 1),
    ('🤬', 1),
    ('🙁', 2),
    ('☹', 2),
    ('😞', 2),
    ('😟', 2),
    ('😕', 2),
    ('😐', 3),
    ('😑', 3),
    ('😶', 3),
    ('😀', 4),
    ('🙂', 4),
    ('😊', 4),
    ('😃', 4),
    ('😄', 4),
    ('🤩', 5),
    ('😍', 5),
    ('🥰', 5),
];

/// Characters that end a rating and start its comment: "5 - great", "4, but slow", "五星，好".
pub fn is_delimiter(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '-'
            | '–'
            | '—'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '|'
            | '…'
            | '、'
            | '，'
            | '。'
            | '！'
            | '？'
            | '；'
            | '：'
            | '،'
            | '؛'
            | '؟'
            | '¡'
            | '¿'
    )
}

/// Money and rates after a number: "5 €", "5%", "٥٪", "2× charged". Currency symbols are
/// Unicode's general category Sc (as of Unicode 15.1).
pub fn is_money_or_rate(c: char) -> bool {
    matches!(c,
        '%' | '٪' | '‰' | '‱' | '؉' | '؊' | '×'
            // Currency symbols (Sc).
            | '$' | '¢' | '£' | '¤' | '¥' | '֏' | '؋' | '߾' | '߿' | '৲' | '৳' | '৻' | '૱' | '௹' | '฿' | '៛'
            | '\u{20A0}'..='\u{20C0}' | '꠸' | '﷼' | '﹩' | '＄' | '￠' | '￡' | '￥' | '￦'
            | '\u{11FDD}'..='\u{11FE0}' | '\u{1E2FF}' | '\u{1ECB0}'
    )
}

/// Vulgar fractions: "4½", "★★★★½".
pub fn is_vulgar_fraction(c: char) -> bool {
    matches!(c, '¼' | '½' | '¾' | '\u{2150}'..='\u{215F}' | '\u{2189}')
}
