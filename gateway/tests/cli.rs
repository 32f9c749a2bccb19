//! The real `ratewire` binary driven as a user would: `parse` with JSON lines in and out, `check-config` on files.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn parse(args: &[&str], input: &str) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ratewire"))
        .arg("parse")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the ratewire binary runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "ratewire parse failed: {output:?}");
    String::from_utf8(output.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn the_multilingual_corpus_reads_as_expected() {
    let corpus =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/replies.jsonl")).unwrap();
    let mut inputs = String::new();
    let mut expected = Vec::new();
    for line in corpus.lines() {
        let mut case: Value = serde_json::from_str(line).unwrap();
        expected.push((case["text"].clone(), case["locale"].clone(), case["expect"].take()));
        case.as_object_mut().unwrap().remove("expect");
        inputs.push_str(&case.to_string());
        inputs.push('\n');
    }
    let outputs = parse(&[], &inputs);
    assert_eq!(outputs.len(), expected.len());
    let mismatches: Vec<String> = expected
        .iter()
        .zip(&outputs)
        .filter(|((_, _, want), got)| want != *got)
        .map(|((text, locale, want), got)| format!("{locale} {text}: want {want}, got {got}"))
        .collect();
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    let locales: std::collections::BTreeSet<&str> = expected.iter().filter_map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(locales.len(), 12, "the corpus covers every shipped locale");
}

#[test]
fn flags_set_the_defaults_and_lines_override_them() {
    let out = parse(
        &["--scale", "numeric:0-10", "--locale", "es"],
        "{\"text\":\"diez\"}\n{\"text\":\"9\",\"scale\":\"stars:5\"}\n{\"text\":\"cinco\",\"locale\":\"en\"}\n",
    );
    assert_eq!(out[0], json!({"score": 10, "comment": null}));
    assert_eq!(out[1], json!({"score": null, "comment": null, "reason": "out_of_range"}));
    assert_eq!(out[2], json!({"score": null, "comment": null, "reason": "no_rating"}));
}

#[test]
fn a_bad_line_gets_an_error_and_the_rest_go_on() {
    let out = parse(
        &[],
        "{\"text\":\"4\"}\n{oops\n{\"scale\":\"stars:5\"}\n\n{\"text\":\"Bad\",\"labels\":{\"1\":\"Bad\"}}\n",
    );
    assert_eq!(out.len(), 5);
    assert_eq!(out[0]["score"], 4);
    assert!(out[1]["error"].is_string());
    assert!(out[2]["error"].as_str().unwrap().contains("text"), "{}", out[2]);
    assert!(out[3]["error"].is_string());
    assert_eq!(out[4], json!({"score": 1, "comment": null}));
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_ratewire")).args(["parse", "--scale", "stars:11"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("stars take 2 to 10 steps"));
}

/// Runs `ratewire check-config` on a file holding `text`; its success and what it printed.
fn check_config(name: &str, text: &str) -> (bool, String) {
    let path = std::env::temp_dir().join(format!("ratewire-check-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ratewire")).arg("check-config").arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed)
}

#[test]
fn check_config_names_the_redis_setting_that_cant_be_opened() {
    let (ok, printed) = check_config(
        "both",
        "redis_url = \"rediss://app:pw@db:6380\"\nredis_tls_ca_file = \"/nonexistent/ca.pem\"\n\
         [redis_sentinel]\nmaster_name = \"mymaster\"\naddresses = [\"s1:26379\"]\n",
    );
    assert!(!ok, "{printed}");
    assert!(printed.contains("redis_tls_ca_file: cannot read /nonexistent/ca.pem"), "{printed}");
    assert!(
        printed.contains("redis_sentinel: set one of redis_url, redis_sentinel and redis_cluster_nodes"),
        "{printed}"
    );

    let (ok, printed) = check_config("cluster", "redis_cluster_nodes = [\"redis-1:6379\", \"redis-2\"]\n");
    assert!(!ok, "{printed}");
    assert!(printed.contains("redis_cluster_nodes[1]: \"redis-2\" is not a node like redis-1:6379"), "{printed}");

    let (ok, printed) = check_config("no-sentinels", "[redis_sentinel]\nmaster_name = \"mymaster\"\n");
    assert!(!ok, "{printed}");
    assert!(printed.contains("redis_sentinel.addresses: needs at least one sentinel"), "{printed}");

    let (ok, printed) = check_config("scheme", "redis_url = \"http://db:6379\"\n");
    assert!(!ok, "{printed}");
    assert!(printed.contains("redis_url: must start with redis://, rediss:// or unix://"), "{printed}");

    let (ok, printed) = check_config(
        "sentinel",
        "[redis_sentinel]\nmaster_name = \"mymaster\"\naddresses = [\"s1:26379\", \"s2:26379\"]\npassword = \"pw\"\n",
    );
    assert!(ok, "{printed}");
}
