//! The resource graph as SVG, laid out and drawn in pure Rust by `layout-rs`, so
//! `mlc graph --format svg` needs no Graphviz. It draws the same [`Drawing`] as the DOT
//! renderer: the same lines on the same nodes, the same edge labels.
//!
//! Each node's shape sits in `<g class="node" id="nI" data-node="kind.name">` (I is its
//! index in the DOT output too), so tools and tests can find it.

use super::draw::{printable, Drawing};
use super::NodeKind;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

/// One font size for everything drawn: layout-rs keeps a CSS class per size in a
/// `HashMap` and prints them in its order, so a single size keeps the output
/// deterministic (`Canvas` enforces it).
const FONT_SIZE: usize = 14;

/// Average width of a character, in font sizes (the serif font layout-rs styles text with).
const CHAR_WIDTH: f64 = 0.55;

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// Renders a drawing as a standalone SVG document (deterministic for the same drawing).
pub fn to_svg(drawing: &Drawing) -> String {
    if drawing.nodes.is_empty() {
        // layout-rs needs at least one node (its placer counts levels from one).
        return format!(
            "{XML_DECLARATION}\n<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n</svg>\n",
            escape(&printable(&drawing.title))
        );
    }
    let direction = Orientation::LeftToRight;
    let mut graph = VisualGraph::new(direction);
    let handles: Vec<_> = drawing
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            // As layout-rs's own DOT builder does: shapes take the flipped orientation.
            let orientation = direction.flip();
            // Drawings from `draw` are printable already; one built by hand may not be.
            let lines: Vec<String> = node.lines.iter().map(|l| printable(l)).collect();
            let shape = ShapeKind::Box(lines.join("\n"));
            let size = box_size(&lines);
            let properties = format!(
                "class=\"node\" id=\"n{i}\" data-node=\"{}\"",
                escape(&format!("{}.{}", node.kind.keyword(), node.name))
            );
            let element =
                Element::create_with_properties(shape, look(node), orientation, size, properties);
            graph.add_node(element)
        })
        .collect();
    for edge in &drawing.edges {
        let (Some(&from), Some(&to)) = (handles.get(edge.from), handles.get(edge.to)) else {
            continue;
        };
        if from == to {
            continue;
        }
        let style = StyleAttr::new(Color::fast("dimgray"), 1, None, 0, FONT_SIZE);
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            LineStyleKind::Normal,
            &printable(&edge.label),
            &style,
            &None,
            &None,
        );
        graph.add_edge(arrow, from, to);
    }
    let mut canvas = Canvas::default();
    graph.do_it(false, false, false, &mut canvas);
    canvas.finish(&printable(&drawing.title))
}

/// layout-rs's `SVGWriter`, plus the true extent of what it draws: the writer grows its
/// canvas by ten pixels *down* per character of every label, so a long label made the
/// image mostly blank. The document's `<svg>` tag is rewritten with this extent.
#[derive(Default)]
struct Canvas {
    writer: SVGWriter,
    width: f64,
    height: f64,
}

/// `look` at [`FONT_SIZE`]: layout-rs draws some labels (of reversed edges) at its own
/// default size, which would add a second CSS class in `HashMap` order.
fn one_font(look: &StyleAttr) -> StyleAttr {
    let mut look = look.clone();
    look.font_size = FONT_SIZE;
    look
}

/// Blank margin right of and below the drawing.
const MARGIN: f64 = 10.0;

impl Canvas {
    fn cover(&mut self, x: f64, y: f64) {
        if x.is_finite() && y.is_finite() {
            self.width = self.width.max(x);
            self.height = self.height.max(y);
        }
    }

