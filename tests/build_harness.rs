//! `mlc build --target harness`: for every example, the projects it writes (snapshot), their
//! `config.json` against the harness's JSON Schema (the validators venv's `jsonschema`),
//! their Dockerfiles through checkov; and one generated project built on its own with
//! `cargo build --release --locked`, which trains with falling loss and reports the
//! parameter count the spec computes.

mod common;

use mlc::check::model::Architecture;
use mlc::emit::harness::{model_config, LOCKFILE, RUNTIME};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// Every file under `dir`, relative, with `/` separators, sorted.
fn relative_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = all_files(dir)
        .into_iter()
        .map(|p| {
            p.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    out.sort();
    out
}

/// Every file under `dir`, whatever the extension, sorted.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The snapshot text of one build: every file under `harness/` with a `--- path ---` line;
/// the runtime's sources and lockfile, checked here to be verbatim copies, by name only.
fn snapshot_text(out: &Path) -> String {
    let mut text = String::new();
    for path in all_files(&out.join("harness")) {
        let rel = path
            .strip_prefix(out)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let contents = std::fs::read_to_string(&path).unwrap();
        let in_project = rel.splitn(3, '/').nth(2).unwrap_or_default().to_string();
        let verbatim = RUNTIME
            .iter()
            .find(|(p, _)| *p == in_project)
            .map(|(_, t)| *t)
            .or((in_project == "Cargo.lock").then_some(LOCKFILE));
        match verbatim {
            Some(expected) => {
                assert_eq!(contents, expected, "{rel} is not a verbatim copy");
                text.push_str(&format!(
                    "--- {rel} --- (verbatim copy of targets/harness/{in_project})\n"
                ));
            }
            None => {
                text.push_str(&format!("--- {rel} ---\n"));
                text.push_str(&contents);
            }
        }
    }
    text
}

#[test]
fn every_example_builds_valid_projects() {
    let root = tempfile::tempdir().unwrap();
    let mut configs = Vec::new();
    let mut built = Vec::new();
    for spec in common::examples() {
        let stem = spec.file_stem().unwrap().to_string_lossy().to_string();
        let out = root.path().join(&stem);
        common::build(&spec, &out, &["harness"]);
        // Deterministic: a second build is byte-identical.
        let again = root.path().join(format!("{stem}.again"));
        common::build(&spec, &again, &["harness"]);
        let text = snapshot_text(&out);
        assert_eq!(text, snapshot_text(&again), "{stem}: two builds differ");
        for project in all_files(&out.join("harness"))
            .into_iter()
            .filter(|p| p.ends_with("config.json"))
        {
            configs.push(project);
        }
        insta::with_settings!({
            snapshot_path => "snapshots/build/harness",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem.clone(), text);
        });
        built.push(out);
    }
    assert!(
        configs.len() >= 10,
        "examples have fewer trains than expected: {configs:?}"
    );

    let mut schema_check = Command::new(common::python());
    schema_check
        .arg("tests/validators/harness_config_schema.py")
        .arg("targets/harness/config.schema.json")
        .args(&configs);
    common::run_ok(&mut schema_check, "jsonschema on every config.json");

    // checkov once over every example's output (its start-up dominates).
    let mut checkov = Command::new(common::checkov());
    checkov.arg("-d").arg(root.path()).args([
        "--framework",
        "dockerfile",
        "--skip-download",
        "--compact",
        "--quiet",
    ]);
    let out = common::run_ok(&mut checkov, "checkov --framework dockerfile");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Failed checks: 0"), "{report}");
    assert!(!report.contains("Skipped checks: 1"), "{report}");
}

#[test]
fn a_project_holds_the_runtime_a_manifest_a_lockfile_a_dockerfile_and_its_config() {
    let out = tempfile::tempdir().unwrap();
    common::build(
        Path::new("examples/serverless_scoring.mlc"),
        out.path(),
        &["harness"],
    );
    let files = relative_files(&out.path().join("harness/card-fraud-mlp"));
    let mut expected: Vec<String> = [
        ".dockerignore",
        "Cargo.lock",
        "Cargo.toml",
        "Dockerfile",
        "config.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(RUNTIME.iter().map(|(p, _)| p.to_string()))
    .collect();
    expected.sort();
    assert_eq!(files, expected);
}

/// Every package of the embedded lockfile is the workspace's (same version and checksum),
/// so a generated project builds what this repository tests.
#[test]
fn the_runtime_lockfile_is_a_subset_of_the_workspace_lockfile() {
    fn packages(text: &str) -> Vec<(String, String, String)> {
        text.split("[[package]]")
            .skip(1)
            .map(|block| {
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string()
                };
                (field("name"), field("version"), field("checksum"))
            })
            .collect()
    }
    let workspace = packages(&std::fs::read_to_string("Cargo.lock").unwrap());
    let runtime = packages(LOCKFILE);
    assert!(runtime.iter().any(|p| p.0 == "candle-core"));
    for package in &runtime {
        assert!(
            workspace.contains(package),
            "{package:?} differs from the workspace lockfile: run targets/harness/scripts/lockfile.sh"
        );
    }
}

