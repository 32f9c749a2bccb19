//! What the pages an email's links open show of a level. Their markup is in templates, which
//! escape what they insert.

use ratewire_core::{Scale, Score};

/// A level's title on a page: stars as text stars, filled up to the level (every font has
/// them, where the emoji star of messages may be missing); faces and numbers as in messages
/// ([`crate::level_title`]).
pub fn level_title(scale: Scale, score: Score) -> String {
    match scale {
        Scale::Stars { .. } => {
            let filled = usize::from(score.value());
            format!("{}{}", "★".repeat(filled), "☆".repeat(usize::from(scale.max()).saturating_sub(filled)))
        }
        _ => crate::level_title(scale, score),
    }
}

#[cfg(test)]
mod tests {
    use ratewire_core::Scale;

    #[test]
    fn stars_are_filled_up_to_the_level() {
        let scale = Scale::FIVE_STARS;
        assert_eq!(super::level_title(scale, scale.score(2).unwrap()), "★★☆☆☆");
        assert_eq!(super::level_title(Scale::NPS, Scale::NPS.score(7).unwrap()), "7");
    }
}
