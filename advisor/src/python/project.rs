//! The project's module index and import resolution, for the link phase of the Python analysis
//! ([`super::linker`]).
//!
//! Module names come from the path: the nearest directory upward without `__init__.py` is the import root
//! ([`ModuleName::discover`]); a dotted name that matches no module exactly may still match a file by the end
//! of its path (namespace packages, `src/` layouts). [`ProjectIndex::resolve`] follows an absolute dotted name
//! (`pkg.work.crunch`) to the module that defines it, through re-exports (`from .work import crunch` in
//! `pkg/__init__.py`); what counts as "defined" is the caller's question. A name that resolves to nothing — a
//! third-party library, a class, a method — is unknown, and unknown stays silent. Nothing here knows a rule.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// A module's dotted name, found from its path.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleName {
    /// `pkg.work` for `root/pkg/work.py`, `pkg` for `root/pkg/__init__.py`.
    pub name: String,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    /// The import root: the nearest directory upward that is not a package.
    pub root: PathBuf,
}

impl ModuleName {
    /// The module name of `path`, asking the file system which directories are packages (hold an
    /// `__init__.py`).
    pub fn discover(path: &Path) -> Self {
        thread_local! {
            /// Directories already asked about, per worker thread (the files of a directory are usually
            /// analysed one after another).
            static PACKAGES: RefCell<HashMap<std::ffi::OsString, bool>> = RefCell::new(HashMap::default());
        }
        Self::for_path(path, &|d| {
            PACKAGES.with(|c| {
                if let Some(&p) = c.borrow().get(d.as_os_str()) {
                    return p;
                }
                let p = d.join("__init__.py").is_file();
                let mut c = c.borrow_mut();
                if c.len() > 4096 {
                    c.clear();
                }
                c.insert(d.as_os_str().to_owned(), p);
                p
            })
        })
    }

    /// The module name of `path`, with `is_package_dir` telling which directories are packages.
    pub fn for_path(path: &Path, is_package_dir: &dyn Fn(&Path) -> bool) -> Self {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let is_package = stem == "__init__";
        let mut parts: Vec<String> = if is_package { Vec::new() } else { vec![stem.to_string()] };
        let mut dir = path.parent().unwrap_or(Path::new(""));
        while let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
            if !is_package_dir(dir) || parts.len() > 64 {
                break;
            }
            parts.push(name.to_string());
            dir = dir.parent().unwrap_or(Path::new(""));
        }
        parts.reverse();
        ModuleName { name: parts.join("."), is_package, root: dir.to_path_buf() }
    }

    /// The absolute name of a relative import's target: `level` leading dots, then `rest` (`work.crunch`).
    /// `None` when the dots climb above the top-level package.
    pub fn resolve_relative(&self, level: u32, rest: &str) -> Option<String> {
        let mut package: Vec<&str> = if self.name.is_empty() { Vec::new() } else { self.name.split('.').collect() };
        if !self.is_package {
            package.pop()?;
        }
        for _ in 1..level {
            package.pop()?;
        }
        // `from . import x` in a module outside any package (a namespace package, whose directories have no
        // `__init__.py`) names a sibling; more dots climb above the import root.
        if package.is_empty() && level > 1 {
            return None;
        }
        package.extend(rest.split('.').filter(|s| !s.is_empty()));
        (!package.is_empty()).then(|| package.join("."))
    }
}

/// Re-exports are followed this deep (`pkg.crunch` → `pkg.work.crunch`).
const MAX_REEXPORT: u32 = 8;

/// One file as the index sees it: its path, its module name, and its imports (local name → absolute name).
pub type IndexedFile<'f> = (&'f Path, &'f ModuleName, &'f [(String, String)]);

/// The modules of a project by name, and their imports.
pub struct ProjectIndex<'f> {
    files: Vec<IndexedFile<'f>>,
    modules: HashMap<&'f str, Vec<usize>>,
    /// Files by the last component of their module name (the stem, or the package directory), for the
    /// fallback lookup by path.
    by_last: HashMap<&'f str, Vec<usize>>,
    imports: Vec<HashMap<&'f str, &'f str>>,
    by_suffix: RefCell<HashMap<String, Option<usize>>>,
}

