//! Stage 5, plan: the cheapest placement that meets every rule, priced line by line and
//! explained for review. `options` lists what each workload could run on (and what
//! excludes the rest), `cost` prices it, the exact solver in `crate::optimize` chooses,
//! and this module assembles the [`Plan`] that `render` prints and `mlc build` emits.

pub mod allocatable;
pub mod compare;
pub mod cost;
mod fixed;
pub mod options;
pub mod places;
pub mod render;

use crate::catalog::Catalog;
use crate::check::model::{AccelCount, CloudInfo, Model};
use crate::graph::{NodeKind, ResourceGraph};
use crate::optimize::{self, Choice, Flow, Limits, Problem, Resource, Workload};
use crate::policy::placement::PlacementRules;
use options::{Candidate, Context, Copy, NoPlacement, SitePool, Unit};
use places::Places;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The version of the JSON plan (`docs/plan.schema.json`); bumped on any change a reader
/// of an older plan would break on. Fields are added compatibly (`fixed_costs`, the
/// solver's bound, line items' `resources`): `--compare` still reads older plans.
pub const SCHEMA_VERSION: u32 = 1;

/// Catalog prices older than this many days earn a warning in the plan.
pub const STALE_CATALOG_DAYS: i64 = 90;

/// The most nodes one job (and replicas one service) may ask for: beyond what any cloud
/// provisions for one workload, so a larger count is a mistake, not a plan.
pub const MAX_NODES: u64 = 10_000;
pub const MAX_REPLICAS: u64 = 100_000;

/// Model FLOP utilisation assumed when judging a training job's `max_runtime`.
pub const ASSUMED_MFU: f64 = 0.4;

/// A reviewed placement: what runs where, what it costs, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    pub spec: String,
    pub catalog_date: String,
    /// Days between the catalog date and `today` (when known).
    pub catalog_age_days: Option<i64>,
    /// Everything: cloud spend plus on-prem sites' amortised costs.
    #[serde(serialize_with = "rounded")]
    pub total_monthly_usd: f64,
    /// What the clouds bill: what `budget` (and the clouds' budget alerts) measure.
    #[serde(serialize_with = "rounded")]
    pub cloud_monthly_usd: f64,
    #[serde(serialize_with = "rounded_opt")]
    pub budget_monthly_usd: Option<f64>,
    #[serde(serialize_with = "rounded_opt")]
    pub budget_daily_usd: Option<f64>,
    pub workloads: Vec<PlannedWorkload>,
    pub line_items: Vec<LineItem>,
    /// Per cloud region the plan uses, what it costs whatever the load.
    #[serde(default)]
    pub fixed_costs: Vec<RegionFixedCost>,
    /// Budget alert thresholds (percent of the monthly budget) the planned cloud spend
    /// reaches.
    pub alerts_reached: Vec<f64>,
    /// The monthly cloud spend at which the anomaly alert fires: the planned spend times
    /// `anomaly_threshold`.
    #[serde(serialize_with = "rounded_opt")]
    pub anomaly_alert_usd: Option<f64>,
    pub compliance: Vec<FrameworkVerdict>,
    pub findings: Vec<Finding>,
    pub solver: SolverSummary,
    /// The optimisation problem, for `--export-model` (not part of the JSON plan).
    #[serde(skip)]
    pub problem: Problem,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedWorkload {
    pub name: String,
    pub kind: String,
    /// `active copy 1`, `warm standby`, `near eu_west`; absent for a single copy.
    pub copy: Option<String>,
    pub cloud: String,
    pub region: String,
    pub region_code: String,
    pub jurisdiction: String,
    pub instance_type: String,
    /// Nodes (jobs), replicas (services), 1 (functions, datasets).
    pub nodes: f64,
    pub capacity: String,
    #[serde(serialize_with = "rounded")]
    pub usd_per_hour: f64,
    #[serde(serialize_with = "rounded")]
    pub hours_per_month: f64,
    #[serde(serialize_with = "rounded")]
    pub monthly_usd: f64,
    pub rationale: Rationale,
    /// Which managed ML platform of the chosen cloud could run it instead (advice).
    pub managed: Option<ManagedFit>,
    pub notes: Vec<String>,
}

