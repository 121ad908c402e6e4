//! Dogfood: conc-advisor checks its own Rust sources (advisor/, profiler/, macros/, tests/ — not fixtures/)
//! with every rule enabled and must find nothing.

use conc_advisor::engine::{self, CheckOptions};
use conc_advisor::settings::Settings;
use conc_advisor_tests::workspace_root;

#[test]
fn own_sources_have_no_findings() {
    let root = workspace_root();
    let roots: Vec<_> =
        ["advisor", "profiler", "macros", "tests"].iter().map(|d| root.join(d)).filter(|p| p.exists()).collect();
    let report = engine::check(&CheckOptions { roots, jobs: 2 }, &Settings::default());
    assert!(report.errors.is_empty(), "errors while checking own sources: {:#?}", report.errors);
    assert!(report.files_checked >= 10, "only {} files checked: is the walk broken?", report.files_checked);
    let findings: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| {
            format!("{}:{}:{}: {} {}", d.path.display(), d.span.start.line, d.span.start.column, d.rule.code, d.message)
        })
        .collect();
    assert!(findings.is_empty(), "conc-advisor reports its own sources:\n{}", findings.join("\n"));
}

#[test]
fn the_demo_project_does_fire() {
    // The other side of dogfood: the same engine and settings do report the demo's blocking calls, so an
    // empty result above is not an analysis that finds nothing anywhere.
    let report = engine::check(
        &CheckOptions { roots: vec![workspace_root().join("fixtures/demo")], jobs: 2 },
        &Settings::default(),
    );
    let codes: std::collections::BTreeSet<&str> = report.diagnostics.iter().map(|d| d.rule.code).collect();
    for code in ["CA101", "CA102", "CA105", "CA106"] {
        assert!(codes.contains(code), "the demo should trigger {code}; got {codes:?}");
    }
}
