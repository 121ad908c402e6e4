//! Python analysis (issue 6): parse a file once (through [`parse`], the only module that sees ruff's crates),
//! build the module's semantic model ([`semantic`]: imports, function index, pools, call sites, work handed to
//! threads and processes), summarise each function's work ([`summary`]: CPU-heavy, I/O-bound or unknown), and run
//! the enabled `CA5xx` rules ([`rules`]) through one [`Checker`]. A file that does not parse gets one
//! `syntax-error` diagnostic and the run goes on.
//!
//! [`analyze`] sees one module: a target defined in another file, or a call into another file, is "unknown"
//! and the rules stay silent on it. [`analyze_with_facts`] also returns the module's [`FileFacts`], and the
//! engine's link phase ([`link`], after every Python file) runs each rule's link step, which follows those
//! targets and calls into the other files of the run through the module index ([`project`]).

pub mod ast;
mod chunks;
pub mod encoding;
mod lang;
pub(crate) mod lex;
pub mod linker;
pub mod parse;
pub mod project;
pub mod rules;
pub mod semantic;
pub mod summary;
mod survey;

pub use lang::Lang;
pub use linker::{FileFacts, link};

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::registry::builtin::SYNTAX_ERROR;
use crate::settings::Settings;

use ast::{LineIndex, Range};
use semantic::{FuncId, Model};
use summary::Summarizer;

/// Words at least one of which appears in any file a `CA5xx` rule can report on: every rule needs an
/// `async def`, a thread, process or pool (`threading`, `_thread`, `concurrent.futures`, `multiprocessing`,
/// `asyncio.to_thread`) or a fork. A file with none of them is only parsed, for syntax errors.
const RELEVANT_WORDS: &[&str] = &["async", "hread", "concurrent", "multiprocessing", "fork"];

/// Whether any rule could report on `source` (a necessary condition, checked on the raw text).
pub fn may_concern_rules(source: &str) -> bool {
    RELEVANT_WORDS.iter().any(|w| source.contains(w))
}

/// Analyses one Python file's text.
pub fn analyze(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    analyze_with_facts(path, source, settings, None).0
}

/// Analyses one Python file's text like [`analyze`] (the same findings), and when `module` is given (the file's
/// module name, [`project::ModuleName::discover`]) and a Python rule is enabled, also returns the facts the
/// link phase needs. A file that does not parse has no facts.
pub fn analyze_with_facts(
    path: &Path,
    source: &str,
    settings: &Settings,
    module: Option<project::ModuleName>,
) -> (Vec<Diagnostic>, Option<FileFacts>) {
    analyze_chunked(path, source, settings, module, chunks::target(source.len()))
}

/// [`analyze_with_facts`] with the file parsed in chunks of at least `chunk` bytes (`None`: whole).
pub(crate) fn analyze_chunked(
    path: &Path,
    source: &str,
    settings: &Settings,
    module: Option<project::ModuleName>,
    chunk: Option<usize>,
) -> (Vec<Diagnostic>, Option<FileFacts>) {
    let arena = parse::Arena::default();
    let parsed = match parse::parse_with(source, &arena, chunk) {
        Ok(p) => p,
        Err(err) => {
            if !settings.is_enabled(&SYNTAX_ERROR) {
                return (Vec::new(), None);
            }
            let lines = LineIndex::new(source);
            return (
                vec![
                    Diagnostic::new(
                        &SYNTAX_ERROR,
                        path,
                        lines.span(err.range),
                        format!("cannot parse: {}", err.message),
                    )
                    .with_help("fix the syntax error; the rest of this file is not checked until it parses"),
                ],
                None,
            );
        }
    };
    let any_rule = rules::RULES.iter().any(|r| settings.is_enabled(r));
    let run_rules = any_rule && may_concern_rules(source);
    // A module without concurrency words can still define the functions other modules run on threads.
    let module_name = module.filter(|_| any_rule);
    if !run_rules && module_name.is_none() {
        return (Vec::new(), None);
    }
    let lines = LineIndex::new(source);
    let tree = if run_rules { parsed.module() } else { parsed.module_outline() };
    // A module no rule reports on only needs the index its summaries read.
    let model = if run_rules { Model::build(&tree) } else { Model::build_index(&tree) };
    let py = &settings.python;
    let summaries = Summarizer::new(&model, py.heavy_range).with_calls(&py.cpu_heavy_calls, &py.blocking_calls);
    let mut checker =
        Checker { path, lines: &lines, settings, model: &model, summaries: &summaries, diagnostics: Vec::new() };
    if run_rules {
        rules::run(&mut checker);
    }
    let facts = module_name.map(|name| {
        let in_project =
            Summarizer::for_project(&model, py.heavy_range, &name).with_calls(&py.cpu_heavy_calls, &py.blocking_calls);
        linker::collect(&checker, &in_project, name.clone())
    });
    (checker.diagnostics, facts)
}

