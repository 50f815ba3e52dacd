//! pest parse and lowering of pest pairs into the owned AST. Pairs never leave this file.

use super::ast::*;
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
use pest::iterators::Pair;
use pest::Parser;
use std::collections::HashMap;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/mlc.pest"]
struct MlcParser;

/// Start offsets of comments keyed by their end offset (both absolute in the file).
pub type CommentEnds = HashMap<usize, usize>;

/// Items and the diagnostics of lowering them, or the syntax error that stopped the parse.
pub type Parsed = Result<(Vec<Item>, Vec<Diagnostic>), Diagnostic>;

/// Parses `text` (which starts at byte `base` of file `file`) into items.
pub fn parse_items(file: FileId, text: &str, base: usize, comments: &CommentEnds) -> Parsed {
    let mut pairs =
        MlcParser::parse(Rule::file, text).map_err(|e| syntax_error(file, text, base, e))?;
    let mut lower = Lower {
        file,
        base,
        text,
        comments,
        diagnostics: Vec::new(),
    };
    let mut items = Vec::new();
    if let Some(file_pair) = pairs.next() {
        for pair in file_pair.into_inner() {
            match pair.as_rule() {
                Rule::import => items.push(Item::Import(lower.import(pair))),
                Rule::declaration => items.push(Item::Decl(lower.decl(pair))),
                _ => {}
            }
        }
    }
    Ok((items, lower.diagnostics))
}

struct Lower<'a> {
    file: FileId,
    base: usize,
    text: &'a str,
    comments: &'a CommentEnds,
    diagnostics: Vec<Diagnostic>,
}

