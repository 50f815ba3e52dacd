//! Printing diagnostics: miette's graphical report for people, JSON for machines.

use super::{Diagnostic, Severity};
use crate::source::SourceMap;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;

/// Output style of the human-readable report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Color,
    Plain,
}

/// The rendered report of all diagnostics, in order.
pub fn to_text(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = Report::new(diagnostic, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
    }
    out
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: String,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    /// Where the primary span ends (exclusive column), for editors that underline it.
    end_line: usize,
    end_column: usize,
    help: Option<&'a str>,
    /// The violated compliance rule's id and citation, for policy findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_framework: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_source: Option<&'a str>,
}

/// A JSON array of `{code, severity, message, file, line, column, end_line, end_column,
/// help}` objects; policy findings add `rule_id`, `rule_framework` and `rule_source`.
pub fn to_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let rows: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let span = d.span();
            let file = sources.get(span.file);
            let (line, column) = file.line_col(span.start as usize);
            let (end_line, end_column) = file.line_col(span.end as usize);
            JsonDiagnostic {
                code: d.code.to_string(),
                severity: d.severity(),
                message: &d.message,
                file: &file.name,
                line,
                column,
                end_line,
                end_column,
                help: d.help.as_deref(),
                rule_id: d.rule.as_ref().map(|r| r.id.as_str()),
                rule_framework: d.rule.as_ref().map(|r| r.framework.as_str()),
                rule_source: d.rule.as_ref().map(|r| r.source.as_str()),
            }
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_string())
}

/// Adapter from our data to miette's trait; labels in other files become notes.
struct Report {
    code: String,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
}

impl Report {
    fn new(diagnostic: &Diagnostic, sources: &SourceMap) -> Report {
        let primary_file = diagnostic.span().file;
        let file = sources.get(primary_file);
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        for (index, label) in diagnostic.labels.iter().enumerate() {
            if label.span.file == primary_file {
                let text = (!label.text.is_empty()).then(|| label.text.clone());
                let len = (label.span.end - label.span.start) as usize;
                let span = (label.span.start as usize, len);
                labels.push(if index == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                });
            } else {
                let other = sources.get(label.span.file);
                let (line, column) = other.line_col(label.span.start as usize);
                notes.push(format!(
                    "{} at {}:{}:{}",
                    label.text, other.name, line, column
                ));
            }
        }
        let help = match (&diagnostic.help, notes.is_empty()) {
            (Some(help), true) => Some(help.clone()),
            (None, true) => None,
            (help, false) => Some(
                help.iter()
                    .cloned()
                    .chain(notes)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        };
        Report {
            code: diagnostic.code.to_string(),
            message: diagnostic.message.clone(),
            severity: match diagnostic.severity() {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help,
            source: NamedSource::new(file.name.clone(), file.text.clone()),
            labels,
        }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}
