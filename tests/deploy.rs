//! The deploy check: rules that the clouds and a running cluster enforce and that the
//! linters and the providers' schemas do not, held against what `mlc build` writes for
//! every example and for specs with generated names. Nobody here can run `terraform
//! apply` or a cluster, so the rules live in the code (with their sources) and this test.
//!
//! - Names: every name a build gives a Terraform resource, a Kubernetes object or a SAM
//!   function passes its provider's rule in `src/emit/names.rs`, and every argument that
//!   names something has a rule (a new resource cannot slip in unchecked).
//! - Versions: EKS clusters run the stdlib's Kubernetes version in standard support at
//!   the catalog date, with the Cluster Autoscaler of that version.
//! - Pods that fit: every pod that selects an instance type requests (with GKE's FUSE
//!   sidecar) no more than that type's allocatable less the system DaemonSets.
//! - Claims that bind: every claim in a cloud cluster names a PersistentVolume of the
//!   build (a bucket's CSI volume), never a storage class the cluster may lack.
//! - Arguments the providers know: every argument and block of every Terraform resource
//!   and data source is in the published schema of the provider version it pins
//!   (`@cdktf/provider-*`, tests/validators/provider_schema.py).

mod common;

use std::path::Path;
use std::process::Command;

use mlc::emit::names::rule_for;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Arguments that name what they create: written as a literal, each must have a rule.
const NAMING_ARGUMENTS: &[&str] = &[
    "name",
    "name_prefix",
    "account_id",
    "bucket",
    "node_group_name",
    "function_name",
    "dns_prefix",
    "metadata.name",
    "FunctionName",
];

/// Names that a provider defines and the build only refers to: not mlc's to choose.
const PROVIDER_DEFINED: &[(&str, &str)] = &[
    ("azurerm_log_analytics_workspace_table", "name"),
    // The Flex Consumption plan's trigger group (`http`, `blob`, `durable`).
    ("azurerm_function_app_flex_consumption", "always_ready.name"),
];

/// `[file, type, label, argument, value]` rows of every name in the build under `out`.
fn build_names(out: &Path) -> Vec<[String; 5]> {
    let listed = common::run_ok(
        Command::new(common::python())
            .arg("tests/validators/build_names.py")
            .arg(out),
        "build_names.py",
    );
    serde_json::from_slice(&listed.stdout).expect("build_names.py prints JSON rows")
}

/// Every name under `out` that breaks its provider's rule, or that has no rule.
fn name_problems(out: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for [file, kind, label, argument, value] in build_names(out) {
        let what = format!("{file}: {kind}.{label} {argument} = {value}");
        // Kubernetes objects and SAM resources are keyed by their kind.
        let rule = match kind.as_str() {
            "kubernetes" | "sam" => rule_for(&kind, &label),
            _ => rule_for(&kind, &argument),
        };
        // A reference to another resource's name is checked where that name is written.
        let literal = value.len() >= 2 && value.starts_with('"') && !value.contains("${");
        if !literal {
            continue;
        }
        let name = &value[1..value.len() - 1];
        match rule {
            Some(rule) => {
                if let Err(why) = rule.check(name) {
                    problems.push(format!("{what}: {why} ({}: {})", rule.what, rule.source));
                }
            }
            // A nested block's argument (`default_node_pool.name`) by its last part.
            None if NAMING_ARGUMENTS.contains(&argument.rsplit('.').next().unwrap_or(""))
                && !PROVIDER_DEFINED.contains(&(kind.as_str(), argument.as_str())) =>
            {
                problems.push(format!("{what}: no rule in src/emit/names.rs"));
            }
            None => {}
        }
    }
    problems
}

/// EKS clusters run a Kubernetes version in standard support at the catalog date, and
/// their Cluster Autoscaler is the release of that version.
fn version_problems(out: &Path) -> Vec<String> {
    let Ok(variables) = std::fs::read_to_string(out.join("terraform/aws/variables.tf")) else {
        return Vec::new();
    };
    let checked = mlc::check::check_text("empty.mlc", "");
    let knowledge = checked.model.expect("the stdlib's model").knowledge;
    let eks = knowledge.kubernetes("aws").expect("an EKS version");
    let mut problems = Vec::new();
    let block = variables
        .split("variable \"kubernetes_version\"")
        .nth(1)
        .unwrap_or_default();
    let default = block
        .lines()
        .find(|l| l.trim_start().starts_with("default"));
    let wanted = format!("\"{}\"", eks.version);
    if !default.is_some_and(|l| l.trim_end().ends_with(&wanted)) {
        problems.push(format!(
            "{}: kubernetes_version is not {wanted}: {default:?}",
            out.display()
        ));
    }
    let image = format!("cluster-autoscaler:v{}.", eks.version);
    for file in common::files_under(&out.join("kubernetes"), &["yaml"]) {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("cluster-autoscaler:") && !text.contains(&image) {
            problems.push(format!(
                "{}: the Cluster Autoscaler is not {image}x",
                file.display()
            ));
        }
    }
    problems
}

