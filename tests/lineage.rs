//! Pipelines and lineage through the whole front end: produced datasets, batch jobs,
//! de-identification that stops a class (and only there), declared lineage of served
//! images, and the bytes each data edge carries.

use mlc::compile::{compile_text, Compilation};
use mlc::graph::NodeKind;

fn compile_clean(text: &str) -> Compilation {
    let c = compile_text("lineage.mlc", text);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity() == mlc::diag::Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    c
}

const PIPELINE: &str = r#"
dataset records {
  size           = 4 TB
  location       = aws.us_east_1
  classification = health_data
}
dataset billing {
  size           = 100 GB
  location       = aws.us_east_1
  classification = financial_data
}
dataset features {
  size = 300 GB
  deidentified {
    method  = "HIPAA Safe Harbor"
    classes = [health_data]
  }
}
batch deidentify {
  inputs      = [dataset.records, dataset.billing]
  output      = dataset.features
  cpu         = 16
  max_runtime = 3 h
  runs        = 4 / month
}
train risk {
  data        = dataset.features
  model       = mlp { input = 128, hidden = [256], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 256
  optimizer   = adamw { lr = 1e-3 }
  precision   = fp32
  runs        = 2 / month
}
service api {
  model    = train.risk
  replicas = 1
}
function scorer {
  model        = "s3://models/risk.onnx"
  derived_from = train.risk
  platform     = aws_lambda
  runtime      = python3.12
  memory       = 1024 MiB
  timeout      = 30 s
  invocations  = 1M / month
}
"#;

fn classes(c: &Compilation, kind: NodeKind, name: &str) -> Vec<String> {
    let graph = c.graph.as_ref().expect("graph");
    graph
        .node(kind, name)
        .expect("node")
        .classes
        .iter()
        .cloned()
        .collect()
}

#[test]
fn deidentification_stops_only_the_named_class_and_only_there() {
    let c = compile_clean(PIPELINE);
    // The batch job reads raw health and financial data.
    assert_eq!(
        classes(&c, NodeKind::Batch, "deidentify"),
        ["financial_data", "health_data"]
    );
    // Health data stops at the de-identified dataset; financial data flows on.
    assert_eq!(
        classes(&c, NodeKind::Dataset, "features"),
        ["financial_data", "internal"]
    );
    for (kind, name) in [
        (NodeKind::Train, "risk"),
        (NodeKind::Service, "api"),
        (NodeKind::Function, "scorer"),
    ] {
        let held = classes(&c, kind, name);
        assert!(
            !held.contains(&"health_data".to_string()),
            "{name}: {held:?}"
        );
        assert!(
            held.contains(&"financial_data".to_string()),
            "{name}: {held:?}"
        );
    }
    let graph = c.graph.as_ref().unwrap();
    let stop = &graph.node(NodeKind::Dataset, "features").unwrap().stopped;
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].class, "health_data");
    assert_eq!(stop[0].method, "HIPAA Safe Harbor");
    let dot = mlc::graph::dot::render(graph, "t");
    assert!(
        dot.contains("health_data stops here: HIPAA Safe Harbor"),
        "{dot}"
    );
}

#[test]
fn class_paths_name_every_hop_from_the_source() {
    let c = compile_clean(PIPELINE);
    let graph = c.graph.as_ref().unwrap();
    let path: Vec<String> = graph
        .class_path(NodeKind::Function, "scorer", "financial_data")
        .iter()
        .map(|n| format!("{}.{}", n.kind.keyword(), n.name))
        .collect();
    assert_eq!(
        path,
        [
            "dataset.billing",
            "batch.deidentify",
            "dataset.features",
            "train.risk",
            "function.scorer"
        ]
    );
    assert!(graph
        .class_path(NodeKind::Service, "api", "health_data")
        .is_empty());
}

#[test]
fn data_edges_carry_bytes_per_month() {
    let c = compile_clean(PIPELINE);
    let graph = c.graph.as_ref().unwrap();
    let flow = |from: &str, to: &str| {
        graph
            .data_flows()
            .into_iter()
            .find(|(a, b, _)| a.name == from && b.name == to)
            .map(|(_, _, bytes)| bytes)
            .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
    };
    // Input datasets are read once per run: 4 TB x 4 runs.
    assert_eq!(flow("records", "deidentify"), 16e12);
    // The produced dataset is written once per run of its producer.
    assert_eq!(flow("deidentify", "features"), 4.0 * 300e9);
    // The model ships after each training run: fp32 weights x 2 runs.
    let params = (128 * 256 + 256 + 256 * 2 + 2) as f64;
    assert_eq!(flow("risk", "api"), params * 4.0 * 2.0);
    assert_eq!(flow("risk", "scorer"), params * 4.0 * 2.0);
}

#[test]
fn a_service_image_may_declare_the_classes_it_holds() {
    let c = compile_clean(
        r#"
service triage {
  model    = "registry.example/triage:7"
  replicas = 2
  holds    = [health_data]
}
"#,
    );
    assert_eq!(classes(&c, NodeKind::Service, "triage"), ["health_data"]);
}

#[test]
fn training_reads_several_datasets_in_the_order_written() {
    let c = compile_clean(
        PIPELINE
            .replace(
                "data        = dataset.features",
                "data        = [dataset.features, dataset.billing]",
            )
            .as_str(),
    );
    let model = c.model.as_ref().unwrap();
    assert_eq!(model.trains[0].data, ["features", "billing"]);
}
