//! The resource graph as Graphviz DOT: one node per declaration with the classes of
//! data that reach it, data edges labelled with their monthly volume, a note on each
//! node where classes stop (de-identification) and why, and its planned placement when
//! the spec plans. The lines come from [`super::draw`], shared with the SVG renderer.

use super::draw::{self, Drawing, Placements};
use super::{NodeKind, ResourceGraph};
use std::fmt::Write;

/// The graph without placements (what `mlc graph` prints when there is no plan).
pub fn render(graph: &ResourceGraph, title: &str) -> String {
    to_dot(&draw::draw(graph, title, &Placements::new()))
}

/// Renders a drawing; the output is deterministic (model order, then edge order).
pub fn to_dot(drawing: &Drawing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&drawing.title));
    out.push_str("  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (i, node) in drawing.nodes.iter().enumerate() {
        let _ = writeln!(
            out,
            "  n{i} [label={}, shape={}{}];",
            quote(&node.lines.join("\n")),
            shape(node.kind),
            if node.stops_classes {
                ", style=dashed"
            } else {
                ""
            }
        );
    }
    for edge in &drawing.edges {
        let _ = writeln!(
            out,
            "  n{} -> n{} [label={}];",
            edge.from,
            edge.to,
            quote(&edge.label)
        );
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