/// Every Kubernetes document under `out/kubernetes/`, as `{"file", "doc"}` (yaml2json.py).
fn manifests(out: &Path) -> Vec<serde_json::Value> {
    let files = common::files_under(&out.join("kubernetes"), &["yaml"]);
    if files.is_empty() {
        return Vec::new();
    }
    let listed = common::run_ok(
        Command::new(common::python())
            .arg("tests/validators/yaml2json.py")
            .args(&files),
        "yaml2json.py",
    );
    serde_json::from_slice(&listed.stdout).unwrap()
}

/// A Kubernetes quantity (`2`, `500m`, `4Gi`, `512Mi`) in cores or GiB.
fn quantity(value: &serde_json::Value, gib: bool) -> f64 {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (number, scale) = match text.strip_suffix("Gi") {
        Some(n) => (n, 1.0),
        None => match text.strip_suffix("Mi") {
            Some(n) => (n, 1.0 / 1024.0),
            None => match text.strip_suffix('m') {
                Some(n) => (n, 0.001),
                None => (
                    text.as_str(),
                    if gib { 1.0 / (1u64 << 30) as f64 } else { 1.0 },
                ),
            },
        },
    };
    number.parse::<f64>().expect("a quantity") * scale
}

/// Every pod under `out/kubernetes/<cloud>-<region>/` that selects an instance type:
/// its requests (with GKE's sidecar) fit what pods may request of that type's node.
fn fit_problems(out: &Path) -> Vec<String> {
    let docs = manifests(out);
    let catalog = mlc::catalog::Catalog::embedded().unwrap();
    let mut problems = Vec::new();
    for entry in docs {
        let (file, doc) = (entry["file"].as_str().unwrap(), &entry["doc"]);
        let pod = match doc["kind"].as_str() {
            Some("Deployment" | "Job" | "StatefulSet") => &doc["spec"]["template"]["spec"],
            Some("CronJob") => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => continue,
        };
        let Some(instance) = pod["nodeSelector"]["node.kubernetes.io/instance-type"].as_str()
        else {
            continue;
        };
        let folder = Path::new(file)
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let (cloud, region) = folder.split_once('-').unwrap();
        let Some(row) = catalog
            .offerings
            .iter()
            .find(|o| o.cloud == cloud && o.region == region && &*o.instance_type == instance)
        else {
            problems.push(format!(
                "{file}: {instance} is not in the catalog for {cloud} {region}"
            ));
            continue;
        };
        let (Some(vcpus), Some(memory)) = (row.vcpus, row.memory_gib) else {
            continue;
        };
        let room = mlc::plan::allocatable::room(cloud, vcpus.to_f64(), memory.to_f64());
        let sidecar = mlc::plan::allocatable::per_pod(cloud);
        let containers = pod["containers"].as_array().cloned().unwrap_or_default();
        let sum = |key: &str, gib: bool| -> f64 {
            containers
                .iter()
                .map(|c| {
                    let v = &c["resources"]["requests"][key];
                    if v.is_null() {
                        0.0
                    } else {
                        quantity(v, gib)
                    }
                })
                .sum()
        };
        let (cpu, mem) = (
            sum("cpu", false) + sidecar.vcpus,
            sum("memory", true) + sidecar.memory_gib,
        );
        if cpu > room.vcpus + 1e-6 || mem > room.memory_gib + 1e-6 {
            problems.push(format!(
                "{file}: {} {} requests {cpu:.2} vCPUs and {mem:.2} GiB with its sidecars; a {instance} node has room for {:.2} and {:.2}",
                doc["kind"].as_str().unwrap(),
                doc["metadata"]["name"].as_str().unwrap_or("?"),
                room.vcpus,
                room.memory_gib
            ));
        }
    }
    problems
}

