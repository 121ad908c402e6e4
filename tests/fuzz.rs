//! A mutation fuzz test of `check`'s per-file analysis (issue 11): every fixture (`fixtures/**/*.rs`, `*.py`)
//! is mutated — byte flips, truncation, token deletion and duplication, deep nesting and long chains of every
//! kind that once overflowed the stack (`(`, `return`, `as`, `else if`, operators, `- -`, `a.b.b`), long lines,
//! NUL, invalid UTF-8, a BOM, CRLF line ends — and analysed with every rule on. A run must return (a panic is a
//! failure; a stack overflow aborts the test binary, which fails too).
//!
//! In CI the number of cases is bounded (`FUZZ_CASES`, default 600, and `FUZZ_SECONDS`, default 40: whichever
//! comes first); `bench/fuzz.sh` runs it for as long as asked with a fresh seed (`FUZZ_SEED`) and keeps every
//! input that crashed under `fixtures/crashes/`, each of which [`every_saved_crash_is_a_regression_test`] runs.
//! Before each case the input is written to `$FUZZ_PENDING.rs` or `.py` (when set), so the script can keep an
//! input that aborted the process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use conc_advisor::engine::analyze_source;
use conc_advisor::settings::Settings;
use conc_advisor::walk::SourceKind;
use conc_advisor_tests::workspace_root;

/// xorshift64*: a small deterministic generator, so a failing seed reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    /// A size, most often small, sometimes past every limit of the depth guard.
    fn size(&mut self) -> usize {
        match self.below(10) {
            0..=5 => 1 + self.below(60),
            6..=8 => 100 + self.below(4_000),
            _ => 10_000 + self.below(40_000),
        }
    }
}

fn fixtures() -> Vec<(PathBuf, SourceKind)> {
    let mut out = Vec::new();
    let mut dirs = vec![workspace_root().join("fixtures")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Some(kind) = SourceKind::of(&p) {
                out.push((p, kind));
            }
        }
    }
    out.sort();
    out
}

/// What to insert to make the tree deep, for one language.
fn deep(rng: &mut Rng, kind: SourceKind) -> Vec<u8> {
    let n = rng.size();
    let s = match (kind.name(), rng.below(9)) {
        ("rust", 0) => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        ("rust", 1) => format!("{}1", "return ".repeat(n)),
        ("rust", 2) => format!("x{}", " as u8".repeat(n)),
        ("rust", 3) => format!("if a {{}} {}", "else if b { c(); } ".repeat(n)),
        ("rust", 4) => format!("x{}", " + 1".repeat(n)),
        ("rust", 5) => format!("r\"\\\" /* /* */ \" */ {}", "(".repeat(n)),
        ("rust", 6) => format!("x{}", ".m()".repeat(n)),
        ("rust", 7) => format!("{}x", "&-!*".repeat(n)),
        ("rust", _) => format!("{}{}", "{ async { ".repeat(n), "} }".repeat(n)),
        ("python", 0) => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        ("python", 1) => format!("y = {}1", "- ".repeat(n)),
        ("python", 2) => format!("a{}", ".b".repeat(n)),
        ("python", 3) => format!("x = {}y", "not ".repeat(n)),
        ("python", 4) => format!("x = 1{}", " + 1".repeat(n)),
        ("python", 5) => format!("x = {}1{}", "[".repeat(n), "]".repeat(n)),
        ("python", 6) => format!("f = {}1", "lambda: ".repeat(n)),
        ("python", 7) => format!("x = 1 {}", "if a else 1 ".repeat(n)),
        ("python", _) => (0..n.min(200)).map(|i| format!("{}if x:\n", " ".repeat(i))).collect(),
        (other, _) => panic!("no deep inputs for {other}: add them here"),
    };
    s.into_bytes()
}

/// Splits at ASCII whitespace boundaries: the "tokens" deleted and duplicated.
fn token_bounds(b: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    v.extend((1..b.len()).filter(|&i| b[i].is_ascii_whitespace() != b[i - 1].is_ascii_whitespace()));
    v.push(b.len());
    v
}

