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

#[cfg(test)]
mod tests;
