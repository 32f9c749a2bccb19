//! Reading an end user's reply: a score and perhaps a comment, or why there is none.
//!
//! The reader is strict on purpose: taking "I have 2 more questions" for a 2-star rating is far
//! worse than asking again. A rating must open the reply, in one of these forms:
//!
//! - a number of the scale: ASCII, full-width, Arabic-Indic or Devanagari digits, or a number
//!   word of the locale or of English ("cinco", "五", "пять", "다섯", "five");
//! - a fraction over the scale's maximum: "4/5", "8/10", "4 out of 5", "4 de 5", "4 из 5";
//! - a number with a rating unit: "5 stars", "5 estrellas", "5星", "5分", "5점", "星5つ", "5⭐";
//! - a run of star glyphs (★ ⭐ 🌟 ✭ ✮ ✯ and `*`), empty ones (☆ ✩) allowed after the filled;
//! - on the face scale, one face (see [`lexicon::FACES`]);
//! - a level's label, matched whole: case, width, accents and trailing punctuation folded.
//!
//! A comment may follow. After a bare number it must be set off by punctuation or a line break
//! ("5 - great", "4, but slow", "1. Terrible"); after a form that ends itself (a star unit, a
//! fraction, glyphs) a space is enough ("10/10 would recommend", "⭐⭐⭐⭐⭐ Ana was great").
//! A label, like a bare number, needs punctuation before a comment, so that a label "Good"
//! never reads "Good morning, one more thing" as a rating. Points, which also count loyalty
//! points, items and cents, need punctuation too ("5 points - great", not "5 points not
//! credited"), and in Chinese, Japanese and Korean only a few words may run on after a unit
//! (5星好评, but not 一分钱 or 一点だけ).

mod lexicon;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use self::lexicon::FACES as ACCEPTED_FACES;
use self::lexicon::{EMPTY_STARS, ENGLISH, FACES, Lexicon, STARS, is_delimiter, is_money_or_rate, is_vulgar_fraction};
use crate::locale::Locale;
use crate::scale::{Scale, Score};

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Understanding {
    Rating { score: Score, comment: Option<String> },
    NoRating(NoRating),
}

/// Why a reply gave no score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoRating {
    /// A rating, but not on this scale: "6" or "8/10" on five stars.
    #[error("the rating is outside the scale")]
    #[serde(rename = "out_of_range")]
    OutOfRange,
    /// More than one rating, or one that can't be pinned down: "4 or 5", "4.5", "4-5".
    #[error("the reply holds more than one possible rating")]
    #[serde(rename = "ambiguous")]
    Ambiguous,
    /// Nothing that reads as a rating.
    #[error("the reply holds no rating")]
    #[serde(rename = "no_rating")]
    NotARating,
}

/// A business's labels for the levels of a scale, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    by_score: BTreeMap<Score, String>,
    /// Folded labels, longest first, so "Very satisfied" wins over "Satisfied".
    folded: Vec<(Vec<char>, Score)>,
}

impl Labels {
    pub fn new(by_score: BTreeMap<Score, String>) -> Self {
        let mut folded: Vec<(Vec<char>, Score)> = by_score
            .iter()
            .map(|(&score, label)| (fold(label).chars().collect::<Vec<char>>(), score))
            .filter(|(chars, _)| !chars.is_empty())
            .collect();
        folded.sort_by_key(|(chars, _)| std::cmp::Reverse(chars.len()));
        Self { by_score, folded }
    }

