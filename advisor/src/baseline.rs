//! Baselines: adopt the tool on a codebase with findings, and fail only on new ones.
//!
//! `check --write-baseline FILE` records the run's findings; `check --baseline FILE` then hides every finding
//! the file records and reports the rest. A finding is recorded by its path relative to the directory of the
//! baseline file and its [`fingerprint`] — the rule, the enclosing item, the normalised text of the finding and
//! its rank among equal ones ([`Placement`](crate::diagnostic::Placement)) — never by its line number, so lines
//! inserted or removed elsewhere keep old findings hidden, and a new finding (even of the same rule in the same
//! function) is reported.
//!
//! Entries whose file is inside the run's paths and whose finding no longer occurs are counted ("3 baseline
//! entries no longer occur"); `--write-baseline` drops them and keeps the entries of files outside the run's
//! paths. The file is JSON, sorted by path and line so that it diffs well under version control:
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": "conc-advisor",
//!   "findings": [
//!     { "path": "src/handlers.rs", "code": "CA102", "item": "report", "line": 31,
//!       "fingerprint": "5f1c0d9e2b7a4c38", "message": "…" }
//!   ]
//! }
//! ```
//!
//! Only `path` and `fingerprint` take part in matching; `code`, `item`, `line` and `message` say what the
//! entry was, for people reading a diff.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;

use crate::config::absolute;
use crate::diagnostic::Diagnostic;

/// The version written in `version`; a file of another version is refused.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// [`BASELINE_VERSION`].
    pub version: u32,
    /// `conc-advisor`.
    pub tool: String,
    /// One entry a finding.
    pub findings: Vec<Entry>,
}

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Relative to the baseline file's directory, `/`-separated.
    pub path: String,
    /// The rule's code.
    pub code: String,
    /// The enclosing item (`tests::fetches`), empty at the top level of the file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub item: String,
    /// The line it was on when recorded (informative only).
    pub line: usize,
    /// [`fingerprint`].
    pub fingerprint: String,
    /// The finding's message when recorded (informative only).
    pub message: String,
}

/// The fingerprint of a finding: 16 hex digits hashing the finding's path relative to `root` (`/`-separated)
/// with its [`Placement::local_hash`](crate::diagnostic::Placement::local_hash). `None` for a finding the
/// engine did not place. SARIF output uses the working directory as `root`, so a baseline kept at the
/// project's root and SARIF written from there carry the same fingerprints.
pub fn fingerprint(d: &Diagnostic, root: &Path) -> Option<String> {
    let placement = d.placement.as_ref()?;
    let rel = relative_path(&d.path, root);
    let mut h = SipHasher13::new();
    h.write(&(rel.len() as u64).to_le_bytes());
    h.write(rel.as_bytes());
    h.write(&placement.local_hash.to_le_bytes());
    Some(format!("{:016x}", h.finish()))
}

/// `path` relative to `root` (both made absolute), `/`-separated; the absolute path when outside `root`.
pub fn relative_path(path: &Path, root: &Path) -> String {
    let abs = absolute(path);
    let root = absolute(root);
    let rel = abs.strip_prefix(&root).map_or(abs.as_path(), |r| r);
    crate::output::json::portable_path(rel)
}

/// A baseline read from a file, ready to filter a run.
#[derive(Debug)]
pub struct Baseline {
    /// The baseline file's directory (absolute): entries' paths are relative to it.
    root: PathBuf,
    entries: Vec<Entry>,
}

/// What applying a baseline did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Findings hidden because the baseline records them.
    pub hidden: usize,
    /// Entries of files inside the run's paths whose finding did not occur.
    pub gone: Vec<Entry>,
}

impl Applied {
    /// What a run says after applying the baseline `file`: how many findings it hid, and how many of its
    /// entries no longer occur.
    pub fn notes(&self, file: &Path) -> Vec<String> {
        let hidden = if self.hidden == 1 { "1 finding".to_string() } else { format!("{} findings", self.hidden) };
        let mut notes = vec![format!("{hidden} recorded in the baseline {} not shown", file.display())];
        if !self.gone.is_empty() {
            let verb = if self.gone.len() == 1 { "occurs" } else { "occur" };
            notes.push(format!(
                "{} no longer {verb}: `--write-baseline {}` drops them",
                entries(self.gone.len()),
                file.display()
            ));
        }
        notes
    }
}

/// What `--write-baseline` says: `wrote 12 baseline entries to FILE; dropped 3 baseline entries that no longer
/// occur`.
pub fn written_note(file: &Path, written: usize, dropped: usize) -> String {
    let mut msg = format!("wrote {} to {}", entries(written), file.display());
    if dropped > 0 {
        msg.push_str(&format!("; dropped {} that no longer occur", entries(dropped)));
    }
    msg
}