/// A managed platform that could run a workload on its chosen cloud, the platform
/// features the workload would use, and those it needs that the platform lacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedFit {
    pub service: String,
    pub title: String,
    pub uses: Vec<String>,
    pub lacks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rationale {
    /// The cheapest other placement of this workload with the rest of the plan fixed,
    /// and how much more the whole plan would cost with it.
    pub runner_up: Option<Alternative>,
    /// Cheaper placements that a rule excludes (at most three), with the rule.
    pub excluded: Vec<ExcludedOption>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alternative {
    pub placement: String,
    #[serde(serialize_with = "rounded")]
    pub extra_monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcludedOption {
    pub placement: String,
    #[serde(serialize_with = "rounded")]
    pub monthly_usd: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineItem {
    /// `compute`, `storage`, `serverless`, `egress`, `onprem`.
    pub category: String,
    pub name: String,
    #[serde(serialize_with = "rounded")]
    pub monthly_usd: f64,
    pub detail: String,
    /// What it prices, by Terraform address (or file#logical-id), where known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// The fixed cost of one cloud region the plan uses (its cluster, network and key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionFixedCost {
    pub cloud: String,
    pub region_code: String,
    #[serde(serialize_with = "rounded")]
    pub fixed_monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameworkVerdict {
    pub framework: String,
    pub verdict: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub severity: String,
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SolverSummary {
    /// Whether the total is proven the least any placement costs; when not (a group of
    /// connected workloads or the search over fixed costs passed its limits),
    /// `lower_bound_monthly_usd` is what is proven.
    #[serde(default = "proven")]
    pub proven_optimal: bool,
    #[serde(default, serialize_with = "rounded")]
    pub lower_bound_monthly_usd: f64,
    /// Nodes of the search over fixed costs (regions opened or not).
    #[serde(default)]
    pub facility_nodes: u64,
    pub units: usize,
    pub options: usize,
    pub options_kept: usize,
    pub components: usize,
    pub searched_components: usize,
    pub nodes: u64,
}

/// Plans written before the search over fixed costs were all proven optimal.
fn proven() -> bool {
    true
}

/// Why there is no plan.
#[derive(Debug, Clone)]
pub enum PlanError {
    /// Workloads that no option fits, each with the rules that exclude every fit.
    NoPlacement(Vec<NoPlacement>),
    /// The solver found no assignment meeting the joint constraints, or gave up; the
    /// problem it was given, for `--export-model` (another solver may finish it).
    Solver(String, Box<Problem>),
    /// The cheapest feasible plan costs more than the budget.
    OverBudget {
        budget_usd: f64,
        cheapest_usd: f64,
        largest: Vec<LineItem>,
        plan: Box<Plan>,
    },
    /// A count beyond what any cloud can provision (a typo, or a unit slip).
    TooBig { workload: String, message: String },
    /// An off-peak job that cannot fit its hours in the month's off-peak windows.
    Window { workload: String, message: String },
    /// The embedded catalog could not be read (a bug).
    Catalog(String),
}

impl PlanError {
    /// The optimisation problem behind the error, where one was built: what
    /// `--export-model` writes even when there is no plan.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            PlanError::Solver(_, problem) => Some(problem),
            PlanError::OverBudget { plan, .. } => Some(&plan.problem),
            _ => None,
        }
    }
}

/// Inputs the plan needs besides the spec: a date to judge the catalog's age by.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Days since 1970-01-01 of "today"; `None` leaves the catalog's age out.
    pub today_days: Option<i64>,
    pub spec_name: String,
    pub limits: Option<Limits>,
}

/// Plans a spec that checked without errors.
pub fn plan(
    model: &Model,
    graph: &ResourceGraph,
    rules: &PlacementRules,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let catalog = Catalog::embedded().map_err(|e| PlanError::Catalog(e.to_string()))?;
    let places = Places::build(model);
    bounds(model)?;
    windows(model)?;
    let ctx = Context {
        nearness: options::nearness(model, &places, &anchors(model, &places)),
        model,
        rules,
        places: &places,
        catalog,
        produced: produced(model),
        pools: pools(model, &places),
        reads_gb: reads_gb(graph),
        cpu_sites: Default::default(),
        gpu_rows: Default::default(),
    };
    let units = options::units(&ctx).map_err(PlanError::NoPlacement)?;
    let fixed = fixed::FixedCosts::build(model, &places);
    let (problem, constants) = problem(model, graph, &ctx, &units, &fixed);
    let limits = options.limits.unwrap_or_default();
    let solution = match optimize::solve(&problem, &limits) {
        Ok(solution) => solution,
        Err(e) => return Err(PlanError::Solver(e.to_string(), Box::new(problem))),
    };
    let plan = assemble(
        model, &ctx, &units, problem, &solution, constants, &fixed, options,
    );
    crate::drop_in_background(units);
    match &model.budget {
        Some(budget) if plan.cloud_monthly_usd > budget.monthly_usd.to_f64() + 0.005 => {
            let mut largest: Vec<LineItem> = plan
                .line_items
                .iter()
                .filter(|i| i.category != "onprem")
                .cloned()
                .collect();
            largest.sort_by(|a, b| b.monthly_usd.total_cmp(&a.monthly_usd));
            largest.truncate(3);
            Err(PlanError::OverBudget {
                budget_usd: budget.monthly_usd.to_f64(),
                cheapest_usd: plan.cloud_monthly_usd,
                largest,
                plan: Box::new(plan),
            })
        }
        _ => Ok(plan),
    }
}

/// Counts no cloud provisions for one workload end the plan with a clear message.
fn bounds(model: &Model) -> Result<(), PlanError> {
    let too_big = |workload: &str, message: String| {
        Err(PlanError::TooBig {
            workload: workload.to_string(),
            message,
        })
    };
    for t in &model.trains {
        if t.nodes > MAX_NODES {
            return too_big(
                &t.name,
                format!(
                    "`{}` needs {} nodes of {} x {}; mlc plans at most {MAX_NODES} nodes per job",
                    t.name, t.nodes, t.accelerator.name, t.accelerator.count
                ),
            );
        }
    }
    for b in &model.batches {
        if b.nodes > MAX_NODES {
            return too_big(
                &b.name,
                format!(
                    "`{}` asks for {} nodes; mlc plans at most {MAX_NODES} nodes per job",
                    b.name, b.nodes
                ),
            );
        }
    }
    for s in &model.services {
        if s.replicas_min > MAX_REPLICAS {
            return too_big(&s.name, format!("`{}` asks for at least {} replicas; mlc plans at most {MAX_REPLICAS} per service", s.name, s.replicas_min));
        }
    }
    Ok(())
}

/// `window = off_peak` jobs must fit their month of runs into off-peak hours, and each
/// run into the longest off-peak stretch.
fn windows(model: &Model) -> Result<(), PlanError> {
    let jobs = model
        .trains
        .iter()
        .filter(|t| t.window == crate::check::model::Window::OffPeak)
        .map(|t| {
            let resumable = t.checkpoint_every_seconds.is_some();
            (&t.name, t.max_runtime_seconds, t.runs_per_month, resumable)
        })
        .chain(
            model
                .batches
                .iter()
                .filter(|b| b.window == crate::check::model::Window::OffPeak)
                .map(|b| (&b.name, b.max_runtime_seconds, b.runs_per_month, false)),
        );
    for (name, runtime, runs, resumable) in jobs {
        let run = runtime.to_f64() / 3600.0;
        let month = run * runs.to_f64();
        let available = cost::off_peak_hours_per_month();
        // A job that checkpoints pauses at the end of a window and resumes in the next.
        let stretch_too_short = !resumable && run > cost::LONGEST_OFF_PEAK_HOURS;
        if stretch_too_short || month > available {
            return Err(PlanError::Window {
                workload: name.clone(),
                message: format!(
                    "`{name}` runs {run:.1} h a run and {month:.0} h a month, but off-peak time is at most {:.0} h at a stretch (without checkpoints a run cannot pause) and {available:.0} h a month (22:00-06:00 on weekdays and all weekend)",
                    cost::LONGEST_OFF_PEAK_HOURS
                ),
            });
        }
    }
    Ok(())
}

fn reads_gb(graph: &ResourceGraph) -> BTreeMap<String, f64> {
    let mut reads: BTreeMap<String, f64> = BTreeMap::new();
    for (from, _, bytes) in graph.data_flows() {
        if from.kind == NodeKind::Dataset {
            *reads.entry(from.name.clone()).or_default() += bytes / 1e9;
        }
    }
    reads
}

fn anchors(model: &Model, places: &Places) -> Vec<usize> {
    model
        .datasets
        .iter()
        .filter_map(|d| match d.location.as_ref()? {
            crate::check::model::Location::Region { cloud, region } => places.find(cloud, region),
            crate::check::model::Location::Onprem { site } => places.find("onprem", site),
        })
        .collect()
}

fn produced(model: &Model) -> BTreeMap<String, Vec<&crate::check::model::Dataset>> {
    let unplaced: BTreeMap<&str, &crate::check::model::Dataset> = model
        .datasets
        .iter()
        .filter(|d| d.location.is_none())
        .map(|d| (d.name.as_str(), d))
        .collect();
    let mut produced: BTreeMap<String, Vec<&crate::check::model::Dataset>> = BTreeMap::new();
    for batch in &model.batches {
        if let Some(d) = batch.output.as_deref().and_then(|o| unplaced.get(o)) {
            produced.entry(batch.name.clone()).or_default().push(d);
        }
    }
    produced
}

/// On-prem sites that hybrid placement may run jobs on: the `hybrid` base, with its
/// GPUs shared by every workload for the month.
fn pools(model: &Model, places: &Places) -> Vec<SitePool> {
    let Some(base) = model
        .placement
        .as_ref()
        .and_then(|p| p.hybrid.as_ref())
        .map(|h| h.base.as_str())
    else {
        return Vec::new();
    };
    model
        .onprem
        .iter()
        .filter(|s| s.name == base && s.gpus.count > 0)
        .filter_map(|s| {
            Some(SitePool {
                site: places.find("onprem", &s.name)?,
                name: s.name.clone(),
                accelerator: s.gpus.clone(),
                gpu_hours: s.gpus.count as f64 * cost::HOURS_PER_MONTH,
            })
        })
        .collect()
}

/// Constant costs: on-prem sites' amortised running costs, and the credits of
/// serverless platforms' free grants.
struct Constants {
    items: Vec<LineItem>,
    /// The on-prem part, which is not cloud spend.
    onprem_usd: f64,
}

fn problem(
    model: &Model,
    graph: &ResourceGraph,
    ctx: &Context,
    units: &[Unit],
    fixed: &fixed::FixedCosts,
) -> (Problem, Constants) {
    // Workloads of one shape share their candidates' labels: half a million options
    // but only a few thousand distinct labels in a 10,000-workload spec.
    let workloads = units
        .par_iter()
        .map_init(HashMap::new, |labels, u| Workload {
            name: unit_label(u),
            options: u
                .candidates
                .iter()
                .map(|c| Choice {
                    location: c.site,
                    label: Arc::clone(
                        labels
                            .entry((c.site, &*c.instance_type, c.capacity))
                            .or_insert_with(|| candidate_label(ctx, c).into()),
                    ),
                    monthly_usd: c.monthly_usd(),
                    uses: c.uses.clone(),
                    opens: fixed.opens(c.site, fixed::Need::of(u.kind, c.capacity)),
                })
                .collect(),
        })
        .collect();
    let mut by_node: BTreeMap<(NodeKind, &str), Vec<usize>> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        by_node
            .entry((u.kind, u.name.as_str()))
            .or_default()
            .push(i);
    }
    // A produced dataset lives with its producer: its edges start there. (A set, not a
    // scan of `ctx.produced` per batch job: that was quadratic in the job count.)
    let produced: BTreeSet<&str> = ctx
        .produced
        .values()
        .flatten()
        .map(|p| p.name.as_str())
        .collect();
    let producer_of: BTreeMap<&str, &str> = model
        .batches
        .iter()
        .filter_map(|b| Some((b.output.as_deref()?, b.name.as_str())))
        .filter(|(d, _)| produced.contains(d))
        .collect();
    let resolve = |kind: NodeKind, name: &str| -> Vec<usize> {
        match (kind, producer_of.get(name)) {
            (NodeKind::Dataset, Some(producer)) => by_node
                .get(&(NodeKind::Batch, *producer))
                .cloned()
                .unwrap_or_default(),
            _ => by_node.get(&(kind, name)).cloned().unwrap_or_default(),
        }
    };
    let mut flows = Vec::new();
    for (from, to, bytes) in graph.data_flows() {
        for &a in &resolve(from.kind, &from.name) {
            for &b in &resolve(to.kind, &to.name) {
                if a != b && bytes > 0.0 {
                    flows.push(Flow {
                        from: a,
                        to: b,
                        gb_per_month: bytes / 1e9,
                    });
                }
            }
        }
    }
    let mut apart = Vec::new();
    for (i, u) in units.iter().enumerate() {
        if u.copy == Copy::Active(1) {
            let twin = by_node[&(u.kind, u.name.as_str())]
                .iter()
                .copied()
                .find(|&j| units[j].copy == Copy::Active(2));
            if let Some(j) = twin {
                apart.push((i, j));
            }
        }
    }
    let resources = ctx
        .pools
        .iter()
        .map(|p| Resource {
            name: format!("onprem.{} GPU-hours", p.name),
            capacity: p.gpu_hours,
        })
        .collect();
    let items: Vec<LineItem> = model
        .onprem
        .iter()
        .filter_map(|s| {
            let usd = s.cost_usd_per_month?.to_f64();
            Some(LineItem {
                category: "onprem".into(),
                name: format!("onprem.{}", s.name),
                monthly_usd: usd,
                detail: format!(
                    "amortised running cost of {} x {}",
                    s.gpus.name, s.gpus.count
                ),
                resources: Vec::new(),
            })
        })
        .collect();
    let onprem_usd: f64 = items.iter().map(|i| i.monthly_usd).sum();
    let mut items = items;
    items.extend(free_grants(model, units));
    let constant_usd = items.iter().map(|i| i.monthly_usd).sum();
    (
        Problem {
            locations: ctx.places.locations.clone(),
            workloads,
            flows,
            apart,
            resources,
            constant_usd,
            facilities: fixed.facilities(),
        },
        Constants { items, onprem_usd },
    )
}

/// "360000 GB-seconds free of 9600000 used, ...": each grant the platform gives and the
/// on-demand use it is set against.
fn grant_terms(price: &crate::check::model::ServerlessPrice, used: (f64, f64, f64)) -> String {
    let terms = [
        ("GB-seconds", price.free_gb_seconds_per_month, used.0),
        ("requests", price.free_requests_per_month, used.1),
        ("vCPU-seconds", price.free_vcpu_seconds_per_month, used.2),
    ];
    terms
        .iter()
        .filter_map(|(what, free, used)| {
            Some(format!(
                "{} {what} free of {} used",
                render::trim(free.as_ref()?.to_f64()),
                render::trim(used.round())
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One credit per serverless platform for its free grant, which the account gets once a
/// month for all its functions: each function is priced without it. A function's
/// platform is fixed by the spec, so the credit is the same for every placement.
fn free_grants(model: &Model, units: &[Unit]) -> Vec<LineItem> {
    let mut usage: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
    for unit in units.iter().filter(|u| u.kind == NodeKind::Function) {
        let Some(function) = model.functions.iter().find(|f| f.name == unit.name) else {
            continue;
        };
        let Some(price) = model.knowledge.serverless_platform(&function.platform) else {
            continue;
        };
        let load = options::serverless_load(function, price);
        let (gb_seconds, requests, vcpu_seconds) = cost::serverless(price, &load).grant_eligible;
        let entry = usage.entry(function.platform.as_str()).or_default();
        entry.0 += gb_seconds;
        entry.1 += requests;
        entry.2 += vcpu_seconds;
    }
    usage
        .into_iter()
        .filter_map(|(platform, (gb_seconds, requests, vcpu_seconds))| {
            let price = model.knowledge.serverless_platform(platform)?;
            let credit = cost::free_grant_usd(price, (gb_seconds, requests, vcpu_seconds));
            (credit > 0.0).then(|| LineItem {
                category: "serverless".into(),
                name: format!("free grant: {platform}"),
                monthly_usd: -credit,
                detail: format!(
                    "{}'s free grant, once a month per account for all its functions: {}",
                    price.title,
                    grant_terms(price, (gb_seconds, requests, vcpu_seconds))
                ),
                resources: Vec::new(),
            })
        })
        .collect()
}

fn unit_label(unit: &Unit) -> String {
    match unit.copy.describe() {
        Some(copy) => format!("{}.{} ({copy})", unit.kind.keyword(), unit.name),
        None => format!("{}.{}", unit.kind.keyword(), unit.name),
    }
}

fn candidate_label(ctx: &Context, c: &Candidate) -> String {
    let site = &ctx.places.sites[c.site];
    if c.instance_type.is_empty() {
        return site.reference();
    }
    format!(
        "{} {} {} {}",
        site.cloud, site.code, c.instance_type, c.capacity
    )
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    model: &Model,
    ctx: &Context,
    units: &[Unit],
    problem: Problem,
    solution: &optimize::Solution,
    constants: Constants,
    fixed: &fixed::FixedCosts,
    options: &PlanOptions,
) -> Plan {
    let neighbours = Neighbours::new(&problem, &solution.choice);
    // Each unit's rows and rationale depend on the solution alone: built on every core,
    // joined in unit order.
    let per_unit: Vec<(PlannedWorkload, Vec<LineItem>, Option<Finding>)> = (0..units.len())
        .into_par_iter()
        .map(|i| {
            let solved = Solved {
                ctx,
                units,
                problem: &problem,
                solution,
                neighbours: &neighbours,
            };
            planned(model, solved, i)
        })
        .collect();
    let mut workloads = Vec::with_capacity(units.len());
    let mut line_items = Vec::new();
    let mut idle = Vec::new();
    for (workload, items, finding) in per_unit {
        workloads.push(workload);
        line_items.extend(items);
        idle.extend(finding);
    }
    line_items.extend(egress_items(&problem, solution));
    let opened = neighbours.opened_facilities();
    line_items.extend(fixed.line_items(&opened));
    line_items.extend(constants.items);
    let fixed_costs = fixed
        .per_region(&opened)
        .into_iter()
        .map(|(cloud, region_code, usd)| RegionFixedCost {
            cloud,
            region_code,
            fixed_monthly_usd: usd,
        })
        .collect();
    let total = optimize::evaluate(&problem, &solution.choice).unwrap_or(solution.total_usd);
    let cloud = total - constants.onprem_usd;
    let budget = model.budget.as_ref();
    let budget_monthly = budget.map(|b| b.monthly_usd.to_f64());
    let alerts_reached = budget
        .map(|b| {
            b.alerts
                .iter()
                .flat_map(|a| a.thresholds_percent.iter().map(|t| t.to_f64()))
                .filter(|pct| cloud >= b.monthly_usd.to_f64() * pct / 100.0)
                .collect()
        })
        .unwrap_or_default();
    let catalog_age_days = options
        .today_days
        .and_then(|today| days_from_iso(crate::catalog::CATALOG_DATE).map(|d| today - d));
    let mut findings = findings(model, &workloads, cloud, catalog_age_days);
    findings.extend(idle);
    findings.extend(spot_outliers(model, ctx, units, &solution.choice));
    findings.extend(cheaper_accelerators(model, ctx, units, &solution.choice));
    findings.sort_by(|a, b| {
        a.subject
            .cmp(&b.subject)
            .then_with(|| a.message.cmp(&b.message))
    });
    Plan {
        schema_version: SCHEMA_VERSION,
        spec: options.spec_name.clone(),
        catalog_date: crate::catalog::CATALOG_DATE.into(),
        catalog_age_days,
        total_monthly_usd: total,
        cloud_monthly_usd: cloud,
        budget_monthly_usd: budget_monthly,
        budget_daily_usd: budget.and_then(|b| b.daily_usd).map(|d| d.to_f64()),
        workloads,
        line_items,
        fixed_costs,
        alerts_reached,
        anomaly_alert_usd: budget.map(|b| cloud * b.anomaly_threshold.to_f64()),
        compliance: compliance(model, ctx),
        findings,
        solver: SolverSummary {
            proven_optimal: solution.is_proven(),
            lower_bound_monthly_usd: solution.lower_bound_usd.min(total),
            facility_nodes: solution.stats.facility_nodes,
            units: units.len(),
            options: solution.stats.options_total,
            options_kept: solution.stats.options_kept,
            components: solution.stats.components,
            searched_components: solution.stats.searched_components,
            nodes: solution.stats.nodes,
        },
        problem,
    }
}

/// What the rows of a plan are read from once the solver has chosen.
#[derive(Clone, Copy)]
struct Solved<'a> {
    ctx: &'a Context<'a>,
    units: &'a [Unit],
    problem: &'a Problem,
    solution: &'a optimize::Solution,
    neighbours: &'a Neighbours,
}

/// One unit's row of the plan, its line items, and the finding when it is an idle
/// service.
fn planned(
    model: &Model,
    solved: Solved,
    i: usize,
) -> (PlannedWorkload, Vec<LineItem>, Option<Finding>) {
    let Solved {
        ctx,
        units,
        solution,
        ..
    } = solved;
    let unit = &units[i];
    let chosen = &unit.candidates[solution.choice[i]];
    let site = &ctx.places.sites[chosen.site];
    let name = unit_label(unit);
    let label = candidate_label(ctx, chosen);
    let idle = (unit.kind == NodeKind::Service && chosen.units == 0.0)
        .then(|| idle_finding(&name, &label, chosen));
    let mut line_items = Vec::new();
    // An idle service's node pool is on the bill too, at $0: it keeps no node.
    if chosen.compute_usd > 0.0 || idle.is_some() {
        line_items.push(LineItem {
            category: if chosen.capacity == "serverless" {
                "serverless"
            } else {
                "compute"
            }
            .into(),
            name: name.clone(),
            monthly_usd: chosen.compute_usd,
            detail: if idle.is_some() {
                format!("{label}: priced idle at $0 (it scales to zero and the spec gives no `requests`); its node pool keeps no node")
            } else {
                compute_detail(chosen, &label)
            },
            resources: Vec::new(),
        });
    }
    if chosen.storage_usd > 0.0 {
        line_items.push(LineItem {
            category: "storage".into(),
            name: name.clone(),
            monthly_usd: chosen.storage_usd,
            detail: if unit.kind == NodeKind::Train {
                format!(
                    "its trained model and checkpoints, in its model folder, stored in {}",
                    site.reference()
                )
            } else {
                format!("stored in {}", site.reference())
            },
            resources: Vec::new(),
        });
    }
    if chosen.retrieval_usd > 0.0 {
        line_items.push(LineItem {
            category: "storage".into(),
            name: format!("{name} (retrieval)"),
            monthly_usd: chosen.retrieval_usd,
            detail: "reading it back from its storage tier".into(),
            resources: Vec::new(),
        });
    }
    let (rationale, fixed_note) = rationale(solved, i);
    let mut notes = unit.notes.clone();
    notes.extend(packing_note(model, ctx, unit, chosen));
    notes.extend(capacity_note(model, ctx, unit, chosen));
    notes.extend(fixed_note);
    let workload = PlannedWorkload {
        name: unit.name.clone(),
        kind: unit.kind.keyword().into(),
        copy: unit.copy.describe(),
        cloud: site.cloud.clone(),
        region: site.region.clone(),
        region_code: site.code.clone(),
        jurisdiction: site.jurisdiction.clone(),
        instance_type: chosen.instance_type.to_string(),
        nodes: chosen.units,
        capacity: chosen.capacity.to_string(),
        usd_per_hour: chosen.usd_per_hour * chosen.units,
        hours_per_month: chosen.hours,
        monthly_usd: chosen.monthly_usd(),
        rationale,
        managed: managed_fit(model, unit, chosen, &site.cloud),
        notes,
    };
    (workload, line_items, idle)
}

/// How a CPU service's replicas fill whole nodes, which is what it is priced for and
/// what its node pool keeps (`emit/pools.rs`).
fn packing_note(model: &Model, ctx: &Context, unit: &Unit, chosen: &Candidate) -> Option<String> {
    let service = model
        .service(&unit.name)
        .filter(|s| s.accelerator.is_none())?;
    if unit.kind != NodeKind::Service || chosen.units <= 0.0 || chosen.instance_type.is_empty() {
        return None;
    }
    let per_node = cost::service_pods_per_node(priced_row(ctx, None, chosen)?, service)?;
    let (cpu, memory) = cost::replica_request(service);
    let nodes = cost::nodes_for(chosen.units, per_node);
    let pool = if service.replicas_min == 0 {
        "while it is awake; its node pool keeps none when it scales to zero"
    } else {
        "the node pool's minimum"
    };
    Some(format!(
        "{} replica(s) of {} vCPU and {:.1} GiB, {per_node} to a node: {nodes} whole node(s) of {}, {pool}",
        render::trim(chosen.units),
        render::trim(cpu),
        memory,
        chosen.instance_type
    ))
}

/// The catalog row `chosen` was priced from: its instance type in its region that
/// matches the unit's accelerator as the planner matched it (GCP lists an N1 host once
/// per GPU model it takes; a TPU slice is a row of its own), or the CPU type's row.
fn priced_row<'c>(
    ctx: &'c Context,
    accelerator: Option<&AccelCount>,
    chosen: &Candidate,
) -> Option<&'c crate::catalog::Offering> {
    let site = &ctx.places.sites[chosen.site];
    ctx.catalog
        .find(&site.cloud, &site.code, &chosen.instance_type)
        .into_iter()
        .find(|row| match accelerator {
            Some(accel) => options::accelerator_matches(accel, row),
            None => row.accelerator.is_none(),
        })
}

/// The accelerators a unit asks for, if any.
fn unit_accelerator<'m>(model: &'m Model, unit: &Unit) -> Option<&'m AccelCount> {
    model.accelerator_of(unit.kind.keyword(), &unit.name)
}

/// Another accelerator is worth a finding when it costs at most this share of the chosen
/// one's hourly price.
const CHEAPER_ACCELERATOR_SHARE: f64 = 0.8;

/// For each GPU workload, the cheapest catalog row with a larger-memory variant of its
/// accelerator (A100-80GB for A100; the same chip on another cloud is among the plan's
/// own options already), as many per node, at the same capacity, in a region the
/// workload may already use,
/// when it costs at most `CHEAPER_ACCELERATOR_SHARE` of the chosen row an hour: the
/// spec names its accelerator, so the plan keeps it and says what switching would save.
fn cheaper_accelerators(
    model: &Model,
    ctx: &Context,
    units: &[Unit],
    choice: &[usize],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (unit, &c) in units.iter().zip(choice) {
        if unit.kind == NodeKind::Function {
            continue;
        }
        let Some(accel) = unit_accelerator(model, unit) else {
            continue;
        };
        let chosen = &unit.candidates[c];
        if !matches!(chosen.capacity, "on_demand" | "spot") {
            continue;
        }
        let spot = chosen.capacity == "spot";
        let price = |row: &crate::catalog::Offering| {
            if spot {
                row.spot_price_usd_per_hour.map(|p| p.to_f64())
            } else {
                row.price_usd_per_hour.map(|p| p.to_f64())
            }
        };
        let wanted = crate::catalog::normalise_accelerator(&accel.name);
        let Some((memory, now)) = priced_row(ctx, Some(accel), chosen)
            .and_then(|r| Some((r.accelerator_memory_gib?.to_f64(), price(r)?)))
        else {
            continue;
        };
        let allowed: BTreeSet<usize> = unit.candidates.iter().map(|c| c.site).collect();
        let better = ctx
            .catalog
            .offerings
            .iter()
            .filter(|r| {
                // A larger-memory variant of the same chip (A100-80GB for A100): the
                // same code runs on it; another chip may not (CUDA, speed).
                r.accelerator.as_deref().is_some_and(|a| {
                    let name = crate::catalog::normalise_accelerator(a);
                    name != wanted && name.starts_with(&format!("{wanted}-"))
                }) && r.accelerator_count.as_integer() == Some(i128::from(accel.count))
                    && r.accelerator_memory_gib
                        .is_some_and(|m| m.to_f64() >= memory)
            })
            .filter_map(|r| {
                let at = ctx.places.by_code(r.cloud, &r.region)?;
                allowed.contains(&at).then_some((r, at, price(r)?))
            })
            .filter(|(_, _, p)| *p <= CHEAPER_ACCELERATOR_SHARE * now)
            .min_by(|a, b| a.2.total_cmp(&b.2));
        if let Some((row, at, usd)) = better {
            let there = &ctx.places.sites[at];
            findings.push(Finding {
                severity: "info".into(),
                subject: unit_label(unit),
                message: format!(
                    "{} x {} ({} in {} {}, {:.0} GiB each) has at least the memory of the {} asked for and costs ${usd:.4}/h {} against ${now:.4}/h here, {:.0}% less: set `accelerator` to use it",
                    row.accelerator.as_deref().unwrap_or_default(),
                    accel.count,
                    row.instance_type,
                    there.cloud,
                    there.code,
                    row.accelerator_memory_gib.map_or(0.0, |m| m.to_f64()),
                    accel.name,
                    chosen.capacity,
                    100.0 * (1.0 - usd / now)
                ),
            });
        }
    }
    findings
}

/// Spot prices the catalog lists below this share of on-demand are more likely stale or
/// mistaken than real discounts.
const SPOT_OUTLIER_SHARE: f64 = 0.2;

/// A warning for every workload planned on a spot price under `SPOT_OUTLIER_SHARE` of its
/// row's on-demand price: the spec allows spot, so the plan uses it, but a reviewer
/// should not count on it.
fn spot_outliers(model: &Model, ctx: &Context, units: &[Unit], choice: &[usize]) -> Vec<Finding> {
    units
        .iter()
        .zip(choice)
        .map(|(unit, &c)| (unit, &unit.candidates[c]))
        .filter(|(_, chosen)| chosen.capacity == "spot")
        .filter_map(|(unit, chosen)| {
            let row = priced_row(ctx, unit_accelerator(model, unit), chosen)?;
            let spot = row.spot_price_usd_per_hour?.to_f64();
            let on_demand = row.price_usd_per_hour?.to_f64();
            if spot >= SPOT_OUTLIER_SHARE * on_demand {
                return None;
            }
            let site = &ctx.places.sites[chosen.site];
            Some(Finding {
                severity: "warning".into(),
                subject: unit_label(unit),
                message: format!(
                    "the catalog's spot price of {} in {} {} is ${spot:.4}/h, under {:.0}% of its on-demand ${on_demand:.4}/h: likely stale or an outlier; the plan uses it because the spec allows spot, so check the price before relying on the total",
                    chosen.instance_type,
                    site.cloud,
                    site.code,
                    100.0 * SPOT_OUTLIER_SHARE,
                ),
            })
        })
        .collect()
}

/// What a reviewer must know about the capacity a workload is priced at: a reservation
/// bills the whole month and must be bought; `spot fallback on_demand` is priced at an
/// assumed mix, so the plan says what all on demand would cost.
fn capacity_note(model: &Model, ctx: &Context, unit: &Unit, chosen: &Candidate) -> Option<String> {
    use crate::check::model::CapacityKind;
    if chosen.capacity.starts_with("reserved") {
        return Some(format!(
            "a reserved term bills all {} h of the month, used or not: buy the commitment (an AWS Savings Plan or reserved instances, GCP committed use, an Azure reservation) before applying; the build does not",
            render::trim(cost::HOURS_PER_MONTH)
        ));
    }
    let capacity = model.capacity_of(unit.kind.keyword(), &unit.name)?;
    let mixed = chosen.capacity == "spot"
        && capacity.primary == CapacityKind::Spot
        && capacity.fallback == Some(CapacityKind::OnDemand);
    if !mixed {
        return None;
    }
    let share = cost::SPOT_FALLBACK_SHARE;
    let row = priced_row(ctx, unit_accelerator(model, unit), chosen)?;
    // Both with what the cluster charges per node besides the VM (`node_fee`).
    let fee = ctx
        .cloud(row.cloud)
        .map_or(0.0, CloudInfo::node_fee_usd_per_hour);
    let catalog_on_demand = row.price_usd_per_hour?.to_f64();
    let on_demand = catalog_on_demand + fee;
    let mix =
        row.spot_price_usd_per_hour?.to_f64() * (1.0 - share) + catalog_on_demand * share + fee;
    // Scaled from the candidate's own cost, so whole nodes and hours carry over.
    Some(format!(
        "`spot fallback on_demand` is priced as {:.0}% of its hours on spot and {:.0}% on the on-demand fallback (an assumption, docs/plan.md); all on demand, at the same hours, it would cost {}/month",
        100.0 * (1.0 - share),
        100.0 * share,
        render::usd(chosen.compute_usd * on_demand / mix)
    ))
}

/// The features of a managed platform a workload would use, from what the spec asks.
fn needed_features(model: &Model, unit: &Unit, chosen: &Candidate) -> Vec<&'static str> {
    let mut needs = Vec::new();
    let spot = chosen.capacity == "spot";
    match unit.kind {
        NodeKind::Train => {
            let train = model.train(&unit.name);
            needs.extend(spot.then_some("managed_spot"));
            needs.extend((chosen.units > 1.0).then_some("multi_node"));
            let checkpoints = train.is_some_and(|t| t.checkpoint_every_seconds.is_some());
            needs.extend(checkpoints.then_some("checkpoint_sync"));
        }
        NodeKind::Batch => {
            needs.push("batch_inference");
            needs.extend(spot.then_some("managed_spot"));
            needs.extend((chosen.units > 1.0).then_some("multi_node"));
        }
        NodeKind::Service => {
            if let Some(service) = model.service(&unit.name) {
                let scales = service.replicas_max > service.replicas_min;
                needs.extend(scales.then_some("autoscaling"));
                needs.extend((service.replicas_min == 0).then_some("scale_to_zero"));
            }
        }
        NodeKind::Function => needs.push("serverless_inference"),
        NodeKind::Dataset | NodeKind::Onprem => {}
    }
    needs
}

