//! `ratewire parse`: reads replies as JSON lines and prints how each one is understood.

use std::io::{self, BufRead, Write};

use ratewire_core::{Locale, Scale};
use serde::Serialize;

use crate::flow::understanding::{Output, understand_input};

/// What one input line gets back: how the reply is understood, or why the line can't be read.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Understood(Output),
    Error { error: String },
}

/// Reads every line of `input` and writes one JSON line for each to `output`, in order. A bad
/// line gets `{"error": …}` and the others go on. Output is flushed after each line when
/// `interactive`, so the command can be driven line by line.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    default_scale: Scale,
    default_locale: Locale,
    interactive: bool,
) -> io::Result<()> {
    for line in input.lines() {
        serde_json::to_writer(&mut output, &answer(&line?, default_scale, default_locale))?;
        output.write_all(b"\n")?;
        if interactive {
            output.flush()?;
        }
    }
    output.flush()
}

/// How one input line is understood, as its output object: `{"score", "comment", "reason"?}`,
/// or `{"error"}` for a line that can't be read.
fn answer(line: &str, default_scale: Scale, default_locale: Locale) -> Answer {
    let understood = serde_json::from_str(line)
        .map_err(|e| format!("invalid input line: {e}"))
        .and_then(|input| understand_input(input, default_scale, default_locale).map_err(|e| e.to_string()));
    match understood {
        Ok(output) => Answer::Understood(output),
        Err(error) => Answer::Error { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_lines(input: &str) -> Vec<serde_json::Value> {
        let mut output = Vec::new();
        run(input.as_bytes(), &mut output, Scale::FIVE_STARS, Locale::En, false).unwrap();
        String::from_utf8(output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn one_output_line_per_input_line_in_order() {
        let out = run_lines(concat!(
            r#"{"text":"5 - great"}"#,
            "\n",
            "not json\n",
            r#"{"text":"cinco estrellas","locale":"es"}"#,
            "\n",
            r#"{"text":"9","scale":"numeric:0-10"}"#,
            "\n",
            r#"{"text":"Meh","labels":{"3":"Meh"}}"#,
            "\n",
            r#"{"text":"6"}"#,
            "\n",
            r#"{"text":"x","scale":"stars:11"}"#,
            "\n",
            r#"{"text":"x","labels":{"7":"Wow"}}"#,
            "\n",
            r#"{"text":"x","locale":"nl"}"#,
            "\n",
        ));
        assert_eq!(out[0], serde_json::json!({"score": 5, "comment": "great"}));
        assert!(out[1]["error"].as_str().unwrap().contains("invalid input line"));
        assert_eq!(out[2], serde_json::json!({"score": 5, "comment": null}));
        assert_eq!(out[3], serde_json::json!({"score": 9, "comment": null}));
        assert_eq!(out[4], serde_json::json!({"score": 3, "comment": null}));
        assert_eq!(out[5], serde_json::json!({"score": null, "comment": null, "reason": "out_of_range"}));
        assert!(out[6]["error"].as_str().unwrap().starts_with("scale:"));
        assert!(out[7]["error"].as_str().unwrap().starts_with("labels:"));
        assert!(out[8]["error"].as_str().unwrap().starts_with("locale:"));
        assert_eq!(out.len(), 9);
    }
}
