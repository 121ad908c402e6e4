//! Python analysis (issue 6): parse a file once (through [`parse`], the only module that sees ruff's crates),
//! build the module's semantic model ([`semantic`]: imports, function index, pools, call sites, work handed to
//! threads and processes), summarise each function's work ([`summary`]: CPU-heavy, I/O-bound or unknown), and run
//! the enabled `CA5xx` rules ([`rules`]) through one [`Checker`]. A file that does not parse gets one
//! `syntax-error` diagnostic and the run goes on.
//!
//! Scope: one module at a time. A target defined in another file of the project, or a call into another file,
//! is "unknown" and the rules stay silent on it.

pub mod ast;
pub mod parse;
pub mod rules;
pub mod semantic;
pub mod summary;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::registry::builtin::SYNTAX_ERROR;
use crate::settings::Settings;

use ast::{LineIndex, Range};
use semantic::{FuncId, Model};
use summary::Summarizer;

/// Analyses one Python file's text.
pub fn analyze(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let lines = LineIndex::new(source);
    let parsed = match parse::parse(source) {
        Ok(p) => p,
        Err(err) => {
            if !settings.is_enabled(&SYNTAX_ERROR) {
                return Vec::new();
            }
            return vec![
                Diagnostic::new(&SYNTAX_ERROR, path, lines.span(err.range), format!("cannot parse: {}", err.message))
                    .with_help("fix the syntax error; the rest of this file is not checked until it parses"),
            ];
        }
    };
    if !rules::RULES.iter().any(|r| settings.is_enabled(r)) {
        return Vec::new();
    }
    let module = parsed.module();
    let model = Model::build(&module);
    let summaries = Summarizer::new(&model, settings.python.heavy_range);
    let mut checker =
        Checker { path, lines: &lines, settings, model: &model, summaries: &summaries, diagnostics: Vec::new() };
    rules::run(&mut checker);
    checker.diagnostics
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
        ];
        for src in &inputs {
            let _ = all(src);
        }
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