fn managed_fit(model: &Model, unit: &Unit, chosen: &Candidate, cloud: &str) -> Option<ManagedFit> {
    let kind = unit.kind.keyword();
    let service = model
        .knowledge
        .managed
        .iter()
        .find(|m| m.cloud == cloud && m.runs.iter().any(|r| r == kind))?;
    let (uses, lacks): (Vec<&str>, Vec<&str>) = needed_features(model, unit, chosen)
        .into_iter()
        .partition(|f| service.features.iter().any(|have| have == f));
    Some(ManagedFit {
        service: service.name.clone(),
        title: service.title.clone(),
        uses: uses.into_iter().map(String::from).collect(),
        lacks: lacks.into_iter().map(String::from).collect(),
    })
}

/// A service that scales to zero and has no `requests` is priced idle: what a reviewer
/// would pay while it runs.
fn idle_finding(name: &str, label: &str, chosen: &Candidate) -> Finding {
    let rework = if chosen.capacity == "spot" {
        ", plus the expected rework of interruptions"
    } else {
        ""
    };
    Finding {
        severity: "info".into(),
        subject: name.into(),
        message: format!(
            "scales to zero and the spec gives no `requests`, so it is priced idle at $0; each replica costs ${:.4} an active hour on {label}{rework} (${:.2} for a month of one replica): set `requests` to price the expected load",
            chosen.usd_per_hour,
            chosen.usd_per_hour * cost::HOURS_PER_MONTH
        ),
    }
}

