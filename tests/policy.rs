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
fn hipaa_has_no_residency_rule_but_spec_residency_follows_onprem_jurisdiction() {
    let hipaa = format!("compliance {{\n  frameworks = [hipaa]\n}}\n{FLOW}");
    let checked = mlc::policy::check_text("spec.mlc", &hipaa);
    assert!(
        checked.diagnostics.iter().all(|d| d.code.0 != "E0502"),
        "HIPAA itself does not restrict where health data is: {:?}",
        checked.diagnostics
    );
    let us_only = hipaa.replace("[hipaa]", "[hipaa]\n  residency = [us]");
    let checked = mlc::policy::check_text("spec.mlc", &us_only);
    let residency: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "E0502")
        .collect();
    assert_eq!(residency.len(), 1, "{:?}", checked.diagnostics);
    assert!(residency[0]
        .message
        .starts_with("data residency violated: `compliance.residency` allows only us"));
    assert_eq!(
        residency[0].labels[0].text,
        "dataset `scans` is placed in `eu` (onprem.dc)"
    );
}

#[test]
fn gdpr_transfers_widen_framework_residency_but_not_spec_residency() {
    let gdpr = format!(
        "compliance {{\n  frameworks = [gdpr]\n}}\n{}",
        FLOW.replace("health_data", "personal_data")
            .replace("location = onprem.dc", "location = aws.us_east_1")
    );
    let residency = |text: &str| -> Vec<String> {
        mlc::policy::check_text("spec.mlc", text)
            .diagnostics
            .iter()
            .filter(|d| d.code.0 == "E0502")
            .map(|d| d.labels[0].text.clone())
            .collect()
    };
    assert_eq!(
        residency(&gdpr),
        ["placed in `us` (aws.us_east_1); allowed: eu, no, uk, ch, jp, ca, kr, nz, il"]
    );
    let transfers = gdpr.replace("[gdpr]", "[gdpr]\n  transfers = [us]");
    assert!(residency(&transfers).is_empty());
    let eu_only = transfers.replace("transfers = [us]", "transfers = [us]\n  residency = [eu]");
    assert_eq!(
        residency(&eu_only),
        [
            "dataset `scans` is placed in `us` (aws.us_east_1)",
            "dataset `clicks` is placed in `us` (gcp.us_central1)"
        ]
    );
}

#[test]
fn every_stdlib_rule_cites_where_it_comes_from() {
    let knowledge = model("").knowledge;
    let citation_prefixes = [
        ("baseline", &["CIS Controls v8 ", "NIST SP 800-"][..]),
        ("gdpr", &["GDPR Art. "][..]),
        ("hipaa", &["45 CFR 164."][..]),
        ("pci_dss", &["PCI DSS v4.0 Req. "][..]),
        ("sox", &["SOX §"][..]),
    ];
    let mut rules = 0;
    for framework in &knowledge.frameworks {
        let (_, prefixes) = citation_prefixes
            .iter()
            .find(|(name, _)| *name == framework.name)
            .unwrap_or_else(|| panic!("no citation style for framework {}", framework.name));
        for rule in &framework.rules {
            rules += 1;
            assert!(
                prefixes.iter().any(|p| rule.source.starts_with(p))
                    && rule.source.len() > prefixes[0].len(),
                "rule {} of {} cites {:?}, expected one of {prefixes:?} and a section",
                rule.id,
                framework.name,
                rule.source
            );
        }
    }
    assert!(rules >= 25, "expected the stdlib rules, found {rules}");
    let hipaa = knowledge
        .frameworks
        .iter()
        .find(|f| f.name == "hipaa")
        .expect("hipaa");
    assert!(
        hipaa
            .rules
            .iter()
            .all(|r| r.conditions.iter().all(|(s, _)| s != "residency")),
        "HIPAA has no data-residency requirement"
    );
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
    let residency: Vec<&mlc::diag::Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "E0502")
        .collect();
    assert_eq!(residency.len(), 1, "{residency:?}");
    let text = |span: mlc::source::Span| &spec[span.start as usize..span.end as usize];
    // The finding sits on the offending line and labels each hop of the class's path.
    let labels: Vec<(&str, &str)> = residency[0]
        .labels
        .iter()
        .map(|l| (text(l.span), l.text.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            (
                "aws.us_east_1",
                "placed in `us` (aws.us_east_1); allowed: eu, no, uk, ch, jp, ca, kr, nz, il"
            ),
            ("dataset scans", "personal_data starts here"),
            ("train detector", "reads dataset.scans"),
            ("service api", "serves train.detector"),
        ]
    );
    let help = residency[0].help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with(
            "personal_data arrives via dataset.scans -> train.detector -> service.api; "
        ),
        "{help}"
    );
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