/// Every PersistentVolumeClaim in a cloud cluster's folder binds: it names a
/// PersistentVolume of the same folder (a bucket's CSI volume), never a storage class the
/// cluster may not have. On an on-prem site, claims of the site's default class are the
/// operator's to provide (docs/build.md).
fn claim_problems(out: &Path) -> Vec<String> {
    let docs = manifests(out);
    let folder = |file: &str| Path::new(file).parent().unwrap().to_path_buf();
    let volumes: Vec<(std::path::PathBuf, String)> = docs
        .iter()
        .filter(|d| d["doc"]["kind"] == "PersistentVolume")
        .map(|d| {
            let name = d["doc"]["metadata"]["name"].as_str().unwrap().to_string();
            (folder(d["file"].as_str().unwrap()), name)
        })
        .collect();
    let mut problems = Vec::new();
    for d in docs
        .iter()
        .filter(|d| d["doc"]["kind"] == "PersistentVolumeClaim")
    {
        let file = d["file"].as_str().unwrap();
        if folder(file)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("onprem-")
        {
            continue;
        }
        let name = d["doc"]["metadata"]["name"].as_str().unwrap_or("?");
        let volume = d["doc"]["spec"]["volumeName"].as_str();
        let binds = volume.is_some_and(|v| volumes.contains(&(folder(file), v.to_string())))
            && d["doc"]["spec"]["storageClassName"] == "";
        if !binds {
            problems.push(format!(
                "{file}: claim {name} names no PersistentVolume of its cluster's folder (volumeName {volume:?}); a class the cluster may lack would leave it Pending"
            ));
        }
    }
    problems
}

/// Every Terraform argument under `out` is in its provider's published schema.
fn schema_problems(out: &Path) -> Vec<String> {
    let checked = Command::new(common::python())
        .arg("tests/validators/provider_schema.py")
        .arg(common::validators().join("cdktf"))
        .arg(out)
        .output()
        .expect("provider_schema.py runs");
    if checked.status.success() {
        return Vec::new();
    }
    let mut problems: Vec<String> = String::from_utf8_lossy(&checked.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    problems.push(String::from_utf8_lossy(&checked.stderr).into_owned());
    problems
}

#[test]
fn the_schema_check_finds_an_argument_the_provider_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("terraform/aws");
    std::fs::create_dir_all(&module).unwrap();
    let pinned = "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"5.95.0\"\n    }\n  }\n}\n";
    std::fs::write(module.join("versions.tf"), pinned).unwrap();
    std::fs::write(
        module.join("main.tf"),
        "resource \"aws_eks_node_group\" \"x\" {\n  cluster_name = \"c\"\n  scaling_config {\n    max_sizee = 2\n  }\n}\n",
    )
    .unwrap();
    let problems = schema_problems(dir.path());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("scaling_config: `max_sizee`")),
        "{problems:?}"
    );
}

#[test]
fn every_example_builds_what_the_providers_and_the_scheduler_accept() {
    let mut problems = Vec::new();
    for spec in common::examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        common::build(&spec, &out, &[]);
        problems.extend(name_problems(&out));
        problems.extend(version_problems(&out));
        problems.extend(fit_problems(&out));
        problems.extend(claim_problems(&out));
        problems.extend(schema_problems(&out));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A spec with a cluster, a bucket, a job, a service and a function in each cloud, all
/// named from `project` and `base`. Each cloud's region has a long code
/// (`northamerica-northeast1`) or a short one, so both ends of the rules are met.
fn named_spec(project: &str, base: &str) -> String {
    let mut spec = format!(
        "project {project} {{\n  owner = \"team@example.com\"\n}}\n\n\
         budget {{\n  monthly = 500000 USD\n}}\n\n\
         clouds {{\n  allow = [aws, gcp, azure]\n}}\n\n\
         security {{\n  encryption_at_rest = aes256 via kms\n  key_rotation = 365 d\n  \
         encryption_in_transit = tls13\n  network = private\n  access = rbac {{ mfa = required }}\n  \
         audit_logging = on\n  log_retention = 1 year\n}}\n"
    );
    let clouds = [
        ("a", "aws.us_east_1", "aws_lambda", "python3.12"),
        (
            "g",
            "gcp.northamerica_northeast1",
            "gcp_cloud_functions",
            "python3.11",
        ),
        ("z", "azure.eastus2", "azure_functions", "python3.11"),
    ];
    for (c, region, platform, runtime) in clouds {
        spec.push_str(&format!(
            "\ndataset {base}_d{c} {{\n  size = 10 GB\n  location = {region}\n}}\n\n\
             train {base}_t{c} {{\n  data = dataset.{base}_d{c}\n  \
             model = mlp {{ input = 16, hidden = [32], output = 2 }}\n  \
             parallelism = data {{ gpus = 1 }}\n  accelerator = T4 x 1\n  batch_size = 64\n  \
             epochs = 1\n  optimizer = adamw {{ lr = 1e-3 }}\n  max_runtime = 1 h\n  \
             runs = 1 / month\n  region = {region}\n}}\n\n\
             service {base}_s{c} {{\n  model = train.{base}_t{c}\n  replicas = 1..3\n  \
             requests = 1M / month\n  region = {region}\n  \
             resources {{ cpu = 2, memory = 4 GiB }}\n}}\n\n\
             function {base}_f{c} {{\n  model = train.{base}_t{c}\n  platform = {platform}\n  \
             runtime = {runtime}\n  memory = 2048 MB\n  timeout = 10 s\n  \
             avg_duration = 50 ms\n  invocations = 1M / month\n  region = {region}\n}}\n"
        ));
    }
    spec
}

/// Spec identifiers as people write them, and as the rules find hard: long, mixed case,
/// underscores (runs of them, and first so that a digit comes first once they go), the
/// words that some providers forbid.
fn spec_identifier() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-z]{1,12}",
        "[A-Z][a-zA-Z0-9]{0,10}",
        "[0-9]{1,4}",
        Just("google".to_string()),
        Just("xn".to_string()),
        Just("sg".to_string()),
        Just("s3alias".to_string()),
    ];
    (
        prop_oneof![Just(""), Just("_"), Just("__")],
        proptest::collection::vec(word, 1..12),
        prop_oneof![Just("_"), Just("__"), Just("___")],
    )
        .prop_map(|(lead, words, joint)| {
            let mut name = format!("{lead}{}", words.join(joint));
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                name.insert(0, '_');
            }
            name
        })
}

