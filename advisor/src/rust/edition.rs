//! Text the crate's compiler accepts but `syn` (a parser of current Rust) does not: a cargo-script front
//! matter block, and, in edition-2015 crates, bare trait objects (`type A = Fn(&T) + Send;`). Only consulted
//! when a file does not parse, so that `syntax-error` (CA001) is reported only for what the file's crate
//! would reject (issue 12).

use std::path::Path;

/// How many bare trait objects are repaired in one file before giving up.
const MAX_REPAIRS: usize = 64;

/// The file parsed after removing what its crate accepts and `syn` does not, or `None` when that does not
/// help (the original error stands).
pub(crate) fn reparse(path: &Path, source: &str) -> Option<syn::File> {
    let mut text = strip_front_matter(source);
    if let Some(t) = &text
        && let Ok(f) = syn::parse_file(t)
    {
        return Some(f);
    }
    if crate_edition(path).as_deref() != Some("2015") {
        return None;
    }
    let mut t = text.take().unwrap_or_else(|| source.to_string());
    for _ in 0..MAX_REPAIRS {
        match syn::parse_file(&t) {
            Ok(f) => return Some(f),
            Err(e) => t = add_dyn(&t, e.span().start().line)?,
        }
    }
    None
}

/// `source` with a cargo-script front matter block (after an optional `#!` line: a line of three or more
/// dashes with an optional info string, up to the next line of dashes) blanked, lines kept so that positions
/// stay; `None` when there is none.
pub(crate) fn strip_front_matter(source: &str) -> Option<String> {
    let mut lines = source.split_inclusive('\n').peekable();
    let mut out = String::with_capacity(source.len());
    if lines.peek().is_some_and(|l| l.starts_with("#!") && !l.starts_with("#![")) {
        out.push_str(lines.next()?);
    }
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        out.push_str(lines.next()?);
    }
    let open = lines.next()?;
    let dashes = open.len() - open.trim_start_matches('-').len();
    if dashes < 3 {
        return None;
    }
    let blank = |l: &str| if l.ends_with('\n') { "\n" } else { "" };
    out.push_str(blank(open));
    let mut closed = false;
    for l in lines.by_ref() {
        out.push_str(blank(l));
        if l.trim_end().len() >= 3 && l.trim_end().chars().all(|c| c == '-') {
            closed = true;
            break;
        }
    }
    if !closed {
        return None;
    }
    lines.for_each(|l| out.push_str(l));
    Some(out)
}

/// The `edition` of the package whose `Cargo.toml` is nearest above `path` (`"2015"` when the manifest
/// names none); `None` when there is no readable manifest.
pub(crate) fn crate_edition(path: &Path) -> Option<String> {
    let mut dir = path.parent();
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let value: toml::Table = text.parse().ok()?;
            let package = value.get("package")?.as_table()?;
            return Some(match package.get("edition") {
                Some(toml::Value::String(s)) => s.clone(),
                // `edition.workspace = true`: inherited; not looked up (inheritance came long after crates
                // stopped being written for 2015).
                Some(_) => "workspace".to_string(),
                None => "2015".to_string(),
            });
        }
        dir = d.parent();
    }
    None
}

/// `text` with `dyn ` before the first bare `Fn(`/`FnMut(`/`FnOnce(` trait object on line `line` (1-based),
/// or `None` when there is none there.
fn add_dyn(text: &str, line: usize) -> Option<String> {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let l = text[start..].split_inclusive('\n').next()?;
    let bytes = l.as_bytes();
    for name in ["FnOnce(", "FnMut(", "Fn("] {
        let mut from = 0;
        while let Some(i) = l[from..].find(name).map(|i| i + from) {
            from = i + name.len();
            let before = l[..i].trim_end();
            let word_boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
            let dyn_or_impl = before.ends_with("dyn") || before.ends_with("impl") || before.ends_with("::");
            if word_boundary && !dyn_or_impl {
                let mut out = String::with_capacity(text.len() + 4);
                out.push_str(&text[..start + i]);
                out.push_str("dyn ");
                out.push_str(&text[start + i..]);
                return Some(out);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_blanked_keeping_lines() {
        let src = "#!/usr/bin/env cargo\n---cargo\n[dependencies]\nclap = \"4\"\n---\nfn main() {}\n";
        let out = strip_front_matter(src).unwrap();
        assert_eq!(out.lines().count(), src.lines().count());
        assert!(syn::parse_file(&out).is_ok());
        assert!(strip_front_matter("fn main() {}\n").is_none());
        assert!(strip_front_matter("---\nnot closed\n").is_none());
    }

    /// Issue 12: a bare trait object is accepted only where the file's crate is edition 2015 (no `edition`
    /// key); an edition-2018 crate (or no manifest) keeps the syntax error. Front matter is accepted anywhere.
    #[test]
    fn bare_trait_objects_only_in_edition_2015_crates() {
        let src = "type A = Fn(&u8) + Send + Sync;\nfn f() {}\n";
        let t = tempfile::TempDir::new().expect("tempdir");
        for (dir, manifest, parses) in [
            ("old", "[package]\nname = \"a\"\nversion = \"0.1.0\"\n", true),
            ("new", "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2018\"\n", false),
        ] {
            std::fs::create_dir_all(t.path().join(dir).join("src")).expect("mkdir");
            std::fs::write(t.path().join(dir).join("Cargo.toml"), manifest).expect("write");
            let file = t.path().join(dir).join("src/lib.rs");
            assert_eq!(reparse(&file, src).is_some(), parses, "{dir}");
        }
        assert!(reparse(&t.path().join("loose.rs"), src).is_none());
        let script = "#!/usr/bin/env cargo\n---cargo\n[dependencies]\n---\nfn main() {}\n";
        assert!(syn::parse_file(script).is_err());
        assert!(reparse(&t.path().join("new/src/bin.rs"), script).is_some());
    }

    #[test]
    fn bare_fn_trait_objects_get_dyn() {
        let src = "type A = Fn(&u8) + Send + Sync;\nfn f() {}\n";
        assert!(syn::parse_file(src).is_err());
        let fixed = add_dyn(src, 1).unwrap();
        assert!(fixed.starts_with("type A = dyn Fn(&u8)"));
        assert!(syn::parse_file(&fixed).is_ok());
        assert!(add_dyn("type A = dyn Fn(&u8) + Send;\n", 1).is_none());
    }
}
