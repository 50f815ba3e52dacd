//! A plan for people: text for the terminal, markdown for a pull-request comment. (JSON
//! is the `Plan` itself, serialised.) Both are deterministic: workloads in model order,
//! line items by category then name.

use super::{LineItem, Plan, PlannedWorkload};
use crate::graph::draw::Placements;
use crate::graph::NodeKind;
use std::fmt::Write;

/// `$12,345.67`
pub fn usd(x: f64) -> String {
    let cents = (x * 100.0).round() as i128;
    let (sign, cents) = if cents < 0 {
        ("-", -cents)
    } else {
        ("", cents)
    };
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// Like [`usd`], but an amount too small to show in cents reads `<$0.01`, not `$0.00`.
fn usd_item(x: f64) -> String {
    if x > 0.0 && x < 0.005 {
        "<$0.01".into()
    } else {
        usd(x)
    }
}

fn placement(w: &PlannedWorkload) -> String {
    if w.instance_type.is_empty() {
        return format!("{}.{}", w.cloud, w.region);
    }
    format!(
        "{} {} {} x {} {}",
        w.cloud,
        w.region_code,
        w.instance_type,
        trim(w.nodes),
        w.capacity
    )
}

/// The plan as lines on the resource graph's nodes (`mlc graph`): per workload, each
/// copy's placement and monthly cost, in plan order, e.g.
/// `plan (warm standby): gcp europe-west1 n2-standard-16 x 1 on_demand, $155.98/month`.
pub fn placements_by_node(plan: &Plan) -> Placements {
    let mut placements = Placements::new();
    for w in &plan.workloads {
        let Some(kind) = NodeKind::from_keyword(&w.kind) else {
            continue;
        };
        let copy = w.copy.as_ref().map_or(String::new(), |c| format!(" ({c})"));
        placements
            .entry((kind, w.name.clone()))
            .or_default()
            .push(format!(
                "plan{copy}: {}, {}/month",
                placement(w),
                usd(w.monthly_usd)
            ));
    }
    placements
}

/// A count as written: `2`, or `0.25` for a fraction.
pub(super) fn trim(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn title(w: &PlannedWorkload) -> String {
    match &w.copy {
        Some(copy) => format!("{} {} ({copy})", w.kind, w.name),
        None => format!("{} {}", w.kind, w.name),
    }
}

fn budget_line(plan: &Plan) -> Option<String> {
    let budget = plan.budget_monthly_usd?;
    let share = if budget > 0.0 {
        plan.cloud_monthly_usd / budget * 100.0
    } else {
        0.0
    };
    let mut line = format!(
        "{} / month; cloud spend {} is {share:.0}% of it",
        usd(budget),
        usd(plan.cloud_monthly_usd)
    );
    if !plan.alerts_reached.is_empty() {
        let reached: Vec<String> = plan
            .alerts_reached
            .iter()
            .map(|a| format!("{a}%"))
            .collect();
        let _ = write!(line, "; alerts reached: {}", reached.join(", "));
    }
    if let Some(anomaly) = plan.anomaly_alert_usd {
        let _ = write!(
            line,
            "; the anomaly alert fires above {} a month",
            usd(anomaly)
        );
    }
    Some(line)
}

fn catalog_line(plan: &Plan) -> String {
    match plan.catalog_age_days {
        Some(age) => format!("catalog {} ({age} days old)", plan.catalog_date),
        None => format!("catalog {}", plan.catalog_date),
    }
}

fn managed_line(m: &super::ManagedFit) -> String {
    let mut line = format!("{} could run it", m.title);
    if !m.uses.is_empty() {
        let _ = write!(line, ", using {}", m.uses.join(", "));
    }
    if !m.lacks.is_empty() {
        let _ = write!(line, "; it lacks {}", m.lacks.join(", "));
    }
    line
}

/// The plan as a terminal report.
pub fn to_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan for {} ({})\n", plan.spec, catalog_line(plan));
    out.push_str("Workloads\n");
    for w in &plan.workloads {
        let _ = writeln!(out, "  {}", title(w));
        let _ = writeln!(
            out,
            "    {}: {}/month{}",
            placement(w),
            usd(w.monthly_usd),
            if w.usd_per_hour > 0.0 {
                format!(
                    " ({}/h for {:.1} h)",
                    usd(w.usd_per_hour),
                    w.hours_per_month
                )
            } else {
                String::new()
            }
        );
        if let Some(r) = &w.rationale.runner_up {
            let _ = writeln!(
                out,
                "    runner-up: {} (+{}/month)",
                r.placement,
                usd(r.extra_monthly_usd)
            );
        }
        for e in &w.rationale.excluded {
            let _ = writeln!(
                out,
                "    excluded: {} {}/month: {}",
                e.placement,
                usd(e.monthly_usd),
                e.reason
            );
        }
        if let Some(m) = &w.managed {
            let _ = writeln!(out, "    managed: {}", managed_line(m));
        }
        for note in &w.notes {
            let _ = writeln!(out, "    note: {note}");
        }
    }
    out.push_str("\nLine items\n");
    for item in &plan.line_items {
        let _ = writeln!(
            out,
            "  {:<10} {:>14}  {}: {}",
            item.category,
            usd_item(item.monthly_usd),
            item.name,
            item_detail(item)
        );
    }
    let _ = writeln!(out, "\nTotal: {} / month", usd(plan.total_monthly_usd));
    if let Some(line) = gap_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(line) = budget_line(plan) {
        let _ = writeln!(out, "Budget: {line}");
    }
    if !plan.compliance.is_empty() {
        out.push_str("\nCompliance\n");
        for c in &plan.compliance {
            let _ = writeln!(out, "  {}: {} ({})", c.framework, c.verdict, c.detail);
        }
    }
    if !plan.findings.is_empty() {
        out.push_str("\nFindings\n");
        for f in &plan.findings {
            let _ = writeln!(out, "  {} {}: {}", f.severity, f.subject, f.message);
        }
    }
    out
}

/// A line item's detail and, where known, the resources it prices.
fn item_detail(item: &LineItem) -> String {
    if item.resources.is_empty() {
        return item.detail.clone();
    }
    format!("{} [{}]", item.detail, item.resources.join(", "))
}

/// Where the optimum is not proven (a group of connected workloads or the search over
/// fixed costs stopped at its limits), the bound that is, and the gap: never an
/// unlabelled heuristic.
fn gap_line(plan: &Plan) -> Option<String> {
    if plan.solver.proven_optimal {
        return None;
    }
    let bound = plan.solver.lower_bound_monthly_usd;
    let gap = (plan.total_monthly_usd - bound) / plan.total_monthly_usd.max(f64::MIN_POSITIVE);
    Some(format!(
        "Not proven optimal: the search stopped at its limits (docs/plan.md, \"The optimizer\"); no placement costs less than {} (gap {:.3}%)",
        usd(bound),
        100.0 * gap
    ))
}

/// Pipes and newlines would break a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The plan as a pull-request comment.
pub fn to_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### mlc plan: `{}`\n", cell(&plan.spec));
    let _ = write!(out, "**Total: {} / month**", usd(plan.total_monthly_usd));
    if let Some(line) = gap_line(plan) {
        let _ = write!(out, " ({line})");
    }
    if let Some(line) = budget_line(plan) {
        let _ = write!(out, " · budget {}", cell(&line));
    }
    let _ = writeln!(out, " · {}\n", catalog_line(plan));
    out.push_str("| workload | placement | $/month | runner-up |\n|---|---|---:|---|\n");
    for w in &plan.workloads {
        let runner_up = w.rationale.runner_up.as_ref().map_or(String::new(), |r| {
            format!("{} (+{})", r.placement, usd(r.extra_monthly_usd))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&title(w)),
            cell(&placement(w)),
            usd(w.monthly_usd),
            cell(&runner_up)
        );
    }
    let excluded: Vec<(&PlannedWorkload, &super::ExcludedOption)> = plan
        .workloads
        .iter()
        .flat_map(|w| w.rationale.excluded.iter().map(move |e| (w, e)))
        .collect();
    if !excluded.is_empty() {
        out.push_str("\n<details><summary>Cheaper options a rule excludes</summary>\n\n| workload | option | $/month | excluded by |\n|---|---|---:|---|\n");
        for (w, e) in excluded {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&title(w)),
                cell(&e.placement),
                usd(e.monthly_usd),
                cell(&e.reason)
            );
        }
        out.push_str("\n</details>\n");
    }
    let managed: Vec<String> = plan
        .workloads
        .iter()
        .filter_map(|w| {
            Some(format!(
                "| {} | {} |",
                cell(&title(w)),
                cell(&managed_line(w.managed.as_ref()?))
            ))
        })
        .collect();
    if !managed.is_empty() {
        out.push_str("\n<details><summary>Managed-service fit (advice)</summary>\n\n| workload | managed platform |\n|---|---|\n");
        for row in managed {
            let _ = writeln!(out, "{row}");
        }
        out.push_str("\n</details>\n");
    }
    out.push_str("\n<details><summary>Line items</summary>\n\n| category | item | $/month | detail |\n|---|---|---:|---|\n");
    for item in &plan.line_items {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            item.category,
            cell(&item.name),
            usd_item(item.monthly_usd),
            cell(&item_detail(item))
        );
    }
    out.push_str("\n</details>\n");
    if !plan.compliance.is_empty() || !plan.findings.is_empty() {
        out.push('\n');
    }
    for c in &plan.compliance {
        let _ = writeln!(
            out,
            "- **{}**: {} ({})",
            cell(&c.framework),
            c.verdict,
            cell(&c.detail)
        );
    }
    for f in &plan.findings {
        let _ = writeln!(
            out,
            "- {} `{}`: {}",
            f.severity,
            cell(&f.subject),
            cell(&f.message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollars_are_grouped_and_rounded() {
        assert_eq!(super::usd(1234567.891), "$1,234,567.89");
        assert_eq!(super::usd(0.004), "$0.00");
        assert_eq!(super::usd(999.995), "$1,000.00");
        assert_eq!(super::usd(-12.5), "-$12.50");
    }
}
