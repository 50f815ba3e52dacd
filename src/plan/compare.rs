//! `mlc plan --compare OLD.json`: what changed between a reviewed plan and this one —
//! workloads added, removed or moved, and the cost of each change — like `infracost diff`.

use super::render::usd;
use super::{Plan, PlannedWorkload, SCHEMA_VERSION};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub old_total_monthly_usd: f64,
    pub new_total_monthly_usd: f64,
    pub delta_monthly_usd: f64,
    pub changes: Vec<Change>,
    /// Line-item categories whose monthly total changed (egress and storage move with
    /// placements and volumes, not only with the workloads above).
    pub categories: Vec<CategoryChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryChange {
    pub category: String,
    pub old_monthly_usd: f64,
    pub new_monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `added`, `removed`, `moved` (another cloud, region, instance type or capacity),
    /// `resized` (other node or replica count), `repriced`.
    pub change: String,
    /// `train.name`, `service.api (active copy 1)`.
    pub workload: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub delta_monthly_usd: f64,
}

/// Reads a plan written by `mlc plan --format json`.
pub fn read(json: &str) -> Result<Plan, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "it is a plan of schema_version {v}; this mlc writes and compares version {SCHEMA_VERSION}"
            ))
        }
        None => return Err("it has no `schema_version`: not a plan from `mlc plan --format json`".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("not a plan: {e}"))
}

fn key(w: &PlannedWorkload) -> String {
    match &w.copy {
        Some(copy) => format!("{}.{} ({copy})", w.kind, w.name),
        None => format!("{}.{}", w.kind, w.name),
    }
}

fn placement(w: &PlannedWorkload) -> String {
    if w.instance_type.is_empty() {
        return format!("{}.{}", w.cloud, w.region);
    }
    // Hours too: a job that runs more often is "repriced", and this shows why.
    format!(
        "{} {} {} x {} {}, {:.1} h/month",
        w.cloud, w.region_code, w.instance_type, w.nodes, w.capacity, w.hours_per_month
    )
}

/// Changes in workload order of the new plan, then removed workloads.
pub fn diff(old: &Plan, new: &Plan) -> Diff {
    let before: BTreeMap<String, &PlannedWorkload> =
        old.workloads.iter().map(|w| (key(w), w)).collect();
    let after: BTreeMap<String, &PlannedWorkload> =
        new.workloads.iter().map(|w| (key(w), w)).collect();
    let mut changes = Vec::new();
    for w in &new.workloads {
        let k = key(w);
        match before.get(&k) {
            None => changes.push(Change {
                change: "added".into(),
                workload: k,
                old: None,
                new: Some(placement(w)),
                delta_monthly_usd: w.monthly_usd,
            }),
            Some(o) => {
                let delta = w.monthly_usd - o.monthly_usd;
                let site = |w: &PlannedWorkload| {
                    (
                        w.cloud.clone(),
                        w.region.clone(),
                        w.instance_type.clone(),
                        w.capacity.clone(),
                    )
                };
                let change = if site(o) != site(w) {
                    "moved"
                } else if o.nodes != w.nodes {
                    "resized"
                } else if delta.abs() >= 0.005 {
                    "repriced"
                } else {
                    continue;
                };
                changes.push(Change {
                    change: change.into(),
                    workload: k,
                    old: Some(placement(o)),
                    new: Some(placement(w)),
                    delta_monthly_usd: delta,
                });
            }
        }
    }
    for w in &old.workloads {
        let k = key(w);
        if !after.contains_key(&k) {
            changes.push(Change {
                change: "removed".into(),
                workload: k,
                old: Some(placement(w)),
                new: None,
                delta_monthly_usd: -w.monthly_usd,
            });
        }
    }
    let totals = |plan: &Plan| {
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        for item in &plan.line_items {
            *by.entry(item.category.clone()).or_default() += item.monthly_usd;
        }
        by
    };
    let (before_items, after_items) = (totals(old), totals(new));
    let mut keys: Vec<&String> = before_items.keys().chain(after_items.keys()).collect();
    keys.sort();
    keys.dedup();
    let categories = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (
                before_items.get(k).copied().unwrap_or(0.0),
                after_items.get(k).copied().unwrap_or(0.0),
            );
            ((n - o).abs() >= 0.005).then(|| CategoryChange {
                category: k.clone(),
                old_monthly_usd: o,
                new_monthly_usd: n,
            })
        })
        .collect();
    Diff {
        categories,
        old_total_monthly_usd: old.total_monthly_usd,
        new_total_monthly_usd: new.total_monthly_usd,
        delta_monthly_usd: new.total_monthly_usd - old.total_monthly_usd,
        changes,
    }
}

fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", usd(x))
    } else {
        usd(x)
    }
}

pub fn to_text(diff: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost: {} -> {} ({})",
        usd(diff.old_total_monthly_usd),
        usd(diff.new_total_monthly_usd),
        signed(diff.delta_monthly_usd)
    );
    if diff.changes.is_empty() {
        out.push_str("No workload changed placement or price.\n");
    }
    for c in &diff.categories {
        let _ = writeln!(
            out,
            "  {:<8} {} -> {} ({})",
            c.category,
            usd(c.old_monthly_usd),
            usd(c.new_monthly_usd),
            signed(c.new_monthly_usd - c.old_monthly_usd)
        );
    }
    for c in &diff.changes {
        let _ = writeln!(
            out,
            "  {:<8} {} {}",
            c.change,
            c.workload,
            signed(c.delta_monthly_usd)
        );
        if let Some(old) = &c.old {
            let _ = writeln!(out, "    - {old}");
        }
        if let Some(new) = &c.new {
            let _ = writeln!(out, "    + {new}");
        }
    }
    out
}

pub fn to_markdown(diff: &Diff) -> String {
    let mut out = format!(
        "### mlc plan diff\n\n**{} → {} ({}) / month**\n\n",
        usd(diff.old_total_monthly_usd),
        usd(diff.new_total_monthly_usd),
        signed(diff.delta_monthly_usd)
    );
    if !diff.categories.is_empty() {
        out.push_str("| category | before | after | $/month |\n|---|---:|---:|---:|\n");
        for c in &diff.categories {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                c.category,
                usd(c.old_monthly_usd),
                usd(c.new_monthly_usd),
                signed(c.new_monthly_usd - c.old_monthly_usd)
            );
        }
        out.push('\n');
    }
    if diff.changes.is_empty() {
        out.push_str("No workload changed placement or price.\n");
        return out;
    }
    out.push_str("| change | workload | before | after | $/month |\n|---|---|---|---|---:|\n");
    for c in &diff.changes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.change,
            c.workload.replace('|', "\\|"),
            c.old.as_deref().unwrap_or("").replace('|', "\\|"),
            c.new.as_deref().unwrap_or("").replace('|', "\\|"),
            signed(c.delta_monthly_usd)
        );
    }
    out
}
