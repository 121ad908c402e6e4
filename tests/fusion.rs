//! `check --profile` on real runs (issue 16): a Rust program measured in-process by `#[profile_concurrency]`
//! (`fixtures/runtime/fusion_app.rs`, built as the `fusion-app` binary) and a Python program measured from outside
//! by `profile` (`fixtures/runtime/gil_workers.py`). Assertions are on statuses and verdict names, never timings.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use conc_advisor::diagnostic::{Diagnostic, Severity};
use conc_advisor::engine::{self, CheckOptions, CheckReport};
use conc_advisor::runtime::{self, FuseOptions, RuntimeStatus};
use conc_advisor::settings::Settings;
use conc_advisor_tests::workspace_root;

/// The runs measure CPU: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn check(paths: &[PathBuf]) -> CheckReport {
    engine::check(&CheckOptions { roots: paths.to_vec(), jobs: 1 }, &Settings::default())
}

/// Runs `fusion-app` with its report written to a temporary file; returns the report's path (in `dir`).
fn rust_report(dir: &Path) -> PathBuf {
    let out = dir.join("fusion-app.json");
    let status = Command::new(env!("CARGO_BIN_EXE_fusion-app"))
        .env("CONC_PROFILER_REPORT", &out)
        .current_dir(dir)
        .status()
        .expect("fusion-app runs");
    assert!(status.success() && out.is_file(), "fusion-app failed or wrote no report ({status})");
    out
}

/// The finding in the function starting with `fn_line_text` (the line of the finding's enclosing function).
fn in_fn<'a>(report: &'a CheckReport, code: &str, line: usize) -> &'a Diagnostic {
    report
        .diagnostics
        .iter()
        .find(|d| d.rule.code == code && d.span.start.line == line)
        .unwrap_or_else(|| panic!("no {code} at line {line}: {:#?}", report.diagnostics))
}

fn line_of(text: &str, needle: &str) -> usize {
    1 + text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not in the program"))
}

fn status(d: &Diagnostic) -> RuntimeStatus {
    d.runtime.as_ref().unwrap_or_else(|| panic!("no runtime on {d:?}")).status
}

