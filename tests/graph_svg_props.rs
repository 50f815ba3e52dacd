//! The SVG renderer never panics and always writes well-formed XML with one node group
//! per node, whatever the drawing: generated graphs (fans, chains, parallel edges, even
//! cycles and self-loops, which `check` rules out but the renderer must survive), free
//! strings full of markup and control characters, and every spec of the ui corpus and
//! the examples that compiles.

use mlc::graph::draw::{self, Drawing, DrawnEdge, DrawnNode, Placements};
use mlc::graph::svg::to_svg;
use mlc::graph::NodeKind;
use proptest::prelude::*;

fn node_groups(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("node"))
        .count()
}

fn kind() -> impl Strategy<Value = NodeKind> {
    prop_oneof![
        Just(NodeKind::Dataset),
        Just(NodeKind::Train),
        Just(NodeKind::Service),
        Just(NodeKind::Function),
        Just(NodeKind::Batch),
        Just(NodeKind::Onprem),
    ]
}

/// Label text: markup, quotes, CDATA ends, control characters, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("<".to_string()),
            Just("&amp;".to_string()),
            Just("\"'".to_string()),
            Just("]]>".to_string()),
            Just("\n".to_string()),
            Just("\u{1}\u{FFFF}".to_string()),
            Just("é漢".to_string()),
            "[a-z ]{0,12}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn drawing() -> impl Strategy<Value = Drawing> {
    (1usize..12)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec((kind(), text(), any::<bool>()), n),
                proptest::collection::vec((0..n, 0..n, text()), 0..(2 * n)),
                text(),
            )
        })
        .prop_map(|(nodes, edges, title)| Drawing {
            title,
            nodes: nodes
                .into_iter()
                .enumerate()
                .map(|(i, (kind, line, stops))| DrawnNode {
                    kind,
                    name: format!("n{i}"),
                    lines: vec![format!("{} n{i}", kind.keyword()), line],
                    stops_classes: stops,
                })
                .collect(),
            edges: edges
                .into_iter()
                .map(|(from, to, label)| DrawnEdge { from, to, label })
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_drawing_renders_as_xml(drawing in drawing()) {
        let svg = to_svg(&drawing);
        prop_assert_eq!(node_groups(&svg), drawing.nodes.len());
        prop_assert_eq!(to_svg(&drawing), svg);
    }
}

#[test]
fn every_clean_spec_of_the_corpus_renders() {
    let mut files: Vec<std::path::PathBuf> = ["tests/ui", "tests/ui/policy", "examples"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).expect("corpus dir").flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    files.sort();
    let mut drawn = 0;
    for path in &files {
        let options = mlc::check::LoadOptions::default();
        let Ok(c) = mlc::compile::compile(&mlc::check::FsWorld, path, &options) else {
            continue;
        };
        let (Some(graph), false) = (c.graph.as_ref(), c.has_errors()) else {
            continue;
        };
        let drawing = draw::draw(graph, "t", &Placements::new());
        let svg = to_svg(&drawing);
        assert_eq!(node_groups(&svg), drawing.nodes.len(), "{}", path.display());
        drawn += 1;
    }
    assert!(drawn >= 20, "only {drawn} specs compiled cleanly");
}
