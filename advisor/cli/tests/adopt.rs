//! End-to-end tests of what adopting `conc-advisor` in CI and editors relies on (issue 15): baselines
//! (`--write-baseline`, `--baseline`), test-code handling (`test-code`, `--test-code`), checking standard input
//! (`--stdin-filename PATH -`), and the fingerprints of SARIF and JSON output.
//!
//! Unlike `tests/cli.rs` these use two language rules, whose findings are the point: `blocking-sleep-in-async`
//! (CA101, Rust) and `blocking-call-in-async-def` (CA503, Python).

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_conc-advisor");

/// An async function that blocks with `std::thread::sleep` (CA101 on line 2).
const RUST_SLEEP: &str = "async fn handler() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n";
/// An `async def` that blocks with `time.sleep` (CA503 on line 4).
const PY_SLEEP: &str = "import time\n\nasync def handler():\n    time.sleep(1)\n";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env("NO_COLOR", "1").output().expect("the binary runs")
}

fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("the binary runs")
}

fn out(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn tree(files: &[(&str, &str)]) -> TempDir {
    let t = TempDir::new().expect("tempdir");
    for (rel, text) in files {
        write(t.path(), rel, text);
    }
    t
}

/// `path:line:CODE` of every finding of a concise report.
fn findings(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| l.contains(": CA"))
        .map(|l| {
            let mut parts = l.splitn(4, ':');
            let (path, line) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let code = l.split(": ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or_default();
            format!("{path}:{line}:{code}")
        })
        .collect()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out(o)))
}

