//! `mlc plan` as users drive it: formats, exit codes, `--export-model`, `--compare`.

use std::process::Command;

fn mlc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1796083200");
    cmd
}

const SPEC: &str = r#"
dataset d {
  size     = 500 GB
  location = gcp.us_central1
}
train t {
  data        = dataset.d
  model       = mlp { input = 64, hidden = [128], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = L4 x 1
  batch_size  = 64
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 5 h
}
"#;

fn spec(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("spec.mlc");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plan_prints_text_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(&dir, SPEC);
    let text = mlc().arg("plan").arg(&path).output().unwrap();
    assert_eq!(
        text.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("train t"), "{text}");
    assert!(text.contains("Total: $"), "{text}");
    assert!(text.contains("catalog 2026-05-20 (195 days old)"), "{text}");

    let json = mlc()
        .args(["plan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["workloads"][1]["name"], "t");

    let md = mlc()
        .args(["plan", "--format", "markdown"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8(md.stdout)
        .unwrap()
        .starts_with("### mlc plan"));
}

/// `mlc plan SPEC --export-model MPS`.
fn plan_exporting(spec: &std::path::Path, mps: &std::path::Path) -> std::process::Output {
    mlc()
        .arg("plan")
        .arg(spec)
        .arg("--export-model")
        .arg(mps)
        .output()
        .unwrap()
}

#[test]
fn export_model_writes_the_exact_problem_with_the_total_as_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(&dir, SPEC);
    let mps = dir.path().join("model.mps");
    let out = plan_exporting(&path, &mps);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&mps).unwrap();
    for section in ["NAME", "ROWS", "COLUMNS", "RHS", "BOUNDS", "ENDATA"] {
        assert!(
            text.lines().any(|l| l.starts_with(section)),
            "no {section} in\n{text}"
        );
    }
    assert!(
        text.contains("train.t"),
        "options are commented with their workload"
    );
}

/// With no plan (here: over budget) the model is still what another solver or a
/// reviewer needs: `--export-model` writes it, with the cluster's fixed cost in it.
#[test]
fn export_model_writes_the_problem_when_there_is_no_plan() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(&dir, &format!("budget {{\n  monthly = 1 USD\n}}\n{SPEC}"));
    let mps = dir.path().join("model.mps");
    let out = plan_exporting(&path, &mps);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("over budget"), "{stderr}");
    assert!(stderr.contains("written to"), "{stderr}");
    let text = std::fs::read_to_string(&mps).unwrap();
    assert!(
        text.contains("= facility"),
        "facility binaries are in the model"
    );
    assert!(text.ends_with("ENDATA\n"));
}

#[test]
fn compare_shows_what_moved_and_what_it_costs() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(&dir, SPEC);
    let old = dir.path().join("old.json");
    let json = mlc()
        .args(["plan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::write(&old, json.stdout).unwrap();
    spec(
        &dir,
        &SPEC.replace(
            "max_runtime = 5 h",
            "max_runtime = 10 h\n  region = gcp.europe_west4",
        ),
    );
    let out = mlc()
        .arg("plan")
        .arg(&path)
        .arg("--compare")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("moved    train.t +$"), "{text}");
    assert!(text.contains("- gcp us-central1"), "{text}");
    assert!(text.contains("+ gcp europe-west4"), "{text}");
    // Moving away from the data adds egress, which no workload line shows.
    assert!(text.contains("  egress   $0.00 -> $"), "{text}");

    std::fs::write(&old, "{\"schema_version\": 99}").unwrap();
    let out = mlc()
        .arg("plan")
        .arg(&path)
        .arg("--compare")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema_version 99"));
}

#[test]
fn no_plan_for_a_spec_with_errors_or_no_placement() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(&dir, "dataset d {\n  size = 1 GB\n}\n");
    let out = mlc().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no plan: the spec has errors"));

    let path = spec(
        &dir,
        &format!("clouds {{\n  allow = [aws]\n}}\n{SPEC}")
            .replace("location = gcp.us_central1", "location = aws.us_east_1")
            .replace("L4 x 1", "MI300X x 8")
            .replace("gpus = 1", "gpus = 8"),
    );
    let out = mlc().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("no placement for train.t: it needs MI300X x 8 per node"),
        "{err}"
    );
    assert!(err.contains("`clouds.allow` is [aws]"), "{err}");
}

#[test]
fn a_missing_spec_is_a_usage_error() {
    let out = mlc()
        .args(["plan", "/nonexistent/spec.mlc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The plan the README shows is the plan mlc prints.
#[test]
fn the_readme_shows_the_real_plan_of_its_example() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let command = "cargo run --release -- plan examples/multicloud_failover.mlc";
    assert!(readme.contains(command));
    let shown = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a text block after the command");
    let out = mlc()
        .args(["plan", "examples/multicloud_failover.mlc"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shown);
}

/// The clusters' Kubernetes version comes from the stdlib's calendar: the plan says when
/// it has left standard support by the day the plan is made, and not before.
#[test]
fn plan_warns_when_the_clusters_kubernetes_left_standard_support() {
    let dir = tempfile::tempdir().unwrap();
    let aws_only = format!(
        "clouds {{ allow = [aws] }}\n{}",
        SPEC.replace("gcp.us_central1", "aws.us_east_1")
    );
    let path = spec(&dir, &aws_only);
    let findings_on = |epoch: &str| {
        let out = mlc()
            .env("SOURCE_DATE_EPOCH", epoch)
            .args(["plan", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["subject"] == "aws kubernetes")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // 2026-12-01: 1.35 is in standard support until 2027-03-27.
    assert_eq!(findings_on("1796083200"), Vec::<String>::new());
    // 2027-04-01.
    let late = findings_on("1806537600");
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(
        late[0].contains("Kubernetes 1.35, which left standard support on 2027-03-27"),
        "{late:?}"
    );
}

/// A replica no node can hold: the error names the allocatable rule and the most any
/// allowed instance type leaves for pods.
#[test]
fn no_placement_for_a_request_names_what_pods_may_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        &dir,
        r#"
clouds { allow = [aws] }
service huge {
  model    = "registry.example/a:1"
  replicas = 1..2
  resources { cpu = 500, memory = 4 GiB }
}
"#,
    );
    let out = mlc().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("it needs 500 vCPUs")
            && stderr.contains("a pod may request a node's allocatable less its system DaemonSets")
            && stderr.contains("on aws "),
        "{stderr}"
    );
}
