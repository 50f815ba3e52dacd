//! Printing diagnostics: miette's graphical report for people, JSON for machines.

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, SourceMap};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
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
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(CONTEXT_LINES);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = Report::new(diagnostic, sources, Excerpt::new);
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

/// Lines of context miette shows around a label (its default).
const CONTEXT_LINES: usize = 1;
/// Lines kept around each label in an [`Excerpt`]: more than miette reads, and enough
/// that the excerpts of labels whose contexts miette merges overlap, and so are one.
const EXCERPT_LINES: usize = CONTEXT_LINES + 2;

/// The lines of one file that a diagnostic's labels need, with their offsets and line
/// numbers in the file. miette scans a source from its start for every label, so giving
/// it the whole file made rendering quadratic in the number of diagnostics; an excerpt
/// costs only the lines shown, and renders identically.
struct Excerpt {
    name: String,
    windows: Vec<Window>,
}

/// Whole lines of a file starting at byte `offset`, which is line `line` (0-based).
struct Window {
    offset: usize,
    line: usize,
    text: String,
}

impl Excerpt {
    fn new(file: &SourceFile, spans: &[SourceSpan]) -> Excerpt {
        let last_line = file.line_count() - 1;
        let mut ranges: Vec<(usize, usize)> = spans
            .iter()
            .map(|span| {
                let first = file.line_index(span.offset());
                let last = file.line_index(span.offset() + span.len());
                (
                    first.saturating_sub(EXCERPT_LINES),
                    (last + EXCERPT_LINES).min(last_line),
                )
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (first, last) in ranges {
            match merged.last_mut() {
                Some(previous) if first <= previous.1 + 1 => previous.1 = previous.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        let windows = merged
            .into_iter()
            .map(|(first, last)| {
                let bytes = file.lines(first, last);
                Window {
                    offset: bytes.start,
                    line: first,
                    text: file.text[bytes].to_string(),
                }
            })
            .collect();
        Excerpt {
            name: file.name.clone(),
            windows,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        let window = self
            .windows
            .iter()
            .find(|w| w.offset <= start && end <= w.offset + w.text.len())
            .ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((start - window.offset).into(), span.len());
        let inner = window
            .text
            .read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + window.offset).into(),
                inner.span().len(),
            ),
            inner.line() + window.line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Adapter from our data to miette's trait; labels in other files become notes.
struct Report<S> {
    code: String,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: S,
    labels: Vec<LabeledSpan>,
}

impl<S: SourceCode + 'static> Report<S> {
    /// `source` makes miette's view of the primary file from the spans it must show.
    fn new(
        diagnostic: &Diagnostic,
        sources: &SourceMap,
        source: impl FnOnce(&SourceFile, &[SourceSpan]) -> S,
    ) -> Report<S> {
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
            source: source(file, &labels.iter().map(|l| *l.inner()).collect::<Vec<_>>()),
            labels,
        }
    }
}

impl<S> fmt::Debug for Report<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl<S> fmt::Display for Report<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl<S> std::error::Error for Report<S> {}

impl<S: SourceCode> miette::Diagnostic for Report<S> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `to_text` printed before excerpts: miette given the whole file.
    fn whole_file_text(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_context_lines(CONTEXT_LINES);
        let mut out = String::new();
        for diagnostic in diagnostics {
            let report = Report::new(diagnostic, sources, |file, _| {
                miette::NamedSource::new(file.name.clone(), file.text.clone())
            });
            handler.render_report(&mut out, &report).expect("renders");
        }
        out
    }

    #[test]
    fn excerpts_render_exactly_like_the_whole_file() {
        // Labels on the first and last lines, far apart (duplicates), on adjacent lines
        // (contexts that miette merges), multi-line spans, and non-ASCII text.
        let mut spec =
            String::from("dataset dup {\n  size = 1 GB\n  location = aws.us_east_1\n}\n");
        for i in 0..40 {
            spec.push_str(&format!(
                "# Ünïcode comment {i}\nproject p{i} {{\n  onwer = \"x\"\n  owner = \"é\"\n  owner = \"y\"\n}}\n\
                 dataset d{i} {{\n  size = 4 TB + 3 h\n  location = aws.nowhere\n}}\n"
            ));
        }
        spec.push_str("dataset dup {\n  size = 2 GB\n  location = aws.us_east_1\n}\ntrain t {");
        let checked = crate::check::check_text("render.mlc", &spec);
        assert!(
            checked.diagnostics.len() > 100,
            "{}",
            checked.diagnostics.len()
        );
        let excerpts = to_text(&checked.diagnostics, &checked.sources, Style::Plain);
        assert_eq!(
            excerpts,
            whole_file_text(&checked.diagnostics, &checked.sources)
        );
    }
}