/// The baseline flow of one language: record, insert lines above (still silent), add a finding (fails, and
/// only the new one is shown), fix the old one (counted), rewrite (pruned).
fn baseline_flow(file: &str, old: &str, insert_at_top: &str, with_new: &str, new_line: usize, fixed: &str) {
    let t = tree(&[(file, old)]);
    let d = t.path();
    let o = run(d, &["check", "--write-baseline", "baseline.json"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(stderr(&o).contains("wrote 1 baseline entry to baseline.json"), "{}", out(&o));
    assert!(stdout(&o).is_empty(), "--write-baseline reports nothing: {}", out(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("baseline.json")).expect("written")).expect("json");
    assert_eq!(doc["findings"][0]["path"], file);
    assert_eq!(doc["findings"][0]["item"], "handler");

    // Without the baseline the finding fails the run; with it, nothing is reported.
    assert_eq!(code(&run(d, &["check", "--format", "concise"])), 1);
    let o = run(d, &["check", "--format", "concise", "--baseline", "baseline.json"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(findings(&o).is_empty(), "{}", out(&o));
    assert!(stderr(&o).contains("1 finding recorded in the baseline baseline.json not shown"), "{}", out(&o));

    // Lines inserted at the top move the finding: it stays silent.
    write(d, file, &format!("{insert_at_top}{old}"));
    let o = run(d, &["check", "--format", "concise", "--baseline", "baseline.json"]);
    assert_eq!(code(&o), 0, "an unrelated edit must keep the old finding silent: {}", out(&o));

    // A new finding fails the run, and only it is shown.
    write(d, file, with_new);
    let o = run(d, &["check", "--format", "concise", "--baseline", "baseline.json"]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(
        findings(&o),
        vec![format!("{file}:{new_line}:{}", if file.ends_with(".rs") { "CA101" } else { "CA503" })]
    );

    // The old finding fixed: counted, and --write-baseline drops it.
    write(d, file, fixed);
    let o = run(d, &["check", "--format", "concise", "--baseline", "baseline.json"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(stderr(&o).contains("1 baseline entry no longer occurs"), "{}", out(&o));
    let o = run(d, &["check", "--write-baseline", "baseline.json"]);
    assert!(stderr(&o).contains("wrote 0 baseline entries to baseline.json; dropped 1 baseline entry"), "{}", out(&o));
    let o = run(d, &["check", "--format", "concise", "--baseline", "baseline.json"]);
    assert!(!stderr(&o).contains("no longer"), "{}", out(&o));
}

#[test]
fn rust_baseline_survives_unrelated_edits_and_catches_new_findings() {
    let old = RUST_SLEEP;
    // The same call added a second time in the same function is a new finding (line 3).
    let with_new = "async fn handler() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n    \
                    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n";
    baseline_flow(
        "src/lib.rs",
        old,
        "use std::time::Duration;\n\n// a comment\n",
        with_new,
        3,
        "async fn handler() {}\n",
    );
}

#[test]
fn python_baseline_survives_unrelated_edits_and_catches_new_findings() {
    let with_new = format!("{PY_SLEEP}\nasync def other():\n    time.sleep(2)\n");
    baseline_flow(
        "app/main.py",
        PY_SLEEP,
        "import os\n\n\ndef helper():\n    return os.getcwd()\n\n",
        &with_new,
        7,
        "import asyncio\n\nasync def handler():\n    await asyncio.sleep(1)\n",
    );
}

#[test]
fn baseline_entries_of_files_outside_the_run_are_neither_gone_nor_dropped() {
    let t = tree(&[("a/src/lib.rs", RUST_SLEEP), ("b/src/lib.rs", RUST_SLEEP)]);
    let d = t.path();
    assert_eq!(code(&run(d, &["check", "--write-baseline", "base.json"])), 0);
    write(d, "b/src/lib.rs", "async fn handler() {}\n");
    let o = run(d, &["check", "a", "--baseline", "base.json"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(!stderr(&o).contains("no longer"), "b/ was not checked: {}", out(&o));
    let o = run(d, &["check", "a", "--write-baseline", "base.json"]);
    assert!(stderr(&o).contains("wrote 2 baseline entries"), "b's entry is kept: {}", out(&o));
    let o = run(d, &["check", "--baseline", "base.json"]);
    assert!(stderr(&o).contains("1 baseline entry no longer occurs"), "{}", out(&o));
}

#[test]
fn a_baseline_that_cannot_be_read_is_an_error() {
    let t = tree(&[("src/lib.rs", RUST_SLEEP), ("bad.json", "{\"version\": 1}")]);
    let o = run(t.path(), &["check", "--baseline", "missing.json"]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("missing.json: cannot read the baseline"), "{}", out(&o));
    let o = run(t.path(), &["check", "--baseline", "bad.json"]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("bad.json: not a conc-advisor baseline"), "{}", out(&o));
    // Writing over a broken file replaces it, with a warning.
    let o = run(t.path(), &["check", "--write-baseline", "bad.json"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(stderr(&o).contains("it is replaced"), "{}", out(&o));
}

#[test]
fn sarif_and_json_carry_the_baselines_fingerprints() {
    let t = tree(&[("src/lib.rs", RUST_SLEEP), ("tests/it.rs", RUST_SLEEP), ("app.py", PY_SLEEP)]);
    let d = t.path();
    assert_eq!(code(&run(d, &["check", "--write-baseline", "b.json"])), 0);
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).expect("b.json")).expect("json");
    let mut recorded: Vec<(String, String)> = base["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|e| (e["path"].as_str().unwrap_or_default().into(), e["fingerprint"].as_str().unwrap_or_default().into()))
        .collect();
    recorded.sort();
    assert_eq!(recorded.len(), 3);

    let sarif = json(&run(d, &["check", "--format", "sarif"]));
    let mut from_sarif: Vec<(String, String)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or_default();
            (uri.to_string(), r["partialFingerprints"]["conc-advisor/v1"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    from_sarif.sort();
    assert_eq!(from_sarif, recorded);
    let test_flags: Vec<(String, bool)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or_default();
            (uri.to_string(), r["properties"]["testCode"].as_bool().expect("testCode"))
        })
        .collect();
    assert!(test_flags.contains(&("tests/it.rs".into(), true)), "{test_flags:?}");
    assert!(test_flags.contains(&("src/lib.rs".into(), false)), "{test_flags:?}");

    let j = json(&run(d, &["check", "--format", "json"]));
    let mut from_json: Vec<(String, String)> = j["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|x| (x["path"].as_str().unwrap_or_default().into(), x["fingerprint"].as_str().unwrap_or_default().into()))
        .collect();
    from_json.sort();
    assert_eq!(from_json, recorded);

    // Lines inserted above: the same fingerprints.
    write(d, "src/lib.rs", &format!("\n\n\n{RUST_SLEEP}"));
    let moved = json(&run(d, &["check", "--format", "json"]));
    let fp = |v: &serde_json::Value, path: &str| {
        v["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .find(|x| x["path"] == path)
            .map(|x| x["fingerprint"].clone())
    };
    assert_eq!(fp(&moved, "src/lib.rs"), fp(&j, "src/lib.rs"));
}

/// A Rust crate whose findings are all in test code, each way Rust marks it, plus one in code that is not.
fn rust_test_code_tree() -> TempDir {
    let unit_tests = "pub fn work() {}\n\n#[cfg(test)]\nmod tests {\n    async fn helper() {\n        \
                      std::thread::sleep(std::time::Duration::from_secs(1));\n    }\n}\n";
    let attr_test = "#[tokio::test]\nasync fn fetches() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n\n\
                     #[async_std::test]\nasync fn other() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n";
    tree(&[
        ("src/lib.rs", unit_tests),
        ("src/net.rs", attr_test),
        ("tests/it.rs", RUST_SLEEP),
        ("benches/b.rs", RUST_SLEEP),
        ("examples/e.rs", RUST_SLEEP),
        ("src/real.rs", RUST_SLEEP),
    ])
}

#[test]
fn rust_test_code_is_info_by_default_and_configurable() {
    let t = rust_test_code_tree();
    let d = t.path();
    let j = json(&run(d, &["check", "--format", "json"]));
    let diags = j["diagnostics"].as_array().expect("diagnostics");
    let got: Vec<(String, String, bool)> = diags
        .iter()
        .map(|x| {
            (
                format!("{}:{}", x["path"].as_str().unwrap_or_default(), x["start"]["line"]),
                x["severity"].as_str().unwrap_or_default().to_string(),
                x["test_code"].as_bool().expect("test_code"),
            )
        })
        .collect();
    let want: Vec<(String, String, bool)> = [
        ("benches/b.rs:2", "info", true),
        ("examples/e.rs:2", "info", true),
        ("src/lib.rs:6", "info", true),
        ("src/net.rs:3", "info", true),
        ("src/net.rs:8", "info", true),
        ("src/real.rs:2", "warning", false),
        ("tests/it.rs:2", "info", true),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    assert_eq!(got, want);

    // Only the finding outside test code fails the run.
    std::fs::remove_file(d.join("src/real.rs")).expect("rm");
    let o = run(d, &["check", "--format", "concise"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(stdout(&o).contains("6 findings in 5 files (6 info; 6 in test code)"), "{}", out(&o));
    let o = run(d, &["check", "--format", "concise", "--test-code", "report"]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(findings(&o).len(), 6);
    let o = run(d, &["check", "--format", "concise", "--test-code", "ignore"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(findings(&o).is_empty(), "{}", out(&o));

    // The configuration says the same; the command line wins over it.
    write(d, "conc-advisor.toml", "test-code = \"report\"\n");
    assert_eq!(code(&run(d, &["check"])), 1);
    assert_eq!(code(&run(d, &["check", "--test-code", "info"])), 0);
    write(d, "conc-advisor.toml", "test-code = \"loud\"\n");
    let o = run(d, &["check"]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("`test-code` must be \"report\", \"info\" or \"ignore\", not \"loud\""), "{}", out(&o));
}

#[test]
fn python_test_code_is_info_by_default() {
    let test_fn = format!("{PY_SLEEP}\n\nasync def test_handler():\n    time.sleep(1)\n");
    let t = tree(&[
        ("pkg/main.py", &test_fn),
        ("pkg/test_main.py", PY_SLEEP),
        ("pkg/main_test.py", PY_SLEEP),
        ("pkg/conftest.py", PY_SLEEP),
        ("tests/helpers.py", PY_SLEEP),
    ]);
    let j = json(&run(t.path(), &["check", "--format", "json"]));
    let got: Vec<(String, bool)> = j["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|x| (format!("{}:{}", x["path"].as_str().unwrap_or_default(), x["start"]["line"]), x["test_code"] == true))
        .collect();
    let want: Vec<(String, bool)> = [
        ("pkg/conftest.py:4", true),
        ("pkg/main.py:4", false),
        ("pkg/main.py:8", true),
        ("pkg/main_test.py:4", true),
        ("pkg/test_main.py:4", true),
        ("tests/helpers.py:4", true),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    assert_eq!(got, want);
    assert_eq!(j["diagnostics"][2]["item"], "test_handler");
    assert_eq!(j["summary"]["by_severity"]["warning"], 1);
}

#[test]
fn stdin_is_checked_as_the_named_file() {
    let t = tree(&[("quiet/conc-advisor.toml", "ignore = [\"CA101\"]\n"), ("src/lib.rs", "")]);
    let d = t.path();
    let o =
        run_stdin(d, &["check", "--format", "concise", "--stdin-filename", "src/lib.rs", "-"], RUST_SLEEP.as_bytes());
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(findings(&o), vec!["src/lib.rs:2:CA101"], "the buffer, not the empty file on disk");
    // Its configuration: the directory's ignores CA101 (the file need not exist).
    let o = run_stdin(d, &["check", "--stdin-filename", "quiet/new.rs", "-"], RUST_SLEEP.as_bytes());
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(stdout(&o).contains("0 findings; 1 file checked"), "{}", out(&o));
    // Its suppressions.
    let suppressed = RUST_SLEEP.replace("));\n", &format!(")); // conc-{}: allow(CA101)\n", "advisor"));
    let o = run_stdin(d, &["check", "--stdin-filename", "src/lib.rs", "-"], suppressed.as_bytes());
    assert_eq!(code(&o), 0, "{}", out(&o));
    // Its test code.
    let o = run_stdin(d, &["check", "--format", "json", "--stdin-filename", "tests/it.rs", "-"], RUST_SLEEP.as_bytes());
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert_eq!(json(&o)["diagnostics"][0]["test_code"], true);
    // The call graph of the buffer's own functions.
    let chain = "fn load() -> String {\n    std::fs::read_to_string(\"a\").unwrap()\n}\n\nasync fn handler() {\n    let _ = load();\n}\n";
    let o = run_stdin(d, &["check", "--format", "concise", "--stdin-filename", "src/lib.rs", "-"], chain.as_bytes());
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(findings(&o), vec!["src/lib.rs:6:CA102"]);
    // Python.
    let py = PY_SLEEP;
    let o = run_stdin(d, &["check", "--format", "concise", "--stdin-filename", "app/x.py", "-"], py.as_bytes());
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(findings(&o), vec!["app/x.py:4:CA503"]);
    // A baseline applies to the buffer as to the file.
    let o = run_stdin(d, &["check", "--stdin-filename", "app/x.py", "--write-baseline", "b.json", "-"], py.as_bytes());
    assert_eq!(code(&o), 0, "{}", out(&o));
    let o = run_stdin(d, &["check", "--stdin-filename", "app/x.py", "--baseline", "b.json", "-"], py.as_bytes());
    assert_eq!(code(&o), 0, "{}", out(&o));
}

/// Issue 15: a buffer is linked with its crate's other files (from the cache after a first run, read without
/// it), so a chain through a helper in another file is reported from standard input as by `check`.
#[test]
fn stdin_follows_a_chain_into_another_file_of_its_crate() {
    let calls = "mod config;\nuse crate::config::load;\n\nasync fn handler() {\n    let _ = load();\n}\n";
    let no_call = "mod config;\n\nasync fn handler() {\n    let _ = 1;\n}\n";
    let t = tree(&[
        ("app/src/lib.rs", calls),
        ("app/src/config.rs", "pub fn load() -> String {\n    std::fs::read_to_string(\"a\").unwrap()\n}\n"),
    ]);
    let d = t.path();
    let o = run(d, &["check", "--format", "concise", "app"]);
    assert_eq!(findings(&o), vec!["app/src/lib.rs:5:CA102"], "{}", out(&o));
    std::fs::write(d.join("app/src/lib.rs"), no_call).expect("write");
    for extra in [&[][..], &["--no-cache"][..]] {
        let args =
            [&["check", "--format", "concise", "--stdin-filename", "app/src/lib.rs"][..], extra, &["-"]].concat();
        let o = run_stdin(d, &args, calls.as_bytes());
        assert_eq!(findings(&o), vec!["app/src/lib.rs:5:CA102"], "{extra:?}: {}", out(&o));
        let o = run_stdin(d, &args, no_call.as_bytes());
        assert_eq!(code(&o), 0, "{extra:?}: {}", out(&o));
    }
}

#[test]
fn stdin_misuse_is_a_clear_error() {
    let t = tree(&[]);
    let d = t.path();
    let o = run_stdin(d, &["check", "-"], b"fn f() {}\n");
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("--stdin-filename"), "{}", out(&o));
    let o = run_stdin(d, &["check", "--stdin-filename", "notes.txt", "-"], b"x\n");
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("must end in .rs, .py or .pyi"), "{}", out(&o));
    let o = run_stdin(d, &["check", "--stdin-filename", "a.rs", "src", "-"], b"fn f() {}\n");
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("`src` cannot be checked with it"), "{}", out(&o));
    let o = run_stdin(d, &["check", "--stdin-filename", "a.rs", "-"], b"fn f() {}\n\xff\xfe\n");
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(stderr(&o).contains("standard input is not valid UTF-8"), "{}", out(&o));
    // A buffer that does not parse is a finding of the named file, as on disk.
    let o = run_stdin(d, &["check", "--format", "concise", "--stdin-filename", "a.rs", "-"], b"fn f( {}\n");
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(findings(&o), vec!["a.rs:1:CA001"]);
}

/// The repository's root (the action's script lives there).
fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `action/run.sh` (the script of `action.yml`) as the action does, with the binary under test.
fn run_action(dir: &Path, inputs: &[(&str, &str)]) -> (Output, String) {
    let output_file = dir.join("github-output.txt");
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("action/run.sh"))
        .current_dir(dir)
        .env("CONC_ADVISOR", BIN)
        .env("GITHUB_OUTPUT", &output_file)
        .env("NO_COLOR", "1");
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("bash runs");
    let outputs = std::fs::read_to_string(&output_file).unwrap_or_default();
    let _ = std::fs::remove_file(&output_file);
    (o, outputs)
}

#[test]
fn the_actions_script_writes_sarif_and_its_outputs() {
    let t = tree(&[("src/lib.rs", RUST_SLEEP), ("tests/it.rs", RUST_SLEEP), ("base/clean.py", "x = 1\n")]);
    let d = t.path();
    // Defaults: the whole tree, conc-advisor.sarif, fail on a finding.
    let (o, outputs) = run_action(d, &[]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert_eq!(outputs, "sarif-file=conc-advisor.sarif\nexit-code=1\n");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("conc-advisor.sarif")).expect("written")).expect("json");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{sarif}");
    assert!(results.iter().all(|r| r["partialFingerprints"]["conc-advisor/v1"].is_string()));
    // Inputs: paths, args, file name; `fail: false` keeps the step green but reports the code.
    let (o, outputs) = run_action(
        d,
        &[
            ("INPUT_PATHS", "src base"),
            ("INPUT_ARGS", "--select CA101"),
            ("INPUT_SARIF_FILE", "x.sarif"),
            ("INPUT_FAIL", "false"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert_eq!(outputs, "sarif-file=x.sarif\nexit-code=1\n");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("x.sarif")).expect("written")).expect("json");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(1), "only src/ was checked");
    // A baseline in the args: nothing new, the step passes.
    assert_eq!(code(&run(d, &["check", "--write-baseline", "b.json"])), 0);
    let (o, outputs) = run_action(d, &[("INPUT_ARGS", "--baseline b.json")]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(outputs.ends_with("exit-code=0\n"), "{outputs}");
    // A path that cannot be checked fails the step even with `fail: false`.
    let (o, outputs) = run_action(d, &[("INPUT_PATHS", "missing"), ("INPUT_FAIL", "false")]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    assert!(outputs.ends_with("exit-code=2\n"), "{outputs}");
}
