//! The command line: JSON-lines metrics, clear config errors, and SIGTERM → checkpoint → exit 0
//! → `--resume` continues the uninterrupted loss curve.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HARNESS: &str = env!("CARGO_BIN_EXE_mlc-harness");

const TINY_LM: &str = r#"{
    "schema_version": 1, "seed": 9,
    "model": {"kind": "transformer", "vocab_size": 32, "seq_len": 8, "layers": 1, "hidden": 16, "heads": 2},
    "optimizer": {"kind": "adamw", "lr": 0.01},
    "schedule": {"warmup_steps": 4, "decay": "cosine", "min_lr_ratio": 0.1},
    "batch": {"size": 8},
    "training": {"max_steps": 1000},
    "metrics": {"log_every_steps": 1, "progress_bar": false}
}"#;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlc-harness-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// (step, loss) of every JSON line.
fn parse_curve(lines: &[String]) -> Vec<(u64, f64)> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            for key in ["lr", "samples_per_s", "tokens_per_s", "mem_rss_mb"] {
                assert!(v.get(key).is_some(), "metrics line lacks {key}: {l}");
            }
            (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap())
        })
        .collect()
}

fn run_to_end(config: &Path, checkpoints: &Path, extra: &[&str]) -> Vec<(u64, f64)> {
    let out = Command::new(HARNESS)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--synthetic",
            "--max-steps",
            "300",
        ])
        .args(["--checkpoint-dir", checkpoints.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    parse_curve(&text.lines().map(str::to_string).collect::<Vec<_>>())
}

#[test]
fn sigterm_checkpoints_exits_zero_and_resume_matches() {
    let dir = scratch("sigterm");
    let config = write_config(&dir, TINY_LM);
    let straight = run_to_end(&config, &dir.join("straight"), &[]);
    assert_eq!(straight.len(), 300);

    let checkpoints = dir.join("preempted");
    let mut child = Command::new(HARNESS)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--synthetic",
            "--max-steps",
            "300",
        ])
        .args(["--checkpoint-dir", checkpoints.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    // Stop reading after a few steps: the pipe fills, so the run cannot finish before SIGTERM.
    while lines.len() < 5 {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "harness ended early"
        );
        lines.push(line.trim().to_string());
    }
    // SAFETY: plain kill(2) on our own child's pid.
    let killed = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(killed, 0);
    for line in reader.lines() {
        lines.push(line.unwrap());
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM must exit 0, got {status:?}");
    let first = parse_curve(&lines);
    let stopped_at = first.last().unwrap().0;
    assert!(stopped_at < 300, "the run finished before SIGTERM arrived");
    let latest = mlc_harness::checkpoint::latest(&checkpoints)
        .unwrap()
        .unwrap();
    assert_eq!(latest, checkpoints.join(format!("step-{stopped_at:08}-0")));

    let resumed = run_to_end(&config, &checkpoints, &["--resume"]);
    assert_eq!(resumed.first().unwrap().0, stopped_at + 1);
    let curve: Vec<(u64, f64)> = first.into_iter().chain(resumed).collect();
    assert_eq!(curve.len(), straight.len());
    for ((s1, l1), (s2, l2)) in straight.iter().zip(&curve) {
        assert_eq!(s1, s2);
        assert!((l1 - l2).abs() < 1e-6, "step {s1}: {l1} vs {l2}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_config_fails_with_the_field_named() {
    let dir = scratch("invalid");
    let bad = TINY_LM.replace(r#""heads": 2"#, r#""heads": 3"#);
    let config = write_config(&dir, &bad);
    let out = Command::new(HARNESS)
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.heads"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let missing = Command::new(HARNESS)
        .args(["--config", dir.join("nope.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_data_errors_are_reported_not_panicked() {
    let dir = scratch("nodata");
    let with_files = TINY_LM.replace(
        r#""schema_version": 1,"#,
        &format!(
            r#""schema_version": 1, "data": {{"source": "files", "format": "npy", "path": "{}"}},"#,
            dir.join("missing").display()
        ),
    );
    let config = write_config(&dir, &with_files);
    let out = Command::new(HARNESS)
        .args(["--config", config.to_str().unwrap(), "--max-steps", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data.path"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
