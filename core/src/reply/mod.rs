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
//! ("5 - great", "4, but slow", "1. Terrible"); after a form that ends itself (a unit, a
//! fraction, glyphs) a space is enough ("10/10 would recommend", "⭐⭐⭐⭐⭐ Ana was great").
//! A label, like a bare number, needs punctuation before a comment, so that a label "Good"
//! never reads "Good morning, one more thing" as a rating.

mod lexicon;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use self::lexicon::FACES as ACCEPTED_FACES;
use self::lexicon::{EMPTY_STARS, ENGLISH, FACES, Lexicon, STARS, is_delimiter};
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

    /// The label that opens `chars` at `pos`, if it stands whole there: followed by the end,
    /// or by punctuation (after optional spaces).
    fn match_at(&self, chars: &[char], pos: usize) -> Option<Found> {
        self.folded.iter().find_map(|(label, score)| {
            let end = pos + label.len();
            if chars.get(pos..end)? != label.as_slice() {
                return None;
            }
            let next = skip_spaces(chars, end);
            let stands_whole = next == chars.len() || is_delimiter(chars[next]);
            stands_whole.then_some(Found { value: u32::from(score.value()), rest: end })
        })
    }
}

/// Folds text the way replies are folded before matching: lower case, full-width to ASCII,
/// accents off, surrounding space and trailing punctuation trimmed.
pub fn fold(text: &str) -> String {
    let folded: String = text.chars().filter_map(fold_char).collect();
    folded.trim().trim_end_matches(|c: char| is_delimiter(c) || c.is_whitespace()).to_owned()
}

/// Reads a reply on `scale`, in `locale`, with the business's `labels`.
pub fn understand(text: &str, scale: Scale, locale: Locale, labels: &Labels) -> Understanding {
    let mut chars = Vec::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len());
    for (offset, c) in text.char_indices() {
        if let Some(folded) = fold_char(c) {
            chars.push(folded);
            offsets.push(offset);
        }
    }
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
}

/// A number, and whether it was a word (words need no digits-length check).
#[derive(Debug, Clone, Copy)]
struct Number {
    value: u32,
    end: usize,
    word: Option<&'static str>,
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
        let start = skip_whitespace(self.chars, 0);
        if start == self.chars.len() {
            return Err(NoRating::NotARating);
        }
        let found = self.form_at(start)?;
        let comment_at = skip_separators(self.chars, found.rest);
        if comment_at == self.chars.len() || self.is_trailer(comment_at) {
            return Ok((found.value, None));
        }
        // A second rating right after the first: the same one again adds nothing, another
        // one makes the reply ambiguous ("4, 5", "4 - 5", "⭐⭐⭐⭐ 5").
        if let Ok(second) = self.form_at(comment_at) {
            if second.value != found.value {
                return Err(NoRating::Ambiguous);
            }
            if skip_separators(self.chars, second.rest) == self.chars.len() {
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
        if let Some(found) = self.labels.match_at(self.chars, pos) {
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
                let end = counters.iter().find_map(|c| self.word_at(number.end, c)).unwrap_or(number.end);
                return Ok(Found { value: number.value, rest: end });
            }
        }
        let number = self.number_at(pos).ok_or(NoRating::NotARating)?;
        self.after_number(number)
    }

    fn after_number(&self, number: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let p = number.end;
        let next = chars.get(p).copied();
        let digit_after = |at: usize| chars.get(at + 1).is_some_and(char::is_ascii_digit);
        match next {
            // 4.5 and 4,5: a decimal, or two ratings.
            Some('.' | ',') if digit_after(p) => return Err(NoRating::Ambiguous),
            // 4-5, 4~5: a range.
            Some('-' | '–' | '~') if digit_after(p) => return Err(NoRating::Ambiguous),
            // 5:30 is a time.
            Some(':') if digit_after(p) => return Err(NoRating::NotARating),
            _ => {}
        }
        let q = skip_spaces(chars, p);
        if chars.get(q) == Some(&'/') {
            let denominator = self.digits_at(skip_spaces(chars, q + 1)).ok_or(NoRating::NotARating)?;
            return self.fraction(number.value, denominator);
        }
        if q > p {
            for of in self.lexicons().flat_map(|l| l.of) {
                let Some(after) = self.word_at(q, of) else { continue };
                let r = skip_spaces(chars, after);
                if r > after
                    && let Some(denominator) = self.number_at(r)
                {
                    return self.fraction(number.value, denominator);
                }
            }
        }
        for or in self.lexicons().flat_map(|l| l.or).chain(&["~"]) {
            if let Some(after) = self.word_at(q, or)
                && self.number_at(skip_spaces(chars, after)).is_some()
            {
                return Err(NoRating::Ambiguous);
            }
        }
        if let Some(end) = self.unit_at(q, number) {
            return Ok(Found { value: number.value, rest: end });
        }
        if chars.get(q).is_some_and(|c| STARS.contains(c) && *c != '*') {
            // "5⭐" reads the star as a unit; "5 ⭐⭐⭐⭐⭐" repeats the rating.
            let run = self.star_run(q)?;
            return match run.value {
                1 => Ok(Found { value: number.value, rest: run.rest }),
                v if v == number.value => Ok(Found { value: v, rest: run.rest }),
                _ => Err(NoRating::Ambiguous),
            };
        }
        self.bare_number(number)
    }

