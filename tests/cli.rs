//! The command line as users drive it: exit codes, output formats and colour rules.

use std::process::Command;

fn mlc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const CLEAN: &str = "project p {\n  owner = \"team@example.com\"\n}\n";
const BROKEN: &str = "project p {\n  onwer = \"x\"\n}\n";

#[test]
fn check_exit_codes() {
    let dir = tempfile::tempdir().expect("tmp");
    let clean = write(&dir, "clean.mlc", CLEAN);
    let broken = write(&dir, "broken.mlc", BROKEN);
    let warn = write(&dir, "warn.mlc", "clouds {\n  allow = [aws, aws]\n}\n");
    assert_eq!(
        mlc().arg("check").arg(&clean).status().expect("run").code(),
        Some(0)
    );
    assert_eq!(
        mlc().arg("check").arg(&warn).status().expect("run").code(),
        Some(0)
    );
    assert_eq!(
        mlc()
            .arg("check")
            .arg(&broken)
            .status()
            .expect("run")
            .code(),
        Some(1)
    );
    assert_eq!(
        mlc()
            .arg("check")
            .arg(&clean)
            .arg(&broken)
            .status()
            .expect("run")
            .code(),
        Some(1)
    );
    assert_eq!(
        mlc()
            .arg("check")
            .arg(dir.path().join("nope.mlc"))
            .status()
            .expect("run")
            .code(),
        Some(2)
    );
    assert_eq!(
        mlc().arg("frobnicate").status().expect("run").code(),
        Some(2)
    );
}

#[test]
fn json_diagnostics_have_the_documented_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let broken = write(&dir, "broken.mlc", BROKEN);
    let out = mlc()
        .args(["check", "--format", "json"])
        .arg(&broken)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let first = rows
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["code"] == "mlc::E0202")
        .expect("E0202 reported");
    for field in [
        "code", "severity", "message", "file", "line", "column", "help",
    ] {
        assert!(first.get(field).is_some(), "missing {field} in {first}");
    }
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 3);
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(2), Some(8))
    );
}

#[test]
fn no_colour_when_not_a_terminal() {
    let dir = tempfile::tempdir().expect("tmp");
    let broken = write(&dir, "broken.mlc", BROKEN);
    let out = Command::new(env!("CARGO_BIN_EXE_mlc"))
        .arg("check")
        .arg(&broken)
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in piped output: {stderr}"
    );
    assert!(stderr.contains("mlc::E0202"));
}

#[test]
fn fmt_check_names_unformatted_files_and_fmt_fixes_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let messy = write(&dir, "messy.mlc", "project p { owner=\"x\" }\n");
    let tidy = write(&dir, "tidy.mlc", CLEAN);
    let out = mlc()
        .args(["fmt", "--check"])
        .arg(&messy)
        .arg(&tidy)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("messy.mlc") && !stdout.contains("tidy.mlc"),
        "{stdout}"
    );
    assert_eq!(
        mlc().arg("fmt").arg(&messy).status().expect("run").code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "project p {\n  owner = \"x\"\n}\n"
    );
    assert_eq!(
        mlc()
            .args(["fmt", "--check"])
            .arg(&messy)
            .status()
            .expect("run")
            .code(),
        Some(0)
    );
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = "project p { owner = = }\n";
    let bad = write(&dir, "bad.mlc", text);
    let out = mlc().arg("fmt").arg(&bad).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mlc::E0001"));
    assert_eq!(std::fs::read_to_string(&bad).expect("read"), text);
}

#[test]
fn explain_e0201_lists_the_schema_kinds() {
    let out = mlc().args(["explain", "E0201"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for kind in mlc::check::schema::KINDS {
        assert!(
            text.contains(kind.kind),
            "`{}` missing from:\n{text}",
            kind.kind
        );
    }
}

#[test]
fn explain_prints_the_long_form() {
    let out = mlc().args(["explain", "E0403"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("mlc::E0403: GPU count does not fill whole nodes"),
        "{text}"
    );
    assert!(text.contains("Example that triggers it"));
    assert_eq!(
        mlc()
            .args(["explain", "mlc::e0403"])
            .status()
            .expect("run")
            .code(),
        Some(0)
    );
    assert_eq!(
        mlc()
            .args(["explain", "E9999"])
            .status()
            .expect("run")
            .code(),
        Some(2)
    );
}

#[test]
fn sarif_output_has_the_required_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    write(
        &dir,
        "sub/clouds.mlc",
        "clouds {\n  allow = [aws, aws]\n}\n",
    );
    let spec = write(
        &dir,
        "spec.mlc",
        "import \"sub/clouds.mlc\"\nproject p {\n  onwer = \"x\"\n}\n",
    );
    let out = mlc()
        .args(["check", "--format", "sarif"])
        .arg(&spec)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "mlc");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .is_some_and(|u| u.contains(':')));
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), mlc::diag::codes::REGISTRY.len());
    let results = run["results"].as_array().expect("results");
    let find = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("{rule} missing in {results:?}"))
    };
    let error = find("E0202");
    let warning = find("W0103");
    assert_eq!(error["level"], "error");
    assert_eq!(warning["level"], "warning");
    for result in [error, warning] {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "PROJECTROOT");
        for field in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(
                location["region"][field].as_u64().is_some_and(|n| n >= 1),
                "{field}"
            );
        }
    }
    let region = &error["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "spec.mlc"
    );
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (region["endLine"].as_u64(), region["endColumn"].as_u64()),
        (Some(3), Some(8))
    );
    assert_eq!(
        warning["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "sub/clouds.mlc"
    );
}

#[test]
fn graph_prints_dot_with_classes_stops_and_volumes() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = write(
        &dir,
        "pipeline.mlc",
        r#"
dataset events {
  size           = 1 TB
  location       = aws.eu_west_1
  classification = personal_data
}
dataset features {
  size = 10 GB
  deidentified {
    method = "k-anonymity \"k = 20\""
  }
}
batch featurize {
  inputs      = [dataset.events]
  output      = dataset.features
  cpu         = 8
  max_runtime = 1 h
}
"#,
    );
    let out = mlc().arg("graph").arg(&spec).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = String::from_utf8(out.stdout).expect("utf-8");
    assert!(dot.starts_with("digraph \"mlc\" {"), "{dot}");
    assert!(
        dot.contains("batch featurize\\nclasses: personal_data"),
        "{dot}"
    );
    // The method is quoted for DOT, so a quote in it cannot end the label.
    assert!(
        dot.contains("personal_data stops here: k-anonymity \\\"k = 20\\\""),
        "{dot}"
    );
    assert!(dot.contains("[label=\"1.0 TB/month\"]"), "{dot}");

    let broken = write(&dir, "broken.mlc", "dataset d {\n  size = 1 GB\n}\n");
    let out = mlc().arg("graph").arg(&broken).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0212"));
}
