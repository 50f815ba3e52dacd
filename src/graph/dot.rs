//! The resource graph as Graphviz DOT: one node per declaration with the classes of
//! data that reach it, data edges labelled with their monthly volume, and a note on
//! each node where classes stop (de-identification) and why.

use super::{EdgeKind, NodeKind, ResourceGraph};
use std::fmt::Write;

/// Renders the graph; the output is deterministic (model order, then edge order).
pub fn render(graph: &ResourceGraph, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(title));
    out.push_str("  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (i, node) in graph.nodes().enumerate() {
        let mut label = format!("{} {}", node.kind.keyword(), node.name);
        if !node.classes.is_empty() {
            let classes: Vec<&str> = node.classes.iter().map(String::as_str).collect();
            let _ = write!(label, "\nclasses: {}", classes.join(", "));
        }
        for stop in &node.stopped {
            let _ = write!(label, "\n{} stops here: {}", stop.class, stop.method);
        }
        let _ = writeln!(
            out,
            "  n{i} [label={}, shape={}{}];",
            quote(&label),
            shape(node.kind),
            if node.stopped.is_empty() {
                ""
            } else {
                ", style=dashed"
            }
        );
    }
    let position: std::collections::HashMap<(NodeKind, &str), usize> = graph
        .nodes()
        .enumerate()
        .map(|(i, n)| ((n.kind, n.name.as_str()), i))
        .collect();
    for (from, to, edge) in graph.edges_with_weights() {
        let (Some(a), Some(b)) = (
            position.get(&(from.kind, from.name.as_str())),
            position.get(&(to.kind, to.name.as_str())),
        ) else {
            continue;
        };
        let label = match edge.kind {
            EdgeKind::Hosts => "hosts".to_string(),
            EdgeKind::Data => volume(edge.bytes_per_month),
        };
        let _ = writeln!(out, "  n{a} -> n{b} [label={}];", quote(&label));
    }
    out.push_str("}\n");
    out
}

fn shape(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Dataset => "cylinder",
        NodeKind::Onprem => "house",
        NodeKind::Train | NodeKind::Batch => "box",
        NodeKind::Service | NodeKind::Function => "ellipse",
    }
}

/// Monthly volume in decimal units, as clouds bill egress.
pub fn volume(bytes_per_month: f64) -> String {
    let units = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)];
    for (unit, size) in units {
        if bytes_per_month >= size {
            return format!("{:.1} {unit}/month", bytes_per_month / size);
        }
    }
    format!("{bytes_per_month:.0} B/month")
}

/// A DOT string literal: quotes and backslashes escaped, newlines as `\n`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_escape_everything_dot_would_read() {
        assert_eq!(super::quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
