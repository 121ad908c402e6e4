//! A language is one module behind one trait: [`Language`] is everything the engine, the walk, suppressions,
//! test-code placement and the fixture harness need to know of a language, and [`LANGUAGES`] lists the ones a
//! run reads. Rust is `rust::Lang` (in `rust/mod.rs`), Python `python::Lang` (in `python/mod.rs`).
//!
//! Adding a language: a module next to `rust/` and `python/` with a unit struct implementing [`Language`],
//! and one line in [`LANGUAGES`]. Its rules' codes go into the code table through
//! [`rule_list!`](crate::rule_list) and one variant of [`registry::Rule`](crate::registry::Rule).
//!
//! The per-file phase returns the language's link facts type-erased ([`FileFacts`]); only the language that
//! made them reads them again, in [`Language::may_report`] and [`Language::link`].

use std::any::Any;
use std::ops::Range;
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::enclosing::Items;
use crate::registry::RuleMeta;
use crate::settings::Settings;

/// Every language a run reads, in the order they are tried for a file's extension and linked.
pub static LANGUAGES: &[&dyn Language] = &[&crate::rust::Lang, &crate::python::Lang];

/// A file's facts for its language's link step, made and read only by that language.
pub type FileFacts = Box<dyn Any + Send>;

/// What a language computed from the whole walk before the per-file phase (Rust: which crates need the call
/// graph); handed back to each of its files' analysis.
pub type RunState = Box<dyn Any + Send + Sync>;

/// What [`Language::prepare`] is given to test a file's bytes: `probe(path, test)`, `None` when the file cannot
/// be read.
pub type Probe<'a> = dyn Fn(&Path, &dyn Fn(&[u8]) -> bool) -> Option<bool> + Sync + 'a;

/// One language: how its files are recognised, analysed, linked, suppressed and marked in fixtures.
pub trait Language: Sync + Send + std::panic::RefUnwindSafe + 'static {
    /// Its name in lowercase (`rust`, `python`): unique among [`LANGUAGES`].
    fn name(&self) -> &'static str;

    /// The file extensions it reads, without the dot.
    fn extensions(&self) -> &'static [&'static str];

    /// Its rules (the tool's own `CA0xx` rules are not any language's).
    fn rules(&self) -> &'static [&'static RuleMeta];

    /// What starts an expectation marker in a fixture (`//~ rule-name`); [`Language::marker`] finds it.
    fn marker_opener(&self) -> &'static str;

    /// The text after the fixture marker of `line` (`//~ a, b` → ` a, b`), if it has one.
    fn marker<'l>(&self, line: &'l str) -> Option<&'l str> {
        let opener = self.marker_opener();
        line.find(opener).map(|i| &line[i + opener.len()..])
    }

    /// What starts a line comment (for comment-only lines after a suppression).
    fn line_comment_opener(&self) -> &'static str;

    /// The byte ranges of the comments a suppression can be written in, from the language's own lexer (a
    /// comment opener inside a string is not a comment).
    fn comments(&self, source: &str) -> Vec<Range<usize>>;

    /// Where a suppression directive may start in one comment (`comment` runs from its opener to the end of
    /// the line): suffixes of `comment`, trimmed at the start; none for a comment that cannot hold one (a Rust
    /// doc comment).
    fn directive_texts<'c>(&self, comment: &'c str) -> Vec<&'c str>;

    /// Whether the language also honours `# noqa` (ruff's and flake8's suppression comments).
    fn honours_noqa(&self) -> bool {
        false
    }

    /// The text of a file that is not UTF-8, when the language lets a file declare another encoding: `Ok(None)`
    /// when it declares none.
    fn decode(&self, _bytes: &[u8]) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// What the language needs to know of the whole run before the per-file phase. `probe(path, test)` applies
    /// the language's one test of a file's bytes to that file (`None` when it cannot be read); the cache may
    /// answer for an unchanged file without reading it, so a language has one such test. Called once per run,
    /// with the paths of the language's files.
    fn prepare(&self, _paths: &[&Path], _probe: &Probe<'_>) -> RunState {
        Box::new(())
    }

    /// Analyses one file alone, as a project of its own (the link step over its own facts included): the
    /// findings before settings and suppressions.
    fn analyze(&self, path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic>;

    /// The per-file phase of a run: the findings before suppressions, and the facts for [`Language::link`]
    /// (`None` when the file gives none). `state` is what [`Language::prepare`] returned.
    fn analyze_file(
        &self,
        path: &Path,
        source: &str,
        settings: &Settings,
        state: &RunState,
    ) -> (Vec<Diagnostic>, Option<FileFacts>);

    /// Whether the link step may report in the file these facts are of (else its text need not be kept).
    fn may_report(&self, facts: &FileFacts) -> bool;

    /// For the cache ([`crate::cache`]): what the per-file phase reads besides the file's path, text and
    /// settings (from `state`, or the file system), as a string hashed into the file's key.
    fn cache_context(&self, _path: &Path, _state: &RunState) -> String {
        String::new()
    }

    /// For the cache: the facts as bytes (`None`: they cannot be stored, so the file is not cached).
    fn encode_facts(&self, _facts: &FileFacts) -> Option<Vec<u8>> {
        None
    }

    /// For the cache: facts [`Language::encode_facts`] wrote (`None`: not readable, the file is analysed).
    fn decode_facts(&self, _bytes: &[u8]) -> Option<FileFacts> {
        None
    }

    /// The link step over the facts of all the run's files of this language (in walk order): findings across
    /// files, with default severity.
    fn link(&self, facts: Vec<FileFacts>) -> Vec<Diagnostic>;

    /// The items of a file (functions, types, modules…) for placing findings; none when it does not parse.
    fn items(&self, source: &str) -> Items;

    /// Whether a file is test code by its path alone: `dirs` are the directories of its path relative to the
    /// working directory, `name` its file name.
    fn path_is_test_code(&self, dirs: &[&str], name: &str) -> bool;
}

