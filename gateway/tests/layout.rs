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

/// Every `.rs` file under a folder of the gateway's source, with its text.
fn sources(room: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut folders = vec![root().join("gateway/src").join(room)];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(!found.is_empty(), "no sources under gateway/src/{room}");
    found
}

#[test]
fn the_rooms_import_downward_only() {
    // The workflow knows no HTTP; neither the workflow nor the HTTP service knows the command line.
    for (path, text) in sources("flow") {
        for word in ["axum", "crate::http", "crate::cli"] {
            assert!(!text.contains(word), "{path} uses {word}");
        }
    }
    for (path, text) in sources("http") {
        assert!(!text.contains("crate::cli"), "{path} uses crate::cli");
    }
}
