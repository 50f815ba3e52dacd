//! Checking one attribute value against its schema type, producing a typed `Val` with
//! units normalised. Every failure is a diagnostic; the value then becomes `None`.

use super::schema::{Ctor, RefKind, Ty};
use super::suggest::did_you_mean;
use super::units::{self, Dim, Exact, Quantity, UnitError, Which};
use super::{Symbols, Val};
use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{BinOp, Connector, Value, ValueKind};

pub struct ValueChecker<'a> {
    pub symbols: &'a Symbols,
    pub diagnostics: &'a mut Vec<Diagnostic>,
}

impl ValueChecker<'_> {
    pub fn check(&mut self, ty: &Ty, value: &Value) -> Option<Val> {
        if let ValueKind::Paren(inner) = &value.kind {
            return self.check(ty, inner);
        }
        match ty {
            Ty::Str => match &value.kind {
                ValueKind::String(s) => Some(Val::Str(s.clone())),
                _ => self.mismatch(ty, value),
            },
            Ty::Int => self.int(value),
            Ty::Number => {
                let q = self.quantity(value, ty)?;
                self.expect_dim(q, Dim::NUMBER, value)
                    .map(|q| Val::Num(q.value))
            }
            Ty::Bool => match value.path_text().as_deref() {
                Some("on" | "true" | "yes" | "enabled") => Some(Val::Bool(true)),
                Some("off" | "false" | "no" | "disabled") => Some(Val::Bool(false)),
                Some(other) => self.unknown_word(other, &["on", "off"], value.span),
                None => self.mismatch(ty, value),
            },
            Ty::Qty(dim) => {
                let q = self.quantity(value, ty)?;
                self.expect_dim(q, *dim, value).map(Val::Qty)
            }
            Ty::Word(words) => self.word(words, value),
            Ty::Ref(kind) => self.reference(*kind, value),
            Ty::List(inner) => match &value.kind {
                ValueKind::List(items) => {
                    let checked: Vec<_> = items
                        .iter()
                        .map(|v| self.check(inner, v).map(|c| (c, v.span)))
                        .collect();
                    self.warn_duplicates(items, inner);
                    checked
                        .into_iter()
                        .collect::<Option<Vec<_>>>()
                        .map(Val::List)
                }
                _ => self.mismatch(ty, value),
            },
            Ty::Map => match &value.kind {
                ValueKind::Map(entries) => {
                    let mut map = std::collections::BTreeMap::new();
                    for entry in entries {
                        if map.contains_key(&entry.key.text) {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    codes::DUPLICATE_ATTRIBUTE,
                                    entry.key.span,
                                    format!("key `{}` set twice", entry.key.text),
                                )
                                .label("repeated key"),
                            );
                        }
                        let text = match &entry.value.kind {
                            ValueKind::String(s) => s.clone(),
                            _ => entry
                                .value
                                .path_text()
                                .or_else(|| self.mismatch::<String>(&Ty::Str, &entry.value))?,
                        };
                        map.insert(entry.key.text.clone(), text);
                    }
                    Some(Val::Map(map))
                }
                _ => self.mismatch(ty, value),
            },
            Ty::Range(inner) => match &value.kind {
                ValueKind::Binary {
                    op: BinOp::Sub,
                    lhs,
                    rhs,
                } if is_plain_number(lhs) && is_plain_number(rhs) => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::TYPE_MISMATCH,
                            value.span,
                            "expected a range, found a subtraction",
                        )
                        .label("`-` subtracts")
                        .help("ranges are written with `..`, e.g. `2..20`"),
                    );
                    None
                }
                ValueKind::Range { lo, hi } => {
                    let (lo_v, hi_v) = (self.check(inner, lo), self.check(inner, hi));
                    let (lo_v, hi_v) = (lo_v?, hi_v?);
                    if let (Some(a), Some(b)) = (lo_v.as_exact(), hi_v.as_exact()) {
                        if a > b {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    codes::INVERTED_RANGE,
                                    value.span,
                                    "range minimum is larger than its maximum",
                                )
                                .label("minimum exceeds maximum")
                                .help("write the range as `min..max`"),
                            );
                            return None;
                        }
                    }
                    Some(Val::Range(Box::new(lo_v), Box::new(hi_v)))
                }
                _ => {
                    let single = self.check(inner, value)?;
                    Some(Val::Range(Box::new(single.clone()), Box::new(single)))
                }
            },
            Ty::Accel => match &value.kind {
                ValueKind::AccelCount { name, count } => {
                    self.resolve(RefKind::Accelerator, &[name.text.as_str()], name.span)?;
                    Some(Val::Accel(name.text.clone(), *count))
                }
                _ => self.mismatch(ty, value),
            },
            Ty::Ctor(ctors) => self.constructor(ctors, value),
            Ty::Via(left, right) => match &value.kind {
                ValueKind::Connected {
                    lhs,
                    connector: Connector::Via,
                    rhs,
                } => {
                    let l = self.word_text(left, lhs)?;
                    let r = self.word_text(right, rhs)?;
                    Some(Val::Via(l, Some(r)))
                }
                ValueKind::Path(_) => Some(Val::Via(self.word_text(left, value)?, None)),
                _ => self.mismatch(ty, value),
            },
            Ty::Fallback(words) => match &value.kind {
                ValueKind::Connected {
                    lhs,
                    connector: Connector::Fallback,
                    rhs,
                } => {
                    let l = self.word_text(words, lhs)?;
                    let r = self.word_text(words, rhs)?;
                    Some(Val::Fallback(l, Some(r)))
                }
                ValueKind::Path(_) => Some(Val::Fallback(self.word_text(words, value)?, None)),
                _ => self.mismatch(ty, value),
            },
            Ty::Every(dim) => match &value.kind {
                ValueKind::Every(inner) => {
                    let q = self.quantity(inner, ty)?;
                    let q = self.expect_dim(q, *dim, inner)?;
                    self.positive(q.value, inner.span)?;
                    Some(Val::Every(q))
                }
                _ => self.mismatch(ty, value),
            },
            Ty::Either(a, b) => {
                if shape_fits(a, value) {
                    self.check(a, value)
                } else if shape_fits(b, value) {
                    self.check(b, value)
                } else {
                    self.mismatch(ty, value)
                }
            }
        }
    }

    fn int(&mut self, value: &Value) -> Option<Val> {
        let q = self.quantity(value, &Ty::Int)?;
        let q = self.expect_dim(q, Dim::NUMBER, value)?;
        match q.value.as_integer() {
            Some(n) => Some(Val::Int(n)),
            None => {
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::NOT_INTEGER,
                        value.span,
                        format!("expected a whole number, found `{}`", q.value),
                    )
                    .label("not a whole number"),
                );
                None
            }
        }
    }

    /// Evaluates a numeric expression to a normalised quantity.
    pub fn quantity(&mut self, value: &Value, expected: &Ty) -> Option<Quantity> {
        match &value.kind {
            ValueKind::Quantity { number, unit } => {
                let numer = unit.numer.as_ref().map(|i| i.text.as_str());
                let denom = unit.denom.as_ref().map(|i| i.text.as_str());
                match units::quantity(number, numer, denom) {
                    Ok(q) => Some(q),
                    Err(UnitError::UnknownUnit { which }) => {
                        let ident = match which {
                            Which::Numerator => unit.numer.as_ref(),
                            Which::Denominator => unit.denom.as_ref(),
                        }?;
                        let mut d = Diagnostic::new(
                            codes::UNKNOWN_UNIT,
                            ident.span,
                            format!("unknown unit `{}`", ident.text),
                        )
                        .label("not a unit");
                        d = d.help(units::unit_help(&ident.text));
                        self.diagnostics.push(d);
                        None
                    }
                    Err(UnitError::Overflow) => self.overflow(value.span),
                    Err(UnitError::BadDenominator) => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                codes::UNKNOWN_UNIT,
                                value.span,
                                "this unit cannot be divided",
                            )
                            .label("percentages and multipliers take no `/`"),
                        );
                        None
                    }
                }
            }
            ValueKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.quantity(lhs, expected), self.quantity(rhs, expected));
                let (l, r) = (l?, r?);
                self.arithmetic(*op, l, r, lhs, rhs, value.span)
            }
            ValueKind::Paren(inner) => self.quantity(inner, expected),
            _ => self.mismatch(expected, value),
        }
    }

    fn arithmetic(
        &mut self,
        op: BinOp,
        l: Quantity,
        r: Quantity,
        lhs: &Value,
        rhs: &Value,
        span: Span,
    ) -> Option<Quantity> {
        let result = match op {
            BinOp::Add | BinOp::Sub => {
                if l.dim != r.dim {
                    let (verb, sign) = if op == BinOp::Add {
                        ("add", "+")
                    } else {
                        ("subtract", "-")
                    };
                    // One label under each operand: a label over the whole expression
                    // would overlap them, and miette then draws them past its end.
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::INCOMPATIBLE_UNITS,
                            lhs.span,
                            format!(
                                "cannot {verb} a {} and a {}",
                                l.dim.describe(),
                                r.dim.describe()
                            ),
                        )
                        .label(format!("this is a {}", l.dim.describe()))
                        .secondary(rhs.span, format!("this is a {}", r.dim.describe()))
                        .help(format!(
                            "both sides of `{sign}` need the same kind of quantity, e.g. `4 TB {sign} 512 GB` or `1 h {sign} 30 min`"
                        )),
                    );
                    return None;
                }
                let r_value = if op == BinOp::Sub {
                    r.value.checked_neg()
                } else {
                    Some(r.value)
                };
                r_value
                    .and_then(|rv| l.value.checked_add(rv))
                    .map(|v| Quantity {
                        value: v,
                        dim: l.dim,
                    })
            }
            BinOp::Mul => {
                let dim = if l.dim == Dim::NUMBER {
                    r.dim
                } else if r.dim == Dim::NUMBER {
                    l.dim
                } else {
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::INCOMPATIBLE_UNITS,
                            span,
                            format!(
                                "cannot multiply a {} by a {}",
                                l.dim.describe(),
                                r.dim.describe()
                            ),
                        )
                        .label("one side must be a plain number")
                        .help(
                            "scale a quantity by a plain number, e.g. `2 * 30 min` or `4 TB * 3`",
                        ),
                    );
                    return None;
                };
                l.value
                    .checked_mul(r.value)
                    .map(|v| Quantity { value: v, dim })
            }
        };
        result.or_else(|| self.overflow(span))
    }

    fn overflow<T>(&mut self, span: Span) -> Option<T> {
        self.diagnostics.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE_NUMBER,
                span,
                "number is too large to represent exactly",
            )
            .label("out of range")
            .help("use a larger unit or fewer digits"),
        );
        None
    }

    fn expect_dim(&mut self, q: Quantity, dim: Dim, value: &Value) -> Option<Quantity> {
        if q.dim == dim {
            return Some(q);
        }
        let found = article(q.dim.describe());
        let message = format!("expected {}, found {found}", article(dim.describe()));
        let help = if dim == Dim::NUMBER {
            "remove the unit".to_string()
        } else if q.dim == Dim::NUMBER {
            format!("write it with a unit, e.g. `{}`", dim.example())
        } else {
            format!("use a unit of {}, e.g. `{}`", dim.describe(), dim.example())
        };
        self.diagnostics.push(
            Diagnostic::new(codes::WRONG_DIMENSION, value.span, message)
                .label("wrong unit")
                .help(help),
        );
        None
    }

    pub fn positive(&mut self, value: Exact, span: Span) -> Option<()> {
        if value.is_positive() {
            return Some(());
        }
        self.diagnostics.push(
            Diagnostic::new(codes::NOT_POSITIVE, span, "value must be greater than zero")
                .label("not positive"),
        );
        None
    }

    fn word(&mut self, words: &'static [&'static str], value: &Value) -> Option<Val> {
        self.word_text(words, value).map(Val::Word)
    }

    fn word_text(&mut self, words: &'static [&'static str], value: &Value) -> Option<String> {
        match value.path_text() {
            Some(text) if words.contains(&text.as_str()) => Some(text),
            Some(text) => self.unknown_word(&text, words, value.span),
            None => self.mismatch(&Ty::Word(words), value),
        }
    }

    fn unknown_word<T>(&mut self, text: &str, words: &[&str], span: Span) -> Option<T> {
        let help = match did_you_mean(text, words.iter().copied()) {
            Some(s) => format!("{s} expected one of: {}", words.join(", ")),
            None => format!("expected one of: {}", words.join(", ")),
        };
        self.diagnostics.push(
            Diagnostic::new(
                codes::UNKNOWN_VALUE,
                span,
                format!("unknown value `{text}`"),
            )
            .label("not allowed here")
            .help(help),
        );
        None
    }

    fn constructor(&mut self, ctors: &'static [Ctor], value: &Value) -> Option<Val> {
        let (name, body) = match &value.kind {
            ValueKind::Constructor { name, body } => (name, Some(body)),
            ValueKind::Path(parts) if parts.len() == 1 => (&parts[0], None),
            _ => return self.mismatch(&Ty::Ctor(ctors), value),
        };
        let Some(ctor) = ctors.iter().find(|c| c.name == name.text) else {
            let names: Vec<&str> = ctors.iter().map(|c| c.name).collect();
            let help = match did_you_mean(&name.text, names.iter().copied()) {
                Some(s) => format!("{s} expected one of: {}", names.join(", ")),
                None => format!("expected one of: {}", names.join(", ")),
            };
            self.diagnostics.push(
                Diagnostic::new(
                    codes::UNKNOWN_BLOCK,
                    name.span,
                    format!("unknown kind `{}`", name.text),
                )
                .label("not allowed here")
                .help(help),
            );
            return None;
        };
        let fields = match body {
            Some(body) => super::fields::check_body(
                self.symbols,
                self.diagnostics,
                ctor.attrs,
                &[],
                body,
                &format_args!("`{}`", ctor.name),
                name.span,
            )?,
            None => super::fields::check_missing_only(
                self.diagnostics,
                ctor.attrs,
                &format_args!("`{}`", ctor.name),
                value.span,
            )?,
        };
        Some(Val::Ctor(ctor.name.to_string(), fields))
    }

    fn reference(&mut self, kind: RefKind, value: &Value) -> Option<Val> {
        let ValueKind::Path(parts) = &value.kind else {
            if let Some(text) = hyphenated(value) {
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::TYPE_MISMATCH,
                        value.span,
                        format!("expected {}, found `{text}`", kind.describe()),
                    )
                    .label("`-` is subtraction here")
                    .help(format!(
                        "names use underscores: `{}`",
                        text.replace('-', "_")
                    )),
                );
                return None;
            }
            return self.mismatch(&Ty::Ref(kind), value);
        };
        let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
        self.resolve(kind, &texts, value.span)
    }

    /// Resolves a dotted reference against the symbol table.
    pub fn resolve(&mut self, kind: RefKind, parts: &[&str], span: Span) -> Option<Val> {
        use RefKind::*;
        let joined = parts.join(".");
        match (kind, parts) {
            (Dataset | Train | Onprem, [prefix, name]) => {
                let want = decl_kind(kind);
                if *prefix == want {
                    if self.symbols.has(want, name) {
                        return Some(Val::Ref(want.to_string(), name.to_string()));
                    }
                    let help = super::suggest::closest(name, self.symbols.names(want))
                        .map(|n| format!("did you mean `{want}.{n}`?"));
                    return self.unknown_ref(&joined, kind, span, help);
                }
                if self.symbols.has(prefix, name) || super::schema::kind(prefix).is_some() {
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::WRONG_REFERENCE_KIND,
                            span,
                            format!("`{joined}` is not {}", kind.describe()),
                        )
                        .label(format!("this is a `{prefix}`"))
                        .help(format!("this attribute needs {}", kind.describe())),
                    );
                    return None;
                }
                self.unknown_ref(&joined, kind, span, None)
            }
            (Location, ["onprem", name]) => self.resolve(Onprem, &["onprem", name], span),
            (Input, ["dataset", name]) => self.resolve(Dataset, &["dataset", name], span),
            (Input, ["train", name]) => self.resolve(Train, &["train", name], span),
            (Input, [prefix, _])
                if self.symbols.has(prefix, parts[1]) || super::schema::kind(prefix).is_some() =>
            {
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::WRONG_REFERENCE_KIND,
                        span,
                        format!("`{joined}` is not {}", kind.describe()),
                    )
                    .label(format!("this is a `{prefix}`"))
                    .help("a batch job reads datasets (`dataset.name`) and trained models (`train.name`)"),
                );
                None
            }
            (Location | Region, [cloud, region]) => {
                if !self.symbols.has("cloud", cloud) {
                    let help = did_you_mean(cloud, self.symbols.names("cloud"));
                    return self.unknown_ref(&joined, kind, span, help);
                }
                if self.symbols.has_region(cloud, region) {
                    return Some(Val::Ref(cloud.to_string(), region.to_string()));
                }
                if let Some(other) = self.symbols.cloud_of_region(region) {
                    let help = Some(format!(
                        "`{region}` is a region of `{other}`: `{other}.{region}`"
                    ));
                    return self.unknown_ref(&joined, kind, span, help);
                }
                let help = super::suggest::closest(region, self.symbols.region_names(cloud))
                    .map(|r| format!("did you mean `{cloud}.{r}`?"));
                self.unknown_ref(&joined, kind, span, help)
            }
            (Cloud | Geography | Framework | Accelerator, [name]) => {
                let want = decl_kind(kind);
                if self.symbols.has(want, name) {
                    return Some(Val::Ref(want.to_string(), name.to_string()));
                }
                let help = did_you_mean(name, self.symbols.names(want));
                self.unknown_ref(&joined, kind, span, help)
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::TYPE_MISMATCH,
                        span,
                        format!("expected {}, found `{joined}`", kind.describe()),
                    )
                    .label("wrong form of reference"),
                );
                None
            }
        }
    }

    fn unknown_ref<T>(
        &mut self,
        text: &str,
        kind: RefKind,
        span: Span,
        help: Option<String>,
    ) -> Option<T> {
        let mut d = Diagnostic::new(
            codes::UNKNOWN_REFERENCE,
            span,
            format!("unknown reference `{text}`"),
        )
        .label(format!("expected {}", kind.describe()));
        if let Some(h) = help {
            d = d.help(h);
        }
        self.diagnostics.push(d);
        None
    }

    fn warn_duplicates(&mut self, items: &[Value], inner: &Ty) {
        if !matches!(inner, Ty::Ref(_) | Ty::Word(_)) {
            return;
        }
        let mut seen = std::collections::BTreeSet::new();
        for item in items {
            if let Some(text) = item.path_text() {
                if !seen.insert(text.clone()) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::DUPLICATE_ENTRY,
                            item.span,
                            format!("`{text}` is listed twice"),
                        )
                        .label("repeated entry")
                        .help("remove the repeat"),
                    );
                }
            }
        }
    }

    pub fn mismatch<T>(&mut self, ty: &Ty, value: &Value) -> Option<T> {
        let expected = match ty {
            Ty::Word([]) => "a word".to_string(),
            other => other.describe(),
        };
        let mut d = Diagnostic::new(
            codes::TYPE_MISMATCH,
            value.span,
            format!("expected {expected}, found {}", describe_value(value)),
        )
        .label(format!("expected {expected}"));
        if let Some(help) = mismatch_help(ty, value) {
            d = d.help(help);
        }
        self.diagnostics.push(d);
        None
    }
}

