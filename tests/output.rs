//! Snapshot tests of every output format (`human`, `concise`, `json`, `sarif`, `github`, statistics) on one
//! fixed report built from the tool's own rules, so they do not depend on the language rules.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conc_advisor::diagnostic::{Diagnostic, Location, Severity, Span};
use conc_advisor::enclosing;
use conc_advisor::engine::CheckReport;
use conc_advisor::output::{self, Format, OutputOptions};
use conc_advisor::registry::{self, builtin};
use conc_advisor::settings::TestCode;

const MAIN_RS: &str = "\
use std::time::Duration;

async fn handler() {
    let d = Duration::from_millis(10);
    std::thread::sleep(d);
}

fn main( {
";

const APP_PY: &str = "import threading\n\nx = 1  # noqa: CA5XX\n";

fn span(l1: usize, c1: usize, l2: usize, c2: usize) -> Span {
    Span::new(Location::new(l1, c1), Location::new(l2, c2))
}

/// A report with: an error with a spanned note, an unspanned note and help; an info finding in the same file;
/// a warning in another file; and an unreadable path.
fn report() -> CheckReport {
    let main = PathBuf::from("src/main.rs");
    let app = PathBuf::from("app/app.py");
    let mut info = Diagnostic::new(
        &builtin::UNKNOWN_SUPPRESSION,
        &main,
        span(5, 5, 5, 26),
        "a message, with: 100% \"punctuation\"",
    )
    .with_note("in this async fn", Some(span(3, 1, 3, 19)));
    info.severity = Severity::Info;
    let diagnostics = vec![
        info,
        Diagnostic::new(&builtin::SYNTAX_ERROR, &main, span(8, 9, 8, 10), "cannot parse: expected `)`")
            .with_help("fix the syntax error; the rest of the file was not checked")
            .with_note("the function starts here", Some(span(8, 1, 8, 3)))
            .with_note("syntax errors are always reported", None),
        Diagnostic::new(&builtin::UNKNOWN_SUPPRESSION, &app, span(3, 16, 3, 21), "`noqa` names unknown rule `CA5XX`")
            .with_help("`conc-advisor rules` lists every rule's code and name"),
    ];
    let mut sources: HashMap<PathBuf, Arc<str>> = HashMap::new();
    sources.insert(main, Arc::from(MAIN_RS));
    sources.insert(app, Arc::from(APP_PY));
    let mut diagnostics = diagnostics;
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // Enclosing items and fingerprints, as the engine adds them (none of these files is test code).
    enclosing::annotate(&mut diagnostics, &sources, &|_| TestCode::Report);
    CheckReport {
        diagnostics,
        sources,
        files_checked: 5,
        errors: vec!["src/latin1.rs: not valid UTF-8 (first bad byte at line 2); skipped".to_string()],
        warnings: Vec::new(),
        elapsed: Duration::from_millis(7),
        runtime: None,
    }
}

fn render(report: &CheckReport, format: Format, opts: OutputOptions) -> String {
    let mut buf = Vec::new();
    output::write_report(report, format, opts, &mut buf).expect("writing to memory");
    String::from_utf8(buf).expect("output is UTF-8")
}

#[test]
fn human() {
    insta::assert_snapshot!(render(&report(), Format::Human, OutputOptions::default()));
}

#[test]
fn human_quiet_has_no_summary() {
    let out = render(&report(), Format::Human, OutputOptions { quiet: true, ..OutputOptions::default() });
    assert!(out.contains("error[CA001]"));
    assert!(!out.contains("files checked"), "{out}");
}

#[test]
fn human_colour_only_when_asked() {
    let plain = render(&report(), Format::Human, OutputOptions::default());
    assert!(!plain.contains('\x1b'));
    let colour = render(&report(), Format::Human, OutputOptions { color: true, quiet: false });
    assert!(colour.contains("\x1b["), "{colour}");
    // Same text once the escapes are removed.
    let stripped = anstream::adapter::strip_str(&colour).to_string();
    assert_eq!(stripped, plain);
}

#[test]
fn human_without_source_points_at_location() {
    let mut r = report();
    r.sources.clear();
    let out = render(&r, Format::Human, OutputOptions::default());
    assert!(out.contains("--> src/main.rs:8:9"), "{out}");
    assert!(out.contains("= note: the function starts here"), "{out}");
}

#[test]
fn human_out_of_range_spans_do_not_panic() {
    let mut r = report();
    r.diagnostics[0].span = span(0, 0, 999, 999);
    r.diagnostics[1].span = span(2, 50, 1, 1);
    let out = render(&r, Format::Human, OutputOptions::default());
    assert!(out.contains("app/app.py"));
}

#[test]
fn empty_run_summary() {
    let r = CheckReport { elapsed: Duration::from_millis(1), ..CheckReport::default() };
    let out = render(&r, Format::Human, OutputOptions::default());
    assert_eq!(out, "0 findings; 0 files checked in 1 ms (no Rust or Python files found)\n");
    let r = CheckReport { files_checked: 1, elapsed: Duration::from_millis(2), ..CheckReport::default() };
    assert_eq!(render(&r, Format::Concise, OutputOptions::default()), "0 findings; 1 file checked in 2 ms\n");
}

#[test]
fn concise() {
    insta::assert_snapshot!(render(&report(), Format::Concise, OutputOptions::default()));
}

#[test]
fn json() {
    let out = render(&report(), Format::Json, OutputOptions::default());
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(3));
    insta::assert_snapshot!(out);
}

#[test]
fn sarif() {
    let out = render(&report(), Format::Sarif, OutputOptions::default());
    let mut v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], "2.1.0");
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules[]").clone();
    // Every rule of the registry is described, with its documentation as help.
    assert_eq!(rules.len(), registry::all().len());
    for (i, r) in rules.iter().enumerate() {
        let meta = registry::all()[i];
        assert_eq!(r["id"], meta.code);
        assert_eq!(r["name"], meta.name);
        assert!(r["help"]["markdown"].as_str().is_some_and(|h| h.contains("## What it does")), "{r}");
        assert!(r["fullDescription"]["text"].as_str().is_some_and(|t| !t.is_empty() && !t.contains("##")));
    }
    // Each result's ruleIndex points at its rule.
    for res in v["runs"][0]["results"].as_array().expect("results[]") {
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
    }
    // The snapshot keeps only the builtin rules, so it does not change whenever a language rule is added.
    let builtin: Vec<_> = rules.into_iter().filter(|r| r["id"] == "CA001" || r["id"] == "CA002").collect();
    v["runs"][0]["tool"]["driver"]["rules"] = serde_json::Value::Array(builtin);
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).expect("serialises"));
}