fn compute_detail(c: &Candidate, label: &str) -> String {
    if c.capacity == "serverless" {
        return format!("{label}: requests, GB-seconds and warm instances");
    }
    if c.capacity == "onprem" {
        return format!("{label}: on the site's own GPUs");
    }
    format!(
        "{label}: ${:.4}/h x {} x {:.1} h",
        c.usd_per_hour,
        render::trim(c.units),
        c.hours
    )
}

/// One line per flow that costs a cent or more, at the rate between its two ends; the
/// flows below a cent each are summed on one line, so the items add up to the total.
fn egress_items(problem: &Problem, solution: &optimize::Solution) -> Vec<LineItem> {
    let mut items = Vec::new();
    let (mut small_usd, mut small_flows) = (0.0, 0);
    for flow in &problem.flows {
        let a = &problem.workloads[flow.from];
        let b = &problem.workloads[flow.to];
        let la = &problem.locations[a.options[solution.choice[flow.from]].location];
        let lb = &problem.locations[b.options[solution.choice[flow.to]].location];
        let usd = optimize::flow_cost(la, lb, flow.gb_per_month);
        if usd <= 0.0 {
            continue;
        }
        if usd < 0.01 {
            small_usd += usd;
            small_flows += 1;
            continue;
        }
        let level = [
            "same region",
            "inter-region",
            "inter-continent",
            "cross-cloud or internet",
        ][optimize::level(la, lb)];
        items.push(LineItem {
            category: "egress".into(),
            name: format!("{} -> {}", a.name, b.name),
            monthly_usd: usd,
            detail: format!(
                "{:.1} GB/month {} -> {} ({level}) at ${}/GB",
                flow.gb_per_month,
                la.name,
                lb.name,
                la.egress[optimize::level(la, lb)]
            ),
            resources: Vec::new(),
        });
    }
    if small_flows > 0 {
        items.push(LineItem {
            category: "egress".into(),
            name: "small flows".into(),
            monthly_usd: small_usd,
            detail: format!(
                "{small_flows} flow(s) under $0.01 a month each (model artifacts, small outputs)"
            ),
            resources: Vec::new(),
        });
    }
    items
}

