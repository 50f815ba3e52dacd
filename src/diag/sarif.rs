//! SARIF 2.1.0 output, for code-scanning tools (GitHub, GitLab, IDEs). A [`SarifLog`]
//! collects the diagnostics of any number of specs (`mlc check a.mlc b.mlc`, and later
//! `mlc plan`) into one run of one tool whose rules are the code registry.

use super::{codes, Diagnostic, Severity};
use crate::source::{SourceFile, SourceMap, Span};
use serde_json::{json, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where the tool is documented: the package's repository when Cargo.toml names one,
/// otherwise a URN naming the language reference shipped with it.
fn information_uri() -> &'static str {
    match env!("CARGO_PKG_REPOSITORY") {
        "" => "urn:mlc:docs/language.md",
        repository => repository,
    }
}

/// One SARIF log with one run; add the diagnostics of each spec, then print it.
#[derive(Debug, Default)]
pub struct SarifLog {
    results: Vec<Value>,
}

impl SarifLog {
    pub fn new() -> SarifLog {
        SarifLog::default()
    }

    /// Adds the diagnostics of one checked spec. Files are named by their path relative
    /// to the project root (`uriBaseId` `PROJECTROOT`).
    pub fn add(&mut self, diagnostics: &[Diagnostic], sources: &SourceMap) {
        self.results
            .extend(diagnostics.iter().map(|d| result(d, sources)));
    }

    /// The log as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let log = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": driver() },
                "columnKind": "unicodeCodePoints",
                "results": self.results,
            }],
        });
        serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The diagnostics of one spec as a SARIF log.
pub fn to_sarif(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut log = SarifLog::new();
    log.add(diagnostics, sources);
    log.to_json()
}

fn driver() -> Value {
    let rules: Vec<Value> = codes::REGISTRY
        .iter()
        .map(|info| {
            json!({
                "id": info.code,
                "name": info.title,
                "shortDescription": { "text": info.title },
                "fullDescription": { "text": info.explanation },
                "help": { "text": format!("mlc explain {}", info.code) },
                "defaultConfiguration": { "level": level(codes::Code(info.code).severity()) },
            })
        })
        .collect();
    json!({
        "name": "mlc",
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": information_uri(),
        "rules": rules,
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn result(diagnostic: &Diagnostic, sources: &SourceMap) -> Value {
    let code = diagnostic.code.0;
    let mut result = json!({
        "ruleId": code,
        "level": level(diagnostic.severity()),
        "message": { "text": diagnostic.message },
        "locations": [location(diagnostic.span(), sources, None)],
    });
    if let Some(index) = codes::REGISTRY.iter().position(|info| info.code == code) {
        result["ruleIndex"] = json!(index);
    }
    let related: Vec<Value> = diagnostic
        .labels
        .iter()
        .skip(1)
        .enumerate()
        .map(|(id, label)| location(label.span, sources, Some((id, &label.text))))
        .collect();
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    if let Some(help) = &diagnostic.help {
        result["properties"] = json!({ "help": help });
    }
    result
}

/// A physical location; `related` gives a related location its id and message.
fn location(span: Span, sources: &SourceMap, related: Option<(usize, &str)>) -> Value {
    let file = sources.get(span.file);
    let (start_line, start_column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": artifact(file),
            "region": {
                "startLine": start_line,
                "startColumn": start_column,
                "endLine": end_line,
                "endColumn": end_column,
            },
        },
    });
    if let Some((id, text)) = related {
        location["id"] = json!(id);
        location["message"] = json!({ "text": text });
    }
    location
}

fn artifact(file: &SourceFile) -> Value {
    match &file.project_path {
        Some(path) => {
            let parts: Vec<String> = path
                .components()
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect();
            json!({ "uri": parts.join("/"), "uriBaseId": "PROJECTROOT" })
        }
        // The embedded standard library (`<stdlib>/clouds.mlc`) has no file on disk.
        None => json!({ "uri": percent_encode(&file.name.replace(['<', '>'], "")) }),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(percent_encode("a b/ü.mlc"), "a%20b/%C3%BC.mlc");
    }
}
