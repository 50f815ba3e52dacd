//! `mlc build --target serverless` on every example: the real validators pass on every
//! file (yamllint, cfn-lint on each SAM template and on its CloudFormation translation,
//! hcl2tojson and `terraform fmt -check` on each Terraform folder, checkov on all of it),
//! two builds are byte-identical, and the whole output of each example is one snapshot.

mod common;

use common::{build, checkov, examples, files_under, python, run_ok, tool};
use mlc::check::{FsWorld, LoadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty folder under cargo's scratch space for this test binary.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("build_serverless")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Every file under `dir/serverless`, each after a `--- path ---` line.
fn concatenated(dir: &Path) -> String {
    let root = dir.join("serverless");
    let files = files_under(&root, &["yaml", "tf"]);
    if files.is_empty() {
        return "(no functions on managed platforms: nothing emitted)\n".into();
    }
    let mut out = String::new();
    for file in files {
        let relative = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.push_str(&format!("--- {relative} ---\n"));
        out.push_str(&std::fs::read_to_string(&file).unwrap());
    }
    out
}

/// yamllint, cfn-lint on the SAM templates and on their translations, hcl2tojson and
/// `terraform fmt -check` on the Terraform folders, all files under `root` at once where
/// the tool allows.
fn validate(root: &Path) {
    let templates = files_under(root, &["yaml"])
        .into_iter()
        .filter(|p| p.ends_with("template.yaml"))
        .collect::<Vec<_>>();
    if !templates.is_empty() {
        run_ok(
            Command::new(tool("yamllint"))
                .args(["-s", "-c", ".yamllint.yaml"])
                .args(&templates),
            "yamllint",
        );
        run_ok(
            Command::new(tool("cfn-lint")).args(&templates),
            "cfn-lint (SAM)",
        );
        let mut translated = Vec::new();
        for template in &templates {
            let json = template.with_extension("cfn.json");
            run_ok(
                Command::new(python())
                    .env("AWS_DEFAULT_REGION", "us-east-1")
                    .arg("tests/validators/sam2cfn.py")
                    .arg(template)
                    .arg(&json),
                &format!("sam2cfn {}", template.display()),
            );
            translated.push(json);
        }
        run_ok(
            Command::new(tool("cfn-lint")).args(&translated),
            "cfn-lint (translated CloudFormation)",
        );
        for json in translated {
            std::fs::remove_file(json).unwrap();
        }
    }
    let tf_files = files_under(root, &["tf"]);
    let mut tf_dirs: Vec<PathBuf> = tf_files
        .iter()
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect();
    tf_dirs.dedup();
    for file in &tf_files {
        run_ok(
            Command::new(tool("hcl2tojson")).arg(file),
            &format!("hcl2tojson {}", file.display()),
        );
    }
    for dir in tf_dirs {
        run_ok(
            Command::new(python())
                .arg("tests/validators/tfcli.py")
                .arg(&dir)
                .args(["fmt", "-check", "-diff"]),
            &format!("terraform fmt -check {}", dir.display()),
        );
    }
}

/// checkov over `root`: the failed checks, as `(file, check id)`.
fn checkov_failures(root: &Path) -> Vec<(String, String)> {
    let out = Command::new(checkov())
        .arg("-d")
        .arg(root)
        .args([
            "--framework",
            "cloudformation",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
        ])
        .output()
        .expect("checkov runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // One report per framework (a list), or one object when only one framework ran.
    let reports = match value {
        serde_json::Value::Array(reports) => reports,
        other => vec![other],
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    for report in reports {
        passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        assert_eq!(
            report["summary"]["parsing_errors"].as_u64(),
            Some(0),
            "checkov could not parse some files: {}",
            report["summary"]
        );
        for check in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed.push((
                check["file_path"].as_str().unwrap_or_default().to_string(),
                check["check_id"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    assert!(
        passed > 0,
        "checkov checked nothing under {}",
        root.display()
    );
    failed.sort();
    failed
}

/// Whether the example declares `security` and `compliance`: then checkov must pass.
fn promises_security(spec: &Path) -> bool {
    let compilation = mlc::compile::compile(&FsWorld, spec, &LoadOptions::default()).unwrap();
    let model = compilation.model.expect("the example checks");
    model.security.is_some() && model.compliance.is_some()
}

#[test]
fn every_example_validates_is_deterministic_and_matches_its_snapshot() {
    let root = scratch("examples");
    std::fs::create_dir_all(&root).unwrap();
    let mut strict = BTreeMap::new();
    for spec in examples() {
        let name = stem(&spec);
        let out = root.join(&name);
        if !common::build_target(&spec, &out, "serverless") {
            continue;
        }
        let again = scratch(&format!("again-{name}"));
        build(&spec, &again, &["serverless"]);
        let text = concatenated(&out);
        assert_eq!(text, concatenated(&again), "{name}: two builds differ");
        std::fs::remove_dir_all(&again).unwrap();
        insta::with_settings!({
            snapshot_path => "snapshots/build/serverless",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.clone(), text);
        });
        strict.insert(name, promises_security(&spec));
    }
    validate(&root);
    let failures = checkov_failures(&root);
    let mut blocking = Vec::new();
    for (file, check) in &failures {
        let example = file
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        if strict.get(example).copied().unwrap_or(true) {
            blocking.push(format!("{file}: {check}"));
        } else {
            eprintln!("checkov (example without security and compliance): {file}: {check}");
        }
    }
    assert!(
        blocking.is_empty(),
        "checkov failed checks on examples that declare security and compliance:\n{}",
        blocking.join("\n")
    );
}

/// Writes `text` as a spec in a fresh folder and runs `mlc build --target serverless`.
fn build_text(name: &str, text: &str) -> (PathBuf, std::process::Output) {
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("spec.mlc");
    std::fs::write(&spec, text).unwrap();
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_mlc"))
        .env("NO_COLOR", "1")
        .arg("build")
        .arg(&spec)
        .args(["-o"])
        .arg(&out)
        .args(["--target", "serverless"])
        .output()
        .unwrap();
    (out, output)
}

/// A model path with quotes, a line break, YAML and HCL syntax and interpolations reaches
/// every platform as the same string, and every file still validates.
#[test]
fn hostile_strings_are_quoted_and_regions_get_their_own_templates() {
    // Not `s3://`: an S3 path becomes an IAM grant, which cannot name such an object.
    let hostile = r#"https://models.example/a\"b\n: #{c} ${d} %{e} !Ref f"#;
    let spec = format!(
        r#"
clouds {{ allow = [aws, gcp, azure] }}

function east {{
  model       = "{hostile}"
  platform    = aws_lambda
  runtime     = nodejs22
  memory      = 512 MiB
  timeout     = 3 s
  invocations = 1M / month
  region      = aws.us_east_1
  batching {{ size = 50, max_wait = 200 ms }}
}}

function west {{
  model       = "{hostile}"
  platform    = aws_lambda
  runtime     = go1
  memory      = 128 MiB
  timeout     = 1 s
  invocations = 1K / month
  region      = aws.eu_west_1
}}

function on_gcp {{
  model       = "{hostile}"
  platform    = gcp_cloud_functions
  runtime     = java21
  memory      = 1 GiB
  timeout     = 60 s
  invocations = 1K / month
}}

function on_azure {{
  model       = "{hostile}"
  platform    = azure_functions
  runtime     = provided
  memory      = 1 GiB
  timeout     = 90 s
  invocations = 1K / month
}}
"#
    );
    let (out, output) = build_text("hostile", &spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let serverless = out.join("serverless");
    assert!(serverless
        .join("aws_lambda/us-east-1/template.yaml")
        .is_file());
    assert!(serverless
        .join("aws_lambda/eu-west-1/template.yaml")
        .is_file());
    validate(&serverless);
    // The SAM template's environment holds the model path exactly.
    let template = serverless.join("aws_lambda/us-east-1/template.yaml");
    let json = template.with_extension("check.json");
    run_ok(
        Command::new(python())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .arg("tests/validators/sam2cfn.py")
            .arg(&template)
            .arg(&json),
        "sam2cfn",
    );
    let cfn: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).unwrap();
    let model = &cfn["Resources"]["East"]["Properties"]["Environment"]["Variables"]["MLC_MODEL"];
    assert_eq!(
        model.as_str(),
        Some("https://models.example/a\"b\n: #{c} ${d} %{e} !Ref f")
    );
    // HCL: quotes escaped, template sequences doubled so they stay literal text.
    for platform in ["gcp_cloud_functions", "azure_functions"] {
        let main = std::fs::read_to_string(serverless.join(platform).join("main.tf")).unwrap();
        assert!(
            main.contains(r#"= "https://models.example/a\"b\n: #{c} $${d} %%{e} !Ref f""#),
            "{platform}:\n{main}"
        );
    }
    // Go runs on Lambda's OS-only runtime; `provided` on Azure is a custom handler.
    let west =
        std::fs::read_to_string(serverless.join("aws_lambda/eu-west-1/template.yaml")).unwrap();
    assert!(west.contains("Runtime: \"provided.al2023\""));
    let azure = std::fs::read_to_string(serverless.join("azure_functions/main.tf")).unwrap();
    assert!(azure.contains(r#"runtime_name                = "custom""#));
    assert!(azure.contains(r#"runtime_version             = "1.0""#));
}

/// Azure functions run on the plan the plan prices: a Flex Consumption (FC1) app on the
/// instance size the plan bills, with `min_instances` always ready and a maximum within
/// Flex Consumption's 40..1000.
#[test]
fn azure_functions_run_on_the_flex_consumption_plan_the_plan_prices() {
    let spec = r#"
clouds { allow = [azure] }

function score {
  platform      = azure_functions
  runtime       = python3.12
  memory        = 600 MiB
  timeout       = 20 s
  avg_duration  = 300 ms
  invocations   = 5M / month
  min_instances = 3
}
"#;
    let (out, output) = build_text("flex", spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let folder = out.join("serverless/azure_functions");
    validate(&folder);
    let main = std::fs::read_to_string(folder.join("main.tf")).unwrap();
    for line in [
        r#"sku_name            = "FC1""#,
        r#"resource "azurerm_function_app_flex_consumption" "score" {"#,
        r#"runtime_name                = "python""#,
        r#"runtime_version             = "3.12""#,
        // 600 MiB runs on the 2048 MiB size, the one the stdlib's price list bills.
        "instance_memory_in_mb       = 2048",
        "maximum_instance_count      = 40",
        "instance_count = 3",
    ] {
        assert!(main.contains(line), "{line}:\n{main}");
    }
    for gone in [
        "azurerm_linux_function_app",
        "EP1",
        "elastic_instance_minimum",
    ] {
        assert!(!main.contains(gone), "{gone}:\n{main}");
    }
    let versions = std::fs::read_to_string(folder.join("versions.tf")).unwrap();
    assert!(versions.contains(r#"version = "4.43.0""#), "{versions}");
}

/// Two function names that become one CloudFormation logical ID are an error before
/// anything is written.
#[test]
fn names_that_collide_are_an_error() {
    let function = |name: &str| {
        format!(
            "function {name} {{\n  platform = aws_lambda\n  runtime = python3.12\n  memory = 256 MiB\n  timeout = 5 s\n  invocations = 1K / month\n  region = aws.us_east_1\n}}\n"
        )
    };
    let (out, output) = build_text(
        "clash",
        &format!("{}{}", function("score_card"), function("scoreCard")),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`scoreCard` and `score_card` would both be named `ScoreCard`;"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

/// Cloud Functions has no custom runtime: `provided` there is a clear error.
#[test]
fn a_custom_runtime_on_cloud_functions_is_an_error() {
    let (out, output) = build_text(
        "provided",
        "function f {\n  platform = gcp_cloud_functions\n  runtime = provided\n  memory = 256 MiB\n  timeout = 5 s\n  invocations = 1K / month\n}\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`f`: Google Cloud Functions has no custom runtime"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

/// A spec that trains `scorer` in `region` of `cloud` and serves it from a function on
/// `platform` there.
fn trained_model_spec(cloud: &str, region: &str, platform: &str, runtime: &str) -> String {
    format!(
        r#"
clouds {{ allow = [{cloud}] }}
dataset rows {{
  size     = 1 GB
  location = {cloud}.{region}
}}
train scorer {{
  data        = dataset.rows
  model       = mlp {{ input = 16, hidden = [32], output = 2 }}
  parallelism = data {{ gpus = 1 }}
  accelerator = T4 x 1
  batch_size  = 64
  optimizer   = adamw {{ lr = 1e-3 }}
  max_runtime = 1 h
  region      = {cloud}.{region}
}}
function score {{
  model        = train.scorer
  platform     = {platform}
  runtime      = {runtime}
  memory       = 2048 MB
  timeout      = 10 s
  avg_duration = 50 ms
  invocations  = 1M / month
  region       = {cloud}.{region}
}}
"#
    )
}

/// A Lambda serving a model the spec trains gets the trained weights' location (not the
/// spec's `train.x`), a read grant on that folder and the right to decrypt it with the
/// models bucket's key, which Terraform outputs for the template's parameter.
#[test]
fn a_function_serving_a_trained_model_finds_and_may_read_it() {
    let spec = trained_model_spec("aws", "us_east_1", "aws_lambda", "python3.12");
    let (out, output) = build_text("trained-model", &spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sam =
        std::fs::read_to_string(out.join("serverless/aws_lambda/us-east-1/template.yaml")).unwrap();
    let weights = "s3://mlc-models-us-east-1/scorer/model.safetensors";
    assert!(sam.contains(&format!("MLC_MODEL: \"{weights}\"")), "{sam}");
    assert!(
        sam.contains("arn:aws:s3:::mlc-models-us-east-1/scorer/*"),
        "{sam}"
    );
    assert!(
        sam.contains("Sid: DecryptModel") && sam.contains("ModelKeyArn:"),
        "{sam}"
    );
    // The whole build: Terraform gives the key the template asks for.
    let all = out.parent().unwrap().join("all");
    build(&out.parent().unwrap().join("spec.mlc"), &all, &[]);
    let outputs = std::fs::read_to_string(all.join("terraform/aws/outputs.tf")).unwrap();
    assert!(
        outputs.contains("output \"data_key_us_east_1\""),
        "{outputs}"
    );
}

/// An Azure function serving a model trained in Azure may read its container: a Storage
/// Blob Data Reader assignment whose scope names the resource group, storage account and
/// container that terraform/azure creates.
#[test]
fn an_azure_function_may_read_the_container_of_its_trained_model() {
    let spec = trained_model_spec("azure", "eastus", "azure_functions", "python3.11");
    let (out, output) = build_text("azure-trained-model", &spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let main = std::fs::read_to_string(out.join("serverless/azure_functions/main.tf")).unwrap();
    assert!(
        main.contains("MLC_MODEL    = \"az://mlc-models-eastus/scorer/model.safetensors\""),
        "{main}"
    );
    let all = out.parent().unwrap().join("all");
    build(&out.parent().unwrap().join("spec.mlc"), &all, &[]);
    let storage = std::fs::read_to_string(all.join("terraform/azure/storage.tf")).unwrap();
    let providers = std::fs::read_to_string(all.join("terraform/azure/providers.tf")).unwrap();
    for (name, file) in [
        ("\"mlc-models-eastus\"", &storage),
        ("\"mlceastus\"", &storage),
        ("\"mlc-eastus\"", &providers),
    ] {
        assert!(file.contains(name), "terraform/azure lacks {name}");
    }
    assert!(
        main.contains("/resourceGroups/mlc-eastus/providers/Microsoft.Storage/storageAccounts/mlceastus/blobServices/default/containers/mlc-models-eastus"),
        "{main}"
    );
}

/// Under `network = public` a request/response Lambda gets a way in: a function URL that
/// only IAM-signed requests pass (with provisioned concurrency, on its alias), as an
/// output; the template still validates, translated and not, and checkov finds nothing
/// but the network the spec chose.
#[test]
fn a_public_lambda_gets_an_iam_authenticated_function_url() {
    let spec = r#"
clouds { allow = [aws] }
security {
  encryption_at_rest    = aes256 via kms
  key_rotation          = 365 d
  encryption_in_transit = tls13
  network               = public
  access                = rbac { mfa = required }
  audit_logging         = on
  log_retention         = 1 year
}
function score {
  model                   = "s3://acme-models/score/model.safetensors"
  platform                = aws_lambda
  runtime                 = python3.12
  memory                  = 1024 MB
  timeout                 = 10 s
  avg_duration            = 50 ms
  invocations             = 1M / month
  provisioned_concurrency = 2
  region                  = aws.us_east_1
}
"#;
    let (out, output) = build_text("function-url", spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sam =
        std::fs::read_to_string(out.join("serverless/aws_lambda/us-east-1/template.yaml")).unwrap();
    assert!(
        sam.contains("FunctionUrlConfig:\n        AuthType: AWS_IAM"),
        "{sam}"
    );
    assert!(sam.contains("!GetAtt ScoreUrl.FunctionUrl"), "{sam}");
    validate(&out);
    // Outside a VPC is the spec's `network = public` (CKV_AWS_117); nothing else fails,
    // the URL's authentication (CKV_AWS_258) included.
    let failures: Vec<(String, String)> = checkov_failures(&out)
        .into_iter()
        .filter(|(_, check)| check != "CKV_AWS_117")
        .collect();
    assert_eq!(failures, Vec::<(String, String)>::new());
}
