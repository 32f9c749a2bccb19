//! The words each locale rates with. Every entry is written folded (lower case, accents off,
//! `ё` as `е`), the way [`super::normalize`] folds a reply.

use crate::locale::Locale;

pub struct Lexicon {
    /// Number words and their values.
    pub numbers: &'static [(&'static str, u8)],
    /// Units that follow a number: "5 stars", "5星", "5점".
    pub units: &'static [&'static str],
    /// Units that come before a number, with the counters that may follow it: "星5つ", "별 5개".
    pub units_before: &'static [(&'static str, &'static [&'static str])],
    /// Words joining a fraction: "4 out of 5", "4 de 5".
    pub of: &'static [&'static str],
    /// Words that offer two ratings: "4 or 5", "4 bis 5".
    pub or: &'static [&'static str],
    /// Endings that add nothing to a rating and are not a comment: "5점이요", "5点です".
    pub trailers: &'static [&'static str],
    /// A unit followed by one of these characters is part of another word: 星期 (week),
    /// 分钟 (minute), 星级 (star-rated).
    pub compounds: &'static [(&'static str, &'static str)],
}

const NONE: &[&str] = &[];

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
    units: &["stars", "star", "points", "point", "pts", "pt"],
    units_before: &[],
    of: &["out of", "of"],
    or: &["or", "to", "and"],
    trailers: NONE,
    compounds: &[],
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
    units: &["estrellas", "estrella", "puntos", "punto"],
    units_before: &[],
    of: &["de", "sobre"],
    or: &["o", "u", "a", "y"],
    trailers: NONE,
    compounds: &[],
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
    units: &["estrelas", "estrela", "pontos", "ponto"],
    units_before: &[],
    of: &["de"],
    or: &["ou", "a", "e"],
    trailers: NONE,
    compounds: &[],
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
    units: &["etoiles", "etoile", "points", "point"],
    units_before: &[],
    of: &["sur"],
    or: &["ou", "a", "et"],
    trailers: NONE,
    compounds: &[],
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
    units: &["sternen", "sterne", "stern", "punkten", "punkte", "punkt"],
    units_before: &[],
    of: &["von", "aus"],
    or: &["oder", "bis", "und"],
    trailers: NONE,
    compounds: &[],
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
    units: &["звездочки", "звездочек", "звездочка", "звезды", "звезд", "звезда", "баллов", "балла", "балл"],
    units_before: &[],
    of: &["из"],
    or: &["или", "до", "и"],
    trailers: NONE,
    compounds: &[],
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
    units: &["bintang", "poin", "point"],
    units_before: &[],
    of: &["dari"],
    or: &["atau", "sampai", "hingga", "dan"],
    trailers: NONE,
    compounds: &[],
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
    units: &["نجوم", "نجمات", "نجمة", "نقاط", "نقطة", "درجات", "درجة"],
    units_before: &[],
    of: &["من"],
    or: &["او", "الى"],
    trailers: NONE,
    compounds: &[],
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

const CHINESE_COMPOUNDS: &[(&str, &str)] =
    &[("星", "期级級座球空际際光系云雲辰人"), ("分", "钟鐘鍾之别別析享开開手配数數成布类類子店行批散裂明外公")];

const CHINESE_SIMPLIFIED: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["颗星", "星", "分"],
    units_before: &[],
    of: &[],
    or: &["或者", "或", "还是", "到", "至"],
    trailers: &["吧", "啦", "了"],
    compounds: CHINESE_COMPOUNDS,
};

const CHINESE_TRADITIONAL: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["顆星", "颗星", "星", "分"],
    units_before: &[],
    of: &[],
    or: &["或者", "或", "還是", "到", "至"],
    trailers: &["吧", "啦", "了"],
    compounds: CHINESE_COMPOUNDS,
};

const JAPANESE: Lexicon = Lexicon {
    numbers: CHINESE_NUMBERS,
    units: &["つ星", "点"],
    units_before: &[("星", &["つ"])],
    of: &[],
    or: &["または", "から", "か"],
    trailers: &["です", "でした", "をつけます", "つけます", "で"],
    compounds: &[("点", "数")],
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
    units: &["점"],
    units_before: &[("별", &["개"])],
    of: &[],
    or: &["또는", "아니면", "에서"],
    trailers: &["이요", "요", "입니다", "이에요", "예요", "드려요", "드립니다", "드릴게요", "줄게요", "이오"],
    compounds: &[("점", "심수")],
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
