//! `mlc build` as users drive it: all or nothing, deterministic, and never in a folder it
//! did not write.

mod common;

use std::path::Path;
use std::process::Command;

fn mlc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1796083200");
    cmd
}

/// Every file under a folder with its bytes, for comparing two builds.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const EXAMPLE: &str = "examples/multicloud_failover.mlc";

#[test]
fn two_builds_are_byte_identical_and_replace_only_their_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    common::build(Path::new(EXAMPLE), &out, &[]);
    let first = snapshot(&out);
    assert!(first.iter().any(|(p, _)| p == "plan.json"));
    assert!(first.iter().any(|(p, _)| p == ".mlc-build"));
    // Building again replaces the folder as a whole: a stray file does not survive.
    std::fs::write(out.join("stray.txt"), "x").unwrap();
    common::build(Path::new(EXAMPLE), &out, &[]);
    assert_eq!(snapshot(&out), first, "two builds differ");
}

#[test]
fn a_folder_mlc_did_not_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.tf"), "keep me").unwrap();
    let out = mlc()
        .arg("build")
        .arg(EXAMPLE)
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was not written by `mlc build`"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.tf")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_spec_with_errors_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    common::build(Path::new(EXAMPLE), &out, &[]);
    let before = snapshot(&out);
    let broken = dir.path().join("broken.mlc");
    std::fs::write(&broken, "dataset d {\n  size = 1 GB\n}\n").unwrap();
    let run = mlc()
        .arg("build")
        .arg(&broken)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("nothing built"));
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_target_the_plan_leaves_empty_is_an_error_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.mlc");
    std::fs::write(
        &spec,
        "dataset d {\n  size     = 1 GB\n  location = aws.us_east_1\n}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = mlc()
        .arg("build")
        .arg(&spec)
        .args(["-o"])
        .arg(&out)
        .args(["--target", "serverless"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("the plan puts nothing in serverless"));
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn an_output_path_that_cannot_be_a_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let run = mlc()
        .arg("build")
        .arg(EXAMPLE)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("is not a folder"));
    let run = mlc()
        .arg("build")
        .arg(EXAMPLE)
        .arg("-o")
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// A build killed midway (here: by the file-size limit, as a full disk would stop it)
/// leaves the previous output exactly as it was.
#[cfg(unix)]
#[test]
fn a_build_killed_midway_leaves_the_previous_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    common::build(Path::new(EXAMPLE), &out, &[]);
    let before = snapshot(&out);
    // 4 KiB: the first larger file kills the process with SIGXFSZ.
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f 4; exec {} build {EXAMPLE} -o {}",
            env!("CARGO_BIN_EXE_mlc"),
            out.display()
        ))
        .env("SOURCE_DATE_EPOCH", "1796083200")
        .status()
        .unwrap();
    assert!(!status.success(), "the limited build should fail");
    assert_eq!(snapshot(&out), before);
}