    pub fn get(&self, score: Score) -> Option<&str> {
        self.by_score.get(&score).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Score, &str)> {
        self.by_score.iter().map(|(score, label)| (*score, label.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.by_score.is_empty()
    }

    /// The label that opens `chars` at `pos`, if it stands whole there, as `stands_whole` tells
    /// from the position where the label ends.
    fn match_at(&self, chars: &[char], pos: usize, stands_whole: impl Fn(usize) -> bool) -> Option<Found> {
        self.folded.iter().find_map(|(label, score)| {
            let end = pos + label.len();
            if chars.get(pos..end)? != label.as_slice() {
                return None;
            }
            stands_whole(end).then_some(Found::new(u32::from(score.value()), end))
        })
    }
}

/// Folds text the way replies are folded before matching: lower case, full-width to ASCII,
/// accents and Arabic vowel marks off, invisible characters dropped, surrounding space and
/// trailing punctuation trimmed.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    fold_chars(text, |c, _| folded.push(c));
    folded.trim().trim_end_matches(|c: char| is_delimiter(c) || c.is_whitespace()).to_owned()
}

/// Reads a reply on `scale`, in `locale`, with the business's `labels`.
pub fn understand(text: &str, scale: Scale, locale: Locale, labels: &Labels) -> Understanding {
    let mut chars = Vec::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len());
    fold_chars(text, |c, offset| {
        chars.push(c);
        offsets.push(offset);
    });
    let reader = Reader { chars: &chars, scale, lexicon: Lexicon::of_locale(locale), labels };
    match reader.read() {
        Ok((value, comment_at)) => match scale.score(value) {
            Ok(score) => {
                Understanding::Rating { score, comment: comment_at.map(|at| text[offsets[at]..].trim().to_owned()) }
            }
            Err(_) => Understanding::NoRating(NoRating::OutOfRange),
        },
        Err(reason) => Understanding::NoRating(reason),
    }
}

/// A rating form found in the text: its value, and where what follows it begins.
#[derive(Debug, Clone, Copy)]
struct Found {
    value: u32,
    rest: usize,
    /// A bare number ("5", "five") rather than a form that ends itself.
    bare: bool,
}

impl Found {
    fn new(value: u32, rest: usize) -> Self {
        Self { value, rest, bare: false }
    }
}

/// A number in the text, and whether it was a word (words need no digits-length check).
#[derive(Debug, Clone, Copy)]
struct Number {
    value: u32,
    start: usize,
    end: usize,
    word: bool,
}

/// What a unit counts: stars only rate; points also count loyalty points, items and cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Star,
    Point,
}

struct Reader<'a> {
    chars: &'a [char],
    scale: Scale,
    lexicon: &'static Lexicon,
    labels: &'a Labels,
}