/// The target dir this test binary was built into (`<target>/debug/deps/<test>`): the
/// generated project builds there too, so candle is compiled once for both.
fn shared_target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// `examples/serverless_scoring.mlc`'s project, built on its own once per test run.
fn built_project() -> &'static (tempfile::TempDir, PathBuf) {
    static BUILT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        common::build(
            Path::new("examples/serverless_scoring.mlc"),
            out.path(),
            &["harness"],
        );
        let project = out.path().join("harness/card-fraud-mlp");
        let target = shared_target_dir();
        // Cargo fingerprints a path package without its folder, so another copy of the
        // runtime built into this target dir could pass for this one: clean the crate
        // itself (not its dependencies) so the binary is this project's.
        let mut clean = Command::new(env!("CARGO"));
        clean
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .args(["clean", "--release", "--quiet", "-p", "mlc-harness"]);
        common::run_ok(&mut clean, "cargo clean -p mlc-harness");
        let started = Instant::now();
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--locked", "--quiet"]);
        common::run_ok(&mut cargo, "cargo build --release in the generated project");
        eprintln!(
            "generated harness project built in {:.1} s (target dir {})",
            started.elapsed().as_secs_f64(),
            target.display()
        );
        let binary = target.join("release/mlc-harness");
        (out, binary)
    })
}

/// `(metrics lines, stderr)` of the built harness on `config`.
fn run_harness(config: &Path, args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let (_, binary) = built_project();
    let checkpoints = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary);
    cmd.arg("--config")
        .arg(config)
        .arg("--checkpoint-dir")
        .arg(checkpoints.path())
        .args(args)
        // Tests run side by side on a small machine: one gemm thread each.
        .env("RAYON_NUM_THREADS", "1");
    let out = common::run_ok(&mut cmd, "mlc-harness");
    let metrics = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (metrics, String::from_utf8_lossy(&out.stderr).to_string())
}

fn reported_parameters(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("model: ")?.strip_suffix(" parameters"))
        .unwrap_or_else(|| panic!("no parameter count in: {stderr}"))
        .parse()
        .unwrap()
}

#[test]
fn the_generated_project_trains_on_cpu_with_falling_loss() {
    let (out, _) = built_project();
    let config = out.path().join("harness/card-fraud-mlp/config.json");
    let (metrics, stderr) = run_harness(&config, &["--synthetic", "--max-steps", "40"]);
    assert_eq!(metrics.len(), 40, "{stderr}");
    let loss = |m: &serde_json::Value| m["loss"].as_f64().unwrap();
    let first: f64 = metrics[..5].iter().map(loss).sum::<f64>() / 5.0;
    let last: f64 = metrics[35..].iter().map(loss).sum::<f64>() / 5.0;
    eprintln!("card_fraud_mlp: loss {first:.4} -> {last:.4}");
    assert!(last < first * 0.9, "loss did not fall: {first} -> {last}");
    // The spec's model (96 -> 512 -> 256 -> 128 -> 2) as the harness built it.
    let spec = Architecture::Mlp {
        input: 96,
        hidden: vec![512, 256, 128],
        output: 2,
    };
    assert_eq!(reported_parameters(&stderr), spec.parameters());
}

/// `Architecture::parameters` (what the plan prices and the checks size memory by) is the
/// count of the model the harness really builds, for each model kind.
#[test]
fn the_spec_parameter_count_is_the_harness_count_for_every_model_kind() {
    let architectures = [
        Architecture::Mlp {
            input: 7,
            hidden: vec![13, 5],
            output: 3,
        },
        Architecture::Transformer {
            layers: 2,
            hidden: 16,
            heads: 4,
            vocab: 37,
            seq_len: 9,
        },
        Architecture::Cnn {
            channels: vec![4, 6],
            image_size: 8,
            classes: 5,
            in_channels: 3,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, arch) in architectures.iter().enumerate() {
        let config = serde_json::json!({
            "schema_version": 1,
            "model": serde_json::to_value(model_config(arch)).unwrap(),
            "optimizer": {"kind": "sgd", "lr": 0.01},
            "batch": {"size": 2},
            "checkpoint": {"at_end": false},
            "training": {"max_steps": 1},
            "metrics": {"progress_bar": false},
        });
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, config.to_string()).unwrap();
        let (_, stderr) = run_harness(&path, &["--synthetic"]);
        assert_eq!(reported_parameters(&stderr), arch.parameters(), "{arch:?}");
    }
}

/// `pipeline { replicas }` runs data-parallel copies of the pipeline: with the same global
/// batch it follows the single-device loss curve.
#[test]
fn pipeline_replicas_follow_the_single_device_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut curves = Vec::new();
    for (i, parallelism) in [
        serde_json::json!({"kind": "none"}),
        serde_json::json!({"kind": "pipeline", "stages": 3, "micro_batches": 2, "replicas": 2}),
    ]
    .into_iter()
    .enumerate()
    {
        let config = serde_json::json!({
            "schema_version": 1, "seed": 5,
            "model": {"kind": "mlp", "input_dim": 12, "hidden": [32, 16], "num_classes": 5},
            "optimizer": {"kind": "adamw", "lr": 0.01},
            "batch": {"size": 24},
            "parallelism": parallelism,
            "checkpoint": {"at_end": false},
            "training": {"max_steps": 15},
            "metrics": {"progress_bar": false},
        });
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, config.to_string()).unwrap();
        let (metrics, _) = run_harness(&path, &["--synthetic"]);
        let world = metrics.last().unwrap()["world_size"].as_u64().unwrap();
        let losses: Vec<f64> = metrics
            .iter()
            .map(|m| m["loss"].as_f64().unwrap())
            .collect();
        curves.push((world, losses));
    }
    assert_eq!((curves[0].0, curves[1].0), (1, 2));
    for (a, b) in curves[0].1.iter().zip(&curves[1].1) {
        assert!(
            (a - b).abs() < 1e-5,
            "{:?} vs {:?}",
            curves[0].1,
            curves[1].1
        );
    }
}