#[test]
fn rust_findings_are_confirmed_contradicted_or_not_exercised_and_unexplained_work_is_listed() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = workspace_root().join("fixtures/runtime/fusion_app.rs");
    let text = std::fs::read_to_string(&src).unwrap();
    let profile = runtime::load(&rust_report(dir.path())).unwrap();
    let mut report = check(std::slice::from_ref(&src));
    runtime::fuse(&mut report, std::slice::from_ref(&profile), std::slice::from_ref(&src), FuseOptions::default());

    let sleep = in_fn(&report, "CA101", line_of(&text, "from_millis(30)"));
    assert_eq!(status(sleep), RuntimeStatus::Confirmed, "{:?}", sleep.runtime);
    assert_eq!(sleep.runtime.as_ref().unwrap().verdict, Some("blocks-executor"));
    assert_eq!(sleep.severity, Severity::Error, "a confirmed warning is raised one step");
    let read = in_fn(&report, "CA102", line_of(&text, "std::fs::read(path)"));
    assert_eq!(status(read), RuntimeStatus::Contradicted, "{:?}", read.runtime);
    assert_eq!(read.severity, Severity::Warning);
    let log = in_fn(&report, "CA101", line_of(&text, "from_millis(1)"));
    assert_eq!(status(log), RuntimeStatus::NotExercised, "{:?}", log.runtime);

    let rt = report.runtime.as_ref().unwrap();
    // Which long-poll verdict the CPU-heavy polls get depends on the machine's load (a busy machine can make
    // them look blocked); that they are listed, and nothing else, does not.
    let only: Vec<&str> = rt.runtime_only.iter().map(|r| r.function.as_str()).collect();
    assert_eq!(only, ["fusion_app::score_batch"], "{rt:#?}");
    assert!(rt.stale.is_empty(), "{rt:#?}");

    // Every format carries it.
    let json = render(&report, conc_advisor::output::Format::Json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let statuses: Vec<&str> =
        v["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["runtime"]["status"].as_str()).collect();
    assert_eq!(statuses, ["confirmed", "contradicted", "not-exercised"]);
    assert_eq!(v["runtime_only"][0]["function"], "fusion_app::score_batch");
    let human = render(&report, conc_advisor::output::Format::Human);
    assert!(human.contains("= note: confirmed at run time: `fetch_user` long polls blocked"), "{human}");
    assert!(human.contains("`score_batch` (") && human.contains("no static finding explains it"), "{human}");
    assert!(human.contains("measured at run time, not explained by any finding:"), "{human}");
    let sarif: serde_json::Value = serde_json::from_str(&render(&report, conc_advisor::output::Format::Sarif)).unwrap();
    let first = &sarif["runs"][0]["results"][0];
    assert_eq!(first["properties"]["runtime"]["status"], "confirmed");
    let related = first["relatedLocations"].as_array().unwrap();
    assert!(related.iter().any(|r| r["message"]["text"].as_str().unwrap().starts_with("confirmed at run time")));
    let github = render(&report, conc_advisor::output::Format::Github);
    assert!(github.contains("note: confirmed at run time"), "{github}");

    // Without the severity step, the confirmed finding keeps its own.
    let mut plain = check(std::slice::from_ref(&src));
    runtime::fuse(&mut plain, &[profile], &[src], FuseOptions { raise_confirmed: false });
    assert_eq!(in_fn(&plain, "CA101", line_of(&text, "from_millis(30)")).severity, Severity::Warning);
}

/// The source changed after the run: a function that moved is matched by name and reported stale, a function
/// renamed away is reported stale and its measurements are not used (its finding is not exercised).
#[test]
fn a_report_older_than_the_source_is_matched_by_name_and_stale_entries_are_reported() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let profile = runtime::load(&rust_report(dir.path())).unwrap();
    let text = std::fs::read_to_string(workspace_root().join("fixtures/runtime/fusion_app.rs")).unwrap();
    let edited = text
        .replacen(
            "/// Blocks the executor thread for real",
            "// moved down\n\n/// Blocks the executor thread for real",
            1,
        )
        .replace("read_flag", "read_marker");
    let copy = dir.path().join("fixtures/runtime/fusion_app.rs");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, &edited).unwrap();
    let mut report = check(std::slice::from_ref(&copy));
    runtime::fuse(&mut report, &[profile], &[copy], FuseOptions::default());

    let sleep = in_fn(&report, "CA101", line_of(&edited, "from_millis(30)"));
    assert_eq!(status(sleep), RuntimeStatus::Confirmed, "moved, matched by name: {:?}", sleep.runtime);
    let read = in_fn(&report, "CA102", line_of(&edited, "std::fs::read(path)"));
    assert_eq!(status(read), RuntimeStatus::NotExercised, "renamed: never matched to another function");
    let stale = &report.runtime.as_ref().unwrap().stale;
    let moved = stale.iter().find(|s| s.function.ends_with("::fetch_user")).expect("fetch_user is stale");
    assert!(
        moved.now.as_deref().is_some_and(|n| n.ends_with(&format!(":{}", line_of(&edited, "async fn fetch_user"))))
    );
    let gone = stale.iter().find(|s| s.function.ends_with("::read_flag")).expect("read_flag is stale");
    assert_eq!(gone.now, None);
    let human = render(&report, conc_advisor::output::Format::Human);
    assert!(human.contains("report entries that no longer match the source"), "{human}");
}

fn render(report: &CheckReport, format: conc_advisor::output::Format) -> String {
    let mut out = Vec::new();
    conc_advisor::output::write_report(report, format, Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The real interpreter path, or None.
fn python() -> Option<String> {
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !exe.is_empty()).then_some(exe)
}

#[test]
fn a_python_ca501_finding_is_confirmed_by_the_threads_profile_saw_running_its_target() {
    let Some(py) = python() else {
        // Under CI a missing interpreter fails: a broken install must not pass silently.
        assert!(std::env::var_os("CI").is_none(), "python3 is missing and CI is set");
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    let _g = serial();
    let src = workspace_root().join("fixtures/runtime/gil_workers.py");
    let cmd = vec![py, src.display().to_string(), "3000000".to_string()];
    let opts =
        conc_sampler::RunOptions { rate_hz: 25.0, perf: true, progress: false, duration: None, python_hooks: true };
    let (outcome, code) = conc_sampler::profile_command(&cmd, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    std::fs::write(&json, serde_json::to_string(&outcome.report).unwrap()).unwrap();
    let profile = runtime::load(&json).unwrap();
    let mut report = check(std::slice::from_ref(&src));
    runtime::fuse(&mut report, &[profile], &[src], FuseOptions::default());
    let d = report.diagnostics.iter().find(|d| d.rule.code == "CA501").expect("CA501 fires on gil_workers.py");
    let rt = d.runtime.as_ref().unwrap();
    assert_eq!(rt.status, RuntimeStatus::Confirmed, "{rt:?}");
    assert!(rt.evidence.contains("`crunch`"), "{rt:?}");
}
