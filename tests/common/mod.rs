//! Shared by the build tests: the real validators (installed by
//! `tests/validators/setup.sh` into target/, once) and `mlc build` on an example.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The folder holding the validator venvs; installs them on first use. A validator test
/// that cannot get its tool fails: it never skips.
pub fn validators() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let out = Command::new("bash")
            .arg("tests/validators/setup.sh")
            .output()
            .expect("bash runs tests/validators/setup.sh");
        assert!(
            out.status.success(),
            "installing the validators failed (python3 with venv and the PyPI registry are needed once):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
}

/// A tool of the validators venv (`kubernetes-validate`, `yamllint`, `cfn-lint`, ...).
pub fn tool(name: &str) -> PathBuf {
    validators().join("venv/bin").join(name)
}

/// The venv's python, for the small driver scripts in tests/validators/.
pub fn python() -> PathBuf {
    tool("python")
}

/// checkov, from its own venv.
pub fn checkov() -> PathBuf {
    validators().join("checkov/bin/checkov")
}

/// Runs a command and fails the test with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `mlc build EXAMPLE -o DIR` with a fixed date, failing the test unless it succeeds.
pub fn build(spec: &Path, out: &Path, targets: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1796083200")
        .arg("build")
        .arg(spec)
        .arg("-o")
        .arg(out);
    if !targets.is_empty() {
        cmd.arg("--target").arg(targets.join(","));
    }
    run_ok(&mut cmd, &format!("mlc build {}", spec.display()))
}

/// Every example spec, sorted.
pub fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("examples")
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlc"))
        .collect();
    files.sort();
    files
}

/// Every file under `dir` with one of `extensions`, sorted.
pub fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