#[test]
fn generated_spec_names_become_names_the_providers_allow() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    // Cases found before, kept: a 104-character function name (a GCP service account's
    // display name holds 100).
    let long = "sg___nxeu___google___s3alias___Qxw2k8j___sg___vidrkyhyzxw___s3alias___Bj4LGhR7KW1___google___TxkTzor4";
    let found_before: &[(&str, &str)] = &[("a", long)];
    for &(project, base) in found_before {
        let spec = dir.path().join("spec.mlc");
        std::fs::write(&spec, named_spec(project, base)).unwrap();
        let out = dir.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        common::build(&spec, &out, &[]);
        let problems = name_problems(&out);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
    let result = runner.run(
        &(spec_identifier(), spec_identifier()),
        |(project, base)| {
            let spec = dir.path().join("spec.mlc");
            std::fs::write(&spec, named_spec(&project, &base)).unwrap();
            let out = dir.path().join("out");
            let _ = std::fs::remove_dir_all(&out);
            common::build(&spec, &out, &[]);
            let problems = name_problems(&out);
            prop_assert!(problems.is_empty(), "{}", problems.join("\n"));
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Names used by two targets agree even where a rule cuts or the spec writes an unusual
/// but valid name: a long project's EKS cluster (Terraform's tags and the Cluster
/// Autoscaler's discovery), and a bucket the spec's `path` names with `--` (Terraform's
/// bucket and the volume that mounts it).
#[test]
fn names_two_targets_share_agree() {
    let project = format!("p{}", "x".repeat(70));
    let spec = format!(
        r#"
project {project} {{
  owner = "team@example.com"
}}
clouds {{ allow = [aws] }}
dataset events {{
  size     = 10 GB
  location = aws.us_east_1
  path     = "s3://acme--events/raw/"
}}
batch scan {{
  inputs      = [dataset.events]
  image       = "registry.example/scan:1"
  cpu         = 2
  max_runtime = 1 h
  region      = aws.us_east_1
}}
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.mlc");
    std::fs::write(&path, spec).unwrap();
    let out = dir.path().join("out");
    common::build(&path, &out, &[]);
    let cluster_tf = std::fs::read_to_string(out.join("terraform/aws/cluster.tf")).unwrap();
    let name_line = cluster_tf
        .lines()
        .skip_while(|l| !l.starts_with("resource \"aws_eks_cluster\""))
        .find(|l| l.trim_start().starts_with("name "))
        .unwrap();
    let cluster = name_line.split('"').nth(1).unwrap();
    assert!(cluster.len() <= 63, "{cluster}");
    let autoscaler =
        std::fs::read_to_string(out.join("kubernetes/aws-us-east-1/cluster-autoscaler.yaml"))
            .unwrap();
    assert!(
        autoscaler.contains(&format!("k8s.io/cluster-autoscaler/{cluster}")),
        "the autoscaler does not discover {cluster}"
    );
    let storage = std::fs::read_to_string(out.join("terraform/aws/storage.tf")).unwrap();
    assert!(storage.contains("bucket   = \"acme--events\""), "{storage}");
    let volumes =
        std::fs::read_to_string(out.join("kubernetes/aws-us-east-1/volumes.yaml")).unwrap();
    assert!(volumes.contains("\"acme--events\""), "{volumes}");
}