/// What moving one workload touches: per workload, the flows and `apart` pairs it is in,
/// and what the plan takes from each shared resource. A rationale prices each other
/// option of a workload from these alone; re-pricing the whole plan per option (with
/// `optimize::evaluate`) made rationales quadratic in the number of workloads.
struct Neighbours {
    flows: Vec<Vec<usize>>,
    apart: Vec<Vec<usize>>,
    used: Vec<f64>,
    /// Per facility, how many chosen options open it.
    openers: Vec<u32>,
    /// Per facility, its monthly price.
    facility_usd: Vec<f64>,
}

impl Neighbours {
    fn new(problem: &Problem, choice: &[usize]) -> Self {
        let n = problem.workloads.len();
        let mut flows = vec![Vec::new(); n];
        for (f, flow) in problem.flows.iter().enumerate() {
            flows[flow.from].push(f);
            if flow.to != flow.from {
                flows[flow.to].push(f);
            }
        }
        let mut apart = vec![Vec::new(); n];
        for &(a, b) in &problem.apart {
            apart[a].push(b);
            apart[b].push(a);
        }
        let mut used = vec![0.0; problem.resources.len()];
        let mut openers = vec![0u32; problem.facilities.len()];
        for (workload, &c) in problem.workloads.iter().zip(choice) {
            for &(r, amount) in &workload.options[c].uses {
                used[r] += amount;
            }
            for &f in workload.options[c].opens.iter() {
                openers[f] += 1;
            }
        }
        Neighbours {
            flows,
            apart,
            used,
            openers,
            facility_usd: problem.facilities.iter().map(|f| f.monthly_usd).collect(),
        }
    }

