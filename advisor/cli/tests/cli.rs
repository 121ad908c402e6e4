//! End-to-end tests of the `conc-advisor` binary: exit codes, bad input (missing paths, unparsable, non-UTF-8,
//! empty directories, symlink loops), selectors, configuration files and their discovery, suppression
//! comments, `--output-file`, `--exit-zero`, `--fail-on`, `rules` and `explain`.
//!
//! They live in the `conc-advisor-cli` package because only its own tests get `CARGO_BIN_EXE_conc-advisor`. They
//! only rely on the tool's own rules (`syntax-error`, `unknown-suppression`), never on the language rules.

#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_conc-advisor");

/// A Rust file that does not parse, with its error on line 2.
const BROKEN: &str = "fn ok() {}\nfn f( {}\n";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env("NO_COLOR", "1").output().expect("the binary runs")
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

fn write(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A suppression comment, assembled at run time so this file holds none itself.
fn directive(kind: &str, rules: &str, comment: &str) -> String {
    format!("{comment} conc-{}: {kind}({rules})", "advisor")
}

fn tree(files: &[(&str, &str)]) -> TempDir {
    let t = TempDir::new().expect("tempdir");
    for (rel, text) in files {
        write(t.path(), rel, text);
    }
    t
}

#[test]
fn clean_tree_exits_0() {
    let t = tree(&[("src/lib.rs", "pub fn f() {}\n"), ("app/main.py", "print(1)\n")]);
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 findings; 2 files checked"), "{}", stdout(&o));
}

#[test]
fn unparsable_file_is_a_finding_and_the_run_goes_on() {
    let t = tree(&[("a.rs", BROKEN), ("b.rs", BROKEN)]);
    let o = run(t.path(), &["check", "--format", "concise"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<_> = out.lines().filter(|l| l.contains("CA001")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("a.rs:2:") && lines[1].starts_with("b.rs:2:"), "{out}");
    assert!(out.contains("2 findings in 2 files"), "{out}");
}

#[test]
fn missing_path_is_exit_2_but_other_paths_are_checked() {
    let t = tree(&[("a.rs", BROKEN)]);
    let o = run(t.path(), &["check", "--format", "concise", "nope", "a.rs"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    assert!(stdout(&o).contains("a.rs:2:"), "{}", stdout(&o));
}

#[test]
fn non_utf8_file_is_exit_2_with_a_message_and_the_run_goes_on() {
    let t = tree(&[("good.rs", BROKEN)]);
    write(t.path(), "latin1.rs", b"fn f() {}\n// caf\xe9\n");
    let o = run(t.path(), &["check", "--format", "concise"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("latin1.rs") && err.contains("UTF-8") && err.contains("line 2"), "{err}");
    assert!(stdout(&o).contains("good.rs:2:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("1 path could not be checked"), "{}", stdout(&o));
}

#[test]
fn empty_directory_is_exit_0_and_says_so() {
    let t = TempDir::new().expect("tempdir");
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("0 files checked"), "{}", stdout(&o));
    assert!(stdout(&o).contains("no Rust or Python files found"), "{}", stdout(&o));
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_and_the_run_goes_on() {
    let t = tree(&[("src/a.rs", BROKEN)]);
    std::os::unix::fs::symlink("..", t.path().join("src/up")).expect("symlink");
    let o = run(t.path(), &["check", "--format", "concise", "src"]);
    assert!(stderr(&o).contains("symlink loop"), "{}", stderr(&o));
    assert!(stdout(&o).contains("src/a.rs:2:"), "{}", stdout(&o));
    // A loop is a warning, not an I/O error: the exit code comes from the findings.
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn broken_symlink_to_a_source_file_is_exit_2_others_do_not_matter() {
    let t = tree(&[("ok.rs", "fn f() {}\n")]);
    std::os::unix::fs::symlink("nowhere.txt", t.path().join("notes.txt")).expect("symlink");
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::os::unix::fs::symlink("nowhere.rs", t.path().join("dangling.rs")).expect("symlink");
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("dangling.rs: broken symbolic link"), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 file checked"), "{}", stdout(&o));
}

#[test]
fn unknown_selector_is_a_usage_error() {
    let t = tree(&[("a.rs", "fn f() {}\n")]);
    for args in
        [&["check", "--select", "CA9"][..], &["check", "--ignore", "CA001,bogus"], &["check", "--extend-select=x"]]
    {
        let o = run(t.path(), args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains("unknown rule selector"), "{}", stderr(&o));
    }
}

#[test]
fn select_and_ignore_accept_codes_names_prefixes_lists() {
    let sup = directive("allow", "nope", "//");
    let t = tree(&[("a.rs", BROKEN), ("b.rs", &format!("{sup}\nfn g() {{}}\n"))]);
    let count = |args: &[&str]| {
        let mut a = vec!["check", "--format", "concise", "-q"];
        a.extend_from_slice(args);
        let o = run(t.path(), &a);
        stdout(&o).lines().map(|l| l.split(' ').nth(1).unwrap_or("").to_string()).collect::<Vec<_>>()
    };
    assert_eq!(count(&[]), vec!["CA001", "CA002"]);
    assert_eq!(count(&["--ignore", "CA002"]), vec!["CA001"]);
    assert_eq!(count(&["--ignore", "unknown-suppression,syntax-error"]), Vec::<String>::new());
    assert_eq!(count(&["--ignore", "CA0"]), Vec::<String>::new());
    assert_eq!(count(&["--ignore", "CA001", "--ignore", "CA002"]), Vec::<String>::new());
    // --select keeps syntax-error on.
    assert_eq!(count(&["--select", "unknown-suppression"]), vec!["CA001", "CA002"]);
    assert_eq!(count(&["--select", "ALL", "--ignore", "CA001"]), vec!["CA002"]);
}

#[test]
fn exit_zero_and_fail_on() {
    let t = tree(&[("a.rs", BROKEN)]); // one error
    assert_eq!(code(&run(t.path(), &["check", "--exit-zero"])), 0);
    assert_eq!(code(&run(t.path(), &["check", "--fail-on", "error"])), 1);
    let w = directive("allow", "nope", "//");
    let t = tree(&[("a.rs", &format!("{w}\n"))]); // one warning
    assert_eq!(code(&run(t.path(), &["check"])), 1, "warnings fail by default");
    assert_eq!(code(&run(t.path(), &["check", "--fail-on", "error"])), 0);
    assert_eq!(code(&run(t.path(), &["check", "--fail-on", "info"])), 1);
    // Lowered to info by configuration: advice, not a failure, unless --fail-on info.
    write(t.path(), "conc-advisor.toml", "[severity]\nunknown-suppression = \"info\"\n");
    let o = run(t.path(), &["check", "--format", "concise"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("CA002 [info]"), "{}", stdout(&o));
    assert_eq!(code(&run(t.path(), &["check", "--fail-on", "info"])), 1);
    // --exit-zero does not hide I/O errors.
    let o = run(t.path(), &["check", "--exit-zero", "missing.rs"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn output_file_receives_the_report() {
    let t = tree(&[("a.rs", BROKEN)]);
    let o = run(t.path(), &["check", "--format", "json", "--output-file", "out.json"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let text = std::fs::read_to_string(t.path().join("out.json")).expect("report written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["diagnostics"][0]["code"], "CA001");
    assert_eq!(v["diagnostics"][0]["path"], "a.rs");
    assert_eq!(v["summary"]["files_checked"], 1);
    let o = run(t.path(), &["check", "--output-file", "no/such/dir/out.txt"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
}

#[test]
fn every_format_runs() {
    let t = tree(&[("a.rs", BROKEN)]);
    for f in ["human", "concise", "json", "sarif", "github"] {
        let o = run(t.path(), &["check", "--format", f]);
        assert_eq!(code(&o), 1, "{f}: {}", stderr(&o));
        assert!(stdout(&o).contains("CA001"), "{f}: {}", stdout(&o));
    }
    // Machine formats name files relative to the working directory even when given absolute paths.
    let abs = t.path().canonicalize().expect("canonical").join("a.rs");
    let abs = abs.to_str().expect("UTF-8 path");
    let o = Command::new(BIN)
        .args(["check", "--format", "github", abs])
        .current_dir(t.path().canonicalize().expect("canonical"))
        .output()
        .expect("runs");
    assert!(stdout(&o).starts_with("::error file=a.rs,line=2,"), "{}", stdout(&o));
    let o = run(t.path(), &["check", "--format", "human", "--color", "always"]);
    assert!(stdout(&o).contains("\x1b["), "--color always colours even into a pipe");
    let o = run(t.path(), &["check", "--format", "human"]);
    assert!(!stdout(&o).contains('\x1b'), "no colour into a pipe");
    let o = run(t.path(), &["check", "--statistics"]);
    assert_eq!(stdout(&o), "1  CA001  syntax-error\n");
}

#[test]
fn jobs_do_not_change_the_output() {
    let files: Vec<(String, &str)> = (0..40).map(|i| (format!("d{}/f{i}.rs", i % 7), BROKEN)).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    let t = tree(&refs);
    let one = stdout(&run(t.path(), &["check", "--format", "json", "-j", "1"]));
    let four = stdout(&run(t.path(), &["check", "--format", "json", "--jobs", "4"]));
    assert_eq!(one, four);
    let v: serde_json::Value = serde_json::from_str(&one).expect("valid JSON");
    assert_eq!(v["summary"]["findings"], 40);
}

#[test]
fn suppression_comments() {
    let above = directive("allow", "syntax-error", "//");
    let same = directive("allow", "CA001", "//");
    let file = directive("allow-file", "CA0", "//");
    let t = tree(&[
        ("above.rs", &format!("fn ok() {{}}\n{above}\nfn f( {{}}\n")),
        ("same.rs", &format!("fn ok() {{}}\nfn f( {{}} {same}\n")),
        ("file.rs", &format!("{file}\nfn ok() {{}}\nfn f( {{}}\n")),
        ("not_above.rs", &format!("{above}\nfn ok() {{}}\nfn f( {{}}\n")),
    ]);
    let o = run(t.path(), &["check", "--format", "concise", "-q"]);
    assert!(stdout(&o).starts_with("not_above.rs:3:"), "{}", stdout(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
}

#[test]
fn suppression_of_unknown_rule_is_reported_at_the_comment() {
    let bad = directive("allow", "syntax-error, blocking-slep", "//");
    let t = tree(&[("a.rs", &format!("fn ok() {{}}\n{bad}\nfn f( {{}}\n"))]);
    let o = run(t.path(), &["check", "--format", "concise", "-q"]);
    let col = bad.find("blocking-slep").expect("in the comment") + 1;
    assert_eq!(
        stdout(&o),
        format!("a.rs:2:{col}: CA002 [warning] suppression names unknown rule `blocking-slep`\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn python_noqa() {
    let t = tree(&[("m.py", "import os  # noqa: CA001, CA777, E501\n")]);
    let o = run(t.path(), &["check", "--format", "concise", "-q"]);
    assert_eq!(stdout(&o), "m.py:1:27: CA002 [warning] `noqa` names unknown rule `CA777`\n");
}

#[test]
fn config_unknown_key_is_exit_2_naming_key_and_file() {
    let t = tree(&[("a.rs", "fn f() {}\n"), ("conc-advisor.toml", "selectt = [\"CA1\"]\n")]);
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("conc-advisor.toml") && err.contains("selectt"), "{err}");
    assert!(!stdout(&o).contains("a.rs"), "the files a broken configuration governs are not analysed");
    let o = run(t.path(), &["check", "a.rs"]);
    assert_eq!(code(&o), 2, "an explicit file's configuration is read too");
    assert!(stderr(&o).contains("selectt"), "{}", stderr(&o));

    let t = tree(&[("a.rs", "fn f() {}\n"), ("cfg.toml", "[rust]\nmax-pool = 3\n")]);
    let o = run(t.path(), &["check", "--config", "cfg.toml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cfg.toml") && stderr(&o).contains("max-pool"), "{}", stderr(&o));

    let t =
        tree(&[("a.rs", "fn f() {}\n"), ("pyproject.toml", "[tool.conc-advisor]\nignore = [\"CA001\"]\nfoo = 1\n")]);
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pyproject.toml") && stderr(&o).contains("foo"), "{}", stderr(&o));

    let t = tree(&[("a.rs", "fn f() {}\n"), ("conc-advisor.toml", "ignore = [\"CA77\"]\n")]);
    let o = run(t.path(), &["check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("CA77"), "{}", stderr(&o));

    let o = run(t.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
}

#[test]
fn config_discovery_nearest_wins() {
    let t = tree(&[
        ("conc-advisor.toml", "ignore = [\"syntax-error\"]\nexclude = [\"gen\"]\n"),
        ("a.rs", BROKEN),
        ("gen/g.rs", BROKEN),
        ("sub/conc-advisor.toml", "[per-file-ignores]\n\"tests/**\" = [\"CA0\"]\n"),
        ("sub/b.rs", BROKEN),
        ("sub/tests/t.rs", BROKEN),
        ("py/pyproject.toml", "[project]\nname = \"x\"\n[tool.conc-advisor]\nselect = [\"CA002\"]\n"),
        ("py/c.rs", BROKEN),
        ("py/inner/d.rs", BROKEN),
        ("plain/pyproject.toml", "[project]\nname = \"not ours\"\n"),
        ("plain/e.rs", BROKEN),
    ]);
    let o = run(t.path(), &["check", "--format", "concise", "-q"]);
    let out = stdout(&o);
    // Root config ignores CA001 and excludes gen/; sub/ has its own config (not merged: CA001 is back on) that
    // turns CA0 off under tests/; py/'s pyproject selects only CA002 (CA001 stays on); plain/'s pyproject has
    // no table, so the root config applies.
    let files: Vec<_> = out.lines().map(|l| l.split(':').next().unwrap_or("")).collect();
    assert_eq!(files, vec!["py/c.rs", "py/inner/d.rs", "sub/b.rs"], "{out}{}", stderr(&o));
    assert_eq!(code(&o), 1);

    // Checking a subdirectory still finds the configuration above it.
    let o = run(&t.path().join("sub"), &["check", "--format", "concise", "-q", "tests"]);
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    let o = run(&t.path().join("gen"), &["check", "--format", "concise", "-q"]);
    assert_eq!(stdout(&o), "", "the root config applies from below (CA001 ignored)");

    // --config replaces discovery; --select replaces the config's selection.
    write(t.path(), "other.toml", "[severity]\nCA001 = \"info\"\n");
    let o = run(t.path(), &["check", "--format", "concise", "-q", "--config", "other.toml", "a.rs", "sub/tests/t.rs"]);
    let got: Vec<_> = stdout(&o)
        .lines()
        .map(|l| {
            let f: Vec<_> = l.split(' ').collect();
            format!("{} {} {}", f[0].split(':').next().unwrap_or(""), f.get(1).unwrap_or(&""), f.get(2).unwrap_or(&""))
        })
        .collect();
    assert_eq!(got, vec!["a.rs CA001 [info]", "sub/tests/t.rs CA001 [info]"], "{}", stdout(&o));
    let o = run(t.path(), &["check", "--format", "concise", "-q", "--select", "CA001", "a.rs"]);
    assert!(stdout(&o).starts_with("a.rs:2:"), "{}", stdout(&o));
}

#[test]
fn explicit_file_is_checked_even_when_excluded() {
    let t = tree(&[("conc-advisor.toml", "exclude = [\"gen\"]\n"), ("gen/g.rs", BROKEN)]);
    let o = run(t.path(), &["check", "--format", "concise", "-q", "gen/g.rs"]);
    assert!(stdout(&o).starts_with("gen/g.rs:2:"), "{}", stdout(&o));
}

#[test]
fn rules_and_explain() {
    let t = TempDir::new().expect("tempdir");
    let o = run(t.path(), &["rules"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).lines().any(|l| l.starts_with("CA001") && l.contains("syntax-error") && l.contains("error")));
    let o = run(t.path(), &["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert!(v.as_array().is_some_and(|a| a.iter().any(|r| r["code"] == "CA002" && r["severity"] == "warning")));
    for key in ["CA002", "unknown-suppression", "ca002"] {
        let o = run(t.path(), &["explain", key]);
        assert_eq!(code(&o), 0, "{key}");
        assert!(stdout(&o).contains("## What it does"), "{}", stdout(&o));
        assert!(stdout(&o).contains("unknown-suppression (CA002)"), "{}", stdout(&o));
    }
    let o = run(t.path(), &["explain", "CA999"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("CA999"));
}

/// `rules` shows which rules run by default (a `DEFAULT` column, `default_enabled` in JSON), and `explain` says
/// so of a rule that is off. Rule-agnostic: whichever rules are off by default.
#[test]
fn rules_show_their_default_state() {
    let t = TempDir::new().expect("tempdir");
    let table = stdout(&run(t.path(), &["rules"]));
    assert!(table.lines().next().is_some_and(|h| h.contains("DEFAULT")), "{table}");
    let o = run(t.path(), &["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let rules = v.as_array().expect("an array");
    assert!(rules.iter().all(|r| r["default_enabled"].is_boolean()), "{v}");
    let row = |code: &str| table.lines().find(|l| l.starts_with(code)).unwrap_or_default().to_string();
    let word = |code: &str| row(code).split_whitespace().nth(3).unwrap_or_default().to_string();
    assert_eq!(word("CA001"), "on");
    for r in rules {
        let code = r["code"].as_str().expect("a code");
        let default = if r["default_enabled"] == true { "on" } else { "off" };
        assert_eq!(word(code), default, "{code}: {}", row(code));
        let explain = stdout(&run(t.path(), &["explain", code]));
        assert_eq!(explain.contains("Off by default"), default == "off", "{code}");
    }
    if rules.iter().any(|r| r["default_enabled"] == false) {
        assert!(table.contains("run only when selected by code or name"), "{table}");
    }
}

#[test]
fn help_documents_exit_codes() {
    let t = TempDir::new().expect("tempdir");
    for args in [&["--help"][..], &["check", "--help"]] {
        let o = run(t.path(), args);
        assert_eq!(code(&o), 0);
        let out = stdout(&o);
        assert!(out.contains("Exit codes:") && out.contains("2  usage"), "{out}");
    }
    assert_eq!(code(&run(t.path(), &["check", "--no-such-flag"])), 2);
}

/// Issue 11: a broken `conc-advisor.toml` in one directory emptied the output of every format.
#[test]
fn a_broken_config_in_one_directory_keeps_every_other_finding() {
    let t = tree(&[("a/bad.rs", BROKEN), ("b/conc-advisor.toml", "ignore = 3\n"), ("b/bad.rs", BROKEN)]);
    for format in ["concise", "json", "sarif", "github", "human"] {
        let o = run(t.path(), &["check", "--format", format, "."]);
        assert_eq!(code(&o), 2, "{format}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("bad.rs") && out.contains("CA001"), "{format}: {out}");
        assert!(!out.contains("b/bad.rs"), "{format}: the broken configuration's files are not checked: {out}");
        assert!(stderr(&o).contains("conc-advisor.toml"), "{format}: {}", stderr(&o));
    }
    let o = run(t.path(), &["check", "--format", "sarif", "."]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("SARIF is JSON");
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().expect("notifications");
    assert!(
        notes
            .iter()
            .any(|n| n["level"] == "error" && n["message"]["text"].as_str().unwrap().contains("conc-advisor.toml"))
    );
    // A missing path is listed too.
    let o = run(t.path(), &["check", "--format", "sarif", "a", "missing.rs"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("SARIF is JSON");
    let text = v["runs"][0]["invocations"][0]["toolExecutionNotifications"].to_string();
    assert!(text.contains("missing.rs"), "{text}");
}

/// Issue 11: special files named on the command line were skipped silently; a FIFO as `--config` blocked.
#[cfg(unix)]
#[test]
fn special_files_are_errors_and_never_block() {
    let t = tree(&[("ok.rs", BROKEN)]);
    let fifo = t.path().join("pipe.rs");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
    std::os::unix::fs::symlink("/dev/null", t.path().join("null.rs")).expect("symlink");
    for special in ["pipe.rs", "/dev/zero", "null.rs"] {
        let o = run(t.path(), &["check", "--format", "concise", special, "ok.rs"]);
        assert_eq!(code(&o), 2, "{special}");
        assert!(stderr(&o).contains("not a regular file"), "{special}: {}", stderr(&o));
        assert!(stdout(&o).contains("ok.rs"), "{special}: the other path is still checked");
    }
    let o = run(t.path(), &["check", "--config", "pipe.rs", "ok.rs"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pipe.rs") && stderr(&o).contains("FIFO"), "{}", stderr(&o));
    // A configuration path that is a FIFO in a directory is an error naming it, and does not block either.
    let sub = t.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    assert!(Command::new("mkfifo").arg(sub.join("conc-advisor.toml")).status().expect("mkfifo").success());
    write(t.path(), "sub/x.rs", BROKEN);
    let o = run(t.path(), &["check", "--format", "concise", "."]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("conc-advisor.toml") && stderr(&o).contains("FIFO"), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok.rs"));
}

/// Issue 11: a two-file symlink cycle was called a broken link.
#[cfg(unix)]
#[test]
fn symlink_cycles_are_called_cycles() {
    let t = tree(&[("ok.rs", "fn f() {}\n")]);
    std::os::unix::fs::symlink("b.rs", t.path().join("a.rs")).expect("symlink");
    std::os::unix::fs::symlink("a.rs", t.path().join("b.rs")).expect("symlink");
    let o = run(t.path(), &["check", "a.rs", "ok.rs"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("symbolic link cycle"), "{}", stderr(&o));
    let o = run(t.path(), &["check", "."]);
    assert!(stderr(&o).contains("symbolic link cycle"), "{}", stderr(&o));
}

/// Issue 11: selectors take codes and names in any case.
#[test]
fn selectors_are_case_insensitive() {
    let t = tree(&[("a.rs", BROKEN)]);
    for sel in ["SYNTAX-ERROR", "ca001", "Ca0", "all"] {
        let o = run(t.path(), &["check", "--format", "concise", "--select", sel, "."]);
        assert_eq!(code(&o), 1, "{sel}: {}", stderr(&o));
    }
}

/// Issue 11: `--jobs 100000` grew threads until killed; now it is lowered, with a note.
#[test]
fn jobs_are_capped_with_a_note() {
    let t = tree(&[("a.rs", BROKEN)]);
    let o = run(t.path(), &["check", "--format", "concise", "--jobs", "100000", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--jobs 100000 lowered to"), "{}", stderr(&o));
    assert!(stdout(&o).contains("CA001"));
}

/// Issue 11: `check -o src/lib.rs src/lib.rs` replaced the source with the report.
#[test]
fn output_file_never_overwrites_a_checked_file() {
    let t = tree(&[("src/lib.rs", BROKEN)]);
    for (out, paths) in
        [("src/lib.rs", vec!["src/lib.rs"]), ("src/lib.rs", vec!["."]), ("./src/../src/lib.rs", vec!["src"])]
    {
        let mut args = vec!["check", "-o", out];
        args.extend(paths);
        let o = run(t.path(), &args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains("refusing to write the report over"), "{}", stderr(&o));
        assert_eq!(std::fs::read_to_string(t.path().join("src/lib.rs")).unwrap(), BROKEN, "{args:?}");
    }
    // A report file beside the sources is fine.
    let o = run(t.path(), &["check", "-o", "report.txt", "."]);
    assert_eq!(code(&o), 1);
}

/// Issue 11: a closed stdout lost the report with exit 1 and no message; a full disk likewise.
#[cfg(target_os = "linux")]
#[test]
fn write_errors_exit_2_with_a_message() {
    let t = tree(&[("a.rs", BROKEN)]);
    let o = run(t.path(), &["check", "-o", "/dev/full", "."]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cannot write /dev/full"), "{}", stderr(&o));
    // A pipe whose reader is gone before anything is written.
    let mut child = Command::new(BIN)
        .args(["check", "--format", "json", "."])
        .current_dir(t.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("waits");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write the report"), "{}", stderr(&o));
}

/// Issue 11: `--statistics --format sarif` printed plain text.
#[test]
fn statistics_are_refused_for_sarif_and_github() {
    let t = tree(&[("a.rs", BROKEN)]);
    for format in ["sarif", "github"] {
        let o = run(t.path(), &["check", "--statistics", "--format", format, "."]);
        assert_eq!(code(&o), 2, "{format}");
        assert!(stderr(&o).contains("--statistics") && stdout(&o).is_empty(), "{format}: {}", stderr(&o));
    }
    let o = run(t.path(), &["check", "--statistics", "--format", "json", "."]);
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&o)).is_ok(), "{}", stdout(&o));
}

/// Issue 11: `profile -o` replaced the file it was told to write over, even the profiled script.
#[cfg(target_os = "linux")]
#[test]
fn profile_output_never_overwrites_the_profiled_script() {
    let t = tree(&[("job.sh", "exit 0\n")]);
    let o = run(t.path(), &["profile", "-o", "job.sh", "--", "sh", "job.sh"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to write over job.sh"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(t.path().join("job.sh")).unwrap(), "exit 0\n");
}

/// Issue 15: `check` keeps its cache at the project root (the directory with `.git`, here above the current
/// one) with its own `.gitignore`; `--no-cache` neither reads nor writes it, `--cache-dir` moves it, `clean`
/// removes it (and refuses a directory that is not a cache). Findings are the same from the cache.
#[test]
fn cache_at_the_project_root_no_cache_cache_dir_and_clean() {
    let t = tree(&[("src/a.rs", "async fn f() { std::thread::sleep(d); }\n"), ("src/b.py", "x = 1\n")]);
    std::fs::create_dir(t.path().join(".git")).expect("mkdir .git");
    let src = t.path().join("src");
    let cache = t.path().join(".conc-advisor-cache");

    let no_cache = run(&src, &["check", "--no-cache", "--format", "concise", "-q", "."]);
    assert_eq!(code(&no_cache), 1, "{}", stderr(&no_cache));
    assert!(!cache.exists(), "--no-cache wrote a cache");

    let cold = run(&src, &["check", "--format", "concise", "-q", "."]);
    assert_eq!(stdout(&cold), stdout(&no_cache));
    assert_eq!(std::fs::read_to_string(cache.join(".gitignore")).expect("its .gitignore").lines().last(), Some("*"));
    assert!(cache.join("pack.bin").is_file(), "the cache's one packed file");
    let warm = run(&src, &["check", "--format", "concise", "-q", "."]);
    assert_eq!((code(&warm), stdout(&warm)), (1, stdout(&no_cache)));

    let elsewhere = t.path().join("elsewhere");
    let moved = run(&src, &["check", "--cache-dir", elsewhere.to_str().expect("utf-8"), "-q", "."]);
    assert_eq!(code(&moved), 1, "{}", stderr(&moved));
    assert!(elsewhere.join("pack.bin").is_file());

    let cleaned = run(&src, &["clean"]);
    assert_eq!(code(&cleaned), 0, "{}", stderr(&cleaned));
    assert!(!cache.exists());
    let refused = run(&src, &["clean", "--cache-dir", "."]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("does not look like a conc-advisor cache"), "{}", stderr(&refused));
    assert!(src.join("a.rs").exists());
}