impl Reader<'_> {
    /// The value and the position of the comment, if any.
    fn read(&self) -> Result<(u32, Option<usize>), NoRating> {
        let chars = self.chars;
        let start = skip_whitespace(chars, 0);
        if start == chars.len() {
            return Err(NoRating::NotARating);
        }
        let found = self.form_at(start)?;
        let comment_at = skip_separators(chars, found.rest);
        // "4 stars and a half", "★★★★½", "4, y media": between two ratings.
        if self.half_at(comment_at) {
            return Err(NoRating::Ambiguous);
        }
        if comment_at == chars.len() || self.is_trailer(comment_at) {
            return Ok((found.value, None));
        }
        // "5 - 7 days", "1, 2 and 3 are missing": a bare number before a greater one opens a
        // range or a list. A smaller one is a comment: "5 - 2 agents helped me".
        if found.bare && self.leading_number(comment_at).is_some_and(|n| n > found.value) {
            return Err(NoRating::Ambiguous);
        }
        // A second rating right after the first: the same one again adds nothing, another
        // one makes the reply ambiguous ("4, 5", "4 - 5", "⭐⭐⭐⭐ 5").
        if let Ok(second) = self.form_at(comment_at) {
            if second.value != found.value {
                return Err(NoRating::Ambiguous);
            }
            if skip_separators(chars, second.rest) == chars.len() {
                return Ok((found.value, None));
            }
        }
        Ok((found.value, Some(comment_at)))
    }

    fn lexicons(&self) -> impl Iterator<Item = &'static Lexicon> {
        let english = (!std::ptr::eq(self.lexicon, &ENGLISH)).then_some(&ENGLISH);
        std::iter::once(self.lexicon).chain(english)
    }

    fn form_at(&self, pos: usize) -> Result<Found, NoRating> {
        if let Some(found) = self.labels.match_at(self.chars, pos, |end| self.stands_whole(end)) {
            return Ok(found);
        }
        let c = self.chars[pos];
        if STARS.contains(&c) || EMPTY_STARS.contains(&c) {
            return self.star_run(pos);
        }
        if face_value(c).is_some() {
            return self.face_run(pos);
        }
        for (unit, counters) in self.lexicon.units_before {
            if let Some(after_unit) = self.word_at(pos, unit) {
                let number = self.number_at(skip_spaces(self.chars, after_unit)).ok_or(NoRating::NotARating)?;
                let at = skip_spaces(self.chars, number.end);
                if let Some(end) = counters.iter().find_map(|c| self.word_at(at, c)) {
                    return self.after_unit(number, Unit::Star, end);
                }
                // "bintang 5", "별점 5점", "نجمة واحدة": the number as if it opened the reply.
                return self.after_number(number);
            }
        }
        match self.number_at(pos) {
            Some(number) => self.after_number(number),
            None => self.unit_number_at(pos),
        }
    }

    /// Whether a label ending at `end` stands whole: followed by the end, by punctuation or by
    /// a polite ending (after optional spaces): "Satisfied!", "満足です", "만족해요".
    fn stands_whole(&self, end: usize) -> bool {
        let next = skip_spaces(self.chars, end);
        next == self.chars.len() || is_delimiter(self.chars[next]) || self.is_trailer(next)
    }

    /// "ein Stern", "одну звезду": number words that count only before a unit.
    fn unit_number_at(&self, pos: usize) -> Result<Found, NoRating> {
        for &(word, value) in self.lexicon.unit_numbers {
            let Some(end) = self.word_at(pos, word) else { continue };
            let q = skip_spaces(self.chars, end);
            if q > end
                && let Some((unit, unit_end)) = self.unit_at(q)
            {
                let number = Number { value: u32::from(value), start: pos, end, word: true };
                return self.after_unit(number, unit, unit_end);
            }
        }
        Err(NoRating::NotARating)
    }

    fn after_number(&self, number: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let p = number.end;
        let digit_after = |at: usize| chars.get(at + 1).is_some_and(char::is_ascii_digit);
        let letter_after = |at: usize| chars.get(at + 1).is_some_and(|c| c.is_alphabetic());
        match chars.get(p).copied() {
            // 4.5 and 4,5: a decimal, or two ratings.
            Some('.' | ',') if digit_after(p) => return Err(NoRating::Ambiguous),
            // 5,- and 5.-: a price.
            Some('.' | ',') if chars.get(p + 1) == Some(&'-') => return Err(NoRating::NotARating),
            // 4-5, 4~5: a range.
            Some('-' | '–' | '~') if digit_after(p) => return Err(NoRating::Ambiguous),
            // "5-й раз", "one-time code", "Dua-duanya": a hyphen glued to a word makes one word.
            // "5-star" keeps its unit.
            Some(c) if is_hyphen(c) && letter_after(p) => {
                return match self.unit_at(p + 1) {
                    Some((Unit::Star, end)) => self.after_unit(number, Unit::Star, end),
                    _ => Err(NoRating::NotARating),
                };
            }
            // 5:30 is a time, ٥٬٠٠٠ a thousand.
            Some(':' | '٬') if digit_after(p) => return Err(NoRating::NotARating),
            // "1) the app crashes": a list item.
            Some(')') if !number.word => return Err(NoRating::NotARating),
            // "2. Versuch", "5. Dezember": in German, an ordinal.
            Some('.')
                if !number.word
                    && self.lexicon.dotted_ordinals
                    && chars.get(skip_spaces(chars, p + 1)).is_some_and(|c| c.is_alphabetic()) =>
            {
                return Err(NoRating::NotARating);
            }
            // "5*" is a star, "5*5" a product; "5**" is left to what follows.
            Some('*') => match chars.get(p + 1) {
                Some(c) if c.is_ascii_digit() => return Err(NoRating::NotARating),
                Some(c) if c.is_alphanumeric() || *c == '*' => {}
                _ => return self.after_unit(number, Unit::Star, p + 1),
            },
            _ => {}
        }
        let q = skip_spaces(chars, p);
        // "5 €", "5%", "٥٪ خصم", "2× charged": money and rates.
        if chars.get(q).is_some_and(|&c| is_money_or_rate(c)) {
            return Err(NoRating::NotARating);
        }
        if chars.get(q) == Some(&'/') {
            let denominator = self.digits_at(skip_spaces(chars, q + 1)).ok_or(NoRating::NotARating)?;
            return self.slash_fraction(number.value, denominator);
        }
        if q > p
            && let Some(fraction) = self.word_fraction_at(q, number.value)
        {
            return fraction;
        }
        for or in self.lexicons().flat_map(|l| l.or).chain(&["~"]) {
            if let Some(after) = self.word_at(q, or)
                && self.number_at(skip_spaces(chars, after)).is_some()
            {
                return Err(NoRating::Ambiguous);
            }
        }
        if let Some((unit, end)) = self.unit_at(q) {
            return self.after_unit(number, unit, end);
        }
        if chars.get(q).is_some_and(|c| STARS.contains(c) && *c != '*') {
            // "5⭐" reads the star as a unit; "5 ⭐⭐⭐⭐⭐" repeats the rating.
            let run = self.star_run(q)?;
            return match run.value {
                1 => Ok(Found::new(number.value, run.rest)),
                v if v == number.value => Ok(Found::new(v, run.rest)),
                _ => Err(NoRating::Ambiguous),
            };
        }
        self.bare_number(number)
    }

    /// A number standing alone: what follows decides whether it is a rating.
    fn bare_number(&self, number: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let p = number.end;
        let found = Ok(Found { value: number.value, rest: p, bare: true });
        let Some(&next) = chars.get(p) else { return found };
        if is_delimiter(next) || next == '\n' {
            return found;
        }
        if next.is_alphabetic() {
            // "5am", "3時間", unless it's only a polite ending: "5요", "5です".
            return if self.is_trailer(p) { found } else { Err(NoRating::NotARating) };
        }
        if matches!(next, '+' | '#' | '°' | '\'' | '@' | '&' | '=' | '_' | '(' | '[') {
            return Err(NoRating::NotARating);
        }
        if !next.is_whitespace() {
            // An emoji or symbol right after the number: "5👍".
            return found;
        }
        let q = skip_spaces(chars, p);
        match chars.get(q) {
            None | Some('\n') => found,
            // "3 hours waiting", "5 great": a number followed by words is no rating.
            Some(c) if c.is_alphabetic() => {
                if self.is_trailer(q) {
                    found
                } else {
                    Err(NoRating::NotARating)
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let second = self.number_at(q).ok_or(NoRating::NotARating)?;
                if second.value == number.value { found } else { Err(NoRating::Ambiguous) }
            }
            // "2 + 2", "5 °C".
            Some('+' | '=' | '°') => Err(NoRating::NotARating),
            Some(_) => found,
        }
    }

    /// "4/5": ends itself ("10/10 would recommend"), unless it is a date ("12/25/2024") or a
    /// share ("1/5 of my order is missing").
    fn slash_fraction(&self, value: u32, denominator: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let end = denominator.end;
        if chars.get(end) == Some(&'/') || chars.get(end).is_some_and(|c| c.is_alphanumeric()) {
            return Err(NoRating::NotARating);
        }
        let next = skip_spaces(chars, end);
        if next > end && self.lexicons().flat_map(|l| l.of).any(|of| self.word_at(next, of).is_some()) {
            return Err(NoRating::NotARating);
        }
        // "4/5 stars": the unit belongs to the fraction.
        let found = match self.unit_at(next) {
            Some((unit, unit_end)) => {
                self.after_unit(Number { value, start: end, end, word: false }, unit, unit_end)?
            }
            None => Found::new(value, end),
        };
        self.over(value, denominator.value)?;
        Ok(found)
    }

    /// A fraction joined by a word at `pos` ("out of 5", "de 5", "из 5"), if one is there.
    fn word_fraction_at(&self, pos: usize, value: u32) -> Option<Result<Found, NoRating>> {
        self.lexicons().flat_map(|l| l.of).find_map(|of| {
            let after = self.word_at(pos, of)?;
            let r = skip_spaces(self.chars, after);
            let denominator = self.number_at(r).filter(|_| r > after)?;
            Some(self.word_fraction(value, denominator))
        })
    }

    /// "4 out of 5": joined by words, it ends itself only before the end, punctuation, a unit
    /// or a star ("4 of 5 stars"), never before words: "2 of 5 packages arrived damaged".
    fn word_fraction(&self, value: u32, denominator: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let end = denominator.end;
        if chars.get(end).is_some_and(|c| c.is_alphanumeric() || *c == '/') {
            return Err(NoRating::NotARating);
        }
        let q = skip_spaces(chars, end);
        let found = match chars.get(q) {
            None => Found::new(value, end),
            Some(&c) if is_delimiter(c) || c == '\n' || self.is_trailer(q) => Found::new(value, end),
            Some(&c) if STARS.contains(&c) && c != '*' => {
                // "4 of 5 ⭐": one star is a unit; a run repeats the rating, or not.
                let run = self.star_run(q)?;
                Found::new(value, if run.value == 1 { run.rest } else { end })
            }
            Some(_) => {
                let (unit, unit_end) = self.unit_at(q).ok_or(NoRating::NotARating)?;
                self.after_unit(Number { value, start: end, end, word: false }, unit, unit_end)?
            }
        };
        self.over(value, denominator.value)?;
        Ok(found)
    }

    /// Whether a fraction's denominator is the scale's maximum. A rating on another scale is out
    /// of range (asking again beats converting it); anything else is no rating.
    fn over(&self, value: u32, denominator: u32) -> Result<(), NoRating> {
        match denominator {
            d if d == u32::from(self.scale.max()) => Ok(()),
            d @ 2..=10 if value <= d => Err(NoRating::OutOfRange),
            _ => Err(NoRating::NotARating),
        }
    }

    /// The unit at `pos`, and where it ends.
    fn unit_at(&self, pos: usize) -> Option<(Unit, usize)> {
        self.lexicons().find_map(|l| {
            let star = l.units.iter().find_map(|u| Some((Unit::Star, self.word_at(pos, u)?)));
            star.or_else(|| l.point_units.iter().find_map(|u| Some((Unit::Point, self.word_at(pos, u)?))))
        })
    }

    /// What may follow a number and its unit, ending at `end`.
    fn after_unit(&self, number: Number, unit: Unit, end: usize) -> Result<Found, NoRating> {
        let chars = self.chars;
        let found = Found::new(number.value, end);
        // "5-Sterne-Hotel": the unit is part of a longer word.
        if chars.get(end).is_some_and(|&c| is_hyphen(c)) && chars.get(end + 1).is_some_and(|c| c.is_alphabetic()) {
            return Err(NoRating::NotARating);
        }
        let q = skip_spaces(chars, end);
        let Some(&next) = chars.get(q) else { return Ok(found) };
        // 三星手机, 十分满意, 三星 Galaxy: a number word and unit that are a word of their own
        // read as a rating only standing alone.
        if self.is_idiom(number, end) && !(is_delimiter(next) || next == '\n' || self.is_trailer(q)) {
            return Err(NoRating::NotARating);
        }
        if self.half_at(q) {
            return Err(NoRating::Ambiguous);
        }
        if let Some(given) = self.full_marks_at(q, number) {
            return given;
        }
        // "5 баллов из 5", "4 stars out of 5".
        if q > end
            && let Some(fraction) = self.word_fraction_at(q, number.value)
        {
            return fraction;
        }
        if is_cjk_letter(next) {
            if self.is_trailer(q) {
                return Ok(found);
            }
            // Run on, or after points, only a comment starter may follow (5星好评, 5점 감사합니다);
            // anything else makes the unit part of another word: 一分钱, 一点だけ, 5점대, 5점 반품.
            if (q == end && is_cjk_letter(chars[end - 1])) || unit == Unit::Point {
                let starts_comment = self.lexicon.comment_starters.iter().any(|w| self.word_at(q, w).is_some());
                return if starts_comment { Ok(found) } else { Err(NoRating::NotARating) };
            }
            return Ok(found);
        }
        if unit == Unit::Point {
            let spaced = is_spaced_letter(chars[end - 1]);
            // "One point: you never called back", "Deux points à signaler": a number word with
            // points takes no comment at all.
            if spaced && number.word && skip_separators(chars, end) < chars.len() {
                return Err(NoRating::NotARating);
            }
            // "5 points not credited", "2 points: the app crashes": points take a comment only
            // after punctuation, and not after a colon.
            if (q > end && next.is_alphanumeric()) || (spaced && next == ':') {
                return Err(NoRating::NotARating);
            }
        }
        Ok(found)
    }

    /// Whether the number and the unit ending at `end` make one of the locale's idioms: 三星.
    fn is_idiom(&self, number: Number, end: usize) -> bool {
        number.word
            && self.lexicon.idioms.iter().any(|idiom| idiom.chars().eq(self.chars[number.start..end].iter().copied()))
    }

    /// 5点満点中4点, 5점 만점에 4점, 10分满分，我给8分: the score given, out of full marks `max`.
    /// Full marks with no score after them ("5点満点") are no rating.
    fn full_marks_at(&self, pos: usize, max: Number) -> Option<Result<Found, NoRating>> {
        let chars = self.chars;
        let after = self.lexicon.full_marks.iter().find_map(|w| self.word_at(pos, w))?;
        let mut at = skip_separators(chars, after);
        if let Some(end) = self.lexicon.full_marks_joins.iter().find_map(|w| self.word_at(at, w)) {
            at = skip_spaces(chars, end);
        }
        let Some(given) = self.number_at(at) else { return Some(Err(NoRating::NotARating)) };
        Some(self.after_number(given).and_then(|found| {
            self.over(given.value, max.value)?;
            Ok(Found::new(found.value, found.rest))
        }))
    }

    /// Whether a half opens `pos`: "½", "and a half", "et demie", 半 (but not 半点 or 半钟,
    /// words of their own).
    fn half_at(&self, pos: usize) -> bool {
        let Some(&c) = self.chars.get(pos) else { return false };
        if is_vulgar_fraction(c) {
            return true;
        }
        self.lexicons()
            .flat_map(|l| l.half)
            .filter_map(|w| self.word_at(pos, w))
            .any(|end| !self.chars.get(end).is_some_and(|&c| is_cjk_letter(c)) || self.is_trailer(end))
    }

    /// The number opening a comment, if any: digits of any length, or a number word standing
    /// apart (十 in 十分满意 is part of a word).
    fn leading_number(&self, pos: usize) -> Option<u32> {
        if let Some(digits) = self.digits_at(pos) {
            return Some(digits.value);
        }
        let word = self.number_word_at(pos)?;
        (!self.chars.get(word.end).is_some_and(|&c| is_cjk_letter(c))).then_some(word.value)
    }

    fn star_run(&self, pos: usize) -> Result<Found, NoRating> {
        let chars = self.chars;
        let (mut filled, mut empty, mut only_asterisks) = (0u32, 0u32, true);
        let mut p = pos;
        let mut end = pos;
        while p < chars.len() {
            let c = chars[p];
            if STARS.contains(&c) && empty == 0 {
                filled += 1;
                only_asterisks &= c == '*';
            } else if EMPTY_STARS.contains(&c) {
                empty += 1;
            } else if c == ZWJ {
                // A star joined to another emoji makes another emoji.
                if p + 1 < chars.len() {
                    return Err(NoRating::NotARating);
                }
                end = p + 1;
                break;
            } else if c != ' ' {
                break;
            }
            p += 1;
            if c != ' ' {
                end = p;
            }
        }
        let asterisks = only_asterisks && filled > 0;
        if asterisks {
            // `*` is also emphasis and bullets: "*great*", "* item". A run of asterisks
            // counts only standing apart, and a single one only alone.
            let next = chars.get(end);
            if next.is_some_and(|c| c.is_alphanumeric()) || (filled == 1 && skip_separators(chars, end) < chars.len()) {
                return Err(NoRating::NotARating);
            }
        }
        if filled + empty == 1 && !asterisks {
            // "★5", "⭐ 4", "☆5": the star is a unit before the number.
            if let Some(number) = self.number_at(skip_spaces(chars, end)) {
                return self.after_star(number);
            }
        }
        if filled == 0 {
            // "☆☆☆": no star given is no rating, not a zero.
            return Err(NoRating::NotARating);
        }
        Ok(Found::new(filled, end))
    }

    /// After a star and a number: "★5", "★5つ", but not "★5月のキャンペーン" (a bullet).
    fn after_star(&self, number: Number) -> Result<Found, NoRating> {
        let rest = number.end;
        if self.chars.get(rest).is_some_and(|c| c.is_alphabetic()) && !self.is_trailer(rest) {
            let counters = self.lexicon.units_before.iter().flat_map(|(_, counters)| *counters);
            return match counters.clone().find_map(|c| self.word_at(rest, c)) {
                Some(end) => self.after_unit(number, Unit::Star, end),
                None => Err(NoRating::NotARating),
            };
        }
        Ok(Found::new(number.value, rest))
    }

    fn face_run(&self, pos: usize) -> Result<Found, NoRating> {
        if self.scale != Scale::Faces {
            return Err(NoRating::NotARating);
        }
        let mut value = None;
        let mut end = pos;
        for (i, &c) in self.chars.iter().enumerate().skip(pos) {
            match face_value(c) {
                Some(v) if value.is_none_or(|seen| seen == v) => {
                    value = Some(v);
                    end = i + 1;
                }
                Some(_) => return Err(NoRating::Ambiguous),
                None if c == ' ' => {}
                // A face joined to another emoji makes another emoji: 😶‍🌫️ is not 😶.
                None if c == ZWJ => {
                    if i + 1 < self.chars.len() {
                        return Err(NoRating::NotARating);
                    }
                    end = i + 1;
                }
                None => break,
            }
        }
        Ok(Found::new(value.map_or(0, u32::from), end))
    }

    /// A number in digits (at most two: longer ones are order numbers, not ratings) or a word.
    fn number_at(&self, pos: usize) -> Option<Number> {
        self.digits_at(pos).filter(|n| n.end - pos <= 2).or_else(|| self.number_word_at(pos))
    }

    fn digits_at(&self, pos: usize) -> Option<Number> {
        let len = self.chars.get(pos..)?.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let value = self.chars[pos..pos + len]
            .iter()
            .try_fold(0u32, |acc, c| acc.checked_mul(10)?.checked_add(c.to_digit(10)?))
            .unwrap_or(u32::MAX);
        Some(Number { value, start: pos, end: pos + len, word: false })
    }

    fn number_word_at(&self, pos: usize) -> Option<Number> {
        self.lexicons()
            .flat_map(|l| l.numbers)
            .filter_map(|(word, value)| {
                Some(Number { value: u32::from(*value), start: pos, end: self.word_at(pos, word)?, word: true })
            })
            .max_by_key(|n| n.end)
    }

    /// Matches `word` at `pos`. A word in a spaced script must end there: "one" is not read
    /// in "oneself"; in Chinese or Japanese nothing separates words, so no end is needed.
    fn word_at(&self, pos: usize, word: &str) -> Option<usize> {
        let mut p = pos;
        for w in word.chars() {
            if self.chars.get(p) != Some(&w) {
                return None;
            }
            p += 1;
        }
        let last = word.chars().last()?;
        let runs_on = is_spaced_letter(last) && self.chars.get(p).is_some_and(|c| c.is_alphabetic());
        (!runs_on).then_some(p)
    }

    /// Whether the text from `pos` is only a polite ending: "이요", "です", possibly punctuated.
    fn is_trailer(&self, pos: usize) -> bool {
        self.lexicon
            .trailers
            .iter()
            .any(|t| self.word_at(pos, t).is_some_and(|end| skip_separators(self.chars, end) == self.chars.len()))
    }
}

