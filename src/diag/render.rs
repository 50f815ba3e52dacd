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
        let report = Report::new(diagnostic, sources, |file| Excerpts { file });
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
/// Lines an excerpt takes beyond the context miette asks for, so that miette stops
/// reading where it would have stopped in the whole file.
const EXCERPT_MARGIN: usize = 2;

/// One file as miette sees it, read in excerpts. miette scans a source from its start for
/// every span it reads, so handing it the whole file made rendering quadratic in the
/// number of diagnostics. Each read here scans only the lines of the span asked for and
/// their context, numbered as in the whole file, so miette renders exactly what it renders
/// with the whole file (snippets, merges and headers included) and the cost is that of
/// the lines it shows: miette reads a span over several labels only to print it.
struct Excerpts<'a> {
    file: &'a SourceFile,
}

impl SourceCode for Excerpts<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let file = self.file;
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > file.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = file
            .line_index(start)
            .saturating_sub(context_lines_before + EXCERPT_MARGIN);
        let last = (file.line_index(end) + context_lines_after + EXCERPT_MARGIN)
            .min(file.line_count() - 1);
        let lines = file.lines(first, last);
        let excerpt = &file.text[lines.clone()];
        let local = SourceSpan::new((start - lines.start).into(), span.len());
        let inner = excerpt.read_span(&local, context_lines_before, context_lines_after)?;
        // miette counts a carriage return without a newline as a line break, and its
        // `line_count` is the number of breaks from the start of the source to the end of
        // what it read, not within it (it decides from it whether two labels share a
        // snippet): both are made absolute.
        let breaks_before = file.miette_line_breaks_before(lines.start);
        Ok(Box::new(MietteSpanContents::new_named(
            file.name.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + lines.start).into(),
                inner.span().len(),
            ),
            inner.line() + breaks_before,
            inner.column(),
            inner.line_count() + breaks_before,
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

impl<S: SourceCode> Report<S> {
    /// `source` makes miette's view of the primary file.
    fn new<'a>(
        diagnostic: &Diagnostic,
        sources: &'a SourceMap,
        source: impl FnOnce(&'a SourceFile) -> S,
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
            source: source(file),
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
            let report = Report::new(diagnostic, sources, |file| {
                miette::NamedSource::new(file.name.clone(), file.text.clone())
            });
            handler.render_report(&mut out, &report).expect("renders");
        }
        out
    }

    /// Renders `checked` both ways and insists they agree; returns the text.
    fn render_both_ways(checked: &crate::check::Checked) -> String {
        let excerpts = to_text(&checked.diagnostics, &checked.sources, Style::Plain);
        assert_eq!(
            excerpts,
            whole_file_text(&checked.diagnostics, &checked.sources)
        );
        excerpts
    }

    /// The `╭─[file:line:col]` snippet headers of a rendered report, in order.
    fn headers(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.split_once("╭─[").map(|(_, rest)| rest))
            .collect()
    }

    /// A spec whose only diagnostic is a duplicate dataset: `before` blank lines, the
    /// first declaration, `gap` blank lines, the second one.
    fn duplicate(before: usize, gap: usize) -> String {
        let dataset = "dataset dup {\n  size = 1 GB\n  location = aws.us_east_1\n}\n";
        format!(
            "{}{dataset}{}{dataset}",
            "\n".repeat(before),
            "\n".repeat(gap)
        )
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
        render_both_ways(&checked);
    }

    #[test]
    fn a_cycle_is_one_snippet_headed_at_its_primary_label() {
        // Four labels over 18 lines; the primary one is the last in the file.
        let spec = include_str!("../../tests/ui/e0213_pipeline_cycle.mlc");
        let checked = crate::check::check_text("cycle.mlc", spec);
        let text = render_both_ways(&checked);
        assert_eq!(headers(&text), ["cycle.mlc:32:17]"], "{text}");
        assert!(
            text.contains(" 22 │ \n"),
            "the lines between labels are shown: {text}"
        );
    }

    #[test]
    fn labels_far_apart_render_like_the_whole_file() {
        // miette merges two labels' snippets by comparing a line number with a count of
        // lines from the start of the file, so whether labels 20 lines apart share one
        // snippet depends on how far down the file they are: both cases occur here.
        let mut snippets = Vec::new();
        for before in [0, 1, 3, 20, 40] {
            for gap in [0, 1, 2, 3, 5, 20, 60] {
                let spec = duplicate(before, gap);
                let checked = crate::check::check_text("far.mlc", &spec);
                assert_eq!(checked.diagnostics.len(), 1, "{spec}");
                let text = render_both_ways(&checked);
                let second = before + gap + 5;
                assert_eq!(
                    headers(&text).last(),
                    Some(&format!("far.mlc:{second}:1]").as_str())
                );
                snippets.push(headers(&text).len());
            }
        }
        assert!(
            snippets.contains(&1) && snippets.contains(&2),
            "{snippets:?}"
        );
    }

    #[test]
    fn labels_in_two_files_render_like_the_whole_file() {
        // The primary file gets the excerpt; the imported file's label becomes a note.
        let imported = format!(
            "{}\n{}",
            duplicate(2, 0),
            "dataset other {\n  size = 1 GB\n  location = aws.us_east_1\n}\n"
        );
        let world = crate::check::world::MemoryWorld::new().with("/p/lib.mlc", imported);
        let root = format!(
            "import \"lib.mlc\"\n{}{}",
            "\n".repeat(25),
            duplicate(0, 20).replace("dup", "other")
        );
        let checked = crate::check::check_text_in(&world, "/p/main.mlc", &root);
        assert!(checked.diagnostics.len() >= 3, "{:?}", checked.diagnostics);
        let text = render_both_ways(&checked);
        assert!(text.contains("first declared here at"), "{text}");
    }

    #[test]
    fn carriage_returns_render_like_the_whole_file() {
        // miette counts a carriage return without a newline as a line break.
        let spec = format!(
            "# a\rcomment\r\n{}\r\n# b\rc\r\n{}",
            duplicate(1, 2).replace('\n', "\r\n"),
            duplicate(0, 30).replace("dup", "again")
        );
        render_both_ways(&crate::check::check_text("cr.mlc", &spec));
    }

    /// The `.mlc` files directly in a directory of the package, sorted.
    fn mlc_files(dir: &str) -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("directory exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_ui_case_and_example_renders_like_the_whole_file() {
        // So that the ui snapshots show what miette shows for the whole file.
        let mut rendered = 0;
        for path in mlc_files("tests/ui")
            .into_iter()
            .chain(mlc_files("examples"))
        {
            let mut checked = crate::check::check(&crate::check::FsWorld, &path).expect("case");
            crate::policy::apply(&mut checked);
            rendered += checked.diagnostics.len();
            render_both_ways(&checked);
        }
        for path in mlc_files("tests/ui/policy") {
            let text = std::fs::read_to_string(&path).expect("policy case");
            let checked = crate::policy::check_text(&path.to_string_lossy(), &text);
            rendered += checked.diagnostics.len();
            render_both_ways(&checked);
        }
        assert!(rendered > 100, "{rendered}");
    }
}
