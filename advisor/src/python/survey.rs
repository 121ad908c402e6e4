//! A manual survey (an `#[ignore]`d test): runs every Python rule over the installed CPython standard library,
//! per file and then through the project phase ([`super::link`], as `check` does; no suppressions),
//! prints the number of findings per rule and what the project phase saw, and writes every finding to `$CONC_ADVISOR_SURVEY_OUT` (default
//! `target/python-survey.txt`) for review by hand. Run with
//! `cargo test -p conc-advisor --lib python::survey -- --ignored --nocapture`; set `CONC_ADVISOR_SURVEY_ROOT` to
//! survey another tree. It also proves nothing panics on a large, varied corpus (including files that do not
//! parse on purpose).

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    use crate::settings::Settings;

    fn stdlib() -> Option<PathBuf> {
        if let Ok(root) = std::env::var("CONC_ADVISOR_SURVEY_ROOT") {
            return Some(PathBuf::from(root));
        }
        let out = std::process::Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
            .output()
            .ok()?;
        Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if !p.ends_with("site-packages") {
                    files(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "py") {
                out.push(p);
            }
        }
    }

    #[test]
    #[ignore = "manual survey over the installed standard library"]
    fn survey_stdlib() {
        let root = stdlib().expect("python3 not found; set CONC_ADVISOR_SURVEY_ROOT");
        let mut paths = Vec::new();
        files(&root, &mut paths);
        paths.sort();
        let settings = Settings::default();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut report = String::new();
        let mut lines = 0usize;
        let mut findings = Vec::new();
        let mut facts = Vec::new();
        for p in &paths {
            let Ok(src) = std::fs::read_to_string(p) else { continue };
            lines += src.lines().count();
            let module = super::super::project::ModuleName::discover(p);
            let (d, f) = super::super::analyze_with_facts(p, &src, &settings, Some(module));
            findings.extend(d);
            facts.extend(f);
        }
        let stats = super::super::linker::describe(&facts);
        let linked = super::super::link(&facts);
        let n_linked = linked.len();
        findings.extend(linked);
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        for d in findings {
            *counts.entry(d.rule.code).or_default() += 1;
            let _ = writeln!(
                report,
                "{}:{}:{}: {} {}: {}",
                d.path.display(),
                d.span.start.line,
                d.span.start.column,
                d.rule.code,
                d.rule.name,
                d.message
            );
        }
        let out = std::env::var("CONC_ADVISOR_SURVEY_OUT")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/python-survey.txt").into());
        std::fs::write(&out, &report).expect("write survey");
        eprintln!("{} files, {lines} lines under {}", paths.len(), root.display());
        eprintln!("{stats}");
        eprintln!("findings of the project phase: {n_linked}");
        for (code, n) in &counts {
            eprintln!("{code}: {n}");
        }
        eprintln!("findings written to {out}");
        assert!(!paths.is_empty());
    }
}