impl Lower<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let span = pair.as_span();
        let end = if ends_with_optional_part(pair.as_rule()) {
            self.trim_end(span.start(), span.end())
        } else {
            span.end()
        };
        Span::new(self.file, self.base + span.start(), self.base + end)
    }

    /// Moves `end` back over the whitespace and comments pest skips before an optional
    /// trailing part (`a ~ b?` consumes the whitespace even when `b` is absent).
    fn trim_end(&self, start: usize, mut end: usize) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            while end > start && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            match self.comments.get(&(self.base + end)) {
                Some(&comment_start) if comment_start >= self.base + start => {
                    end = comment_start - self.base
                }
                _ => return end,
            }
        }
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            text: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn import(&mut self, pair: Pair<Rule>) -> Import {
        let span = self.span(&pair);
        let string = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::string)
            .map(|p| (self.span(&p), self.string(p)));
        let (path_span, path) = string.unwrap_or((span, String::new()));
        Import {
            path,
            path_span,
            span,
        }
    }

    fn decl(&mut self, pair: Pair<Rule>) -> Decl {
        let span = self.span(&pair);
        let mut idents = Vec::new();
        let mut body = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => idents.push(self.ident(inner)),
                Rule::body => body = Some(self.body(inner)),
                _ => {}
            }
        }
        let mut idents = idents.into_iter();
        let kind = idents.next().unwrap_or(Ident {
            text: String::new(),
            span,
        });
        Decl {
            kind,
            name: idents.next(),
            body: body.unwrap_or(Body {
                stmts: Vec::new(),
                span,
            }),
            span,
        }
    }

    fn body(&mut self, pair: Pair<Rule>) -> Body {
        let span = self.span(&pair);
        let stmts = pair.into_inner().filter_map(|p| self.stmt(p)).collect();
        Body { stmts, span }
    }

    fn stmt(&mut self, pair: Pair<Rule>) -> Option<Stmt> {
        let span = self.span(&pair);
        Some(match pair.as_rule() {
            Rule::attribute => {
                let mut inner = pair.into_inner();
                let key = self.ident(inner.next()?);
                let value = self.value(inner.next()?);
                Stmt::Attr(Attr { key, value, span })
            }
            Rule::block => Stmt::Block(self.decl(pair)),
            Rule::alert => {
                let mut values = pair.into_inner().filter(|p| p.as_rule() == Rule::value);
                let at = self.value(values.next()?);
                let notify = self.value(values.next()?);
                Stmt::Alert(Alert { at, notify, span })
            }
            Rule::require => {
                let mut conditions = Vec::new();
                let mut body = None;
                for inner in pair.into_inner() {
                    match inner.as_rule() {
                        Rule::condition => conditions.push(self.condition(inner)?),
                        Rule::body => body = Some(self.body(inner)),
                        _ => {}
                    }
                }
                Stmt::Require(Require {
                    conditions,
                    body,
                    span,
                })
            }
            _ => return None,
        })
    }

    fn condition(&mut self, pair: Pair<Rule>) -> Option<Condition> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let subject = self.ident(inner.next()?);
        let test = match inner.next() {
            Some(t) => {
                let is_in = t.as_rule() == Rule::condition_in;
                let simple = t.into_inner().find(|p| p.as_rule() == Rule::simple_value)?;
                let value = self.simple_value(simple)?;
                Some(if is_in {
                    ConditionTest::In(value)
                } else {
                    ConditionTest::Eq(value)
                })
            }
            None => None,
        };
        Some(Condition {
            subject,
            test,
            span,
        })
    }

    fn simple_value(&mut self, pair: Pair<Rule>) -> Option<Value> {
        let inner = pair.into_inner().next()?;
        Some(self.term(inner))
    }

    /// A value's children are flat (the grammar's `range_or_sum` and `sum` are silent,
    /// which keeps parsing fast): terms, operators, `..` and at most one connector.
    fn value(&mut self, pair: Pair<Rule>) -> Value {
        let span = self.span(&pair);
        let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        if let Some(every) = parts.first().filter(|p| p.as_rule() == Rule::every) {
            let inner: Vec<Pair<Rule>> = every
                .clone()
                .into_inner()
                .filter(|p| p.as_rule() != Rule::kw_every)
                .collect();
            let Some(sum) = self.sum(&inner) else {
                return self.empty(span);
            };
            return Value {
                kind: ValueKind::Every(Box::new(sum)),
                span,
            };
        }
        let split = parts.iter().position(|p| p.as_rule() == Rule::connector);
        let (left, right) = match split {
            Some(i) => (&parts[..i], Some((&parts[i], &parts[i + 1..]))),
            None => (&parts[..], None),
        };
        let Some(lhs) = self.range_or_sum(left) else {
            return self.empty(span);
        };
        let Some((connector, right)) = right else {
            return lhs;
        };
        let connector = if connector.as_str().starts_with("via") {
            Connector::Via
        } else {
            Connector::Fallback
        };
        let Some(rhs) = self.range_or_sum(right) else {
            return self.empty(span);
        };
        Value {
            kind: ValueKind::Connected {
                lhs: Box::new(lhs),
                connector,
                rhs: Box::new(rhs),
            },
            span,
        }
    }

    fn empty(&self, span: Span) -> Value {
        Value {
            kind: ValueKind::List(Vec::new()),
            span,
        }
    }

    fn range_or_sum(&mut self, parts: &[Pair<Rule>]) -> Option<Value> {
        match parts.iter().position(|p| p.as_rule() == Rule::range_op) {
            Some(i) => {
                let lo = self.sum(&parts[..i])?;
                let hi = self.sum(&parts[i + 1..])?;
                let span = lo.span.join(hi.span);
                Some(Value {
                    kind: ValueKind::Range {
                        lo: Box::new(lo),
                        hi: Box::new(hi),
                    },
                    span,
                })
            }
            None => self.sum(parts),
        }
    }

    /// `term (op term)*` with the usual precedence: `*` binds tighter than `+` and `-`;
    /// operators of equal precedence group to the left.
    fn sum(&mut self, parts: &[Pair<Rule>]) -> Option<Value> {
        let (first, rest) = parts.split_first()?;
        let mut addends: Vec<(BinOp, Value)> = vec![(BinOp::Add, self.term(first.clone()))];
        for chunk in rest.chunks(2) {
            let [op, rhs] = chunk else { break };
            let rhs = self.term(rhs.clone());
            match op.as_str() {
                "*" => {
                    let (sign, lhs) = addends.pop()?;
                    addends.push((sign, binary(BinOp::Mul, lhs, rhs)));
                }
                "-" => addends.push((BinOp::Sub, rhs)),
                _ => addends.push((BinOp::Add, rhs)),
            }
        }
        let mut addends = addends.into_iter();
        let (_, mut acc) = addends.next()?;
        for (op, rhs) in addends {
            acc = binary(op, acc, rhs);
        }
        Some(acc)
    }

    fn term(&mut self, pair: Pair<Rule>) -> Value {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ValueKind::String(self.string(pair)),
            Rule::quantity => self.quantity(pair),
            Rule::list => ValueKind::List(pair.into_inner().map(|p| self.value(p)).collect()),
            Rule::map => ValueKind::Map(
                pair.into_inner()
                    .filter_map(|entry| {
                        let mut inner = entry.into_inner();
                        let key = inner.next()?;
                        let key = if key.as_rule() == Rule::string {
                            Ident {
                                span: self.span(&key),
                                text: self.string(key),
                            }
                        } else {
                            self.ident(key)
                        };
                        let value = self.value(inner.next()?);
                        Some(MapEntry { key, value })
                    })
                    .collect(),
            ),
            Rule::accel_count => {
                let mut inner = pair.into_inner();
                let name = inner.next().map(|p| self.ident(p));
                let count = inner.next();
                match (name, count) {
                    (Some(name), Some(count)) => {
                        let count_span = self.span(&count);
                        let parsed = count.as_str().parse::<u64>();
                        let count = parsed.unwrap_or_else(|_| {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    codes::OUT_OF_RANGE_NUMBER,
                                    count_span,
                                    "accelerator count is too large",
                                )
                                .label("not representable"),
                            );
                            0
                        });
                        ValueKind::AccelCount { name, count }
                    }
                    _ => ValueKind::List(Vec::new()),
                }
            }
            Rule::constructor => {
                let mut inner = pair.into_inner();
                match (inner.next(), inner.next()) {
                    (Some(name), Some(body)) => ValueKind::Constructor {
                        name: self.ident(name),
                        body: self.body(body),
                    },
                    _ => ValueKind::List(Vec::new()),
                }
            }
            Rule::path => ValueKind::Path(pair.into_inner().map(|p| self.ident(p)).collect()),
            Rule::paren => match pair.into_inner().next() {
                Some(inner) => ValueKind::Paren(Box::new(self.value(inner))),
                None => ValueKind::List(Vec::new()),
            },
            _ => ValueKind::List(Vec::new()),
        };
        Value { kind, span }
    }

    fn quantity(&mut self, pair: Pair<Rule>) -> ValueKind {
        let mut number = String::new();
        let mut unit = UnitExpr {
            numer: None,
            denom: None,
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::number => number = inner.as_str().to_string(),
                Rule::unit => unit.numer = Some(self.ident(inner)),
                Rule::per_unit => unit.denom = Some(self.ident(inner)),
                _ => {}
            }
        }
        ValueKind::Quantity { number, unit }
    }

    /// The unescaped contents of a string literal.
    fn string(&mut self, pair: Pair<Rule>) -> String {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((j, other)) => {
                    let start = span.start as usize + 1 + i;
                    let at =
                        Span::new(span.file, start, start + 1 + (j - i - 1) + other.len_utf8());
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::BAD_ESCAPE,
                            at,
                            format!("invalid escape `\\{other}` in string"),
                        )
                        .label("unknown escape")
                        .help("use `\\\"`, `\\\\`, `\\n` or `\\t`"),
                    );
                }
                None => {}
            }
        }
        out
    }
}