    /// The SVG document: our `<svg>` tag and `<title>`, then layout-rs's content.
    fn finish(self, title: &str) -> String {
        let svg = self.writer.finalize();
        let (width, height) = ((self.width + MARGIN).ceil(), (self.height + MARGIN).ceil());
        let tag = format!(
            "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
            escape(title)
        );
        let mut out = String::from(XML_DECLARATION);
        out.push('\n');
        match svg
            .find("<svg")
            .and_then(|at| svg[at..].find('>').map(|end| at + end + 1))
        {
            Some(end) => {
                out.push_str(&tag);
                out.push_str(svg[end..].trim_start_matches('\n'));
            }
            // Not what layout-rs writes; keep its document rather than guess.
            None => out.push_str(&svg),
        }
        out.push('\n');
        out
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.cover(xy.x + size.x, xy.y + size.y);
        self.writer.draw_rect(xy, size, look, properties, clip);
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.cover(start.x, start.y);
        self.cover(stop.x, stop.y);
        self.writer.draw_line(start, stop, look, properties);
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.cover(xy.x + size.x / 2.0, xy.y + size.y / 2.0);
        self.writer.draw_circle(xy, size, look, properties);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // Centred on `xy`, one line per em (as `SVGWriter::draw_text` places them).
        let lines = text.lines().count();
        let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let font = look.font_size as f64;
        self.cover(
            xy.x + longest as f64 * font * CHAR_WIDTH / 2.0,
            xy.y + (lines + 1) as f64 * font / 2.0,
        );
        self.writer.draw_text(xy, text, &one_font(look));
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        for (point, control) in path {
            self.cover(point.x, point.y);
            self.cover(control.x, control.y);
        }
        self.writer
            .draw_arrow(path, dashed, head, &one_font(look), properties, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.writer.create_clip(xy, size, rounded_px)
    }
}

/// Room for the label: layout-rs's own estimate (a font size per character) makes boxes
/// about twice as wide as the text in the serif font it draws with, so estimate closer.
fn box_size(lines: &[String]) -> Point {
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let font = FONT_SIZE as f64;
    Point::new(
        (longest as f64 * font * CHAR_WIDTH + font * 2.0).round(),
        lines.len().max(1) as f64 * font + font * 1.5,
    )
}

/// How a node looks: datasets and sites are stores, jobs are white boxes, services and
/// functions are rounded; a node where classes stop gets a green outline.
fn look(node: &super::draw::DrawnNode) -> StyleAttr {
    let (fill, rounded) = match node.kind {
        NodeKind::Dataset => ("aliceblue", 0),
        NodeKind::Onprem => ("lightyellow", 0),
        NodeKind::Train | NodeKind::Batch => ("white", 0),
        NodeKind::Service | NodeKind::Function => ("lavender", 12),
    };
    let (line, width) = if node.stops_classes {
        ("darkgreen", 3)
    } else {
        ("black", 1)
    };
    StyleAttr::new(
        Color::fast(line),
        width,
        Some(Color::fast(fill)),
        rounded,
        FONT_SIZE,
    )
}

/// XML text and attribute escaping for what we write ourselves (layout-rs escapes the
/// labels it draws).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::draw::{Drawing, DrawnEdge, DrawnNode};
    use super::*;

    fn node(kind: NodeKind, name: &str, lines: &[&str]) -> DrawnNode {
        DrawnNode {
            kind,
            name: name.into(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
            stops_classes: false,
        }
    }

    #[test]
    fn empty_and_single_node_drawings_are_svg() {
        let mut drawing = Drawing {
            title: "t<&>".into(),
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let svg = to_svg(&drawing);
        assert!(svg.contains("<title>t&lt;&amp;&gt;</title>"), "{svg}");
        drawing
            .nodes
            .push(node(NodeKind::Dataset, "d", &["dataset d"]));
        let svg = to_svg(&drawing);
        assert_eq!(svg.matches("class=\"node\"").count(), 1, "{svg}");
        assert!(svg.contains("<title>t&lt;&amp;&gt;</title>"), "{svg}");
    }

    #[test]
    fn labels_are_escaped_and_output_is_deterministic() {
        let drawing = Drawing {
            title: "p".into(),
            nodes: vec![
                node(
                    NodeKind::Dataset,
                    "a",
                    &["dataset a", "x stops here: k<5 & \"q\""],
                ),
                node(NodeKind::Train, "b", &["train b"]),
                node(NodeKind::Service, "c", &["service c"]),
            ],
            edges: vec![
                DrawnEdge {
                    from: 0,
                    to: 1,
                    label: "1.0 TB/month".into(),
                },
                DrawnEdge {
                    from: 1,
                    to: 2,
                    label: "<&>".into(),
                },
                DrawnEdge {
                    from: 0,
                    to: 2,
                    label: "x".into(),
                },
            ],
        };
        let svg = to_svg(&drawing);
        assert!(svg.contains("k&lt;5 &amp; &quot;q&quot;"), "{svg}");
        assert!(svg.contains("&lt;&amp;&gt;"), "{svg}");
        assert!(!svg.contains("k<5"), "{svg}");
        for _ in 0..5 {
            assert_eq!(to_svg(&drawing), svg);
        }
    }
}