fn face_value(c: char) -> Option<u8> {
    FACES.iter().find(|(face, _)| *face == c).map(|(_, v)| *v)
}

/// Letters of scripts that put spaces between words (not Chinese, Japanese or Korean).
fn is_spaced_letter(c: char) -> bool {
    c.is_alphabetic() && !is_cjk(c)
}

/// Letters of Chinese, Japanese and Korean, which run words together.
fn is_cjk_letter(c: char) -> bool {
    c.is_alphabetic() && is_cjk(c)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x1100..=0x11FF)
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

fn skip_spaces(chars: &[char], mut pos: usize) -> usize {
    while chars.get(pos).is_some_and(|c| *c == ' ' || *c == '\t') {
        pos += 1;
    }
    pos
}

fn skip_whitespace(chars: &[char], mut pos: usize) -> usize {
    while chars.get(pos).is_some_and(|c| c.is_whitespace()) {
        pos += 1;
    }
    pos
}

fn skip_separators(chars: &[char], mut pos: usize) -> usize {
    while chars.get(pos).is_some_and(|c| c.is_whitespace() || is_delimiter(*c)) {
        pos += 1;
    }
    pos
}

/// The zero-width joiner, which glues emoji into one: 😶‍🌫️.
const ZWJ: char = '\u{200D}';

