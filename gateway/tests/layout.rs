//! The README's layout table names the tree as it is: every path it lists exists, and every
//! top-level folder of the repository and of the gateway's source is listed.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The paths in the first column of the README's `## Layout` table.
fn listed() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("the README");
    let table = readme.split("\n## Layout\n").nth(1).expect("a Layout section");
    table
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| line.strip_prefix("| `")?.split_once('`').map(|(path, _)| path.to_owned()))
        .collect()
}

fn folders(path: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(path)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && name != "target")
        .collect();
    found.sort();
    found
}

#[test]
fn the_readme_layout_matches_the_tree() {
    let listed = listed();
    assert!(!listed.is_empty(), "the Layout table lists nothing");
    for path in &listed {
        assert!(root().join(path).exists(), "the README lists {path}, which does not exist");
    }
    let covered = |path: &str| {
        listed.iter().any(|listed| listed.trim_end_matches('/') == path || listed.starts_with(&format!("{path}/")))
    };
    for folder in folders(root()) {
        assert!(covered(&folder), "the README's layout does not list {folder}/");
    }
    for folder in folders(&root().join("gateway/src")) {
        let path = format!("gateway/src/{folder}");
        assert!(covered(&path), "the README's layout does not list {path}/");
    }
}
