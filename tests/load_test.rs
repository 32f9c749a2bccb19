//! The load generator's probe, run against a debug build so it can't rot: it seeds a few hundred
//! surveys through the API, traces a rating of each text, paces a few hundred ratings at the
//! gateway and the relay, and every figure comes out and holds together; on one Redis server
//! and on a Redis Cluster.

use std::process::Command;

#[test]
fn a_probe_reports_every_figure_on_the_real_path() {
    probe(&[]);
}

#[test]
fn a_probe_on_a_redis_cluster_reports_every_figure() {
    probe(&["--cluster"]);
}

fn probe(args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_ratewire-load"))
        .arg("--probe")
        .args(args)
        .output()
        .expect("ratewire-load runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}\n{}", String::from_utf8_lossy(&output.stderr));
    let figure = |name: &str| -> String {
        let prefix = format!("{name}: ");
        let line = report.lines().find_map(|line| line.strip_prefix(&prefix));
        line.unwrap_or_else(|| panic!("no {name:?} in:\n{report}")).to_owned()
    };
    let number = |name: &str| -> f64 {
        let value = figure(name);
        let first = value.split_whitespace().next().unwrap_or_default();
        first.parse().unwrap_or_else(|_| panic!("{name}: {value:?} is no figure in:\n{report}"))
    };

    // Every invitation asked for went out, and the outbox is empty.
    let invitations = figure("invitations sent");
    let (sent, asked) = invitations.split_once(" of ").expect("“N of M”");
    assert_eq!(sent, asked, "{report}");
    assert!(asked.parse::<u64>().unwrap() >= 200, "{report}");
    assert_eq!(number("outbox left after seeding"), 0.0, "{report}");

    // The figures are there and within reason.
    let bytes = number("used_memory per pending survey");
    assert!((50.0..20_000.0).contains(&bytes), "{bytes} bytes per pending survey:\n{report}");
    // Traced ratings find the gateway's copies fresh or read them again, depending on the pace.
    let traced = ["round trips in sequence per rating", "round trips in sequence per rating, copies read again"];
    let trips: Vec<f64> =
        traced.iter().filter_map(|name| figure(name).split_whitespace().next()?.parse().ok()).collect();
    assert!(!trips.is_empty() && trips.iter().all(|trips| *trips >= 1.0), "{report}");
    assert!(number("replies per rating") >= 1.0, "{report}");
    assert!(number("Redis commands per rating") >= 1.0, "{report}");
    for rate in ["gateway sustained", "relay sustained", "bare axum full speed"] {
        assert!(number(rate) > 0.0, "{rate}:\n{report}");
    }
    // The report API answered over the seeded year, counting every survey, in every zone.
    let reports = report.lines().find(|line| line.starts_with("report API, a year of")).expect("report times");
    assert_eq!(reports.matches(" ms in ").count(), 3, "{report}");

    // Every rating was answered 2xx, its replies all arrived, and every one found its survey.
    for step in
        report.lines().filter(|line| line.starts_with("| ") && line[2..].starts_with(|c: char| c.is_ascii_digit()))
    {
        let cells: Vec<&str> = step.split('|').map(str::trim).collect();
        if cells.len() > 10 {
            assert_eq!(cells[6], "0", "errors in a step: {step}\n{report}");
        }
    }
    assert_eq!(number("errors at half"), 0.0, "{report}");
    assert_eq!(number("owed after half"), 0.0, "{report}");
    assert_eq!(number("ratings from numbers with no pending survey"), 0.0, "{report}");
}
