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
