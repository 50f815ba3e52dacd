//! The one diagnostic type of mlc: a stable code, a message, labelled spans and help.
//!
//! Stages build `Diagnostic` values as plain data; wording of long explanations lives in
//! [`codes`], and turning a diagnostic into text or JSON happens only in [`render`].

pub mod codes;
pub mod render;
pub mod sarif;

use crate::source::Span;
use serde::Serialize;

pub use codes::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// The compliance rule a policy diagnostic reports, kept as data so that tools and tests
/// need not parse it back out of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's stable id, e.g. `HIPAA-164.312(b)`.
    pub id: String,
    /// The framework that holds it, e.g. `hipaa`.
    pub framework: String,
    /// The article or section it comes from, e.g. `45 CFR 164.312(b)`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Set by the policy stage when a framework rule is violated (boxed: most
    /// diagnostics have none, and `Diagnostic` travels in `Result`s).
    pub rule: Option<Box<Rule>>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                text: String::new(),
            }],
            help: None,
            rule: None,
        }
    }

    /// Text shown under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        if let Some(first) = self.labels.first_mut() {
            first.text = text.into();
        }
        self
    }

    /// A secondary location, such as "first declared here".
    pub fn secondary(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    /// The framework rule this diagnostic reports.
    pub fn rule(mut self, rule: Rule) -> Diagnostic {
        self.rule = Some(Box::new(rule));
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn span(&self) -> Span {
        self.labels.first().map(|l| l.span).unwrap_or_default()
    }
}

/// Sort diagnostics into source order (file, then position), keeping insertion order for
/// equal positions so that related errors stay together.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| {
        let s = d.span();
        (s.file, s.start, s.end)
    });
}

pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity() == Severity::Error)
}

/// The long form printed by `mlc explain`.
pub fn explain_text(info: &codes::CodeInfo) -> String {
    let mut out = format!(
        "mlc::{}: {}\n\n{}\n",
        info.code,
        info.title,
        wrap(info.explanation, 88)
    );
    if let Some(example) = info.example {
        out.push_str("\nExample that triggers it:\n\n");
        for line in example.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}
