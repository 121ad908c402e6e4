//! PEP 263 source encodings: a Python file may declare its encoding in a comment on its first or second line
//! (`# -*- coding: latin-1 -*-`, `# vim: set fileencoding=cp1252 :`). Such a file is valid Python though it is
//! not valid UTF-8; it is decoded with `encoding_rs` (Latin-1 byte for byte, as CPython does), and columns are
//! counted in characters of the decoded text, as for any other file.

use encoding_rs::Encoding;

/// How a declared encoding decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// ISO-8859-1: every byte is the character of the same number (CPython's `latin-1`).
    Latin1,
    /// Any other encoding `encoding_rs` knows by that label.
    Other(&'static Encoding),
}

/// The encoding declared by the first two lines of `bytes`, as written (`latin-1`), if any. The second line
/// counts only when the first is blank or a comment (PEP 263).
pub fn declared(bytes: &[u8]) -> Option<&str> {
    let mut lines = bytes.split(|&b| b == b'\n');
    for (i, line) in lines.by_ref().take(2).enumerate() {
        let line = line.strip_prefix(b"\xef\xbb\xbf").filter(|_| i == 0).unwrap_or(line);
        let trimmed = line.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\x0c' | b'\r')).map(|p| &line[p..]);
        match trimmed {
            Some([b'#', rest @ ..]) => {
                if let Some(name) = coding_name(rest) {
                    return Some(name);
                }
            }
            None => {}
            Some(_) => return None,
        }
    }
    None
}

/// `coding[:=]\s*([-\w.]+)` in a comment's text.
fn coding_name(comment: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(comment).ok()?;
    let at = text.find("coding")?;
    let rest = text[at + "coding".len()..].strip_prefix([':', '='])?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

fn codec(name: &str) -> Option<Codec> {
    let norm = name.to_ascii_lowercase().replace('_', "-");
    if matches!(norm.as_str(), "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1") {
        return Some(Codec::Latin1);
    }
    Encoding::for_label(norm.as_bytes()).map(Codec::Other)
}

/// Decodes a Python source whose bytes are not UTF-8 with the encoding it declares. `Err` says why it cannot
/// be decoded (no declaration is `Ok(None)`: the caller reports the bytes as not UTF-8).
pub fn decode(bytes: &[u8]) -> Result<Option<String>, String> {
    let Some(name) = declared(bytes) else { return Ok(None) };
    match codec(name) {
        Some(Codec::Latin1) => Ok(Some(bytes.iter().map(|&b| char::from(b)).collect())),
        Some(Codec::Other(enc)) => {
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                Err(format!("not valid {name} (the encoding its coding comment declares)"))
            } else {
                Ok(Some(text.into_owned()))
            }
        }
        None => Err(format!("declares an unknown source encoding `{name}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::path::Path;

    #[test]
    fn declarations_on_the_first_two_lines_count() {
        assert_eq!(declared(b"# -*- coding: latin-1 -*-\nx = 1\n"), Some("latin-1"));
        assert_eq!(declared(b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n"), Some("cp1252"));
        assert_eq!(declared(b"\n# coding=euc-jp\n"), Some("euc-jp"));
        // Code on the first line: the second line's comment is not a declaration.
        assert_eq!(declared(b"x = 1\n# coding: latin-1\n"), None);
        assert_eq!(declared(b"#\n#\n# coding: latin-1\n"), None);
        assert_eq!(declared(b"# coding latin-1\n"), None);
    }

    #[test]
    fn latin1_and_other_encodings_decode_and_bad_ones_say_why() {
        let src = b"# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n";
        assert_eq!(decode(src).unwrap().as_deref(), Some("# -*- coding: latin-1 -*-\ns = 'café'\n"));
        let src = b"# coding: cp1252\ns = '\x80'\n";
        assert_eq!(decode(src).unwrap().as_deref(), Some("# coding: cp1252\ns = '€'\n"));
        assert_eq!(decode(b"x = '\xff'\n"), Ok(None));
        assert!(decode(b"# coding: klingon\nx = '\xff'\n").unwrap_err().contains("unknown source encoding `klingon`"));
        assert!(decode(b"# coding: utf-8\nx = '\xff'\n").unwrap_err().contains("not valid utf-8"));
    }

    #[test]
    fn a_latin1_file_is_checked_with_character_columns() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("legacy.py");
        let src = b"# -*- coding: latin-1 -*-\nimport time\nasync def f():\n    s = 'caf\xe9'; time.sleep(1)\n";
        std::fs::write(&path, src).expect("write");
        let text = crate::engine::read_source(&path).expect("decoded");
        let d = crate::python::analyze(Path::new("legacy.py"), &text, &Settings::default());
        assert_eq!(d.len(), 1, "{d:?}");
        // `    s = 'café'; ` is 16 characters: `time` starts at column 17.
        assert_eq!((d[0].span.start.line, d[0].span.start.column), (4, 17));
        // Without a declaration the same bytes are refused, with the line.
        std::fs::write(&path, &src[26..]).expect("write");
        let err = crate::engine::read_source(&path).unwrap_err();
        assert!(err.contains("not valid UTF-8 (first bad byte at line 3)"), "{err}");
    }
}