#[test]
fn json_output_carries_the_rule_id_and_citation() {
    let spec = "compliance {\n  frameworks = [hipaa]\n}\nsecurity {\n  audit_logging = off\n}\n\
                dataset records {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = health_data\n}\n";
    let checked = mlc::policy::check_text("spec.mlc", spec);
    let audit = checked
        .diagnostics
        .iter()
        .find(|d| d.rule.as_ref().is_some_and(|r| r.id == "HIPAA-164.312(b)"))
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    assert_eq!(
        audit.rule.as_deref(),
        Some(&mlc::diag::Rule {
            id: "HIPAA-164.312(b)".into(),
            framework: "hipaa".into(),
            source: "45 CFR 164.312(b)".into(),
        })
    );
    let json: serde_json::Value = serde_json::from_str(&mlc::diag::render::to_json(
        &checked.diagnostics,
        &checked.sources,
    ))
    .expect("valid JSON");
    let rows = json.as_array().expect("an array");
    let row = rows
        .iter()
        .find(|r| r["rule_id"] == "HIPAA-164.312(b)")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(row["rule_source"], "45 CFR 164.312(b)");
    assert_eq!(row["rule_framework"], "hipaa");
    assert_eq!(row["code"], "mlc::E0501");
    // Findings that come from no framework rule have no rule fields.
    let spec_wide = mlc::policy::check_text(
        "spec.mlc",
        &spec.replace("[hipaa]", "[]\n  residency = [eu]"),
    );
    let json: serde_json::Value = serde_json::from_str(&mlc::diag::render::to_json(
        &spec_wide.diagnostics,
        &spec_wide.sources,
    ))
    .expect("valid JSON");
    let residency = json
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["code"] == "mlc::E0502"))
        .unwrap_or_else(|| panic!("{json:#}"));
    assert!(residency.get("rule_id").is_none(), "{residency:#}");
}

#[test]
fn a_rule_whose_duration_does_not_parse_is_reported_not_passed() {
    let spec = "framework mine {\n  title = \"Mine\"\n  applies_to = [internal]\n  \
                require key_rotation = \"RATE\" {\n    id = \"M-1\"\n    title = \"keys rotate\"\n    \
                help = \"rotate them\"\n    source = \"Mine policy §1\"\n  }\n}\n\
                compliance {\n  frameworks = [mine]\n}\nsecurity {\n  key_rotation = 400 d\n}\n\
                dataset d {\n  size = 1 GB\n  location = aws.us_east_1\n}\n";
    let codes = |rate: &str| -> Vec<&'static str> {
        mlc::policy::check_text("spec.mlc", &spec.replace("RATE", rate))
            .diagnostics
            .iter()
            .filter(|d| d.code.0.starts_with("E05"))
            .map(|d| d.code.0)
            .collect()
    };
    assert_eq!(codes("365 d"), ["E0501"], "a valid rule is evaluated");
    assert_eq!(codes("one year"), ["E0510"]);
    assert_eq!(codes("365 GB"), ["E0510"], "a size is not a duration");
    assert_eq!(codes("365"), ["E0510"]);
    // The stdlib's rules all parse: an empty spec has no finding at all.
    assert!(mlc::policy::check_text("empty.mlc", "")
        .diagnostics
        .is_empty());
}
