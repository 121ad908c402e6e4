//! `CONC_PROFILER_REPORT=PATH` writes the report when the process exits, with no code in the program: this test
//! re-runs its own binary as a child with the variable set and reads what the child left behind.

use std::process::Command;

use conc_profiler::profile_concurrency;

const CHILD: &str = "CONC_PROFILER_TEST_CHILD";

#[profile_concurrency(expect = "io")]
fn child_work() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

/// Does the work only when run as the child.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_some() {
        for _ in 0..3 {
            child_work();
        }
    }
}

fn run_child(target: &str) -> std::process::Output {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child", "--test-threads=1"])
        .env(CHILD, "1")
        .env("CONC_PROFILER_REPORT", target)
        .output()
        .expect("run child")
}

#[test]
fn report_is_written_at_exit_as_json_or_table() {
    let dir = std::env::temp_dir().join(format!("conc-profiler-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let json_path = dir.join("report-{pid}.json");
    let out = run_child(json_path.to_str().unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    let file = written.iter().find(|p| p.extension().is_some_and(|e| e == "json")).expect("JSON report written");
    assert!(!file.to_string_lossy().contains("{pid}"), "pid placeholder replaced");
    let report = conc_profiler::Report::from_json(&std::fs::read_to_string(file).unwrap()).expect("valid report");
    let e = report.entries.iter().find(|e| e.name.ends_with("::child_work")).expect("child_work recorded");
    assert_eq!(e.calls, Some(3));

    let txt = dir.join("report.txt");
    let out = run_child(txt.to_str().unwrap());
    assert!(out.status.success());
    let table = std::fs::read_to_string(&txt).expect("table written");
    assert!(table.starts_with("function") && table.contains("::child_work"), "{table}");

    let out = run_child("-");
    assert!(String::from_utf8_lossy(&out.stderr).contains("::child_work"));

    let out = run_child(dir.join("missing-dir/x.json").to_str().unwrap());
    assert!(out.status.success(), "a bad path is reported, not a crash");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the report"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn perf_mode_is_used_or_its_refusal_is_reported() {
    let dir = std::env::temp_dir().join(format!("conc-profiler-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("perf.json");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child", "--test-threads=1"])
        .env(CHILD, "1")
        .env("CONC_PROFILER_REPORT", &path)
        .env("CONC_PROFILER_PERF", "1")
        .output()
        .expect("run child");
    assert!(out.status.success());
    let report = conc_profiler::Report::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let e = report.entries.iter().find(|e| e.name.ends_with("::child_work")).expect("recorded");
    let status = &report.measurement.perf_counters;
    if status == "enabled" {
        let perf = e.perf.expect("perf counts on entries in perf mode");
        assert!(perf.task_clock_ns > 0);
    } else {
        // Refused: said once on stderr, and noted in the report.
        assert!(status.starts_with("unavailable"), "{status}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).matches("perf_event_open refused").count(), 1);
        assert!(report.notes.iter().any(|n| n.contains("perf")));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