#[test]
fn github() {
    insta::assert_snapshot!(render(&report(), Format::Github, OutputOptions::default()));
}

#[test]
fn statistics() {
    let r = report();
    let mut text = Vec::new();
    output::write_statistics(&r, false, &mut text).expect("writing to memory");
    assert_eq!(String::from_utf8(text).expect("UTF-8"), "2  CA002  unknown-suppression\n1  CA001  syntax-error\n");
    let mut json = Vec::new();
    output::write_statistics(&r, true, &mut json).expect("writing to memory");
    let v: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(v[0]["code"], "CA002");
    assert_eq!(v[0]["count"], 2);
}

#[test]
fn human_multiline_span_and_distant_note() {
    let mut src = String::from("async fn far_away() {\n");
    for i in 0..20 {
        src.push_str(&format!("    step({i});\n"));
    }
    src.push_str("    let v = vec![\n        1,\n        2,\n    ];\n}\n");
    let path = PathBuf::from("src/long.rs");
    let d = Diagnostic::new(&builtin::SYNTAX_ERROR, &path, span(22, 13, 25, 6), "a span over four lines")
        .with_note("the enclosing async fn", Some(span(1, 1, 1, 19)))
        .with_help("help text");
    let mut sources: HashMap<PathBuf, Arc<str>> = HashMap::new();
    sources.insert(path, Arc::from(src.as_str()));
    let r = CheckReport {
        diagnostics: vec![d],
        sources,
        files_checked: 1,
        elapsed: Duration::from_millis(3),
        ..CheckReport::default()
    };
    insta::assert_snapshot!(render(&r, Format::Human, OutputOptions::default()));
}