/// What a rule sees: the model, the summaries, the settings, and where to put findings.
pub struct Checker<'x, 'm, 'a> {
    /// The file's path, as given.
    pub path: &'x Path,
    /// Offsets → lines and columns.
    pub lines: &'x LineIndex<'x>,
    /// The run's settings.
    pub settings: &'x Settings,
    /// The module's semantic model.
    pub model: &'x Model<'m, 'a>,
    /// Function summaries.
    pub summaries: &'x Summarizer<'x, 'm, 'a>,
    /// Findings so far.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checker<'_, '_, '_> {
    /// The span of a byte range.
    pub fn span(&self, r: Range) -> Span {
        self.lines.span(r)
    }

    /// A finding of `rule` at `range`.
    pub fn diagnostic(&self, rule: &'static RuleMeta, range: Range, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(rule, self.path, self.span(range), message)
    }

    /// Adds a finding (if its rule is enabled).
    pub fn report(&mut self, d: Diagnostic) {
        if self.settings.is_enabled(d.rule) {
            self.diagnostics.push(d);
        }
    }

    /// The name of a function, for messages.
    pub fn func_name(&self, f: FuncId) -> &str {
        self.model.funcs[f].def.name
    }

    /// A note pointing at a function's definition.
    pub fn def_note(&self, f: FuncId) -> (String, Option<Span>) {
        let info = &self.model.funcs[f];
        (format!("`{}` is defined here", info.def.name), Some(self.span(info.def.name_range)))
    }

    /// Where a piece of evidence is, for messages: `line 12`, or `line 12, in `helper`` when it was found in a
    /// function called from `f`.
    pub fn evidence_place(&self, ev: &summary::Evidence, f: FuncId) -> String {
        let line = self.line(ev.range);
        if ev.func == f { format!("line {line}") } else { format!("line {line}, in `{}`", self.func_name(ev.func)) }
    }

    /// The 1-based line of a byte range.
    pub fn line(&self, r: Range) -> usize {
        self.lines.line(r.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(src: &str) -> Vec<Diagnostic> {
        analyze(Path::new("t.py"), src, &Settings::default())
    }

    #[test]
    fn odd_inputs_never_panic() {
        let deep_if: String =
            (0..150).map(|i| format!("{}if x:\n", " ".repeat(i))).collect::<String>() + &" ".repeat(150) + "pass\n";
        let inputs = [
            String::new(),
            "# only a comment\n# another\n".into(),
            "\n\n\n".into(),
            "\u{feff}x = 1\n".into(),
            "def f(:\n".into(),
            "x = (((((\n".into(),
            format!("x = {}1{}\n", "(".repeat(3000), ")".repeat(3000)),
            format!("x = {}1\n", "-".repeat(5000)),
            format!("x = {}\n", "[".repeat(150) + &"]".repeat(150)),
            deep_if,
            "nom = 'héé 🎉'; print(nom)  # ünïcödé\ndef ƒ():\n    return 'π'\n".into(),
            "async def f():\n    await g()\n    lambda: (yield)\n".into(),
            "match x:\n    case {'a': [1, *rest]} if rest:\n        time.sleep(1)\n".into(),
            "def f():\n    return f()\n".into(),
            "import threading\nthreading.Thread(target=f).start()\ndef f():\n    f()\n".into(),
            "\r\n\r\nx = 1\r".into(),
            "\0".into(),
            // A name rebound many times, in nested loops: its values are not searched exhaustively.
            format!(
                "import threading\ndef f(xs, t):\n    s = t\n    for x in xs:\n        for y in xs:\n{}            s += y\n    return s\nthreading.Thread(target=f).start()\n",
                "            s = s + t + s\n".repeat(300)
            ),
        ];
        let mut facts = Vec::new();
        for (i, src) in inputs.iter().enumerate() {
            let _ = all(src);
            let path = format!("p/m{i}.py");
            let module = project::ModuleName::for_path(Path::new(&path), &|_| false);
            let (_, f) = analyze_with_facts(Path::new(&path), src, &Settings::default(), Some(module));
            facts.extend(f);
        }
        // The project phase over the same odd modules (they import and spawn each other's names).
        let _ = link(&facts);
    }

    #[test]
    fn files_without_concurrency_words_are_only_parsed() {
        assert!(!may_concern_rules("import os\nprint(os.getcwd())\n"));
        for src in [
            "import threading",
            "from _thread import start_new_thread",
            "async def f(): pass",
            "import concurrent.futures",
            "from multiprocessing import Pool",
            "os.fork()",
            "x.to_thread(f)",
        ] {
            assert!(may_concern_rules(src), "{src}");
        }
        // Syntax errors are still reported in such files.
        assert_eq!(all("print(\n").len(), 1);
    }

    #[test]
    fn syntax_error_is_reported_at_its_line_and_run_goes_on() {
        let d = all("x = 1\nnom = 'é'; def (:\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule.code, "CA001");
        assert_eq!(d[0].span.start.line, 2);
    }

    #[test]
    fn non_ascii_columns_are_characters() {
        let src = "import time\nasync def f():\n    é = 'ü'; time.sleep(1)\n";
        let d = all(src);
        assert_eq!(d.len(), 1, "{d:?}");
        // `    é = 'ü'; ` is 13 characters (15 bytes): `time` starts at character column 14.
        assert_eq!((d[0].span.start.line, d[0].span.start.column), (3, 14));
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::registry;

    fn run(src: &str, rule: &str, free_threaded: bool) -> Vec<Diagnostic> {
        let mut settings = Settings::only(&[registry::find(rule).unwrap()]);
        settings.python.free_threaded = free_threaded;
        analyze(Path::new("t.py"), src, &settings)
    }

    const CPU_THREADS: &str = "import threading\nhits = 0\ndef work(n):\n    global hits\n    hits += 1\n    return sum(i * i for i in range(n))\nfor _ in range(4):\n    threading.Thread(target=work, args=(10,)).start()\n";

    #[test]
    fn rule_1_changes_advice_and_severity_when_free_threaded() {
        let gil = run(CPU_THREADS, "cpu-bound-work-on-threads", false);
        assert_eq!(gil.len(), 1);
        assert_eq!(gil[0].severity, Severity::Warning);
        assert!(gil[0].message.contains("the GIL lets one thread run"), "{}", gil[0].message);
        assert!(gil[0].help.as_deref().unwrap().contains("ProcessPoolExecutor"));
        let ft = run(CPU_THREADS, "cpu-bound-work-on-threads", true);
        assert_eq!(ft.len(), 1);
        assert_eq!(ft[0].severity, Severity::Info);
        assert!(ft[0].message.contains("free-threaded"), "{}", ft[0].message);
        assert!(ft[0].help.as_deref().unwrap().contains("sys._is_gil_enabled()"));
    }

    #[test]
    fn rule_5_changes_advice_when_free_threaded() {
        let gil = run(CPU_THREADS, "unlocked-shared-state-in-threads", false);
        assert_eq!(gil.len(), 1, "{gil:?}");
        assert!(gil[0].message.contains("the GIL does not make"), "{}", gil[0].message);
        let ft = run(CPU_THREADS, "unlocked-shared-state-in-threads", true);
        assert_eq!(ft.len(), 1);
        assert!(ft[0].message.contains("free-threaded CPython"), "{}", ft[0].message);
    }

    #[test]
    fn evidence_in_a_callee_names_it() {
        let src = "import threading\ndef inner(n):\n    return sum(i * i for i in range(n))\ndef outer(n):\n    return inner(n)\nthreading.Thread(target=outer).start()\n";
        let d = run(src, "cpu-bound-work-on-threads", false);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("line 3, in `inner`"), "{}", d[0].message);
        assert_eq!(d[0].notes.len(), 2);
    }

    #[test]
    fn pool_limit_comes_from_settings() {
        let src = "from concurrent.futures import ProcessPoolExecutor\ndef crunch(n):\n    return sum(i * i for i in range(n))\ndef run(xs):\n    with ProcessPoolExecutor(max_workers=16) as ex:\n        return list(ex.map(crunch, xs))\n";
        assert!(run(src, "oversized-or-per-call-pool", false).is_empty());
        let mut settings = Settings::only(&[registry::find("oversized-or-per-call-pool").unwrap()]);
        settings.python.max_workers = 8;
        let d = analyze(Path::new("t.py"), src, &settings);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("16 processes"), "{}", d[0].message);
    }

    #[test]
    fn disabled_rules_report_nothing() {
        let settings = Settings::only(&[]);
        assert!(analyze(Path::new("t.py"), CPU_THREADS, &settings).is_empty());
    }
}