    fn opened_facilities(&self) -> Vec<bool> {
        self.openers.iter().map(|&n| n > 0).collect()
    }

    /// The fixed costs workload `i` would add (facilities no other chosen option
    /// opens) and free (facilities only it opens) by moving from `now` to `then`.
    fn fixed_change(&self, now: &Choice, then: &Choice) -> (f64, f64) {
        let added = then
            .opens
            .iter()
            .filter(|f| !now.opens.contains(f) && self.openers[**f] == 0)
            .map(|&f| self.facility_usd[f])
            .sum();
        let freed = now
            .opens
            .iter()
            .filter(|f| !then.opens.contains(f) && self.openers[**f] == 1)
            .map(|&f| self.facility_usd[f])
            .sum();
        (added, freed)
    }

    /// How much the plan's total changes when workload `i` takes option `j` and every
    /// other workload keeps its choice (what `evaluate` of that assignment minus
    /// `evaluate` of `choice` gives), with the fixed costs of the facilities the move
    /// opens; `None` when that assignment is infeasible.
    fn change(
        &self,
        problem: &Problem,
        choice: &[usize],
        i: usize,
        j: usize,
    ) -> Option<(f64, f64, f64)> {
        let options = &problem.workloads[i].options;
        let (now, then) = (&options[choice[i]], &options[j]);
        for (r, resource) in problem.resources.iter().enumerate() {
            let take =
                |o: &Choice| -> f64 { o.uses.iter().filter(|u| u.0 == r).map(|u| u.1).sum() };
            let used = self.used[r] - take(now) + take(then);
            if used > resource.capacity + 1e-9 * resource.capacity.abs().max(1.0) {
                return None;
            }
        }
        let location = |w: usize, option: &Choice| {
            if w == i {
                &problem.locations[then.location]
            } else {
                &problem.locations[option.location]
            }
        };
        let chosen = |w: usize| &problem.workloads[w].options[choice[w]];
        for &k in &self.apart[i] {
            if problem.locations[then.location].cloud == location(k, chosen(k)).cloud {
                return None;
            }
        }
        let (added, freed) = self.fixed_change(now, then);
        let mut change = then.monthly_usd - now.monthly_usd + added - freed;
        for &f in &self.flows[i] {
            let flow = &problem.flows[f];
            let before = optimize::flow_cost(
                &problem.locations[chosen(flow.from).location],
                &problem.locations[chosen(flow.to).location],
                flow.gb_per_month,
            );
            let after = optimize::flow_cost(
                location(flow.from, chosen(flow.from)),
                location(flow.to, chosen(flow.to)),
                flow.gb_per_month,
            );
            change += after - before;
        }
        Some((change, added, freed))
    }
}

