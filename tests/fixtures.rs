//! Runs every fixture under `fixtures/rust` and `fixtures/python` with its rule (the file stem is the rule's
//! name), every directory fixture (`fixtures/rust/crates/*`, `fixtures/python/*/`: a multi-file project checked as
//! one run, with the rule the directory is named after or, for any other name, every rule; see
//! [`check_dir_fixture`]), and checks that every rule has a fixture.

use conc_advisor::registry::{self, Language};
use conc_advisor::walk::SourceKind;
use conc_advisor_tests::{
    check_dir_fixture, dir_fixture_findings, fixture_findings, render_findings, run_fixture, workspace_root,
};

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
fn every_rule_has_a_fixture() {
    let root = workspace_root();
    // Each language's rules, in `fixtures/<language>/<rule-name>.<its first extension>`.
    let missing: Vec<_> = SourceKind::all()
        .flat_map(|kind| kind.rules().iter().map(move |r| (kind, r)))
        .filter_map(|(kind, r)| {
            let path = root.join("fixtures").join(kind.name()).join(format!("{}.{}", r.name, kind.extensions()[0]));
            (!path.exists()).then(|| path.display().to_string())
        })
        .collect();
    // Every rule of a language is in its language's list.
    for r in registry::all().iter().filter(|r| r.language != Language::Any) {
        assert!(SourceKind::all().any(|k| k.rules().contains(r)), "{} is in no language's rules", r.code);
    }
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn every_directory_fixture_matches_its_markers() {
    let mut failures = String::new();
    let mut checked = 0;
    for dir in ["fixtures/rust/crates", "fixtures/python"] {
        let Ok(entries) = std::fs::read_dir(workspace_root().join(dir)) else { continue };
        let mut dirs: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for d in dirs {
            let rule = d.file_name().and_then(|s| s.to_str()).and_then(registry::find);
            match check_dir_fixture(&d, rule) {
                Ok(n) => {
                    assert!(n > 0, "{}: a directory fixture without any expected finding", d.display());
                    checked += 1;
                }
                Err(e) => failures.push_str(&e),
            }
        }
    }
    assert!(failures.is_empty(), "directory fixture mismatches:\n{failures}");
    assert!(checked >= 3, "expected the Rust crate fixtures and the Python project, found {checked}");
}

/// Beside the markers (which say only where and which rule), every fixture's rendered findings — position,
/// code, severity, message, help and notes — are kept as an insta snapshot under `tests/snapshots/fixtures/`,
/// so a changed message, help or note shows in review. `INSTA_UPDATE=always cargo test --test fixtures` (or
/// `cargo insta review`) accepts a deliberate change. A fixture is checked with the settings the marker tests
/// use: its own rule alone, every rule for `mixed*` files and directories not named after a rule.
#[test]
fn every_fixture_output_matches_its_snapshot() {
    let root = workspace_root();
    let mut cases: Vec<(String, String)> = Vec::new();
    for (dir, lang) in [("fixtures/rust", "rust"), ("fixtures/python", "python")] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if path.is_file() {
                let diags = fixture_findings(&path, registry::find(&stem)).unwrap_or_else(|e| panic!("{e}"));
                cases.push((format!("{lang}__{stem}"), render_findings(&diags, &root)));
            } else if path.is_dir() && dir == "fixtures/python" {
                let diags = dir_fixture_findings(&path, registry::find(&stem));
                cases.push((format!("{lang}__dir__{stem}"), render_findings(&diags, &path)));
            }
        }
    }
    let crates = root.join("fixtures/rust/crates");
    if let Ok(entries) = std::fs::read_dir(&crates) {
        let mut dirs: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for d in dirs {
            let name = d.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let diags = dir_fixture_findings(&d, registry::find(&name));
            cases.push((format!("rust__crate__{name}"), render_findings(&diags, &d)));
        }
    }
    assert!(cases.len() > 40, "expected every fixture, found {}", cases.len());
    for (name, text) in cases {
        insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, text);
        });
    }
}
