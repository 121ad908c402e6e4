//! The `sarif` format: SARIF 2.1.0, as GitHub code scanning and other code-scanning services read it.
//!
//! - One run; `tool.driver` is `conc-advisor` with its version and `rules[]`: every rule of the registry in code
//!   order, each with `id` (the code), `name` (the kebab-case name), `shortDescription` (the one-line summary),
//!   `fullDescription` (the rule's *What it does* section), `help` (the whole documentation, as text and
//!   Markdown — what `conc-advisor explain` prints) and `defaultConfiguration` (`level`, and `enabled`: false for
//!   a rule off by default).
//! - `results[]`: one per finding, with `ruleId`, `ruleIndex` (into `rules[]`), `level` (`error`, `warning`,
//!   or `note` for info), `message.text` (the message, then the help), and one physical location: `uri`
//!   relative to the working directory (`originalUriBaseId` `%SRCROOT%`; absolute paths outside it become
//!   `file://` URIs) and a `region` with 1-based `startLine`, `startColumn`, `endLine`, `endColumn`
//!   (columns in characters, end exclusive, as SARIF's default `unicodeCodePoints` column kind specifies).
//!   Notes with a span become `relatedLocations`. `partialFingerprints.conc-advisor/v1` is the finding's
//!   [fingerprint](crate::baseline::fingerprint) (path relative to the working directory, rule, enclosing item,
//!   normalised text, no line number), so code scanning tracks a finding across commits that move it;
//!   `properties.testCode` says whether it is in test code and `properties.item` names its enclosing item.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::engine::CheckReport;
use crate::registry::{self, RuleMeta};

/// SARIF's name for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The *What it does* section of a rule's documentation, as one paragraph.
fn what_it_does(rule: &RuleMeta) -> String {
    let doc = super::rule_doc(rule);
    let Some(start) = doc.find("## What it does") else { return rule.summary.to_string() };
    let body = &doc[start + "## What it does".len()..];
    let end = body.find("\n#").unwrap_or(body.len());
    let text = body[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() { rule.summary.to_string() } else { text }
}

fn rule_descriptor(rule: &RuleMeta) -> Value {
    let doc = super::rule_doc(rule);
    let doc = doc.trim();
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": what_it_does(rule) },
        "help": { "text": doc, "markdown": doc },
        "defaultConfiguration": { "enabled": rule.default_enabled, "level": level(rule.severity) },
        "properties": { "tags": [format!("{:?}", rule.language).to_lowercase()] },
    })
}

/// Percent-encodes what a URI path must not carry raw.
fn encode_uri_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The artifact location of `path`: relative to the working directory when possible.
fn artifact_location(path: &Path) -> Value {
    let rel = Some(super::relative_to_cwd(path)).filter(|p| !p.is_absolute());
    match rel {
        Some(rel) => json!({
            "uri": encode_uri_path(&super::json::portable_path(&rel)),
            "uriBaseId": "%SRCROOT%",
        }),
        None => {
            let p = super::json::portable_path(path);
            let p = if p.starts_with('/') { p } else { format!("/{p}") };
            json!({ "uri": format!("file://{}", encode_uri_path(&p)) })
        }
    }
}

fn region(span: Span) -> Value {
    json!({
        "startLine": span.start.line.max(1),
        "startColumn": span.start.column.max(1),
        "endLine": span.end.line.max(span.start.line).max(1),
        "endColumn": span.end.column.max(1),
    })
}

fn result(d: &Diagnostic, index: usize) -> Value {
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let related: Vec<Value> = d
        .notes
        .iter()
        .filter_map(|n| n.span.map(|s| (n, s)))
        .enumerate()
        .map(|(i, (n, s))| {
            json!({
                "id": i,
                "message": { "text": n.message },
                "physicalLocation": { "artifactLocation": artifact_location(&d.path), "region": region(s) },
            })
        })
        .collect();
    let mut r = json!({
        "ruleId": d.rule.code,
        "ruleIndex": index,
        "level": level(d.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": { "artifactLocation": artifact_location(&d.path), "region": region(d.span) },
        }],
    });
    if !related.is_empty() {
        r["relatedLocations"] = Value::Array(related);
    }
    if let Some(fp) = crate::baseline::fingerprint(d, &super::json::cwd()) {
        r["partialFingerprints"] = json!({ "conc-advisor/v1": fp });
    }
    if let Some(p) = &d.placement {
        r["properties"] = json!({ "testCode": p.test_code, "item": p.item });
    }
    add_runtime(&mut r, d);
    r
}

/// `check --profile`: the run-time status as a result property, and the measured function as a related location.
fn add_runtime(r: &mut Value, d: &Diagnostic) {
    let Some(rt) = &d.runtime else { return };
    r["properties"]["runtime"] = json!(rt);
    if let Some((file, line)) = rt.location.as_deref().and_then(|l| l.rsplit_once(':'))
        && let Ok(line) = line.parse::<usize>()
    {
        let related = r["relatedLocations"].as_array().map_or(0, Vec::len);
        let loc = json!({
            "id": related,
            "message": { "text": rt.note() },
            "physicalLocation": {
                "artifactLocation": artifact_location(Path::new(file)),
                "region": { "startLine": line.max(1) },
            },
        });
        match r["relatedLocations"].as_array_mut() {
            Some(a) => a.push(loc),
            None => r["relatedLocations"] = Value::Array(vec![loc]),
        }
    }
}

/// The run's invocation: whether it succeeded, and what could not be checked (missing or unreadable paths,
/// invalid configurations), each an error notification, with warnings (symlink cycles) as warnings.
fn invocation(report: &CheckReport) -> Value {
    let note = |level: &str, text: &String| json!({ "level": level, "message": { "text": text } });
    let notes: Vec<Value> = report
        .errors
        .iter()
        .map(|e| note("error", e))
        .chain(report.warnings.iter().map(|w| note("warning", w)))
        .collect();
    json!({ "executionSuccessful": report.errors.is_empty(), "toolExecutionNotifications": notes })
}

/// Writes the report as a SARIF 2.1.0 log.
pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    // Every registered rule, plus any rule a finding carries that the registry does not list.
    let mut rules: Vec<&RuleMeta> = registry::all().to_vec();
    let mut results = Vec::with_capacity(report.diagnostics.len());
    for d in &report.diagnostics {
        let index = match rules.iter().position(|r| r.code == d.rule.code) {
            Some(i) => i,
            None => {
                rules.push(d.rule);
                rules.len() - 1
            }
        };
        results.push(result(d, index));
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "conc-advisor",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
                },
            },
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "the directory conc-advisor ran in" } } },
            "results": results,
            "invocations": [invocation(report)],
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}
