//! Checking the statements of a body (a declaration, a nested block or a constructor)
//! against its attribute schema.

use super::schema::{Attr, BlockSchema};
use super::suggest::{closest, did_you_mean};
use super::units::{Dim, Exact};
use super::value::ValueChecker;
use super::{Fields, NamedBlock, Symbols, Val};
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Body, Stmt};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Checks `body` against `attrs` and `blocks`. Alerts and rules are left to the caller
/// (see `statements_allowed`), which reports them when they are out of place.
pub fn check_body(
    symbols: &Symbols,
    diagnostics: &mut Vec<Diagnostic>,
    attrs: &'static [Attr],
    blocks: &'static [BlockSchema],
    body: &Body,
    what: &dyn std::fmt::Display,
    header: Span,
) -> Option<Fields> {
    let mut fields = Fields {
        span: body.span,
        ..Fields::default()
    };
    // Bodies are small: a vector beats hashing here.
    let mut seen: Vec<(&'static str, Span)> = Vec::new();
    let mut misspelt: Vec<&'static str> = Vec::new();
    for stmt in &body.stmts {
        match stmt {
            Stmt::Attr(attr) => {
                let Some(schema) = attrs.iter().find(|a| a.name == attr.key.text) else {
                    unknown_attribute(
                        diagnostics,
                        attrs,
                        blocks,
                        &attr.key.text,
                        attr.key.span,
                        what,
                    );
                    // A misspelt required attribute is not also "missing".
                    if let Some(meant) = closest(&attr.key.text, attrs.iter().map(|a| a.name)) {
                        misspelt.push(meant);
                    }
                    continue;
                };
                if let Some(&(_, first)) = seen.iter().find(|(name, _)| *name == schema.name) {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::DUPLICATE_ATTRIBUTE,
                            attr.key.span,
                            format!("`{}` is set twice", schema.name),
                        )
                        .label("set again here")
                        .secondary(first, "first set here")
                        .help("remove one of them"),
                    );
                    continue;
                }
                seen.push((schema.name, attr.key.span));
                let mut checker = ValueChecker {
                    symbols,
                    diagnostics,
                };
                if let Some(val) = checker.check(&schema.ty, &attr.value) {
                    fields.values.insert(schema.name, (val, attr.value.span));
                }
            }
            Stmt::Block(block) => {
                let Some(schema) = blocks.iter().find(|b| b.name == block.kind.text) else {
                    unknown_block(
                        diagnostics,
                        attrs,
                        blocks,
                        &block.kind.text,
                        block.kind.span,
                        what,
                    );
                    continue;
                };
                if schema.named != block.name.is_some() {
                    let message = if schema.named {
                        format!("`{}` block needs a name", schema.name)
                    } else {
                        format!("`{}` block takes no name", schema.name)
                    };
                    diagnostics.push(
                        Diagnostic::new(codes::NAME_RULE, block.kind.span, message).label("here"),
                    );
                    continue;
                }
                let key = block.name.as_ref().map_or(schema.name.to_string(), |n| {
                    format!("{} {}", schema.name, n.text)
                });
                if let Some(first) = fields.blocks.iter().find(|b| b.key() == key) {
                    diagnostics.push(
                        Diagnostic::new(
                            codes::DUPLICATE_ATTRIBUTE,
                            block.kind.span,
                            format!("block `{key}` appears twice"),
                        )
                        .label("again here")
                        .secondary(first.span, "first here"),
                    );
                    continue;
                }
                let inner_what = format_args!("`{}` block", schema.name);
                if let Some(inner) = check_body(
                    symbols,
                    diagnostics,
                    schema.attrs,
                    &[],
                    &block.body,
                    &inner_what as &dyn std::fmt::Display,
                    block.kind.span,
                ) {
                    fields.blocks.push(NamedBlock {
                        kind: schema.name,
                        name: block.name.as_ref().map(|n| n.text.clone()),
                        span: block.span,
                        fields: inner,
                    });
                }
            }
            Stmt::Alert(_) | Stmt::Require(_) => {}
        }
    }
    let present: Vec<&str> = seen.iter().map(|(name, _)| *name).chain(misspelt).collect();
    missing_and_defaults(diagnostics, attrs, &mut fields, &present, what, header);
    Some(fields)
}