fn mutate(rng: &mut Rng, src: &[u8], kind: SourceKind) -> Vec<u8> {
    let mut b = src.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(12) {
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(b.len());
                    if let Some(c) = b.get_mut(i) {
                        *c ^= 1 << rng.below(8);
                    }
                }
            }
            1 => b.truncate(at),
            2 | 3 => {
                let t = token_bounds(&b);
                let k = rng.below(t.len().saturating_sub(1));
                let (s, e) = (t[k], t.get(k + 1 + rng.below(4)).copied().unwrap_or(b.len()));
                if rng.below(2) == 0 {
                    b.drain(s..e);
                } else {
                    let dup = b[s..e].repeat(1 + rng.below(50));
                    b.splice(e..e, dup);
                }
            }
            4 | 5 => {
                let d = deep(rng, kind);
                b.splice(at..at, d);
            }
            6 => {
                let line = vec![b'x'; rng.size() * 100];
                b.splice(at..at, line);
            }
            7 => b.insert(at, 0),
            8 => {
                b.splice(at..at, [0xff, 0xfe, 0xc3]);
            }
            9 => {
                b.splice(0..0, *b"\xEF\xBB\xBF");
            }
            10 => {
                let mut crlf = Vec::with_capacity(b.len());
                for &c in &b {
                    if c == b'\n' {
                        crlf.push(b'\r');
                    }
                    crlf.push(c);
                }
                b = crlf;
            }
            _ => {
                let t = token_bounds(&b);
                let k = rng.below(t.len().saturating_sub(1));
                let piece = b[t[k]..t[k + 1]].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    b
}

