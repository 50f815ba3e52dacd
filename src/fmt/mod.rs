//! `mlc fmt`: the canonical layout of a spec. Comments are kept (attached to the
//! statement, list element or closing bracket they precede), one blank line between
//! top-level declarations, blank lines between statements preserved (at most one), `=`
//! aligned within a run of attributes, and short nested blocks kept on one line.
//! Formatting is idempotent and never changes what the spec means.

use crate::diag::Diagnostic;
use crate::source::FileId;
use crate::syntax::ast::*;
use crate::syntax::scan::{self, Comment};

const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Formats `text`; syntax errors are returned instead (nothing is formatted then).
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let (file, diagnostics) = crate::syntax::parse(FileId(0), text);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let comments = scan::scan(text).comments;
    let mut printer = Printer {
        src: text,
        comments,
        next: 0,
        out: String::new(),
    };
    printer.file(&file);
    Ok(printer.out)
}

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    /// Index of the first comment not yet printed.
    next: usize,
    out: String,
}

impl Printer<'_> {
    fn file(&mut self, file: &File) {
        let mut prev_end: Option<usize> = None;
        for item in &file.items {
            let start = item.span().start as usize;
            if prev_end.is_some() {
                self.out.push('\n');
            }
            // The separator above is the blank line; comments need no second one.
            self.leading(start, 0, None);
            match item {
                Item::Import(import) => self
                    .out
                    .push_str(&format!("import {}", quote(&import.path))),
                Item::Decl(decl) => self.decl(decl, 0, true),
            }
            self.trailing(item.span().end as usize);
            self.out.push('\n');
            prev_end = Some(item.span().end as usize);
        }
        if self.next < self.comments.len() {
            if prev_end.is_some() {
                self.out.push('\n');
            }
            self.leading(usize::MAX, 0, None);
        }
    }

    /// Prints every comment that starts before `pos`, one per line, keeping one blank
    /// line wherever the source had one.
    fn leading(&mut self, pos: usize, depth: usize, mut prev_end: Option<usize>) {
        while let Some(comment) = self.comments.get(self.next) {
            if comment.start >= pos {
                break;
            }
            if let Some(end) = prev_end {
                if self.blank_between(end, comment.start) {
                    self.out.push('\n');
                }
            }
            self.out.push_str(&INDENT.repeat(depth));
            self.out.push_str(&comment.text);
            self.out.push('\n');
            prev_end = Some(comment.end);
            self.next += 1;
        }
        if let (Some(end), true) = (prev_end, pos != usize::MAX) {
            if self.next > 0
                && self.comments[self.next - 1].end == end
                && self.blank_between(end, pos)
            {
                self.out.push('\n');
            }
        }
    }

    /// Appends a comment that starts on the same source line as `end`.
    fn trailing(&mut self, end: usize) {
        if let Some(comment) = self.comments.get(self.next) {
            if comment.start >= end && !self.src[end..comment.start].contains('\n') {
                self.out.push_str("  ");
                self.out.push_str(&comment.text);
                self.next += 1;
            }
        }
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        let gap = &self.src[from.min(to)..to.min(self.src.len())];
        gap.matches('\n').count() >= 2
    }

    fn has_comments_in(&self, start: usize, end: usize) -> bool {
        self.comments[self.next..]
            .iter()
            .any(|c| c.start >= start && c.start < end)
    }

    fn decl(&mut self, decl: &Decl, depth: usize, top_level: bool) {
        self.out.push_str(&decl.kind.text);
        if let Some(name) = &decl.name {
            self.out.push(' ');
            self.out.push_str(&name.text);
        }
        self.out.push(' ');
        let column = depth * INDENT.len()
            + decl.kind.text.len()
            + decl.name.as_ref().map_or(0, |n| n.text.len() + 1)
            + 1;
        if !top_level {
            if let Some(inline) = self.inline_body(&decl.body, column) {
                self.out.push_str(&inline);
                return;
            }
        }
        self.body(&decl.body, depth);
    }

    /// `{ a = 1, b = 2 }` when the body holds only short attributes and no comments.
    fn inline_body(&self, body: &Body, column: usize) -> Option<String> {
        if body.stmts.is_empty()
            || self.has_comments_in(body.span.start as usize, body.span.end as usize)
        {
            return (body.stmts.is_empty()
                && !self.has_comments_in(body.span.start as usize, body.span.end as usize))
            .then(|| "{}".to_string());
        }
        let mut parts = Vec::new();
        for stmt in &body.stmts {
            let Stmt::Attr(attr) = stmt else { return None };
            parts.push(format!(
                "{} = {}",
                attr.key.text,
                self.inline_value(&attr.value)?
            ));
        }
        let text = format!("{{ {} }}", parts.join(", "));
        (column + text.len() <= WIDTH && parts.len() <= 6).then_some(text)
    }

    fn body(&mut self, body: &Body, depth: usize) {
        if body.stmts.is_empty()
            && !self.has_comments_in(body.span.start as usize, body.span.end as usize)
        {
            self.out.push_str("{}");
            return;
        }
        self.out.push_str("{\n");
        let widths = key_widths(&body.stmts, self.src);
        let mut prev_end: Option<usize> = None;
        for (stmt, width) in body.stmts.iter().zip(widths) {
            let start = stmt.span().start as usize;
            if let Some(end) = prev_end {
                let first = self
                    .comments
                    .get(self.next)
                    .filter(|c| c.start < start)
                    .map_or(start, |c| c.start);
                if self.blank_between(end, first) {
                    self.out.push('\n');
                }
            }
            self.leading(start, depth + 1, None);
            self.out.push_str(&INDENT.repeat(depth + 1));
            self.stmt(stmt, depth + 1, width);
            self.trailing(stmt.span().end as usize);
            self.out.push('\n');
            prev_end = Some(stmt.span().end as usize);
        }
        if self.has_comments_in(body.span.start as usize, body.span.end as usize) {
            if let Some(end) = prev_end {
                let first = self.comments[self.next].start;
                if self.blank_between(end, first) {
                    self.out.push('\n');
                }
            }
            self.leading(body.span.end as usize, depth + 1, None);
        }
        self.out.push_str(&INDENT.repeat(depth));
        self.out.push('}');
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize, key_width: usize) {
        match stmt {
            Stmt::Attr(attr) => {
                self.out
                    .push_str(&format!("{:<width$} = ", attr.key.text, width = key_width));
                let column = depth * INDENT.len() + key_width + 3;
                self.value(&attr.value, depth, column);
            }
            Stmt::Block(block) => self.decl(block, depth, false),
            Stmt::Alert(alert) => {
                self.out.push_str("alert at ");
                self.value(&alert.at, depth, depth * 2 + 9);
                self.out.push_str(" notify ");
                self.value(&alert.notify, depth, WIDTH);
            }
            Stmt::Require(require) => {
                self.out.push_str("require ");
                let conditions: Vec<String> = require
                    .conditions
                    .iter()
                    .map(|c| self.condition(c))
                    .collect();
                self.out.push_str(&conditions.join(", "));
                if let Some(body) = &require.body {
                    self.out.push(' ');
                    self.body(body, depth);
                }
            }
        }
    }

    fn condition(&self, c: &Condition) -> String {
        match &c.test {
            None => c.subject.text.clone(),
            Some(ConditionTest::In(v)) => format!(
                "{} in {}",
                c.subject.text,
                self.inline_value(v).unwrap_or_default()
            ),
            Some(ConditionTest::Eq(v)) => format!(
                "{} = {}",
                c.subject.text,
                self.inline_value(v).unwrap_or_default()
            ),
        }
    }

    /// Prints a value starting at `column`, breaking lists, maps and blocks over lines
    /// when they do not fit or hold comments.
    fn value(&mut self, value: &Value, depth: usize, column: usize) {
        if let Some(inline) = self.inline_value(value) {
            if column + inline.len() <= WIDTH
                && !self.has_comments_in(value.span.start as usize, value.span.end as usize)
            {
                self.out.push_str(&inline);
                return;
            }
        }
        match &value.kind {
            ValueKind::List(items) => {
                self.out.push_str("[\n");
                for item in items {
                    self.leading(item.span.start as usize, depth + 1, None);
                    self.out.push_str(&INDENT.repeat(depth + 1));
                    self.value(item, depth + 1, (depth + 1) * INDENT.len());
                    self.out.push(',');
                    self.trailing_after_comma(item.span.end as usize);
                    self.out.push('\n');
                }
                self.leading(value.span.end as usize, depth + 1, None);
                self.out.push_str(&INDENT.repeat(depth));
                self.out.push(']');
            }
            ValueKind::Map(entries) => {
                self.out.push_str("{\n");
                let width = entries
                    .iter()
                    .map(|e| map_key(&e.key.text).len())
                    .max()
                    .unwrap_or(0);
                for entry in entries {
                    self.leading(entry.key.span.start as usize, depth + 1, None);
                    self.out.push_str(&INDENT.repeat(depth + 1));
                    self.out
                        .push_str(&format!("{:<width$} = ", map_key(&entry.key.text)));
                    self.value(
                        &entry.value,
                        depth + 1,
                        (depth + 1) * INDENT.len() + width + 3,
                    );
                    self.trailing(entry.value.span.end as usize);
                    self.out.push('\n');
                }
                self.leading(value.span.end as usize, depth + 1, None);
                self.out.push_str(&INDENT.repeat(depth));
                self.out.push('}');
            }
            ValueKind::Constructor { name, body } => {
                self.out.push_str(&name.text);
                self.out.push(' ');
                self.body(body, depth);
            }
            ValueKind::Paren(inner) => {
                self.out.push('(');
                self.value(inner, depth, column + 1);
                self.out.push(')');
            }
            ValueKind::Binary { op, lhs, rhs } => {
                self.value(lhs, depth, column);
                self.out.push_str(&format!(" {} ", op.symbol()));
                self.value(rhs, depth, column);
            }
            ValueKind::Range { lo, hi } => {
                self.value(lo, depth, column);
                self.out.push_str("..");
                self.value(hi, depth, column);
            }
            ValueKind::Connected {
                lhs,
                connector,
                rhs,
            } => {
                self.value(lhs, depth, column);
                self.out.push_str(&format!(" {} ", connector.word()));
                self.value(rhs, depth, column);
            }
            ValueKind::Every(inner) => {
                self.out.push_str("every ");
                self.value(inner, depth, column + 6);
            }
            _ => {
                let text = self.inline_value(value).unwrap_or_default();
                self.out.push_str(&text);
            }
        }
    }

    /// A comment after `element,` on the same line.
    fn trailing_after_comma(&mut self, end: usize) {
        let comma = self.src[end..].find(',').map_or(end, |i| end + i + 1);
        let end = if self.src[end..comma]
            .trim_matches([' ', '\t', ','])
            .is_empty()
        {
            comma
        } else {
            end
        };
        self.trailing(end);
    }

    /// The one-line form of a value, if it has one.
    fn inline_value(&self, value: &Value) -> Option<String> {
        Some(match &value.kind {
            ValueKind::String(s) => quote(s),
            ValueKind::Quantity { number, unit } => quantity(number, unit),
            ValueKind::List(items) => {
                let parts: Option<Vec<String>> =
                    items.iter().map(|v| self.inline_value(v)).collect();
                format!("[{}]", parts?.join(", "))
            }
            ValueKind::Map(entries) => {
                if entries.is_empty() {
                    return Some("{}".to_string());
                }
                let parts: Option<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        Some(format!(
                            "{} = {}",
                            map_key(&e.key.text),
                            self.inline_value(&e.value)?
                        ))
                    })
                    .collect();
                format!("{{ {} }}", parts?.join(", "))
            }
            ValueKind::AccelCount { name, count } => format!("{} x {count}", name.text),
            ValueKind::Constructor { name, body } => {
                format!("{} {}", name.text, self.inline_body(body, 0)?)
            }
            ValueKind::Path(_) => value.path_text().unwrap_or_default(),
            ValueKind::Binary { op, lhs, rhs } => format!(
                "{} {} {}",
                self.inline_value(lhs)?,
                op.symbol(),
                self.inline_value(rhs)?
            ),
            ValueKind::Range { lo, hi } => {
                format!("{}..{}", self.inline_value(lo)?, self.inline_value(hi)?)
            }
            ValueKind::Connected {
                lhs,
                connector,
                rhs,
            } => format!(
                "{} {} {}",
                self.inline_value(lhs)?,
                connector.word(),
                self.inline_value(rhs)?
            ),
            ValueKind::Every(inner) => format!("every {}", self.inline_value(inner)?),
            ValueKind::Paren(inner) => format!("({})", self.inline_value(inner)?),
        })
    }
}