/// The runner-up (best other option with the rest fixed) and the cheaper excluded fits.
fn rationale(solved: Solved, i: usize) -> (Rationale, Option<String>) {
    let Solved {
        ctx,
        units,
        problem,
        solution,
        neighbours,
    } = solved;
    let unit = &units[i];
    let chosen = &unit.candidates[solution.choice[i]];
    let mut runner_up: Option<(f64, usize)> = None;
    // The move that would save most before the fixed costs it adds, when those make it
    // dearer: why the workload joins a region the plan already pays for.
    let mut held_by_fixed: Option<(f64, f64, usize)> = None;
    for j in 0..unit.candidates.len() {
        if j == solution.choice[i] {
            continue;
        }
        if let Some((extra, added, freed)) = neighbours.change(problem, &solution.choice, i, j) {
            if runner_up.is_none_or(|(best, _)| extra < best) {
                runner_up = Some((extra, j));
            }
            // What the move saves before fixed costs, where the region it leaves stays
            // paid for by other workloads.
            let saving = added - extra - freed;
            let pays_here = !problem.workloads[i].options[solution.choice[i]]
                .opens
                .is_empty();
            if pays_here
                && freed == 0.0
                && added > 0.0
                && extra >= 0.0
                && saving > 0.005
                && held_by_fixed.is_none_or(|(best, _, _)| saving > best)
            {
                held_by_fixed = Some((saving, added, j));
            }
        }
    }
    let fixed_note = held_by_fixed.map(|(saving, added, j)| {
        let there = &ctx.places.sites[unit.candidates[j].site];
        let here = &ctx.places.sites[chosen.site];
        format!(
            "runs in {} {}, which the plan pays for already: {} would save {}/month but opening {} {} would add {}/month of fixed costs (its cluster, endpoints or key)",
            here.cloud,
            here.code,
            candidate_label(ctx, &unit.candidates[j]),
            render::usd(saving),
            there.cloud,
            there.code,
            render::usd(added)
        )
    });
    let runner_up = runner_up.map(|(extra, j)| Alternative {
        placement: candidate_label(ctx, &unit.candidates[j]),
        extra_monthly_usd: extra,
    });
    let mut excluded: Vec<ExcludedOption> = unit
        .excluded
        .iter()
        .filter(|e| e.monthly_usd < chosen.monthly_usd() - 0.005)
        .map(|e| ExcludedOption {
            placement: e.label.clone(),
            monthly_usd: e.monthly_usd,
            reason: e.reason.clone(),
        })
        .collect();
    excluded.sort_by(|a, b| {
        a.monthly_usd
            .total_cmp(&b.monthly_usd)
            .then_with(|| a.placement.cmp(&b.placement))
    });
    // One line per rule is enough to explain it.
    let mut seen = std::collections::BTreeSet::new();
    excluded.retain(|e| seen.insert(e.reason.clone()));
    excluded.truncate(3);
    (
        Rationale {
            runner_up,
            excluded,
        },
        fixed_note,
    )
}

fn compliance(model: &Model, ctx: &Context) -> Vec<FrameworkVerdict> {
    let Some(c) = &model.compliance else {
        return Vec::new();
    };
    let restricted = ctx
        .rules
        .nodes
        .values()
        .filter(|r| r.jurisdictions.is_some() || r.onsite.is_some())
        .count();
    c.frameworks
        .iter()
        .map(|f| FrameworkVerdict {
            framework: f.clone(),
            verdict: "met".into(),
            detail: format!(
                "every rule holds at check time; placement keeps {restricted} workload(s) inside their allowed jurisdictions or site"
            ),
        })
        .collect()
}

fn findings(
    model: &Model,
    workloads: &[PlannedWorkload],
    total: f64,
    catalog_age: Option<i64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(age) = catalog_age.filter(|a| *a > STALE_CATALOG_DAYS) {
        out.push(Finding {
            severity: "warning".into(),
            subject: "catalog".into(),
            message: format!(
                "prices are from the catalog of {} ({age} days old); refresh it with stdlib/tools/gen_catalog.py before committing to a plan",
                crate::catalog::CATALOG_DATE
            ),
        });
    }
    if let Some(budget) = &model.budget {
        if let Some(daily) = budget.daily_usd {
            let per_day = total / (cost::HOURS_PER_MONTH / 24.0);
            if per_day > daily.to_f64() {
                out.push(Finding {
                    severity: "warning".into(),
                    subject: "budget".into(),
                    message: format!(
                        "the plan's cloud spend is ${per_day:.2} a day on average, above the daily limit of ${:.2}",
                        daily.to_f64()
                    ),
                });
            }
        }
    }
    for train in &model.trains {
        if let Some(finding) = runtime_finding(model, train) {
            out.push(finding);
        }
    }
    if let Some(age) = catalog_age {
        let today = days_from_iso(crate::catalog::CATALOG_DATE).map_or(age, |d| d + age);
        out.extend(kubernetes_findings(model, workloads, today));
    }
    for w in workloads.iter().filter(|w| w.capacity == "spot") {
        out.push(Finding {
            severity: "info".into(),
            subject: format!("{}.{}", w.kind, w.name),
            message: "priced at the spot rate plus the expected rework of interruptions (see docs/plan.md)".into(),
        });
    }
    out
}

