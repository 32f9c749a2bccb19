//! HTML for end users: the emails' HTML parts and the pages their links open.

use ratewire_core::{Scale, Score};

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

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

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            super::escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }
}
