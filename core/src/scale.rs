//! Rating scales and the scores they admit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A rating the end user gave, already checked against a [`Scale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Score(u8);

impl Score {
    pub fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The scale a survey asks on.
///
/// Stars run from 1 to `steps`; numbers from `min` to `max`; faces from 1 (😠) to 5 (🤩).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scale {
    Stars { steps: u8 },
    Numeric { min: u8, max: u8 },
    Faces,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScaleError {
    #[error("stars take 2 to 10 steps, not {0}")]
    StarSteps(u8),
    #[error("a numeric scale runs within 0..10 with MIN < MAX, not {min}-{max}")]
    NumericRange { min: u8, max: u8 },
    #[error("the face scale has exactly 5 levels, not {0}")]
    FaceLevels(u8),
    #[error("unknown scale {0:?}: expected stars:N, numeric:MIN-MAX or emoji:5")]
    Syntax(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{value} is outside the scale {scale}")]
pub struct OutOfScale {
    pub value: u32,
    pub scale: Scale,
}

impl Scale {
    pub const FIVE_STARS: Scale = Scale::Stars { steps: 5 };
    pub const NPS: Scale = Scale::Numeric { min: 0, max: 10 };

    pub fn stars(steps: u8) -> Result<Self, ScaleError> {
        if (2..=10).contains(&steps) { Ok(Scale::Stars { steps }) } else { Err(ScaleError::StarSteps(steps)) }
    }

    pub fn numeric(min: u8, max: u8) -> Result<Self, ScaleError> {
        if min < max && max <= 10 {
            Ok(Scale::Numeric { min, max })
        } else {
            Err(ScaleError::NumericRange { min, max })
        }
    }

    pub fn min(self) -> u8 {
        match self {
            Scale::Stars { .. } | Scale::Faces => 1,
            Scale::Numeric { min, .. } => min,
        }
    }

    pub fn max(self) -> u8 {
        match self {
            Scale::Stars { steps } => steps,
            Scale::Numeric { max, .. } => max,
            Scale::Faces => 5,
        }
    }

    /// How many levels the scale offers.
    pub fn levels(self) -> u8 {
        self.max() - self.min() + 1
    }

    /// Every score of the scale, lowest first.
    pub fn scores(self) -> impl DoubleEndedIterator<Item = Score> + ExactSizeIterator {
        (self.min()..=self.max()).map(Score)
    }

    pub fn contains(self, value: u32) -> bool {
        (u32::from(self.min())..=u32::from(self.max())).contains(&value)
    }

    /// Checks a number against the scale.
    pub fn score(self, value: u32) -> Result<Score, OutOfScale> {
        if self.contains(value) { Ok(Score(value as u8)) } else { Err(OutOfScale { value, scale: self }) }
    }

    /// Whether this is the 0–10 Net Promoter scale.
    pub fn is_nps(self) -> bool {
        self == Self::NPS
    }

    /// Whether a score counts as satisfied for CSAT: the top two levels of a five-level scale, and
    /// in general the top 40% of the levels, rounded to the nearest level (at least one).
    pub fn is_positive(self, score: Score) -> bool {
        let top_levels = ((u32::from(self.levels()) * 2 + 2) / 5).max(1) as u8;
        score.0 > self.max() - top_levels
    }

    /// Whether a score counts as negative: the bottom 40% of the levels, the mirror of
    /// [`Scale::is_positive`]. On NPS, the detractors (0–6).
    pub fn is_negative(self, score: Score) -> bool {
        if self.is_nps() {
            return score.0 <= 6;
        }
        let bottom_levels = ((u32::from(self.levels()) * 2 + 2) / 5).max(1) as u8;
        score.0 < self.min() + bottom_levels
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scale::Stars { steps } => write!(f, "stars:{steps}"),
            Scale::Numeric { min, max } => write!(f, "numeric:{min}-{max}"),
            Scale::Faces => f.write_str("emoji:5"),
        }
    }
}

impl FromStr for Scale {
    type Err = ScaleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || ScaleError::Syntax(text.to_owned());
        let (kind, spec) = text.split_once(':').ok_or_else(syntax)?;
        let number = |s: &str| s.trim().parse::<u8>().map_err(|_| syntax());
        match kind.trim() {
            "stars" => Scale::stars(number(spec)?),
            "numeric" => {
                let (min, max) = spec.split_once('-').ok_or_else(syntax)?;
                Scale::numeric(number(min)?, number(max)?)
            }
            "emoji" | "faces" => match number(spec)? {
                5 => Ok(Scale::Faces),
                other => Err(ScaleError::FaceLevels(other)),
            },
            _ => Err(syntax()),
        }
    }
}

impl TryFrom<String> for Scale {
    type Error = ScaleError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Scale> for String {
    fn from(scale: Scale) -> String {
        scale.to_string()
    }
}

/// A string, as [`Scale`]'s `Display` writes it and its `FromStr` reads it.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Scale {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A rating scale: `stars:N` (N from 2 to 10 stars), `numeric:MIN-MAX` (0 <= MIN < MAX <= 10; \
                 `numeric:0-10` is NPS) or `emoji:5` (five faces; `faces:5` is read as it)",
            ))
            .pattern(Some("^(stars:[0-9]+|numeric:[0-9]+-[0-9]+|(emoji|faces):5)$"))
            .examples(["stars:5", "numeric:0-10", "emoji:5"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Scale {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for text in ["stars:2", "stars:10", "numeric:0-10", "numeric:1-10", "emoji:5"] {
            assert_eq!(text.parse::<Scale>().unwrap().to_string(), text);
        }
        assert_eq!("faces:5".parse::<Scale>(), Ok(Scale::Faces));
    }

    #[test]
    fn refuses_bad_scales() {
        assert_eq!("stars:1".parse::<Scale>(), Err(ScaleError::StarSteps(1)));
        assert_eq!("stars:11".parse::<Scale>(), Err(ScaleError::StarSteps(11)));
        assert!(matches!("numeric:5-5".parse::<Scale>(), Err(ScaleError::NumericRange { .. })));
        assert!(matches!("numeric:0-11".parse::<Scale>(), Err(ScaleError::NumericRange { .. })));
        assert_eq!("emoji:3".parse::<Scale>(), Err(ScaleError::FaceLevels(3)));
        assert!(matches!("dots:5".parse::<Scale>(), Err(ScaleError::Syntax(_))));
        assert!(matches!("stars".parse::<Scale>(), Err(ScaleError::Syntax(_))));
    }

    #[test]
    fn scores_respect_bounds() {
        let nps = Scale::NPS;
        assert_eq!(nps.levels(), 11);
        assert!(nps.score(0).is_ok());
        assert!(nps.score(11).is_err());
        assert!(Scale::FIVE_STARS.score(0).is_err());
        assert_eq!(Scale::FIVE_STARS.scores().count(), 5);
    }

    #[test]
    fn csat_counts_the_top_two_of_five() {
        let five = Scale::FIVE_STARS;
        let positive: Vec<u8> = five.scores().filter(|s| five.is_positive(*s)).map(Score::value).collect();
        assert_eq!(positive, [4, 5]);
        let negative: Vec<u8> = five.scores().filter(|s| five.is_negative(*s)).map(Score::value).collect();
        assert_eq!(negative, [1, 2]);
        let ten = Scale::numeric(1, 10).unwrap();
        let positive: Vec<u8> = ten.scores().filter(|s| ten.is_positive(*s)).map(Score::value).collect();
        assert_eq!(positive, [7, 8, 9, 10]);
        let two = Scale::stars(2).unwrap();
        assert!(two.is_positive(two.score(2).unwrap()));
        assert!(!two.is_positive(two.score(1).unwrap()));
        assert!(two.is_negative(two.score(1).unwrap()));
        let nps = Scale::NPS;
        assert!(nps.is_negative(nps.score(6).unwrap()));
        assert!(!nps.is_negative(nps.score(7).unwrap()));
    }
}
