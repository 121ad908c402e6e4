//! Python as the engine, suppressions and fixtures see it: [`Lang`], its [`Language`] implementation.

use std::ops::Range;
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::enclosing::Items;
use crate::language::{FileFacts, Language, RunState};
use crate::registry::RuleMeta;
use crate::settings::Settings;

/// The Python language (`*.py`, `*.pyi`), registered in [`LANGUAGES`](crate::language::LANGUAGES).
#[derive(Debug, Clone, Copy)]
pub struct Lang;

impl Language for Lang {
    fn name(&self) -> &'static str {
        "python"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["py", "pyi"]
    }

    fn rules(&self) -> &'static [&'static RuleMeta] {
        super::rules::RULES
    }

    fn marker_opener(&self) -> &'static str {
        "# ~"
    }

    /// `# ~ rule` or `#~ rule`.
    fn marker<'l>(&self, line: &'l str) -> Option<&'l str> {
        line.find("#~").map(|i| &line[i + 2..]).or_else(|| line.find("# ~").map(|i| &line[i + 3..]))
    }

    fn line_comment_opener(&self) -> &'static str {
        "#"
    }

    fn comments(&self, source: &str) -> Vec<Range<usize>> {
        super::lex::comments(source).collect()
    }

    /// Every `#` of the comment can open a directive (`# type: ignore  # noqa: CA501`).
    fn directive_texts<'c>(&self, comment: &'c str) -> Vec<&'c str> {
        comment.match_indices('#').map(|(i, _)| comment[i + 1..].trim_start()).collect()
    }

    fn honours_noqa(&self) -> bool {
        true
    }

    /// PEP 263.
    fn decode(&self, bytes: &[u8]) -> Result<Option<String>, String> {
        super::encoding::decode(bytes)
    }

    fn analyze(&self, path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
        super::analyze(path, source, settings)
    }

    fn analyze_file(
        &self,
        path: &Path,
        source: &str,
        settings: &Settings,
        _state: &RunState,
    ) -> (Vec<Diagnostic>, Option<FileFacts>) {
        let module = super::project::ModuleName::discover(path);
        let (d, f) = super::analyze_with_facts(path, source, settings, Some(module));
        (d, f.map(|f| Box::new(f) as FileFacts))
    }

    fn may_report(&self, facts: &FileFacts) -> bool {
        facts.downcast_ref::<super::FileFacts>().is_some_and(super::FileFacts::may_report)
    }

    fn cache_context(&self, path: &Path, _state: &RunState) -> String {
        // The module name, found from the `__init__.py` files around it.
        format!("{:?}", super::project::ModuleName::discover(path))
    }

    fn encode_facts(&self, facts: &FileFacts) -> Option<Vec<u8>> {
        serde_json::to_vec(facts.downcast_ref::<super::FileFacts>()?).ok()
    }

    fn decode_facts(&self, bytes: &[u8]) -> Option<FileFacts> {
        serde_json::from_slice::<super::FileFacts>(bytes).ok().map(|f| Box::new(f) as FileFacts)
    }

    /// The project phase, once over all Python files, in path order so its findings are deterministic.
    fn link(&self, facts: Vec<FileFacts>) -> Vec<Diagnostic> {
        let mut facts: Vec<super::FileFacts> =
            facts.into_iter().filter_map(|f| f.downcast::<super::FileFacts>().ok().map(|f| *f)).collect();
        facts.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        super::link(&facts)
    }

    fn items(&self, source: &str) -> Items {
        crate::enclosing::python_items(source)
    }

    fn path_is_test_code(&self, dirs: &[&str], name: &str) -> bool {
        let stem = name.strip_suffix(".pyi").or_else(|| name.strip_suffix(".py")).unwrap_or(name);
        dirs.iter().any(|d| matches!(*d, "tests" | "test"))
            || stem.starts_with("test_")
            || stem.ends_with("_test")
            || stem == "conftest"
    }
}