/// A language, as a small copyable handle (what a [`SourceFile`](crate::walk::SourceFile) is analysed as).
/// Two handles are equal when they name the same language.
#[derive(Clone, Copy)]
pub struct SourceKind(&'static dyn Language);

impl SourceKind {
    /// The language reading `path` by its extension, or `None` for a file no language reads.
    pub fn of(path: &Path) -> Option<SourceKind> {
        let ext = path.extension()?.to_str()?;
        LANGUAGES.iter().find(|l| l.extensions().contains(&ext)).map(|&l| SourceKind(l))
    }

    /// The registered language called `name`.
    pub fn named(name: &str) -> Option<SourceKind> {
        LANGUAGES.iter().find(|l| l.name() == name).map(|&l| SourceKind(l))
    }

    /// Every registered language.
    pub fn all() -> impl Iterator<Item = SourceKind> {
        LANGUAGES.iter().map(|&l| SourceKind(l))
    }

    /// The language itself.
    pub fn language(self) -> &'static dyn Language {
        self.0
    }

    /// The language's name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The language's position in [`LANGUAGES`].
    pub fn index(self) -> usize {
        LANGUAGES.iter().position(|l| l.name() == self.name()).expect("a handle is of a registered language")
    }
}

impl std::ops::Deref for SourceKind {
    type Target = dyn Language;
    fn deref(&self) -> &(dyn Language + 'static) {
        self.0
    }
}

impl std::fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for SourceKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}
impl Eq for SourceKind {}

impl std::hash::Hash for SourceKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialOrd for SourceKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SourceKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

/// Every extension of every registered language, as `.rs, .py or .pyi` (for messages).
pub fn extension_list() -> String {
    let all: Vec<String> = LANGUAGES.iter().flat_map(|l| l.extensions()).map(|e| format!(".{e}")).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions_are_unique() {
        let mut names: Vec<_> = LANGUAGES.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LANGUAGES.len());
        let mut exts: Vec<_> = LANGUAGES.iter().flat_map(|l| l.extensions()).collect();
        let n = exts.len();
        exts.sort_unstable();
        exts.dedup();
        assert_eq!(exts.len(), n);
        assert_eq!(extension_list(), ".rs, .py or .pyi");
    }

    /// Every registered language round-trips: each of its extensions leads back to it, its fixture marker is
    /// found after its comment opener, a suppression in its comment syntax is honoured, and a tiny file that
    /// breaks one of its rules is analysed to that rule's finding (in every language, an unterminated
    /// bracket is a syntax error: the tool's own rule, which every language reports).
    #[test]
    fn every_registered_language_round_trips() {
        for kind in SourceKind::all() {
            let lang = kind.language();
            assert!(!lang.extensions().is_empty(), "{}", lang.name());
            for ext in lang.extensions() {
                let path = format!("tiny.{ext}");
                assert_eq!(SourceKind::of(Path::new(&path)), Some(kind), "{path}");
            }
            assert_eq!(SourceKind::named(lang.name()), Some(kind));
            assert!(!lang.rules().is_empty(), "{}", lang.name());
            let path = format!("tiny.{}", lang.extensions()[0]);
            let path = Path::new(&path);
            let line = format!("f(  {} syntax-error", lang.marker_opener());
            assert_eq!(lang.marker(&line).map(str::trim), Some("syntax-error"), "{}", lang.name());
            let found = crate::engine::analyze_source(path, kind, &line, &Settings::default());
            assert_eq!(found.iter().map(|d| d.rule.code).collect::<Vec<_>>(), ["CA001"], "{}", lang.name());
            let allowed = format!("{}\n{} conc-advisor: allow(syntax-error)\n", line, lang.line_comment_opener());
            let allowed = format!("{} conc-advisor: allow-file(syntax-error)\n{allowed}", lang.line_comment_opener());
            let found = crate::engine::analyze_source(path, kind, &allowed, &Settings::default());
            assert!(found.is_empty(), "{}: {found:?}", lang.name());
            let comments = lang.comments(&allowed);
            assert!(comments.len() >= 2, "{}: {comments:?}", lang.name());
        }
    }
}
