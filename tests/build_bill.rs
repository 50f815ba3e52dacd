//! The plan is the bill of what the build writes: for every example, every fixed-cost
//! resource the emitted Terraform (and SAM) keeps running has a `fixed` line item of the
//! plan that names it, and every address a line item names exists in the files. A test
//! of the two stages against each other, by reading the files the build wrote.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Resource types that bill whatever the load, and which of their names the plan's
/// `fixed` items must cover: `None` every resource of the type, `Some(suffix)` those
/// whose name ends with it (workload node pools are priced by their workloads' compute
/// lines instead).
const BILLED_WHATEVER_THE_LOAD: &[(&str, Option<&str>)] = &[
    ("aws_eks_cluster", None),
    ("aws_eks_node_group", Some("_system")),
    ("aws_kms_key", None),
    ("google_container_cluster", None),
    ("google_container_node_pool", Some("_system")),
    ("google_kms_crypto_key", None),
    ("azurerm_kubernetes_cluster", None),
    ("azurerm_key_vault_key", None),
];

fn plan_json(spec: &Path) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlc"));
    cmd.env("SOURCE_DATE_EPOCH", "1796083200")
        .args(["plan", "--format", "json"])
        .arg(spec);
    let out = common::run_ok(&mut cmd, &format!("mlc plan {}", spec.display()));
    serde_json::from_slice(&out.stdout).expect("plan JSON")
}

/// `resource "TYPE" "NAME"` headers of every `.tf` file under `dir`.
fn resources(dir: &Path) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for file in common::files_under(dir, &["tf"]) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let words: Vec<&str> = line.split('"').collect();
            if line.starts_with("resource \"") && words.len() >= 4 {
                found.insert((words[1].to_string(), words[3].to_string()));
            }
        }
    }
    found
}

/// Every `.tf` file under `dir`, joined: a `for_each` key (an interface endpoint's
/// service) is there as a quoted string.
fn terraform_text(dir: &Path) -> String {
    common::files_under(dir, &["tf"])
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `address` (`type.name`, `type.name["key"]`, or `file#LogicalId`) exists in
/// the build under `out`.
fn exists(out: &Path, address: &str, found: &BTreeSet<(String, String)>, tf_text: &str) -> bool {
    if let Some((file, logical_id)) = address.split_once('#') {
        return std::fs::read_to_string(out.join(file))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == format!("{logical_id}:")));
    }
    let (resource, key) = match address.split_once('[') {
        Some((r, k)) => (r, Some(k.trim_end_matches(']').trim_matches('"'))),
        None => (address, None),
    };
    let Some((kind, name)) = resource.split_once('.') else {
        return false;
    };
    found.contains(&(kind.to_string(), name.to_string()))
        && key.is_none_or(|k| tf_text.contains(&format!("\"{k}\"")))
}

#[test]
fn every_fixed_cost_the_build_keeps_running_is_a_line_item_of_the_plan() {
    let mut checked = 0;
    for spec in common::examples() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        common::build(&spec, &out, &[]);
        let plan = plan_json(&spec);
        let found = resources(&out.join("terraform"));
        let tf_text = terraform_text(&out.join("terraform"));
        let priced: BTreeSet<String> = plan["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["category"] == "fixed")
            .flat_map(|i| i["resources"].as_array().cloned().unwrap_or_default())
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        for address in &priced {
            assert!(
                exists(&out, address, &found, &tf_text),
                "{}: the plan prices `{address}`, which the build does not write",
                spec.display()
            );
        }
        for (kind, name) in &found {
            let Some((_, suffix)) = BILLED_WHATEVER_THE_LOAD.iter().find(|(k, _)| k == kind) else {
                continue;
            };
            if suffix.is_some_and(|s| !name.ends_with(s)) {
                continue;
            }
            assert!(
                priced.contains(&format!("{kind}.{name}")),
                "{}: the build keeps `{kind}.{name}` running but no line item of the plan prices it",
                spec.display()
            );
            checked += 1;
        }
        // The plan's total is its line items, fixed costs included.
        let items: f64 = plan["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["monthly_usd"].as_f64().unwrap())
            .sum();
        let total = plan["total_monthly_usd"].as_f64().unwrap();
        assert!(
            (items - total).abs() <= 0.01 * plan["line_items"].as_array().unwrap().len() as f64,
            "{}: line items add up to {items}, the total is {total}",
            spec.display()
        );
    }
    assert!(
        checked >= 20,
        "only {checked} billed resources were checked"
    );
}

/// Every `fixed` item's region adds up to the plan's `fixed_costs` for that region.
#[test]
fn fixed_costs_per_region_are_the_fixed_line_items() {
    let plan = plan_json(Path::new("examples/multicloud_failover.mlc"));
    let regions = plan["fixed_costs"].as_array().unwrap();
    assert!(!regions.is_empty());
    let fixed_items: f64 = plan["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["category"] == "fixed")
        .map(|i| i["monthly_usd"].as_f64().unwrap())
        .sum();
    let per_region: f64 = regions
        .iter()
        .map(|r| r["fixed_monthly_usd"].as_f64().unwrap())
        .sum();
    assert!(
        (fixed_items - per_region).abs() < 0.05,
        "{fixed_items} vs {per_region}"
    );
    assert_eq!(plan["solver"]["proven_optimal"], true);
}