impl Baseline {
    /// An empty baseline whose entries would be relative to `file`'s directory.
    pub fn empty(file: &Path) -> Baseline {
        Baseline { root: root_of(file), entries: Vec::new() }
    }

    /// Reads a baseline file. Errors name the file and say what is wrong with it.
    pub fn read(file: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("{}: cannot read the baseline: {}", file.display(), crate::walk::io_message(&e)))?;
        Self::parse(file, &text)
    }

    /// Parses the text of the baseline file `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Baseline, String> {
        let doc: BaselineFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "{}: not a conc-advisor baseline ({e}); write one with `check --write-baseline FILE`",
                file.display()
            )
        })?;
        if doc.version != BASELINE_VERSION {
            return Err(format!(
                "{}: baseline version {} is not supported (this conc-advisor reads version {BASELINE_VERSION}); \
                 write it again with `check --write-baseline FILE`",
                file.display(),
                doc.version
            ));
        }
        Ok(Baseline { root: root_of(file), entries: doc.findings })
    }

    /// The entries, as read.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Removes from `diags` every finding the baseline records (each entry hides one finding) and counts the
    /// entries of files inside `roots` (the run's paths) that matched nothing.
    pub fn apply(&self, diags: &mut Vec<Diagnostic>, roots: &[PathBuf]) -> Applied {
        let mut left: HashMap<(String, String), usize> = HashMap::new();
        for e in &self.entries {
            *left.entry((e.path.clone(), e.fingerprint.clone())).or_default() += 1;
        }
        let before = diags.len();
        diags.retain(|d| {
            let Some(fp) = fingerprint(d, &self.root) else { return true };
            match left.get_mut(&(relative_path(&d.path, &self.root), fp)) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            }
        });
        let hidden = before - diags.len();
        let mut gone = Vec::new();
        for e in self.entries.iter().rev() {
            if let Some(n) = left.get_mut(&(e.path.clone(), e.fingerprint.clone()))
                && *n > 0
            {
                *n -= 1;
                if self.covers(e, roots) {
                    gone.push(e.clone());
                }
            }
        }
        gone.reverse();
        Applied { hidden, gone }
    }

    /// Whether the file of entry `e` lies inside one of the run's `roots`.
    fn covers(&self, e: &Entry, roots: &[PathBuf]) -> bool {
        let path = absolute(&self.root.join(&e.path));
        roots.iter().any(|r| path.starts_with(absolute(r)))
    }

    /// The baseline a run writes: an entry for every finding of `diags`, plus this baseline's entries of files
    /// outside the run's `roots` (kept: the run did not look at them). Returns the new file's content and how
    /// many of this baseline's entries inside the run no longer occur (dropped).
    pub fn rewrite(&self, diags: &[Diagnostic], roots: &[PathBuf]) -> (BaselineFile, usize) {
        let mut findings: Vec<Entry> = diags
            .iter()
            .filter_map(|d| {
                Some(Entry {
                    path: relative_path(&d.path, &self.root),
                    code: d.rule.code.to_string(),
                    item: d.placement.as_ref().map(|p| p.item.clone()).unwrap_or_default(),
                    line: d.span.start.line,
                    fingerprint: fingerprint(d, &self.root)?,
                    message: d.message.clone(),
                })
            })
            .collect();
        let new: HashSet<(&str, &str)> = findings.iter().map(|e| (e.path.as_str(), e.fingerprint.as_str())).collect();
        let mut kept = Vec::new();
        let mut dropped = 0;
        for e in &self.entries {
            if !self.covers(e, roots) {
                kept.push(e.clone());
            } else if !new.contains(&(e.path.as_str(), e.fingerprint.as_str())) {
                dropped += 1;
            }
        }
        findings.extend(kept);
        findings.sort_by(|a, b| {
            (&a.path, a.line, &a.code, &a.fingerprint).cmp(&(&b.path, b.line, &b.code, &b.fingerprint))
        });
        (BaselineFile { version: BASELINE_VERSION, tool: "conc-advisor".into(), findings }, dropped)
    }
}