/// Analyses one input as `check` does after reading it (invalid UTF-8 is a read error there, so the valid
/// prefix and a lossy copy are analysed instead).
fn analyse(path: &Path, kind: SourceKind, bytes: &[u8]) {
    let settings = Settings::default();
    if let Some(pending) = std::env::var_os("FUZZ_PENDING") {
        // `<pending>.rs` or `<pending>.py`, the other removed: the script keeps whichever is left.
        let (ext, other) = if kind.name() == "rust" { ("rs", "py") } else { ("py", "rs") };
        let at = |e: &str| PathBuf::from(format!("{}.{e}", pending.to_string_lossy()));
        let _ = std::fs::remove_file(at(other));
        let _ = std::fs::write(at(ext), bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => drop(analyze_source(path, kind, text, &settings)),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix");
            drop(analyze_source(path, kind, valid, &settings));
            drop(analyze_source(path, kind, &String::from_utf8_lossy(bytes), &settings));
        }
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn mutated_fixtures_never_crash_the_analysis() {
    let files = fixtures();
    assert!(files.len() > 50, "fixtures not found: {}", files.len());
    let seed = env_or("FUZZ_SEED", 0x5eed_c0c0_a11d_0011);
    let cases = env_or("FUZZ_CASES", 600);
    let budget = Duration::from_secs(env_or("FUZZ_SECONDS", 40));
    let mut rng = Rng(seed | 1);
    let start = Instant::now();
    let mut done = 0u64;
    while done < cases && start.elapsed() < budget {
        let (path, kind) = &files[rng.below(files.len())];
        let src = std::fs::read(path).expect("fixtures are readable");
        let input = mutate(&mut rng, &src, *kind);
        let r = std::panic::catch_unwind(|| analyse(path, *kind, &input));
        if r.is_err() {
            let keep = std::env::temp_dir().join(format!("conc-advisor-fuzz-{seed:x}-{done}"));
            let _ = std::fs::write(&keep, &input);
            panic!("case {done} (seed {seed:#x}) from {} panicked; input saved to {}", path.display(), keep.display());
        }
        done += 1;
    }
    eprintln!("fuzz: {done} cases from seed {seed:#x} in {:?}", start.elapsed());
    assert!(done >= 50.min(cases), "only {done} cases ran: the budget proves little");
}

/// Every input `bench/fuzz.sh` kept (`fixtures/crashes/*.rs|*.py`), and the inputs of issue 11, analysed again.
#[test]
fn every_saved_crash_is_a_regression_test() {
    let dir = workspace_root().join("fixtures/crashes");
    let mut saved: Vec<_> = std::fs::read_dir(&dir)
        .map(|e| e.flatten().map(|e| e.path()).filter(|p| SourceKind::of(p).is_some()).collect())
        .unwrap_or_default();
    saved.sort();
    for path in &saved {
        let kind = SourceKind::of(path).expect("filtered");
        analyse(path, kind, &std::fs::read(path).expect("readable"));
    }
    // Issue 11's inputs, generated (they are megabytes): each once aborted the whole run.
    let rust = [
        format!("fn f() {{ let s = r\"\\\"; let x = {}1{}; }}", "(".repeat(700), ")".repeat(700)),
        format!("fn f() {{ /* /* */ \" */ let x = {}1{}; }}", "(".repeat(700), ")".repeat(700)),
        format!("fn f() {{ {}1; }}", "return ".repeat(830)),
        format!("fn f() {{ x{}; }}", " as u8".repeat(3_900)),
        format!("async fn f() {{ if a {{}} {} }}", "else if b { c(); } ".repeat(3_000)),
        "\u{feff}async fn f() { std::thread::sleep(d); }".to_string(),
    ];
    for src in &rust {
        analyse(Path::new("issue11.rs"), SourceKind::named("rust").unwrap(), src.as_bytes());
    }
    let python = [format!("y = {}1\n", "- ".repeat(33_000)), format!("a{}\n", ".b".repeat(33_000)), "x = 1\0\n".into()];
    for src in &python {
        analyse(Path::new("issue11.py"), SourceKind::named("python").unwrap(), src.as_bytes());
    }
    let bom = analyze_source(Path::new("a.rs"), SourceKind::named("rust").unwrap(), &rust[5], &Settings::default());
    assert!(bom.iter().any(|d| d.rule.code == "CA101"), "{bom:?}");
}

/// Runs `check` (the whole pipeline: rayon workers, enclosing items, link phases) over `dir` with every rule.
fn check_dir(dir: &Path) -> conc_advisor::engine::CheckReport {
    let opts = conc_advisor::engine::CheckOptions { roots: vec![dir.to_path_buf()], jobs: 2 };
    conc_advisor::engine::check(&opts, &Settings::default())
}

/// The codes of the findings of `report` in the file named `name`.
fn codes_in(report: &conc_advisor::engine::CheckReport, name: &str) -> Vec<&'static str> {
    report.diagnostics.iter().filter(|d| d.path.file_name().is_some_and(|n| n == name)).map(|d| d.rule.code).collect()
}

/// One input per kind of nesting or chain, `k` levels past the limit (0: exactly at it, analysed; 1: one past,
/// refused). Each Rust input sits in an `async fn` that blocks (a CA101 finding) and each Python input beside
/// an `async def` that blocks (CA503), so the file is analysed, linked and its enclosing items parsed.
fn at_the_limits(k: usize) -> Vec<(String, String)> {
    let [b, c, e] = conc_advisor::rust::TOO_DEEP;
    let (pb, pc) = (conc_advisor::python::parse::MAX_BRACKET_DEPTH, conc_advisor::python::parse::MAX_CHAIN);
    let rs = |body: String| format!("async fn f(x: u32) -> u8 {{\n    std::thread::sleep(d);\n    {body}\n}}\n");
    let py = |stmt: String| format!("import time\nasync def f():\n    time.sleep(1)\n{stmt}\n");
    // Brackets: the function body is one level.
    let nb = b - 1 + k;
    let nest = |open: &str, close: &str, mid: &str| format!("{}{mid}{}", open.repeat(nb), close.repeat(nb));
    let rust = [
        ("parens", nest("(", ")", "1")),
        ("blocks", nest("{ ", "} ", "1")),
        ("async_blocks", nest("async { ", "} ", "1")),
        ("closure_blocks", nest("|| { ", "} ", "1")),
        ("unsafe_blocks", nest("unsafe { ", "} ", "1")),
        ("if_else", nest("if a { ", "} else { 2 } ", "1")),
        ("match", nest("match a { _ => ", "} ", "1")),
        ("tuple_pattern", format!("let {} = 1;", nest("(", ")", "a"))),
        ("vec_macro", format!("vec!{}1{}", "[vec!".repeat(nb - 1) + "[", "]".repeat(nb))),
        ("return", format!("{}1", "return ".repeat(c + k))),
        ("as", format!("1{}", " as u8".repeat(c + k))),
        // `move`, `|`, `|`: three links each.
        ("closures", format!("{}1", "move || ".repeat((c - 1 + k) / 3 + k))),
        ("else_if", format!("if x == 0 {{ 1 }}{} else {{ 2 }}", " else if x == 1 { 1 }".repeat(e + k - 1))),
        ("plus", format!("1{}", " + 1".repeat(c + k))),
        ("methods", format!("x{}", ".m()".repeat(c + k))),
        ("fields", format!("x{}", ".f".repeat(c + k))),
        ("calls", format!("x{}", "()".repeat(c + 1 + k))),
        ("index", format!("x{}", "[0]".repeat(c + 1 + k))),
        ("try", format!("x{}", "?".repeat(c + k))),
        ("neg", format!("{}1", "- ".repeat(c + k))),
        ("refs", format!("*{}x", "& ".repeat(c + k - 1))),
        ("ref_pattern", format!("let {}a = 1;", "&".repeat(c + k - 1))),
        // Each generic level counts three bracket levels (`rust::scan::nesting`).
        ("generics", format!("let v: {}u8{};", "Vec<".repeat((b - 1) / 3 + k), ">".repeat((b - 1) / 3 + k))),
        (
            "result_generics",
            format!("let v: {}u8{};", "Result<u8, ".repeat((b - 1) / 3 + k), ">".repeat((b - 1) / 3 + k)),
        ),
    ];
    let nest_py = |open: &str, close: &str, mid: &str| format!("{}{mid}{}", open.repeat(pb + k), close.repeat(pb + k));
    // `x = …`: the `=` is one link.
    let python = [
        ("parens", format!("x = {}", nest_py("(", ")", "1"))),
        ("lists", format!("x = {}", nest_py("[", "]", "1"))),
        ("dicts", format!("x = {}", nest_py("{1: ", "}", "1"))),
        ("calls", format!("x = {}", nest_py("f(", ")", "1"))),
        ("comprehensions", format!("x = {}", nest_py("[y for y in ", "]", "y"))),
        ("awaits", format!("async def g():\n    x = {}", nest_py("await (", ")", "y"))),
        ("neg", format!("y = {}1", "- ".repeat(pc - 1 + k))),
        ("not", format!("y = {}x", "not ".repeat(pc - 1 + k))),
        ("invert", format!("y = {}x", "~".repeat(pc - 1 + k))),
        ("lambda", format!("f = {}1", "lambda: ".repeat(pc - 1 + k))),
        ("plus", format!("x = 1{}", " + 1".repeat(pc - 1 + k))),
        ("compare", format!("x = 1{}", " < 1".repeat(pc - 1 + k))),
        ("ifelse", format!("x = 1{}", " if a else 1".repeat((pc - 1 + k) / 2 + k))),
        ("power", format!("x = 2{}", " ** 2".repeat((pc - 1 + k) / 2 + k))),
        ("attributes", format!("a{}", ".b".repeat(pc + k))),
        ("subscripts", format!("a{}", "[0]".repeat(pc + 1 + k))),
        ("call_chain", format!("a{}", "()".repeat(pc + 1 + k))),
    ];
    let rust = rust.into_iter().map(|(n, body)| (format!("{n}.rs"), rs(body)));
    rust.chain(python.into_iter().map(|(n, s)| (format!("{n}.py"), py(s)))).collect()
}

/// Issue 11: the depth limits hold in the build that runs them (CI runs this in debug, whose frames are the
/// largest; `cargo test --release` runs it in release). Every kind of nesting and chain exactly at its limit is
/// analysed — no stack overflow in the parse, the visit, the enclosing items or the drop of the tree, and the
/// file's own finding is reported — and one level past it is a CA001 "too deeply nested".
#[test]
fn inputs_at_the_depth_limits_are_analysed_and_one_past_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (k, sub) in [(0, "at"), (1, "past")] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("dir");
        for (name, text) in at_the_limits(k) {
            std::fs::write(dir.path().join(sub).join(name), text).expect("write");
        }
    }
    let report = check_dir(dir.path());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut checked = 0;
    for (name, _) in at_the_limits(0) {
        let (at, past): (Vec<_>, Vec<_>) = report
            .diagnostics
            .iter()
            .filter(|d| d.path.file_name().is_some_and(|n| n == name.as_str()))
            .partition(|d| d.path.parent().is_some_and(|p| p.ends_with("at")));
        let deep = |ds: &[&conc_advisor::diagnostic::Diagnostic]| {
            ds.iter().filter(|d| d.rule.code == "CA001" && d.message.contains("too deeply nested")).count()
        };
        let own = if name.ends_with(".rs") { "CA101" } else { "CA503" };
        assert_eq!(deep(&at), 0, "{name} at the limit was refused: {at:?}");
        assert!(at.iter().any(|d| d.rule.code == own), "{name} at the limit was not analysed: {at:?}");
        assert_eq!(deep(&past), 1, "{name} past the limit was not refused: {past:?}");
        checked += 1;
    }
    assert_eq!(checked, 41);
}

