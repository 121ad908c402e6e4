//! Runs every fixture under `fixtures/rust` and `fixtures/python` with its rule (the file stem is the rule's
//! name), every crate fixture under `fixtures/rust/crates` (a directory named after its rule, checked as one
//! crate) and checks that every rule has a fixture.

use conc_advisor::registry::{self, Language};
use conc_advisor_tests::{run_crate_fixture, run_fixture, workspace_root};

#[test]
fn every_fixture_matches_its_markers() {
    let mut failures = String::new();
    let mut checked = 0;
    for dir in ["fixtures/rust", "fixtures/python"] {
        let dir = workspace_root().join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let rule = registry::find(stem);
            match (rule, stem.starts_with("mixed")) {
                (Some(r), _) => match run_fixture(&path, Some(r)) {
                    Ok(_) => checked += 1,
                    Err(e) => failures.push_str(&e),
                },
                (None, true) => match run_fixture(&path, None) {
                    Ok(_) => checked += 1,
                    Err(e) => failures.push_str(&e),
                },
                (None, false) => failures.push_str(&format!(
                    "{}: the file stem names no rule (name fixtures after their rule, or start with `mixed`)\n",
                    path.display()
                )),
            }
        }
    }
    assert!(failures.is_empty(), "fixture mismatches:\n{failures}");
    eprintln!("{checked} fixtures matched");
}

#[test]
fn every_crate_fixture_matches_its_markers() {
    let dir = workspace_root().join("fixtures/rust/crates");
    let mut dirs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/rust/crates exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = String::new();
    let mut matched = 0;
    for d in &dirs {
        let name = d.file_name().and_then(|s| s.to_str()).unwrap_or_default();
        let rule = match (registry::find(name), name.starts_with("mixed")) {
            (Some(r), _) => Some(r),
            (None, true) => None,
            (None, false) => {
                failures.push_str(&format!("{}: the directory names no rule\n", d.display()));
                continue;
            }
        };
        match run_crate_fixture(d, rule) {
            Ok(n) => matched += n,
            Err(e) => failures.push_str(&e),
        }
    }
    assert!(failures.is_empty(), "crate fixture mismatches:\n{failures}");
    assert!(matched > 0, "no crate fixture found anything in {}", dir.display());
}

#[test]
fn every_rule_has_a_fixture() {
    let root = workspace_root();
    let missing: Vec<_> = registry::all()
        .iter()
        .filter_map(|r| {
            let path = match r.language {
                Language::Rust => root.join("fixtures/rust").join(format!("{}.rs", r.name)),
                Language::Python => root.join("fixtures/python").join(format!("{}.py", r.name)),
                Language::Any => return None,
            };
            (!path.exists()).then(|| path.display().to_string())
        })
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}
