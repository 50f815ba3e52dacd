//! `mlc catalog` end to end: the binary's output for typical queries, as snapshots.

use std::process::Command;

fn mlc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mlc"))
        .args(args)
        .output()
        .expect("mlc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a100_eight_gpus_gcp_eu_spot_table() {
    let (code, stdout, _) = mlc(&[
        "catalog",
        "--gpu",
        "A100",
        "--min-gpus",
        "8",
        "--cloud",
        "gcp",
        "--jurisdiction",
        "eu",
        "--spot",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn h100_json_lists_all_three_clouds() {
    let (code, stdout, stderr) = mlc(&["catalog", "--gpu", "H100", "--format", "json"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
    for cloud in ["aws", "gcp", "azure"] {
        assert!(rows.iter().any(|r| r["cloud"] == cloud), "no {cloud} row");
    }
    for field in [
        "cloud",
        "region",
        "instance_type",
        "accelerator",
        "accelerator_count",
        "vcpus",
        "memory_gib",
        "price_usd_per_hour",
        "spot_price_usd_per_hour",
    ] {
        assert!(
            rows.iter().all(|r| r.get(field).is_some()),
            "missing {field}"
        );
    }
    assert!(stderr.contains("catalog date 2026-05-20"), "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn cheapest_l4_in_us_east_as_json() {
    let (code, stdout, _) = mlc(&[
        "catalog", "--gpu", "l4", "--geo", "us_east", "--limit", "3", "--format", "json",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn unknown_accelerator_is_a_usage_error() {
    let (code, stdout, stderr) = mlc(&["catalog", "--gpu", "Z9000"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    insta::assert_snapshot!(stderr);
}

#[test]
fn bad_max_price_is_a_usage_error() {
    let (code, _, stderr) = mlc(&["catalog", "--max-price", "cheap"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: --max-price expects a positive number of USD per hour, found `cheap`\n"
    );
}

#[test]
fn max_price_and_region_filter_the_table() {
    let (code, stdout, _) = mlc(&["catalog", "--region", "eu_west_1", "--max-price", "1.2"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

/// A row of the table can be pasted into a spec: the GPU column uses spec names, and
/// the pasted accelerator checks cleanly.
#[test]
fn table_gpu_names_are_spec_names() {
    let (code, stdout, _) = mlc(&[
        "catalog",
        "--gpu",
        "A100_80GB",
        "--min-gpus",
        "8",
        "--cloud",
        "aws",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("A100_80GB x 8"), "{stdout}");
    assert!(!stdout.contains("A100-80GB"), "{stdout}");
    let spec = "train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 8 }\n  accelerator = A100_80GB x 8\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n";
    assert!(mlc::check::check_text("pasted.mlc", spec)
        .diagnostics
        .is_empty());
}

/// Notes are said only when they concern a listed row, in the table and (on stderr) for
/// JSON; an empty result still names the queried cloud's coverage gaps.
#[test]
fn notes_concern_only_the_rows_shown() {
    let notes = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("note: "))
            .map(String::from)
            .collect()
    };
    let (_, h200_aws, _) = mlc(&["catalog", "--gpu", "H200", "--cloud", "aws"]);
    let h200_aws = notes(&h200_aws);
    assert!(h200_aws
        .iter()
        .any(|n| n.contains("p5e.48xlarge has no on-demand price")));
    assert!(
        h200_aws.iter().all(|n| !n.starts_with("gcp")),
        "{h200_aws:#?}"
    );

    let (_, l4_aws, _) = mlc(&["catalog", "--gpu", "L4", "--cloud", "aws"]);
    assert!(
        notes(&l4_aws)
            .iter()
            .all(|n| !n.contains("no on-demand price")),
        "{l4_aws}"
    );

    let (_, a100_gcp_json, stderr) = mlc(&[
        "catalog",
        "--gpu",
        "A100",
        "--cloud",
        "gcp",
        "--jurisdiction",
        "eu",
        "--format",
        "json",
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&a100_gcp_json).expect("JSON");
    assert!(!rows.is_empty());
    let json_notes = notes(&stderr);
    assert!(json_notes.iter().all(|n| !n.starts_with("aws")), "{stderr}");
    assert!(
        json_notes.iter().any(|n| n.starts_with("gcp: GPU prices")),
        "{stderr}"
    );
    let outlier = json_notes.iter().any(|n| n.contains("price_outlier_low"));
    let flagged = rows.iter().any(|r| {
        r["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "price_outlier_low"))
    });
    assert_eq!(outlier, flagged, "{stderr}");

    let (_, empty, _) = mlc(&["catalog", "--cloud", "aws", "--max-price", "0.001"]);
    assert!(
        empty.starts_with("0 offerings") || empty.contains("\n0 offerings"),
        "{empty}"
    );
    assert_eq!(
        notes(&empty).len(),
        1,
        "an empty AWS result names AWS's coverage only: {empty}"
    );
}