impl<'f> ProjectIndex<'f> {
    /// Indexes `files`; file indices are positions in this sequence.
    pub fn new(files: impl IntoIterator<Item = IndexedFile<'f>>) -> Self {
        let files: Vec<IndexedFile<'f>> = files.into_iter().collect();
        let mut modules: HashMap<&str, Vec<usize>> = HashMap::default();
        let mut by_last: HashMap<&str, Vec<usize>> = HashMap::default();
        for (i, (_, m, _)) in files.iter().enumerate() {
            modules.entry(m.name.as_str()).or_default().push(i);
            let last = m.name.rsplit('.').next().unwrap_or_default();
            by_last.entry(last).or_default().push(i);
        }
        let imports =
            files.iter().map(|(_, _, imps)| imps.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).collect();
        ProjectIndex { files, modules, by_last, imports, by_suffix: RefCell::new(HashMap::default()) }
    }

    /// The file of module `name`, seen from file `from`: an exact name (preferring the importer's import root
    /// when several files claim it), else the one file whose path ends with the name's components.
    pub fn module(&self, name: &str, from: usize) -> Option<usize> {
        if let Some(c) = self.modules.get(name) {
            if c.len() == 1 {
                return Some(c[0]);
            }
            let root = &self.files[from].1.root;
            let same: Vec<usize> = c.iter().copied().filter(|&i| &self.files[i].1.root == root).collect();
            return (same.len() == 1).then(|| same[0]);
        }
        if let Some(r) = self.by_suffix.borrow().get(name) {
            return *r;
        }
        let want: Vec<&str> = name.split('.').collect();
        let mut found = None;
        let mut n = 0;
        let last = want.last().copied().unwrap_or_default();
        for &i in self.by_last.get(last).map(Vec::as_slice).unwrap_or_default() {
            let mut comps: Vec<&str> = self.files[i].0.components().filter_map(|c| c.as_os_str().to_str()).collect();
            let Some(file) = comps.pop() else { continue };
            let stem = file.strip_suffix(".py").unwrap_or(file);
            if stem != "__init__" {
                comps.push(stem);
            }
            if comps.ends_with(&want) {
                found = Some(i);
                n += 1;
            }
        }
        let r = if n == 1 { found } else { None };
        self.by_suffix.borrow_mut().insert(name.to_string(), r);
        r
    }

    /// Follows the absolute dotted name `qual`, seen from file `from`, to the module holding it: `at(file,
    /// name)` says whether that module defines `name` (`Break(Some(..))`), defines it as something the caller
    /// does not want (`Break(None)`), or not at all (`Continue`: the module's import of `name` is followed).
    pub fn resolve<T>(
        &self,
        qual: &str,
        from: usize,
        mut at: impl FnMut(usize, &str) -> ControlFlow<Option<T>>,
    ) -> Option<T> {
        let mut qual = qual;
        let mut from = from;
        for _ in 0..MAX_REEXPORT {
            let (module, name) = qual.rsplit_once('.')?;
            let m = self.module(module, from)?;
            if let ControlFlow::Break(found) = at(m, name) {
                return found;
            }
            qual = self.imports[m].get(name)?;
            from = m;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str, packages: &[&str]) -> ModuleName {
        ModuleName::for_path(Path::new(path), &|d| packages.iter().any(|p| Path::new(p) == d))
    }

    #[test]
    fn module_names_come_from_package_directories() {
        let m = name("proj/src/pkg/sub/work.py", &["proj/src/pkg", "proj/src/pkg/sub"]);
        assert_eq!((m.name.as_str(), m.is_package, m.root.as_path()), ("pkg.sub.work", false, Path::new("proj/src")));
        let init = name("proj/src/pkg/__init__.py", &["proj/src/pkg"]);
        assert_eq!((init.name.as_str(), init.is_package), ("pkg", true));
        let script = name("tools/run.py", &[]);
        assert_eq!((script.name.as_str(), script.root.as_path()), ("run", Path::new("tools")));
        assert_eq!(name("run.py", &[]).name, "run");
        assert_eq!(name("/abs/run.py", &["/abs", "/"]).name, "abs.run");
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let m = name("r/pkg/sub/work.py", &["r/pkg", "r/pkg/sub"]);
        assert_eq!(m.resolve_relative(1, "util.f").as_deref(), Some("pkg.sub.util.f"));
        assert_eq!(m.resolve_relative(2, "core.g").as_deref(), Some("pkg.core.g"));
        assert_eq!(m.resolve_relative(3, "x"), None, "above the root");
        let init = name("r/pkg/__init__.py", &["r/pkg"]);
        assert_eq!(init.resolve_relative(1, "work.crunch").as_deref(), Some("pkg.work.crunch"));
        let script = name("r/main.py", &[]);
        assert_eq!(script.resolve_relative(1, "helpers.f").as_deref(), Some("helpers.f"));
    }
}
