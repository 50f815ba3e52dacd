//! `mlc graph` as users drive it: DOT and SVG (drawn without Graphviz) with the plan on
//! the nodes, escaping of free strings, and a graph without placements when the spec
//! does not plan.

use std::collections::BTreeSet;
use std::process::{Command, Output};

fn mlc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn graph(format: &str, file: &std::path::Path) -> Output {
    mlc()
        .args(["graph", "--format", format])
        .arg(file)
        .output()
        .expect("run mlc")
}

fn stdout_ok(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The label lines of each DOT node, in node order (`n0 [label="a\nb", ...]`).
fn dot_labels(dot: &str) -> Vec<Vec<String>> {
    dot.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix('n')?;
            let (_, rest) = rest.split_once(" [label=\"")?;
            let end = rest.find("\", shape=")?;
            let label = rest[..end].replace("\\\"", "\"").replace("\\\\", "\\");
            Some(label.split("\\n").map(str::to_string).collect())
        })
        .collect()
}

/// The label lines of each SVG node (the `<text>` that follows its `<g class="node">`),
/// parsed as XML, so an unescaped `<` or `&` anywhere fails the test.
fn svg_labels(svg: &str) -> Vec<(String, Vec<String>)> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let mut nodes = Vec::new();
    let children: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    for (i, child) in children.iter().enumerate() {
        if child.attribute("class") != Some("node") {
            continue;
        }
        let name = child.attribute("data-node").unwrap_or_default().to_string();
        let text = children[i + 1..]
            .iter()
            .find(|n| n.tag_name().name() == "text")
            .expect("a label follows each node");
        let lines = text
            .children()
            .filter(|n| n.tag_name().name() == "tspan")
            .map(|n| n.text().unwrap_or_default().to_string())
            .collect();
        nodes.push((name, lines));
    }
    nodes
}

/// `mlc graph EXAMPLE` (DOT is the default format, and the same as `--format dot`).
fn dot_of_example(example: &str) -> String {
    let path = std::path::PathBuf::from(format!("examples/{example}.mlc"));
    let dot = stdout_ok(graph("dot", &path));
    let default = stdout_ok(mlc().arg("graph").arg(&path).output().expect("run"));
    assert_eq!(dot, default);
    dot
}

/// On-prem site, classes, the plan on each workload.
#[test]
fn dot_hybrid_hipaa() {
    insta::assert_snapshot!(dot_of_example("hybrid_hipaa"));
}

/// A workload with two copies: a line for each.
#[test]
fn dot_multicloud_failover() {
    insta::assert_snapshot!(dot_of_example("multicloud_failover"));
}

#[test]
fn svg_is_xml_with_a_node_per_graph_node_and_the_same_lines_as_dot() {
    let path = std::path::Path::new("examples/multicloud_failover.mlc");
    let svg = stdout_ok(graph("svg", path));
    let dot = stdout_ok(graph("dot", path));
    let drawn = svg_labels(&svg);
    let expected = dot_labels(&dot);
    assert_eq!(drawn.len(), 3, "{svg}");
    assert_eq!(
        drawn
            .iter()
            .map(|(_, lines)| lines.clone())
            .collect::<Vec<_>>(),
        expected
    );
    let names: Vec<&str> = drawn.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dataset.eu_user_events",
            "train.eu_recommender",
            "service.eu_recommendations"
        ]
    );
    let service = &drawn[2].1;
    assert!(
        service.contains(
            &"plan: aws eu-central-1 m6i.4xlarge x 3 on_demand, $671.60/month".to_string()
        ),
        "{service:?}"
    );
    assert!(
        service
            .iter()
            .any(|l| l.starts_with("plan (warm standby): gcp europe-west1")),
        "{service:?}"
    );
    // Edge labels are drawn too, and the output does not change between runs.
    assert!(svg.contains(">14.0 TB/month<"), "{svg}");
    assert_eq!(stdout_ok(graph("svg", path)), svg);
}

#[test]
fn every_example_draws_as_svg_with_the_same_lines_as_dot() {
    let mut files: Vec<_> = std::fs::read_dir("examples")
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    files.sort();
    for path in files {
        let svg = stdout_ok(graph("svg", &path));
        let dot = stdout_ok(graph("dot", &path));
        let drawn: Vec<Vec<String>> = svg_labels(&svg).into_iter().map(|(_, l)| l).collect();
        assert_eq!(drawn, dot_labels(&dot), "{}", path.display());
        assert!(dot.contains("\\nplan"), "{}: {dot}", path.display());
    }
}

const DEIDENTIFIED: &str = r#"
project p {
  owner = "team@example.com"
}
dataset events {
  size           = 1 TB
  location       = aws.eu_west_1
  classification = personal_data
}
dataset features {
  size     = 10 GB
  location = aws.eu_west_1
  deidentified {
    method = "k <5> & \"quoted\" 'single' ]]> </text>"
  }
}
batch featurize {
  inputs      = [dataset.events]
  output      = dataset.features
  cpu         = 8
  max_runtime = 1 h
}
"#;

#[test]
fn free_strings_are_escaped_in_svg_and_dot() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("deid.mlc");
    std::fs::write(&path, DEIDENTIFIED).expect("write");
    let method = "k <5> & \"quoted\" 'single' ]]> </text>";
    let svg = stdout_ok(graph("svg", &path));
    let drawn = svg_labels(&svg);
    let features = drawn
        .iter()
        .find(|(name, _)| name == "dataset.features")
        .expect("features drawn");
    assert!(
        features
            .1
            .contains(&format!("personal_data stops here: {method}")),
        "{features:?}"
    );
    let dot = stdout_ok(graph("dot", &path));
    assert!(
        dot.contains("personal_data stops here: k <5> & \\\"quoted\\\" 'single' ]]> </text>"),
        "{dot}"
    );
    let dot_lines: BTreeSet<String> = dot_labels(&dot).into_iter().flatten().collect();
    assert!(dot_lines.contains(&format!("personal_data stops here: {method}")));
}

#[test]
fn a_spec_that_does_not_plan_is_drawn_without_placements() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("over.mlc");
    // Four H100 nodes around the clock cost far more than a dollar.
    std::fs::write(
        &path,
        r#"
budget {
  monthly = 1 USD
}
dataset d {
  size     = 1 TB
  location = aws.us_east_1
}
train t {
  data        = dataset.d
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 32 }
  accelerator = H100 x 8
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 100 h
}
"#,
    )
    .expect("write");
    for format in ["dot", "svg"] {
        let out = graph(format, &path);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let text = stdout_ok(out);
        assert!(text.contains("train t"), "{text}");
        assert!(!text.contains("plan: "), "{text}");
        assert!(
            stderr.contains("the graph shows no placements, because the spec does not plan"),
            "{stderr}"
        );
        assert!(stderr.contains("over budget"), "{stderr}");
    }
}

#[test]
fn a_spec_with_errors_draws_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("broken.mlc");
    std::fs::write(&path, "dataset d {\n  size = 1 GB\n}\n").expect("write");
    let out = graph("svg", &path);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = graph("png", &path);
    assert_eq!(out.status.code(), Some(2));
}