    /// A number standing alone: what follows decides whether it is a rating.
    fn bare_number(&self, number: Number) -> Result<Found, NoRating> {
        let chars = self.chars;
        let p = number.end;
        let found = Ok(Found { value: number.value, rest: p });
        let Some(&next) = chars.get(p) else { return found };
        if is_delimiter(next) || next == '\n' {
            return found;
        }
        if next.is_alphabetic() {
            // "5am", "3時間", unless it's only a polite ending: "5요", "5です".
            return if self.is_trailer(p) { found } else { Err(NoRating::NotARating) };
        }
        if matches!(next, '%' | '+' | '#' | '$' | '€' | '£' | '¥' | '°' | '\'' | '@' | '&' | '=' | '_' | '(' | '[')
        {
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
            Some(_) => found,
        }
    }

    fn fraction(&self, value: u32, denominator: Number) -> Result<Found, NoRating> {
        let end = denominator.end;
        // 12/25/2024 is a date.
        if self.chars.get(end) == Some(&'/') || self.chars.get(end).is_some_and(|c| c.is_alphanumeric()) {
            return Err(NoRating::NotARating);
        }
        match denominator.value {
            d if d == u32::from(self.scale.max()) => Ok(Found { value, rest: end }),
            // A rating on another scale: asking again beats converting it.
            d @ 2..=10 if value <= d => Err(NoRating::OutOfRange),
            _ => Err(NoRating::NotARating),
        }
    }

    fn unit_at(&self, pos: usize, number: Number) -> Option<usize> {
        let (unit, end) = self.lexicons().flat_map(|l| l.units).find_map(|u| Some((*u, self.word_at(pos, u)?)))?;
        if let Some(&next) = self.chars.get(end) {
            let compound = self.lexicon.compounds.iter().any(|(u, after)| *u == unit && after.contains(next));
            // 十分 before an adjective is the adverb "very": 十分满意.
            let adverb = number.word == Some("十") && unit == "分" && next.is_alphabetic();
            if compound || adverb {
                return None;
            }
        }
        Some(end)
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
            } else if c != ' ' {
                break;
            }
            p += 1;
            if c != ' ' {
                end = p;
            }
        }
        if only_asterisks && filled > 0 {
            // `*` is also emphasis and bullets: "*great*", "* item". A run of asterisks
            // counts only standing apart, and a single one only alone.
            let next = chars.get(end);
            if next.is_some_and(|c| c.is_alphanumeric()) || (filled == 1 && skip_separators(chars, end) < chars.len()) {
                return Err(NoRating::NotARating);
            }
        }
        if filled == 1 && empty == 0 && !only_asterisks {
            // "★5", "⭐ 4": the star is a unit before the number.
            if let Some(number) = self.number_at(skip_spaces(chars, end)) {
                return Ok(Found { value: number.value, rest: number.end });
            }
        }
        Ok(Found { value: filled, rest: end })
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
                None => break,
            }
        }
        Ok(Found { value: value.map_or(0, u32::from), rest: end })
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
        Some(Number { value, end: pos + len, word: None })
    }

    fn number_word_at(&self, pos: usize) -> Option<Number> {
        self.lexicons()
            .flat_map(|l| l.numbers)
            .filter_map(|(word, value)| {
                Some(Number { value: u32::from(*value), end: self.word_at(pos, word)?, word: Some(*word) })
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
    c.is_alphabetic()
        && !matches!(c as u32,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x1100..=0x11FF)
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

/// Folds one character for matching, or drops it (`None`): variation selectors, zero-width and
/// direction marks carry nothing a reader sees.
fn fold_char(c: char) -> Option<char> {
    let code = c as u32;
    let folded = match code {
        0xFE00..=0xFE0F | 0x200B..=0x200F | 0x2060 | 0xFEFF | 0x061C => return None,
        // Full-width ASCII, as typed on Chinese and Japanese keyboards.
        0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0)?.to_ascii_lowercase(),
        0x3000 | 0x00A0 | 0x202F => ' ',
        // Arabic-Indic, Extended Arabic-Indic (Persian, Urdu) and Devanagari digits.
        0x0660..=0x0669 => char::from_u32('0' as u32 + code - 0x0660)?,
        0x06F0..=0x06F9 => char::from_u32('0' as u32 + code - 0x06F0)?,
        0x0966..=0x096F => char::from_u32('0' as u32 + code - 0x0966)?,
        _ if c.is_ascii() => return Some(c.to_ascii_lowercase()),
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