/// A constructor written without a body (`access = rbac`): defaults only.
pub fn check_missing_only(
    diagnostics: &mut Vec<Diagnostic>,
    attrs: &'static [Attr],
    what: &dyn std::fmt::Display,
    header: Span,
) -> Option<Fields> {
    let mut fields = Fields {
        span: header,
        ..Fields::default()
    };
    missing_and_defaults(diagnostics, attrs, &mut fields, &[], what, header);
    Some(fields)
}

/// Reports required attributes that were not written (an attribute that was written
/// but failed its check has been reported already) and fills in defaults.
fn missing_and_defaults(
    diagnostics: &mut Vec<Diagnostic>,
    attrs: &'static [Attr],
    fields: &mut Fields,
    present: &[&str],
    what: &dyn std::fmt::Display,
    header: Span,
) {
    for attr in attrs {
        if fields.values.contains_key(attr.name) || present.contains(&attr.name) {
            continue;
        }
        if attr.required {
            diagnostics.push(
                Diagnostic::new(
                    codes::MISSING_ATTRIBUTE,
                    header,
                    format!("{what} is missing required attribute `{}`", attr.name),
                )
                .label(format!("needs `{}`", attr.name))
                .help(format!(
                    "add `{} = ...` ({}): {}",
                    attr.name,
                    attr.ty.describe(),
                    attr.doc
                )),
            );
        } else if let Some(val) = default_value(attr) {
            fields.values.insert(attr.name, (val, header));
            fields.defaulted.push(attr.name);
        }
    }
}

fn unknown_attribute(
    diagnostics: &mut Vec<Diagnostic>,
    attrs: &[Attr],
    blocks: &[BlockSchema],
    name: &str,
    span: Span,
    what: &dyn std::fmt::Display,
) {
    let mut d = Diagnostic::new(
        codes::UNKNOWN_ATTRIBUTE,
        span,
        format!("unknown attribute `{name}` in {what}"),
    )
    .label("unknown attribute");
    if name.starts_with("alert") && attrs.iter().any(|a| a.name == "monthly") {
        d = d.help(
            "alerts are statements: `alert at [50%, 80%, 100%] notify \"finops@example.com\"`",
        );
    } else if let Some(block) = blocks.iter().find(|b| b.name == name) {
        d = d.help(format!(
            "`{}` is a block: write `{} {{ ... }}` without `=`",
            block.name, block.name
        ));
    } else if let Some(s) = did_you_mean(name, attrs.iter().map(|a| a.name)) {
        d = d.help(s);
    } else {
        let names: Vec<&str> = attrs.iter().map(|a| a.name).collect();
        d = d.help(format!("known attributes: {}", names.join(", ")));
    }
    diagnostics.push(d);
}

fn unknown_block(
    diagnostics: &mut Vec<Diagnostic>,
    attrs: &[Attr],
    blocks: &[BlockSchema],
    name: &str,
    span: Span,
    what: &dyn std::fmt::Display,
) {
    let mut d = Diagnostic::new(
        codes::UNKNOWN_BLOCK,
        span,
        format!("unknown block `{name}` in {what}"),
    )
    .label("unknown block");
    if attrs.iter().any(|a| a.name == name) {
        d = d.help(format!("`{name}` is an attribute: write `{name} = ...`"));
    } else if let Some(s) = closest(name, blocks.iter().map(|b| b.name)) {
        d = d.help(format!("did you mean `{s}`?"));
    } else if blocks.is_empty() {
        d = d.help(format!("{what} takes no nested blocks"));
    } else {
        let names: Vec<&str> = blocks.iter().map(|b| b.name).collect();
        d = d.help(format!("known blocks: {}", names.join(", ")));
    }
    diagnostics.push(d);
}

