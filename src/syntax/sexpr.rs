//! A span-free rendering of the AST as S-expressions. Two files mean the same thing to
//! the compiler exactly when their S-expressions are equal; tests compare them, and
//! `mlc check --dump-ast` prints them.

use super::ast::*;
use std::fmt::Write;

pub fn file(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        match item {
            Item::Import(import) => {
                let _ = writeln!(out, "(import {:?})", import.path);
            }
            Item::Decl(decl_) => {
                decl(&mut out, decl_, 0);
                out.push('\n');
            }
        }
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    out.push_str(&"  ".repeat(depth));
}

fn decl(out: &mut String, decl: &Decl, depth: usize) {
    indent(out, depth);
    let _ = write!(out, "({}", decl.kind.text);
    if let Some(name) = &decl.name {
        let _ = write!(out, " {}", name.text);
    }
    body(out, &decl.body, depth);
    out.push(')');
}

fn body(out: &mut String, block_body: &Body, depth: usize) {
    for stmt in &block_body.stmts {
        out.push('\n');
        match stmt {
            Stmt::Attr(attr) => {
                indent(out, depth + 1);
                let _ = write!(out, "(= {} {})", attr.key.text, value(&attr.value));
            }
            Stmt::Block(block) => decl(out, block, depth + 1),
            Stmt::Alert(alert) => {
                indent(out, depth + 1);
                let _ = write!(out, "(alert {} {})", value(&alert.at), value(&alert.notify));
            }
            Stmt::Require(require) => {
                indent(out, depth + 1);
                out.push_str("(require");
                for c in &require.conditions {
                    let _ = write!(out, " ({}", c.subject.text);
                    match &c.test {
                        Some(ConditionTest::In(v)) => {
                            let _ = write!(out, " in {}", value(v));
                        }
                        Some(ConditionTest::Eq(v)) => {
                            let _ = write!(out, " = {}", value(v));
                        }
                        None => {}
                    }
                    out.push(')');
                }
                if let Some(b) = &require.body {
                    body(out, b, depth + 1);
                }
                out.push(')');
            }
        }
    }
}

pub fn value(v: &Value) -> String {
    match &v.kind {
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Quantity { number, unit } => {
            let mut s = format!("(q {number}");
            if let Some(n) = &unit.numer {
                let _ = write!(s, " {}", n.text);
            }
            if let Some(d) = &unit.denom {
                let _ = write!(s, " / {}", d.text);
            }
            s.push(')');
            s
        }
        ValueKind::List(items) => {
            let inner: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", inner.join(" "))
        }
        ValueKind::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|e| format!("({:?} {})", e.key.text, value(&e.value)))
                .collect();
            format!("{{{}}}", inner.join(" "))
        }
        ValueKind::AccelCount { name, count } => format!("(x {} {count})", name.text),
        ValueKind::Constructor { name, body: b } => {
            let mut s = format!("(new {}", name.text);
            body(&mut s, b, 0);
            s.push(')');
            s.replace('\n', " ")
        }
        ValueKind::Path(_) => v.path_text().unwrap_or_default(),
        ValueKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), value(lhs), value(rhs))
        }
        ValueKind::Range { lo, hi } => format!("(.. {} {})", value(lo), value(hi)),
        ValueKind::Connected {
            lhs,
            connector,
            rhs,
        } => {
            format!("({} {} {})", connector.word(), value(lhs), value(rhs))
        }
        ValueKind::Every(inner) => format!("(every {})", value(inner)),
        ValueKind::Paren(inner) => value(inner),
    }
}