fn binary(op: BinOp, lhs: Value, rhs: Value) -> Value {
    let span = lhs.span.join(rhs.span);
    Value {
        kind: ValueKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    }
}

/// Rules whose pest span can end in skipped whitespace or comments.
fn ends_with_optional_part(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::value
            | Rule::every
            | Rule::attribute
            | Rule::condition
            | Rule::condition_in
            | Rule::condition_eq
            | Rule::simple_value
            | Rule::require
            | Rule::alert
            | Rule::import
    )
}

/// Turns pest's error into an E0001 diagnostic with friendly rule names.
fn syntax_error(
    file: FileId,
    text: &str,
    base: usize,
    error: pest::error::Error<Rule>,
) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = found_token(text, pos);
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| friendly(*r)).collect();
            names.sort_unstable();
            names.dedup();
            collapse_value_forms(names)
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let expected_text = match expected.len() {
        0 => "valid syntax".to_string(),
        1 => expected[0].to_string(),
        _ => {
            let (last, rest) = expected.split_last().unwrap_or((&"", &[]));
            format!("{} or {}", rest.join(", "), last)
        }
    };
    let end = (pos + found.len().max(1)).min(text.len()).max(pos);
    let span = Span::new(file, base + pos, base + end);
    let found_text = if found.is_empty() {
        "end of file".to_string()
    } else {
        format!("`{found}`")
    };
    Diagnostic::new(
        codes::SYNTAX,
        span,
        format!("expected {expected_text}, found {found_text}"),
    )
    .label(format!("expected {expected_text}"))
    .help(syntax_help(&expected, found))
}

