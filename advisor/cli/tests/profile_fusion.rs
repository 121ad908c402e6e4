//! `check --profile` through the binary (issue 16): a bad report is an error naming the file (exit 2) while the
//! findings are still printed; `--fail-on-confirmed` and `--no-runtime-severity`. The measurements are written
//! here as reports (the real runs are in `tests/fusion.rs`).

use std::path::Path;
use std::process::{Command, Output};

use conc_report::classify::{Context, Thresholds, Timing, Verdict};
use conc_report::report::{Entry, Report, ReportKind};

const BIN: &str = env!("CARGO_BIN_EXE_conc-advisor");

const LIB: &str =
    "use std::time::Duration;\n\npub async fn fetch_user() {\n    std::thread::sleep(Duration::from_millis(5));\n}\n";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env("NO_COLOR", "1").output().expect("the binary runs")
}

/// A project with one CA101 finding in `fetch_user` and an in-process report measuring it with `verdict`.
fn project(verdict: Verdict) -> tempfile::TempDir {
    let t = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(t.path().join("src")).unwrap();
    std::fs::write(t.path().join("src/lib.rs"), LIB).unwrap();
    let mut r = Report::new(ReportKind::InProcess, "conc-profiler", "0.1.0");
    let timing = Timing { wall_ns: 50_000_000, ..Timing::default() };
    let mut e = Entry::new("app::fetch_user", Context::async_fn(), timing, 50_000_000, &Thresholds::default(), 2);
    e.location = Some("src/lib.rs:3".to_string());
    e.calls = Some(10);
    e.classification.verdict = verdict;
    r.entries.push(e);
    std::fs::write(t.path().join("run.json"), r.to_json_pretty()).unwrap();
    t
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_confirmed_finding_is_raised_and_noted() {
    let t = project(Verdict::BlocksExecutor);
    let o = run(t.path(), &["check", "--profile", "run.json", "src"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(out(&o).contains("error[CA101]"), "raised from warning: {}", out(&o));
    assert!(out(&o).contains("= note: confirmed at run time: `fetch_user` polls blocked"), "{}", out(&o));
    let o = run(t.path(), &["check", "--profile", "run.json", "--no-runtime-severity", "src"]);
    assert!(out(&o).contains("warning[CA101]"), "{}", out(&o));
    let o = run(t.path(), &["check", "--profile", "run.json", "--format", "json", "src"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["runtime"]["status"], "confirmed");
    assert_eq!(v["diagnostics"][0]["runtime"]["verdict"], "blocks-executor");
    assert_eq!(v["diagnostics"][0]["runtime"]["report"], "run.json");
    assert!(v["runtime_only"].as_array().unwrap().is_empty());
    let o = run(t.path(), &["check", "--profile", "run.json", "--format", "concise", "src"]);
    assert!(out(&o).contains("(runtime: confirmed, blocks-executor)"), "{}", out(&o));
}

#[test]
fn fail_on_confirmed_ignores_findings_the_run_contradicts() {
    let contradicted = project(Verdict::Mixed);
    let o = run(contradicted.path(), &["check", "--profile", "run.json", "src"]);
    assert_eq!(o.status.code(), Some(1), "without the flag every finding counts");
    assert!(out(&o).contains("contradicted at run time"), "{}", out(&o));
    let o = run(contradicted.path(), &["check", "--profile", "run.json", "--fail-on-confirmed", "src"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let confirmed = project(Verdict::BlocksExecutor);
    let o = run(confirmed.path(), &["check", "--profile", "run.json", "--fail-on-confirmed", "src"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(
        confirmed.path(),
        &[
            "check",
            "--profile",
            "run.json",
            "--fail-on-confirmed",
            "--fail-on",
            "error",
            "--no-runtime-severity",
            "src",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "a confirmed warning is below --fail-on error when not raised");
    let o = run(confirmed.path(), &["check", "--fail-on-confirmed", "src"]);
    assert_eq!(o.status.code(), Some(2), "--fail-on-confirmed needs --profile");
}

#[test]
fn a_bad_report_is_an_error_naming_the_file_and_the_findings_are_still_printed() {
    let t = project(Verdict::BlocksExecutor);
    std::fs::write(t.path().join("bad.json"), "{ not json").unwrap();
    std::fs::write(t.path().join("old.json"), r#"{"schema":"conc-advisor-report","version":99}"#).unwrap();
    let o = run(t.path(), &["check", "--profile", "bad.json", "--profile", "old.json", "--profile", "run.json", "src"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("CA101") && out(&o).contains("confirmed at run time"), "{}", out(&o));
    assert!(err(&o).contains("bad.json: not a JSON report"), "{}", err(&o));
    assert!(err(&o).contains("old.json: report version 99 is not supported"), "{}", err(&o));
    let o = run(t.path(), &["check", "--profile", "missing.json", "src"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("missing.json: cannot read the report"), "{}", err(&o));
}
