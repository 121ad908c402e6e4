//! Which files a run reads: a gitignore-aware walk (the `ignore` crate) that skips hidden entries and
//! `target/`, prunes excluded directories, follows symlinks but no symlink loop, and reports what it cannot
//! read instead of stopping.

use std::path::{Path, PathBuf};

pub use crate::language::SourceKind;

/// A file to analyse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// The path as the walk produced it (relative when the user named a relative root).
    pub path: PathBuf,
    /// How to analyse it.
    pub kind: SourceKind,
}

/// What the walk found: the files, and the problems it met on the way (each a complete sentence).
#[derive(Debug, Default)]
pub struct Walk {
    /// Files to analyse, sorted by path.
    pub files: Vec<SourceFile>,
    /// Paths that do not exist, directories that cannot be read: each makes the exit code 2.
    pub errors: Vec<String>,
    /// Symlink loops (not followed): reported, but they do not change the exit code.
    pub warnings: Vec<String>,
}

/// Walks `roots` (files or directories) with `threads` threads (0: chosen by the `ignore` crate) and returns
/// the source files below them.
///
/// A root that is a file is taken whatever its ignore status (as ripgrep does with explicit paths), as long as
/// it has a known extension. `exclude` is applied to every file and directory found below a root (not to the
/// roots themselves); an excluded directory is not descended into. A leading `./` is dropped from the paths.
pub fn walk(roots: &[PathBuf], exclude: &(dyn Fn(&Path) -> bool + Sync), threads: usize) -> Walk {
    let mut out = Walk::default();
    let mut dirs = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(m) if m.is_file() => match SourceKind::of(root) {
                Some(kind) => out.files.push(SourceFile { path: tidy(root), kind }),
                None => out.errors.push(format!(
                    "{}: not a Rust or Python source file (expected `.rs`, `.py` or `.pyi`)",
                    root.display()
                )),
            },
            Ok(m) if m.is_dir() => dirs.push(root.clone()),
            // A FIFO, a device or a socket: reading it could block or never end.
            Ok(m) => out.errors.push(format!(
                "{}: not a regular file or directory ({}); not checked",
                root.display(),
                file_type(&m)
            )),
            Err(e) if is_link_cycle(&e) => {
                out.errors.push(format!("{}: symbolic link cycle (the links point at each other)", root.display()))
            }
            Err(_) if is_broken_link(root) => {
                out.errors.push(format!("{}: broken symbolic link (its target does not exist)", root.display()))
            }
            Err(e) => out.errors.push(format!("{}: {}", root.display(), io_message(&e))),
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = ignore::WalkBuilder::new(first);
        for d in rest {
            builder.add(d);
        }
        builder
            .hidden(true)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .follow_links(true)
            .threads(threads)
            .filter_entry(|e| !(e.file_type().is_some_and(|t| t.is_dir()) && e.file_name() == "target"));
        let files = std::sync::Mutex::new(Vec::new());
        let errors = std::sync::Mutex::new(Vec::new());
        let warnings = std::sync::Mutex::new(Vec::new());
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(e) => {
                        let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                        if is_dir {
                            if e.depth() > 0 && exclude(e.path()) {
                                return ignore::WalkState::Skip;
                            }
                        } else if e.file_type().is_some_and(|t| t.is_file())
                            && let Some(kind) = SourceKind::of(e.path())
                            && !exclude(e.path())
                        {
                            lock(&files).push(SourceFile { path: tidy(e.path()), kind });
                        }
                    }
                    Err(err) if is_loop(&err) => lock(&warnings).push(walk_error_message(&err)),
                    // A broken symlink to something no analysis reads does not matter.
                    Err(err) if error_path(&err).is_some_and(|p| is_broken_link(p) && SourceKind::of(p).is_none()) => {}
                    Err(err) => lock(&errors).push(walk_error_message(&err)),
                }
                ignore::WalkState::Continue
            })
        });
        out.files.extend(files.into_inner().unwrap_or_else(|p| p.into_inner()));
        out.errors.extend(errors.into_inner().unwrap_or_else(|p| p.into_inner()));
        out.warnings.extend(warnings.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    out.files.sort();
    out.files.dedup();
    out.errors.sort();
    out.warnings.sort();
    out
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The path without a leading `./`.
fn tidy(path: &Path) -> PathBuf {
    let mut comps = path.components();
    if comps.next() == Some(std::path::Component::CurDir) && comps.clone().next().is_some() {
        comps.as_path().to_path_buf()
    } else {
        path.to_path_buf()
    }
}

/// The path an error of the walk is about, if it names one.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// A symlink whose target does not exist.
fn is_broken_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) && std::fs::metadata(path).is_err()
}

/// Whether resolving a path failed because its symbolic links form a cycle (`ELOOP`).
fn is_link_cycle(e: &std::io::Error) -> bool {
    // `ErrorKind::FilesystemLoop` is not stable; ELOOP is 40 on Linux, 62 on macOS and the BSDs.
    let eloop = if cfg!(target_os = "linux") { 40 } else { 62 };
    cfg!(unix) && e.raw_os_error() == Some(eloop)
}

fn is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

/// A sentence for an I/O error, without Rust's `(os error N)` suffix.
/// What kind of file `meta` describes, for messages.
pub fn file_type(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() { "a directory" } else { "not a regular file" }
}

pub fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, .. } if std::fs::metadata(path).is_err_and(|e| is_link_cycle(&e)) => {
            format!("{}: symbolic link cycle (the links point at each other)", tidy(path).display())
        }
        ignore::Error::WithPath { path, .. } if is_broken_link(path) => {
            format!("{}: broken symbolic link (its target does not exist)", tidy(path).display())
        }
        ignore::Error::WithPath { path, err } => format!("{}: {}", tidy(path).display(), walk_error_message(err)),
        ignore::Error::WithDepth { err, .. } => walk_error_message(err),
        ignore::Error::WithLineNumber { line, err } => format!("line {line}: {}", walk_error_message(err)),
        ignore::Error::Loop { ancestor, child } => {
            format!(
                "{}: symlink loop (points back to {}); not followed",
                tidy(child).display(),
                tidy(ancestor).display()
            )
        }
        ignore::Error::Io(e) => io_message(e),
        other => other.to_string(),
    }
}