/// `text` repeated until the result is at least `size` bytes long; the number of copies.
fn repeat_to(text: &str, size: usize) -> (String, usize) {
    let n = size.div_ceil(text.len());
    (text.repeat(n), n)
}

/// Issue 11: "no input up to 10 MB crashes `check`". One run of `check` (both languages, every rule, two
/// workers) over 10 MB inputs of each pathological kind: nesting and chains millions deep, one 10 MB line, tens
/// of thousands of small items each with a finding, a NUL byte, invalid UTF-8. Each file gets what it should
/// (CA001 where it is refused, every finding where it is analysed, a read error for invalid UTF-8) and none is
/// lost to another. `BIG_INPUT_MB` sets the size: 10 by default in a release build, which `.ci/run` runs
/// (`cargo test --release -p conc-advisor-tests --test fuzz ten_megabyte`); 1 in a debug build, where 10 MB
/// takes about a minute of CPU (the deep and long inputs are refused by the same lexer pass at any size).
#[test]
fn ten_megabyte_inputs_never_crash_check() {
    let default_mb = if cfg!(debug_assertions) { 1 } else { 10 };
    let size = env_or("BIG_INPUT_MB", default_mb) as usize * 1_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).expect("write");
    let half = size / 2;
    write("deep.rs", format!("fn f() {{ let x = {}1{}; }}\n", "(".repeat(half), ")".repeat(half)).as_bytes());
    write("chain.rs", format!("fn f() -> u8 {{ 1{} }}\n", " + 1".repeat(size / 4)).as_bytes());
    write(
        "line.rs",
        format!("async fn f() {{ std::thread::sleep(d); let s = \"{}\"; }}\n", "x".repeat(size)).as_bytes(),
    );
    let (items_rs, n_rs) = repeat_to("async fn f() { std::thread::sleep(d); }\nfn g(x: u8) -> u8 { x + 1 }\n", size);
    write("items.rs", items_rs.as_bytes());
    let (half_rs, _) = repeat_to("fn f() { g(); }\n", half);
    write("nul.rs", format!("{half_rs}\0{half_rs}").as_bytes());
    write("invalid.rs", &[half_rs.as_bytes(), b"\xff\xfe", half_rs.as_bytes()].concat());
    write("deep.py", format!("x = {}1{}\n", "(".repeat(half), ")".repeat(half)).as_bytes());
    write("chain.py", format!("x = 1{}\n", " + 1".repeat(size / 4)).as_bytes());
    write(
        "line.py",
        format!("import time\nasync def f():\n    time.sleep(1)\ns = '{}'\n", "x".repeat(size)).as_bytes(),
    );
    let (items_py, n_py) = repeat_to("async def f():\n    time.sleep(1)\ndef g(x):\n    return x + 1\n", size);
    write("items.py", format!("import time\n{items_py}").as_bytes());
    let (half_py, _) = repeat_to("def f():\n    g()\n", half);
    write("nul.py", format!("{half_py}\0{half_py}").as_bytes());
    write("invalid.py", &[half_py.as_bytes(), b"\xff\xfe\n", half_py.as_bytes()].concat());

    let report = check_dir(dir.path());
    assert_eq!(report.files_checked, 10, "{:?}", report.errors);
    let mut errors = report.errors.clone();
    errors.sort();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("invalid.py") && errors[1].contains("invalid.rs"), "{errors:?}");
    let too_deep = |name: &str| {
        let d: Vec<_> = report.diagnostics.iter().filter(|d| d.path.ends_with(name)).collect();
        assert!(
            d.len() == 1 && d[0].rule.code == "CA001" && d[0].message.contains("too deeply nested"),
            "{name}: {:?}",
            d.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
    };
    for name in ["deep.rs", "chain.rs", "deep.py", "chain.py"] {
        too_deep(name);
    }
    assert_eq!(codes_in(&report, "nul.rs"), ["CA001"]);
    assert_eq!(codes_in(&report, "nul.py"), ["CA001"]);
    assert_eq!(codes_in(&report, "line.rs"), ["CA101"]);
    assert_eq!(codes_in(&report, "line.py"), ["CA503"]);
    let items_rs = codes_in(&report, "items.rs");
    assert!(
        items_rs.len() == n_rs && items_rs.iter().all(|c| *c == "CA101"),
        "{n_rs} fns: {:?}",
        &items_rs[..5.min(items_rs.len())]
    );
    let items_py = codes_in(&report, "items.py");
    assert!(
        items_py.len() == n_py && items_py.iter().all(|c| *c == "CA503"),
        "{n_py} defs: {:?}",
        &items_py[..5.min(items_py.len())]
    );
}