/// A hint for the common shape mistakes: a single value for a list, quotes around a
/// word, a bare word for a string.
fn mismatch_help(ty: &Ty, value: &Value) -> Option<String> {
    match (ty, &value.kind) {
        (Ty::List(_), kind) if !matches!(kind, ValueKind::List(_)) => {
            let text = value.path_text().unwrap_or_else(|| "...".to_string());
            Some(format!("write a list, even of one item: `[{text}]`"))
        }
        (Ty::Word(_) | Ty::Fallback(_) | Ty::Via(..) | Ty::Ref(_), ValueKind::String(text)) => {
            Some(format!("names are written without quotes: `{text}`"))
        }
        (Ty::Str, ValueKind::Path(_)) => value
            .path_text()
            .map(|t| format!("strings are quoted: `\"{t}\"`")),
        _ => None,
    }
}

fn decl_kind(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Dataset => "dataset",
        RefKind::Train => "train",
        RefKind::Onprem => "onprem",
        RefKind::Cloud | RefKind::Region | RefKind::Location => "cloud",
        RefKind::Input => "dataset",
        RefKind::Geography => "geography",
        RefKind::Framework => "framework",
        RefKind::Accelerator => "accelerator",
    }
}

fn shape_fits(ty: &Ty, value: &Value) -> bool {
    matches!(
        (ty, &value.kind),
        (Ty::Str, ValueKind::String(_))
            | (Ty::Ref(_), ValueKind::Path(_))
            | (Ty::List(_), ValueKind::List(_))
    )
}