/// Folds `text` for matching, handing each folded character to `keep` with the byte offset of
/// the character it came from.
fn fold_chars(text: &str, mut keep: impl FnMut(char, usize)) {
    let mut previous = ' ';
    for (offset, c) in text.char_indices() {
        let folded = match c {
            // A joiner matters only after an emoji or symbol, where it makes another emoji.
            ZWJ => (!previous.is_alphanumeric() && !previous.is_whitespace()).then_some(c),
            // A keycap on a digit is the digit: 5️⃣.
            '\u{20E3}' => (!previous.is_ascii_digit()).then_some(c),
            _ => fold_char(c),
        };
        if let Some(folded) = folded {
            keep(folded, offset);
            previous = folded;
        }
    }
}

/// Folds one character for matching, or drops it (`None`): what a reader doesn't see, or sees
/// as part of the character before it.
fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return (!c.is_control() || c.is_whitespace()).then(|| c.to_ascii_lowercase());
    }
    let code = c as u32;
    let folded = match code {
        // Variation selectors, zero-width characters, byte order marks, soft hyphens.
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF | 0x200B | 0x200C | 0x2060 | 0xFEFF | 0x00AD => return None,
        // Direction marks, bidi embeddings, overrides and isolates.
        0x200E | 0x200F | 0x061C | 0x202A..=0x202E | 0x2066..=0x2069 => return None,
        // Combining marks: decomposed accents (e + U+0301 is e) and marks on symbols.
        0x0300..=0x036F | 0x20D0..=0x20FF => return None,
        // Arabic vowel marks, shadda, sukun, dagger alef and tatweel: خمسةٌ and خمــسة are خمسة.
        0x064B..=0x0652 | 0x0670 | 0x0640 => return None,
        // Skin tones: 🙂🏻 is 🙂.
        0x1F3FB..=0x1F3FF => return None,
        _ if c.is_control() && !c.is_whitespace() => return None,
        // Full-width ASCII, as typed on Chinese and Japanese keyboards.
        0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0)?.to_ascii_lowercase(),
        0x3000 | 0x00A0 | 0x202F => ' ',
        // Arabic-Indic, Extended Arabic-Indic (Persian, Urdu) and Devanagari digits.
        0x0660..=0x0669 => char::from_u32('0' as u32 + code - 0x0660)?,
        0x06F0..=0x06F9 => char::from_u32('0' as u32 + code - 0x06F0)?,
        0x0966..=0x096F => char::from_u32('0' as u32 + code - 0x0966)?,
        // The Arabic decimal separator: ٤٫٥ is 4.5.
        0x066B => '.',
        _ => c.to_lowercase().next().unwrap_or(c),
    };
    Some(strip_accent(folded))
}

fn strip_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'ё' => 'е',
        // Hamza forms of alef read as bare alef: people type both.
        'أ' | 'إ' | 'آ' => 'ا',
        _ => c,
    }
}

#[cfg(test)]
mod tests;