/// Width of the key column for each statement: attributes in one run (no blank line,
/// comment or block between them) share the widest key of the run.
fn key_widths(stmts: &[Stmt], src: &str) -> Vec<usize> {
    let mut widths = vec![0; stmts.len()];
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, widths: &mut Vec<usize>| {
        let max = run.iter().map(|&i| key_len(&stmts[i])).max().unwrap_or(0);
        for &i in run.iter() {
            widths[i] = max;
        }
        run.clear();
    };
    for (i, stmt) in stmts.iter().enumerate() {
        let breaks = match (i.checked_sub(1).map(|p| &stmts[p]), stmt) {
            (_, Stmt::Attr(_)) if i == 0 => false,
            (Some(prev), Stmt::Attr(_)) => {
                let gap = &src[prev.span().end as usize..stmt.span().start as usize];
                // At most one newline: no blank line and no comment line in between.
                gap.matches('\n').count() >= 2 || !matches!(prev, Stmt::Attr(_))
            }
            _ => true,
        };
        if breaks {
            flush(&mut run, &mut widths);
        }
        if matches!(stmt, Stmt::Attr(_)) {
            run.push(i);
        }
    }
    flush(&mut run, &mut widths);
    widths
}

fn key_len(stmt: &Stmt) -> usize {
    match stmt {
        Stmt::Attr(a) => a.key.text.len(),
        _ => 0,
    }
}

fn quantity(number: &str, unit: &UnitExpr) -> String {
    let mut text = number.to_string();
    let tight = |u: &str| matches!(u, "%" | "x" | "K" | "M");
    match &unit.numer {
        Some(n) if tight(&n.text) => text.push_str(&n.text),
        Some(n) => {
            text.push(' ');
            text.push_str(&n.text);
        }
        None => {}
    }
    if let Some(d) = &unit.denom {
        match &unit.numer {
            Some(n) if !tight(&n.text) => text.push('/'),
            _ => text.push_str(" / "),
        }
        text.push_str(&d.text);
    }
    text
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Map keys print bare when they are identifiers, quoted otherwise.
fn map_key(key: &str) -> String {
    let mut chars = key.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        key.to_string()
    } else {
        quote(key)
    }
}
