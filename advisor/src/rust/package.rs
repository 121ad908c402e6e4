//! The library crate of a package, as seen from the package's other crates: an integration test
//! (`tests/*.rs`), an example or a bench is a crate of its own that names the package's library by its crate
//! name (`use actix_rt::Arbiter;`). [`lib_of`] finds that library from the `Cargo.toml` nearest above such a
//! file, so that the crate phase can link the test crate against the library's facts (issue 12:
//! `arbiter.join()` in a test, `Arbiter::join` a std thread join defined in the library).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::callgraph::crate_root;

/// A package's library crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibCrate {
    /// The name other crates use for it: `[lib] name`, else the package's name with `-` made `_`.
    pub name: String,
    /// `name` followed by `::`, the prefix of the paths that name its items.
    pub prefix: String,
    /// Its [`crate_root`]: the crate the library's files are grouped under.
    pub root: PathBuf,
}

/// How many directories above a file its package's manifest may be (`tests/common/mod.rs`, `examples/x/main.rs`).
const MAX_UP: usize = 3;

/// The library crate of the package a file belongs to, when the file is not in that library's own crate
/// (a file under `tests/`, `examples/`, `benches/`, or any other directory of the package outside `src/`) and
/// the package has a library whose file exists. Manifests are read once per directory per run.
pub fn lib_of(path: &Path) -> Option<Arc<LibCrate>> {
    let dir = path.parent()?.to_path_buf();
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Option<Arc<LibCrate>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().ok()?.get(&dir) {
        return found.clone();
    }
    let found = find(&dir, &crate_root(path)).map(Arc::new);
    cache.lock().ok()?.insert(dir, found.clone());
    found
}

fn find(dir: &Path, own_root: &Path) -> Option<LibCrate> {
    let mut d = Some(dir);
    for _ in 0..=MAX_UP {
        let here = d?;
        let manifest = here.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            // Files under the package's `src` tree are in the crate rooted above it (the library itself, or its
            // binaries); a `src` above the package (`~/src/app/tests/t.rs`) does not count.
            if dir.strip_prefix(here).ok()?.iter().next().is_some_and(|c| c == "src") {
                return None;
            }
            return read_manifest(here, &text, own_root);
        }
        d = here.parent();
    }
    None
}

/// The library a manifest (`text`, in directory `dir`) declares, unless it is the crate rooted at `own_root`.
fn read_manifest(dir: &Path, text: &str, own_root: &Path) -> Option<LibCrate> {
    let value: toml::Table = text.parse().ok()?;
    let package = value.get("package")?.as_table()?;
    let lib = value.get("lib").and_then(toml::Value::as_table);
    let name = match lib.and_then(|l| l.get("name")).and_then(toml::Value::as_str) {
        Some(n) => n.to_string(),
        None => package.get("name")?.as_str()?.replace('-', "_"),
    };
    let file = dir.join(lib.and_then(|l| l.get("path")).and_then(toml::Value::as_str).unwrap_or("src/lib.rs"));
    if !file.is_file() {
        return None;
    }
    let root = crate_root(&file);
    (root != own_root).then(|| LibCrate { prefix: format!("{name}::"), name, root })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_finds_its_packages_library_by_its_crate_name() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let pkg = t.path().join("my-pkg");
        std::fs::create_dir_all(pkg.join("src")).expect("mkdir");
        std::fs::create_dir_all(pkg.join("tests/common")).expect("mkdir");
        std::fs::write(pkg.join("Cargo.toml"), "[package]\nname = \"my-pkg\"\nversion = \"0.1.0\"\n").expect("write");
        // No library file yet: nothing to link against.
        assert_eq!(find(&pkg.join("tests"), &pkg.join("tests")), None);
        std::fs::write(pkg.join("src/lib.rs"), "pub fn f() {}\n").expect("write");
        let lib = find(&pkg.join("tests/common"), &pkg.join("tests/common")).expect("a library");
        assert_eq!((lib.name.as_str(), lib.prefix.as_str()), ("my_pkg", "my_pkg::"));
        assert_eq!(lib.root, pkg);
        // `[lib] name` wins over the package's name.
        let renamed = "[package]\nname = \"my-pkg\"\n[lib]\nname = \"mine\"\npath = \"src/lib.rs\"\n";
        assert_eq!(read_manifest(&pkg, renamed, &pkg.join("tests")).map(|l| l.name), Some("mine".into()));
        // A workspace manifest without a package, and the library's own crate, have none.
        assert_eq!(read_manifest(&pkg, "[workspace]\nmembers = []\n", &pkg.join("tests")), None);
        assert_eq!(read_manifest(&pkg, renamed, &pkg), None);
        // Files under `src` are never linked this way.
        assert_eq!(lib_of(&pkg.join("src/main.rs")), None);
        assert_eq!(lib_of(&pkg.join("src/bin/tool.rs")), None);
    }

    #[test]
    fn a_src_directory_above_the_package_is_not_its_src_tree() {
        // A checkout under `~/src/…`, as many keep them.
        let t = tempfile::TempDir::new().expect("tempdir");
        let pkg = t.path().join("src/github.com/me/app");
        std::fs::create_dir_all(pkg.join("src")).expect("mkdir");
        std::fs::create_dir_all(pkg.join("tests")).expect("mkdir");
        std::fs::write(pkg.join("Cargo.toml"), "[package]\nname = \"app\"\nversion = \"0.1.0\"\n").expect("write");
        std::fs::write(pkg.join("src/lib.rs"), "pub fn f() {}\n").expect("write");
        let test = pkg.join("tests/it.rs");
        assert_eq!(crate_root(&test), pkg.join("tests"), "not the directory above `src/github.com`");
        assert_eq!(crate_root(&pkg.join("src/lib.rs")), pkg);
        assert_eq!(crate_root(&pkg.join("src/net/tcp.rs")), pkg);
        let lib = lib_of(&test).expect("the tests are linked against the library");
        assert_eq!((lib.name.as_str(), lib.root.as_path()), ("app", pkg.as_path()));
        assert_eq!(lib_of(&pkg.join("src/net/tcp.rs")), None);
    }
}
