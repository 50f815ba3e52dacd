//! `mlc plan FILE`: the cheapest placement that meets every rule, for review.

use super::{print_err, print_out, write_atomically, EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE};
use clap::ValueEnum;
use mlc::plan::{self, render as plan_render, PlanError, PlanOptions};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The spec file
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also write the exact optimisation problem as an MPS file (re-solve it with any MILP
    /// solver; its optimum is the plan's total)
    #[arg(long, value_name = "FILE.mps")]
    pub export_model: Option<PathBuf>,
    /// Show what changed against an earlier `mlc plan --format json` instead of the plan
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    #[command(flatten)]
    pub load: super::LoadArgs,
}

pub fn run(args: &PlanArgs) -> u8 {
    let options = args.load.options();
    // Read the old plan first: a bad --compare file is a usage error before any work.
    let old = match &args.compare {
        Some(path) => match read_old(path) {
            Ok(old) => Some(old),
            Err(message) => {
                print_err(&format!("error: {message}\n"));
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    let compilation = match super::compile_clean(&args.file, &options, "no plan") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (Some(model), Some(graph)) = (compilation.model.as_ref(), compilation.graph.as_ref())
    else {
        return EXIT_SPEC_ERRORS;
    };
    let rules = mlc::policy::placement::rules(model, graph);
    let plan_options = PlanOptions {
        today_days: today_days(),
        spec_name: args.file.display().to_string(),
        limits: None,
    };
    let mut plan = match plan::plan(model, graph, &rules, &plan_options) {
        Ok(plan) => plan,
        Err(error) => {
            print_err(&describe(&error));
            // The model is what another solver needs when mlc's stopped or the plan is
            // over budget: write it all the same.
            if let (Some(path), Some(problem)) = (&args.export_model, error.problem()) {
                match write_atomically(path, &mlc::optimize::to_mps(problem)) {
                    Ok(()) => print_err(&format!(
                        "note: the placement model was written to {} all the same\n",
                        path.display()
                    )),
                    Err(e) => print_err(&format!("error: cannot write {}: {e}\n", path.display())),
                }
            }
            return EXIT_SPEC_ERRORS;
        }
    };
    // Compute line items name the node pools the build creates for them, storage line
    // items the buckets: the plan and the build read the same pools (`emit::pools`) and
    // storage plan (`emit::storage`).
    let pools = mlc::emit::pools::addresses_by_workload(model, &plan);
    let buckets = mlc::emit::storage::addresses_by_line_item(model, &plan);
    for item in plan.line_items.iter_mut() {
        let addresses = match item.category.as_str() {
            "compute" => pools.get(&item.name),
            "storage" => buckets.get(&item.name),
            _ => None,
        };
        if let Some(addresses) = addresses {
            item.resources = addresses.clone();
        }
    }
    if let Some(path) = &args.export_model {
        if let Err(e) = write_atomically(path, &mlc::optimize::to_mps(&plan.problem)) {
            print_err(&format!("error: cannot write {}: {e}\n", path.display()));
            return EXIT_USAGE;
        }
    }
    if let Some(old) = &old {
        let diff = plan::compare::diff(old, &plan);
        print_out(&match args.format {
            PlanFormat::Text => plan::compare::to_text(&diff),
            PlanFormat::Markdown => plan::compare::to_markdown(&diff),
            PlanFormat::Json => {
                serde_json::to_string_pretty(&diff).unwrap_or_else(|_| "{}".into()) + "\n"
            }
        });
        return EXIT_OK;
    }
    print_out(&match args.format {
        PlanFormat::Text => plan_render::to_text(&plan),
        PlanFormat::Markdown => plan_render::to_markdown(&plan),
        PlanFormat::Json => {
            serde_json::to_string_pretty(&plan).unwrap_or_else(|_| "{}".into()) + "\n"
        }
    });
    // The process ends next and the system takes its memory back at once: freeing the
    // plan's half a million options one by one would add tens of milliseconds.
    std::mem::forget((plan, compilation));
    EXIT_OK
}

fn read_old(path: &std::path::Path) -> Result<plan::Plan, String> {
    // A plan is small; refuse anything huge rather than read it whole.
    const LIMIT: u64 = 64 << 20;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() || meta.len() > LIMIT {
        return Err(format!(
            "{} is not a plan file (a regular file under 64 MiB)",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    plan::compare::read(&text).map_err(|e| format!("{} cannot be compared: {e}", path.display()))
}

/// Today as days since 1970-01-01: `SOURCE_DATE_EPOCH` when set (reproducible output),
/// else the clock.
pub fn today_days() -> Option<i64> {
    let seconds = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value.trim().parse::<i64>().ok()?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64,
    };
    Some(seconds.div_euclid(86_400))
}

pub fn describe(error: &PlanError) -> String {
    match error {
        PlanError::NoPlacement(failures) => {
            let mut out = String::new();
            for f in failures {
                let copy = f
                    .copy
                    .describe()
                    .map_or(String::new(), |c| format!(" ({c})"));
                out.push_str(&format!(
                    "error: no placement for {}.{}{copy}: it needs {}",
                    f.kind.keyword(),
                    f.name,
                    f.needs
                ));
                if f.reasons.is_empty() {
                    out.push_str(", which no catalog region offers\n");
                } else {
                    out.push_str(&format!(
                        ", which the catalog offers only on {}, and every region that offers it is excluded:\n",
                        f.offered_on.join(", ")
                    ));
                    for (reason, sites) in &f.reasons {
                        let plural = if *sites == 1 { "region" } else { "regions" };
                        out.push_str(&format!("  - {sites} {plural}: {reason}\n"));
                    }
                }
            }
            out
        }
        PlanError::Solver(message, _) => format!("error: {message}\n"),
        PlanError::OverBudget {
            budget_usd,
            cheapest_usd,
            largest,
            plan,
        } => {
            let mut out = format!(
                "error: over budget: the cheapest plan that meets every rule costs {} a month, above the budget of {}\n  largest items:\n",
                plan_render::usd(*cheapest_usd),
                plan_render::usd(*budget_usd)
            );
            for item in largest {
                out.push_str(&format!(
                    "  - {} {}: {} ({})\n",
                    item.category,
                    item.name,
                    plan_render::usd(item.monthly_usd),
                    item.detail
                ));
            }
            if !plan.fixed_costs.is_empty() {
                let fixed: f64 = plan.fixed_costs.iter().map(|r| r.fixed_monthly_usd).sum();
                let regions: Vec<String> = plan
                    .fixed_costs
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r.cloud,
                            r.region_code,
                            plan_render::usd(r.fixed_monthly_usd)
                        )
                    })
                    .collect();
                out.push_str(&format!(
                    "  fixed costs: {} of it is what the build keeps running whatever the load (clusters, system nodes, endpoints, keys): {}\n",
                    plan_render::usd(fixed),
                    regions.join("; ")
                ));
            }
            out.push_str("  help: raise `budget.monthly`, or cut what the largest items need (runs, replicas, capacity = spot)\n");
            out
        }
        PlanError::TooBig { message, .. } => {
            format!("error: {message}\n  help: check the count for a typo or a unit slip\n")
        }
        PlanError::Window { message, .. } => format!(
            "error: {message}\n  help: shorten the runs, run less often, or use `window = any`\n"
        ),
        PlanError::Catalog(message) => {
            format!("error: the embedded catalog cannot be read: {message}\n")
        }
    }
}