/// A cloud whose clusters the build creates on a Kubernetes version that has left
/// standard support by `today` (days since 1970-01-01): the stdlib is older than the
/// cloud's calendar, and extended support bills more per cluster-hour.
fn kubernetes_findings(model: &Model, workloads: &[PlannedWorkload], today: i64) -> Vec<Finding> {
    let mut clouds: Vec<&str> = workloads
        .iter()
        .filter(|w| !matches!(w.capacity.as_str(), "onprem" | "stored" | "serverless"))
        .filter(|w| w.kind != "dataset")
        .map(|w| w.cloud.as_str())
        .collect();
    clouds.sort_unstable();
    clouds.dedup();
    clouds
        .into_iter()
        .filter_map(|cloud| {
            let k = model.knowledge.kubernetes(cloud)?;
            (today >= k.standard_until_days).then(|| Finding {
                severity: "warning".into(),
                subject: format!("{cloud} kubernetes"),
                message: format!(
                    "the clusters are built on Kubernetes {}, which left standard support on {} (extended support ends {} and bills more per cluster-hour); update mlc for a newer standard library, or set Terraform's `kubernetes_version` to a version in standard support; calendar: {}",
                    k.version, k.standard_until, k.extended_until, k.source
                ),
            })
        })
        .collect()
}

/// A training job whose `max_runtime` is far from what its compute needs.
fn runtime_finding(model: &Model, train: &crate::check::model::Train) -> Option<Finding> {
    let crate::check::model::Architecture::Transformer { seq_len, .. } = &train.model else {
        return None;
    };
    let tokens = match (train.max_steps, train.data.first()) {
        (Some(steps), _) => (steps * train.batch_size * seq_len) as f64,
        (None, Some(_)) => {
            // About four bytes of text per token, once per epoch.
            let bytes: f64 = train
                .data
                .iter()
                .filter_map(|d| model.datasets.iter().find(|x| &x.name == d))
                .map(|d| d.size_bytes.to_f64())
                .sum();
            bytes / 4.0 * train.epochs.unwrap_or(1) as f64
        }
        _ => return None,
    };
    let device = model
        .knowledge
        .accelerators
        .iter()
        .find(|a| a.name == train.accelerator.name)?;
    let gpus = train.parallelism.total_gpus() as f64;
    let needed = cost::training_hours(
        train.model.parameters() as f64,
        tokens,
        device.bf16_tflops.to_f64(),
        gpus,
        ASSUMED_MFU,
    );
    let given = train.max_runtime_seconds.to_f64() / 3600.0;
    let message = if given < needed / 2.0 {
        format!("`max_runtime` is {given:.1} h, but {tokens:.3e} tokens need about {needed:.1} h on {gpus} x {} at {:.0}% MFU: the job will be cut off", device.name, ASSUMED_MFU * 100.0)
    } else if given > needed * 4.0 && given > 1.0 {
        format!("`max_runtime` is {given:.1} h, but {tokens:.3e} tokens need about {needed:.1} h on {gpus} x {} at {:.0}% MFU: the plan prices the whole `max_runtime`", device.name, ASSUMED_MFU * 100.0)
    } else {
        return None;
    };
    Some(Finding {
        severity: "warning".into(),
        subject: format!("train.{}", train.name),
        message,
    })
}

/// Money and hours in JSON to a millionth: enough to compare totals with another solver
/// at 1e-6, without float noise such as `0.44611999999999996`.
fn rounded<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((x * 1e6).round() / 1e6)
}

fn rounded_opt<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => rounded(x, s),
        None => s.serialize_none(),
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn days_from_iso(date: &str) -> Option<i64> {
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::Neighbours;
    use crate::optimize::{evaluate, Choice, Flow, Location, Problem, Resource, Workload};

    /// A small problem with flows both ways, an `apart` pair and a shared resource,
    /// its numbers drawn from `seed`.
    fn small_problem(seed: u64) -> Problem {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move |below: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % below
        };
        let locations = (0..4)
            .map(|l| Location {
                name: format!("l{l}"),
                cloud: l % 2,
                continent: l / 2,
                region: l,
                egress: [0.0, 0.02, 0.05, 0.09],
            })
            .collect();
        let workloads = (0..6)
            .map(|w| Workload {
                name: format!("w{w}"),
                options: (0..3)
                    .map(|o| Choice {
                        location: next(4) as usize,
                        label: format!("o{o}").into(),
                        monthly_usd: next(1000) as f64 + 0.25,
                        uses: if next(2) == 0 {
                            vec![(0, next(300) as f64)]
                        } else {
                            vec![]
                        },
                        opens: match next(3) {
                            0 => Vec::new().into(),
                            1 => vec![next(4) as usize].into(),
                            _ => vec![next(4) as usize, 4].into(),
                        },
                    })
                    .collect(),
            })
            .collect();
        let flows = (0..8)
            .filter_map(|_| {
                let (from, to) = (next(6) as usize, next(6) as usize);
                (from != to).then(|| Flow {
                    from,
                    to,
                    gb_per_month: next(5000) as f64,
                })
            })
            .collect();
        Problem {
            locations,
            workloads,
            flows,
            apart: vec![(0, 1)],
            resources: vec![Resource {
                name: "site".into(),
                capacity: 600.0,
            }],
            constant_usd: 12.5,
            facilities: (0..5)
                .map(|f| crate::optimize::Facility {
                    name: format!("f{f}"),
                    monthly_usd: (f * 40) as f64,
                })
                .collect(),
        }
    }

    #[test]
    fn neighbours_price_a_move_as_evaluate_does() {
        let mut compared = 0;
        for seed in 0..200 {
            let problem = small_problem(seed);
            let choice: Vec<usize> = (0..6).map(|w| (w + seed as usize) % 3).collect();
            let Some(base) = evaluate(&problem, &choice) else {
                continue;
            };
            let neighbours = Neighbours::new(&problem, &choice);
            for i in 0..6 {
                for j in 0..3 {
                    let mut moved = choice.clone();
                    moved[i] = j;
                    let expected = evaluate(&problem, &moved).map(|total| total - base);
                    let got = neighbours
                        .change(&problem, &choice, i, j)
                        .map(|(c, _, _)| c);
                    match (expected, got) {
                        (Some(e), Some(g)) => {
                            assert!((e - g).abs() < 1e-6, "seed {seed}: {e} != {g}")
                        }
                        (e, g) => {
                            assert_eq!(e.is_some(), g.is_some(), "seed {seed}, move {i} to {j}")
                        }
                    }
                    compared += 1;
                }
            }
        }
        assert!(compared > 1000, "only {compared} moves compared");
    }

    #[test]
    fn civil_days() {
        assert_eq!(super::days_from_iso("1970-01-01"), Some(0));
        assert_eq!(super::days_from_iso("2026-12-01"), Some(20_788));
        assert_eq!(super::days_from_iso("2000-03-01"), Some(11_017));
    }
}