/// `eu-west-1` as written, when a name with hyphens was read as a subtraction.
fn hyphenated(value: &Value) -> Option<String> {
    match &value.kind {
        ValueKind::Binary {
            op: BinOp::Sub,
            lhs,
            rhs,
        } => Some(format!("{}-{}", hyphenated(lhs)?, hyphenated(rhs)?)),
        ValueKind::Path(_) => value.path_text(),
        ValueKind::Quantity { number, unit } => match &unit.numer {
            Some(u) if unit.denom.is_none() => Some(format!("{number}{}", u.text)),
            None if unit.denom.is_none() => Some(number.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn is_plain_number(value: &Value) -> bool {
    matches!(&value.kind, ValueKind::Quantity { unit, .. } if unit.numer.is_none() && unit.denom.is_none())
}

/// "a size", "an amount of money".
fn article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

pub fn describe_value(value: &Value) -> String {
    match &value.kind {
        ValueKind::String(_) => "a string".into(),
        ValueKind::Quantity { unit, .. } if unit.numer.is_none() && unit.denom.is_none() => {
            "a number".into()
        }
        ValueKind::Quantity { .. } | ValueKind::Binary { .. } => "a quantity".into(),
        ValueKind::List(_) => "a list".into(),
        ValueKind::Map(_) => "a map".into(),
        ValueKind::AccelCount { .. } => "an accelerator count".into(),
        ValueKind::Constructor { name, .. } => format!("a `{}` block", name.text),
        ValueKind::Path(_) => format!("`{}`", value.path_text().unwrap_or_default()),
        ValueKind::Range { .. } => "a range".into(),
        ValueKind::Connected { connector, .. } => format!("a `{}` phrase", connector.word()),
        ValueKind::Every(_) => "an `every` interval".into(),
        ValueKind::Paren(inner) => describe_value(inner),
    }
}