/// The checked value of an attribute's default, parsed once from the schema's text.
fn default_value(attr: &'static Attr) -> Option<Val> {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<usize, Option<Val>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = attr as *const Attr as usize;
    if let Ok(guard) = cache.lock() {
        if let Some(v) = guard.get(&key) {
            return v.clone();
        }
    }
    let computed = compute_default(attr);
    if let Ok(mut guard) = cache.lock() {
        guard.insert(key, computed.clone());
    }
    computed
}

fn compute_default(attr: &'static Attr) -> Option<Val> {
    let text = format!("d {{ x = {} }}", attr.default?);
    let (file, diagnostics) = crate::syntax::parse(FileId(u32::MAX), &text);
    if !diagnostics.is_empty() {
        return None;
    }
    let crate::syntax::ast::Item::Decl(decl) = file.items.first()? else {
        return None;
    };
    let Stmt::Attr(a) = decl.body.stmts.first()? else {
        return None;
    };
    let symbols = Symbols::default();
    let mut sink = Vec::new();
    let val = ValueChecker {
        symbols: &symbols,
        diagnostics: &mut sink,
    }
    .check(&attr.ty, &a.value);
    if sink.is_empty() {
        val
    } else {
        None
    }
}

/// Percent thresholds as exact numbers, for `alert at [...]`.
pub fn percent_list(val: &Val) -> Vec<Exact> {
    match val {
        Val::List(items) => items
            .iter()
            .filter_map(|(v, _)| match v {
                Val::Qty(q) if q.dim == Dim::Percent => Some(q.value),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::compute_default;
    use crate::check::schema::{Attr, Ty, KINDS, RULE_ATTRS};

    /// Every attribute of the schema, constructor attributes included, with where it is.
    fn all_attrs() -> Vec<(String, &'static Attr)> {
        fn visit(place: &str, attrs: &'static [Attr], out: &mut Vec<(String, &'static Attr)>) {
            for attr in attrs {
                out.push((format!("{place}.{}", attr.name), attr));
                let mut ty = &attr.ty;
                while let Ty::List(inner) | Ty::Range(inner) = ty {
                    ty = inner;
                }
                if let Ty::Ctor(ctors) = ty {
                    for ctor in *ctors {
                        visit(
                            &format!("{place}.{}={}", attr.name, ctor.name),
                            ctor.attrs,
                            out,
                        );
                    }
                }
            }
        }
        let mut out = Vec::new();
        for kind in KINDS {
            visit(kind.kind, kind.attrs, &mut out);
            for block in kind.blocks {
                visit(
                    &format!("{}.{}", kind.kind, block.name),
                    block.attrs,
                    &mut out,
                );
            }
        }
        visit("require", RULE_ATTRS, &mut out);
        out
    }

    /// A default that does not parse or check against its own type would otherwise
    /// vanish silently: the attribute would just be absent from the checked fields.
    #[test]
    fn every_schema_default_checks_against_its_type() {
        let attrs = all_attrs();
        assert!(attrs.len() > 100, "only {} attributes found", attrs.len());
        let broken: Vec<String> = attrs
            .iter()
            .filter_map(|(place, attr)| {
                let text = attr.default?;
                compute_default(attr)
                    .is_none()
                    .then(|| format!("{place} = {text} ({})", attr.ty.describe()))
            })
            .collect();
        assert!(broken.is_empty(), "malformed schema defaults: {broken:#?}");
    }

    #[test]
    fn a_malformed_default_is_detected() {
        static BAD: [Attr; 3] = [
            Attr {
                name: "a",
                ty: Ty::Int,
                required: false,
                default: Some("2.5"),
                doc: "",
            },
            Attr {
                name: "b",
                ty: Ty::Word(&["on_demand"]),
                required: false,
                default: Some("ondemand"),
                doc: "",
            },
            Attr {
                name: "c",
                ty: Ty::Int,
                required: false,
                default: Some("{"),
                doc: "",
            },
        ];
        for attr in &BAD {
            assert!(
                compute_default(attr).is_none(),
                "{} was accepted",
                attr.name
            );
        }
    }
}
