//! The resource graph and the policy stage on small specs: classifications flow along
//! data edges, residency is checked where a location is known, and the baseline is
//! advice unless required.

use mlc::diag::Severity;
use mlc::graph::{self, EdgeKind, NodeKind};

const FLOW: &str = r#"
onprem dc {
  region = eu_central
  gpus = A100 x 8
}
dataset scans {
  size = 1 TB
  location = onprem.dc
  classification = health_data
}
dataset clicks {
  size = 1 TB
  location = gcp.us_central1
  classification = public
}
train detector {
  data = dataset.scans
  model = mlp { input = 8, hidden = [16], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size = 8
  optimizer = sgd { lr = 0.1 }
}
service api {
  model = train.detector
  replicas = 1..2
}
function batch {
  model = train.detector
  platform = aws_lambda
  runtime = python3.12
  memory = 1024 MB
  timeout = 30 s
  invocations = 1M / month
}
"#;

fn model(text: &str) -> mlc::check::Model {
    let checked = mlc::check::check_text("spec.mlc", text);
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    checked.model.expect("model")
}

#[test]
fn classification_flows_from_data_to_model_to_serving() {
    let g = graph::build(&model(FLOW));
    for (kind, name) in [
        (NodeKind::Dataset, "scans"),
        (NodeKind::Train, "detector"),
        (NodeKind::Service, "api"),
        (NodeKind::Function, "batch"),
    ] {
        let node = g.node(kind, name).expect("node exists");
        assert!(
            node.classes.contains("health_data"),
            "{name}: {:?}",
            node.classes
        );
    }
    assert!(!g
        .node(NodeKind::Dataset, "clicks")
        .expect("clicks")
        .classes
        .contains("health_data"));
    assert!(
        g.node(NodeKind::Onprem, "dc")
            .expect("dc")
            .classes
            .is_empty(),
        "hosting does not carry data"
    );
    let edges: Vec<(String, String, EdgeKind)> = g
        .edges()
        .into_iter()
        .map(|(a, b, k)| (a.name.clone(), b.name.clone(), k))
        .collect();
    assert_eq!(
        edges,
        [
            ("dc".into(), "scans".into(), EdgeKind::Hosts),
            ("scans".into(), "detector".into(), EdgeKind::Data),
            ("detector".into(), "api".into(), EdgeKind::Data),
            ("detector".into(), "batch".into(), EdgeKind::Data),
        ]
    );
}

#[test]
fn hipaa_residency_follows_onprem_jurisdiction() {
    let spec = format!("compliance {{\n  frameworks = [hipaa]\n}}\n{FLOW}");
    let checked = mlc::policy::check_text("spec.mlc", &spec);
    let residency: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "E0502")
        .collect();
    assert_eq!(residency.len(), 1, "{:?}", checked.diagnostics);
    assert!(residency[0]
        .message
        .starts_with("residency rule HIPAA-RES violated"));
    assert!(
        residency[0].labels[0]
            .text
            .contains("placed in `eu` (onprem.dc)"),
        "{:?}",
        residency[0].labels
    );
    assert!(residency[0].help.as_deref().is_some_and(|h| h.contains(
        "[Health Insurance Portability and Accountability Act `hipaa`, rule HIPAA-RES]"
    )));
}

#[test]
fn frameworks_not_listed_do_not_apply() {
    let checked = mlc::policy::check_text("spec.mlc", FLOW);
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| !d.code.0.starts_with("E05")),
        "{:?}",
        checked.diagnostics
    );
}

#[test]
fn baseline_is_advice_until_required() {
    let spec = format!("security {{\n  audit_logging = on\n}}\n{FLOW}");
    let advised = mlc::policy::check_text("spec.mlc", &spec);
    let warnings = advised
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "W0501")
        .count();
    assert_eq!(warnings, 6, "{:?}", advised.diagnostics);
    let required = mlc::policy::check_text(
        "spec.mlc",
        &format!("compliance {{\n  frameworks = [baseline]\n}}\n{spec}"),
    );
    assert_eq!(
        required
            .diagnostics
            .iter()
            .filter(|d| d.code.0 == "E0501")
            .count(),
        6
    );
    assert_eq!(
        required
            .diagnostics
            .iter()
            .filter(|d| d.code.0 == "W0501")
            .count(),
        0
    );
}

#[test]
fn spec_residency_covers_every_known_location() {
    let spec = format!("compliance {{\n  frameworks = []\n  residency = [eu]\n}}\n{FLOW}");
    let checked = mlc::policy::check_text("spec.mlc", &spec);
    let labels: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "E0502")
        .map(|d| d.labels[0].text.as_str())
        .collect();
    assert_eq!(
        labels,
        ["dataset `clicks` is placed in `us` (gcp.us_central1)"]
    );
}

#[test]
fn pinned_workloads_are_checked_for_residency() {
    let spec = format!(
        "compliance {{\n  frameworks = [gdpr]\n}}\n{}",
        FLOW.replace("health_data", "personal_data").replace(
            "replicas = 1..2",
            "replicas = 1..2\n  region = aws.us_east_1"
        )
    );
    let checked = mlc::policy::check_text("spec.mlc", &spec);
    let residency: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "E0502")
        .map(|d| d.labels[0].text.as_str())
        .collect();
    assert_eq!(residency, ["service `api` holds personal_data: placed in `us` (aws.us_east_1); allowed: eu, no, uk, ch, jp, ca, kr, nz, il"]);
}

#[test]
fn policy_code_examples_trigger_their_codes_through_mlc_check() {
    for info in mlc::diag::codes::REGISTRY
        .iter()
        .filter(|i| i.code.starts_with("E05") || i.code.starts_with("W05"))
    {
        let example = info.example.expect("policy codes have examples");
        let checked = mlc::policy::check_text("example.mlc", example);
        assert!(
            checked.diagnostics.iter().any(|d| d.code.0 == info.code),
            "{} example: {:?}",
            info.code,
            checked.diagnostics
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("example.mlc");
        std::fs::write(&path, example).expect("write example");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mlc"))
            .args(["check", "--format", "json"])
            .arg(&path)
            .output()
            .expect("mlc runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("\"code\": \"mlc::{}\"", info.code)),
            "{}: {stdout}",
            info.code
        );
    }
}
