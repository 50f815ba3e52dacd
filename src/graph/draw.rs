//! What `mlc graph` draws, whatever the format: per node its label lines and look, per
//! edge its label. The DOT and SVG renderers both read a [`Drawing`], so they say the
//! same things about the same nodes.

use super::{EdgeKind, NodeKind, ResourceGraph};
use std::collections::BTreeMap;

/// Planned placement lines per node (`plan::render::placements_by_node`); empty when
/// the spec does not plan.
pub type Placements = BTreeMap<(NodeKind, String), Vec<String>>;

/// A graph ready to render: nodes in model order, edges in graph order.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    pub title: String,
    pub nodes: Vec<DrawnNode>,
    pub edges: Vec<DrawnEdge>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrawnNode {
    pub kind: NodeKind,
    pub name: String,
    /// `kind name`, then the classes that reach it, the classes that stop here and why,
    /// then its planned placement(s). Free of control characters.
    pub lines: Vec<String>,
    /// Some class stops here (a `deidentified` node): drawn dashed / highlighted.
    pub stops_classes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrawnEdge {
    /// Indices into [`Drawing::nodes`].
    pub from: usize,
    pub to: usize,
    /// `hosts`, or the bytes a data edge moves per month.
    pub label: String,
}

/// Lays out the labels of `graph`; `placements` adds the plan's lines to each node.
pub fn draw(graph: &ResourceGraph, title: &str, placements: &Placements) -> Drawing {
    let nodes: Vec<DrawnNode> = graph
        .nodes()
        .map(|node| {
            let mut lines = vec![format!("{} {}", node.kind.keyword(), node.name)];
            if !node.classes.is_empty() {
                let classes: Vec<&str> = node.classes.iter().map(String::as_str).collect();
                lines.push(format!("classes: {}", classes.join(", ")));
            }
            for stop in &node.stopped {
                lines.push(format!("{} stops here: {}", stop.class, stop.method));
            }
            if let Some(placed) = placements.get(&(node.kind, node.name.clone())) {
                lines.extend(placed.iter().cloned());
            }
            DrawnNode {
                kind: node.kind,
                name: node.name.clone(),
                lines: lines.iter().map(|l| printable(l)).collect(),
                stops_classes: !node.stopped.is_empty(),
            }
        })
        .collect();
    let position: BTreeMap<(NodeKind, &str), usize> = graph
        .nodes()
        .enumerate()
        .map(|(i, n)| ((n.kind, n.name.as_str()), i))
        .collect();
    let mut edges: Vec<DrawnEdge> = Vec::new();
    for (from, to, edge) in graph.edges_with_weights() {
        let (Some(&a), Some(&b)) = (
            position.get(&(from.kind, from.name.as_str())),
            position.get(&(to.kind, to.name.as_str())),
        ) else {
            continue;
        };
        let label = match edge.kind {
            EdgeKind::Hosts => "hosts".to_string(),
            EdgeKind::Data => volume(edge.bytes_per_month),
        };
        // Two edges between the same nodes become one with both labels: the SVG layout
        // cannot route parallel edges, and one arrow per pair reads better anyway.
        match edges.iter_mut().find(|e| e.from == a && e.to == b) {
            Some(existing) => {
                existing.label.push_str(", ");
                existing.label.push_str(&label);
            }
            None => edges.push(DrawnEdge {
                from: a,
                to: b,
                label,
            }),
        }
    }
    Drawing {
        title: printable(title),
        nodes,
        edges,
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

/// One label line as every format can carry it: methods and images are free strings
/// that may hold newlines, tabs or raw control characters, which would split a line
/// (DOT, SVG) or make the SVG ill-formed XML (control characters and U+FFFE/U+FFFF are
/// not allowed in XML 1.0). Whitespace controls become a space, the rest U+FFFD.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn printable_keeps_text_and_drops_controls() {
        assert_eq!(printable("k <= 5 & \"x\""), "k <= 5 & \"x\"");
        assert_eq!(printable("a\nb\tc\u{1}d\u{FFFF}"), "a b c\u{FFFD}d\u{FFFD}");
    }
}
