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
    format!(
        "{} {} {} x {} {}",
        w.cloud, w.region_code, w.instance_type, w.nodes, w.capacity
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
    Diff {
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