/// The absolute directory of a baseline file.
fn root_of(file: &Path) -> PathBuf {
    absolute(file).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `1 baseline entry`, `3 baseline entries`.
pub fn entries(n: usize) -> String {
    if n == 1 { "1 baseline entry".to_string() } else { format!("{n} baseline entries") }
}

/// Writes a baseline file: pretty JSON and a newline.
pub fn write(file: &Path, doc: &BaselineFile) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(file, text)
        .map_err(|e| format!("{}: cannot write the baseline: {}", file.display(), crate::walk::io_message(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Location, Placement, Span};
    use crate::registry;

    fn diag(path: &str, line: usize, hash: u64) -> Diagnostic {
        let rule = registry::find("CA001").expect("CA001");
        let mut d = Diagnostic::new(rule, path, Span::new(Location::new(line, 1), Location::new(line, 2)), "m");
        d.placement = Some(Box::new(Placement { item: "f".into(), test_code: false, local_hash: hash }));
        d
    }

    #[test]
    fn entries_match_by_path_and_fingerprint_not_line() {
        let root = Path::new("/p/baseline.json");
        let base = Baseline::empty(root);
        let old = vec![diag("/p/src/a.rs", 3, 1), diag("/p/src/a.rs", 9, 2), diag("/p/src/b.rs", 1, 1)];
        let (doc, dropped) = base.rewrite(&old, &[PathBuf::from("/p")]);
        assert_eq!(dropped, 0);
        assert_eq!(doc.findings.len(), 3);
        assert_eq!(doc.findings[0].path, "src/a.rs");
        let text = serde_json::to_string(&doc).expect("json");
        let base = Baseline::parse(root, &text).expect("reads back");

        // Moved lines, one fixed (hash 2), one new (hash 3) in a.rs; b.rs unchanged.
        let mut now = vec![diag("/p/src/a.rs", 30, 1), diag("/p/src/a.rs", 40, 3), diag("/p/src/b.rs", 5, 1)];
        let applied = base.apply(&mut now, &[PathBuf::from("/p")]);
        assert_eq!(applied.hidden, 2);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].span.start.line, 40);
        assert_eq!(applied.gone.len(), 1);
        assert_eq!(applied.gone[0].line, 9);

        // A run over src/b.rs alone does not call a.rs's entries gone, and a rewrite keeps them.
        let mut only_b = vec![diag("/p/src/b.rs", 5, 1)];
        let applied = base.apply(&mut only_b, &[PathBuf::from("/p/src/b.rs")]);
        assert_eq!((applied.hidden, applied.gone.len()), (1, 0));
        let (doc, dropped) = base.rewrite(&[], &[PathBuf::from("/p/src/b.rs")]);
        assert_eq!(dropped, 1, "b.rs's entry no longer occurs");
        assert_eq!(doc.findings.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3, 9]);
    }

    #[test]
    fn the_same_finding_elsewhere_is_not_hidden() {
        let base = Baseline::empty(Path::new("/p/b.json"));
        let (doc, _) = base.rewrite(&[diag("/p/a.rs", 1, 7)], &[PathBuf::from("/p")]);
        let base = Baseline::parse(Path::new("/p/b.json"), &serde_json::to_string(&doc).expect("json")).expect("ok");
        let mut now = vec![diag("/p/c.rs", 1, 7)];
        assert_eq!(base.apply(&mut now, &[PathBuf::from("/p")]).hidden, 0);
        assert_eq!(now.len(), 1);
    }

    #[test]
    fn bad_files_are_refused_with_a_message() {
        let p = Path::new("b.json");
        let e = Baseline::parse(p, "{\"version\": 9, \"tool\": \"conc-advisor\", \"findings\": []}").unwrap_err();
        assert!(e.contains("b.json") && e.contains("version 9"), "{e}");
        let e = Baseline::parse(p, "[1, 2]").unwrap_err();
        assert!(e.contains("not a conc-advisor baseline"), "{e}");
        let e = Baseline::read(Path::new("/nonexistent/b.json")).unwrap_err();
        assert!(e.contains("cannot read the baseline"), "{e}");
    }

    #[test]
    fn fingerprints_depend_on_the_path_relative_to_the_root() {
        let d = diag("/p/src/a.rs", 1, 5);
        assert_eq!(fingerprint(&d, Path::new("/p")), fingerprint(&diag("/p/src/a.rs", 99, 5), Path::new("/p")));
        assert_ne!(fingerprint(&d, Path::new("/p")), fingerprint(&diag("/p/src/b.rs", 1, 5), Path::new("/p")));
        assert_eq!(fingerprint(&d, Path::new("/p")), fingerprint(&diag("/q/src/a.rs", 1, 5), Path::new("/q")));
        assert_eq!(fingerprint(&d, Path::new("/p")).map(|s| s.len()), Some(16));
        let mut unplaced = d.clone();
        unplaced.placement = None;
        assert_eq!(fingerprint(&unplaced, Path::new("/p")), None);
    }
}