/// "a list, a map entry, a name, a number or a string" says less than "a value".
fn collapse_value_forms(names: Vec<&'static str>) -> Vec<&'static str> {
    const FORMS: &[&str] = &[
        "`(`",
        "a list",
        "a map entry",
        "a name",
        "a number",
        "a string",
        "a block value",
        "an accelerator count",
    ];
    if names.iter().filter(|n| FORMS.contains(n)).count() < 3 {
        return names;
    }
    let mut rest: Vec<&str> = names.into_iter().filter(|n| !FORMS.contains(n)).collect();
    rest.push("a value");
    rest.sort_unstable();
    rest.dedup();
    rest
}

fn syntax_help(expected: &[&str], found: &str) -> String {
    if found.starts_with('\'') {
        "strings use double quotes: \"text\"".to_string()
    } else if found == ";" {
        "separate statements with a new line or a comma, not `;`".to_string()
    } else if expected.contains(&"`}`") && expected.len() <= 3 {
        "a block holds `key = value` lines, nested blocks, and closes with `}`".to_string()
    } else if expected.contains(&"a value") {
        "values are numbers with units (`4 TB`), strings, names, lists `[a, b]`, ranges `1..4` or blocks `adamw { lr = 1e-3 }`".to_string()
    } else {
        "declarations look like `kind name { key = value }`; see docs/language.md".to_string()
    }
}

fn found_token(text: &str, pos: usize) -> &str {
    let rest = text.get(pos..).unwrap_or("");
    let rest = rest.trim_end_matches(['\n', '\r']);
    let first = match rest.chars().next() {
        Some(c) => c,
        None => return "",
    };
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    &rest[..len]
}

fn friendly(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import | Rule::kw_import => "`import`",
        Rule::declaration => "a declaration",
        Rule::body => "`{`",
        Rule::attribute | Rule::statement_list => "an attribute",
        Rule::block => "a block",
        Rule::alert | Rule::kw_alert => "`alert`",
        Rule::kw_at => "`at`",
        Rule::kw_notify => "`notify`",
        Rule::require | Rule::kw_require => "`require`",
        Rule::condition => "a condition",
        Rule::kw_in => "`in`",
        Rule::value
        | Rule::range_or_sum
        | Rule::sum
        | Rule::simple_value
        | Rule::every
        | Rule::kw_every => "a value",
        Rule::connector => "`via` or `fallback`",
        Rule::range_op => "`..`",
        Rule::add_op => "an operator",
        Rule::string | Rule::string_inner => "a string",
        Rule::quantity | Rule::number | Rule::integer => "a number",
        Rule::unit | Rule::per_unit => "a unit",
        Rule::list => "a list",
        Rule::map | Rule::map_entry => "a map entry",
        Rule::accel_count => "an accelerator count",
        Rule::constructor => "a block value",
        Rule::path | Rule::ident | Rule::segment => "a name",
        Rule::paren => "`(`",
        _ => return None,
    })
}
