//! The load generator, run briefly against a debug build so it can't rot: it starts everything,
//! sends a few hundred requests, and every one of them is answered 2xx.

use std::process::Command;

#[test]
fn a_short_run_reports_every_figure_without_errors() {
    let output = Command::new(env!("CARGO_BIN_EXE_ratewire-load"))
        .args(["--duration", "1", "--connections", "4", "--surveys", "300", "--memory-surveys", "200"])
        .args(["--benchmark-requests", "2000"])
        .output()
        .expect("ratewire-load runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}\n{}", String::from_utf8_lossy(&output.stderr));
    for line in ["| gateway, full speed |", "| bare axum, full speed |", "EVALSHA", "Redis memory per pending survey"] {
        assert!(report.contains(line), "no {line:?} in:\n{report}");
    }
    for phase in report.lines().filter(|line| line.starts_with("| gateway") || line.starts_with("| bare axum")) {
        let cells: Vec<&str> = phase.split('|').map(str::trim).collect();
        let (requests, errors): (u64, u64) = (cells[2].parse().unwrap(), cells[7].parse().unwrap());
        assert!(requests >= 5, "too few requests: {phase}");
        assert_eq!(errors, 0, "errors: {report}");
    }
}
